"""Encrypted backups of the store: one file holding the clear header and a page-by-page copy of the encrypted store.

The copy is made with SQLite's online backup API between two SQLCipher connections keyed
alike, so it is encrypted from its first byte and opens with the same passphrase.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import Callable

from . import paths, private
from .store import (MAX_HEADER_BYTES, BackupDamaged, Header, HeaderInvalid, Store, StoreError, StoreExists,
                    WrongPassphrase, keyed_connection)

SUFFIX = ".rentdesk-backup"
_DB = "store.db"
_HEADER = "store.header.json"
PAGES_PER_STEP = 64

Progress = Callable[[int, int], None]  # (pages done, pages in all)


class BackupError(StoreError):
    """A backup file that cannot be read or restored; the message says what to do."""


def export_backup(store: Store, dest: str | os.PathLike, progress: Progress | None = None) -> Path:
    """Write an encrypted backup of store to dest (same passphrase); progress gets (done, total) pages."""
    dest = Path(dest)
    if dest.suffix != SUFFIX:
        dest = dest.with_name(dest.name + SUFFIX)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent) as work:
        copy_path = Path(work) / _DB
        with keyed_connection(copy_path, store._key) as target:
            with store.raw_connection() as source:
                raw = getattr(source, "driver_connection", None) or source.dbapi_connection

                def step(_status, remaining, total):
                    if progress:
                        progress(total - remaining, total)

                raw.backup(target, pages=PAGES_PER_STEP, progress=step)
        tmp = dest.with_name(dest.name + ".tmp")
        # 0600: the backup is as encrypted as the store, but nobody else may even copy it to guess offline
        with private.open_new(tmp, "wb") as raw_file, \
                zipfile.ZipFile(raw_file, "w", compression=zipfile.ZIP_STORED) as archive:
            archive.write(paths.header_path(store.home), _HEADER)
            archive.write(copy_path, _DB)
        os.replace(tmp, dest)
    return dest


#: The store inside a backup may not unpack to more than this (a stored, uncompressed copy: its size in the
#: archive is its size on disk). Well above any technician's store; a crafted archive cannot fill the disk.
MAX_STORE_BYTES = 8 * 1024**3
#: The first bytes of the store, enough for SQLCipher to tell whether the key fits (its first page).
HEAD_BYTES = 64 * 1024
COPY_CHUNK = 1 << 20


def import_backup(src: str | os.PathLike, home: str | os.PathLike, passphrase: str,
                  progress: Progress | None = None, *, max_store_bytes: int = MAX_STORE_BYTES) -> None:
    """Restore a backup into an empty data folder (issue 23): the header is read and bounded first, the passphrase
    checked on the store's first page before anything else is unpacked, then the store is streamed out with a
    size cap and checked whole before it is put in place. A damaged or crafted file is BackupDamaged."""
    src, home = Path(src), Path(home)
    if paths.store_path(home).exists() or paths.header_path(home).exists():
        raise StoreExists("backup-store-exists", home=home)
    try:
        archive = zipfile.ZipFile(src)
    except OSError:
        raise BackupError("backup-unreadable", path=src, suffix=SUFFIX) from None
    except Exception:  # noqa: BLE001 - zipfile raises many kinds for a damaged or crafted file
        raise BackupDamaged("backup-not-rentdesk", path=src, suffix=SUFFIX) from None
    with archive, tempfile.TemporaryDirectory() as work:
        try:
            header_raw, store_info = _members(archive)
            header = Header.parse(header_raw)
        except (HeaderInvalid, zipfile.BadZipFile, ValueError, EOFError, OSError, RuntimeError, NotImplementedError,
                zlib.error):
            raise BackupDamaged() from None
        if store_info.file_size > max_store_bytes:
            raise BackupDamaged("backup-too-large", size=store_info.file_size, max=max_store_bytes)
        key = header.derive(passphrase)
        copy = Path(work) / _DB
        try:
            _unpack(archive, store_info, copy, HEAD_BYTES)  # the first page only: enough to check the key
            if not _key_fits_head(copy, key):
                raise WrongPassphrase("backup-wrong-passphrase")
            _unpack(archive, store_info, copy, max_store_bytes, progress)
        except (zipfile.BadZipFile, EOFError, RuntimeError, NotImplementedError, zlib.error, _TooLarge):
            raise BackupDamaged() from None
        if not _is_whole(copy, key):
            raise BackupDamaged()
        private.make_folder(home)
        private.copy_file(copy, paths.store_path(home))
        _write_header(paths.header_path(home), header_raw)  # last: the store is whole before it counts


class _TooLarge(Exception):
    pass


def _members(archive: zipfile.ZipFile) -> tuple[bytes, zipfile.ZipInfo]:
    """The header's bytes and the store's entry; ValueError unless the archive holds exactly these two, stored."""
    infos = archive.infolist()
    if sorted(info.filename for info in infos) != sorted([_DB, _HEADER]):
        raise ValueError("not a RentDesk backup")
    by_name = {info.filename: info for info in infos}
    for info in infos:
        if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:  # RentDesk stores, never compresses
            raise ValueError("compressed or encrypted member")
    header_info = by_name[_HEADER]
    if header_info.file_size > MAX_HEADER_BYTES:
        raise ValueError("header too long")
    with archive.open(header_info) as member:
        raw = member.read(MAX_HEADER_BYTES + 1)
    return raw, by_name[_DB]


def _unpack(archive: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path, limit: int,
            progress: Progress | None = None) -> None:
    """Stream up to limit bytes of a member into dest (made anew, 0600); _TooLarge past the cap when limit is the
    whole cap, a head only when it is smaller than the member."""
    whole = limit >= info.file_size
    done = 0
    dest.unlink(missing_ok=True)
    with archive.open(info) as member, private.open_new(dest, "wb") as out:
        while done < limit:
            chunk = member.read(min(COPY_CHUNK, limit - done))
            if not chunk:
                break
            out.write(chunk)
            done += len(chunk)
            if progress and whole:
                progress(done, info.file_size)
        if whole and member.read(1):
            raise _TooLarge()


SQLITE_NOTADB = 26  # SQLCipher's answer when the key does not decrypt the first page


def _key_fits_head(head: Path, key: bytes) -> bool:
    """Whether key decrypts the store's first page, given only the store's first bytes: a wrong key is NOTADB; the
    right one reads page 1 and then at most finds the rest missing (CORRUPT), which the whole copy checks later."""
    import sqlcipher3

    with keyed_connection(head, key) as conn:
        try:
            conn.execute("PRAGMA schema_version").fetchall()
            return True
        except sqlcipher3.Error as exc:
            return getattr(exc, "sqlite_errorcode", SQLITE_NOTADB) != SQLITE_NOTADB


def _is_whole(db_path: Path, key: bytes) -> bool:
    """The unpacked store opens with the key and SQLite finds it sound (a backup cut or altered after its first
    page)."""
    import sqlcipher3

    with keyed_connection(db_path, key) as conn:
        try:
            return conn.execute("PRAGMA quick_check").fetchall() == [("ok",)]
        except sqlcipher3.Error:
            return False


def _write_header(path: Path, raw: bytes) -> None:
    with private.open_new(path, "wb") as out:
        out.write(raw)
