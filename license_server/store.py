"""Reading and writing the account aggregate (account row, PBXs, rented lines) and its append-only ledger."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from sqlalchemy import Connection, delete, insert, select, update

from rental import billing
from rental.billing import Entry, Line

from . import models, reminders
from .config import Settings
from .db import is_sqlite

A = models.accounts.c
P = models.pbxs.c
L = models.licenses.c


@dataclass
class AccountRecord:
    """An account as stored: its row, PBXs by id (in registration order) and rented lines."""

    row: dict[str, Any]
    pbxs: dict[str, dict[str, Any]] = field(default_factory=dict)
    lines: tuple[Line, ...] = ()

    @property
    def id(self) -> str:
        return self.row["id"]

    def state(self) -> billing.Account:
        """The running state the core computes with (DESIGN §3)."""
        row = self.row
        return billing.Account(
            as_of=row["as_of"], balance=row["balance_ticks"], lines=self.lines, suspended=row["suspended"],
            deleted=row["deleted"], last_activity_at=row["last_activity_at"], price_version=row["price_version"],
        )


def _line(row: Any) -> Line:
    return Line(pbx_id=row.pbx_id, ref=row.ref, qty=row.qty, monthly_milli=row.monthly_milli,
                price_version=row.price_version)


def load(connection: Connection, account_id: str, *, for_update: bool = False) -> AccountRecord | None:
    """One account with its PBXs and lines; for_update locks the row on PostgreSQL (SQLite holds the write lock)."""
    query = select(models.accounts).where(A.id == account_id)
    if for_update and not is_sqlite(connection.engine):
        query = query.with_for_update()
    row = connection.execute(query).mappings().first()
    if row is None:
        return None
    return _fill(connection, {account_id: AccountRecord(dict(row))})[account_id]


def load_many(connection: Connection, account_ids: Iterable[str]) -> dict[str, AccountRecord]:
    """Several accounts in three queries, whatever their number."""
    ids = list(dict.fromkeys(account_ids))
    if not ids:
        return {}
    rows = connection.execute(select(models.accounts).where(A.id.in_(ids))).mappings().all()
    return _fill(connection, {row["id"]: AccountRecord(dict(row)) for row in rows})


def load_partner(connection: Connection, partner: str) -> dict[str, AccountRecord]:
    rows = connection.execute(select(models.accounts).where(A.partner == partner).order_by(A.created_at, A.id))
    return _fill(connection, {row["id"]: AccountRecord(dict(row)) for row in rows.mappings()})


def _fill(connection: Connection, records: dict[str, AccountRecord]) -> dict[str, AccountRecord]:
    if not records:
        return records
    ids = list(records)
    for pbx in connection.execute(select(models.pbxs).where(P.account_id.in_(ids)).order_by(P.account_id, P.pbx_id)).mappings():
        records[pbx["account_id"]].pbxs[pbx["pbx_id"]] = dict(pbx)
    lines: dict[str, list[Line]] = {}
    for row in connection.execute(select(models.licenses).where(L.account_id.in_(ids)).order_by(L.pbx_id, L.ref)):
        lines.setdefault(row.account_id, []).append(_line(row))
    for account_id, found in lines.items():
        records[account_id].lines = tuple(found)
    return records


def state_columns(state: billing.Account, row: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """The account row's columns that follow from the running state, reminder schedule included (R20)."""
    depletes_at = state.depletes_at
    return {
        "as_of": state.as_of,
        "balance_ticks": state.balance,
        "rate_ticks_per_s": state.rate,
        "suspended": state.suspended,
        "deleted": state.deleted,
        "depletes_at": depletes_at,
        "last_activity_at": state.last_activity_at,
        "price_version": state.price_version,
        "reminder_due_at": reminders.next_due_at(depletes_at, row["reminder_level"], settings.REMINDER_WEEKS,
                                                 settings.REMINDER_LAST_S),
    }


def save(connection: Connection, record: AccountRecord, settings: Settings, *, state: billing.Account | None = None,
         entries: Iterable[Entry] = (), **columns: Any) -> int:
    """Write a change of the account: one revision up, new running state, lines and ledger; returns the revision."""
    row = record.row
    values = dict(columns)
    row.update(values)  # episode/reminder_level may change before the schedule is derived
    if state is not None:
        values.update(state_columns(state, row, settings))
        save_lines(connection, record.id, record.lines, state.lines)
        record.lines = state.lines
    values["revision"] = row["revision"] + 1
    connection.execute(update(models.accounts).where(A.id == record.id).values(**values))
    row.update(values)
    append_ledger(connection, record.id, entries)
    return values["revision"]


def save_lines(connection: Connection, account_id: str, old: Iterable[Line], new: Iterable[Line]) -> None:
    """Apply the difference between two sets of rented lines."""
    before = {(line.pbx_id, line.ref): line for line in old}
    after = {(line.pbx_id, line.ref): line for line in new}
    gone = [key for key in before if key not in after]
    for pbx_id, ref in gone:
        connection.execute(delete(models.licenses).where(
            L.account_id == account_id, L.pbx_id == pbx_id, L.ref == ref))
    added = [line for key, line in after.items() if key not in before]
    if added:
        connection.execute(insert(models.licenses), [
            {"account_id": account_id, "pbx_id": line.pbx_id, "ref": line.ref, "qty": line.qty,
             "monthly_milli": line.monthly_milli, "price_version": line.price_version} for line in added])
    for key, line in after.items():
        old_line = before.get(key)
        if old_line is not None and old_line != line:
            connection.execute(update(models.licenses).where(
                L.account_id == account_id, L.pbx_id == line.pbx_id, L.ref == line.ref,
            ).values(qty=line.qty, monthly_milli=line.monthly_milli, price_version=line.price_version))


def append_ledger(connection: Connection, account_id: str, entries: Iterable[Entry]) -> None:
    """Append entries to the ledger (never updated, never deleted: R25)."""
    rows = [ledger_row(account_id, entry) for entry in entries if entry.ticks or entry.seconds]
    if rows:
        connection.execute(insert(models.ledger), rows)


def ledger_row(account_id: str, entry: Entry) -> dict[str, Any]:
    return {
        "account_id": account_id, "kind": entry.kind, "at": entry.at, "ticks": entry.ticks,
        "pbx_id": entry.pbx_id, "ref": entry.ref, "qty": entry.qty, "period_start": entry.start,
        "period_end": entry.end, "seconds": entry.seconds, "rate": entry.rate,
        "price_version": entry.price_version, "key_id": entry.key_id,
    }
