"""Stops and resumes of an installation (R18), noted where they happen for the sweep to mail.

An account stops when its credit runs out: in the sweep (suspend_depleted) or inside any op that
settles it past its end first; it resumes when an op lifts the suspension. Each is written to
customer_mails with sent_at NULL in the same transaction, so none is lost between two sweeps,
not even a stop that a load lifted a few seconds later.
"""

from __future__ import annotations

from typing import Any

from rental import billing
from rental import ops as decider

from .db import Sql

STOPPED, RESUMED = decider.STOPPED, decider.RESUMED

INSERT_WAITING = Sql("INSERT INTO customer_mails (account_id, kind, about, created_at) "
                     "VALUES (:account_id, :kind, :about, :created_at)")


def waiting(account_id: str, before: dict[str, Any], after: billing.Account) -> list[dict[str, Any]]:
    """The stop and resume an account's change from its stored row `before` to `after` makes, as rows to mail
    (the core finds them, as it does for the account's history: rental.ops.stops_and_resumes)."""
    found = decider.stops_and_resumes(before["suspended"], before["depletes_at"], after)
    return [{"account_id": account_id, "kind": kind, "about": about, "created_at": after.as_of}
            for kind, about in found]
