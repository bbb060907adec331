"""The customer's private link (R27, DESIGN §5): derived, never stored, renewable.

A link token is the URL-safe base64 (no padding) of the account id's 16 bytes followed by an HMAC-SHA256,
keyed by LINK_SECRET (by default derived from the signing key with HKDF), over the account id and the link's
generation. Only the generation is stored: renewing adds one, so every older link stops at once, and a mail
written later rebuilds the current link. The account id in the token only says which account to check; the
32-byte MAC is what proves the link.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import uuid
from dataclasses import dataclass

from sqlalchemy import Connection

from rental import ops as decider

from . import history, notices, store
from .context import ServerContext
from .db import Sql, writing

PURPOSE = b"rentdesk/customer-link/v1"
TOKEN_BYTES = 16 + 32  # the account id, then the MAC
TOKEN_CHARS = 64  # base64 of 48 bytes, no padding
PATH = "/customer/"
RENEWED_EVENT = "customer-link"  # R25: a history line (rental.reasons.EVENTS)


class NoPublicUrl(Exception):
    """PUBLIC_URL is not set: no link can be given to a customer (DESIGN §5: customer-link exits 2)."""

    def __init__(self) -> None:
        super().__init__("no PUBLIC_URL: set LICENSE_SERVER_PUBLIC_URL to the server's address as customers reach "
                         "it (e.g. https://licenses.example.com), then run customer-link again")


class LinkRefused(Exception):
    """The account cannot get a new link: code (not-found, account-deleted) and the words to show."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def token_for(secret: bytes, account_id: str, generation: int) -> str:
    """The link token of an account at a generation."""
    account = uuid.UUID(account_id)
    mac = hmac.new(secret, PURPOSE + b"\n" + str(account).encode() + b"\n" + str(generation).encode(),
                   hashlib.sha256).digest()
    return base64.urlsafe_b64encode(account.bytes + mac).decode().rstrip("=")


def account_of(token: str) -> str | None:
    """The account id a token names (not yet proven), or None when it is no token at all."""
    if not isinstance(token, str) or len(token) != TOKEN_CHARS or not token.isascii():
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    if len(raw) != TOKEN_BYTES:
        return None
    return str(uuid.UUID(bytes=raw[:16]))


def url_of(public_url: str, token: str) -> str:
    return public_url.rstrip("/") + PATH + token


def current_url(ctx: ServerContext, row: dict) -> str | None:
    """The account's current link, or None when PUBLIC_URL is not set or the account was deleted."""
    public = ctx.settings.PUBLIC_URL
    if not public or row["deleted"]:
        return None
    return url_of(public, token_for(ctx.link_secret, row["id"], row["customer_link_generation"] or 0))


def find(ctx: ServerContext, connection: Connection, token: str, *, for_update: bool = False
         ) -> store.AccountRecord | None:
    """The account whose current link this is; None for anything else (unknown, forged, renewed, deleted)."""
    account_id = account_of(token)
    if account_id is None:
        return None
    record = store.load(connection, account_id, for_update=for_update)
    if record is None or record.row["deleted"]:
        return None
    expected = token_for(ctx.link_secret, account_id, record.row["customer_link_generation"] or 0)
    if not hmac.compare_digest(expected.encode(), token.encode()):
        return None
    return record


RENEW = Sql("UPDATE accounts SET customer_link_generation = customer_link_generation + 1, customer_link_at = :now, "
            "revision = revision + 1 WHERE id = :id")
LINK_MAIL = "link"  # customer_mails' kind of the mail that sends a new link (the sweep sends it)


@dataclass(frozen=True)
class Renewed:
    url: str
    at: int
    generation: int


def renew(ctx: ServerContext, account_id: str, *, partner: str | None = None, technician: str | None = None,
          send: bool = False) -> Renewed:
    """Make a new link for the account: every older link stops at once (R27); the account's revision rises (its
    snapshot says when the link was made). With partner, another partner's account is unknown; with send, the
    customer is mailed the new link (by the sweep, like every customer mail)."""
    public = ctx.settings.PUBLIC_URL
    if not public:
        raise NoPublicUrl()
    now = ctx.now()
    with writing(ctx.engine) as connection:
        record = store.load(connection, account_id, for_update=True)
        if record is None or (partner is not None and record.row["partner"] != partner):
            raise LinkRefused("not-found", "No such account among your partner's accounts." if partner else
                              f"No account {account_id}.")
        if record.row["deleted"]:
            raise LinkRefused("account-deleted", "This account was deleted: it has no customer page any more.")
        RENEW.run(connection, {"id": record.id, "now": now})
        generation = (record.row["customer_link_generation"] or 0) + 1
        by = history.TECHNICIAN if technician else None
        history.INSERT_EVENT.run(connection, history.rows(record.id, [decider.Event(RENEWED_EVENT)], now,
                                                          technician, by=by))
        if send:
            notices.INSERT_WAITING.run(connection, [{"account_id": record.id, "kind": LINK_MAIL, "about": generation,
                                                     "created_at": now}])
    return Renewed(url_of(public, token_for(ctx.link_secret, record.id, generation)), now, generation)
