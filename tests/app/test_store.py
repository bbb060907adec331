"""The encrypted store (DESIGN §6): SQLCipher files nobody else can read, a wrong passphrase writes nothing,
re-keying, and Alembic migrations at unlock."""

from __future__ import annotations

import hashlib
import json
import sqlite3

import pytest
from sqlalchemy import inspect

from app import paths, services, store as store_mod
from app.migrations import current_revision, upgrade
from app.models import Base

from .conftest import FAST_KDF, PASSPHRASE


def folder_fingerprint(folder):
    """Every file of the data folder with a digest of its bytes."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def all_store_bytes(store):
    path = store.path
    data = path.read_bytes()
    for suffix in ("-wal", "-shm"):
        extra = path.with_name(path.name + suffix)
        if extra.exists():
            data += extra.read_bytes()
    return data


def test_a_new_store_cannot_be_read_by_plain_sqlite(store):
    store.checkpoint()
    conn = sqlite3.connect(store.path)
    with pytest.raises(sqlite3.DatabaseError, match="not a database"):
        conn.execute("SELECT * FROM sqlite_master").fetchall()
    conn.close()


def test_no_customer_name_email_or_token_appears_in_the_store_files(store, clock):
    services.create_account(store.unit_of_work(), clock, "Zanzibar Plumbing", "boss@zanzibar-plumbing.example")
    services.set_settings(store.unit_of_work(), token="tok-secret-123-XYZZY")
    in_wal = all_store_bytes(store)  # before the checkpoint the new pages sit in the WAL
    store.checkpoint()
    after = all_store_bytes(store)
    for secret in (b"Zanzibar", b"zanzibar-plumbing", b"XYZZY", "Zanzibar".encode("utf-16-le")):
        assert secret not in in_wal
        assert secret not in after
    header = paths.header_path(store.home).read_bytes()
    assert b"XYZZY" not in header and b"Zanzibar" not in header


def test_a_failing_write_quotes_none_of_its_values_so_no_token_reaches_a_log(tmp_path):
    """A write that fails (two inserts of one setting, as two threads once made the laptop clock's note right after
    the first run): its error, which the 500 page's handler logs to a terminal or the journal, must not carry the
    token."""
    import traceback

    from sqlalchemy.exc import IntegrityError

    from app.models import Setting

    store = services.initialise(tmp_path / "home", PASSPHRASE, None, None, demo=True, kdf=FAST_KDF)
    try:
        with store.unit_of_work(write=True) as uow:
            uow.settings.put("token", "tok-secret-of-the-other-write")
            uow.commit()
        with store.unit_of_work(write=True) as uow:
            uow.session.add(Setting(key="token", value='"tok-secret-typed-in-settings"'))  # inserted a second time
            with pytest.raises(IntegrityError) as failed:
                uow.commit()
        logged = "".join(traceback.format_exception(failed.value))
        assert "UNIQUE constraint failed: setting.key" in logged  # the error itself is still said
        assert "tok-secret-typed-in-settings" not in logged
    finally:
        store.close()


def test_the_store_keeps_the_server_url_and_token_inside(store):
    view = services.get_settings(store.unit_of_work())
    assert view.server_url == "http://127.0.0.1:9" and view.has_token


def test_a_wrong_passphrase_says_so_and_writes_nothing(store, home):
    services.create_account(store.unit_of_work(), services_clock(), "Acme", "it@acme.example")
    store.close()
    before = folder_fingerprint(home)
    with pytest.raises(services.WrongPassphrase, match="Wrong passphrase"):
        services.unlock(home, "not the passphrase", demo=True)
    assert folder_fingerprint(home) == before


def test_the_right_passphrase_opens_the_store_with_its_data(store, home):
    clock = services_clock()
    services.create_account(store.unit_of_work(), clock, "Acme", "it@acme.example")
    store.close()
    again = services.unlock(home, PASSPHRASE, demo=True)
    assert [a.name for a in services.list_accounts(again.unit_of_work(), clock)] == ["Acme"]
    again.close()


def test_changing_the_passphrase_rekeys_the_file(store, home):
    clock = services_clock()
    services.create_account(store.unit_of_work(), clock, "Acme", "it@acme.example")
    store.checkpoint()
    old_bytes = store.path.read_bytes()
    services.change_passphrase(store, PASSPHRASE, "a brand new passphrase")
    assert store.path.read_bytes() != old_bytes
    assert [a.name for a in services.list_accounts(store.unit_of_work(), clock)] == ["Acme"]
    store.close()
    with pytest.raises(services.WrongPassphrase):
        services.unlock(home, PASSPHRASE, demo=True)
    again = services.unlock(home, "a brand new passphrase", demo=True)
    assert [a.name for a in services.list_accounts(again.unit_of_work(), clock)] == ["Acme"]
    again.close()


def test_changing_the_passphrase_needs_the_current_one(store):
    with pytest.raises(services.WrongPassphrase, match="not changed"):
        services.change_passphrase(store, "a guess at it", "a brand new passphrase")


def test_a_rekey_interrupted_before_the_header_was_renamed_still_unlocks(store, home):
    clock = services_clock()
    services.create_account(store.unit_of_work(), clock, "Acme", "it@acme.example")
    header = paths.header_path(home)
    old_header = header.read_bytes()
    services.change_passphrase(store, PASSPHRASE, "a brand new passphrase")
    store.close()
    # simulate a crash after PRAGMA rekey but before the new header replaced the old one
    header.with_name(header.name + ".new").write_bytes(header.read_bytes())
    header.write_bytes(old_header)
    again = services.unlock(home, "a brand new passphrase", demo=True)
    assert [a.name for a in services.list_accounts(again.unit_of_work(), clock)] == ["Acme"]
    assert not header.with_name(header.name + ".new").exists()
    again.close()


def test_setup_never_overwrites_an_existing_store(store, home):
    with pytest.raises(services.StoreExists):
        services.initialise(home, "another passphrase")


def test_a_short_passphrase_is_refused_and_nothing_is_created(tmp_path):
    with pytest.raises(services.WeakPassphrase, match="at least 8"):
        services.initialise(tmp_path / "h", "short")
    assert not (tmp_path / "h").exists() or not any((tmp_path / "h").iterdir())


def test_unlocking_an_empty_folder_says_to_run_setup(tmp_path):
    with pytest.raises(services.StoreMissing, match="setup"):
        services.unlock(tmp_path, PASSPHRASE)
    assert not services.is_initialised(tmp_path)


def test_the_default_key_derivation_is_scrypt_with_a_real_cost(tmp_path):
    made = services.initialise(tmp_path / "h", PASSPHRASE)
    header = store_mod.Header.read(paths.header_path(tmp_path / "h"))
    assert header.kdf == store_mod.DEFAULT_KDF and header.kdf["n"] >= 2**15 and len(header.salt) == 16
    made.close()


def _store_migrated_to(home, revision: str) -> store_mod.Store:
    """A store in home made by an older app, its schema at that revision."""
    home.mkdir()
    header = store_mod.Header.fresh(FAST_KDF)
    store_mod._write_atomically(paths.header_path(home), header.to_json())
    made = store_mod.Store(home, header.derive(PASSPHRASE), demo=True)
    upgrade(made.engine, revision)
    return made


def test_unlock_upgrades_a_store_made_by_the_first_migration(tmp_path):
    home = tmp_path / "old"
    old = _store_migrated_to(home, "0001")
    assert current_revision(old.engine) == "0001"
    assert "ledger_line" not in inspect(old.engine).get_table_names()
    with old.unit_of_work(write=True) as uow:  # a setting written by the first version of the app
        uow.settings.put("server_url", "https://licenses.example.com")
        uow.commit()
    old.close()
    new = services.unlock(home, PASSPHRASE, demo=True)
    assert current_revision(new.engine) == "0010"
    assert {"ledger_line", "reduction", "terms_replica", "history_event"} <= set(inspect(new.engine).get_table_names())
    [listing] = [index for index in inspect(new.engine).get_indexes("account_replica")
                 if index["name"] == "ix_account_replica_list"]
    assert listing["column_names"] == ["name_key", "account_id", "search_key", "status"]  # the list reads it alone
    [status] = [index for index in inspect(new.engine).get_indexes("account_replica")
                if index["name"] == "ix_account_replica_status"]
    assert status["column_names"] == ["status"]  # the list's count: every account minus a seek on the deleted (0009)
    assert services.get_settings(new.unit_of_work()).server_url == "https://licenses.example.com"
    new.close()


def test_a_snapshot_held_before_0010_gets_the_second_its_next_key_is_redeemed_from_its_payload_R24(tmp_path):
    """The replica's reload_at (the price list screen's R23 list reads it) is filled at unlock for the snapshots
    held before it existed, by the projection's own computation: the runtime reaching 28 days."""
    from sqlalchemy import text

    from rental.money import SECONDS_PER_DAY, TICKS_PER_MILLI

    home = tmp_path / "old"
    old = _store_migrated_to(home, "0009")
    as_of, rate, balance = 1_800_000_000, 12 * 500 * 10, 10_000 * TICKS_PER_MILLI  # 10 iSC at 5 iSC a month
    line = {"ref": "01-00010-001", "qty": 10, "monthly_milli": 500, "rate_ticks_per_s": rate}
    held = {"key_id": "ab" * 10, "amount_milli": 10_000, "deposited_at": as_of - 60}
    for account_id, days, deposits in (("reloading", 28, [held]), ("off", 0, [held]), ("no-key", 28, [])):
        payload = {"type": "account", "account_id": account_id, "name": account_id, "status": "active",
                   "revision": 3, "as_of": as_of, "balance_ticks": balance, "rate_ticks_per_s": rate,
                   "depletes_at": as_of + balance // rate, "price_version": "2026-11", "auto_reload_days": days,
                   "deposits": deposits, "pbxs": [{"pbx_id": "p1", "licenses": [line]}]}
        with old.write_engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO account_replica (account_id, revision, name, status, as_of, balance_ticks, "
                "rate_ticks_per_s, depletes_at, price_version, payload, envelope, received_at) VALUES (:id, 3, :id, "
                "'active', :as_of, :balance, :rate, :depletes, '2026-11', :payload, '{}', :as_of)"),
                {"id": account_id, "as_of": as_of, "balance": balance, "rate": rate,
                 "depletes": as_of + balance // rate, "payload": json.dumps(payload, sort_keys=True)})
    old.close()
    new = services.unlock(home, PASSPHRASE, demo=True)
    with new.engine.connect() as connection:
        found = dict(connection.execute(text("SELECT account_id, reload_at FROM account_replica")).all())
    new.close()
    assert found == {"reloading": as_of + balance // rate - 28 * SECONDS_PER_DAY, "off": None, "no-key": None}


def test_the_models_match_the_newest_migration(store):
    inspector = inspect(store.engine)
    for table in Base.metadata.sorted_tables:
        migrated = {c["name"] for c in inspector.get_columns(table.name)}
        assert migrated == {c.name for c in table.columns}, table.name


def test_the_store_runs_in_wal_mode_with_a_queue_pool(store):
    from sqlalchemy.pool import QueuePool

    assert isinstance(store.engine.pool, QueuePool)
    with store.raw_connection() as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_the_store_is_usable_from_another_thread(store):
    import threading

    seen = []
    worker = threading.Thread(target=lambda: seen.append(services.sync_status(store.unit_of_work()).queued))
    worker.start()
    worker.join()
    assert seen == [0]


def test_rentdesk_home_names_the_data_folder(tmp_path):
    assert paths.data_dir({"RENTDESK_HOME": str(tmp_path)}) == tmp_path.resolve()


def test_without_rentdesk_home_the_per_user_folder_is_used():
    import platformdirs

    assert paths.data_dir({}) == paths.Path(platformdirs.user_data_dir("RentDesk", appauthor=False))


def test_a_frozen_bundle_reads_resources_from_its_own_folder(monkeypatch, tmp_path):
    import sys

    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert paths.keys_dir() == tmp_path / "keys"


def test_a_normal_start_never_trusts_the_demo_key(tmp_path):
    made = services.initialise(tmp_path / "h", PASSPHRASE, kdf=FAST_KDF)
    assert "demo" not in made.keyring
    assert all(not k.is_demo for k in services.trusted_key_fingerprints(made))
    made.close()


def test_demo_mode_trusts_the_demo_key(store):
    assert [k.kid for k in services.trusted_key_fingerprints(store) if k.is_demo] == ["demo"]


def services_clock():
    from app.clock import MovableClock

    from .conftest import START

    return MovableClock(START)


def test_a_backup_is_encrypted_and_restores_with_the_same_passphrase(store, tmp_path):
    clock = services_clock()
    services.create_account(store.unit_of_work(), clock, "Zanzibar Plumbing", "boss@zanzibar-plumbing.example")
    seen = []
    made = services.export_backup(store, tmp_path / "saved" / "monday", progress=lambda done, total: seen.append((done, total)))
    assert made.name == "monday.rentdesk-backup" and seen[-1][0] == seen[-1][1] > 0
    assert b"Zanzibar" not in made.read_bytes() and b"tok-secret" not in made.read_bytes()
    with pytest.raises(services.WrongPassphrase, match="Nothing was restored"):
        services.import_backup(made, tmp_path / "restored", "not the passphrase")
    assert not paths.store_path(tmp_path / "restored").exists()
    restored = services.import_backup(made, tmp_path / "restored", PASSPHRASE, demo=True)
    assert [a.name for a in services.list_accounts(restored.unit_of_work(), clock)] == ["Zanzibar Plumbing"]
    restored.close()


def test_a_backup_is_never_restored_over_an_existing_store(store, tmp_path):
    made = services.export_backup(store, tmp_path / "b")
    with pytest.raises(services.StoreExists):
        services.import_backup(made, store.home, PASSPHRASE)


def test_unlock_fills_the_searched_contact_email_of_snapshots_kept_before_it_had_a_column(tmp_path):
    from sqlalchemy import text

    home = tmp_path / "old"
    home.mkdir()
    header = store_mod.Header.fresh(FAST_KDF)
    store_mod._write_atomically(paths.header_path(home), header.to_json())
    old = store_mod.Store(home, header.derive(PASSPHRASE), demo=True)
    upgrade(old.engine, "0003")
    payload = json.dumps({"account_id": "acc-1", "name": "Acme", "contact_email": "it@acme.example"})
    with old.write_engine.begin() as conn:
        conn.execute(text("INSERT INTO account_replica (account_id, revision, name, status, as_of, balance_ticks, "
                          "rate_ticks_per_s, payload, envelope, received_at) VALUES ('acc-1', 1, 'Acme', 'idle', "
                          "0, 0, 0, :payload, '{}', 0)"), {"payload": payload})
    old.close()
    new = services.unlock(home, PASSPHRASE, demo=True)
    with new.engine.connect() as conn:
        row = conn.execute(text("SELECT contact_email, name_key, search_key FROM account_replica")).one()
    assert tuple(row) == ("it@acme.example", "acme", "acme it@acme.example acc-1")
    new.close()
