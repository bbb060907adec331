"""The partner-wide change cursor of GET /accounts?since= (issue 26, DESIGN §5).

A cursor is an opaque word the server hands out with every listing: `<epoch>.<seq>.<at>.<basis>`.
- epoch: a random word naming this database's numbering (migration 0010): another server's cursor is not
  ours, and is answered in full;
- seq: where the numbering stood when the listing was read (PostgreSQL: the reader's snapshot xmin minus
  one; SQLite: the change counter); an account whose `changed_seq` is above it changed since. It is read
  *before* the accounts (migration 0010 says why no change committed later can carry a number at or below it);
- at: the server's now of that listing. An answer is as of the server's now, and an account's answer
  changes without a write when its depletes_at passes (it stops, R18) or a reload's second comes (R24,
  until the sweep writes it): those accounts are listed too;
- basis: a digest of the current price list's version and the policy, which every answer depends on
  (R18's least load, R19's retention): when they changed, the cursor is answered in full.

A cursor whose seq is above the current one (a database restored from an older backup, or reloaded into a new
PostgreSQL cluster), whose at is after the server's now, or that does not parse is answered in full. A restored
backup that has since numbered past the cursor is not told apart: after a restore, give the database a new epoch
(`UPDATE change_counter SET epoch = '<16 new hex digits>'`) or publish a price list, and every laptop gets the
full list once. Answering in full is always safe: the app never drops an account for not being listed and
refuses an older snapshot than the one it holds.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from sqlalchemy import Connection

from .db import Sql, is_sqlite

_CURSOR = re.compile(r"^([0-9a-f]{1,32}|-)\.([0-9]{1,19})\.([0-9]{1,19})\.([0-9a-f]{16})$")
_COUNTER_SQLITE = Sql("SELECT seq, epoch FROM change_counter WHERE id = 1")
#: the reader's snapshot xmin: every transaction below it has ended (its changes are visible from here on)
_COUNTER_PG = Sql("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint - 1, epoch FROM change_counter "
                  "WHERE id = 1")
_CHANGED = Sql("SELECT id FROM accounts WHERE partner = :p AND (changed_seq > :seq "
               "OR (depletes_at > :at AND depletes_at <= :now) OR reload_at <= :now) ORDER BY created_at, id")
NO_EPOCH = "-"  # no numbering in this database (never answered from)


@dataclass(frozen=True)
class Cursor:
    epoch: str
    seq: int
    at: int
    basis: str

    def __str__(self) -> str:
        return f"{self.epoch}.{self.seq}.{self.at}.{self.basis}"

    @staticmethod
    def parse(text: str | None) -> "Cursor | None":
        """The cursor a client sent, or None when it is not one of ours (then the answer is full)."""
        found = _CURSOR.match(text) if isinstance(text, str) and len(text) <= 120 else None
        if found is None:
            return None
        epoch, seq, at, basis = found.groups()
        return Cursor(epoch, int(seq), int(at), basis)


def basis(price_version: str | None, policy) -> str:
    """What every account answer depends on beyond the account's own row."""
    text = json.dumps({"prices": price_version, "policy": policy.to_dict()}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def current(connection: Connection, now: int, basis_now: str) -> Cursor:
    """The cursor of a listing read now: read it FIRST, then the accounts (migration 0010)."""
    row = (_COUNTER_SQLITE if is_sqlite(connection.engine) else _COUNTER_PG).run(connection).first()
    seq, epoch = (int(row[0]), str(row[1])) if row is not None else (0, NO_EPOCH)
    return Cursor(epoch, seq, now, basis_now)


def usable(since: Cursor | None, now_cursor: Cursor) -> bool:
    """Can the changes since this cursor be listed (else the answer is full)?"""
    return (since is not None and since.epoch == now_cursor.epoch and since.epoch != NO_EPOCH
            and since.seq <= now_cursor.seq and since.at <= now_cursor.at and since.basis == now_cursor.basis)


def changed_ids(connection: Connection, partner: str, since: Cursor, now: int) -> list[str]:
    """The partner's accounts whose answer may differ from the one given at `since`, oldest first."""
    return [row[0] for row in _CHANGED.run(connection, {"p": partner, "seq": since.seq, "at": since.at,
                                                        "now": now})]
