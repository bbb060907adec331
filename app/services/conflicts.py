"""Deciding about a refused or conflicting change: discard it, or check it again and queue it anew — a change that
overrides what is on the server (licenses, PBX facts, account fields) only after the technician saw, item by item,
what it would change there now (issue 21)."""

from __future__ import annotations

import json

from rental.ops import KINDS

from .. import projection
from ..clock import Clock
from ..errors import NotFound, RuleViolation, on_form
from ..store import (
    UnitOfWork,
)
from ..views import (
    QueuedOp,
    ReapplyReview,
)
from .common import _now, _op_view
from .review import fields_again, overrides
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
    with uow.writing():
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
        raise RuleViolation.of("op-still-queued")
    return op


def _revision_text(revision: int | None) -> str:
    """The account revision a review was made on, as the confirmation form carries it back."""
    return "none" if revision is None else str(revision)


def _review(book: projection.Book, op) -> ReapplyReview:
    """The review page's view: the op as the list shows it and what re-applying it overrides now."""
    found = overrides(book, op)
    state = book.get(op.account_id)
    return ReapplyReview(_op_view(op, book), state.name if state is not None else op.account_id, found.pbx_id,
                         found.pbx_name, found.changes, found.revision, found.problems, found.pbx_gone)


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
        return queue(uow, now, op.account_id, op.kind, fields_again(op, body, state))
    except RuleViolation as refusal:
        raise on_form(refusal) from None
