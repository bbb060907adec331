"""On PostgreSQL a stop's final charge lines are read from the licenses' key alone (migration 0014, issue 27): the
key's index carries each line's qty, monthly_milli and price_version, so the sweep's statement probes it with an
index-only scan and never reads the licenses table; the lines it writes are still exactly those of
rental.billing.settle, to the tick and the second (R10, R18, R25)."""

from __future__ import annotations

import pytest
from sqlalchemy import and_, false
from sqlalchemy.dialects import postgresql

from license_server import batch, models, store, sweep as sweep_mod
from rental import billing

from .helpers import DAY, IP_PORT, UC

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
A = models.accounts.c


def _planner_kept_on_indexes(ctx) -> None:
    """The licenses vacuumed (every page all-visible, as a server's autovacuum leaves them) and, for every new
    connection, no sequential or bitmap scan: with a handful of rows the planner would otherwise read the tables
    whole, and the path a million accounts take would not be the one tested."""
    with ctx.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        # INDEX_CLEANUP ON: with one dead line (the quantity changed) a plain VACUUM skips the index pass and leaves
        # the page not all-visible, which would send the scan to the table for that page
        # the test cluster commits asynchronously (tests/support/postgres.py): VACUUM marks a page all-visible only
        # once the commits of its rows are flushed, which a checkpoint does now rather than the WAL writer later
        connection.exec_driver_sql("CHECKPOINT")
        connection.exec_driver_sql("VACUUM (INDEX_CLEANUP ON, ANALYZE) licenses")
        database = connection.exec_driver_sql("SELECT current_database()").scalar_one()
        for setting in ("enable_seqscan", "enable_bitmapscan"):
            connection.exec_driver_sql(f'ALTER DATABASE "{database}" SET {setting} = off')
    ctx.engine.dispose()


def test_a_stops_charge_lines_come_from_the_licenses_key_alone_exact_to_the_tick(api, clock, ctx):
    account_id = api.running_account("30.777", items={IP_PORT: 7, UC: 3})  # an odd balance: a remainder of ticks
    clock.advance(DAY)
    assert api.set_licenses(account_id, {IP_PORT: 7, UC: 4})["status"] == "applied"
    other = api.running_account("50", name="Still running", items={UC: 2})
    with ctx.engine.connect() as connection:
        before = batch.record_state(store.load(connection, account_id)).billing
    end = before.depletes_at
    decided = billing.settle(before, end)
    written_before = len(api.ledger_rows(account_id))
    clock.set(end)
    _planner_kept_on_indexes(ctx)

    with ctx.engine.connect() as connection:  # the very statement a slice runs, executed and rolled back
        statement = sweep_mod._stop_statement(connection, end, [and_(A.depletes_at <= end, A.suspended == false())])
        sql = str(statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
        with connection.begin() as transaction:
            plan = "\n".join(connection.exec_driver_sql(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) {sql}").scalars())
            transaction.rollback()
    probe = plan.split("Index Only Scan using licenses_pkey on licenses", 1)
    assert len(probe) == 2, plan  # the rented lines from the key's index, not an Index Scan that reads the table
    assert "Heap Fetches: 0" in probe[1].split("->")[0], plan  # and not one page of the table read for them

    assert api.sweep().suspended == 1
    keys = ("kind", "at", "ticks", "pbx_id", "ref", "qty", "period_start", "period_end", "seconds", "rate",
            "price_version")
    swept = [{key: row[key] for key in keys} for row in api.ledger_rows(account_id)[written_before:]]
    assert swept == [{key: store.ledger_row(account_id, entry)[key] for key in keys} for entry in decided.entries]
    assert [row["qty"] for row in swept] == [7, 4] and all(row["ticks"] > 0 for row in swept)
    assert [row["kind"] for row in api.ledger_rows(other)] == ["credit"]  # still running: nothing charged
