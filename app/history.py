"""The account's history on the laptop (R25): events the server recorded, pulled at sync and kept for the screens
offline, and the events this laptop's queued ops will make, worded by the same decisions (rental.ops)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rental.reasons import EVENTS, Reason, event_code

from .models import HistoryEvent

#: Events an account's page lists; the full history page lists them all.
SHOWN = 50
BY_KEY = "__by"  # an event made by the customer on their own page (R27), noted in its stored params


@dataclass(frozen=True)
class Line:
    """One line of the history screen: when, what (a reason the screen translates), who; queued when not synced."""

    at: int
    reason: Reason
    technician: str | None
    queued: bool = False
    by: str | None = None  # "technician", "customer" (on their own page, R27) or None (the server itself)
    refused: bool = False  # a queued op the server would refuse now (shown, marked: it makes no event)


@dataclass(frozen=True)
class HistoryView:
    """An account's history (R25) offline: its queued changes on top (newest first, worded as the server will
    record them), then the events the server recorded, newest first."""

    account_id: str
    name: str
    queued: tuple[Line, ...]
    recorded: tuple[Line, ...]
    total: int  # recorded events held on this laptop
    at: int | None = None  # the server's time the view is computed for
    changes_at: int | None = None  # the next second it changes by time alone (a stop, a reload: Figures.changes_at)


class Recorded:
    """The events the server recorded, as pulled to this laptop, in one unit of work (a repository)."""

    def __init__(self, session: Session):
        self._session = session

    def newest_id(self, account_id: str) -> int | None:
        """The highest event id held, so a pull fetches only newer pages."""
        return self._session.scalar(select(func.max(HistoryEvent.event_id))
                                    .where(HistoryEvent.account_id == account_id))

    def store_events(self, account_id: str, events: list, now: int) -> int:
        """Keep recorded events once by their id; skip the unrecorded stop the server adds (the app projects its
        own status live) and anything not shaped as documented."""
        added = 0
        held = self._held_ids(account_id, [raw.get("id") for raw in events if isinstance(raw, dict)])
        for raw in events:
            if not isinstance(raw, dict) or not _is_int(raw.get("id")) or not _is_int(raw.get("at")):
                continue
            kind, params, technician = raw.get("kind"), raw.get("params"), raw.get("technician")
            if kind not in EVENTS or not isinstance(params, dict) or not isinstance(technician, (str, type(None))):
                continue
            if raw["id"] in held:
                continue
            held.add(raw["id"])
            by = raw.get("by")
            if by == "customer":  # R27: kept beside the params (no schema change), read back by recorded()
                params = {**params, BY_KEY: by}
            self._session.add(HistoryEvent(account_id=account_id, event_id=raw["id"], at=raw["at"], kind=kind,
                                     technician=technician, params=json.dumps(params), received_at=now))
            added += 1
        return added

    def _held_ids(self, account_id: str, ids: list) -> set[int]:
        """Which of these event ids this laptop holds already (one query per 500, not one per event)."""
        wanted = sorted({each for each in ids if _is_int(each)})
        held: set[int] = set()
        for start in range(0, len(wanted), 500):
            held.update(self._session.scalars(select(HistoryEvent.event_id).where(
                HistoryEvent.account_id == account_id, HistoryEvent.event_id.in_(wanted[start:start + 500]))))
        return held

    def _pbx_removals(self, account_id: str):
        """The account's recorded PBX removals newest first, as (row, params) for those naming their PBX."""
        query = (select(HistoryEvent).where(HistoryEvent.account_id == account_id, HistoryEvent.kind == "pbx-removed")
                 .order_by(HistoryEvent.event_id.desc()))
        for row in self._session.scalars(query):
            params = json.loads(row.params)
            if isinstance(params.get("pbx_id"), str) and isinstance(params.get("pbx"), str):
                yield row, params

    def pbx_removal(self, account_id: str, pbx_id: str) -> Line | None:
        """The latest recorded removal of one PBX (R19): its name, when and by whom; None when not held."""
        for row, params in self._pbx_removals(account_id):
            if params["pbx_id"] == pbx_id:
                by = params.pop(BY_KEY, None)
                return Line(row.at, Reason("", event_code(row.kind), params), row.technician, by=by)
        return None

    def removed_pbx_names(self, account_id: str) -> dict[str, str]:
        """The names of the account's removed PBXs by id, as their latest removal recorded them: the signed account
        lists only the PBXs it holds now, and a statement's lines of a removed one must still say which it was
        (R25)."""
        names: dict[str, str] = {}
        for _row, params in self._pbx_removals(account_id):
            names.setdefault(params["pbx_id"], params["pbx"])  # newest first: a PBX id removed twice, its latest
        return names

    def recorded(self, account_id: str, limit: int | None = None) -> tuple[list[Line], int]:
        """The account's recorded events newest first (as the server recorded them), at most limit, and how many."""
        total = self._session.scalar(select(func.count()).select_from(HistoryEvent)
                               .where(HistoryEvent.account_id == account_id)) or 0
        query = (select(HistoryEvent).where(HistoryEvent.account_id == account_id)
                 .order_by(HistoryEvent.event_id.desc()))
        if limit is not None:
            query = query.limit(limit)
        lines = []
        for row in self._session.scalars(query):
            params = json.loads(row.params)
            by = params.pop(BY_KEY, None)
            lines.append(Line(row.at, Reason("", event_code(row.kind), params), row.technician, by=by))
        return lines, total


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
