"""The web face's handle on the service layer: binds this launch's settings, store and clock.

Views call ``services`` through these few helpers so that none of them repeats where the
data folder is, whether the demo key is trusted, or which clock runs.
"""

from __future__ import annotations

from flask import current_app

from .. import services
from .state import state


def trusted_key_folders() -> tuple[str, str]:
    """The bundle's keys/, then the technician's own folder (DESIGN §6 "Trusted keys")."""
    return current_app.config["KEYS_DIR"], current_app.config["USER_KEYS_DIR"]


def _options() -> dict:
    return {"demo": bool(current_app.config["TRUST_DEMO_KEY"]), "keys_dir": trusted_key_folders()}


def initialise(passphrase: str, *, server_url: str | None, token: str | None, language: str | None = None):
    """First run: create the store in this launch's data folder (services.initialise)."""
    kdf = current_app.config.get("STORE_KDF")  # tests pass a cheaper scrypt; the default is the real one
    return services.initialise(current_app.config["RENTDESK_HOME"], passphrase, server_url, token,
                               language=language, kdf=kdf, **_options())


def unlock(passphrase: str):
    """Open the store of this launch's data folder (services.unlock)."""
    return services.unlock(current_app.config["RENTDESK_HOME"], passphrase, **_options())


def restore(backup_path: str, passphrase: str):
    """First run from a backup file (services.import_backup)."""
    return services.import_backup(backup_path, current_app.config["RENTDESK_HOME"], passphrase, **_options())


def uow():
    """A fresh unit of work on the open store."""
    return state().store.unit_of_work()


def store():
    return state().store


def clock():
    return state().clock
