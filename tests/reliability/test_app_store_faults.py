"""The laptop's store survives what laptops suffer: the app killed mid-write, a full disk, a read-only folder.

Real parts only: a SQLCipher file written by the app core in a subprocess that is SIGKILLed,
a real tmpfs that fills up, a real read-only bind mount (root is not stopped by chmod).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from app import services
from app.clock import MovableClock
from app.store import StoreError
from tests.support.faults import fill_disk, read_only_view, tiny_disk
from tests.support.license_server import LiveLicenseServer

from .app_worker import FAST_KDF
from .figures import record
from .ledger import audit_database

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "correct horse battery staple"
SOAK = bool(os.environ.get("RENTDESK_SOAK"))
STORE_FILES = ("store.db", "store.db-wal", "store.db-shm", "store.header.json")


def new_store(home: Path):
    return services.initialise(home, PASSPHRASE, demo=True, kdf=FAST_KDF)


def outbox_op_ids(store) -> list[str]:
    with store.unit_of_work() as uow:
        return [op.op_id for op in uow.outbox.all_ops()]


def integrity(store) -> str:
    with store.raw_connection() as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


# ------------------------------------------------------------------ the app killed mid-write


def run_and_kill(home: Path, seed: int, rng: random.Random, mode: str = "write", extra: tuple[str, ...] = (),
                 syncs: list | None = None) -> list[str]:
    """Start the app core writing (or writing and syncing), SIGKILL it after a random number of acknowledged
    ops; return the acks (and append to syncs each completed sync it reported)."""
    worker = subprocess.Popen([sys.executable, "-m", "tests.reliability.app_worker", mode, str(home), PASSPHRASE,
                               str(seed), *extra], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    acked: list[str] = []
    try:
        assert worker.stdout.readline().strip() == "ready", worker.stderr.read()
        stop_after = rng.randint(1, 25)
        while len(acked) < stop_after:
            line = worker.stdout.readline()
            assert line, f"the worker died on its own: {worker.stderr.read()}"
            if line.startswith("ack "):
                acked.append(line.split()[1])
            elif line.startswith("synced ") and syncs is not None:
                syncs.append(line.split()[1:])
        # The kill lands while the next write is under way (the worker never pauses).
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        # Anything it acknowledged after our count but before dying is in the pipe: collect it too.
        acked += [line.split()[1] for line in worker.stdout.read().splitlines() if line.startswith("ack ")]
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        worker.stdout.close()
        worker.stderr.close()
    return acked


def test_the_app_killed_during_writes_again_and_again_opens_every_time_with_every_acknowledged_op(tmp_path):
    """DESIGN §6: an op acknowledged to the technician survives a SIGKILL at any point after it."""
    home = tmp_path / "home"
    new_store(home).close()
    rng = random.Random(8)
    kills = 40 if SOAK else 8
    acknowledged: list[str] = []
    for round_ in range(kills):
        acknowledged += run_and_kill(home, seed=round_, rng=rng)
        store = services.unlock(home, PASSPHRASE, demo=True)  # opens every time
        try:
            assert integrity(store) == "ok"
            present = outbox_op_ids(store)
            missing = [op_id for op_id in acknowledged if op_id not in present]
            assert not missing, f"round {round_}: acknowledged ops lost after SIGKILL: {missing}"
            # Nothing unacknowledged is half there: at most the one op in flight at the kill, whole.
            assert len(set(present) - set(acknowledged)) <= 1
            assert len(present) == len(set(present))
            services.sync_status(store.unit_of_work())  # the UI's reads work on what was left
        finally:
            store.close()
    record("app_killed_during_writes", kills=kills, ops_acknowledged=len(acknowledged), ops_lost=0)


# ------------------------------------------------------------------ full disk


def test_setting_up_on_a_full_disk_says_so_and_leaves_nothing_half_written():
    """First run on a full disk: a clear message, no half store blocking the retry once space is freed."""
    with tiny_disk(256) as disk:
        ballast = fill_disk(disk, leave_bytes=24 * 1024)
        home = disk / "home"

        with pytest.raises(StoreError) as refusal:
            new_store(home)
        message = str(refusal.value).lower()
        assert "disk" in message and "full" in message and "free" in message, message
        assert not [name for name in STORE_FILES if (home / name).exists()], "a half-written store was left behind"

        ballast.unlink()
        store = new_store(home)  # freeing space is all it takes
        try:
            assert integrity(store) == "ok"
        finally:
            store.close()


def test_a_disk_that_fills_up_while_the_technician_works_refuses_the_write_clearly_and_keeps_the_rest(tmp_path):
    """A write on a full disk says the disk is full; every earlier op stays; after freeing space, work goes on."""
    clock = MovableClock(1_800_000_000)
    with tiny_disk(2048) as disk:
        home = disk / "home"
        store = new_store(home)
        try:
            kept = [services.create_account(store.unit_of_work(), clock, f"Client {i}", f"c{i}@example.com").op_id
                    for i in range(5)]
            ballast = fill_disk(disk)
            refusals = 0
            for i in range(40):  # keep typing until the full disk shows (the WAL has some room of its own)
                try:
                    kept.append(services.create_account(store.unit_of_work(), clock, "Full " + "x" * 150 + str(i),
                                                        f"f{i}@example.com").op_id)
                except StoreError as exc:
                    message = str(exc).lower()
                    assert "disk" in message and "full" in message, message
                    refusals += 1
                    break
            assert refusals == 1, "the full disk was never reported"
            assert outbox_op_ids(store) == kept
            ballast.unlink()
            kept.append(services.create_account(store.unit_of_work(), clock, "After", "after@example.com").op_id)
        finally:
            store.close()
        store = services.unlock(home, PASSPHRASE, demo=True)
        try:
            assert integrity(store) == "ok" and outbox_op_ids(store) == kept
        finally:
            store.close()


# ------------------------------------------------------------------ read-only data folder


def test_a_read_only_data_folder_is_reported_as_such_not_as_a_wrong_passphrase(tmp_path):
    home = tmp_path / "home"
    new_store(home).close()
    before = {name: (home / name).read_bytes() for name in STORE_FILES if (home / name).exists()}

    with read_only_view(home) as view:
        with pytest.raises(StoreError) as refusal:
            store = services.unlock(view, PASSPHRASE, demo=True)
            # Opening read-only would be acceptable only if writing then says why it cannot.
            try:
                services.create_account(store.unit_of_work(), MovableClock(), "Someone", "s@example.com")
            finally:
                store.close()
    message = str(refusal.value).lower()
    assert "read-only" in message or "read only" in message, message
    assert "passphrase" not in message
    after = {name: (home / name).read_bytes() for name in STORE_FILES if (home / name).exists()}
    assert after == before  # nothing written, nothing half-written


def test_setting_up_in_a_read_only_folder_says_so_and_writes_nothing(tmp_path):
    target = tmp_path / "data"
    target.mkdir()
    with read_only_view(target) as view:
        with pytest.raises(StoreError) as refusal:
            new_store(view / "home")
    message = str(refusal.value).lower()
    assert "read-only" in message or "read only" in message or "cannot write" in message, message
    assert list(target.iterdir()) == []


def test_the_app_killed_during_sync_again_and_again_loses_no_op_and_the_server_applies_each_once(tmp_path):
    """SIGKILL while the app core pushes its outbox: after each kill the store opens whole; in the end every
    acknowledged op reached the server exactly once, and the server's ledger agrees with itself."""
    from sqlalchemy import create_engine, text as sql

    from app.models import OpResult

    with LiveLicenseServer(tmp_path / "server") as server:
        token = server.add_technician("Acme Telecom", "Ann")
        keys_file = tmp_path / "keys.txt"
        kills = 40 if SOAK else 10
        keys_file.write_text("\n".join(server.issue_keys("20", 50 * kills)))
        home = tmp_path / "home"
        services.initialise(home, PASSPHRASE, server_url=server.url, token=token, demo=True, kdf=FAST_KDF).close()
        rng = random.Random(88)
        acknowledged: list[str] = []
        syncs: list = []
        for round_ in range(kills):
            acknowledged += run_and_kill(home, seed=round_, rng=rng, mode="sync", extra=(str(keys_file),),
                                         syncs=syncs)
            store = services.unlock(home, PASSPHRASE, demo=True)
            try:
                assert integrity(store) == "ok"
                with store.unit_of_work() as uow:
                    held = set(outbox_op_ids(store)) | {row.op_id for row in uow.session.query(OpResult)}
                missing = [op_id for op_id in acknowledged if op_id not in held]
                assert not missing, f"round {round_}: acknowledged ops vanished after a SIGKILL mid-sync: {missing}"
            finally:
                store.close()
        store = services.unlock(home, PASSPHRASE, demo=True)
        try:
            clock = MovableClock(server.clock.now)
            report = services.sync_now(store, clock)
            assert report.ok, report.error
            assert services.sync_status(store.unit_of_work()).queued == 0
        finally:
            store.close()
        engine = create_engine(server.database_url)
        try:
            with engine.connect() as conn:
                on_server = [row[0] for row in conn.execute(sql("SELECT op_id FROM ops"))]
            assert sorted(set(acknowledged) - set(on_server)) == [], "an acknowledged op never reached the server"
            audit = audit_database(engine)
            audit.assert_clean()
        finally:
            engine.dispose()
    record("app_killed_during_sync", kills=kills, ops_acknowledged=len(acknowledged),
           syncs_completed_between_kills=len(syncs), keys_redeemed=audit.keys_redeemed, ops_lost=0,
           ops_applied_twice=0)
