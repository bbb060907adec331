"""Settings kept inside the encrypted store: server URL, technician token, language, client id, sync state."""

from __future__ import annotations

import ipaddress
import json
import uuid
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from rental import validation
from rental.errors import RuleViolation
from rental.reasons import Reason

from .models import Setting

LANGUAGES = ("en", "fr")


class InsecureServerUrl(RuleViolation, ValueError):
    """A server URL the token must not travel to (plain http to another machine) or that is not a URL: a reason
    (rule sync, code, params) screens translate; ``str()`` is its English wording."""

    def __init__(self, code: str, **params):
        super().__init__(Reason.of(code, **params))


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_server_url(url: str) -> str:
    """https anywhere, plain http only to this machine (DESIGN §6: the token must not travel in clear)."""
    text = (url or "").strip().rstrip("/")
    parts = urlsplit(text)
    shown = validation.shown(str(url or ""), 200)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InsecureServerUrl("url-not-address", url=shown)
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise InsecureServerUrl("url-in-clear", url=shown, host=validation.shown(parts.hostname, 200))
    if parts.query or parts.fragment or parts.username or parts.password:
        raise InsecureServerUrl("url-extra-parts", url=shown)
    return text


def check_language(language: str) -> str:
    if language not in LANGUAGES:
        raise ValueError(f"Language {language!r} is not offered: choose one of {', '.join(LANGUAGES)}.")
    return language


class Settings:
    """This laptop's settings (server, token, language, sync state, ...) in one unit of work (a repository)."""

    def __init__(self, session: Session):
        self._session = session

    def get(self, key: str, default=None):
        row = self._session.get(Setting, key)
        return default if row is None else json.loads(row.value)

    def put(self, key: str, value) -> None:
        row = self._session.get(Setting, key)
        text = json.dumps(value)
        if row is None:
            self._session.add(Setting(key=key, value=text))
        else:
            row.value = text

    def delete(self, key: str) -> None:
        row = self._session.get(Setting, key)
        if row is not None:
            self._session.delete(row)

    def ensure_client_id(self) -> str:
        """This laptop's id for POST /sync (made once, a UUID)."""
        client_id = self.get("client_id")
        if not client_id:
            client_id = str(uuid.uuid4())
            self.put("client_id", client_id)
        return client_id

    def sync_state(self) -> dict:
        return self.get("sync_state", {}) or {}

    def update_sync_state(self, **changes) -> dict:
        state = self.sync_state()
        state.update(changes)
        self.put("sync_state", state)
        return state

    def pinned_partner(self, binding: str) -> str | None:
        """The partner a signed GET /whoami named for the token whose binding this is; None when not learned yet."""
        held = self.get("partner") or {}
        if isinstance(held, dict) and held.get("binding") == binding and isinstance(held.get("partner"), str):
            return held["partner"]
        return None

    def pin_partner(self, partner: str, binding: str) -> None:
        """Keep the token's partner: from now on only its accounts' snapshots are believed."""
        self.put("partner", {"partner": partner, "binding": binding})

    def forget_server_credentials(self) -> None:
        """A new server address: the token and its partner belong to the old one and must not travel to the new."""
        self.delete("token")
        self.delete("partner")
