"""The core's share of the customer's page (R27): the runtime's urgency colour (one function for the app and the
page), a secret derived from the signing key."""

from __future__ import annotations

from rental import rules
from rental.signing import SigningKey

DAY = 86_400


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
