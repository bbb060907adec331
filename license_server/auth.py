"""Bearer tokens of technicians: 32 random bytes, shown once, stored as SHA-256 hex; each names a partner."""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections import deque
from dataclasses import dataclass

from sqlalchemy import Engine, select

from . import models


@dataclass(frozen=True)
class Caller:
    """Who sent a request: a technician of a partner; accounts belong to partners."""

    technician_id: int
    partner: str
    name: str
    by: str = "technician"  # or "customer": the account's customer on their own page (R27), no technician

    @classmethod
    def customer(cls, partner: str) -> "Caller":
        """The customer of one of partner's accounts, acting on their own page (R27)."""
        return cls(0, partner, "", "customer")

    @property
    def technician(self) -> str | None:
        """The name the history records (R25): the technician's; none for the customer."""
        return self.name if self.by == "technician" else None


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def bearer_token(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 200:
        return None
    return token


class TokenCache:
    """Tokens already checked in this process (technicians are never revoked in place)."""

    def __init__(self, limit: int = 10_000):
        self._known: dict[str, Caller] = {}
        self._limit = limit

    def caller(self, engine: Engine, token: str) -> Caller | None:
        """The token's technician; the database is asked only for a token not seen before."""
        digest = token_hash(token)
        known = self._known.get(digest)
        if known is not None:
            return known
        t = models.technicians.c
        with engine.connect() as connection:
            row = connection.execute(select(t.id, t.partner, t.name).where(t.token_hash == digest)).first()
        if row is None:
            return None
        caller = Caller(row.id, row.partner, row.name)
        if len(self._known) < self._limit:
            self._known[digest] = caller
        return caller


class GuessLimiter:
    """Slows down token guessing: after `limit` unknown tokens from one address within `window_s` seconds,
    that address is answered 429 (without checking its token, so a guess learns nothing) until the window ends.

    Kept per process and keyed on the peer address: behind a reverse proxy, every client shares its
    address, so set the limit with that in mind (0 turns the limiter off). Times are the server's clock.
    """

    def __init__(self, limit: int, window_s: int, max_addresses: int = 100_000):
        self.limit, self.window_s, self.max_addresses = limit, window_s, max_addresses
        self._failures: dict[str, deque[int]] = {}
        self._lock = threading.Lock()

    def retry_after(self, address: str, now: int) -> int | None:
        """Seconds the address must wait before its next token is checked; None when it may try now."""
        if not self.limit:
            return None
        with self._lock:
            failures = self._failures.get(address)
            if not failures:
                return None
            while failures and failures[0] <= now - self.window_s:
                failures.popleft()
            if not failures:
                del self._failures[address]
                return None
            if len(failures) < self.limit:
                return None
            return max(1, failures[0] + self.window_s - now)

    def failed(self, address: str, now: int) -> None:
        """Count an unknown token presented by address."""
        if not self.limit:
            return
        with self._lock:
            if address not in self._failures and len(self._failures) >= self.max_addresses:
                self._failures.pop(next(iter(self._failures)))  # forget the oldest address, never grow unbounded
            self._failures.setdefault(address, deque(maxlen=self.limit)).append(now)
