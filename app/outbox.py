"""The outbox (DESIGN §6): ops in creation order with their op_id, kept until their verified result is stored.

Pending set_licenses of one PBX that never left the laptop collapse into the newest desired
state; an op that a sync may have carried is never rewritten (the server may have applied it).
"""

from __future__ import annotations

import json
import uuid

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from rental import ops as _declared  # noqa: F401  (declares the op kinds read below)
from rental.opkinds import KINDS, with_flag
from rental.reasons import Reason

from .models import AccountReplica, OpResult, OutboxOp

PENDING, REJECTED, CONFLICT = "pending", "rejected", "conflict"


#: the reads of every accounts list and account page, built once (building a statement cost SQLAlchemy more than
#: running it: docs/benchmarks.md §16); the values are bound at each run
_ALL_OPS = select(OutboxOp).order_by(OutboxOp.seq)
_OPS_OF_ACCOUNT = _ALL_OPS.where(OutboxOp.account_id == bindparam("id"))
_OPS_OF_ACCOUNTS = select(OutboxOp).where(OutboxOp.account_id.in_(bindparam("ids", expanding=True))).order_by(OutboxOp.seq)
# newest first: by the server's second, then by the revision each op left its account at (same second)
_RECENT = select(OpResult).order_by(OpResult.server_time.desc(), OpResult.revision.desc(), OpResult.received_at.desc(),
                                    OpResult.op_id).limit(bindparam("limit"))
_RECENT_OF_ACCOUNT = select(OpResult).where(OpResult.account_id == bindparam("id")).order_by(
    OpResult.server_time.desc(), OpResult.revision.desc(), OpResult.received_at.desc(), OpResult.op_id
).limit(bindparam("limit"))
_CREATED_OFFLINE = select(OutboxOp).where(OutboxOp.kind.in_(with_flag("opens_account")),
                                          OutboxOp.account_id.not_in(select(AccountReplica.account_id))
                                          ).order_by(OutboxOp.seq)


class Outbox:
    """The queued ops of one unit of work (a repository: the use cases never see its SQL)."""

    def __init__(self, session: Session):
        self._session = session
        self._results: dict[str, OpResult | None] = {}  # results looked up by get_many (None: none stored yet)
        self._new: list[OutboxOp] = []  # queued in this unit of work, not yet collected (UnitOfWork.commit)

    def enqueue(self, kind: str, account_id: str, fields: dict, now: int, *, pbx_id: str | None = None,
                note: str | None = None) -> OutboxOp:
        """Queue an op with a fresh op_id at the end of the outbox (collapsing an unsent desired state of the PBX's
        licenses: its kind's declaration sets_licenses); the unit of work pokes the syncer after its commit."""
        if KINDS[kind].sets_licenses:
            for old in self._session.scalars(select(OutboxOp).where(
                    OutboxOp.kind == kind, OutboxOp.pbx_id == pbx_id, OutboxOp.state == PENDING,
                    OutboxOp.attempts == 0)):
                self._session.delete(old)
            self._session.flush()
        op_id = str(uuid.uuid4())
        body = {"op_id": op_id, "kind": kind, "account_id": account_id, **fields}
        op = OutboxOp(op_id=op_id, kind=kind, account_id=account_id, pbx_id=pbx_id, body=json.dumps(body),
                      created_at=now, state=PENDING, attempts=0, note=note)
        self._session.add(op)
        self._session.flush()
        self._new.append(op)
        return op

    def collect_new_ops(self) -> list[OutboxOp]:
        """The ops queued since the last collection (cosmicpython's collect_new_events): the unit of work hands
        them to its listeners after the commit."""
        new, self._new = self._new, []
        return new

    def all_ops(self, account_id: str | None = None) -> list[OutboxOp]:
        if account_id is None:
            return list(self._session.scalars(_ALL_OPS))
        return list(self._session.scalars(_OPS_OF_ACCOUNT, {"id": account_id}))

    def ops_of_kinds(self, kinds) -> list[OutboxOp]:
        """The ops of these kinds only, in order (one query: the few that carry a key, say)."""
        return list(self._session.scalars(select(OutboxOp).where(OutboxOp.kind.in_(list(kinds))).order_by(OutboxOp.seq)))

    def ops_of_accounts(self, account_ids) -> list[OutboxOp]:
        """The ops of these accounts only, in order (one query: a page of the accounts list)."""
        ids = list(account_ids)
        if not ids:
            return []
        return list(self._session.scalars(_OPS_OF_ACCOUNTS, {"ids": ids}))

    def created_offline(self) -> list[OutboxOp]:
        """create_account ops whose account has no verified snapshot yet (created on this laptop, not synced)."""
        return list(self._session.scalars(_CREATED_OFFLINE))

    def pending(self, account_id: str | None = None) -> list[OutboxOp]:
        return [op for op in self.all_ops(account_id) if op.state == PENDING]

    def get(self, op_id: str) -> OutboxOp | None:
        return self._session.scalars(select(OutboxOp).where(OutboxOp.op_id == op_id)).first()

    def get_many(self, op_ids) -> dict[str, OutboxOp]:
        """The ops of these ids still in the outbox, by id, in one query (a sync batch is at most a few hundred)."""
        ids = list(op_ids)
        if not ids:
            return {}
        # their stored results too (a resend's), so apply_result finds each without a query of its own
        self._results.update({op_id: None for op_id in ids})
        self._results.update({row.op_id: row for row in
                              self._session.scalars(select(OpResult).where(OpResult.op_id.in_(ids)))})
        return {op.op_id: op for op in self._session.scalars(select(OutboxOp).where(OutboxOp.op_id.in_(ids)))}

    def remove(self, op: OutboxOp) -> None:
        self._session.delete(op)

    def mark_attempt(self, ops: list[OutboxOp]) -> None:
        """Before sending: from now on these ops may reach the server, so they are never collapsed or rewritten."""
        for op in ops:
            op.attempts += 1

    def apply_result(self, op: OutboxOp, payload: dict, envelope: object, now: int) -> OpResult:
        """Store a verified op-result; an applied op leaves the outbox in this same transaction."""
        op_id = payload["op_id"]
        result = self._results[op_id] if op_id in self._results else self._session.get(OpResult, op_id)
        if result is None:
            result = OpResult(op_id=op_id)
            self._session.add(result)
            self._results[op_id] = result  # the same result again in this unit of work updates this row
        result.account_id = payload["account_id"]
        result.kind = op.kind
        result.status = payload["status"]
        result.rule = payload.get("rule")
        result.message = payload.get("message")
        result.problems = json.dumps(payload.get("problems") or [])
        result.server_time = payload["server_time"]
        result.revision = payload.get("revision")
        result.envelope = json.dumps(envelope, sort_keys=True)  # verbatim: its warnings (R6) are read back from it
        result.received_at = now
        if payload["status"] == "applied":
            self._session.delete(op)
        else:
            op.state = REJECTED if payload["status"] == "rejected" else CONFLICT
            op.rule = payload.get("rule")
            op.message = payload.get("message")
            op.problems = json.dumps(payload.get("problems") or [])
            op.server_time = payload["server_time"]
        return result

    def recent_results(self, keyring, account_id: str | None = None,
                       limit: int = 50) -> list[tuple[OpResult, tuple[Reason, ...]]]:
        """The newest verified results (of one account, or all) with their warnings, read from the signed envelope.

        The envelope is verified again on the way out: what the UI shows is what the server signed.
        """
        found = []
        query, values = (_RECENT, {"limit": limit}) if account_id is None else (
            _RECENT_OF_ACCOUNT, {"limit": limit, "id": account_id})
        for row in self._session.scalars(query, values):
            try:
                payload = keyring.verify_envelope(json.loads(row.envelope), "op-result")
            except Exception:  # a key rotated out since, or a damaged row: the result stays, its warnings cannot
                payload = {}
            found.append((row, warnings_of(payload)))
        return found


def warnings_of(payload: dict) -> tuple[Reason, ...]:
    """The warnings a verified op-result carries, as reasons (rule, code, params); anything odd is dropped."""
    return reasons_of(payload.get("warnings"))


def problems_of(text: str | None) -> tuple[Reason, ...]:
    """The problems stored with a refused op or result (JSON list of reasons)."""
    try:
        return reasons_of(json.loads(text)) if text else ()
    except ValueError:
        return ()


def reasons_of(found) -> tuple[Reason, ...]:
    if not isinstance(found, list):
        return ()
    return tuple(Reason.from_dict(each) for each in found
                 if isinstance(each, dict) and isinstance(each.get("code"), str)
                 and isinstance(each.get("params", {}), dict))
