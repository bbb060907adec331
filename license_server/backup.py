"""`license-server backup FILE`: a consistent copy of a SQLite database while the server runs.

SQLite's online backup API copies the pages of one read snapshot, so writers that commit meanwhile are
either wholly in the copy or wholly out of it (a plain `cp` of a WAL database is not). PostgreSQL has
its own tools: `pg_dump -Fc` and `pg_restore` (docs/operating.md).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(ValueError):
    """A backup that cannot be made; the message says what to do instead."""


def backup_sqlite(database_url: str, destination: str | os.PathLike) -> Path:
    """Copy the SQLite database of database_url to destination (a new file, mode 0600); returns its path."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        raise BackupError(f"backup copies SQLite databases; this server uses {url.get_backend_name()}: back it up "
                          "with `pg_dump -Fc` and restore with `pg_restore` (docs/operating.md)")
    if not url.database or url.database == ":memory:":
        raise BackupError("the database is in memory: there is nothing on disk to back up")
    source = Path(url.database)
    if not source.exists():
        raise BackupError(f"no database at {source}: check LICENSE_SERVER_DATABASE_URL")
    target = Path(destination)
    if target.exists():
        raise BackupError(f"{target} exists already: a backup never overwrites a file (choose a new name)")
    target.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # it holds token hashes and customers
    reader = sqlite3.connect(source, timeout=30)  # only read; a read-only open of a WAL file can fail
    writer = sqlite3.connect(target)
    try:
        reader.backup(writer)  # all pages in one step: one consistent snapshot, writers go on in WAL mode
        writer.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        check = writer.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            raise BackupError(f"the copy failed its integrity check ({check}): it was removed, try again")
    except BaseException:
        writer.close()
        target.unlink(missing_ok=True)
        raise
    finally:
        reader.close()
    writer.close()
    return target
