"""Engine and transactions: SQLite (WAL, BEGIN IMMEDIATE for writes) or PostgreSQL through psycopg 3."""

from __future__ import annotations

import contextlib
import functools
import fcntl
import os
import re
import threading
import weakref
from pathlib import Path
from typing import Iterator

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError


_WRITER_QUEUES: "weakref.WeakKeyDictionary[Engine, WriterQueue]" = weakref.WeakKeyDictionary()


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_private(database: Path) -> None:
    """The SQLite file holds token hashes and customer data: 0600 (its WAL and SHM copy its mode), made
    before SQLite would create it 0644 under the usual umask 022, and tightened when it exists already."""
    if not database.parent.exists():
        database.parent.mkdir(parents=True, mode=0o700)
    try:
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    for name in (database.name, database.name + "-wal", database.name + "-shm", database.name + "-journal"):
        try:
            os.chmod(database.with_name(name), 0o600)
        except FileNotFoundError:
            pass
        except OSError:  # not ours to change (a file another user owns): leave it as its owner set it
            pass


def make_engine(url: str) -> Engine:
    """An engine for url; SQLite files get WAL and serialized writers, PostgreSQL a modest pool."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            make_private(Path(parsed.database))
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               pool_size=20, max_overflow=20)
        _serialize_sqlite_writers(engine)
        if parsed.database and parsed.database != ":memory:":
            _WRITER_QUEUES[engine] = WriterQueue(parsed.database + ".write-lock")
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() != "psycopg":
        raise ValueError("use postgresql+psycopg://… (psycopg 3) for PostgreSQL")
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=False)


def _serialize_sqlite_writers(engine: Engine) -> None:
    """Take SQLite's write lock at BEGIN (IMMEDIATE), so concurrent writers queue instead of failing."""

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # writing() checkpoints after its lock is released (WriterQueue.checkpoint_due); SQLite's own checkpoint,
        # run inside a COMMIT with every other writer waiting, only when the WAL grows far past its usual size
        cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get("write", False)
        _BEGIN_IMMEDIATE.run(connection) if immediate else _BEGIN.run(connection)  # on the driver: every request


#: SQLite's automatic checkpoint runs inside the COMMIT that crosses this many WAL pages, with the writers' lock
#: held (its fsyncs stall every other writer: up to tens of milliseconds on a busy disk); its default is 1,000
WAL_AUTOCHECKPOINT_PAGES = 4000
#: writing() runs a passive checkpoint itself after this many of a process's commits, once the writers' lock is
#: released (others write meanwhile): about the default's 1,000 pages for single-op syncs from two workers
CHECKPOINT_EVERY_COMMITS = 64


class WriterQueue:
    """Queues SQLite writers of every thread and process on a blocking file lock.

    SQLite's own busy handler polls with growing sleeps, so under load (several gunicorn
    workers) writers wait far longer than the lock is held; a kernel lock hands over at once.
    """

    def __init__(self, path: str):
        self.path = path
        self._thread_lock = threading.Lock()
        self._fd: int | None = None
        self._pid = 0
        self._commits = 0
        self._checkpointer: Checkpointer | None = None

    def checkpointer(self, engine: Engine) -> "Checkpointer":
        """This process's checkpointing thread (a forked worker starts its own)."""
        with self._thread_lock:
            if self._checkpointer is None or self._checkpointer.pid != os.getpid():
                self._checkpointer = Checkpointer(engine)
            return self._checkpointer

    def checkpoint_due(self) -> bool:
        """Count a commit of this process; true every CHECKPOINT_EVERY_COMMITS."""
        with self._thread_lock:
            self._commits += 1
            if self._commits < CHECKPOINT_EVERY_COMMITS:
                return False
            self._commits = 0
            return True

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        with self._thread_lock:  # flock excludes open files, not threads: one writer per process first
            if self._fd is None or self._pid != os.getpid():  # a forked worker needs its own open file
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                self._pid = os.getpid()
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)


class Transaction:
    """What writing() and reading() yield: a pooled driver connection in one transaction, begun and ended on the
    driver. The hot path runs its statements through Sql on the driver's cursor; anything else (`execute` of a
    Core statement, and every other Connection method) goes to a SQLAlchemy Connection made on first need over
    the same driver connection, inside the same transaction (it never begins, commits or closes it).

    SQLAlchemy's Connection, its transaction object and their events cost more than the BEGIN and COMMIT
    themselves (about 0.1 ms a request on 2 cores: issue 27); its result objects and errors are the same here."""

    __slots__ = ("engine", "dialect", "connection", "driver", "_core")

    def __init__(self, engine: Engine, connection) -> None:
        self.engine, self.dialect, self.connection = engine, engine.dialect, connection
        self.driver = connection.driver_connection  # Sql.run's cursor, without two pool look-ups per statement
        self._core: Connection | None = None

    @property
    def core(self) -> Connection:
        if self._core is None:
            self._core = Connection(self.engine, self.connection, _allow_autobegin=False)
        return self._core

    def execute(self, statement, parameters=None, **kwargs):
        return self.core.execute(statement, parameters, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self.core, name)


@contextlib.contextmanager
def _transaction(engine: Engine, begin: "Sql | None", pooled=None) -> Iterator[Connection]:
    """A transaction on a connection from the engine's pool (or on pooled, which the caller returns to it):
    committed on success, rolled back on any error."""
    own = pooled is None
    if own:
        pooled = engine.raw_connection()
    try:
        transaction = Transaction(engine, pooled)
        if begin is not None:  # SQLite (isolation_level None: we begin); psycopg begins at the first statement
            begin.run(transaction)
        try:
            yield transaction  # type: ignore[misc]  # a Connection as far as callers can tell
        except BaseException:
            _on_driver(engine, pooled.rollback, "ROLLBACK")
            raise
        _on_driver(engine, pooled.commit, "COMMIT")
    finally:
        if own:
            pooled.close()  # back to the pool


def _on_driver(engine: Engine, call, sql: str) -> None:
    """call() with the driver's errors raised as SQLAlchemy's (IntegrityError, OperationalError…), as Sql.run does."""
    dialect = engine.dialect
    try:
        call()
    except dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(sql, None, exc, dialect.loaded_dbapi.Error) from exc


@contextlib.contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """One write transaction: committed on success, rolled back on any error (SQLite: BEGIN IMMEDIATE, writers
    queued on the WriterQueue)."""
    queue = _WRITER_QUEUES.get(engine)
    if queue is None:
        with _transaction(engine, _BEGIN_IMMEDIATE if is_sqlite(engine) else None) as connection:
            yield connection
        return
    # the pool's checkout and return (its reset included) are made outside the writers' lock: the other worker
    # waits for the lock, not for this process's bookkeeping (issue 27, docs/benchmarks.md §20). A thread waiting
    # for the lock holds a connection meanwhile: the pool's 40 per process are far more than a worker's threads.
    pooled = engine.raw_connection()
    try:
        with queue.held(), _transaction(engine, _BEGIN_IMMEDIATE, pooled) as connection:
            yield connection
    finally:
        pooled.close()
    if queue.checkpoint_due():
        queue.checkpointer(engine).wake()


class Checkpointer:
    """Runs checkpoints in a thread of its own, so the worker that made the 64th commit answers its request and
    takes the next one while SQLite copies pages and waits for the disk (its fsyncs release the interpreter):
    inline, a gunicorn worker stood idle for the fsyncs, about a tenth of its time under single-op syncs (issue
    27). Wakes coalesce: a checkpoint asked for while one runs is one more pass, not a queue of them."""

    def __init__(self, engine: Engine) -> None:
        self.pid = os.getpid()
        self._engine = weakref.ref(engine)
        self._wake = threading.Event()
        weakref.finalize(engine, self._wake.set)  # an engine gone (a test's app) ends its thread
        threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True).start()

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            engine = self._engine()
            if engine is None:  # the engine is gone (a test's app): so is the work
                return
            checkpoint(engine)
            del engine


def checkpoint(engine: Engine) -> None:
    """Copy the WAL's committed pages into the SQLite file (PASSIVE: waits for no reader or writer, skips what they
    still use): what SQLite's automatic checkpoint does, here outside the writers' lock. Its failure fails no
    request (the next one, or SQLite's own at WAL_AUTOCHECKPOINT_PAGES, does the work)."""
    pooled = engine.raw_connection()
    try:
        pooled.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    except engine.dialect.loaded_dbapi.Error:
        pass
    finally:
        pooled.close()


@contextlib.contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """One read transaction (a consistent snapshot on both databases)."""
    with _transaction(engine, _BEGIN if is_sqlite(engine) else None) as connection:
        yield connection


_NAMED = re.compile(r"(?<!:):(\w+)")


class Rows:
    """What a plain statement answered: rows as tuples, or as dicts by column name."""

    def __init__(self, cursor):
        self._cursor = cursor

    def __iter__(self):
        return iter(self._cursor.fetchall())

    def all(self) -> list:
        return self._cursor.fetchall()

    def first(self):
        return self._cursor.fetchone()

    @property
    def rowcount(self) -> int:
        """Rows a single INSERT, UPDATE or DELETE changed."""
        return self._cursor.rowcount

    def scalar(self):
        row = self._cursor.fetchone()
        return None if row is None else row[0]

    def scalar_one(self):
        rows = self._cursor.fetchall()
        if len(rows) != 1:
            raise LookupError(f"expected one row, got {len(rows)}")
        return rows[0][0]

    def mappings(self) -> list[dict]:
        keys = [column[0] for column in self._cursor.description]
        return [dict(zip(keys, row)) for row in self._cursor.fetchall()]


class Sql:
    """One hot-path statement as plain SQL with :name parameters, run straight on the driver's
    cursor in the caller's transaction: no compile, cache-key or result-proxy work per execution
    (a /sync batch runs thousands). Driver errors come out as SQLAlchemy's (IntegrityError, …)."""

    def __init__(self, text: str):
        self.named = " ".join(text.split())
        self.pyformat = _NAMED.sub(r"%(\1)s", self.named)

    @staticmethod
    @functools.lru_cache(maxsize=512)
    def of(text: str) -> "Sql":
        """The statement for a text built per call (an IN list of some length, a savepoint), prepared once."""
        return Sql(text)

    def run(self, connection: Connection, params=None) -> Rows:
        dialect = connection.dialect
        sql = self.pyformat if dialect.paramstyle == "pyformat" else self.named
        driver = connection.driver if type(connection) is Transaction else connection.connection.driver_connection
        cursor = driver.cursor()
        try:
            if isinstance(params, list):
                cursor.executemany(sql, params)
            else:
                cursor.execute(sql, params if params is not None else {})
        except dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(sql, params, exc, dialect.loaded_dbapi.Error) from exc
        return Rows(cursor)


_BEGIN, _BEGIN_IMMEDIATE = Sql("BEGIN"), Sql("BEGIN IMMEDIATE")


def in_list(name: str, values) -> tuple[str, dict]:
    """Placeholders and parameters for `IN (...)` over values (both drivers)."""
    params = {f"{name}{i}": value for i, value in enumerate(values)}
    return ", ".join(f":{key}" for key in params), params


@contextlib.contextmanager
def savepoint(connection: Connection, name: str = "op") -> Iterator[None]:
    """A savepoint as plain SQL (cheaper than SQLAlchemy's nested transaction on the hot path);
    an exception rolls back to it and propagates."""
    Sql.of(f"SAVEPOINT {name}").run(connection)
    try:
        yield
    except BaseException:
        Sql.of(f"ROLLBACK TO SAVEPOINT {name}").run(connection)
        Sql.of(f"RELEASE SAVEPOINT {name}").run(connection)
        raise
    Sql.of(f"RELEASE SAVEPOINT {name}").run(connection)
