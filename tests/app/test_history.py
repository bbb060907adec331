"""The account's history on the laptop (R25): pulled at sync from a real license server, shown offline from the
SQLCipher store, with the queued changes on top worded exactly as the server then records them."""

from __future__ import annotations

import pytest

from app import services
from app.clock import MovableClock

from .conftest import FAST_KDF, PASSPHRASE

IP_PORT = "01-00010-001"  # 0.500 iSC a month
UC = "01-00020-001"  # 1.250 iSC a month
#: The longest account name allowed (200 characters), French.
LONG_NAME = ("Société d'exploitation des Thermes et de l'Hôtel-Dieu de Châtel-Guyon — " * 4)[:200]


@pytest.fixture
def server_clock(clock):
    return clock


@pytest.fixture
def store(tmp_path, server, token, clock):
    made = services.initialise(tmp_path / "laptop", PASSPHRASE, server.url, token, demo=True, kdf=FAST_KDF)
    assert services.sync_now(made, MovableClock(clock.now())).ok
    yield made
    made.close()


def server_history(server, token, account_id) -> list[dict]:
    with server.client(token) as client:
        answer = client.get(f"/accounts/{account_id}/history")
        assert answer.status_code == 200, answer.text
        return answer.json()["events"]


def as_data(lines) -> list[tuple]:
    return [(line.at, line.reason.code, dict(line.reason.params), line.technician, line.queued) for line in lines]


def test_the_history_pulled_at_sync_shows_offline_with_queued_changes_on_top(server, store, clock, token):
    account = services.create_account(store.unit_of_work(), clock, LONG_NAME, "accueil@thermes.fr", language="fr")
    account_id = account.account_id
    clock.advance(60)
    pbx = services.register_pbx(store.unit_of_work(), clock, account_id, name="Standard de l'Hôtel-Dieu",
                                serial="SN-0042-HD", platform="vmware", firmware="13r2")
    [first, second] = server.issue_keys("100", 2)
    services.load_key(store.unit_of_work(), clock, account_id, first)
    clock.advance(60)
    services.set_licenses(store.unit_of_work(), clock, account_id, pbx.pbx_id, {IP_PORT: 2})
    assert services.sync_now(store, clock).ok
    recorded = server_history(server, token, account_id)
    assert [e["kind"] for e in recorded] == ["licenses-changed", "key-loaded", "pbx-registered-rental", "created"]

    server.stop()  # on site, offline
    clock.advance(3600)
    services.set_licenses(store.unit_of_work(), clock, account_id, pbx.pbx_id, {IP_PORT: 5, UC: 1})
    clock.advance(60)
    services.load_key(store.unit_of_work(), clock, account_id, second)
    view = services.account_history(store.unit_of_work(), clock, account_id)
    assert view.name == LONG_NAME
    queued = as_data(view.queued)
    assert [(code, params) for _, code, params, _, _ in queued] == [
        ("event-key-loaded", {"key_id": queued[0][2]["key_id"], "amount_milli": 100_000}),
        ("event-licenses-changed", {"pbx": "Standard de l'Hôtel-Dieu", "pbx_id": pbx.pbx_id,
                                    "changes": [f"{IP_PORT}: 2 → 5", f"{UC}: 0 → 1"], "refs": [IP_PORT, UC],
                                    "from_qty": [2, 0], "to_qty": [5, 1]}),
    ]
    assert all(technician is None and is_queued for _, _, _, technician, is_queued in queued)
    assert as_data(view.recorded) == [(e["at"], e["code"], e["params"], "Ann", False) for e in recorded]

    server.start()
    assert services.sync_now(store, clock).ok
    after = services.account_history(store.unit_of_work(), clock, account_id)
    assert after.queued == ()
    # the server recorded the queued changes exactly as the laptop worded them
    assert [(code, params) for _, code, params, _, _ in as_data(after.recorded)[:2]] == \
        [(code, params) for _, code, params, _, _ in queued]
    assert [line.technician for line in after.recorded] == ["Ann"] * 6


def test_an_account_created_offline_shows_its_creation_as_queued(store, clock):
    account = services.create_account(store.unit_of_work(), clock, LONG_NAME, "accueil@thermes.fr")
    view = services.account_history(store.unit_of_work(), clock, account.account_id)
    assert view.recorded == () and view.total == 0
    assert as_data(view.queued) == [(clock.now(), "event-created", {"name": LONG_NAME}, None, True)]


def test_the_account_page_lists_the_newest_events_and_counts_them_all(server, store, clock, token):
    account = services.create_account(store.unit_of_work(), clock, "Thermes", "accueil@thermes.fr")
    for number in range(services.HISTORY_SHOWN + 4):
        clock.advance(1)
        services.update_account(store.unit_of_work(), clock, account.account_id, name=f"Thermes n°{number}")
        if number % 20 == 19:
            assert services.sync_now(store, clock).ok  # several syncs: each pulls only the newer pages
    assert services.sync_now(store, clock).ok
    shown = services.account_history(store.unit_of_work(), clock, account.account_id)
    every = services.account_history(store.unit_of_work(), clock, account.account_id, None)
    assert (len(shown.recorded), shown.total, len(every.recorded)) == (services.HISTORY_SHOWN, 55, 55)
    assert shown.recorded == every.recorded[:services.HISTORY_SHOWN]
    assert [line.reason.params for line in every.recorded[:2]] == [{"changes": [{"field": "name", "to": "Thermes n°53"}]},
                                                                   {"changes": [{"field": "name", "to": "Thermes n°52"}]}]
    assert every.recorded[-1].reason.code == "event-created"
