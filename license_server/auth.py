"""Bearer tokens of technicians: 32 random bytes, shown once, stored as SHA-256 hex; each names a partner."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, select

from . import models


@dataclass(frozen=True)
class Caller:
    """Who sent a request: a technician of a partner; accounts belong to partners."""

    technician_id: int
    partner: str
    name: str


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

    def caller(self, connection: Connection, token: str) -> Caller | None:
        digest = token_hash(token)
        known = self._known.get(digest)
        if known is not None:
            return known
        t = models.technicians.c
        row = connection.execute(select(t.id, t.partner, t.name).where(t.token_hash == digest)).first()
        if row is None:
            return None
        caller = Caller(row.id, row.partner, row.name)
        if len(self._known) < self._limit:
            self._known[digest] = caller
        return caller
