"""Migration 0014 (issue 27, the sweep): on PostgreSQL the licenses' primary key carries each line's values
(`INCLUDE (qty, monthly_milli, price_version)`) and stays the same key: one line per (account, PBX, ref), the lines
kept; downgrading takes the values out again. SQLite (no INCLUDE) keeps its table as it was."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from license_server import migrations

ACCOUNT = "6c1d2f3e-0000-4000-8000-000000000014"
LINE = ("INSERT INTO licenses (account_id, pbx_id, ref, qty, monthly_milli, price_version) "
        "VALUES (:account, 'pbx-1', '01-00010-001', :qty, 500, 'v1')")


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
    else:
        url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    engine = create_engine(url)
    yield engine
    engine.dispose()


def _key(engine) -> tuple[list[str], str | None]:
    """The licenses' primary key columns, and on PostgreSQL its index's definition (None on SQLite)."""
    columns = inspect(engine).get_pk_constraint("licenses")["constrained_columns"]
    if engine.dialect.name == "sqlite":
        return columns, None
    with engine.connect() as connection:
        definition = connection.execute(text(
            "SELECT pg_get_indexdef(c.conindid) FROM pg_constraint c "
            "WHERE c.conrelid = 'licenses'::regclass AND c.contype = 'p' AND c.conname = 'licenses_pkey'")).scalar_one()
    return columns, definition


def _refuses_a_second_line(engine) -> None:
    with pytest.raises(IntegrityError, match="licenses_pkey|UNIQUE"):
        with engine.begin() as connection:
            connection.execute(text(LINE), {"account": ACCOUNT, "qty": 9})


def test_the_licenses_key_carries_the_lines_values_and_stays_the_same_key(engine):
    migrations.upgrade(engine, "0013")
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO partners (name, created_at) VALUES ('Acme', 1)"))
        connection.execute(text(
            "INSERT INTO accounts (id, partner, name, contact_email, cloud_contract, language, revision, as_of, "
            "balance_ticks, rate_ticks_per_s, suspended, deleted, last_activity_at, created_at) VALUES "
            f"('{ACCOUNT}', 'Acme', 'Émile', 'e@example.com', FALSE, 'fr', 1, 0, 0, 0, FALSE, FALSE, 0, 1)"))
        connection.execute(text(
            "INSERT INTO pbxs (account_id, pbx_id, name, serial, platform, firmware, mode, revision) "
            f"VALUES ('{ACCOUNT}', 'pbx-1', 'PBX', 'SN1', 'vmware', '14r1', 'rental', 1)"))
        connection.execute(text(LINE), {"account": ACCOUNT, "qty": 3})
    key = ["account_id", "pbx_id", "ref"]
    columns, before = _key(engine)
    assert columns == key and (before is None or "INCLUDE" not in before)

    migrations.upgrade(engine)

    columns, after = _key(engine)
    assert columns == key
    if engine.dialect.name == "postgresql":
        assert after.startswith("CREATE UNIQUE INDEX licenses_pkey ON public.licenses USING btree "
                                "(account_id, pbx_id, ref) INCLUDE (qty, monthly_milli, price_version)")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT account_id, qty, monthly_milli, price_version FROM licenses")).all() \
            == [(ACCOUNT, 3, 500, "v1")]
    _refuses_a_second_line(engine)

    command.downgrade(migrations.alembic_config(engine), "0013")
    columns, again = _key(engine)
    assert columns == key and again == before
    _refuses_a_second_line(engine)
