"""Deciding about a refused or conflicting change: discard it, or check it again and queue it anew."""

from __future__ import annotations

import json

from rental.opkinds import PRICELIST_VERSION
from rental.ops import KINDS

from .. import projection
from ..clock import Clock
from ..errors import NotFound, RuleViolation, on_form
from ..store import (
    UnitOfWork,
)
from ..views import (
    QueuedOp,
)
from .common import _now
from .writes import queue


def resolve(uow: UnitOfWork, clock: Clock, op_id: str, decision: str) -> QueuedOp | None:
    """Decide about a rejected or conflicting op: "discard" drops it; "reapply" checks it again on the newest
    verified state and queues it with a fresh op_id (returned)."""
    if decision not in ("reapply", "discard"):
        raise ValueError('decision is "reapply" or "discard"')
    with uow:
        now = _now(uow, clock, writing=True)
        op = uow.outbox.get(op_id)
        if op is None:
            raise NotFound("op-not-waiting", op_id=op_id)
        if op.state == "pending":
            raise RuleViolation.of("op-still-queued")
        body = json.loads(op.body)
        if decision == "discard":
            uow.outbox.remove(op)
            uow.commit()
            return None
        uow.outbox.remove(op)
        uow.flush()
        queued = _requeue(uow, op, body, now)
        uow.commit()
        return queued


def _requeue(uow: UnitOfWork, op, body: dict, now: int) -> QueuedOp:
    """Queue a resolved op anew through the one queueing use case: its fields checked by its kind's declaration
    and decided again on the newest state (fresh op_id, fresh base_revision; fields its declaration renews, such
    as R13's consent, taken from that state). A change the technician chose to re-apply is re-applied as it
    stands: a warning it raises (R6) was confirmed by choosing it."""
    declared = KINDS[op.kind]
    made_on = ("base_revision", PRICELIST_VERSION.name)  # renewed by queue(): the state and list seen now
    fields = {key: value for key, value in body.items() if key in declared.field_names and key not in made_on}
    if declared.renew is not None:
        book = uow.accounts.book(now, op.account_id)
        state = book.pending_state(op.account_id) or book.require_alive(op.account_id)
        fields = dict(declared.renew(projection.to_core(state), fields))
    try:
        return queue(uow, now, op.account_id, op.kind, fields)
    except RuleViolation as refusal:
        raise on_form(refusal) from None
