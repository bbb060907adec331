"""First run, unlock, passphrase, settings, trusted keys and backups."""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

from .. import backup
from .. import clock as clock_mod
from .. import settings as settings_mod
from .. import store as _store
from ..store import (
    Store,
    UnitOfWork,
)
from ..views import (
    KeyFingerprint,
    SettingsView,
)

InsecureServerUrl = settings_mod.InsecureServerUrl


def is_initialised(home) -> bool:
    """True when the data folder already holds a store (show unlock, not setup)."""
    return _store.is_initialised(home)


def initialise(home, passphrase: str, server_url: str | None = None, token: str | None = None, *,
               language: str | None = None, demo: bool = False, keys_dir=None, kdf: dict | None = None) -> Store:
    """First run: create the encrypted store, then keep the server URL and token inside it.

    Raises WeakPassphrase, StoreExists, InsecureServerUrl (plain http to another machine).
    """
    if server_url:
        settings_mod.check_server_url(server_url)
    store = _store.create(home, passphrase, demo=demo, keys_dir=keys_dir, kdf=kdf)
    with store.unit_of_work(write=True) as uow:
        uow.settings.ensure_client_id()
        clock_mod.ensure_note(uow)
        if server_url is not None:
            uow.settings.put("server_url", settings_mod.check_server_url(server_url))
        if token is not None:
            uow.settings.put("token", token.strip())
        if language is not None:
            uow.settings.put("language", settings_mod.check_language(language))
        uow.commit()
    return store


def unlock(home, passphrase: str, *, demo: bool = False, keys_dir=None) -> Store:
    """Open the store (runs migrations); WrongPassphrase leaves the file untouched."""
    store = _store.unlock(home, passphrase, demo=demo, keys_dir=keys_dir)
    try:
        with store.unit_of_work(write=True) as uow:
            if clock_mod.ensure_note(uow):  # a store made before the note was made at setup
                uow.commit()
    except BaseException:
        store.close()
        raise
    return store


def change_passphrase(store: Store, old: str, new: str) -> None:
    """Re-key the store for a new passphrase (WrongPassphrase if old is wrong, WeakPassphrase if new is short)."""
    _store.change_passphrase(store, old, new)


def get_settings(uow: UnitOfWork) -> SettingsView:
    """The settings screen (the token itself is never shown back)."""
    with uow:
        view = SettingsView(
            server_url=uow.settings.get("server_url"),
            has_token=bool(uow.settings.get("token")),
            language=uow.settings.get("language"),
            client_id=uow.settings.get("client_id"),
        )
    if view.client_id:
        return view
    # setup made it; a store without one gets it in a unit that writes (a read never takes the write lock)
    with uow.store.unit_of_work(write=True) as writer:
        view = replace(view, client_id=writer.settings.ensure_client_id())
        writer.commit()
    return view


_UNSET = object()


def set_settings(uow: UnitOfWork, *, server_url=_UNSET, token=_UNSET, language=_UNSET) -> SettingsView:
    """Change the server URL, token or language (only those given). Bad values raise, nothing changes."""
    if server_url is not _UNSET and server_url:
        server_url = settings_mod.check_server_url(server_url)
    if language is not _UNSET and language:
        language = settings_mod.check_language(language)
    with uow.writing():
        if server_url is not _UNSET and (server_url or None) != uow.settings.get("server_url"):
            uow.settings.forget_server_credentials()  # the old server's token must not go to the new one
        for key, value in (("server_url", server_url), ("token", token), ("language", language)):
            if value is _UNSET:
                continue
            if value in (None, ""):
                uow.settings.delete(key)
            else:
                uow.settings.put(key, value.strip() if isinstance(value, str) else value)
        uow.commit()
    return get_settings(uow.store.unit_of_work())


def trusted_key_fingerprints(store_or_keyring) -> list[KeyFingerprint]:
    """The signing keys this app believes, with fingerprints to compare with the vendor's (DESIGN §4)."""
    ring = getattr(store_or_keyring, "keyring", store_or_keyring)
    return [KeyFingerprint(kid, ring.fingerprint(kid), kid == "demo") for kid in ring.kids]


def export_backup(store: Store, dest, progress: Callable[[int, int], None] | None = None):
    """Write an encrypted backup file (same passphrase) and return its path; progress gets (done, total)."""
    return backup.export_backup(store, dest, progress)


def import_backup(src, home, passphrase: str, progress: Callable[[int, int], None] | None = None, *,
                  demo: bool = False, keys_dir=None) -> Store:
    """Restore a backup into an empty data folder and unlock it (WrongPassphrase restores nothing)."""
    backup.import_backup(src, home, passphrase, progress)
    return unlock(home, passphrase, demo=demo, keys_dir=keys_dir)
