"""What one launch holds in memory: the clock, the unlocked store, and the unlock throttle.

One technician, one process: the unlocked store lives here, not in a cookie, so closing
the app locks it.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from flask import Flask, current_app

from ..clock import SystemClock

EXTENSION = "rentdesk.web"


class CallableClock:
    """Adapts a CLOCK callable (the license server's convention) to the app's .now() clocks."""

    def __init__(self, fn: Callable[[], int]):
        self._fn = fn

    def now(self) -> int:
        return int(self._fn())

    def __call__(self) -> int:
        return self.now()


def make_clock(value: Any):
    """The app's clock from the CLOCK setting: None (system), an object with now(), or a callable."""
    if value is None:
        return SystemClock()
    if callable(getattr(value, "now", None)):
        return value
    if callable(value):
        return CallableClock(value)
    raise TypeError("CLOCK must be a callable returning whole UTC seconds, or an object with now()")


THROTTLE_FILE = "unlock-throttle.json"


@dataclass
class Throttle:
    """Slows passphrase guessing: after a few failures each attempt must wait, doubling (server side).

    With a path, the count and the wait are kept beside the store (0600) and read back at start, so
    restarting RentDesk gives no fresh attempts.
    """

    free_attempts: int = 3
    first_delay_s: int = 5
    max_delay_s: int = 300
    failures: int = 0
    not_before: int = 0
    path: Path | None = None

    def load(self) -> "Throttle":
        """Read what an earlier launch left (nothing, or something unreadable, is a fresh start)."""
        if self.path is None:
            return self
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            failures, not_before = data["failures"], data["not_before"]
        except (OSError, ValueError, KeyError, TypeError):
            return self
        if all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (failures, not_before)):
            self.failures, self.not_before = failures, not_before
        return self

    def _save(self) -> None:
        if self.path is None:
            return
        from .. import private

        try:
            if not self.failures and not self.not_before:
                self.path.unlink(missing_ok=True)
                return
            tmp = self.path.with_name(self.path.name + ".tmp")
            with private.open_new(tmp, "w", encoding="utf-8") as f:
                json.dump({"failures": self.failures, "not_before": self.not_before}, f)
            os.replace(tmp, self.path)
        except OSError:  # a read-only folder: the store cannot open there either, and says so
            pass

    def wait_s(self, now: int) -> int:
        """Seconds before the next attempt is heard (0: now); never more than the longest wait, should the
        clock have been set back since."""
        return min(self.max_delay_s, max(0, self.not_before - now))

    def failed(self, now: int) -> None:
        self.failures += 1
        extra = self.failures - self.free_attempts
        if extra >= 0:
            delay = min(self.max_delay_s, self.first_delay_s * (2 ** min(extra, 16)))
            self.not_before = now + delay
        self._save()

    def succeeded(self) -> None:
        self.failures = 0
        self.not_before = 0
        self._save()


@dataclass
class WebState:
    """The launch's in-memory state."""

    clock: Any
    throttle: Throttle
    store: Any = None
    lock: threading.RLock = field(default_factory=threading.RLock)
    #: last sync progress for the progress bar: {"state": "idle"|"running"|"done", ...}
    sync_progress: dict = field(default_factory=lambda: {"state": "idle"})
    backup_progress: dict = field(default_factory=lambda: {"state": "idle"})
    language: str | None = None
    syncer: Any = None  # the background syncer while the store is open
    #: called with (app, store) once a store is open (web/sync.py starts the background syncer here)
    on_open: list = field(default_factory=list)

    #: where the chosen language is kept in the clear, so the unlock page speaks it after a restart (issue 23)
    language_path: Path | None = None

    def choose_language(self, code: str | None) -> None:
        """The UI language (None: the system's), in memory and beside the store for the next unlock page."""
        self.language = code
        if self.language_path is not None:
            save_language(self.language_path, code)

    def open(self, store, app) -> None:
        """Unlocked: keep the store, remember the chosen language, start what waits for an open store."""
        with self.lock:
            self.store = store
            self.throttle.succeeded()
            from .. import services

            self.choose_language(services.get_settings(store.unit_of_work()).language)
            for hook in self.on_open:
                hook(app, store)

    def close(self) -> None:
        """Lock: stop background sync, drop the store's connections (the launcher calls this at shutdown)."""
        with self.lock:
            if self.syncer is not None:
                try:
                    self.syncer.stop()
                finally:
                    self.syncer = None
            if self.store is not None:
                try:
                    self.store.close()
                finally:
                    self.store = None


LANGUAGE_FILE = "ui-language"
#: The languages a language file may name (app/web/i18n.py LANGUAGES; read here without importing Flask-Babel).
_KNOWN_LANGUAGES = ("en", "fr")


def load_language(path: Path) -> str | None:
    """The language chosen in Settings, as kept beside the store (no secret: two letters); None when unset."""
    try:
        code = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return code if code in _KNOWN_LANGUAGES else None


def save_language(path: Path, code: str | None) -> None:
    """Keep the chosen language for the unlock page (0600 like every file of the data folder); none: removed."""
    from .. import private

    try:
        if code in _KNOWN_LANGUAGES:
            if path.parent.is_dir():
                with private.open_new(path, "w", encoding="ascii") as out:
                    out.write(code + "\n")
        else:
            path.unlink(missing_ok=True)
    except OSError:  # a read-only folder: the store's own checks say so; the page falls back to the system's
        pass


def init_app(app: Flask) -> WebState:
    state = WebState(
        clock=make_clock(app.config.get("CLOCK")),
        throttle=Throttle(
            free_attempts=int(app.config["UNLOCK_FREE_ATTEMPTS"]),
            first_delay_s=int(app.config["UNLOCK_DELAY_S"]),
            max_delay_s=int(app.config["UNLOCK_MAX_DELAY_S"]),
            path=Path(app.config["RENTDESK_HOME"]) / THROTTLE_FILE,
        ).load(),
    )
    state.language_path = Path(app.config["RENTDESK_HOME"]) / LANGUAGE_FILE
    state.language = load_language(state.language_path)  # the unlock page speaks the chosen language
    app.extensions[EXTENSION] = state
    app.extensions["rentdesk.shutdown"] = state.close  # app/launcher.py close_app() calls it
    return state


def state() -> WebState:
    """The current app's launch state."""
    return current_app.extensions[EXTENSION]
