"""Reading and writing the account aggregate (account row, PBXs, rented lines) and its append-only ledger.

The hot path of /sync: plain SQL (db.Sql), few statements per op, many rows per statement.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from sqlalchemy import Connection

from rental import billing, reload
from rental.billing import Entry, Line
from rental.reload import Deposit

from . import notices, reminders
from .config import Settings
from .db import Sql, in_list, is_sqlite

ACCOUNT_COLUMNS = (
    "id, partner, name, contact_email, cloud_contract, language, revision, as_of, balance_ticks, rate_ticks_per_s, "
    "suspended, deleted, depletes_at, last_activity_at, price_version, reminder_sent_at, reminder_due_at, "
    "retention_warned_for, created_at, terms_version, terms_accepted_by, terms_accepted_at, auto_reload_days, "
    "reload_at, customer_link_generation, customer_link_at, edited"
)
_BOOLEANS = ("cloud_contract", "suspended", "deleted")  # SQLite answers 0/1


@dataclass
class AccountRecord:
    """An account as stored: its row, PBXs by id and rented lines."""

    row: dict[str, Any]
    pbxs: dict[str, dict[str, Any]] = field(default_factory=dict)
    lines: tuple[Line, ...] = ()
    deposits: tuple[Deposit, ...] = ()  # keys held for the account (R24), oldest first

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


def _account(row) -> dict[str, Any]:
    found = dict(row)
    for key in _BOOLEANS:
        found[key] = bool(found[key])
    return found


def load(connection: Connection, account_id: str, *, for_update: bool = False) -> AccountRecord | None:
    """One account with its PBXs and lines; for_update locks the row on PostgreSQL (SQLite holds the write lock)."""
    return load_many(connection, [account_id], for_update=for_update).get(account_id)


_ACCOUNT_FIELDS = tuple(column.strip() for column in ACCOUNT_COLUMNS.split(","))
_PBX_FIELDS = ("pbx_id", "name", "serial", "platform", "hardware_model", "firmware", "mode", "revision")
_JOINED = (", ".join(f"a.{c}" for c in _ACCOUNT_FIELDS) + ", " + ", ".join(f"p.{c}" for c in _PBX_FIELDS)
           + ", l.ref, l.qty, l.monthly_milli, l.price_version")


def load_many(connection: Connection, account_ids: Iterable[str], *, for_update: bool = False) -> dict[str, AccountRecord]:
    """Several accounts with their PBXs and lines in one query; for_update locks them in id order
    (so two batches never deadlock on accounts)."""
    ids = sorted(set(account_ids))
    if not ids:
        return {}
    marks, params = in_list("a", ids)
    lock = " FOR UPDATE OF a" if for_update and not is_sqlite(connection.engine) else ""
    rows = Sql.of(f"SELECT {_JOINED} FROM accounts a "
               "LEFT JOIN pbxs p ON p.account_id = a.id "
               "LEFT JOIN licenses l ON l.account_id = p.account_id AND l.pbx_id = p.pbx_id "
               f"WHERE a.id IN ({marks}) ORDER BY a.id, p.pbx_id, l.ref{lock}").run(connection, params)
    records: dict[str, AccountRecord] = {}
    lines: dict[str, list[Line]] = {}
    accounts, pbxs = len(_ACCOUNT_FIELDS), len(_ACCOUNT_FIELDS) + len(_PBX_FIELDS)
    for row in rows:
        account_id = row[0]
        record = records.get(account_id)
        if record is None:
            record = records[account_id] = AccountRecord(_account(zip(_ACCOUNT_FIELDS, row[:accounts])))
        pbx_id = row[accounts]
        if pbx_id is not None and pbx_id not in record.pbxs:
            record.pbxs[pbx_id] = {"account_id": account_id, **dict(zip(_PBX_FIELDS, row[accounts:pbxs]))}
        ref, qty, monthly_milli, price_version = row[pbxs:]
        if ref is not None:
            lines.setdefault(account_id, []).append(Line(pbx_id, ref, qty, monthly_milli, price_version))
    for account_id, found in lines.items():
        records[account_id].lines = tuple(found)
    held: dict[str, list[Deposit]] = {}
    for account_id, key_id, amount_milli, deposited_at in Sql.of(
            "SELECT account_id, key_id, amount_milli, deposited_at FROM redeemed_keys "
            f"WHERE held AND account_id IN ({marks})").run(connection, params):
        held.setdefault(account_id, []).append(Deposit(deposited_at, key_id, amount_milli))
    for account_id, found in held.items():
        if account_id in records:
            records[account_id].deposits = reload.ordered(found)
    return records


def load_partner(connection: Connection, partner: str) -> dict[str, AccountRecord]:
    """The partner's accounts, oldest first."""
    ids = [row[0] for row in Sql("SELECT id FROM accounts WHERE partner = :p ORDER BY created_at, id").run(
        connection, {"p": partner})]
    found = load_many(connection, ids)
    return {account_id: found[account_id] for account_id in ids}


def state_columns(state: billing.Account, row: dict[str, Any], settings: Settings,
                  deposits: tuple[Deposit, ...] = (), prices=None) -> dict[str, Any]:
    """The account row's columns that follow from the running state, reminder schedule included (R20): the
    reminders hang off the end counting the keys automatic reload will redeem (R24), so held keys that cover
    the weeks ahead keep the customer from being told to buy."""
    depletes_at = state.depletes_at
    days = row.get("auto_reload_days") or 0
    ends_at = reload.ends_at(state, deposits, days, settings.policy, prices) if days and deposits else depletes_at
    return {
        "as_of": state.as_of,
        "balance_ticks": state.balance,
        "rate_ticks_per_s": state.rate,
        "suspended": state.suspended,
        "deleted": state.deleted,
        "depletes_at": depletes_at,
        "last_activity_at": state.last_activity_at,
        "price_version": state.price_version,
        "reminder_due_at": reminders.next_due_at(ends_at, row["reminder_sent_at"], settings.REMINDER_WEEKS,
                                                 settings.REMINDER_LAST_S),
        "reload_at": reload.next_reload_at(state, days, deposits),
    }


_UPDATABLE = ("name", "contact_email", "cloud_contract", "language", "revision", "as_of", "balance_ticks",
              "rate_ticks_per_s", "suspended", "deleted", "depletes_at", "last_activity_at", "price_version",
              "reminder_sent_at", "reminder_due_at", "retention_warned_for", "auto_reload_days", "reload_at", "edited")
UPDATE_ACCOUNT = Sql("UPDATE accounts SET " + ", ".join(f"{c} = :{c}" for c in _UPDATABLE) + " WHERE id = :id")


@functools.lru_cache(maxsize=256)
def update_account(columns: tuple[str, ...]) -> Sql:
    """UPDATE of the account row's columns given (all of _UPDATABLE: UPDATE_ACCOUNT)."""
    if columns == _UPDATABLE:
        return UPDATE_ACCOUNT
    return Sql("UPDATE accounts SET " + ", ".join(f"{c} = :{c}" for c in columns) + " WHERE id = :id")
INSERT_ACCOUNT = Sql(f"INSERT INTO accounts ({ACCOUNT_COLUMNS}) VALUES ("
                     + ", ".join(":" + c.strip() for c in ACCOUNT_COLUMNS.split(",")) + ")")


#: Columns a new account starts with unless given: nothing mailed yet, no terms accepted (R20, R19, R26).
NEW_ACCOUNT = {"reminder_sent_at": None, "reminder_due_at": None, "retention_warned_for": None,
               "terms_version": None, "terms_accepted_by": None, "terms_accepted_at": None,
               "auto_reload_days": 0, "reload_at": None, "customer_link_generation": 0, "edited": "{}"}


def insert_account(connection: Connection, row: dict[str, Any]) -> AccountRecord:
    row = {**NEW_ACCOUNT, "customer_link_at": row.get("created_at"), **row}  # a link from its creation (R27)
    INSERT_ACCOUNT.run(connection, row)
    return AccountRecord(dict(row))


class Bulk:
    """A statement run for many rows at once: executemany on SQLite (in-process, at C speed); on PostgreSQL, for more
    than one row, one statement over unnest() of one array per column, so the server parses, binds and runs it once
    rather than once per row (a batch of 100 set_licenses writes about 430 rows: issue 27). Rows inserted with an
    id keep their order (WITH ORDINALITY ... ORDER BY): the history and the ledger are read back by id. The arrays
    travel in binary (psycopg's text form of an array quotes each element after a regular expression search: five
    times the CPU of executemany for 100 rows, against a fifth of it in binary)."""

    def __init__(self, plain: str, pg: str, columns: tuple[str, ...]):
        self.plain, self.pg, self.columns = Sql(plain), Sql(pg), columns
        self.pg.pyformat = re.sub(r"%\((\w+)\)s::", r"%(\1)b::", self.pg.pyformat)  # the arrays in binary

    def run(self, connection: Connection, rows: list[dict[str, Any]]) -> None:
        if len(rows) > 1 and connection.dialect.name == "postgresql":
            self.pg.run(connection, {column: [row[column] for row in rows] for column in self.columns})
        else:
            self.plain.run(connection, rows)


def _arrays(columns: tuple[tuple[str, str], ...]) -> str:
    return ", ".join(f":{name}::{kind}[]" for name, kind in columns)


def bulk_insert(table: str, columns: tuple[tuple[str, str], ...], *, ordered: bool = False) -> Bulk:
    """INSERT of rows (columns: name and PostgreSQL type each); ordered: ids given in the rows' order."""
    names = ", ".join(name for name, _ in columns)
    plain = f"INSERT INTO {table} ({names}) VALUES ({', '.join(':' + name for name, _ in columns)})"
    if ordered:
        pg = (f"INSERT INTO {table} ({names}) SELECT {names} FROM unnest({_arrays(columns)}) WITH ORDINALITY "
              f"AS v({names}, n) ORDER BY n")
    else:
        pg = f"INSERT INTO {table} ({names}) SELECT {names} FROM unnest({_arrays(columns)}) AS v({names})"
    return Bulk(plain, pg, tuple(name for name, _ in columns))


def bulk_update(table: str, keys: tuple[tuple[str, str], ...], values: tuple[tuple[str, str], ...]) -> Bulk:
    """UPDATE of rows by their keys (name and PostgreSQL type each), setting values (none: a DELETE)."""
    where = " AND ".join(f"{name} = :{name}" for name, _ in keys)
    both = keys + values
    names = ", ".join(name for name, _ in both)
    on = " AND ".join(f"t.{name} = v.{name}" for name, _ in keys)
    if not values:
        return Bulk(f"DELETE FROM {table} WHERE {where}",
                    f"DELETE FROM {table} AS t USING unnest({_arrays(both)}) AS v({names}) WHERE {on}",
                    tuple(name for name, _ in both))
    plain = f"UPDATE {table} SET {', '.join(f'{name} = :{name}' for name, _ in values)} WHERE {where}"
    pg = (f"UPDATE {table} AS t SET {', '.join(f'{name} = v.{name}' for name, _ in values)} "
          f"FROM unnest({_arrays(both)}) AS v({names}) WHERE {on}")
    return Bulk(plain, pg, tuple(name for name, _ in both))


class Writes:
    """Account rows and ledger lines a batch writes at its end, many per statement (fewer round trips).

    Only writes nothing in the batch reads back go here: an account's row (the batch works on it
    in memory, locked) and ledger lines. Lines, PBXs and R6 history are written at once.
    """

    def __init__(self) -> None:
        self.accounts: dict[str, dict[str, Any]] = {}
        self.ledger: list[dict[str, Any]] = []
        self.mails: list[dict[str, Any]] = []  # stops and resumes for the sweep to mail (R18)
        #: by account: its lines as stored and the record whose lines are now the truth (written as one diff)
        self.lines: dict[str, tuple[tuple[Line, ...], AccountRecord]] = {}
        #: by (account, PBX): the PBX row to write (its latest; its key never changes)
        self.pbxs: dict[tuple[str, str], dict[str, Any]] = {}
        #: by account: its updatable columns as stored, to write only those that changed
        self.stored: dict[str, dict[str, Any]] = {}

    def lines_of(self, record: AccountRecord) -> None:
        """The record's lines change: write the difference from what is stored at flush."""
        self.lines.setdefault(record.id, (record.lines, record))

    def flush(self, connection: Connection) -> None:
        changes: tuple[list, list, list] = ([], [], [])  # every account's lines, one statement per kind of change
        for stored, record in self.lines.values():
            for found, more in zip(changes, line_changes(record.id, stored, record.lines)):
                found += more
        _write_lines(connection, changes)
        if self.pbxs:
            UPDATE_PBXS.run(connection, list(self.pbxs.values()))
        if self.accounts:
            # each account row with the columns that changed only (revision always does): SQLite rewrites the
            # entries of every index over a column set, changed or not; one statement per set of columns
            by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
            for account_id, row in self.accounts.items():
                stored = self.stored.get(account_id)
                columns = tuple(key for key in _UPDATABLE if stored is None or row[key] != stored[key]
                                or type(row[key]) is not type(stored[key]))
                by_columns.setdefault(columns, []).append(row)
            for columns, rows in by_columns.items():
                update_account(columns).run(connection, rows)
        if self.ledger:
            INSERT_LEDGER_ROWS.run(connection, self.ledger)
        if self.mails:
            notices.INSERT_WAITING.run(connection, self.mails)
        self.accounts, self.ledger, self.mails, self.lines, self.pbxs, self.stored = {}, [], [], {}, {}, {}


def save(connection: Connection, record: AccountRecord, settings: Settings, *, state: billing.Account | None = None,
         entries: Iterable[Entry] = (), writes: Writes | None = None, mails: Iterable[dict[str, Any]] = (),
         prices=None, **columns: Any) -> int:
    """Write a change of the account: one revision up, new running state, lines and ledger; returns the revision.

    Set record.deposits first when they changed (R24); mails are the stops and resumes (R18) the decision found
    (notices.from_events: the same events its history records); prices, the lists published (the reloads ahead
    re-rate at them, R24).

    With writes, the account row and ledger lines wait for writes.flush() (before the commit).
    """
    row = record.row
    pending = writes or Writes()
    if record.id not in pending.accounts:  # its columns as stored (the batch writes each account row once)
        pending.stored[record.id] = {key: row[key] for key in _UPDATABLE}
    row.update(columns)
    if state is not None or "auto_reload_days" in columns:
        state = state if state is not None else record.state()
        row.update(state_columns(state, row, settings, record.deposits, prices))
        if writes is None:
            save_lines(connection, record.id, record.lines, state.lines)
        else:
            writes.lines_of(record)  # written at flush, one difference per account and batch
        record.lines = state.lines
    pending.mails += mails
    row["revision"] += 1
    pending.accounts[record.id] = {key: row[key] for key in (*_UPDATABLE, "id")}
    pending.ledger += [ledger_row(record.id, entry) for entry in entries if entry.ticks or entry.seconds]
    if writes is None:
        pending.flush(connection)
    return row["revision"]


def _line_params(account_id: str, line: Line) -> dict[str, Any]:
    return {"account_id": account_id, "pbx_id": line.pbx_id, "ref": line.ref, "qty": line.qty,
            "monthly_milli": line.monthly_milli, "price_version": line.price_version}


_LINE_KEY = (("account_id", "text"), ("pbx_id", "text"), ("ref", "text"))
_LINE_VALUES = (("qty", "int"), ("monthly_milli", "bigint"), ("price_version", "text"))
DELETE_LINES = bulk_update("licenses", _LINE_KEY, ())
INSERT_LINES = bulk_insert("licenses", _LINE_KEY + _LINE_VALUES)
UPDATE_LINES = bulk_update("licenses", _LINE_KEY, _LINE_VALUES)
UPDATE_PBXS = bulk_update("pbxs", (("account_id", "text"), ("pbx_id", "text")), (
    ("name", "text"), ("serial", "text"), ("platform", "text"), ("hardware_model", "text"), ("firmware", "text"),
    ("mode", "text"), ("revision", "int")))


def line_changes(account_id: str, old: Iterable[Line], new: Iterable[Line]) -> tuple[list, list, list]:
    """The difference between two sets of rented lines: the rows gone, added and changed."""
    before = {(line.pbx_id, line.ref): line for line in old}
    after = {(line.pbx_id, line.ref): line for line in new}
    gone = [{"account_id": account_id, "pbx_id": pbx_id, "ref": ref} for pbx_id, ref in before if (pbx_id, ref) not in after]
    added = [_line_params(account_id, line) for key, line in after.items() if key not in before]
    changed = [_line_params(account_id, line) for key, line in after.items()
               if key in before and before[key] is not line and before[key] != line]
    return gone, added, changed


def _write_lines(connection: Connection, changes: tuple[list, list, list]) -> None:
    for statement, params in zip((DELETE_LINES, INSERT_LINES, UPDATE_LINES), changes):
        if params:
            statement.run(connection, params)


def save_lines(connection: Connection, account_id: str, old: Iterable[Line], new: Iterable[Line]) -> None:
    """Apply the difference between two sets of rented lines (one statement per kind of change)."""
    _write_lines(connection, line_changes(account_id, old, new))


LEDGER_COLUMNS = ("account_id", "kind", "at", "ticks", "pbx_id", "ref", "qty", "period_start", "period_end",
                  "seconds", "rate", "price_version", "key_id", "auto")
INSERT_LEDGER = Sql(f"INSERT INTO ledger ({', '.join(LEDGER_COLUMNS)}) VALUES ({', '.join(':' + c for c in LEDGER_COLUMNS)})")
_LEDGER_TYPES = {"account_id": "text", "kind": "text", "at": "bigint", "ticks": "bigint", "pbx_id": "text",
                 "ref": "text", "qty": "int", "period_start": "bigint", "period_end": "bigint", "seconds": "bigint",
                 "rate": "bigint", "price_version": "text", "key_id": "text", "auto": "boolean"}
#: a batch's ledger lines in one statement on PostgreSQL, in order (the ledger is read back by id)
INSERT_LEDGER_ROWS = bulk_insert("ledger", tuple((name, _LEDGER_TYPES[name]) for name in LEDGER_COLUMNS), ordered=True)


def ledger_row(account_id: str, entry: Entry) -> dict[str, Any]:
    """A ledger line (the ledger is append-only: never updated, never deleted, R25)."""
    return {
        "account_id": account_id, "kind": entry.kind, "at": entry.at, "ticks": entry.ticks,
        "pbx_id": entry.pbx_id, "ref": entry.ref, "qty": entry.qty, "period_start": entry.start,
        "period_end": entry.end, "seconds": entry.seconds, "rate": entry.rate,
        "price_version": entry.price_version, "key_id": entry.key_id, "auto": entry.auto,
    }
