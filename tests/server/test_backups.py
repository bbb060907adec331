"""Backups restore to the tick (docs/operating.md): PostgreSQL through pg_dump → a fresh database → pg_restore,
SQLite through `license-server backup` (its online backup API) while the server runs. The ledger's totals and
every account's balance come back equal, and the restored server goes on writing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
from sqlalchemy import func, select

from license_server import models
from rental.money import TICKS_PER_MILLI
from tests.support.license_server import LiveLicenseServer
from tests.support.postgres import BIN

from .helpers import DAY, IP_PORT, MONTH, Api

CLI = Path(sys.executable).with_name("license-server")


def books(server) -> dict:
    """What must survive: every account's stored balance, state and revision, and the ledger's totals by kind."""
    A, L = models.accounts.c, models.ledger.c
    with server.ctx.engine.connect() as connection:
        accounts = {row.id: (row.balance_ticks, row.rate_ticks_per_s, row.as_of, row.revision, row.suspended)
                    for row in connection.execute(select(A.id, A.balance_ticks, A.rate_ticks_per_s, A.as_of,
                                                         A.revision, A.suspended))}
        ledger = dict(connection.execute(select(L.kind, func.sum(L.ticks)).group_by(L.kind)).all())
        lines = connection.execute(select(func.count()).select_from(models.ledger)).scalar_one()
    return {"accounts": accounts, "ledger": {kind: int(total) for kind, total in ledger.items()}, "lines": lines}


def answered_balances(server, token: str, account_ids) -> dict:
    """Each account's balance as the server signs it now (charged up to the second)."""
    with server.client(token) as client:
        return {a: server.keyring.verify_envelope(client.get(f"/accounts/{a}").json(), "account")["balance_ticks"]
                for a in account_ids}


def a_month_of_business(server) -> tuple[str, list[str]]:
    """Accounts loaded, renting, one stopped by the sweep, one idle; charges written by the sweep and by ops."""
    http = httpx.Client(base_url=server.url, timeout=30)
    token = server.add_technician("Acme Telecom", "Ann")
    api = Api.for_http(http, token, server.ctx, server.clock, server.keyring)
    running = api.running_account("100", items={IP_PORT: 25})
    ending = api.running_account("6", name="Hôtel du Lac")
    idle = api.new_account(name="Garage Martin")
    api.load(idle, "12.345")
    server.clock.advance(MONTH + 10 * DAY)  # the second one runs out (6 iSC at 5 a month), the first runs on
    server.sweep()
    assert api.set_licenses(running, {IP_PORT: 26})["status"] == "applied"  # settles, writes its charge lines
    server.clock.advance(7 * DAY + 12_345)
    http.close()
    return token, [running, ending, idle]


def test_pg_dump_then_pg_restore_into_a_fresh_database_gives_back_every_balance_to_the_tick(tmp_path, postgres_server):
    source_url = postgres_server.create_database("books_source")
    with LiveLicenseServer(tmp_path / "source", database_url=source_url) as source:
        token, accounts = a_month_of_business(source)
        before, answered = books(source), answered_balances(source, token, accounts)
        dump = tmp_path / "license_server.dump"
        _pg("pg_dump", "-Fc", "-d", "books_source", "-f", str(dump), port=postgres_server.port)
        clock = source.clock
    assert before["lines"] >= 5 and before["ledger"]["charge"] > 0
    assert sum(state[4] for state in before["accounts"].values()) == 1  # one account stopped by the sweep
    restored_url = postgres_server.create_database("books_restored")
    _pg("pg_restore", "--no-owner", "--exit-on-error", "-d", "books_restored", str(dump), port=postgres_server.port)
    with LiveLicenseServer(tmp_path / "restored", database_url=restored_url, clock=clock, pricelist=False) as restored:
        assert books(restored) == before
        assert answered_balances(restored, token, accounts) == answered  # the same token works: its hash came back
        _goes_on_writing(restored, token, accounts[0])


def test_the_sqlite_backup_command_copies_a_running_server_and_the_copy_serves_the_same_books(tmp_path):
    with LiveLicenseServer(tmp_path / "source") as source:
        token, accounts = a_month_of_business(source)
        before, answered = books(source), answered_balances(source, token, accounts)
        copy = tmp_path / "backups" / "license_server-2026-02-10.sqlite3"
        done = _cli(source, "backup", str(copy))  # while the server runs, its last commits still in the WAL
        assert done.returncode == 0, done.stderr
        assert done.stdout == "" and str(copy) in done.stderr
        assert (copy.stat().st_mode & 0o777) == 0o600  # token hashes and customers' data
        assert not copy.with_name(copy.name + "-wal").exists()  # one self-contained file
        clock = source.clock
    with LiveLicenseServer(tmp_path / "restored", database_url=f"sqlite:///{copy}", clock=clock,
                           pricelist=False) as restored:
        assert books(restored) == before
        assert answered_balances(restored, token, accounts) == answered
        _goes_on_writing(restored, token, accounts[0])


def test_the_backup_command_never_overwrites_and_sends_postgresql_to_pg_dump(tmp_path, postgres_server):
    with LiveLicenseServer(tmp_path / "source") as source:
        taken = tmp_path / "taken.sqlite3"
        taken.write_text("an older backup")
        done = _cli(source, "backup", str(taken))
        assert done.returncode == 1 and "exists already" in done.stderr and taken.read_text() == "an older backup"
    url = postgres_server.create_database("books_backup_cmd")
    done = subprocess.run([str(CLI), "backup", str(tmp_path / "x")], capture_output=True, text=True,
                          env={**os.environ, "LICENSE_SERVER_DATABASE_URL": url})
    assert done.returncode == 1 and "pg_dump -Fc" in done.stderr and not (tmp_path / "x").exists()


def _goes_on_writing(server, token: str, account_id: str) -> None:
    """A new key redeemed on the restored books: new ledger lines and ids after the restored ones."""
    http = httpx.Client(base_url=server.url, timeout=30)
    api = Api.for_http(http, token, server.ctx, server.clock, server.keyring)
    before = books(server)
    api.load(account_id, "50")
    after = books(server)
    http.close()
    assert after["lines"] > before["lines"]
    assert after["ledger"]["credit"] == before["ledger"]["credit"] + 50_000 * TICKS_PER_MILLI


def _pg(tool: str, *args: str, port: int) -> None:
    """A PostgreSQL client tool over TCP (trust auth in the test cluster), as an operator would run it."""
    done = subprocess.run([str(BIN / tool), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", *args],
                          capture_output=True, text=True)
    assert done.returncode == 0, f"{tool}: {done.stderr}"


def _cli(server, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "LICENSE_SERVER_DATABASE_URL": server.database_url,
           "LICENSE_SERVER_SIGNING_KEY_PATH": server.config["SIGNING_KEY_PATH"],
           "LICENSE_SERVER_INSTANCE_PATH": str(server.tmp_path)}
    return subprocess.run([str(CLI), *args], capture_output=True, text=True, env=env)
