"""Migration 0013 (issue 27, the sweep): the ledger loses its foreign key to accounts and nothing else, on SQLite
(where the table is copied) and PostgreSQL alike: its lines, its CHECK (R25, ticks never negative) and its index
stay; downgrading puts the key back."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.exc import IntegrityError

from license_server import migrations

ACCOUNT = "6c1d2f3e-0000-4000-8000-000000000013"
LINE = ("INSERT INTO ledger (account_id, kind, at, ticks, qty, seconds, rate) "
        "VALUES (:account, 'credit', 5, :ticks, 0, 0, 0)")


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
    else:
        url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    engine = create_engine(url)
    if request.param == "sqlite":  # as the server connects (license_server/db.py): SQLite checks keys only when asked
        event.listen(engine, "connect", lambda dbapi, _: dbapi.execute("PRAGMA foreign_keys=ON"))
    yield engine
    engine.dispose()


def _foreign_keys(engine) -> list:
    return [(key["constrained_columns"], key["referred_table"]) for key in inspect(engine).get_foreign_keys("ledger")]


def test_the_ledger_keeps_its_lines_check_and_index_without_the_key_to_accounts(engine):
    migrations.upgrade(engine, "0012")
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO partners (name, created_at) VALUES ('Acme', 1)"))
        connection.execute(text(
            "INSERT INTO accounts (id, partner, name, contact_email, cloud_contract, language, revision, as_of, "
            "balance_ticks, rate_ticks_per_s, suspended, deleted, last_activity_at, created_at) VALUES "
            f"('{ACCOUNT}', 'Acme', 'Émile', 'e@example.com', FALSE, 'fr', 1, 0, 0, 0, FALSE, FALSE, 0, 1)"))
        connection.execute(text(LINE), {"account": ACCOUNT, "ticks": 42})
    assert _foreign_keys(engine) == [(["account_id"], "accounts")]

    migrations.upgrade(engine)

    assert _foreign_keys(engine) == []
    assert [index["column_names"] for index in inspect(engine).get_indexes("ledger")] == [["account_id", "id"]]
    with engine.begin() as connection:
        assert connection.execute(text("SELECT id, account_id, ticks, auto FROM ledger")).all() == [
            (1, ACCOUNT, 42, False)]
        connection.execute(text(LINE), {"account": ACCOUNT, "ticks": 7})  # numbering goes on after the copy
        assert connection.execute(text("SELECT max(id) FROM ledger")).scalar() == 2
    with pytest.raises(IntegrityError, match="ticks_never_negative|CHECK"):
        with engine.begin() as connection:
            connection.execute(text(LINE), {"account": ACCOUNT, "ticks": -1})

    command.downgrade(migrations.alembic_config(engine), "0012")
    assert _foreign_keys(engine) == [(["account_id"], "accounts")]
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM ledger")).scalar() == 2
