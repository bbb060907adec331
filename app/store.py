"""The encrypted store (DESIGN §6): a SQLCipher file keyed once from the passphrase, and its units of work.

Every unit of work is one SQLite transaction from its first statement (docs/reliability.md, "Units of work"):
the driver's own transaction handling is off (it began one only before a write, so each read of a unit saw the
store as it was at that read) and the engine's ``begin`` event emits ``BEGIN`` for a unit that reads and
``BEGIN IMMEDIATE`` for a unit that writes (``store.unit_of_work(write=True)``, ``uow.writing()``): writers take
the write lock at their first statement and queue behind one another (busy timeout), readers never wait (WAL).

The passphrase is stretched with scrypt (salt and parameters in a small clear header next to
the file) into a 256-bit raw key handed to SQLCipher as ``x'<hex>'``, so opening a pooled
connection costs no key derivation. A wrong passphrase is found by a read-only probe before
anything else touches the file, so it writes nothing.
"""

from __future__ import annotations

import collections
import errno
import json
import os
import secrets
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import quote

from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from . import paths, private
from .history import Recorded
from .outbox import Outbox
from .projection import Accounts
from .replica import Replica
from .settings import Settings
from .store_base import (  # noqa: F401  (the store's face: its errors and checks are app/store_base.py's)
    MIN_PASSPHRASE,
    BackupDamaged,
    DiskFull,
    HeaderDamaged,
    ReadOnlyFolder,
    StoreError,
    StoreExists,
    StoreBusy,
    StoreMissing,
    WeakPassphrase,
    WRITES,
    WrongPassphrase,
    check_new_passphrase,
    is_initialised,
    trusted_keyring,
)

HEADER_FORMAT = "rentdesk-store/1"
#: scrypt cost: ~60-100 ms and 32 MiB once per unlock, never per connection (NOTES, SQLCipher)
DEFAULT_KDF = {"name": "scrypt", "n": 2**15, "r": 8, "p": 1}
#: A header is a few lines of JSON; anything longer is not one.
MAX_HEADER_BYTES = 4096
#: What a header may ask of scrypt (issue 23): n a power of two, and at most 8 times the default's work
#: (n·r·p = 2^21, about a second) and 256 MiB of memory (128·n·r), so a crafted header costs little.
KDF_BOUNDS = {"n": (2**10, 2**20), "r": (1, 32), "p": (1, 16)}
MAX_KDF_WORK = 2**21
MAX_KDF_MEMORY = 2**28


class HeaderInvalid(ValueError):
    """A header (of a store or a backup) that RentDesk did not write, or asks scrypt for too much."""


def check_kdf(kdf: dict) -> None:
    """HeaderInvalid unless n, r and p are whole numbers within KDF_BOUNDS, n a power of two, and the work and
    memory they ask stay under MAX_KDF_WORK and MAX_KDF_MEMORY: checked before scrypt ever runs."""
    for name, (low, high) in KDF_BOUNDS.items():
        value = kdf.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise HeaderInvalid(f"scrypt {name} out of bounds")
    n, r, p = kdf["n"], kdf["r"], kdf["p"]
    if n & (n - 1):
        raise HeaderInvalid("scrypt n is not a power of two")
    if n * r * p > MAX_KDF_WORK or 128 * n * r > MAX_KDF_MEMORY:
        raise HeaderInvalid("scrypt asks for too much work or memory")


def _nearly_full(home: Path, margin: int = 1 << 20) -> bool:
    """True when the disk of home (or of its nearest existing parent) has less than margin bytes free."""
    folder = Path(home)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        stats = os.statvfs(folder)
    except OSError:
        return False
    return stats.f_bavail * stats.f_frsize < margin


def disk_problem(exc: BaseException, home: Path) -> StoreError | None:
    """A full disk or a read-only folder behind exc, told as what the technician can do; None for anything else."""
    code = getattr(exc, "errno", None)
    text = str(getattr(exc, "orig", None) or exc).lower()
    # SQLite reports a WAL index it cannot grow as a mere "disk I/O error": look at the disk itself.
    if code == errno.ENOSPC or "disk is full" in text or ("disk i/o error" in text and _nearly_full(home)):
        return DiskFull("store-disk-full", home=home)
    if code == errno.EROFS or "readonly database" in text or "read-only file system" in text:
        return ReadOnlyFolder("store-read-only", home=home)
    return None


@dataclass(frozen=True)
class Header:
    """The clear header: which KDF, with which salt. It holds no secret."""

    salt: bytes
    kdf: dict

    def to_json(self) -> str:
        return json.dumps({"format": HEADER_FORMAT, "kdf": self.kdf, "salt": self.salt.hex()}, indent=2)

    @classmethod
    def fresh(cls, kdf: dict | None = None) -> "Header":
        kdf = dict(kdf or DEFAULT_KDF)
        if kdf.get("name", "scrypt") != "scrypt":
            raise ValueError("the store's key derivation is scrypt")
        check_kdf(kdf)  # what this writes, a later unlock must accept
        return cls(salt=secrets.token_bytes(16),
                   kdf={"name": "scrypt", "n": kdf["n"], "r": kdf["r"], "p": kdf["p"]})

    @classmethod
    def read(cls, path: Path) -> "Header":
        """The header at path, bounded before use (issue 23): a crafted header cannot make unlock or a restore
        run scrypt for minutes or allocate gigabytes; StoreError("damaged") when it is not one RentDesk writes."""
        try:
            with open(path, "rb") as file:
                raw = file.read(MAX_HEADER_BYTES + 1)
        except FileNotFoundError:
            raise StoreMissing("store-no-header", path=path) from None
        try:
            return cls.parse(raw)
        except HeaderInvalid:
            raise HeaderDamaged("store-header-damaged", path=path) from None

    @classmethod
    def parse(cls, raw: bytes) -> "Header":
        """A header from its bytes; HeaderInvalid unless every field is one RentDesk writes, within KDF_BOUNDS."""
        if len(raw) > MAX_HEADER_BYTES:
            raise HeaderInvalid("too long")
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise HeaderInvalid("not JSON") from None
        if not isinstance(data, dict) or data.get("format") != HEADER_FORMAT:
            raise HeaderInvalid("unknown format")
        kdf, salt = data.get("kdf"), data.get("salt")
        if not isinstance(kdf, dict) or kdf.get("name") != "scrypt" or set(kdf) != {"name", "n", "r", "p"}:
            raise HeaderInvalid("unknown key derivation")
        check_kdf(kdf)
        if not isinstance(salt, str) or not 32 <= len(salt) <= 128 or len(salt) % 2:
            raise HeaderInvalid("bad salt")
        try:
            salt_bytes = bytes.fromhex(salt)
        except ValueError:
            raise HeaderInvalid("bad salt") from None
        return cls(salt=salt_bytes, kdf={"name": "scrypt", "n": kdf["n"], "r": kdf["r"], "p": kdf["p"]})

    def derive(self, passphrase: str) -> bytes:
        """The 32-byte raw SQLCipher key for passphrase (the one slow step, done once per unlock)."""
        if not isinstance(passphrase, str):
            raise TypeError("a passphrase is text")
        return Scrypt(salt=self.salt, length=32, n=self.kdf["n"], r=self.kdf["r"], p=self.kdf["p"]).derive(
            passphrase.encode("utf-8"))


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with private.open_new(tmp, "w", encoding="utf-8") as file:  # 0600 from its first byte
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    os.replace(tmp, path)


def _raw_key_literal(key: bytes) -> str:
    return f"x'{key.hex()}'"


#: The execution option that marks a reading unit's connection (checked for writes under CHECK_WRITES_ENV)
READS = "rentdesk_reads"
#: Set on a reading unit's connection while commit_if_possible keeps what the read noted (a write allowed there)
_NOTING = "rentdesk_noting"
#: Seconds a writer waits for its turn (WritersQueue), and the driver's busy timeout (another process). The longest
#: write transaction measured (a 1,000-op sync's units, docs/reliability.md) held the lock 0.16 s.
BUSY_TIMEOUT_S = 30
#: Tests set this environment variable: a unit of work not declared as a writer that writes then fails at once
#: (UndeclaredWrite) instead of upgrading its read transaction, which fails only when another writer came between.
#: (The engine's own connections, used by migrations and tests, are not units and are not checked.)
CHECK_WRITES_ENV = "RENTDESK_CHECK_WRITES"
_DML = ("INSERT", "UPDATE", "DELETE", "REPLAC")


class UndeclaredWrite(RuntimeError):
    """A unit of work opened for reading wrote (a programming error: open it with write=True or uow.writing())."""


class WritersQueue:
    """The store's writers in this process, one at a time, first come first served.

    SQLite's own wait for the write lock (the busy timeout) polls in growing sleeps (1 ms ... 100 ms) and serves
    nobody in order: a technician's change waiting behind a sync that stores one account's ledger after another
    slept through the short gaps between them (measured: 0.33 s behind a 1,000-op sync; a longer sync could hold it
    off longer, up to the busy timeout's 30 s). Here a writing unit takes its turn just before its BEGIN IMMEDIATE,
    after the writers already waiting, and the turn passes the moment the holder's connection is returned to the
    pool (after its COMMIT or ROLLBACK). The busy timeout stays for another process (none, while the app holds its
    single-instance lock)."""

    def __init__(self):
        self._changed = threading.Condition()
        self._waiting: collections.deque = collections.deque()
        self._holder = None  # the holding connection's record_info (the pool's record of it, kept for its life)
        self._holder_thread: int | None = None

    @property
    def waiting(self) -> int:
        """Writers waiting for their turn now (tests wait on this rather than on time: wait_for_waiters)."""
        with self._changed:
            return len(self._waiting)

    def wait_for_waiters(self, count: int, timeout: float) -> bool:
        """True once count writers wait for their turn (an event to wait on, not a delay)."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self._waiting) >= count, timeout)

    def take(self, holder, timeout: float) -> None:
        """Wait for this connection's turn (StoreBusy after timeout seconds, nothing taken)."""
        with self._changed:
            if self._holder is not None and self._holder_thread == threading.get_ident():
                raise RuntimeError("a unit of work that writes was opened inside another one of the same thread: "
                                   "it would wait for itself")
            turn = object()
            self._waiting.append(turn)
            self._changed.notify_all()
            served = False
            try:
                served = self._changed.wait_for(lambda: self._holder is None and self._waiting[0] is turn, timeout)
            finally:
                self._waiting.remove(turn)
                self._changed.notify_all()
            if not served:
                raise StoreBusy()
            self._holder, self._holder_thread = holder, threading.get_ident()

    def give_back(self, holder) -> None:
        """The connection is back in the pool: the next writer's turn (nothing when it did not hold it)."""
        with self._changed:
            if self._holder is holder:
                self._holder, self._holder_thread = None, None
                self._changed.notify_all()


@contextmanager
def keyed_connection(db_path: Path, key: bytes):
    """A bare SQLCipher connection to db_path with the raw key applied, closed on exit: for checks that read a
    file before (or without) opening it as a store. A wrong key fails at the first statement, not here."""
    import sqlcipher3

    conn = sqlcipher3.connect(str(db_path))
    try:
        conn.execute("PRAGMA cipher_log_level=NONE")
        conn.execute(f'PRAGMA key="{_raw_key_literal(key)}"')
        yield conn
    finally:
        conn.close()


def _probe(db_path: Path, key: bytes) -> bool:
    """True when key opens the file; a read-only check that writes nothing on failure."""
    import sqlcipher3

    with keyed_connection(db_path, key) as conn:
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchall()
            return True
        except sqlcipher3.DatabaseError:
            return False


def _make_engine(db_path: Path, key: bytes | None) -> Engine:
    # key None: a plain SQLite file, only for bench/ui.py's encrypted-over-plain figure (never the app)
    if key is None:
        url = f"sqlite:///{db_path}"
    else:
        url = f"sqlite+pysqlcipher://:{quote(_raw_key_literal(key), safe='')}@/{db_path}"
    engine = create_engine(
        url,
        poolclass=QueuePool,
        pool_size=4,
        max_overflow=4,
        # timeout: the busy timeout, how long a writer waits for another writer's lock (BUSY_TIMEOUT_S)
        connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_S},
        # a failing statement's error text (logged by the 500 page's handler, to a terminal or the journal) would
        # quote its values: the technician's token, an activation key, customers' names, all kept encrypted here
        hide_parameters=True,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # runs after the dialect applied the key
        # The driver's legacy transaction handling off: it would BEGIN only before a write, so a unit's reads
        # before it would each see another state of the store; _on_begin emits BEGIN itself (SQLAlchemy's SQLite
        # dialect documentation, "Serializable isolation / Savepoints / Transactional DDL").
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        if key is not None:
            cursor.execute("PRAGMA cipher_log_level=NONE")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable at checkpoint, never corrupt
        cursor.close()

    writers = engine.rentdesk_writers = WritersQueue()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # A writing unit takes the write lock now, after the writers before it (WritersQueue): it then reads what
        # they committed. A deferred BEGIN that read and then wrote would instead fail at once
        # (SQLITE_BUSY_SNAPSHOT) whenever another writer committed between its first read and its first write.
        if conn.get_execution_options().get(WRITES):
            writers.take(conn.connection.record_info, BUSY_TIMEOUT_S)
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # the turn is given back when the connection is (checkin)
        else:
            conn.exec_driver_sql("BEGIN")

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn, record):  # after its COMMIT or ROLLBACK, or its invalidation
        writers.give_back(record.record_info)

    if os.environ.get(CHECK_WRITES_ENV) == "1":
        @event.listens_for(engine, "before_cursor_execute")
        def _check_declared(conn, _cursor, statement, _parameters, _context, _executemany):
            if statement.lstrip()[:6].upper() in _DML and conn.get_execution_options().get(READS) \
                    and not conn.info.get(_NOTING):
                raise UndeclaredWrite(f"a unit of work opened for reading wrote: {statement.split('(')[0][:60]}")

    return engine


class UnitOfWork:
    """One transaction on the store, from its first statement, handing out its repositories; ``with uow:`` opens it
    for reading (one snapshot, never waits), ``with uow.writing():`` (or ``store.unit_of_work(write=True)``) for a
    unit that writes (the write lock from its first statement); commit() keeps it, leaving without commit undoes it.
    The use cases work through the repositories only, never with SQL:

    - ``accounts``: the accounts as this laptop sees them (verified snapshots with the queued ops projected);
    - ``outbox``: the queued ops and the server's verified answers to them;
    - ``replica``: the server's signed documents held (snapshots, price lists, terms, ledgers, refusals, R6);
    - ``history``: the events the server recorded (R25);
    - ``settings``: this laptop's settings and sync state.
    """

    def __init__(self, store: "Store", *, write: bool = False):
        self.store = store
        self.write = write
        self.session: Session | None = None

    @property
    def keyring(self):
        return self.store.keyring

    def writing(self) -> "UnitOfWork":
        """This unit of work, to be opened as a writer (``with uow.writing():``): its transaction begins with
        BEGIN IMMEDIATE, so what it reads before it writes is what no other writer can change until it ends.
        Every unit that writes is opened so; one opened for reading only notes things via commit_if_possible."""
        if self.session is not None:
            raise RuntimeError("a unit of work is declared a writer before it is opened")
        self.write = True
        return self

    def __enter__(self) -> "UnitOfWork":
        if self.session is not None:
            raise RuntimeError("this unit of work is already open: take a new one from store.unit_of_work()")
        self.session = (self.store._writers if self.write else self.store._sessions)()
        self.outbox = Outbox(self.session)
        self.replica = Replica(self.session)
        self.history = Recorded(self.session)
        self.settings = Settings(self.session)
        self.accounts = Accounts(self.replica, self.outbox)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self.session.rollback()  # a no-op after commit(); undoes anything not committed
        finally:
            self.session.close()
            self.session = None
        # A full disk or read-only folder is the technician's to fix: say so, not "OperationalError".
        problem = disk_problem(exc, self.store.home) if exc is not None else None
        if problem is not None:
            raise problem from exc

    def commit(self) -> None:
        """Keep the transaction; then, when it queued ops, tell whoever listens (the background syncer: an edit
        made online reaches the server within seconds, DESIGN §6). Collected after the commit, so a listener
        never sees an op that was undone."""
        queued = self.outbox.collect_new_ops()
        self.session.commit()
        if queued:
            self.store.queued(queued)

    def rollback(self) -> None:
        self.outbox.collect_new_ops()  # undone: nobody hears of them
        self.session.rollback()

    def commit_if_possible(self) -> bool:
        """Commit what a read noted on the way (not the technician's change): False, and undone, when the store
        cannot be written just now (a read-only folder, another writer holding the lock, or one that committed
        since this unit's first read: what it noted may be out of date). Never waits: a reading unit's
        transaction asks for the write lock without the busy timeout, so a read never waits for a sync. The
        unit's next reads begin a new transaction."""
        queued = self.outbox.collect_new_ops()
        info = self.session.connection().info  # the pooled connection's: this write is allowed (CHECK_WRITES_ENV)
        info[_NOTING] = True
        try:
            self.session.commit()
        except SQLAlchemyError:
            self.session.rollback()
            return False
        finally:
            info.pop(_NOTING, None)
        if queued:
            self.store.queued(queued)
        return True

    def flush(self) -> None:
        """Send what is pending to the database inside the transaction (a later query sees it; nothing is kept
        until commit)."""
        self.session.flush()

    def batch(self):
        """A block of writes each preceded by a look-up (a sync's results): no flush before every look-up, one
        at the end (a flush per result took more than the rest of a 1,000-op merge)."""
        return self.session.no_autoflush

    def joined(self) -> "JoinedUnitOfWork":
        """This open unit of work, for a use case called from inside another: entering it again does nothing
        and its commit only flushes, so the caller commits or undoes everything at once."""
        return JoinedUnitOfWork(self)


class JoinedUnitOfWork:
    """An open unit of work entered again by a call made inside it (UnitOfWork.joined)."""

    def __init__(self, outer: UnitOfWork):
        self._outer = outer

    def __getattr__(self, name: str):
        return getattr(self._outer, name)

    def __enter__(self) -> "JoinedUnitOfWork":
        return self

    def writing(self) -> "JoinedUnitOfWork":
        if not self._outer.write:
            raise UndeclaredWrite("a unit of work opened for reading was joined by one that writes")
        return self

    def __exit__(self, *exc) -> None:
        return None

    def commit(self) -> None:
        self._outer.flush()

    def joined(self) -> "JoinedUnitOfWork":
        return self


class Store:
    """An unlocked store: an engine keyed with the derived raw key, the trusted keyring, and units of work."""

    def __init__(self, home: Path, key: bytes, *, keyring=None, demo: bool = False, keys_dir=None):
        self.home = Path(home)
        self.path = paths.store_path(home)
        self._key = key
        self.demo = demo
        self.keyring = keyring if keyring is not None else trusted_keyring(demo=demo, keys_dir=keys_dir)
        self._lock = threading.RLock()
        self._bind(_make_engine(self.path, key))
        #: called with the ops a unit of work queued, after its commit (app/web/sync.py: the syncer's poke)
        self.on_queued: list[Callable[[list], None]] = []
        self._generation = 0
        self._generation_lock = threading.Lock()

    @property
    def sync_generation(self) -> int:
        """Rises by one each time a sync changed what the screens show (issue 21): a page drawn at generation N
        is out of date once this is past N. In memory, read without touching the file: pages poll it."""
        return self._generation

    def mark_synced(self) -> int:
        """A sync committed something the screens show (app/sync.py calls it): the next generation."""
        with self._generation_lock:
            self._generation += 1
            return self._generation

    def queued(self, ops: list) -> None:
        """Ops were committed to the outbox: tell the listeners (a listener's failure never undoes the commit)."""
        for listener in list(self.on_queued):
            try:
                listener(ops)
            except Exception:  # noqa: BLE001 - the change is kept whatever a listener does
                continue

    def _bind(self, engine: Engine) -> None:
        """Use engine: units that read begin with BEGIN, units that write with BEGIN IMMEDIATE (WRITES)."""
        self.engine = engine
        #: the same pool and events, its connections marked WRITES (Migrations run through it too)
        self.write_engine = engine.execution_options(**{WRITES: True})
        #: the writers of this process, served in turn (tests wait on writers.wait_for_waiters, never on time)
        self.writers: WritersQueue = engine.rentdesk_writers
        self._sessions = sessionmaker(engine.execution_options(**{READS: True}), expire_on_commit=False)
        self._writers = sessionmaker(self.write_engine, expire_on_commit=False)

    def unit_of_work(self, *, write: bool = False) -> UnitOfWork:
        """A unit of work (open it with ``with``); write=True for one that writes (UnitOfWork.writing)."""
        return UnitOfWork(self, write=write)

    __call__ = unit_of_work  # a Store is itself a unit-of-work factory

    @contextmanager
    def raw_connection(self) -> Iterator[object]:
        """A DBAPI connection from the pool (backup, checkpoints)."""
        conn = self.engine.raw_connection()
        try:
            yield conn
        finally:
            conn.close()

    def checkpoint(self) -> None:
        """Fold the WAL into the main file (before a backup, or to check what the file holds)."""
        with self.raw_connection() as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def rekey(self, new_key: bytes) -> None:
        """Re-encrypt the whole file with new_key (PRAGMA rekey), then reopen the pool with it."""
        with self._lock:
            self.engine.dispose()
            import sqlcipher3

            conn = sqlcipher3.connect(str(self.path))
            try:
                conn.execute("PRAGMA cipher_log_level=NONE")
                conn.execute(f'PRAGMA key="{_raw_key_literal(self._key)}"')
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                conn.execute(f'PRAGMA rekey="{_raw_key_literal(new_key)}"')
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                conn.close()
            self._key = new_key
            self._bind(_make_engine(self.path, new_key))

    def close(self) -> None:
        """Drop every pooled connection (lock the app)."""
        self.engine.dispose()


def create(home: str | os.PathLike, passphrase: str, *, kdf: dict | None = None, demo: bool = False,
           keys_dir=None) -> Store:
    """First run: make the header and an empty encrypted store, schema migrated to the newest revision."""
    home = Path(home)
    check_new_passphrase(passphrase)
    if paths.store_path(home).exists() or paths.header_path(home).exists():
        raise StoreExists("store-exists", home=home)
    header = Header.fresh(kdf)
    key = header.derive(passphrase)
    made_home = not home.exists()
    store = None
    try:
        private.make_folder(home)  # 0700: the store is the technician's alone (DESIGN §6)
        _write_atomically(paths.header_path(home), header.to_json())
        private.create_file(paths.store_path(home))  # else SQLite makes it 0644; its WAL and SHM copy its mode
        store = Store(home, key, demo=demo, keys_dir=keys_dir)
        from .migrations import upgrade

        upgrade(store.write_engine)
        private.tighten(home)
    except Exception as exc:
        # Nothing half-made may stay: a header without a whole store would block the retry (StoreExists).
        if store is not None:
            store.close()
        discard_new_store(home, remove_folder=made_home)
        problem = disk_problem(exc, home)
        if problem is not None:
            raise problem from exc
        raise
    return store


def discard_new_store(home: str | os.PathLike, *, remove_folder: bool = False) -> None:
    """Remove a store that setup could not finish (its files only; the checks above saw none before)."""
    home = Path(home)
    for path in (paths.store_path(home), paths.header_path(home)):
        for name in (path.name, path.name + "-wal", path.name + "-shm", path.name + "-journal", path.name + ".tmp"):
            try:
                (home / name).unlink()
            except FileNotFoundError:
                pass
            except OSError:
                pass  # a read-only folder: nothing could have been written there either
    if remove_folder:
        try:
            home.rmdir()
        except OSError:
            pass


def unlock(home: str | os.PathLike, passphrase: str, *, demo: bool = False, keys_dir=None,
           migrate: bool = True) -> Store:
    """Open the store with passphrase; WrongPassphrase (nothing written) when it does not fit."""
    home = Path(home)
    _finish_interrupted_rekey(home, passphrase)
    header = Header.read(paths.header_path(home))
    if not paths.store_path(home).exists():
        raise StoreMissing("store-missing", home=home)
    for path in (home, paths.store_path(home)):
        if not os.access(path, os.W_OK):  # else SQLCipher fails to open it and it looks like a wrong passphrase
            raise ReadOnlyFolder("store-read-only-open", home=home)
    key = header.derive(passphrase)
    if not _probe(paths.store_path(home), key):
        raise WrongPassphrase()
    private.tighten(home)  # a store an older version left world-readable (0755 folder, 0644 files)
    store = Store(home, key, demo=demo, keys_dir=keys_dir)
    if migrate:
        from .migrations import upgrade

        try:
            upgrade(store.write_engine)  # one transaction: a migration that fails leaves the store as it was
        except BaseException:
            store.close()
            raise
    return store


def change_passphrase(store: Store, old: str, new: str) -> None:
    """Re-key the file for a new passphrase; the old one must be given again (someone may have walked up)."""
    header = Header.read(paths.header_path(store.home))
    if not secrets.compare_digest(header.derive(old), store._key):
        raise WrongPassphrase("store-wrong-old-passphrase")
    check_new_passphrase(new)
    fresh = Header.fresh(header.kdf)
    new_key = fresh.derive(new)
    pending = paths.header_path(store.home).with_name(paths.HEADER_FILE + ".new")
    # The new header is written first: a crash between the rekey and the rename is repaired
    # at the next unlock by _finish_interrupted_rekey, so the file never outlives its salt.
    _write_atomically(pending, fresh.to_json())
    store.rekey(new_key)
    os.replace(pending, paths.header_path(store.home))


def _finish_interrupted_rekey(home: Path, passphrase: str) -> None:
    """After a crash mid-change_passphrase, keep whichever header opens the file."""
    pending = paths.header_path(home).with_name(paths.HEADER_FILE + ".new")
    if not pending.exists() or not paths.store_path(home).exists():
        return
    try:
        fresh = Header.read(pending)
    except StoreError:
        pending.unlink()
        return
    if _probe(paths.store_path(home), fresh.derive(passphrase)):
        os.replace(pending, paths.header_path(home))
    else:
        try:
            old = Header.read(paths.header_path(home))
        except StoreError:
            return
        if _probe(paths.store_path(home), old.derive(passphrase)):
            pending.unlink()  # the rekey never happened: the old header stays right
