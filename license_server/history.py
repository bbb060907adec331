"""The account's history (R25): the events each op's decision names, stored in the op's transaction, plus the
stops and expiries the sweep makes; read newest first, paged like the ledger."""

from __future__ import annotations

import json
from typing import Any, Iterable

from sqlalchemy import Connection, select

from rental import ops as decider
from rental.money import TICKS_PER_MILLI
from rental.reasons import event_code, render

from . import models
from .db import Sql

H = models.history.c
INSERT_EVENT = Sql("INSERT INTO history (account_id, at, kind, technician, op_id, params, actor) "
                   "VALUES (:account_id, :at, :kind, :technician, :op_id, :params, :actor)")
TECHNICIAN, CUSTOMER = "technician", "customer"  # who made an event (the API's `by`); None: the server itself


def rows(account_id: str, events: Iterable[decider.Event], now: int, technician: str | None = None,
         op_id: str | None = None, by: str | None = None) -> list[dict[str, Any]]:
    """The rows an op's (or the sweep's) events make: at their own second, else at the op's; `by` says who made
    them (a technician's op by default when a technician is named)."""
    actor = by if by is not None else (TECHNICIAN if technician is not None else None)
    return [{"account_id": account_id, "at": now if event.at is None else event.at, "kind": event.kind,
             "technician": technician, "op_id": op_id, "params": _SORTED(dict(event.params)), "actor": actor}
            for event in events]


#: json.dumps(..., sort_keys=True) without building its encoder per call (one history line per op of a batch)
_SORTED = json.JSONEncoder(sort_keys=True).encode


def expiry_rows(found: Iterable[tuple[str, int, int]]) -> list[dict[str, Any]]:
    """R19: (account_id, second of expiry, balance in ticks) as history rows, the amount rounded down as shown."""
    return [{"account_id": account_id, "at": at, "kind": "expired", "technician": None, "op_id": None,
             "params": json.dumps({"amount_milli": ticks // TICKS_PER_MILLI}), "actor": None}
            for account_id, at, ticks in found]


def as_json(event_id: int | None, at: int, kind: str, technician: str | None, params: dict[str, Any],
            by: str | None = None) -> dict:
    """One event as the API answers it (DESIGN §5): clients translate from code and params, never from message;
    `by` is "technician", "customer" (R27, no technician then) or null (the server itself)."""
    code = event_code(kind)
    return {"id": event_id, "at": at, "kind": kind, "technician": technician, "by": by, "code": code,
            "params": params, "message": render(code, params)}


def with_unrecorded_stop(events: list[dict], row: dict[str, Any], now: int) -> list[dict]:
    """Page one as of now: a stop whose second has passed before the sweep wrote it comes first (every answer is
    as of the server's now)."""
    if not row["deleted"] and not row["suspended"] and row["depletes_at"] is not None and row["depletes_at"] <= now:
        return [as_json(None, row["depletes_at"], "suspended", None, {}), *events]
    return events


def removed_pbx_names(connection: Connection, account_id: str) -> dict[str, str]:
    """The names of the account's removed PBXs by id, as their removal recorded them: the account lists only the
    PBXs it holds now, and a statement's lines of a removed one must still say which it was (R25)."""
    names: dict[str, str] = {}
    for raw in connection.execute(select(H.params).where(H.account_id == account_id, H.kind == "pbx-removed")
                                  .order_by(H.id)).scalars():
        params = json.loads(raw)
        if isinstance(params.get("pbx_id"), str) and isinstance(params.get("pbx"), str):
            names[params["pbx_id"]] = params["pbx"]
    return names


def page(connection: Connection, account_id: str, limit: int, before: int | None) -> tuple[list[dict], int | None]:
    """Recorded events newest first (by id: the order they were recorded), at most limit, older than before."""
    query = select(models.history).where(H.account_id == account_id)
    if before is not None:
        query = query.where(H.id < before)
    found = connection.execute(query.order_by(H.id.desc()).limit(limit + 1)).mappings().all()
    more = len(found) > limit
    found = found[:limit]
    events = [as_json(row["id"], row["at"], row["kind"], row["technician"], json.loads(row["params"]), row["actor"])
              for row in found]
    return events, found[-1]["id"] if more else None
