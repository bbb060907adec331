"""R6 offline and on the server alike (SPEC R6): the app's check before queueing (its own memory of reductions,
rental.rules) and the license server over real HTTP give the same answer at every step of SPEC's sequences."""

from __future__ import annotations

import pytest

from app import services
from rental.money import SECONDS_PER_DAY

from .test_sync import laptop, prepare_customer, server_clock  # noqa: F401 (fixtures)

IP_PORT = "01-00010-001"


def step(store, clock, account_id, pbx_id, qty):
    """One change a day: what the app says offline (ok, warned, refused) and what the server then answers."""
    clock.advance(SECONDS_PER_DAY)
    try:
        services.set_licenses(store.unit_of_work(), clock, account_id, pbx_id, {IP_PORT: qty})
        offline = "ok"
    except services.NeedsConfirmation as warned:
        assert [w.code for w in warned.warnings] == ["toggle-warning"]
        offline = "warned"
        services.set_licenses(store.unit_of_work(), clock, account_id, pbx_id, {IP_PORT: qty}, confirm=True)
    except services.RuleViolation as refused:
        assert (refused.rule, refused.problems[0].code) == ("R6", "toggle-refused")
        return "refused", None
    report = services.sync_now(store, clock)
    assert report.ok and report.applied == 1
    return offline, [w.code for w in report.warnings]


@pytest.mark.parametrize("quantities, expected", [
    ((9, 10, 11, 12, 13), ["ok", "warned", "ok", "ok", "ok"]),
    ((7, 8, 9), ["ok", "warned", "ok"]),
    ((9, 8, 10), ["ok", "ok", "warned"]),
    ((9, 10, 9, 10, 9, 10), ["ok", "warned", "ok", "warned", "ok", "refused"]),
])
def test_the_app_offline_and_the_server_count_restores_alike_R6(server, laptop, clock, quantities, expected):  # noqa: F811
    store = laptop("a")
    account_id, pbx_id, _ = prepare_customer(store, clock, server, key_isc="500")
    services.set_licenses(store.unit_of_work(), clock, account_id, pbx_id, {IP_PORT: 10})
    assert services.sync_now(store, clock).ok
    answers = [step(store, clock, account_id, pbx_id, qty) for qty in quantities]
    assert [offline for offline, _ in answers] == expected
    for offline, server_warnings in answers:  # the server warned exactly where the app did
        if offline != "refused":
            assert server_warnings == (["toggle-warning"] if offline == "warned" else [])
