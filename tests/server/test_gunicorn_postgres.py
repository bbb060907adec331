"""Production shape: `gunicorn "license_server:create_app()"` (2 workers) on PostgreSQL, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from sqlalchemy import select, update

from license_server import models
from tests.support.license_server import GunicornLicenseServer, demo_keyring

from .helpers import IP_PORT, UC, Api, new_id


@pytest.fixture
def server(postgres_url, tmp_path):
    server = GunicornLicenseServer(postgres_url, tmp_path, env={"LICENSE_SERVER_SWEEP_INTERVAL": "1"}).start()
    yield server
    server.stop()


@pytest.fixture
def api(server):
    http = httpx.Client(base_url=server.url, timeout=30)
    yield Api.for_http(http, server.add_technician("Acme Telecom", "Ann"), server.ctx, None, demo_keyring())
    http.close()


def test_a_technicians_day_runs_end_to_end_on_postgresql(api, server):
    account_id = api.new_account(language="fr")
    [key] = server.issue_keys("120")
    assert api.redeem(account_id, key)["status"] == "applied"
    assert api.register(account_id)["status"] == "applied"
    answer = api.sync(api.set_licenses_op(account_id, {IP_PORT: 10, UC: 2}))
    assert answer.result["status"] == "applied"
    account = answer.accounts[account_id]
    assert (account["status"], account["rate_ticks_per_s"]) == ("active", 12 * (500 * 10 + 1250 * 2))
    lines = api.ledger(account_id)["lines"]
    signed = {"credit": 1, "charge": -1}
    assert sum(signed[line["kind"]] * line["ticks"] for line in lines) == api.account(account_id)["balance_ticks"]


def test_errors_come_back_as_json_through_gunicorn(api, server):
    assert httpx.post(server.url + "/api/v1/sync", content=b"\xff").status_code == 401
    status, body = api.call("POST", "/sync", raw=b"\xff\xfe")
    assert (status, body["error"]) == (400, "bad-json")
    ops = [api.op("update_account", new_id(), name="x")] * 1001
    status, body = api.call("POST", "/sync", {"client_id": new_id(), "ops": ops})
    assert (status, body["error"]) == (413, "too-large")


def test_many_clients_racing_one_key_across_workers_credit_it_once(api, server):
    accounts = [api.new_account() for _ in range(6)]
    [key] = server.issue_keys("10")
    barrier = threading.Barrier(len(accounts))
    rules: list[str | None] = []

    def redeem(account_id):
        with httpx.Client(base_url=server.url + "/api/v1", headers={"Authorization": f"Bearer {api.token}"},
                          timeout=30) as http:
            barrier.wait()
            body = http.post("/sync", json={"client_id": new_id(), "ops": [
                {"op_id": new_id(), "kind": "redeem_key", "account_id": account_id, "key": key}]}).json()
            rules.append(demo_keyring().verify_envelope(body["results"][0])["rule"])

    threads = [threading.Thread(target=redeem, args=(account_id,)) for account_id in accounts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(rules, key=str) == [None] + ["key-used"] * (len(accounts) - 1)
    with server.ctx.engine.connect() as connection:
        assert len(connection.execute(select(models.ledger).where(models.ledger.c.kind == "credit")).all()) == 1


def test_the_periodic_sweep_of_the_workers_suspends_a_depleted_account(api, server):
    account_id = api.new_account()
    [key] = server.issue_keys("100")
    api.redeem(account_id, key)
    api.register(account_id)
    api.set_licenses(account_id, {IP_PORT: 10})
    now = int(time.time())
    rate = 12 * 500 * 10
    with server.ctx.engine.begin() as connection:  # as if the credit had run low: 5 seconds of rent left 10 s ago
        connection.execute(update(models.accounts).where(models.accounts.c.id == account_id).values(
            as_of=now - 10, balance_ticks=5 * rate + 7, depletes_at=now - 5))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # waiting for the workers' sweep thread (SWEEP_INTERVAL=1), not for money
        with server.ctx.engine.connect() as connection:
            row = connection.execute(select(models.accounts).where(models.accounts.c.id == account_id)).mappings().one()
        if row["suspended"]:
            break
        time.sleep(0.1)
    assert (row["suspended"], row["balance_ticks"], row["as_of"]) == (True, 7, now - 5)
