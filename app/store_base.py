"""The store before it opens (DESIGN §6): its errors, the passphrase rule, whether a data folder holds one,
and the keys it trusts. Nothing here imports SQLAlchemy, SQLCipher or cryptography: the unlock and first-run
pages need only this, so the window paints them before the store's machinery is imported (issue 25);
app/store.py, which opens the store, gives every name here too.
"""

from __future__ import annotations

import os
from pathlib import Path

from rental.errors import RuleViolation
from rental.reasons import Reason

from . import paths

MIN_PASSPHRASE = 8
#: The execution option that marks a writing unit's connection (app/store.py): its transaction begins with BEGIN
#: IMMEDIATE after its turn; the migrations run so too (app/migrations)
WRITES = "rentdesk_writes"


class StoreError(RuleViolation):
    """A problem with the store the technician can act on: one reason (rule "store", a code of
    rental.reasons.STORE_ERRORS, params) saying what to do; screens translate it, ``str()`` is its English."""

    CODE = "store-error"

    def __init__(self, code: str | None = None, **params):
        super().__init__(Reason("store", code or self.CODE, {name: str(value) if isinstance(value, Path) else value
                                                             for name, value in params.items()}))


class WrongPassphrase(StoreError):
    """The passphrase does not open this store; nothing was written."""

    CODE = "store-wrong-passphrase"


class StoreMissing(StoreError):
    """No store in this data folder yet: run the first-time setup."""


class HeaderDamaged(StoreError):
    """The store's clear header is not one RentDesk wrote, or asks scrypt for too much (issue 23)."""


class BackupDamaged(StoreError):
    """A backup file that is damaged, or was not written by RentDesk (issue 23): never a crash."""

    CODE = "backup-damaged"


class StoreExists(StoreError):
    """A store already exists here; it is never overwritten by setup."""


class WeakPassphrase(StoreError):
    """A new passphrase that is too short to protect customer data."""


class DiskFull(StoreError):
    """The disk holding the data folder is full: the change was not saved, and nothing is half-written."""


class ReadOnlyFolder(StoreError):
    """The data folder cannot be written (read-only disk or folder): nothing was changed."""


class StoreBusy(StoreError):
    """Another change held the store for the whole busy timeout (app/store.py WritersQueue): this one was not
    saved. Said with the store's general reason (nothing was changed), as the driver's "database is locked" was."""


class ForeignFolder(StoreError):
    """The data folder belongs to another user of this computer, who could change or replace what is kept there
    (a key file they put in its keys/ would be trusted): RentDesk uses only a folder of the technician's own."""

    CODE = "store-folder-foreign"


class OpenFolder(ForeignFolder):
    """The data folder is the technician's, but other users may write in it and RentDesk does not make it private
    (it holds other files): they could plant a link where RentDesk writes, or a key file in its keys/ (DESIGN §6)."""

    CODE = "store-folder-open"


def is_initialised(home: str | os.PathLike) -> bool:
    """True when this data folder holds a store (header and file)."""
    return paths.header_path(home).exists() and paths.store_path(home).exists()


def check_new_passphrase(passphrase: str) -> None:
    if not isinstance(passphrase, str) or len(passphrase) < MIN_PASSPHRASE:
        raise WeakPassphrase("store-weak-passphrase", min=MIN_PASSPHRASE)


def trusted_keyring(*, demo: bool = False, keys_dir=None):
    """The public keys the app trusts (keys/*.pub); the demo key only in demo mode and tests (DESIGN §4).

    keys_dir is one folder, or several: the bundle's first (it must exist), then the technician's own folder
    (DESIGN §6 "Trusted keys"), read when it exists; a file there that cannot be trusted is left out (the
    first-run screen says why), and never replaces a key of the bundle's.
    """
    from rental.signing import Keyring

    from .trusted_keys import add_user_keys

    folders = [keys_dir] if keys_dir is None or isinstance(keys_dir, (str, os.PathLike)) else list(keys_dir)
    ring = Keyring.from_dir(folders[0] or paths.keys_dir(), include_demo=demo)
    for folder in folders[1:]:
        add_user_keys(ring, folder)
    return ring
