"""Bearer tokens of technicians: 32 random bytes, shown once, stored as SHA-256 hex; each names a partner."""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
import threading
from collections import deque
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import Engine, select

from . import models
from .config import monotonic


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


def iso_utc(seconds: int) -> str:
    """UTC seconds as ISO 8601 with a Z, e.g. 2026-12-07T03:00:00Z (the CLI's and the 401's format, DESIGN §5)."""
    from datetime import datetime, timezone

    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


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


#: The results of a token check (DESIGN §5): a caller for "ok"; 401 `unauthorized`, `token-revoked` or
#: `token-expired` for the others. Metrics and logs count these codes, never the token.
TOKEN_OK, TOKEN_UNKNOWN, TOKEN_REVOKED, TOKEN_EXPIRED = "ok", "unknown", "revoked", "expired"
#: DESIGN §5: a revoked token stops working on every process within 5 s, so no process trusts a check longer.
MAX_RECHECK_S = 5


@dataclass(frozen=True)
class TokenCheck:
    """What a bearer token is worth now: `result` is one of TOKEN_*; `caller` is set only when it is "ok"."""

    result: str
    caller: Caller | None = None
    expires_at: int | None = None  # when an expiring token stops (UTC seconds), for the 401's words


@dataclass(frozen=True)
class _Seen:
    caller: Caller
    revoked: bool
    expires_at: int | None
    checked_at: float  # the process's monotonic clock when the database was last asked


class TokenCache:
    """Tokens checked in this process, each trusted for at most `recheck_s` seconds (MAX_RECHECK_S): after that
    the database is asked again, so `revoke-technician` in any process reaches this one in time (DESIGN §5).

    Expiry is decided at every request against the server's clock (CLOCK: tests move it); revocation is
    read from the database at most every `recheck_s` seconds of this process's monotonic clock (`ticker`).
    """

    def __init__(self, recheck_s: float = 2, limit: int = 10_000, ticker: Callable[[], float] | None = None):
        if not 0 <= recheck_s <= MAX_RECHECK_S:
            raise ValueError(f"a token may be trusted from 0 to {MAX_RECHECK_S} s without asking the database")
        self.recheck_s = recheck_s
        self._known: dict[str, _Seen] = {}
        self._limit = limit
        self._ticker = ticker or monotonic
        self._lock = threading.Lock()

    def check(self, engine: Engine, token: str, now: int) -> TokenCheck:
        """The one token check of the API: ok (with its caller), unknown, revoked or expired, as of now."""
        digest = token_hash(token)
        tick = self._ticker()
        seen = self._known.get(digest)
        if seen is None or not 0 <= tick - seen.checked_at < self.recheck_s:
            seen = self._ask(engine, digest, tick)
            if seen is None:
                return TokenCheck(TOKEN_UNKNOWN)
        if seen.revoked:
            return TokenCheck(TOKEN_REVOKED)
        if seen.expires_at is not None and now >= seen.expires_at:
            return TokenCheck(TOKEN_EXPIRED, expires_at=seen.expires_at)
        return TokenCheck(TOKEN_OK, seen.caller, seen.expires_at)

    def _ask(self, engine: Engine, digest: str, tick: float) -> _Seen | None:
        t = models.technicians.c
        with engine.connect() as connection:
            row = connection.execute(select(t.id, t.partner, t.name, t.revoked_at, t.expires_at)
                                     .where(t.token_hash == digest)).first()
        with self._lock:
            if row is None:
                self._known.pop(digest, None)  # deleted: forgotten at once
                return None
            seen = _Seen(Caller(row.id, row.partner, row.name), row.revoked_at is not None, row.expires_at, tick)
            if digest not in self._known and len(self._known) >= self._limit:
                self._known.pop(next(iter(self._known)))  # bounded: the oldest is asked again next time
            self._known[digest] = seen
            return seen

    def forget(self) -> None:
        """Ask the database again for every token (after a revoke in this very process)."""
        with self._lock:
            self._known.clear()


class GuessLimiter:
    """Slows down token guessing: after `limit` unknown tokens from one address within `window_s` seconds,
    that address is answered 429 (without checking its token, so a guess learns nothing) until the window ends.

    Kept per process and keyed on the client: an IPv4 address, or an IPv6 address's /64 network (one host
    holds a whole /64 and can pick a new address in it for every guess; an IPv4 address written as IPv6,
    ::ffff:192.0.2.7, is that IPv4 address). Behind a reverse proxy the client's address is known only with
    PROXY_HOPS set (README); without it every client shares the proxy's address. 0 turns the limiter off.
    Times are the server's clock.
    """

    def __init__(self, limit: int, window_s: int, max_addresses: int = 100_000):
        self.limit, self.window_s, self.max_addresses = limit, window_s, max_addresses
        self._failures: dict[str, deque[int]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def client(address: str) -> str:
        """Who is counted for an address: itself for IPv4, its /64 for IPv6, the text as given if neither."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return address
        if ip.version == 6:
            if ip.ipv4_mapped is not None:
                return str(ip.ipv4_mapped)
            return str(ipaddress.IPv6Network((ip, 64), strict=False))
        return str(ip)

    def retry_after(self, address: str, now: int) -> int | None:
        """Seconds the address must wait before its next token is checked; None when it may try now."""
        if not self.limit or not self._failures:  # nobody guessed lately: the usual request pays nothing here
            return None
        address = self.client(address)
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
        address = self.client(address)
        with self._lock:
            if address not in self._failures and len(self._failures) >= self.max_addresses:
                self._failures.pop(next(iter(self._failures)))  # forget the oldest address, never grow unbounded
            self._failures.setdefault(address, deque(maxlen=self.limit)).append(now)
