"""Deciding about a refused or conflicting change: discard it, or check it again and queue it anew."""

from __future__ import annotations

import json

from rental.money import ticks_to_milli_floor
from rental.reasons import Reason

from .. import checks, projection
from ..clock import Clock
from ..errors import NotFound, Problem, Refused
from ..store import (
    UnitOfWork,
)
from ..views import (
    QueuedOp,
)
from .common import _FixedClock, _now
from .writes import (
    delete_account,
    deposit_key,
    redeem_key,
    remove_pbx,
    set_auto_reload,
    set_licenses,
    update_account,
    update_pbx,
    withdraw_key,
)


def resolve(uow: UnitOfWork, clock: Clock, op_id: str, decision: str) -> QueuedOp | None:
    """Decide about a rejected or conflicting op: "discard" drops it; "reapply" checks it again on the newest
    verified state and queues it with a fresh op_id (returned)."""
    if decision not in ("reapply", "discard"):
        raise ValueError('decision is "reapply" or "discard"')
    with uow:
        now = _now(uow, clock, writing=True)
        op = uow.outbox.get(op_id)
        if op is None:
            raise NotFound(f"No op {op_id} waiting for a decision.")
        if op.state == "pending":
            raise Refused([Problem.of(Reason.of("op-still-queued"))])
        body = json.loads(op.body)
        if decision == "discard":
            uow.outbox.remove(op)
            uow.commit()
            return None
        uow.outbox.remove(op)
        uow.flush()
        book = uow.accounts.book(now)
        queued = _requeue(uow, book, op, body, now)
        uow.commit()
        return queued


def _requeue(uow: UnitOfWork, book: "projection.Book", op, body: dict, now: int) -> QueuedOp:
    """Run a resolved op's checks again on the newest state and queue it anew (fresh op_id, fresh base_revision)."""
    clock = _FixedClock(now)
    account_id = op.account_id
    inner = uow.joined()  # each call below enters the unit of work again: resolve() commits it all at once
    kind = op.kind
    if kind == "create_account":
        fields = {k: body[k] for k in ("name", "contact_email", "cloud_contract", "language") if k in body}
        checks.account_fields(required=True, **fields)
        new = uow.outbox.enqueue(kind, account_id, fields, now)
        return QueuedOp(new.op_id, kind, account_id)
    if kind == "update_account":
        if "auto_reload_days" in body:
            set_auto_reload(inner, clock, account_id, body["auto_reload_days"])
        fields = {k: body[k] for k in ("name", "contact_email", "cloud_contract", "language") if k in body}
        if not fields:
            return QueuedOp(op.op_id, kind, account_id)
        return update_account(inner, clock, account_id, **fields)
    if kind == "register_pbx":
        state = book.pending_state(account_id) or book.require_alive(account_id)
        fields = checks.pbx_fields(state, **{k: body.get(k) for k in
                                             ("name", "serial", "platform", "firmware", "mode", "hardware_model")})
        new = uow.outbox.enqueue(kind, account_id, {"pbx_id": body["pbx_id"], **fields}, now,
                             pbx_id=body["pbx_id"])
        return QueuedOp(new.op_id, kind, account_id, pbx_id=body["pbx_id"])
    if kind == "update_pbx":
        fields = {k: body[k] for k in ("name", "firmware", "platform", "hardware_model", "mode") if k in body}
        return update_pbx(inner, clock, account_id, body["pbx_id"], **fields)
    if kind == "set_licenses":
        return set_licenses(inner, clock, account_id, body["pbx_id"], body["items"], confirm=True)
    if kind == "remove_pbx":
        return remove_pbx(inner, clock, account_id, body["pbx_id"])
    if kind == "redeem_key":
        return redeem_key(inner, clock, account_id, body["key"])
    if kind == "deposit_key":
        return deposit_key(inner, clock, account_id, body["key"])
    if kind == "withdraw_key":
        return withdraw_key(inner, clock, account_id, body["key_id"])
    if kind == "delete_account":
        state = book.require_alive(account_id)
        return delete_account(inner, clock, account_id, ticks_to_milli_floor(state.billing.balance))
    raise ValueError(f"unknown op kind {kind!r}")
