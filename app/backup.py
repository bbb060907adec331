"""Encrypted backups of the store: one file holding the clear header and a page-by-page copy of the encrypted store.

The copy is made with SQLite's online backup API between two SQLCipher connections keyed
alike, so it is encrypted from its first byte and opens with the same passphrase.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path
from typing import Callable

from . import paths, private
from .store import Header, Store, StoreError, StoreExists, WrongPassphrase, _probe, _raw_key_literal

SUFFIX = ".rentdesk-backup"
_DB = "store.db"
_HEADER = "store.header.json"
PAGES_PER_STEP = 64

Progress = Callable[[int, int], None]  # (pages done, pages in all)


class BackupError(StoreError):
    """A backup file that cannot be read or restored; the message says what to do."""


def export_backup(store: Store, dest: str | os.PathLike, progress: Progress | None = None) -> Path:
    """Write an encrypted backup of store to dest (same passphrase); progress gets (done, total) pages."""
    import sqlcipher3

    dest = Path(dest)
    if dest.suffix != SUFFIX:
        dest = dest.with_name(dest.name + SUFFIX)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent) as work:
        copy_path = Path(work) / _DB
        target = sqlcipher3.connect(str(copy_path))
        try:
            target.execute("PRAGMA cipher_log_level=NONE")
            target.execute(f'PRAGMA key="{_raw_key_literal(store._key)}"')
            with store.raw_connection() as source:
                raw = getattr(source, "driver_connection", None) or source.dbapi_connection

                def step(_status, remaining, total):
                    if progress:
                        progress(total - remaining, total)

                raw.backup(target, pages=PAGES_PER_STEP, progress=step)
        finally:
            target.close()
        tmp = dest.with_name(dest.name + ".tmp")
        # 0600: the backup is as encrypted as the store, but nobody else may even copy it to guess offline
        with private.open_new(tmp, "wb") as raw_file, \
                zipfile.ZipFile(raw_file, "w", compression=zipfile.ZIP_STORED) as archive:
            archive.write(paths.header_path(store.home), _HEADER)
            archive.write(copy_path, _DB)
        os.replace(tmp, dest)
    return dest


def import_backup(src: str | os.PathLike, home: str | os.PathLike, passphrase: str,
                  progress: Progress | None = None) -> None:
    """Restore a backup into an empty data folder; the passphrase is checked before anything is put there."""
    src, home = Path(src), Path(home)
    if paths.store_path(home).exists() or paths.header_path(home).exists():
        raise StoreExists(f"A store already exists in {home}: restore into a new, empty data folder.")
    try:
        archive = zipfile.ZipFile(src)
    except (OSError, zipfile.BadZipFile):
        raise BackupError(f"{src} is not a RentDesk backup (or it is damaged): choose a {SUFFIX} file.") from None
    with archive, tempfile.TemporaryDirectory() as work:
        names = set(archive.namelist())
        if names != {_DB, _HEADER}:
            raise BackupError(f"{src} is not a RentDesk backup: it does not hold a store and its header.")
        archive.extractall(work)
        header = Header.read(Path(work) / _HEADER)
        if not _probe(Path(work) / _DB, header.derive(passphrase)):
            raise WrongPassphrase("Wrong passphrase for this backup: it is the passphrase the store had when the "
                                  "backup was made. Nothing was restored.")
        private.make_folder(home)
        total = (Path(work) / _DB).stat().st_size
        private.copy_file(Path(work) / _DB, paths.store_path(home))
        if progress:
            progress(total, total)
        private.copy_file(Path(work) / _HEADER, paths.header_path(home))  # last: the store is whole before it counts
