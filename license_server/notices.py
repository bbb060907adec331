"""Stops and resumes of an installation (R18), noted where they happen for the sweep to mail.

An account stops when its credit runs out: in the sweep (suspend_depleted) or inside any op that
settles it past its end first; it resumes when an op lifts the suspension. Each is written to
customer_mails with sent_at NULL in the same transaction, so none is lost between two sweeps,
not even a stop that a load lifted a few seconds later.
"""

from __future__ import annotations

from typing import Any

from rental import ops as decider

from .db import Sql

_EXISTS = Sql("SELECT 1 FROM customer_mails WHERE account_id = :account_id AND kind = :kind AND about = :about")

#: The mails' kinds as customer_mails stores them: the suspension mail (R18, event rental.ops.SUSPENDED_EVENT) is
#: stored as "stopped" since its first version (its words to the customer: the telephone system has stopped).
STOPPED, RESUMED = "stopped", "resumed"
RELOADED, LAST_KEY = "reloaded", "last-key"  # R24: an automatic reload; the last held key was used

INSERT_WAITING = Sql("INSERT INTO customer_mails (account_id, kind, about, created_at) "
                     "VALUES (:account_id, :kind, :about, :created_at)")


def from_events(account_id: str, events, created_at: int) -> list[dict[str, Any]]:
    """The stop and resume mails (R18) of a decision: its own events (rental.ops.with_stops put them there, with
    their seconds), the very lines the account's history records. Nothing is computed again here."""
    kinds = {decider.SUSPENDED_EVENT: STOPPED, decider.RESUMED_EVENT: RESUMED}
    return [{"account_id": account_id, "kind": kinds[event.kind],
             "about": event.at if event.at is not None else created_at, "created_at": created_at}
            for event in events if event.kind in kinds]


def note_reloads(connection, account_id: str, reloads) -> None:
    """R24: one mail per second keys were redeemed automatically (it lists them), and one when the last held key
    went; written at once, each once (the account is locked: a check then an insert is safe)."""
    rows = []
    for at in sorted({made.at for made in reloads}):
        rows.append({"account_id": account_id, "kind": RELOADED, "about": at, "created_at": at})
        if any(made.last for made in reloads if made.at == at):
            rows.append({"account_id": account_id, "kind": LAST_KEY, "about": at, "created_at": at})
    rows = [row for row in rows if _EXISTS.run(connection, row).first() is None]
    if rows:
        INSERT_WAITING.run(connection, rows)
