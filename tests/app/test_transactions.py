"""A unit of work is one transaction from its first statement (app/store.py; docs/reliability.md "Units of work").

Real SQLCipher stores, a real license server on 127.0.0.1 and real threads: each interleaving is made with events
(a thread stops at a chosen statement or call until the test lets it go), never with sleeps. Before units began
their own transaction the driver began one only before a write: a unit's reads each saw another state of the
store, and a unit that read, decided and wrote could write over what the background sync committed meanwhile.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import event, inspect, text

from app import clock as clock_mod
from app import services
from app import store as store_mod
from app.clock import MovableClock
from app.migrations import current_revision, upgrade

from .conftest import FAST_KDF, PASSPHRASE

IP_PORT = "01-00010-001"
#: How long a thread may take to reach a point it is bound to reach (a bound on a wait for an event, never a
#: duration asserted): far above anything here, far below the busy timeout.
REACH_S = 20.0


class Worker(threading.Thread):
    """A call run in a thread of its own (the technician's request, or the background sync); outcome() is its
    return value, or raises what it raised."""

    def __init__(self, name: str, call):
        super().__init__(name=name, daemon=True)
        self._call = call
        self.done = threading.Event()
        self.result = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self._call()
        except BaseException as exc:  # noqa: BLE001 - handed to the test by outcome()
            self.error = exc
        finally:
            self.done.set()

    def outcome(self):
        assert self.done.wait(REACH_S), f"{self.name} did not finish"
        if self.error is not None:
            raise self.error
        return self.result


class Gate:
    """A point where one thread stops until the test lets it go: ``reached`` once it is there."""

    def __init__(self):
        self.reached = threading.Event()
        self._go = threading.Event()
        self.passed = 0

    def stop_here(self) -> None:
        self.passed += 1
        self.reached.set()
        assert self._go.wait(REACH_S), "the test never let this thread go"

    def open(self) -> None:
        self._go.set()


def on_statement(store, worker_name: str, wanted, call) -> None:
    """call() before a statement of the thread named worker_name for which wanted(statement) is true (once)."""
    fired = []

    def before(_conn, _cursor, statement, _parameters, _context, _executemany):
        if threading.current_thread().name == worker_name and not fired and wanted(statement):
            fired.append(statement)
            call()

    event.listen(store.engine, "before_cursor_execute", before)


@pytest.fixture
def laptop(tmp_path, server, token):
    """A technician's laptop pointed at the live license server (not synced yet)."""
    store = services.initialise(tmp_path / "laptop", PASSPHRASE, server.url, token, demo=True, kdf=FAST_KDF)
    yield store
    store.close()


def after_the_call(monkeypatch, module, name: str, worker_name: str, gate: Gate) -> None:
    """Stop the thread worker_name right after module.name returned (what it read, it has read)."""
    real = getattr(module, name)

    def stopping(*args, **kwargs):
        result = real(*args, **kwargs)
        if threading.current_thread().name == worker_name and not gate.passed:
            gate.stop_here()
        return result

    monkeypatch.setattr(module, name, stopping)


# --------------------------------------------------------------------------- (a) read-modify-write of a setting


def test_a_sync_learning_the_clock_offset_while_a_change_notes_the_laptop_time_loses_neither(
        laptop, server, monkeypatch):
    """The clock's note is one setting that two units read, change and write back: the technician's change notes
    the laptop time on it, the background sync writes the offset it learned from the server's signed time. The
    change read the note, then the sync committed the offset, then the change wrote the note back: the offset was
    gone (the laptop's figures an hour off until the next sync), and nothing said so."""
    laptop_clock = MovableClock(server.clock.now() - 3_600)  # the laptop's clock an hour behind the server's
    stopped = Gate()
    after_the_call(monkeypatch, clock_mod, "load_skew", "technician", stopped)
    change = Worker("technician", lambda: services.create_account(
        laptop.unit_of_work(), laptop_clock, "Hotel du Lac", "it@hotel-du-lac.example"))
    change.start()
    assert stopped.reached.wait(REACH_S)  # the change has read the note and not written it back yet

    sync = Worker("sync", lambda: services.sync_now(laptop, laptop_clock))
    sync.start()
    assert laptop.writers.wait_for_waiters(1, REACH_S)  # the sync's first write waits for the change's turn
    stopped.open()

    created = change.outcome()
    assert sync.outcome().ok
    with laptop.unit_of_work() as uow:
        skew = clock_mod.load_skew(uow)
        assert (skew.offset_s, skew.source) == (3_600, clock_mod.SIGNED)  # the sync's offset, kept
        assert skew.highest_laptop_seen == laptop_clock.now()
    assert services.account_detail(laptop.unit_of_work(), laptop_clock, created.account_id).name == "Hotel du Lac"


# --------------------------------------------------------------------------- (b) one snapshot per unit


def test_a_unit_of_work_reads_one_state_of_the_store_while_another_thread_commits(laptop, server):
    """Issue 21's page read an account's snapshot and its ops in two statements and a sync's merge between them hid
    the account; any two reads of a unit (a page's list and its count, a decision and what it is checked on) must
    agree the same way: what another thread commits after the unit's first read is not seen until the next unit."""
    clock = MovableClock(server.clock.now())
    assert services.sync_now(laptop, clock).ok
    with laptop.unit_of_work() as reader:
        before = reader.accounts.book(clock.now())
        other = Worker("technician", lambda: services.create_account(
            laptop.unit_of_work(), clock, "Hotel du Lac", "it@hotel-du-lac.example"))
        other.start()
        created = other.outcome()  # committed by another thread while this unit is open
        again = reader.accounts.book(clock.now())
        assert before.get(created.account_id) is None
        assert again.get(created.account_id) is None  # the unit's one state: not there yet
        assert reader.outbox.all_ops() == []
    with laptop.unit_of_work() as after:  # the next unit sees it
        assert after.accounts.book(clock.now()).get(created.account_id).name == "Hotel du Lac"


# --------------------------------------------------------------------------- (c) a change queued during a sync


def test_a_license_change_queued_while_the_sync_sends_the_previous_one_is_kept_and_applied(laptop, server, token):
    """A PBX's queued license change is replaced by a newer one while it never left the laptop (collapse); the sync
    marks the ops it sends so they are never replaced. The change looked for the op to replace, the sync marked it
    and sent it, then the change deleted it and queued its own on the revision before it: the server applied the
    deleted op, then called the technician's newer change a conflict (or, the other way round, the sync failed on
    an op gone under it). Now one waits for the other: the newer change is sent, applied, and nothing conflicts."""
    clock = MovableClock(server.clock.now())
    assert services.sync_now(laptop, clock).ok
    account = services.create_account(laptop.unit_of_work(), clock, "Hotel du Lac", "it@hotel-du-lac.example")
    pbx = services.register_pbx(laptop.unit_of_work(), clock, account.account_id, name="Lobby", serial="SN-1",
                                platform="vmware", firmware="13r2")
    [key] = server.issue_keys("100", 1)
    services.load_key(laptop.unit_of_work(), clock, account.account_id, key)
    assert services.sync_now(laptop, clock).ok
    services.set_licenses(laptop.unit_of_work(), clock, account.account_id, pbx.pbx_id, {IP_PORT: 2})  # queued

    stopped = Gate()  # the newer change, about to replace the queued one (its DELETE)
    on_statement(laptop, "technician", lambda s: s.startswith("DELETE FROM outbox_op"), stopped.stop_here)
    change = Worker("technician", lambda: services.set_licenses(
        laptop.unit_of_work(), clock, account.account_id, pbx.pbx_id, {IP_PORT: 5}))
    change.start()
    assert stopped.reached.wait(REACH_S)

    sync = Worker("sync", lambda: services.sync_now(laptop, clock))
    sync.start()
    assert laptop.writers.wait_for_waiters(1, REACH_S)  # the sync's first write waits for the change's turn
    stopped.open()

    change.outcome()
    report = sync.outcome()
    assert report.ok and report.conflicts == 0 and report.rejected == 0
    assert services.sync_now(laptop, clock).ok  # whatever the first sync left queued
    with server.client(token) as client:
        signed = server.keyring.verify_envelope(client.get(f"/accounts/{account.account_id}").json(), "account")
    [on_server] = signed["pbxs"]
    assert {lic["ref"]: lic["qty"] for lic in on_server["licenses"]} == {IP_PORT: 5}  # the newer change
    assert services.queued_ops(laptop.unit_of_work(), clock) == []  # nothing waits for a decision


# --------------------------------------------------------------------------- (d) writers queue, readers never wait


def test_a_writer_waits_for_another_writer_and_a_read_waits_for_none(laptop, server, monkeypatch):
    """Two changes at once (the technician's, the background sync's): the second waits for the first's turn (at most
    the busy timeout, 30 s, far above any write here) and then goes through on what the first committed. Meanwhile a
    screen's read goes on at once (WAL), and a read that would note the laptop time gives the note up rather
    than wait (commit_if_possible)."""
    clock = MovableClock(server.clock.now())
    assert services.sync_now(laptop, clock).ok
    stopped = Gate()
    after_the_call(monkeypatch, clock_mod, "load_skew", "first", stopped)
    first = Worker("first", lambda: services.create_account(
        laptop.unit_of_work(), clock, "Hotel du Lac", "it@hotel-du-lac.example"))
    first.start()
    assert stopped.reached.wait(REACH_S)  # the first change holds the write lock

    second = Worker("second", lambda: services.create_account(
        laptop.unit_of_work(), clock, "Pension Alpina", "desk@alpina.example"))
    second.start()
    assert laptop.writers.wait_for_waiters(1, REACH_S)  # queued behind the first...
    assert not second.done.is_set()  # ...and not through while the first holds the lock

    later = MovableClock(clock.now() + clock_mod.NOTE_EVERY_S + 1)  # a read that would note the laptop time
    with laptop.unit_of_work() as uow:
        noted_before = clock_mod.load_skew(uow).highest_laptop_seen
    assert services.list_accounts(laptop.unit_of_work(), later) == []  # at once, on the last committed state
    with laptop.unit_of_work() as uow:
        assert clock_mod.load_skew(uow).highest_laptop_seen == noted_before  # the note given up, not waited for

    stopped.open()
    made = [first.outcome(), second.outcome()]
    with laptop.unit_of_work() as uow:
        assert [op.account_id for op in uow.outbox.all_ops()] == [made[0].account_id, made[1].account_id]
    assert {a.name for a in services.list_accounts(laptop.unit_of_work(), clock)} == {"Hotel du Lac",
                                                                                    "Pension Alpina"}


def test_a_change_waiting_behind_the_sync_goes_before_the_syncs_next_write(laptop):
    """The sync writes in many short units one after the other (an account's ledger, 500 snapshots...). SQLite's own
    wait for the lock polls in growing sleeps and serves nobody in order: a change slept through the gaps between
    them (0.33 s behind a 1,000-op sync, measured; a long sync could hold it off for the whole busy timeout).
    The writers of the app now take turns (WritersQueue): one waiting gets the lock the moment it is free, before
    the sync's next unit."""
    order = []
    stopped = Gate()

    def two_sync_units():
        with laptop.unit_of_work(write=True) as uow:
            uow.settings.get("sync_state")
            order.append("sync, first unit")
            stopped.stop_here()
            uow.commit()
        with laptop.unit_of_work(write=True) as uow:  # at once, as the sync does
            uow.settings.get("sync_state")
            order.append("sync, next unit")
            uow.commit()

    def a_change():
        with laptop.unit_of_work(write=True) as uow:
            uow.settings.put("language", "fr")
            uow.flush()
            order.append("the technician's change")
            uow.commit()

    sync = Worker("sync", two_sync_units)
    sync.start()
    assert stopped.reached.wait(REACH_S)
    change = Worker("technician", a_change)
    change.start()
    assert laptop.writers.wait_for_waiters(1, REACH_S)
    stopped.open()
    sync.outcome()
    change.outcome()
    assert order == ["sync, first unit", "the technician's change", "sync, next unit"]


def test_a_unit_that_writes_opened_inside_another_of_the_same_thread_is_refused_at_once(laptop):
    """It would wait for its own thread's lock until the busy timeout: said at once instead (a programming error)."""
    with laptop.unit_of_work(write=True) as outer:
        outer.settings.get("language")
        with laptop.unit_of_work(write=True) as inner:
            with pytest.raises(RuntimeError, match="would wait for itself"):
                inner.settings.get("language")
    with laptop.unit_of_work(write=True) as uow:  # the turn was given back
        uow.settings.put("language", "fr")
        uow.commit()


# --------------------------------------------------------------------------- declared writers, migrations


def test_a_unit_opened_for_reading_that_writes_is_refused_in_the_tests(laptop):
    """The suites run with RENTDESK_CHECK_WRITES=1 (tests/conftest.py): a writer left undeclared fails there at its
    first write, instead of taking the lock late and failing only when a sync comes between."""
    assert store_mod.CHECK_WRITES_ENV == "RENTDESK_CHECK_WRITES"
    with laptop.unit_of_work() as uow:
        uow.settings.put("language", "fr")
        with pytest.raises(store_mod.UndeclaredWrite):
            uow.flush()
    with laptop.unit_of_work().writing() as uow:
        uow.settings.put("language", "fr")
        uow.commit()
    assert services.get_settings(laptop.unit_of_work()).language == "fr"


def test_a_migration_that_fails_at_unlock_leaves_the_store_as_it_was(tmp_path):
    """The migrations run at unlock in one transaction, their DDL included: one that fails halfway undoes all it
    did, and the store opens again once the cause is gone. Without a BEGIN of its own the driver committed each
    ALTER TABLE as it went: 0005's new column stayed, its revision was not recorded, and every later unlock failed
    on a column that already existed."""
    home = tmp_path / "home"
    home.mkdir()
    header = store_mod.Header.fresh(FAST_KDF)
    store_mod._write_atomically(store_mod.paths.header_path(home), header.to_json())
    old = store_mod.Store(home, header.derive(PASSPHRASE), demo=True)
    upgrade(old.engine, "0004")
    with old.write_engine.begin() as conn:  # what makes 0005 fail after its first ALTER TABLE: its new table exists
        conn.execute(text("CREATE TABLE toggle_occurrence (id INTEGER PRIMARY KEY)"))
    old.close()

    with pytest.raises(Exception, match="already exists"):
        services.unlock(home, PASSPHRASE, demo=True)
    held = store_mod.unlock(home, PASSPHRASE, demo=True, migrate=False)
    try:
        assert current_revision(held.engine) == "0004"
        assert "serial" not in {c["name"] for c in inspect(held.engine).get_columns("reduction")}  # undone
        with held.write_engine.begin() as conn:
            conn.execute(text("DROP TABLE toggle_occurrence"))
    finally:
        held.close()
    fresh = services.initialise(tmp_path / "fresh", PASSPHRASE, None, None, demo=True, kdf=FAST_KDF)
    newest = current_revision(fresh.engine)
    fresh.close()
    opened = services.unlock(home, PASSPHRASE, demo=True)
    try:
        assert newest != "0004" and current_revision(opened.engine) == newest
    finally:
        opened.close()
