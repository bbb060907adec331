"""The helpers other suites start the server with (tests/support): they really serve, stop, restart and move time."""

from __future__ import annotations

import httpx
import pytest

from tests.support.license_server import START, FakeClock, LiveLicenseServer
from tests.support.postgres import running_postgres

from .helpers import new_id


def _create(server, token) -> str:
    account_id = new_id()
    with server.client(token) as http:
        body = http.post("/sync", json={"client_id": new_id(), "ops": [
            {"op_id": new_id(), "kind": "create_account", "account_id": account_id, "name": "Café",
             "contact_email": "cafe@example.com", "cloud_contract": False}]}).json()
    assert server.keyring.verify_envelope(body["results"][0])["status"] == "applied"
    return account_id


def test_the_live_server_goes_away_and_comes_back_on_the_same_database_and_port(tmp_path):
    with LiveLicenseServer(tmp_path) as server:
        token = server.add_technician("Acme Telecom", "Ann")
        account_id = _create(server, token)
        url = server.url
        server.stop()
        assert not server.running
        with pytest.raises(httpx.TransportError):
            httpx.get(url + "/api/v1/health", timeout=2)
        server.start()
        assert server.url == url
        with server.client(token) as http:
            assert http.get(f"/accounts/{account_id}").status_code == 200
        server.restart()
        assert httpx.get(url + "/api/v1/health").json()["status"] == "ok"


def test_the_live_servers_clock_moves_the_money(tmp_path):
    clock = FakeClock()
    assert clock() == START
    with LiveLicenseServer(tmp_path, clock=clock) as server:
        token = server.add_technician()
        [key] = server.issue_keys(120_000, 1)
        assert server.keyring.read_key(key).amount_milli == 120_000
        account_id = _create(server, token)
        with server.client(token) as http:
            ops = [{"op_id": new_id(), "kind": "redeem_key", "account_id": account_id, "key": key},
                   {"op_id": new_id(), "kind": "register_pbx", "account_id": account_id, "pbx_id": "p1", "name": "PBX",
                    "serial": "S", "platform": "vmware", "firmware": "13r1", "mode": "rental"},
                   {"op_id": new_id(), "kind": "set_licenses", "account_id": account_id, "pbx_id": "p1",
                    "base_revision": 1, "items": {"01-00010-001": 10}}]
            http.post("/sync", json={"client_id": new_id(), "ops": ops}).raise_for_status()
            clock.advance(24 * 2_629_800)  # two years pass: 120 iSC buy 24 months of 10 ports
            payload = server.keyring.verify_envelope(http.get(f"/accounts/{account_id}").json())
        assert payload["status"] == "suspended"
        assert server.sweep().suspended == 1
        with pytest.raises(ValueError):
            clock.advance(-1)


def test_a_postgresql_can_be_started_as_a_plain_context_manager():
    with running_postgres() as server:
        url = server.create_database("plain")
        assert url == f"postgresql+psycopg://postgres@127.0.0.1:{server.port}/plain"
        with LiveLicenseServer(database_url=url, pricelist=False) as live:
            assert httpx.get(live.url + "/api/v1/health").status_code == 200
