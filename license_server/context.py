"""What one server process holds: settings, engine, clock, signing key, trusted keys, current price list.

Built once per process (create_app, the CLI); the signing key and the signed price list are
cached here so no request loads a key or re-signs a list.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Mapping

from sqlalchemy import Connection, Engine, select

from rental.pricing import PriceHistory, PriceList
from rental.signing import Keyring, SigningKey, load_signing_key

from . import models
from .auth import GuessLimiter, TokenCache
from .config import Settings, SettingsError, load_settings
from .db import Sql, make_engine
from .metrics import Metrics
from .terms import TermsCache


@dataclass(frozen=True)
class CurrentPrices:
    """The current price list, parsed and signed once."""

    row_id: int
    pricelist: PriceList
    envelope: dict
    history: PriceHistory  # every list published: an automatic reload re-rates at the one in force then (R24)

    @cached_property
    def envelope_text(self) -> str:
        """The envelope as JSON text, made once (every /sync answer carries it)."""
        return json.dumps(self.envelope)


LATEST_PRICES = Sql("SELECT max(id) FROM pricelists")  # on every /sync: plain SQL, an index look-up


class ServerContext:
    """One server's collaborators, passed to every service function."""

    def __init__(self, settings: Settings, engine: Engine | None = None):
        self.settings = settings
        self.engine = engine or make_engine(settings.DATABASE_URL)
        self.policy = settings.policy
        self._prices: CurrentPrices | None = None
        self.terms = TermsCache()  # the current rental terms, signed once (R26)
        self._lock = threading.Lock()
        self.tokens = TokenCache(settings.TOKEN_RECHECK_S)
        self.guesses = GuessLimiter(settings.TOKEN_GUESS_LIMIT, settings.TOKEN_GUESS_WINDOW_S)
        self.metrics = Metrics(settings.METRICS)  # no-ops unless METRICS is on
        # R27: wrong customer links, counted apart from technicians' tokens (the same limits)
        self.link_guesses = GuessLimiter(settings.TOKEN_GUESS_LIMIT, settings.TOKEN_GUESS_WINDOW_S)

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None = None) -> "ServerContext":
        return cls(load_settings(config))

    def now(self) -> int:
        """The server's time in whole UTC seconds: the only time that decides money."""
        now = self.settings.clock()
        if isinstance(now, bool) or not isinstance(now, int):
            raise TypeError(f"CLOCK must return whole UTC seconds (int), not {type(now).__name__}")
        return now

    @cached_property
    def signer(self) -> SigningKey:
        """The signing key, loaded once (its kid is the file's stem)."""
        path = self.settings.SIGNING_KEY_PATH
        if not path:
            raise SettingsError(
                "no signing key: set LICENSE_SERVER_SIGNING_KEY_PATH to a private key made by "
                "`license-server gen-key --kid K --out DIR`"
            )
        return load_signing_key(path)

    @cached_property
    def link_secret(self) -> bytes:
        """The key of customer links (R27): LINK_SECRET, else derived from the signing key with HKDF (so links
        survive a restart and are the same in every process, and change only when the signing key does)."""
        secret = self.settings.LINK_SECRET
        if secret:
            return str(secret).encode()
        return self.signer.derive_secret(b"rentdesk/customer-link/v1")

    @cached_property
    def keyring(self) -> Keyring:
        """Keys whose activation keys this server accepts: its own, plus TRUSTED_KEYS_DIR after a rotation."""
        ring = Keyring()
        folder = self.settings.TRUSTED_KEYS_DIR
        if folder:
            for file in sorted(Path(folder).glob("*.pub")):
                ring.add(file.stem, file.read_bytes())
        ring.add(self.signer.kid, self.signer.public_pem())
        return ring

    def sign(self, type_: str, payload: dict) -> dict:
        return self.signer.sign_envelope(type_, payload)

    def sign_text(self, type_: str, payload: dict) -> tuple[dict, str]:
        """sign() and the envelope's JSON text (json.dumps' own, made without encoding: the /sync answer's)."""
        return self.signer.sign_envelope_text(type_, payload)

    def current_prices(self, connection: Connection) -> CurrentPrices | None:
        """The current price list; one indexed look-up tells whether another process published a newer one."""
        latest = LATEST_PRICES.run(connection).scalar()
        if latest is None:
            return None
        cached = self._prices
        if cached is not None and cached.row_id == latest:
            return cached
        rows = connection.execute(select(models.pricelists).where(models.pricelists.c.id <= latest)
                                  .order_by(models.pricelists.c.id)).all()
        lists = [PriceList.from_dict(json.loads(each.body), published_at=each.published_at) for each in rows]
        row, pricelist = rows[-1], lists[-1]
        payload = {"version": pricelist.version, "published_at": row.published_at,
                   "items": [item.to_dict() for item in pricelist.items.values()],
                   "policy": self.policy.to_dict()}  # the thresholds the app's offline checks use (DESIGN §5)
        with self._lock:
            self._prices = CurrentPrices(latest, pricelist, self.sign("pricelist", payload), PriceHistory(lists))
            return self._prices

    def forget_prices(self) -> None:
        """Drop the cached list (after a publish in this process)."""
        self._prices = None
