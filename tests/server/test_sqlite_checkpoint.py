"""SQLite's checkpoints run off the request's path (license_server/db.py, issue 27).

Every CHECKPOINT_EVERY_COMMITS commits of a process, a passive checkpoint copies the WAL into the database file.
It used to run inline, after the writers' lock was released, so the gunicorn worker that made the 64th commit
stood idle while SQLite waited for the disk. Now a thread of the process runs it: the commit returns at once, the
checkpoint still happens, and what was committed is all there.
"""

from __future__ import annotations

import threading

from license_server import db


def _commits(engine, count: int, start: int = 0) -> None:
    for n in range(start, start + count):
        with db.writing(engine) as connection:
            db.Sql("INSERT INTO t (n) VALUES (:n)").run(connection, {"n": n})


def test_the_checkpoint_runs_in_a_thread_of_its_own_and_the_commit_does_not_wait_for_it(tmp_path, monkeypatch):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'server.sqlite3'}")
    with db.writing(engine) as connection:
        db.Sql("CREATE TABLE t (n INTEGER NOT NULL)").run(connection)
    file_size = (tmp_path / "server.sqlite3").stat().st_size  # in WAL mode the commits stay in the WAL till then
    started, release, done = threading.Event(), threading.Event(), threading.Event()
    seen: list[int] = []
    real = db.checkpoint

    def held_checkpoint(engine_):
        seen.append(threading.get_ident())
        started.set()
        assert release.wait(30), "the test never released the checkpoint"
        real(engine_)
        done.set()

    monkeypatch.setattr(db, "checkpoint", held_checkpoint)
    _commits(engine, db.CHECKPOINT_EVERY_COMMITS + 1)  # the 64th commit (counting the CREATE) asks for one
    assert started.wait(30), "no checkpoint was run after CHECKPOINT_EVERY_COMMITS commits"
    # the checkpoint is held, yet this thread commits on: it never waits for it
    _commits(engine, 5, start=1000)
    assert seen and seen[0] != threading.get_ident()
    release.set()
    assert done.wait(30)
    # the checkpoint did its work: the committed pages were copied from the WAL into the file
    assert (tmp_path / "server.sqlite3").stat().st_size > file_size
    with db.reading(engine) as connection:
        assert db.Sql("SELECT count(*) FROM t").run(connection).scalar() == db.CHECKPOINT_EVERY_COMMITS + 6
    engine.dispose()


def test_a_checkpoint_asked_for_while_one_runs_is_not_lost(tmp_path, monkeypatch):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'server.sqlite3'}")
    with db.writing(engine) as connection:
        db.Sql("CREATE TABLE t (n INTEGER NOT NULL)").run(connection)
    entered, release = threading.Event(), threading.Event()
    passes: list[int] = []

    def slow_checkpoint(engine_):
        passes.append(len(passes) + 1)
        entered.set()
        assert release.wait(30)

    monkeypatch.setattr(db, "checkpoint", slow_checkpoint)
    _commits(engine, db.CHECKPOINT_EVERY_COMMITS - 1)
    assert entered.wait(30)
    entered.clear()
    # more checkpoints asked for while the first is held: they are one more pass once it ends, not dropped
    _commits(engine, 3 * db.CHECKPOINT_EVERY_COMMITS, start=1000)
    assert passes == [1]
    release.set()
    assert entered.wait(30), "the checkpoints asked for meanwhile were dropped"
    assert passes[:2] == [1, 2]
    engine.dispose()
