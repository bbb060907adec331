"""Where the desktop app keeps its data and finds its shipped resources (source or PyInstaller bundle)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_NAME = "RentDesk"
HOME_ENV = "RENTDESK_HOME"
STORE_FILE = "store.db"
HEADER_FILE = "store.header.json"


def data_dir(environ: dict | None = None) -> Path:
    """The data folder: RENTDESK_HOME when set, else the per-user data folder of this platform."""
    env = os.environ if environ is None else environ
    home = env.get(HOME_ENV)
    if home:
        return Path(home).expanduser().resolve()
    import platformdirs  # imported here so nothing runs at import time

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def store_path(home: str | os.PathLike) -> Path:
    """The encrypted store inside a data folder."""
    return Path(home) / STORE_FILE


def header_path(home: str | os.PathLike) -> Path:
    """The clear header (KDF salt and parameters, no secret) next to the store."""
    return Path(home) / HEADER_FILE


def is_frozen() -> bool:
    """True inside a PyInstaller bundle."""
    return bool(getattr(sys, "frozen", False)) and hasattr(sys, "_MEIPASS")


def resource_root() -> Path:
    """The folder holding keys/, templates/ and static/: the bundle's _MEIPASS when frozen, else the repo."""
    if is_frozen():
        return Path(sys._MEIPASS)  # type: ignore[attr-defined]
    return Path(__file__).resolve().parent.parent


def resource_path(*parts: str) -> Path:
    """A shipped resource, wherever the app runs from (source tree or frozen bundle)."""
    return resource_root().joinpath(*parts)


def keys_dir() -> Path:
    """The trusted public keys shipped with the app (DESIGN §4); the technician's own are in user_keys_dir()."""
    return resource_path("keys")


def user_keys_dir(home: str | os.PathLike | None = None, environ: dict | None = None) -> Path:
    """The technician's own folder of trusted keys, read beside the bundle's keys/ (DESIGN §6 "Trusted keys").

    Writable without administrator rights: beside the data when a data folder was chosen (--home or
    RENTDESK_HOME), else the per-user configuration folder (~/.config/RentDesk/keys on Linux).
    """
    env = os.environ if environ is None else environ
    import platformdirs

    default_home = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    if home is not None and Path(home).expanduser().resolve() != default_home.resolve():
        return Path(home).expanduser().resolve() / "keys"
    if env.get(HOME_ENV):
        return data_dir(env) / "keys"
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "keys"
