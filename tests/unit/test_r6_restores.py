"""How R6 counts a reduce-then-restore (SPEC R6, precise wording): per serial and item a reduction made within the
window stays open until an increase reaches into it; such an increase closes every open reduction it reaches
and is one occurrence (one op restoring several items of a PBX too). Growth is at will (R15).

The sequences SPEC lists run through ``rental.ops.decide`` with a memory kept like the server's and the app's
(only reductions are remembered; increases are read from them), and a property test compares that counting with
a model that remembers every increase explicitly.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rental import billing, ops, rules
from rental.errors import RuleViolation
from rental.money import SECONDS_PER_DAY
from rental.pricing import PriceItem, PriceList
from rental.rules import Policy, Reduction

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
DAY = SECONDS_PER_DAY
A, B = "01-00010-001", "01-00020-001"
PRICES = PriceList("2026-01", T0, {A: PriceItem(A, "IP port", "software", 500),
                                   B: PriceItem(B, "UC", "software", 1_250)})
POLICY = Policy()


class Memory:
    """R6's memory as the server keeps it: reductions in the order made, one occurrence per restoring op."""

    def __init__(self):
        self.made: list[Reduction] = []
        self.occurred: list[tuple[int, str]] = []
        self.now = T0

    def reductions(self, serial):
        return [r for r in self.made if r.serial == serial and r.at >= self.now - POLICY.toggle_window_s]

    def occurrences(self, serial):
        return sum(1 for at, each in self.occurred if each == serial and at > self.now - POLICY.toggle_period_s)


class Pbx:
    """One rental PBX (serial SN-1) with plenty of credit, driven op by op through rental.ops.decide."""

    def __init__(self, items):
        account = billing.credit(billing.open_account(T0), T0, 10_000_000).account
        pbx = ops.Pbx("pbx-1", "Lobby", "SN-1", "vmware", "13r2", "rental")
        self.state = ops.State("acc-1", "Acme", "a@example.com", False, "en", account, {"pbx-1": pbx})
        self.memory = Memory()
        self.now = T0
        assert self.set(items) == ("applied", [])

    def set(self, items):
        """Desired state of the PBX at self.now: (status, warning or refusal codes)."""
        self.memory.now = self.now
        ctx = ops.Context(now=self.now, pricelist=PRICES, policy=POLICY, history=self.memory)
        try:
            decision = ops.decide("set_licenses", self.state, {"pbx_id": "pbx-1", "items": items}, ctx)
        except RuleViolation as refusal:
            return "rejected", [r.code for r in refusal.problems]
        self.state = decision.state
        self.memory.made += decision.reductions
        if decision.restored:
            self.memory.occurred.append((self.now, "SN-1"))
        return "applied", [w.code for w in decision.warnings]

    def days(self, *quantities, item=A):
        """One change a day, each to the next quantity: the answers."""
        answers = []
        for qty in quantities:
            self.now += DAY
            answers.append(self.set({item: qty}))
        return answers


def test_growth_after_one_reduction_and_its_restore_is_at_will_R6_R15():
    pbx = Pbx({A: 10})
    answers = pbx.days(9, 10, 11, 12, 13)  # 10→9, then 9→10→11→12→13 one step a day
    assert [status for status, _ in answers] == ["applied"] * 5
    assert sum(codes.count("toggle-warning") for _, codes in answers) == 1  # at most one warning
    assert answers[1] == ("applied", ["toggle-warning"])  # 9→10 restores the reduction; the rest is growth
    assert len(pbx.memory.occurred) == 1


def test_a_restore_in_steps_is_one_occurrence_10_7_8_9_R6():
    pbx = Pbx({A: 10})
    answers = pbx.days(7, 8, 9)
    assert answers == [("applied", []), ("applied", ["toggle-warning"]), ("applied", [])]
    assert len(pbx.memory.occurred) == 1


def test_one_increase_reaching_two_open_reductions_is_one_occurrence_10_9_8_10_R6():
    pbx = Pbx({A: 10})
    answers = pbx.days(9, 8, 10)
    assert answers == [("applied", []), ("applied", []), ("applied", ["toggle-warning"])]
    assert len(pbx.memory.occurred) == 1


def test_true_toggling_10_9_10_three_times_is_refused_at_the_third_restore_R6():
    pbx = Pbx({A: 10})
    answers = pbx.days(9, 10, 9, 10, 9, 10)
    assert answers[:5] == [("applied", []), ("applied", ["toggle-warning"]), ("applied", []),
                           ("applied", ["toggle-warning"]), ("applied", [])]
    assert answers[5] == ("rejected", ["toggle-refused"])
    assert pbx.state.licenses_of("pbx-1") == {A: 9}  # refused: nothing changed


def test_one_op_restoring_several_items_of_a_pbx_is_one_occurrence_R6():
    pbx = Pbx({A: 10, B: 4})
    pbx.now += DAY
    assert pbx.set({A: 9, B: 3}) == ("applied", [])
    pbx.now += DAY
    assert pbx.set({A: 10, B: 4}) == ("applied", ["toggle-warning"])
    assert len(pbx.memory.occurred) == 1


def test_a_reduction_older_than_the_window_is_no_longer_open_R6():
    pbx = Pbx({A: 10})
    pbx.now += DAY
    pbx.set({A: 9})
    pbx.now += POLICY.toggle_window_s + 1
    assert pbx.set({A: 10}) == ("applied", [])


def test_removing_a_pbx_then_registering_its_serial_again_continues_its_history_R6():
    pbx = Pbx({A: 10})
    pbx.now += DAY
    ctx = ops.Context(now=pbx.now, pricelist=PRICES, policy=POLICY, history=pbx.memory)
    removed = ops.decide("remove_pbx", pbx.state, {"pbx_id": "pbx-1"}, ctx)
    pbx.memory.made += removed.reductions
    again = ops.decide("register_pbx", removed.state, {"pbx_id": "pbx-1", "name": "Lobby", "serial": "SN-1",
                                                        "platform": "vmware", "firmware": "13r2", "mode": "rental"},
                       ctx)
    pbx.state = again.state
    pbx.now += DAY
    assert pbx.set({A: 10}) == ("applied", ["toggle-warning"])


def test_same_second_reductions_are_read_in_the_order_made():
    made = [Reduction(T0, "SN-1", A, 10, 9), Reduction(T0, "SN-1", A, 12, 11)]  # a rise to 12 came between
    assert rules.open_reductions(made, "SN-1", A, 11, T0) == [made[1]]
    assert rules.restored_refs(made, "SN-1", {A: 11}, {A: 12}, T0 + DAY) == [A]
    assert rules.restored_refs(made, "SN-1", {A: 12}, {A: 13}, T0 + DAY) == []  # growth


# --------------------------------------------------------------------------- against a model that sees increases


def model_occurrences(steps, start):
    """Each step (seconds later, {item: qty}): whether it is an occurrence, with open reductions kept explicitly
    and closed by the increases that reach into them (SPEC R6, word for word)."""
    now, current, open_ = T0, dict(start), {ref: [] for ref in start}
    answers = []
    for gap, desired in steps:
        now += gap
        occurred = False
        for ref, qty in desired.items():
            before = current.get(ref, 0)
            live = [(at, low) for at, low in open_[ref] if now - at <= POLICY.toggle_window_s]
            if qty < before:
                live.append((now, qty))
            elif qty > before:
                reached = [(at, low) for at, low in live if qty > low]
                occurred = occurred or bool(reached)
                live = [each for each in live if each not in reached]
            open_[ref] = live
            current[ref] = qty
        answers.append(occurred)
    return answers


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3 * DAY), st.integers(0, 12), st.integers(0, 12)), min_size=1, max_size=12))
def test_counting_from_reductions_alone_matches_the_model_that_sees_every_increase_R6(steps):
    start = {A: 10, B: 10}
    plan = [(gap, {A: a, B: b}) for gap, a, b in steps]
    made: list[Reduction] = []
    now, current = T0, dict(start)
    counted = []
    for gap, desired in plan:
        now += gap
        history = [r for r in made if r.at >= now - POLICY.toggle_window_s]
        counted.append(bool(rules.restored_refs(history, "SN-1", current, desired, now, POLICY.toggle_window_s)))
        made += rules.reductions("SN-1", current, desired, now)
        current = dict(desired)
    assert counted == model_occurrences(plan, start)


def test_a_history_of_another_serial_restores_nothing():
    made = [Reduction(T0, "SN-2", A, 10, 9)]
    assert rules.restored_refs(made, "SN-1", {A: 9}, {A: 10}, T0 + DAY) == []
    assert replace(made[0], serial="SN-1") in rules.open_reductions(
        [replace(made[0], serial="SN-1")], "SN-1", A, 9, T0 + DAY)
