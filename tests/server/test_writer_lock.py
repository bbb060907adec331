"""The SQLite writers' lock covers the transaction only (license_server/db.py, issue 27).

Single-op syncs from two gunicorn workers take turns on the writers' lock (WriterQueue): whatever a writer does
while holding it, the other worker waits for. The pool's checkout and return (its reset on return included) are
this process's bookkeeping, so writing() makes them outside the lock: checkout, lock, BEGIN IMMEDIATE … COMMIT,
unlock, return. A write that fails still rolls back, releases the lock and returns its connection.
"""

from __future__ import annotations

import contextlib

import pytest
from sqlalchemy import event

from license_server import db


@pytest.fixture
def engine(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'server.sqlite3'}")
    with db.writing(engine) as connection:
        db.Sql("CREATE TABLE t (n INTEGER NOT NULL)").run(connection)
    yield engine
    engine.dispose()


def _watch(engine, monkeypatch) -> list[str]:
    """What happens, in order: the pool's checkouts and checkins, the lock taken and released, BEGIN and COMMIT."""
    seen: list[str] = []
    event.listen(engine.pool, "checkout", lambda *_: seen.append("checkout"))
    event.listen(engine.pool, "checkin", lambda *_: seen.append("checkin"))
    queue = db._WRITER_QUEUES[engine]
    real_held = queue.held

    @contextlib.contextmanager
    def held():
        with real_held():
            seen.append("lock")
            try:
                yield
            finally:
                seen.append("unlock")

    monkeypatch.setattr(queue, "held", held)
    real_on_driver = db._on_driver

    def on_driver(engine_, call, sql):
        seen.append(sql)
        return real_on_driver(engine_, call, sql)

    monkeypatch.setattr(db, "_on_driver", on_driver)
    return seen


def test_the_pool_checkout_and_return_are_made_outside_the_writers_lock(engine, monkeypatch):
    seen = _watch(engine, monkeypatch)
    with db.writing(engine) as connection:
        seen.append("work")
        db.Sql("INSERT INTO t (n) VALUES (1)").run(connection)
    assert seen == ["checkout", "lock", "work", "COMMIT", "unlock", "checkin"]
    with db.reading(engine) as connection:
        assert db.Sql("SELECT n FROM t").run(connection).all() == [(1,)]


def test_a_failed_write_rolls_back_releases_the_lock_and_returns_its_connection(engine, monkeypatch):
    seen = _watch(engine, monkeypatch)
    with pytest.raises(RuntimeError, match="refused"):
        with db.writing(engine) as connection:
            db.Sql("INSERT INTO t (n) VALUES (2)").run(connection)
            raise RuntimeError("refused")
    assert seen == ["checkout", "lock", "ROLLBACK", "unlock", "checkin"]
    assert engine.pool.checkedout() == 0
    with db.writing(engine) as connection:  # the lock is free again: the next writer goes through at once
        db.Sql("INSERT INTO t (n) VALUES (3)").run(connection)
    with db.reading(engine) as connection:
        assert db.Sql("SELECT n FROM t").run(connection).all() == [(3,)]
