"""Deciding about a refused or conflicting change: discard it, or check it again and queue it anew — a change that
overrides what is on the server (licenses, PBX facts, account fields) only after the technician saw, item by item,
what it would change there now (issue 21)."""

from __future__ import annotations

import json

from rental import ops as decider
from rental.errors import Refusal
from rental.opkinds import PRICELIST_VERSION
from rental.ops import ACCOUNT_FIELDS, KINDS, PBX_FIELDS
from rental.reasons import Reason

from .. import projection
from ..clock import Clock
from ..errors import NotFound, Problem, Refused
from ..store import (
    UnitOfWork,
)
from ..sync import item_changes
from ..views import (
    QueuedOp,
    ReapplyReview,
)
from .common import _now, _op_view
from .writes import queue


def needs_review(kind: str) -> bool:
    """A kind whose re-applying overrides what someone else set (it carries the PBX or account revision it was
    made on): re-applied only once its differences with the server's current state were shown (issue 21)."""
    return KINDS[kind].reviewed_before_reapply


#: The op kinds re-applied only after their review (read from each kind's declaration).
REVIEWED = frozenset(name for name in KINDS if needs_review(name))


class Changed(Exception):
    """A re-apply confirmed on a state that is no longer the server's (or not confirmed at all): ``review`` is
    what re-applying would change now, to be shown and confirmed again."""

    def __init__(self, review: ReapplyReview, *, seen: str | None):
        super().__init__("review the change against the server's current state before re-applying it")
        self.review = review
        self.seen = seen


def review_reapply(uow: UnitOfWork, clock: Clock, op_id: str) -> ReapplyReview:
    """What re-applying a rejected or conflicting op would change on the server's current signed state, each item
    and field from → to, computed now from the replica with the core's decision (never remembered)."""
    with uow:
        now = _now(uow, clock)
        op = _waiting(uow, op_id)
        return _review(uow.accounts.book(now, op.account_id), op)


def resolve(uow: UnitOfWork, clock: Clock, op_id: str, decision: str, *, seen: str | None = None
            ) -> QueuedOp | None:
    """Decide about a rejected or conflicting op: "discard" drops it; "reapply" checks it again on the newest
    verified state and queues it with a fresh op_id (returned). A kind that needs a review (needs_review) is
    re-applied only when ``seen`` is the account revision its review was shown on; else Changed says what
    re-applying would change now."""
    if decision not in ("reapply", "discard"):
        raise ValueError('decision is "reapply" or "discard"')
    with uow:
        now = _now(uow, clock, writing=True)
        op = _waiting(uow, op_id)
        body = json.loads(op.body)
        if decision == "discard":
            uow.outbox.remove(op)
            uow.commit()
            return None
        if needs_review(op.kind):
            review = _review(uow.accounts.book(now, op.account_id), op)
            if seen is None or seen != _revision_text(review.revision):
                raise Changed(review, seen=seen)
        uow.outbox.remove(op)
        uow.flush()
        queued = _requeue(uow, op, body, now)
        uow.commit()
        return queued


def _waiting(uow: UnitOfWork, op_id: str):
    """The op waiting for a decision (rejected or conflicting), else why there is none."""
    op = uow.outbox.get(op_id)
    if op is None:
        raise NotFound("op-not-waiting", op_id=op_id)
    if op.state == "pending":
        raise Refused([Problem.of(Reason.of("op-still-queued"))])
    return op


def _revision_text(revision: int | None) -> str:
    """The account revision a review was made on, as the confirmation form carries it back."""
    return "none" if revision is None else str(revision)


def _fields_again(op, body: dict, state: projection.AccountState | None) -> dict:
    """The op's fields as they are queued again: its declared fields, without the state and list it was made on
    (renewed by queue()), and fields its declaration renews (R13's consent) taken from state."""
    declared = KINDS[op.kind]
    made_on = ("base_revision", PRICELIST_VERSION.name)  # renewed by queue(): the state and list seen now
    fields = {key: value for key, value in body.items() if key in declared.field_names and key not in made_on}
    if declared.renew is not None and state is not None:
        fields = dict(declared.renew(projection.to_core(state), fields))
    return fields


def _review(book: projection.Book, op) -> ReapplyReview:
    """What re-applying the op does to the server's current signed state: the op decided by rental.ops as queue()
    will decide it (on this laptop's state, its other queued ops included, so a key loaded since counts for R14),
    then each difference between the account's verified snapshot and that decision, in what the op touches:
    its account fields, its PBX's facts, the PBX's items (an op that sets them, or removes the PBX)."""
    body = json.loads(op.body)
    declared = KINDS[op.kind]
    pbx_id = body.get("pbx_id") if declared.names_pbx else None
    state = book.get(op.account_id)  # the verified snapshot first: what the server holds now
    view = _op_view(op, book)
    if state is None or not state.confirmed:
        return ReapplyReview(view, book.name_of(op.account_id), pbx_id, None, (), None)
    before = projection.to_core(state)
    held = before.pbxs.get(pbx_id) if pbx_id else None
    pbx_name = held.name if held is not None else (book.pbx_name(op.account_id, pbx_id) if pbx_id else None)
    try:
        _state, decision = book.decide(op.account_id, op.kind, _fields_again(op, body, book.pending_state(
            op.account_id) or state))
    except Refusal as refusal:
        return ReapplyReview(view, state.name, pbx_id, pbx_name, (), state.revision, refusal.problems,
                             pbx_gone=bool(pbx_id) and held is None)
    touched = set(body)
    return ReapplyReview(view, state.name, pbx_id, pbx_name,
                         tuple(_differences(before, decision.state, pbx_id, book.pricelist, touched,
                                            items=declared.sets_licenses)), state.revision)


def _differences(before: decider.State, after: decider.State, pbx_id: str | None, prices, touched: set[str], *,
                 items: bool) -> list[dict]:
    """What a decision changes on an account, as data ({"field", "from", "to"}), in the fields the op names: the
    account's, then its PBX's facts, then (``items``, or the PBX removed) each item's quantity by the item's
    name (a removed PBX: every item to 0)."""
    changes = [{"field": name, "from": getattr(before, name), "to": getattr(after, name)}
               for name in ACCOUNT_FIELDS if name in touched and getattr(before, name) != getattr(after, name)]
    if pbx_id is None or pbx_id not in before.pbxs:
        return changes
    old, new = before.pbxs[pbx_id], after.pbxs.get(pbx_id)
    if new is not None:
        changes += [{"field": name, "from": getattr(old, name), "to": getattr(new, name)}
                    for name in PBX_FIELDS if name in touched and getattr(old, name) != getattr(new, name)]
    if items or new is None:
        changes += item_changes(before.licenses_of(pbx_id), after.licenses_of(pbx_id) if new is not None else {},
                                prices)
    return changes


def _requeue(uow: UnitOfWork, op, body: dict, now: int) -> QueuedOp:
    """Queue a resolved op anew through the one queueing use case: its fields checked by its kind's declaration
    and decided again on the newest state (fresh op_id, fresh base_revision; fields its declaration renews, such
    as R13's consent, taken from that state). A change the technician chose to re-apply is re-applied as it
    stands: a warning it raises (R6) was confirmed by choosing it."""
    state = None
    if KINDS[op.kind].renew is not None:
        book = uow.accounts.book(now, op.account_id)
        state = book.pending_state(op.account_id) or book.require_alive(op.account_id)
    try:
        return queue(uow, now, op.account_id, op.kind, _fields_again(op, body, state))
    except Refusal as refusal:
        raise Refused.of(refusal) from None
