"""Book.load reads an account's snapshot and its queued ops in one state of the store (issue 21; since then every unit
of work is one transaction, app/store.py and tests/app/test_transactions.py): a background sync that merges the
account meanwhile is seen whole or not at all, never as an account that is nowhere."""

from __future__ import annotations

import pytest

from app import services
from app.clock import MovableClock

from .conftest import FAST_KDF, PASSPHRASE


@pytest.fixture
def laptop(tmp_path, server, token):
    """A technician's laptop pointed at the live license server, synced once (it holds the price list)."""
    store = services.initialise(tmp_path / "laptop", PASSPHRASE, server.url, token, demo=True, kdf=FAST_KDF)
    assert services.sync_now(store, MovableClock(server.clock.now())).ok
    yield store
    store.close()


def test_an_account_a_sync_merges_between_two_reads_of_a_page_is_still_found(laptop, server):
    clock = MovableClock(server.clock.now())
    created = services.create_account(laptop.unit_of_work(), clock, "Hotel du Lac", "it@hotel-du-lac.example")
    reader = laptop.unit_of_work()
    with reader:
        read_snapshots = reader.replica.snapshots  # the snapshots a projection reads (issue 27: their columns)

        def then_the_background_sync_merges(account_id):
            rows = read_snapshots(account_id)  # not known to the server yet: no snapshot held
            report = services.sync_now(laptop, clock)  # stores the snapshot and drops the create_account, one commit
            assert report.ok and report.applied == 1
            return rows

        reader.replica.snapshots = then_the_background_sync_merges
        book = reader.accounts.book(clock.now(), created.account_id)
        # the page read before the merge: the account as queued (its create_account still in the outbox)
        state = book.get(created.account_id)
        assert state is not None and state.name == "Hotel du Lac" and not state.confirmed
        assert [op.kind for op in book.ops_of(created.account_id)] == ["create_account"]
    with laptop.unit_of_work() as after:  # the next read sees the merge whole: confirmed, nothing queued
        book = after.accounts.book(clock.now(), created.account_id)
        assert book.get(created.account_id).confirmed and book.ops_of(created.account_id) == []


def test_a_unit_of_works_reads_see_its_own_writes_uncommitted(laptop, server):
    clock = MovableClock(server.clock.now())
    created = services.create_account(laptop.unit_of_work(), clock, "Hotel du Lac", "it@hotel-du-lac.example")
    with laptop.unit_of_work(write=True) as uow:
        uow.settings.put("probe", "written, not flushed")  # a write still in the session, not yet sent
        assert uow.accounts.book(clock.now(), created.account_id).get(created.account_id) is not None
        assert uow.settings.get("probe") == "written, not flushed"  # its own write, seen
    with laptop.unit_of_work() as uow:  # left without commit: undone, the reads committed nothing
        assert uow.settings.get("probe") is None
    with laptop.unit_of_work(write=True) as uow:
        uow.outbox.enqueue("update_account", created.account_id, {"name": "Hotel du Lac et des Alpes"}, clock.now())
        book = uow.accounts.book(clock.now(), created.account_id)
        assert book.pending_state(created.account_id).name == "Hotel du Lac et des Alpes"  # queued in this unit, seen
    with laptop.unit_of_work() as uow:
        assert [op.kind for op in uow.outbox.all_ops(created.account_id)] == ["create_account"]
