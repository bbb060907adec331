"""Automatic reload (R24) in the pure core: the exact reload second, at once below the threshold, resume, a reload
re-rates at the list in force at its second (a connection event, R23), and running forward through reloads is exact
and additive."""

from dataclasses import replace

import pytest
from hypothesis import given, settings, strategies as st

from rental import billing, ops, reload
from rental.billing import CREDIT, credit, lines_for, open_account, reconfigure
from rental.money import SECONDS_PER_DAY, TICKS_PER_MILLI
from rental.ops import ActivationKey, Context, State
from rental.pricing import PriceHistory, PriceItem, PriceList
from rental.reload import Deposit
from rental.rules import Policy

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
DAY = SECONDS_PER_DAY
PRICES = PriceList("2026-01", T0, {"01-00010-001": PriceItem("01-00010-001", "IP port", "software", 500)})
RATE = 12 * 500 * 10  # 10 IP ports: 60,000 ticks a second
POLICY = Policy()


def running(balance_milli=10_000, at=T0):
    account = credit(open_account(at), at, balance_milli).account
    return reconfigure(account, at, lines_for("pbx-1", {"01-00010-001": 10}, PRICES), resume=True).account


def key(n: int, amount_milli=5_000, at=T0) -> Deposit:
    return Deposit(at, f"{n:020x}", amount_milli)


def test_the_oldest_key_is_redeemed_at_the_exact_second_the_runtime_reaches_28_days():
    account = running()
    depletes_at = T0 + 10_000 * TICKS_PER_MILLI // RATE
    assert reload.next_reload_at(account, 28, (key(1),)) == depletes_at - 28 * DAY
    reload_at = depletes_at - 28 * DAY
    before = reload.run(account, (key(1),), 28, POLICY, reload_at - 1)
    assert before.reloads == () and before.deposits == (key(1),)
    done = reload.run(account, (key(1),), 28, POLICY, reload_at)
    assert [(r.at, r.key_id, r.amount_milli, r.last) for r in done.reloads] == [(reload_at, key(1).key_id, 5_000, True)]
    assert done.account.as_of == reload_at
    assert done.account.balance == 10_000 * TICKS_PER_MILLI - RATE * (reload_at - T0) + 5_000 * TICKS_PER_MILLI
    credit_entry = done.entries[-1]
    assert (credit_entry.kind, credit_entry.at, credit_entry.key_id, credit_entry.auto) == (
        CREDIT, reload_at, key(1).key_id, True)


def test_reload_off_no_keys_or_nothing_rented_never_reloads():
    assert reload.next_reload_at(running(), 0, (key(1),)) is None
    assert reload.next_reload_at(running(), 28, ()) is None
    assert reload.next_reload_at(credit(open_account(T0), T0, 1_000).account, 28, (key(1),)) is None


def test_below_the_threshold_the_key_is_redeemed_at_once():
    account = running(1_000)  # ~6 days of runtime, below 14
    assert reload.next_reload_at(account, 14, (key(1),)) == T0


def test_a_reload_resumes_a_suspended_account_with_no_newer_list_known_at_the_same_prices():
    account = replace(billing.settle(running(100), T0 + 10 * DAY).account, price_version="2026-01")
    assert account.suspended
    done = reload.run(account, (key(1),), 14, POLICY, account.as_of)
    assert not done.account.suspended and done.reloads[0].resumed
    assert done.account.lines == account.lines  # no list given: the prices it was rated at


@settings(max_examples=200, deadline=None)
@given(balance=st.integers(100, 40_000), amounts=st.lists(st.integers(1, 20_000), max_size=5),
       days=st.sampled_from([14, 28]), t1=st.integers(0, 400 * DAY), t2=st.integers(0, 400 * DAY))
def test_running_forward_through_reloads_is_additive_and_loses_no_tick(balance, amounts, days, t1, t2):
    account = running(balance)
    deposits = tuple(key(i, amount) for i, amount in enumerate(amounts))
    t1, t2 = sorted((T0 + t1, T0 + t2))
    in_one = reload.forward(account, deposits, days, POLICY, t2)
    first = reload.forward(account, deposits, days, POLICY, t1)
    in_two = reload.forward(first[1].account, first[0].deposits, days, POLICY, t2)
    assert in_one[1].account == in_two[1].account and in_one[0].deposits == in_two[0].deposits
    entries = in_one[0].entries + in_one[1].entries
    loaded = sum(amounts[: len(in_one[0].reloads)]) * TICKS_PER_MILLI
    assert balance * TICKS_PER_MILLI + loaded - sum(
        e.ticks for e in entries if e.kind == billing.CHARGE) == in_one[1].account.balance
    # while keys are held the credit never runs out: each reload comes before the end it pushes back
    for made in in_one[0].reloads:
        assert not reload.forward(account, deposits, days, POLICY, made.at)[1].account.suspended


def _state(account, days=0, deposits=()):
    return State(account_id="a", name="A", contact_email="a@example.com", cloud_contract=False, language="en",
                 billing=account, auto_reload_days=days, deposits=deposits)


def test_deciding_an_op_after_the_reload_second_makes_the_reload_first_at_its_second():
    account = running()
    reload_at = reload.next_reload_at(account, 28, (key(1),))
    decision = ops.decide("update_account", _state(account, 28, (key(1),)), {"name": "B"},
                          Context(now=reload_at + 5 * DAY, pricelist=PRICES))
    assert [r.at for r in decision.reloads] == [reload_at] and decision.state.deposits == ()


def test_a_deposit_with_reload_on_below_the_threshold_is_redeemed_at_the_op_second():
    account = running(1_000)
    decision = ops.decide("deposit_key", _state(account, 14), {"key": "K"},
                          Context(now=T0 + DAY, pricelist=PRICES, key=ActivationKey(key(7).key_id, 3_000)))
    assert [(r.at, r.key_id) for r in decision.reloads] == [(T0 + DAY, key(7).key_id)]


@pytest.mark.parametrize("days", [7, 1, -14, True])
def test_a_threshold_other_than_0_14_or_28_is_refused(days):
    with pytest.raises(ops.RuleViolation) as refused:
        ops.decide("update_account", _state(running()), {"auto_reload_days": days}, Context(now=T0))
    assert refused.value.problems[0].code == "reload-days-invalid"


def test_withdrawing_a_key_not_held_is_refused_with_its_id():
    with pytest.raises(ops.RuleViolation) as refused:
        ops.decide("withdraw_key", _state(running()), {"key_id": "ab" * 10}, Context(now=T0))
    assert (refused.value.problems[0].code, refused.value.problems[0].params) == (
        "deposit-unknown", {"key_id": "ab" * 10})


RISE = PriceList("2026-02", T0 + 20 * DAY, {"01-00010-001": PriceItem("01-00010-001", "IP port", "software", 800)})


def test_a_reload_at_its_second_re_rates_at_the_list_in_force_then_R24_R23():
    account = replace(running(), price_version="2026-01")
    reload_at = reload.next_reload_at(account, 28, (key(1),))
    assert reload_at > RISE.published_at  # the rise came before the reload's second
    done = reload.run(account, (key(1),), 28, POLICY, reload_at, PriceHistory((PRICES, RISE)))
    assert done.account.price_version == "2026-02" and done.account.configured_rate == 12 * 800 * 10
    charges = [e for e in done.entries if e.kind == billing.CHARGE]
    assert {e.rate for e in charges} == {RATE} and max(e.end for e in charges) == reload_at  # old prices up to it
    after = billing.settle(done.account, reload_at + 100)
    assert after.charged_ticks == 12 * 800 * 10 * 100  # the new prices from that second on, to the tick


def test_a_reload_whose_second_came_before_a_publication_keeps_the_old_prices_whenever_it_is_applied_R24():
    account = replace(running(), price_version="2026-01")
    reload_at = reload.next_reload_at(account, 28, (key(1),))
    later = PriceList("2026-03", reload_at + 1, RISE.items)
    done = reload.run(account, (key(1),), 28, POLICY, reload_at + 5 * DAY, PriceHistory((later, PRICES)))
    assert done.account.price_version == "2026-01" and done.account.configured_rate == RATE


def test_the_list_in_force_is_the_latest_published_at_or_before_the_second():
    history = PriceHistory((RISE, PRICES))
    assert history.at(T0 - 1) is None
    assert history.at(T0) is PRICES and history.at(RISE.published_at - 1) is PRICES
    assert history.at(RISE.published_at) is RISE and history.latest is RISE
