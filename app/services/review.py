"""What re-applying a refused or conflicting change would do to what the license server holds now (issue 21): the
op decided by rental.ops as queueing it again will decide it, compared with the account's verified snapshot, item
by item and field by field. Computed from the replica each time it is shown, never remembered."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping

from rental import ops as decider
from rental.errors import RuleViolation
from rental.opkinds import PRICELIST_VERSION
from rental.ops import ACCOUNT_FIELDS, KINDS, PBX_FIELDS
from rental.reasons import Reason

from .. import projection
from ..sync import item_changes


@dataclass(frozen=True)
class Overrides:
    """Each difference re-applying makes on the server's current state ({"field", "from", "to"}), or the problems
    that would refuse it now; the account revision it was computed on (None: the server does not hold it yet)."""

    changes: tuple[Mapping[str, Any], ...]
    problems: tuple[Reason, ...]
    revision: int | None
    pbx_id: str | None
    pbx_name: str | None
    pbx_gone: bool = False


def fields_again(op, body: dict, state: "projection.AccountState | None") -> dict:
    """The op's fields as they are queued again: its declared fields, without the state and list it was made on
    (renewed by queue()), and fields its declaration renews (R13's consent) taken from state."""
    declared = KINDS[op.kind]
    made_on = ("base_revision", PRICELIST_VERSION.name)  # renewed by queue(): the state and list seen now
    fields = {key: value for key, value in body.items() if key in declared.field_names and key not in made_on}
    if declared.renew is not None and state is not None:
        fields = dict(declared.renew(projection.to_core(state), fields))
    return fields


def overrides(book: projection.Book, op) -> Overrides:
    """What re-applying the op does to the server's current signed state: the op decided by rental.ops as queue()
    will decide it (on this laptop's state, its other queued ops included, so a key loaded since counts for R14),
    then each difference between the account's verified snapshot and that decision, in what the op touches:
    its account fields, its PBX's facts, the PBX's items (an op that sets them, or removes the PBX)."""
    body = json.loads(op.body)
    declared = KINDS[op.kind]
    pbx_id = body.get("pbx_id") if declared.names_pbx else None
    state = book.get(op.account_id)  # the verified snapshot first: what the server holds now
    if state is None or not state.confirmed:
        return Overrides((), (), None, pbx_id, None)
    before = projection.to_core(state)
    held = before.pbxs.get(pbx_id) if pbx_id else None
    pbx_name = held.name if held is not None else (book.pbx_name(op.account_id, pbx_id) if pbx_id else None)
    try:
        _state, decision = book.decide(op.account_id, op.kind, fields_again(op, body, book.pending_state(
            op.account_id) or state))
    except RuleViolation as refusal:  # the core's refusal (Book.decide raises no other)
        return Overrides((), refusal.problems, state.revision, pbx_id, pbx_name, bool(pbx_id) and held is None)
    changes = _differences(before, decision.state, pbx_id, book.pricelist, set(body), items=declared.sets_licenses)
    return Overrides(tuple(changes), (), state.revision, pbx_id, pbx_name)


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
