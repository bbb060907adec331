"""The core's share of the customer's page (R27): amounts that add up to their total shown (largest remainder),
the runtime's urgency colour (one function for the app and the page), a secret derived from the signing key."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rental import rules
from rental.money import TICKS_PER_MILLI, split_floor_milli
from rental.signing import SigningKey

DAY = 86_400


@given(st.lists(st.integers(min_value=0, max_value=10**15), max_size=30))
def test_split_amounts_add_up_to_the_total_rounded_down(ticks):
    shown = split_floor_milli(ticks)
    assert sum(shown) == sum(ticks) // TICKS_PER_MILLI
    for each, part in zip(ticks, shown):
        assert each // TICKS_PER_MILLI <= part <= each // TICKS_PER_MILLI + 1


def test_the_largest_remainders_get_the_missing_thousandths():
    third = TICKS_PER_MILLI // 3
    # 0.4 + 0.4 + 0.2 thousandths: the total shows 1, the two largest remainders would share it: the first wins
    assert split_floor_milli([2 * third + 1, 2 * third + 1, 3 * third - 2 * third - 2]) == [1, 0, 0]
    assert split_floor_milli([TICKS_PER_MILLI - 1, TICKS_PER_MILLI + 1]) == [1, 1]


def test_the_urgency_of_a_runtime_follows_the_r14_horizon_and_seven_days():
    assert rules.urgency("active", 40 * DAY, 30 * DAY) == "ok"
    assert rules.urgency("active", 29 * DAY, 30 * DAY) == "warn"
    assert rules.urgency("active", 6 * DAY, 30 * DAY) == "danger"
    assert rules.urgency("suspended", None, 30 * DAY) == "danger"
    assert rules.urgency("idle", None, 30 * DAY) == "ok"


def test_a_derived_secret_is_stable_per_key_and_purpose_and_reveals_nothing_of_the_key():
    key = SigningKey.generate("vendor-2026")
    first = key.derive_secret(b"rentdesk/customer-link/v1")
    assert first == key.derive_secret(b"rentdesk/customer-link/v1") and len(first) == 32
    assert first != key.derive_secret(b"rentdesk/other/v1")
    assert first != SigningKey.generate("vendor-2026").derive_secret(b"rentdesk/customer-link/v1")
    assert first not in key.private_pem()
