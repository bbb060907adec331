"""The seconds at which what the core says of a license change changes by time alone, with nothing else happening:
R14 starts refusing a change that adds once the running configuration has spent the spare credit
(rental.ops.min_credit_fails_at), and a reduction R6 counts leaves its window (rental.rules.window_leaves_at). The
license editor's summary is worked out again at them (app: LicensePreview.changes_at)."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from rental import billing, ops
from rental.pricing import PriceItem, PriceList
from rental.rules import Policy, Reduction, open_reductions, window_leaves_at

T0 = 1_800_000_000
PORT = "01-00010-001"
PRICES = PriceList("v1", T0, {PORT: PriceItem(PORT, "IP port", "ports", 500)})  # 0.500 iSC a month
POLICY = Policy()


def _fails_between(balance_milli: int, running: int, wanted: int):
    """An account running `running` ports on `balance_milli`, a draft of `wanted`: min_credit_fails_at's second,
    and min_credit_problem's verdict the second before and at it."""
    account = billing.Account(T0, balance_milli * 31_557_600, billing.lines_for("pbx", {PORT: running}, PRICES))
    new = billing.lines_for("pbx", {PORT: wanted}, PRICES)
    at = ops.min_credit_fails_at(account, "pbx", new, (), PRICES, POLICY)

    def refuses(second: int) -> bool:
        settled = billing.settle(account, second).account
        return ops.min_credit_problem(settled, "pbx", new, (), PRICES, POLICY) is not None
    return account, at, refuses


@settings(max_examples=200, deadline=None)
@given(balance=st.integers(1, 10**7), running=st.integers(1, 500), more=st.integers(1, 5_000))
def test_r14_starts_refusing_a_change_that_adds_at_the_second_said_and_not_one_before_R14(balance, running, more):
    account, at, refuses = _fails_between(balance, running, running + more)
    if refuses(T0):
        assert at is None  # it refuses already: no second to wait for
    elif at is None:  # the stop comes first (R18): until it, R14 does not refuse
        assert refuses(account.depletes_at - 1) is False
    else:
        assert T0 < at < account.depletes_at
        assert refuses(at - 1) is False and refuses(at) is True


def test_a_change_that_does_not_add_never_starts_being_refused_R14_R15():
    _account, at, _refuses = _fails_between(1_000, 40, 30)
    assert at is None


def test_a_reduction_leaves_r6s_window_the_second_after_its_last_second_in_it_R6():
    made = [Reduction(T0, "SN-1", PORT, 10, 8), Reduction(T0 + 3_600, "SN-1", PORT, 8, 6),
            Reduction(T0 + 60, "SN-2", PORT, 4, 2)]
    window = POLICY.toggle_window_s
    leaves = window_leaves_at(made, "SN-1", T0 + 86_400, window)
    assert leaves == T0 + window + 1
    assert open_reductions(made, "SN-1", PORT, 6, leaves - 1, window)[0].at == T0
    assert all(r.at != T0 for r in open_reductions(made, "SN-1", PORT, 6, leaves, window))
    assert window_leaves_at(made, "SN-1", T0 + 3_600 + window + 1, window) is None  # every one has left
