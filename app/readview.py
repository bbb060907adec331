"""One read view of the store: reads that must agree see the store as one committed state (SQLite snapshot).

The store's driver starts a transaction only before a write, so each SELECT of a unit of work that has not
written sees the store as it is at that statement: a sync committing between two reads (an account's snapshot
stored and its create_account op removed, in one transaction) is seen half, and the account is in neither.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import text
from sqlalchemy.orm import Session

_SAVEPOINT = "rentdesk_read_view"


@contextmanager
def one_snapshot(session: Session) -> Iterator[None]:
    """The reads inside see one committed state of the store (and this unit of work's own writes).

    A unit of work that has written holds the write lock already: nobody can commit under it, its reads agree.
    Otherwise a SAVEPOINT opens a read transaction (WAL: writers go on, this reader keeps its snapshot) and its
    RELEASE ends it, before anything of the unit of work could be written inside it (no autoflush there).
    """
    session.flush()  # this unit of work's pending writes first: then a write transaction holds the lock
    dbapi = session.connection().connection.dbapi_connection
    if dbapi.in_transaction:
        yield
        return
    with session.no_autoflush:
        session.execute(text(f"SAVEPOINT {_SAVEPOINT}"))
        try:
            yield
        finally:
            if dbapi.in_transaction:
                session.execute(text(f"RELEASE {_SAVEPOINT}"))
