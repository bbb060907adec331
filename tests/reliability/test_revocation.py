"""Issue 23, attack 1: a revoked technician keeps no access. Two real server processes (gunicorn) on one database,
SQLite and PostgreSQL; `license-server revoke-technician` run as the operator runs it (a subprocess); each process
must answer the token 401 `token-revoked` within 5 s (DESIGN §5) and apply nothing of it after that.

Before issue 23 each process trusted a token it had checked for its whole life: the polls below never ended.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from license_server import admin, models
from tests.server.helpers import new_id
from tests.support.license_server import DEMO_KEY, GunicornLicenseServer, migrated_sqlite

REPO = Path(__file__).resolve().parents[2]
#: How long the test polls before it calls revocation broken. DESIGN §5 promises 5 s; the margin is for a loaded
#: 2-core machine (the processes' own recheck time is 2 s): the test measures no time, it only gives up.
GIVE_UP_S = 60


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "postgresql":
        return request.getfixturevalue("postgres_url")
    return migrated_sqlite(tmp_path / "shared.sqlite3")


@pytest.fixture
def two_processes(database_url, tmp_path):
    """Two server processes (one gunicorn worker each) on the same database: each has its own token cache."""
    first = GunicornLicenseServer(database_url, tmp_path / "one", workers=1)
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    second = GunicornLicenseServer(database_url, tmp_path / "two", workers=1)
    first.start()
    try:
        second.start(pricelist=False)
        try:
            yield first, second
        finally:
            second.stop()
    finally:
        first.stop()


def operator(database_url, tmp_path, *args) -> subprocess.CompletedProcess:
    """`license-server ARGS` as the vendor's operator runs it, on the same database."""
    env = {**os.environ, "LICENSE_SERVER_DATABASE_URL": database_url,
           "LICENSE_SERVER_SIGNING_KEY_PATH": str(DEMO_KEY), "LICENSE_SERVER_INSTANCE_PATH": str(tmp_path),
           "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "license_server.cli", *args], env=env, capture_output=True,
                          text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stderr
    return done


def whoami(server, token) -> httpx.Response:
    return httpx.get(server.url + "/api/v1/whoami", headers={"Authorization": f"Bearer {token}"}, timeout=30)


def poll_until_refused(server, token) -> httpx.Response:
    """Ask until the process refuses the token; every answer before that must be a plain 200."""
    deadline = time.monotonic() + GIVE_UP_S
    while True:
        answer = whoami(server, token)
        if answer.status_code == 401:
            return answer
        assert answer.status_code == 200, answer.text
        assert time.monotonic() < deadline, f"{server.url} still trusts a revoked token after {GIVE_UP_S} s"
        time.sleep(0.05)  # a poll's pace, not a wait for time to pass


def test_a_revoked_technician_is_refused_by_every_process_and_applies_nothing(two_processes, database_url, tmp_path):
    first, second = two_processes
    token = operator(database_url, tmp_path, "add-technician", "--partner", "Acme Telecom", "--name", "Ann").stdout
    token = token.strip()
    for server in two_processes:  # each process checks the token once, and would have trusted it for ever
        assert whoami(server, token).status_code == 200
    [line] = operator(database_url, tmp_path, "list-technicians").stdout.splitlines()
    technician_id = line.split("\t")[0]
    assert line.endswith("\tactive")

    operator(database_url, tmp_path, "revoke-technician", technician_id)

    for server in two_processes:
        answer = poll_until_refused(server, token)
        assert answer.json()["error"] == "token-revoked"
    for server in two_processes:  # a leaked token's /sync is not applied by any process
        answer = httpx.post(server.url + "/api/v1/sync", headers={"Authorization": f"Bearer {token}"}, timeout=30,
                            json={"client_id": new_id(), "ops": [
                                {"op_id": new_id(), "kind": "create_account", "account_id": new_id(),
                                 "name": "Stolen", "contact_email": "thief@example.com", "cloud_contract": False}]})
        assert (answer.status_code, answer.json()["error"]) == (401, "token-revoked")
    with first.ctx.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(models.accounts)).scalar() == 0
    assert operator(database_url, tmp_path, "list-technicians").stdout.endswith("\trevoked\n")
    audit = operator(database_url, tmp_path, "audit").stdout.splitlines()
    assert [line.split("\t")[2:] for line in audit] == [["revoke-technician", technician_id],
                                                        ["add-technician", "--partner 'Acme Telecom' --name Ann"]]
    assert token not in "\n".join(audit)


def test_a_colleagues_token_keeps_working_when_one_is_revoked(two_processes, database_url, tmp_path):
    first, second = two_processes
    ctx = first.ctx
    gone = admin.add_technician(ctx, "Acme Telecom", "Gone")
    stays = admin.add_technician(ctx, "Acme Telecom", "Stays")
    for server in two_processes:
        assert whoami(server, gone).status_code == 200 and whoami(server, stays).status_code == 200
    operator(database_url, tmp_path, "revoke-technician", str(admin.list_technicians(ctx)[0].id))
    for server in two_processes:
        assert poll_until_refused(server, gone).json()["error"] == "token-revoked"
        assert whoami(server, stays).status_code == 200
