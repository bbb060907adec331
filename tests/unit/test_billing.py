"""Per-second charging, depletion, credit, re-rating, end of rent, forfeit, expiry (DESIGN §3)."""

import pytest
from hypothesis import example, given, settings, strategies as st

from rental import billing
from rental.billing import (
    ACTIVE, CHARGE, CREDIT, EXPIRY, FORFEIT, IDLE, SUSPENDED, ClockError, Line,
    credit, expire, forfeit, lines_for, open_account, project, reconfigure, rerate, settle, statement,
)
from rental.errors import RentalError
from rental.money import SECONDS_PER_DAY, SECONDS_PER_MONTH, TICKS_PER_MILLI, format_ticks
from rental.pricing import PriceItem, PriceList

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
ISC = 1000 * TICKS_PER_MILLI


def price_list(version="2026-01", **prices):
    items = {ref: PriceItem(ref, ref, "software", milli) for ref, milli in prices.items()}
    return PriceList(version, T0, items)


PRICES = price_list(**{"01-00010-001": 1234, "01-00020-001": 2500})


def running(balance_isc=100, items=None, at=T0):
    """An account holding balance_isc, running items on PBX 'pbx-1' from at."""
    account = credit(open_account(at), at, balance_isc * 1000).account
    lines = lines_for("pbx-1", items or {"01-00010-001": 7}, PRICES)
    return reconfigure(account, at, lines, resume=True).account


def test_seven_items_at_1_234_isc_for_17_days_3_hours_5_seconds():
    # rate = 12 × 1,234 milli × 7 = 103,656 ticks/s
    # span = 17 × 86,400 + 3 × 3,600 + 5 = 1,479,605 s
    # charge = 103,656 × 1,479,605 = 153,369,935,880 ticks
    #        = 4,859 milli-iSC and 31,557,480 ticks (shown as 4.859 iSC, rounded down)
    account = running(100)
    change = settle(account, T0 + 17 * SECONDS_PER_DAY + 3 * 3600 + 5)
    charged = sum(e.ticks for e in change.entries)
    assert account.rate == 103_656
    assert charged == 153_369_935_880
    assert format_ticks(charged) == "4.859 iSC"
    assert change.account.balance == 100 * ISC - 153_369_935_880
    assert format_ticks(change.account.balance) == "95.140 iSC"


def test_one_month_of_an_item_costs_its_monthly_price_exactly():
    account = running(10, {"01-00020-001": 1})
    change = settle(account, T0 + SECONDS_PER_MONTH)
    assert sum(e.ticks for e in change.entries) == 2500 * TICKS_PER_MILLI


def test_each_rented_line_gets_its_own_ledger_entry_per_settled_period():
    account = running(100, {"01-00010-001": 2, "01-00020-001": 3})
    change = settle(account, T0 + 60)
    assert [(e.ref, e.qty, e.seconds, e.ticks) for e in change.entries] == [
        ("01-00010-001", 2, 60, 12 * 1234 * 2 * 60),
        ("01-00020-001", 3, 60, 12 * 2500 * 3 * 60),
    ]
    assert all(e.kind == CHARGE and e.start == T0 and e.end == T0 + 60 for e in change.entries)
    assert all(e.price_version == "2026-01" for e in change.entries)


def test_credit_runs_out_at_the_first_second_it_cannot_pay_in_full():
    # 1 iSC at 103,656 ticks/s pays 31,557,600,000 // 103,656 = 304,445 whole seconds
    account = running(1)
    assert account.depletes_at == T0 + 304_445
    before = settle(account, T0 + 304_444).account
    assert before.status == ACTIVE
    at = settle(account, T0 + 304_445)
    assert at.account.status == SUSPENDED
    assert at.depleted_at == T0 + 304_445
    later = settle(account, T0 + 10 * SECONDS_PER_DAY)
    assert later.depleted_at == T0 + 304_445
    assert later.account.balance == ISC - 304_445 * 103_656  # the remainder stays (R18)
    assert later.account.balance < account.rate
    assert sum(e.seconds for e in later.entries) == 304_445


def test_a_suspended_account_is_charged_nothing_more():
    account = settle(running(1), T0 + 400_000).account
    assert settle(account, T0 + 900_000).entries == ()
    assert settle(account, T0 + 900_000).account.balance == account.balance


def test_loading_credit_does_not_resume_by_itself():
    # R18 (our decision): the configuration resumes at the next connection event with enough credit
    suspended = settle(running(1), T0 + 400_000).account
    loaded = credit(suspended, T0 + 500_000, 50_000).account
    assert loaded.status == SUSPENDED
    resumed = reconfigure(loaded, T0 + 500_000, loaded.lines, resume=True).account
    assert resumed.status == ACTIVE
    assert resumed.depletes_at == T0 + 500_000 + resumed.balance // resumed.rate


def test_reconfiguring_settles_at_the_old_rate_first():
    account = running(100, {"01-00010-001": 1})
    change = reconfigure(account, T0 + 100, lines_for("pbx-1", {"01-00010-001": 5}, PRICES))
    assert sum(e.ticks for e in change.entries) == 12 * 1234 * 100
    assert change.account.rate == 12 * 1234 * 5


def test_an_empty_configuration_ends_the_rent_and_nothing_more_is_charged():
    # R19: from that second nothing is charged; the left-over iSC stay
    account = reconfigure(running(100), T0 + 10, ()).account
    assert account.status == IDLE
    assert account.depletes_at is None
    assert settle(account, T0 + 10 * SECONDS_PER_MONTH).entries == ()


def test_new_prices_apply_only_when_rerated_at_a_connection_event():
    # R23: until the next connection event the old prices stay valid
    account = running(100, {"01-00010-001": 1})
    dearer = price_list("2026-02", **{"01-00010-001": 2000})
    read = settle(account, T0 + 100).account
    assert read.rate == 12 * 1234
    rerated = reconfigure(read, T0 + 100, rerate(read.lines, dearer)).account
    assert rerated.rate == 12 * 2000
    assert rerated.lines[0].price_version == "2026-02"


def test_an_item_gone_from_the_new_list_keeps_its_old_price():
    line = Line("p", "gone", 1, 999, "v1")
    assert rerate([line], PRICES) == (line,)


def test_deleting_the_account_forfeits_the_whole_balance():
    # R13: never refunded nor transferred; deleting forfeits them for good
    change = forfeit(running(100), T0 + 60)
    assert change.entries[-1].kind == FORFEIT
    assert change.entries[-1].ticks == 100 * ISC - 60 * running(100).rate
    assert change.account.balance == 0
    assert change.account.status == billing.DELETED
    with pytest.raises(RentalError, match="R13"):
        credit(change.account, T0 + 61, 1000)


def test_left_over_credit_expires_after_the_retention_period():
    # R19 (our decision): 24 months after the last charge
    retention = 2 * 31_557_600
    idle = reconfigure(running(100), T0 + 1000, ()).account
    assert expire(idle, T0 + 1000 + retention - 1, retention).entries == ()
    change = expire(idle, T0 + 1000 + retention + 5, retention)
    assert change.entries[-1].kind == EXPIRY
    assert change.entries[-1].at == T0 + 1000 + retention
    assert change.account.balance == 0


def test_a_running_account_never_expires():
    account = running(100, {"01-00010-001": 1})
    change = expire(account, T0 + 10, 5)
    assert [e.kind for e in change.entries] == [CHARGE]
    assert change.account.balance == 100 * ISC - 10 * account.rate


def test_settling_backwards_is_refused():
    with pytest.raises(ClockError):
        settle(running(), T0 - 1)


def test_projection_is_settlement_without_side_effects():
    account = running(1)
    assert project(account, T0 + 400_000).status == SUSPENDED
    assert account.status == ACTIVE


def test_a_configuration_the_balance_cannot_pay_for_a_second_is_suspended_at_once():
    account = credit(open_account(T0), T0, 0).account
    account = reconfigure(account, T0, lines_for("p", {"01-00010-001": 1}, PRICES), resume=True).account
    assert account.status == SUSPENDED


def test_the_statement_matches_the_ledger_to_the_tick_even_split_mid_period():
    account = running(100, {"01-00010-001": 2, "01-00020-001": 1})
    first = settle(account, T0 + 1000)
    second = settle(first.account, T0 + 5000)
    entries = first.entries + second.entries
    rows, totals = statement(entries, T0 + 500, T0 + 4000)
    assert totals[CHARGE] == 3500 * account.rate
    assert sum(r.ticks for r in rows) == totals[CHARGE]
    assert {r.ref: r.seconds for r in rows} == {"01-00010-001": 3500, "01-00020-001": 3500}


# --- properties -----------------------------------------------------------------

prices = st.integers(min_value=1, max_value=500_000)
quantities = st.integers(min_value=1, max_value=200)
balances = st.integers(min_value=0, max_value=10**6 * ISC)
spans = st.integers(min_value=0, max_value=5 * 31_557_600)


def account_with(balance, price, qty):
    lines = (Line("p", "r", qty, price, "v"),)
    return billing.Account(as_of=T0, balance=balance, lines=lines, last_activity_at=T0)


@settings(max_examples=300)
@given(balances, prices, quantities, spans, spans)
def test_charging_is_additive_for_every_split_point(balance, price, qty, a, b):
    account = account_with(balance, price, qty)
    mid, end = T0 + min(a, b), T0 + max(a, b)
    whole = settle(account, end)
    first = settle(account, mid)
    then = settle(first.account, end)
    assert then.account.balance == whole.account.balance
    assert then.account.status == whole.account.status
    assert sum(e.ticks for e in first.entries + then.entries) == sum(e.ticks for e in whole.entries)


@settings(max_examples=300)
@given(balances, prices, quantities, spans)
def test_the_balance_never_goes_negative_and_credit_equals_charges_plus_remainder(balance, price, qty, span):
    account = account_with(balance, price, qty)
    change = settle(account, T0 + span)
    assert change.account.balance >= 0
    assert balance == sum(e.ticks for e in change.entries) + change.account.balance


@settings(max_examples=300)
@given(balances, prices, quantities)
def test_depletion_is_the_first_second_that_cannot_be_paid_in_full(balance, price, qty):
    account = account_with(balance, price, qty)
    depletes = account.depletes_at
    rate = account.rate
    seconds = depletes - T0
    assert rate * seconds <= balance  # every second before it was paid in full
    assert rate * (seconds + 1) > balance  # the next one cannot be
    assert settle(account, depletes).account.status == SUSPENDED
    if depletes > T0:
        assert settle(account, depletes - 1).account.status == ACTIVE


@settings(max_examples=200)
@given(st.lists(st.tuples(st.sampled_from(["settle", "credit", "reconf"]),
                          st.integers(0, 40 * SECONDS_PER_DAY), st.integers(0, 5_000_000),
                          quantities), max_size=25))
def test_credits_minus_charges_is_the_balance_after_any_sequence(steps):
    account = open_account(T0)
    ledger = []
    now = T0
    for kind, dt, amount, qty in steps:
        now += dt
        if kind == "settle":
            change = settle(account, now)
        elif kind == "credit":
            change = credit(account, now, amount)
        else:
            change = reconfigure(account, now, lines_for("p", {"01-00010-001": qty}, PRICES), resume=True)
        account = change.account
        ledger.extend(change.entries)
    assert sum(e.signed_ticks for e in ledger) == account.balance >= 0
    assert sum(e.ticks for e in ledger if e.kind == CREDIT) >= sum(e.ticks for e in ledger if e.kind == CHARGE)


@given(st.integers(min_value=1, max_value=10**6), st.integers(min_value=0, max_value=10**6),
       st.integers(min_value=1, max_value=10**6), st.integers(min_value=0, max_value=3 * 10**6))
def test_entries_clipped_at_a_second_charge_exactly_the_part_before_it(rate, start, length, cut):
    charge = billing.Entry(kind=billing.CHARGE, at=start + length, ticks=rate * length, pbx_id="p", ref="r", qty=1,
                           start=start, end=start + length, seconds=length, rate=rate)
    credit = billing.Entry(kind=billing.CREDIT, at=start, ticks=TICKS_PER_MILLI)
    kept = billing.clipped([charge, credit], cut)
    charged = sum(e.ticks for e in kept if e.kind == billing.CHARGE)
    assert charged == rate * max(0, min(cut, start + length) - start)  # additivity (SPEC): rate · seconds before
    assert (credit in kept) == (start <= cut)


@settings(max_examples=300)
@given(balances, prices, quantities, spans, st.booleans())
@example(120, 1, 1, 10, False)  # settled to the very second it depletes: suspended from then (R18)
@example(120, 1, 1, 9, False)  # the second before: still running
def test_settle_builds_the_same_frozen_account_as_the_constructor_from_designs_formula(balance, price, qty, span,
                                                                                      suspended):
    """settle builds its Account without the constructor (the hot path): it must be the very Account DESIGN §3's
    formula gives, built the validated way: min(balance, rate·(t−as_of)) charged, depleted at
    as_of + balance // rate (R10, R18), as frozen, equal, hashable and with the same derived rate."""
    import dataclasses

    account = dataclasses.replace(account_with(balance, price, qty), suspended=suspended, price_version="v")
    rate = 0 if suspended else account.configured_rate
    paid = span if rate == 0 else min(span, balance // rate)
    depleted = rate > 0 and span >= balance // rate
    expected = billing.Account(as_of=T0 + span, balance=balance - rate * paid, lines=account.lines,
                               suspended=suspended or depleted, last_activity_at=T0 + paid if rate and paid else T0,
                               price_version="v")
    change = settle(account, T0 + span)
    assert isinstance(change, billing.Change) and type(change.account) is billing.Account
    assert change.account == expected and hash(change.account) == hash(expected)
    assert change.account.configured_rate == expected.configured_rate and change.account.rate == expected.rate
    assert change.depleted_at == (T0 + balance // rate if depleted else None)
    assert change.charged_ticks == rate * paid == sum(entry.ticks for entry in change.entries)
    charges = [entry for entry in change.entries if entry.kind == billing.CHARGE]
    assert bool(charges) == bool(rate and paid)  # R25: each charged line says its period, to the second
    assert all((entry.start, entry.end, entry.seconds, entry.at) == (T0, T0 + paid, paid, T0 + paid) for entry in charges)
    # the settled period is kept as the account settled (no tuple on the hot path): a change that follows on
    # (a credit moves the account's last activity on) must still explain the very same charge
    later = change.then(dataclasses.replace(change.account, last_activity_at=T0 + span + 7), billing.Entry(
        kind=billing.CREDIT, at=T0 + span + 7, ticks=1))
    assert later.entries[:-1] == change.entries and later.charged_ticks == change.charged_ticks
    with pytest.raises(dataclasses.FrozenInstanceError):
        change.account.balance = 0
