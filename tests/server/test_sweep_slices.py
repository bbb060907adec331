"""A sweep pass with many stops, cut into slices by depletes_at, run side by side on PostgreSQL (issue 27).

Each slice is one transaction on its own connection: every due account is still charged to its second, noted and
mailed once (R10, R18, R25), whatever the slices, a slice that fails leaves the others' stops, and sweepers slicing
at once never deadlock (each locks in id order, as batches do). SLICE_MIN_STOPS is lowered so a handful of
accounts make several slices; the database is a real PostgreSQL.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, text

from license_server import models, sweep as sweep_mod

on_postgresql = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)

H, M, C = models.history.c, models.customer_mails.c, models.ledger.c


@pytest.fixture
def sliced(ctx, monkeypatch):
    """Three workers, a slice from two stops on."""
    monkeypatch.setattr(sweep_mod, "SLICE_MIN_STOPS", 2)
    ctx.settings.values["SWEEP_WORKERS"] = 3


def _due_accounts(api, clock, count: int) -> tuple[list[str], str, dict[str, int]]:
    """count accounts that have all run out at the clock's new second (each its own end), one still running."""
    due = [api.running_account(f"5.{n}", name=f"Shop {n}") for n in range(count)]
    running = api.running_account("50", name="Still running")
    ends = {account_id: api.account(account_id)["depletes_at"] for account_id in due}
    assert len(set(ends.values())) == count  # distinct seconds: the slices' bounds fall between them
    clock.set(max(ends.values()))
    return due, running, ends


def _stops(ctx) -> tuple[list[str], list[str], list[tuple[str, int]], int]:
    """Accounts noted stopped (R25), mailed stopped (R18), their final charges, and the transactions that wrote the
    history rows (PostgreSQL's xmin: one per slice)."""
    with ctx.engine.connect() as connection:
        noted = connection.execute(select(H.account_id).where(H.kind == "suspended")).scalars().all()
        mailed = connection.execute(select(M.account_id).where(M.kind == "stopped")).scalars().all()
        charged = [tuple(row) for row in connection.execute(select(C.account_id, C.period_end).where(
            C.kind == "charge", C.period_end.is_not(None), C.period_end == C.at))]
        writers = connection.execute(select(func.count(text("DISTINCT xmin::text"))).select_from(models.history)
                                     .where(H.kind == "suspended")).scalar_one()
    return noted, mailed, charged, writers


@on_postgresql
def test_a_pass_cut_into_slices_stops_each_due_account_once_at_its_second(api, clock, ctx, sliced):
    due, running, ends = _due_accounts(api, clock, 7)
    slices = sweep_mod._slices(ctx, clock(), 3)
    assert len(slices) == 3 and slices[0][0] is None and slices[-1][1] is None
    assert [low for low, _ in slices[1:]] == [high for _, high in slices[:-1]]  # contiguous: (low, high]
    report = api.sweep()
    assert report.suspended == 7
    noted, mailed, charged, writers = _stops(ctx)
    assert sorted(noted) == sorted(mailed) == sorted(due)  # R25, R18: each once
    assert sorted(charged) == sorted(ends.items())  # R10: each final charge once, to its own second
    assert writers == 3  # three transactions: the pass was cut, not run as one statement
    assert [api.account(account_id)["status"] for account_id in due + [running]] == ["suspended"] * 7 + ["active"]
    assert api.sweep().suspended == 0


@on_postgresql
def test_one_workers_setting_keeps_one_statement(api, clock, ctx, monkeypatch):
    monkeypatch.setattr(sweep_mod, "SLICE_MIN_STOPS", 2)
    ctx.settings.values["SWEEP_WORKERS"] = 1
    due, _, _ = _due_accounts(api, clock, 5)
    assert api.sweep().suspended == 5
    assert _stops(ctx)[3] == 1


@on_postgresql
def test_a_slice_that_fails_leaves_the_others_stops_and_the_next_pass_finishes(api, clock, ctx, sliced):
    """The database refuses to write one account (a trigger stands for any failure): its slice rolls back whole, the
    sweep raises, the other slices' stops stay; the next pass stops the rest, nothing twice."""
    due, _, ends = _due_accounts(api, clock, 6)
    refused = max(ends, key=ends.get)  # the last second: in the last slice
    with ctx.engine.begin() as connection:
        connection.exec_driver_sql(
            "CREATE FUNCTION refuse_one() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'refused for the test'; END $$")
        connection.exec_driver_sql(
            f"CREATE TRIGGER refuse_one BEFORE UPDATE ON accounts FOR EACH ROW WHEN (OLD.id = '{refused}') "
            "EXECUTE FUNCTION refuse_one()")
    with pytest.raises(Exception, match="refused for the test"):
        api.sweep()
    first, _, _, _ = _stops(ctx)
    assert refused not in first and 0 < len(first) < 6  # the failed slice wrote nothing, the others stayed
    with ctx.engine.connect() as connection:  # its row as it was: not suspended, no final charge
        assert connection.execute(select(models.accounts.c.suspended).where(
            models.accounts.c.id == refused)).scalar_one() is False
    with ctx.engine.begin() as connection:
        connection.exec_driver_sql("DROP TRIGGER refuse_one ON accounts")
    assert api.sweep().suspended == 6 - len(first)
    noted, mailed, charged, _ = _stops(ctx)
    assert sorted(noted) == sorted(mailed) == sorted(due)
    assert sorted(charged) == sorted(ends.items())


@on_postgresql
def test_sweepers_slicing_at_once_stop_each_account_once_without_deadlock(api, clock, ctx, sliced):
    """Four processes' sweepers at the same second, each cutting its pass in three: their slices lock overlapping
    sets, each in id order, so none waits in a cycle; each account stopped once (R18, R25)."""
    due, _, ends = _due_accounts(api, clock, 8)
    barrier = threading.Barrier(4)
    reports, errors = [], []

    def sweeper() -> None:
        barrier.wait()
        try:
            reports.append(sweep_mod.sweep(ctx))
        except Exception as exc:  # a deadlock would be raised here by PostgreSQL's detector
            errors.append(exc)

    threads = [threading.Thread(target=sweeper) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and sum(report.suspended for report in reports) == 8
    noted, mailed, charged, _ = _stops(ctx)
    assert sorted(noted) == sorted(mailed) == sorted(due)
    assert sorted(charged) == sorted(ends.items())


def test_sweep_workers_defaults_to_the_cores_up_to_four_and_refuses_what_is_not_a_count():
    import os

    from license_server.config import SettingsError, load_settings

    assert load_settings({}, {}).SWEEP_WORKERS == min(4, len(os.sched_getaffinity(0)))
    assert load_settings({}, {"LICENSE_SERVER_SWEEP_WORKERS": "1"}).SWEEP_WORKERS == 1
    with pytest.raises(SettingsError, match="LICENSE_SERVER_SWEEP_WORKERS must be a whole number, not 'two'"):
        load_settings({}, {"LICENSE_SERVER_SWEEP_WORKERS": "two"})
    with pytest.raises(SettingsError, match="SWEEP_WORKERS must not be negative"):
        load_settings({"SWEEP_WORKERS": -2}, {})
    for count in (0, 17):  # none at all, or more slices than the pool has connections to spare
        with pytest.raises(SettingsError, match=f"SWEEP_WORKERS must be 1 to 16 .*, not {count}"):
            load_settings({"SWEEP_WORKERS": count}, {})
    assert load_settings({"SWEEP_WORKERS": 16}, {}).SWEEP_WORKERS == 16
