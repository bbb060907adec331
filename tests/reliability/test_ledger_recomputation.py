"""The independent ledger recomputation catches what it must: a wrong balance, a double charge, a negative dip."""

from __future__ import annotations

from dataclasses import asdict

from hypothesis import given, settings
from hypothesis import strategies as st

from rental import billing
from rental.billing import Line

from .ledger import recompute

T0 = 1_767_225_600
LINES = (Line("p1", "01-00010-001", 3, 1_000, "2026-01"), Line("p1", "01-00020-001", 1, 4_250, "2026-01"))


def as_rows(entries):
    """Entries as the server's ledger table holds them (period_start / period_end)."""
    rows = []
    for number, entry in enumerate(entries, 1):
        row = asdict(entry)
        row["id"], row["period_start"], row["period_end"] = number, row.pop("start"), row.pop("end")
        rows.append(row)
    return rows


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["credit", "settle", "reconfigure", "stop"]), st.integers(0, 10**7),
                          st.integers(1, 50_000)), max_size=25),
       st.booleans())
def test_the_recomputation_agrees_with_the_core_to_the_tick_for_any_history(steps, delete_at_end):
    """R25: credits − charges − forfeits − expiries is the balance, whatever happened."""
    account, entries, now = billing.open_account(T0), [], T0
    for action, advance, amount in steps:
        now += advance
        if action == "credit":
            change = billing.credit(account, now, amount)
        elif action == "settle":
            change = billing.settle(account, now)
        elif action == "reconfigure":
            change = billing.reconfigure(account, now, LINES, resume=True)
        else:
            change = billing.reconfigure(account, now, ())
        account = change.account
        entries += change.entries
    if delete_at_end:
        change = billing.forfeit(account, now + 1)
        account, entries = change.account, entries + list(change.entries)

    result = recompute(as_rows(entries))
    assert result.problems == []
    assert result.balance == account.balance >= 0


def test_a_stored_balance_one_tick_off_is_noticed():
    change = billing.credit(billing.open_account(T0), T0, 5_000)
    assert recompute(as_rows(change.entries)).balance == change.account.balance
    assert recompute(as_rows(change.entries)).balance != change.account.balance + 1


def test_a_second_charged_twice_is_reported_as_a_double_charge():
    account = billing.reconfigure(billing.credit(billing.open_account(T0), T0, 50_000).account, T0, LINES,
                                  resume=True).account
    charge = billing.settle(account, T0 + 100).entries
    rows = as_rows(list(charge) + list(charge))  # the same period written twice, as a replayed batch would

    assert any("charged twice" in problem for problem in recompute(rows).problems)


def test_a_charge_that_is_not_rate_times_seconds_is_reported():
    rows = [{"id": 1, "kind": "credit", "ticks": 10**12},
            {"id": 2, "kind": "charge", "ticks": 1000, "rate": 12, "seconds": 100, "period_start": 0,
             "period_end": 100, "pbx_id": "p1", "ref": "r"}]

    assert any("≠ rate" in problem for problem in recompute(rows).problems)


def test_a_balance_that_dips_below_zero_is_reported_even_if_it_ends_positive():
    rows = [{"id": 1, "kind": "forfeit", "ticks": 5}, {"id": 2, "kind": "credit", "ticks": 10}]

    result = recompute(rows)
    assert result.balance == 5 and any("below 0" in problem for problem in result.problems)
