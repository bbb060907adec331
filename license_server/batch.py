"""Applying ops (DESIGN §5): one handler per kind, every decision by `rental`.

A /sync batch is one transaction with its accounts locked, applied op by op in order. A handler
decides before it writes, so a refused op leaves everything untouched and its stored result is
all it adds; a constraint violation (a concurrent batch stored the same op or account first)
rolls the whole batch back and runs it again. The one decision a database makes is whether an
activation key was redeemed before (a primary key, R11).

On SQLite, whose writers take turns, a batch of several ops that write nothing before its end is decided (and its
results signed) on a read snapshot first, then written under the writers' lock only when everything it read is
still the same there (decide_unlocked, Batch.still_holds); otherwise it is decided again under the lock.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError, OperationalError

from rental import ops as decider
from rental import rules
from rental.errors import RuleViolation, SignatureError
from rental.reasons import Reason
from rental.validation import shown, type_code

from . import history, notices, store, terms
from .auth import Caller
from .context import CurrentPrices, ServerContext
from .db import Sql, in_list, is_sqlite, reading, writing
from .envelopes import op_result_payload
from .opschema import check_fields, is_uuid, validate

APPLIED, REJECTED, CONFLICT = decider.APPLIED, decider.REJECTED, decider.CONFLICT
KINDS = decider.KINDS  # each op kind's one declaration (rental.opkinds): fields, decision, flags


def _refusal(code: str, status: str = REJECTED, **params: Any) -> RuleViolation:
    """A refusal the server decides before the core is asked (shape, access)."""
    return RuleViolation(Reason.of(code, **params), status=status)


@dataclass
class Outcome:
    result: dict  # the signed op-result envelope
    account_id: str | None  # the account to answer with, when the caller may see it
    text: str | None = None  # the envelope as JSON text, when the batch wrote it (stored and answered as is)
    #: the payload's (status, code) when this request signed it, for the op-result metrics (license_server.metrics)
    #: without decoding what was just encoded; None for a stored result answered again
    counted: tuple[str, str | None] | None = None

    def json(self) -> str:
        return self.text if self.text is not None else json.dumps(self.result)


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode  # json.dumps' own


def op_digest(op: dict[str, Any]) -> str:
    """What makes two ops with one op_id the same op."""
    return hashlib.sha256(_CANONICAL(op).encode()).hexdigest()


def _checked(op: dict[str, Any]) -> tuple[dict[str, Any], Reason | None] | None:
    """The op's fields as validate() cleans them, or the reason it refuses them: a pure check of the op alone, made
    before the write lock is taken (the batch raises it in the op's turn, after the access check, as before); None
    when the check itself fails (validate() then runs in the op's turn, failing there as it always did)."""
    try:
        values, problems = check_fields(op["kind"], op)
    except Exception:  # noqa: BLE001 - not ours to judge here: the op's turn raises it
        return None
    return values, problems[0][1] if problems else None


@dataclass
class BatchResult:
    outcomes: list[Outcome]
    records: dict[str, store.AccountRecord]  # every account the batch read, as committed
    prices: CurrentPrices | None


def apply_ops(ctx: ServerContext, caller: Caller, ops: list[Any], now: int, client_id: str = "") -> BatchResult:
    """Apply a batch in order, in one database transaction (a refused op changes nothing); client_id names the
    laptop that sent it (its own earlier edits never clash with its later ones, edit-conflict)."""
    outcomes, todo = prepare(ctx, ops, now)
    if not todo:
        with reading(ctx.engine) as connection:
            return BatchResult(outcomes, {}, ctx.current_prices(connection))
    keys = _verify_keys(ctx, [op for _, op, _, _ in todo])
    batch, applied, prices = commit(ctx, caller, todo, now, keys, client_id,
                                    decide_unlocked(ctx, caller, todo, now, keys, client_id))
    for (index, _, _, _), outcome in zip(todo, applied):
        outcomes[index] = outcome
    return BatchResult(outcomes, batch.records, prices)


def prepare(ctx: ServerContext, ops: list[Any], now: int) -> tuple[list[Outcome | None], list[tuple]]:
    """What needs no database: the refusals of ops that cannot be stored (by position), and the others as
    (position, op, digest, _checked(op))."""
    outcomes: list[Outcome | None] = [None] * len(ops)
    todo: list[tuple[int, dict, str, tuple | None]] = []
    for index, op in enumerate(ops):
        problem = _shape_problem(op)
        if problem is None:
            todo.append((index, op, op_digest(op), _checked(op)))
        else:
            fields = op if isinstance(op, dict) else {}
            outcomes[index] = _unstored(ctx, fields.get("op_id"), fields.get("account_id"), now, problem)
    return outcomes, todo


def commit(ctx: ServerContext, caller: Caller, todo: list[tuple], now: int, keys: dict[str, Any], client_id: str,
           early: tuple["Batch", list[Outcome]] | None = None) -> tuple["Batch", list[Outcome], CurrentPrices | None]:
    """Decide (unless decided early and still so: decide_unlocked) and write the batch in one write transaction."""
    for attempt in range(4):
        try:
            with writing(ctx.engine) as connection:
                prices = ctx.current_prices(connection)
                if early is not None and early[0].still_holds(connection, prices):
                    batch, applied = early  # decided on exactly what the lock now shows: only the writes are left
                    batch.locked(connection)
                else:
                    batch = Batch(ctx, connection, caller, now, prices, [op for _, op, _, _ in todo], keys, client_id)
                    applied = [batch.apply(op, digest, checked) for _, op, digest, checked in todo]
                early = None  # a retry decides under the lock
                batch.flush()
            break
        except (IntegrityError, OperationalError) as exc:
            # Another batch stored one of these op_ids or created one of these accounts first (a key or a
            # unique constraint says so), or two batches' key inserts deadlocked: nothing was committed,
            # and the next attempt reads what the other batch committed and answers accordingly.
            retry = isinstance(exc, IntegrityError) or getattr(exc.orig, "sqlstate", None) in ("40P01", "40001")
            if attempt == 3 or not retry:
                raise
    return batch, applied, prices


class NeedsLock(Exception):
    """A batch decided before the write lock reached an op that writes at once (a key, a new account, a PBX coming
    or going, a held key used or given back): it is decided again under the lock."""


#: Kinds whose applied ops write at once (a key's row, a new account's, a PBX coming or going): a batch holding one
#: is decided under the lock from the start (any other op that must write at once sends it there: NeedsLock).
_WRITE_AT_ONCE = frozenset([*(name for name, kind in KINDS.items() if kind.carries_key or kind.opens_account),
                            "register_pbx", "remove_pbx"])


def decide_unlocked(ctx: ServerContext, caller: Caller, todo: list[tuple], now: int, keys: dict[str, Any],
                    client_id: str = "") -> tuple["Batch", list[Outcome]] | None:
    """SQLite, a batch of several ops: decide and sign every op in a read transaction, before taking the writers'
    lock, and leave the writes for later (issue 27: SQLite has one writer at a time, so a batch decided under the
    lock kept the other gunicorn worker waiting for all of it, two thirds of a batch's CPU). Under the lock,
    Batch.still_holds() reads again all the batch read (the accounts with their PBXs, lines and held keys, the
    stored results of its op_ids, R6's memory of the serials it asked, the current price list): when all is the
    same, deciding now would decide the same, and the writes are made as they are; otherwise the batch is
    decided again under the lock. None when the batch is not of that kind (one op, PostgreSQL, whose accounts
    are locked row by row, a kind that writes at once) or when an op needed to write at once."""
    if len(todo) < 2 or not is_sqlite(ctx.engine) or any(op["kind"] in _WRITE_AT_ONCE for _, op, _, _ in todo):
        return None
    try:
        with reading(ctx.engine) as connection:
            prices = ctx.current_prices(connection)
            batch = Batch(ctx, connection, caller, now, prices, [op for _, op, _, _ in todo], keys, client_id,
                          unlocked=True)
            return batch, [batch.apply(op, digest, checked) for _, op, digest, checked in todo]
    except (NeedsLock, OperationalError):  # a read that failed is read again under the lock
        return None


def _verify_keys(ctx: ServerContext, ops: list[dict]) -> dict[str, Any]:
    """Check the batch's activation keys offline before taking the write lock (signature checks are the
    costliest step of a redemption): key text → ActivationKey or the SignatureError that refuses it."""
    found: dict[str, Any] = {}
    for op in ops:
        text = op.get("key") if KINDS[op["kind"]].carries_key else None
        if isinstance(text, str) and len(text.strip()) <= 300:
            try:
                found[text.strip()] = ctx.keyring.read_key(text.strip())
            except SignatureError as exc:
                found[text.strip()] = exc
    return found


def _shape_problem(op: Any) -> Reason | None:
    """Why an op cannot even be stored under its op_id, or None."""
    if not isinstance(op, dict):
        return Reason.of("op-not-object", got=type_code(op))
    if not is_uuid(op.get("op_id")):
        return Reason.of("op-id-not-uuid")
    if not isinstance(op.get("kind"), str) or op.get("kind") not in KINDS:
        return Reason.of("kind-unknown", kind=shown(str(op.get("kind"))), kinds=list(KINDS))
    if not is_uuid(op.get("account_id")):
        return Reason.of("account-id-not-uuid")
    return None


INSERT_OP = store.bulk_insert("ops", (("op_id", "text"), ("partner", "text"), ("account_id", "text"), ("kind", "text"),
                                      ("digest", "text"), ("result", "text"), ("at", "bigint")))
#: the batch's history lines (R25), in order: the history is read back by id
INSERT_EVENTS = store.bulk_insert("history", (("account_id", "text"), ("at", "bigint"), ("kind", "text"),
                                              ("technician", "text"), ("op_id", "text"), ("params", "text"),
                                              ("actor", "text")), ordered=True)


class Batch:
    """The ops of one /sync request in one transaction: accounts locked (in id order) and read once.

    Every handler decides before it writes, so a refused op writes nothing but its stored result,
    and no savepoint per op is needed; a constraint violation retries the whole batch instead.
    """

    def __init__(self, ctx, connection, caller: Caller, now: int, prices, ops: list[dict], keys: dict[str, Any],
                 client_id: str = "", *, unlocked: bool = False):
        self.ctx, self.connection, self.caller, self.now, self.prices = ctx, connection, caller, now, prices
        self.keys, self.client_id = keys, client_id
        self.unlocked = unlocked  # decided before the write lock (decide_unlocked): nothing may be written at once
        # Lock first, then read stored results: a concurrent batch on these accounts has committed by now.
        self.account_ids = sorted({op["account_id"] for op in ops})
        self.records = store.load_many(connection, self.account_ids, for_update=True)
        self.stored = self._stored_results(connection, ops)
        if unlocked:  # what was read, as it was read (the batch changes its records and stored results in place)
            self.read = (_as_read(self.records), dict(self.stored))
            self.op_ids = sorted({op["op_id"] for op in ops})
        self.writes = store.Writes()
        self.toggles = ToggleHistory(connection, now, ctx.policy)
        # R6's memory of the PBXs the batch's license changes and removals name, read at once (others on need)
        self.toggles.preload(caller.partner, _serials_named(ops, self.records, caller.partner))
        self.new_ops: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []  # R25: the history lines of the batch's applied ops
        self.decided: dict[str, decider.State] = {}  # by account: the state its last applied op left
        self._edited: dict[str, tuple[str, dict]] = {}  # by account: its row's `edited` text, parsed

    @staticmethod
    def _stored_results(connection, ops: list[dict]) -> dict[str, tuple]:
        marks, params = in_list("o", sorted({op["op_id"] for op in ops}))
        rows = Sql.of(f"SELECT op_id, partner, digest, result FROM ops WHERE op_id IN ({marks})").run(connection, params)
        return {row[0]: tuple(row[1:]) for row in rows} if params else {}

    def _at_once(self) -> None:
        """A write that cannot wait for the end of the batch: not before the lock (decide_unlocked)."""
        if self.unlocked:
            raise NeedsLock()

    def still_holds(self, connection, prices) -> bool:
        """Under the write lock: whether everything this batch read before it is still so (decide_unlocked)."""
        if (prices.row_id if prices else None) != (self.prices.row_id if self.prices else None):
            return False
        records, stored = self.read
        if _as_read(store.load_many(connection, self.account_ids)) != records:
            return False
        if self._stored_results(connection, [{"op_id": op_id} for op_id in self.op_ids]) != stored:
            return False
        return self.toggles.still_holds(connection)

    def locked(self, connection) -> None:
        """The batch's writes go to the write transaction that found still_holds()."""
        self.connection = self.toggles.connection = connection
        self.unlocked = False

    def flush(self) -> None:
        """Write what the ops left for the end of the batch; constraint violations surface here too."""
        self.writes.flush(self.connection)
        self.toggles.flush()
        if self.new_ops:
            INSERT_OP.run(self.connection, self.new_ops)
        if self.events:
            INSERT_EVENTS.run(self.connection, self.events)

    def apply(self, op: dict, digest: str, checked: tuple | None = None) -> Outcome:
        """One op: answered from its stored result, else decided and stored; checked, what _checked(op) said."""
        op_id, account_id = op["op_id"], op["account_id"]
        if op_id in self.stored:
            return self._answer_stored(op, digest, self.stored[op_id])
        return self._run(op, digest, self.records.get(account_id), checked)

    def _answer_stored(self, op: dict, digest: str, stored: tuple) -> Outcome:
        partner, stored_digest, result = stored
        if partner == self.caller.partner and stored_digest == digest:
            return Outcome(json.loads(result), op["account_id"], result)
        return _unstored(self.ctx, op["op_id"], op["account_id"], self.now, Reason.of("op-reuse"),
                         account=op["account_id"] if partner == self.caller.partner else None)

    def _run(self, op: dict, digest: str, record: store.AccountRecord | None, checked: tuple | None) -> Outcome:
        op_id, kind, account_id = op["op_id"], op["kind"], op["account_id"]
        caller, now = self.caller, self.now
        warnings: tuple[Reason, ...] = ()
        try:
            _check_access(record, caller, kind)
            if checked is None:
                fields = validate(op)
            else:
                fields, problem = checked
                if problem is not None:
                    raise RuleViolation(problem)  # what validate(op) raises
            record, warnings, conflict = self._decide(kind, record, {**fields, "account_id": account_id}, op)
            status, problems = (APPLIED, ()) if conflict is None else (CONFLICT, (conflict,))
        except RuleViolation as refusal:
            status, problems = refusal.status, refusal.problems
        mine = record is not None and record.row["partner"] == caller.partner
        if mine:
            self.records[account_id] = record
        payload = op_result_payload(op_id, account_id, status, problems, warnings, now,
                                    record.row["revision"] if mine else None)
        envelope, result = self.ctx.sign_text("op-result", payload)  # result: json.dumps(envelope), stored as is
        self.new_ops.append({"op_id": op_id, "partner": caller.partner, "account_id": account_id, "kind": kind,
                             "digest": digest, "result": result, "at": now})
        self.stored[op_id] = (caller.partner, digest, result)  # the same op twice in one batch
        return Outcome(envelope, account_id if mine else None, result, (payload["status"], payload["code"]))

    def _decide(self, kind: str, record: store.AccountRecord | None, fields: dict, op: dict):
        """Load, decide (rental.ops), store: the one place an op's effect is written."""
        key, declared = None, KINDS[kind]
        if declared.carries_key and record is not None and not record.row["deleted"]:
            key = self._key(fields["key"])  # a deleted account is refused as such by the core, whatever the key
        ctx = decider.Context(now=self.now, pricelist=self.prices.pricelist if self.prices else None,
                              policy=self.ctx.policy, history=self.toggles.of(self.caller.partner), key=key,
                              prices=self.prices.history if self.prices else None, client=self.client_id)
        # the state the previous op of the batch left (the record holds the same, written), else read from it
        before = self._before(record) if record is not None else None
        if declared.opens_account and record is None:
            terms.check_acceptance(self.ctx, self.connection, fields)  # R26
        decision = decider.decide(kind, before, fields, ctx)
        if key is not None:
            self._at_once()
            # a deposit that reload redeemed at once is stored redeemed (save_deposits notes the reload)
            held = declared.holds_key and any(d.key_id == key.key_id for d in decision.state.deposits)
            at = max(self.now, before.billing.as_of) if declared.holds_key else decision.state.billing.as_of
            # the primary key decides a race between two redemptions or deposits of one key (R11, R24): a row
            # already there (committed, or committed by the batch that held it) inserts nothing
            inserted = INSERT_KEY.run(self.connection, {
                "key_id": key.key_id, "account_id": record.id, "op_id": op["op_id"], "amount_milli": key.amount_milli,
                "at": at, "held": held, "deposited_at": at if declared.holds_key else None}).rowcount
            if inserted != 1:
                raise _refusal("key-used")
        if record is None:
            self._at_once()
            record = store.insert_account(self.connection, {
                **new_account_row(decision.state, self.caller.partner, self.now),
                **terms.accepted_columns(fields, self.now)})
        elif decision.state != before or decision.entries:  # an edit whose every field clashed changes nothing
            self._store(record, before, decision)
            self.decided[record.id] = decision.state  # its fields' last edits are read from the row on need
        self.events += history.rows(record.id, decision.events, self.now, self.caller.technician, op["op_id"],
                                    by=self.caller.by)
        return record, decision.warnings, decision.conflict

    def _before(self, record: store.AccountRecord) -> decider.State:
        """The state an op decides on: the one the batch's previous op on the account left (stored as it is in the
        record, whose row holds the fields' last edits), else the record's (a single-op request parses only this)."""
        state = self.decided.get(record.id)
        return record_state(record) if state is None else self.decided_state(record, state)

    def decided_state(self, record: store.AccountRecord, state: decider.State) -> decider.State:
        """The state the next op of the batch decides on: the one stored, with the fields' last edits (parsed once
        per text of the row's `edited`: most ops of a batch edit no field, and the state then keeps its own)."""
        text = record.row.get("edited") or "{}"
        cached = self._edited.get(record.id)
        if cached is None or cached[0] != text:
            cached = self._edited[record.id] = (text, edited_of(record.row))
        if state.edited is cached[1]:
            return state
        return decider.replace(state, edited=cached[1])

    def _key(self, text: str) -> decider.ActivationKey:
        key = self.keys.get(text)
        if key is None:
            try:
                key = self.ctx.keyring.read_key(text)
            except SignatureError as exc:
                key = exc
        if isinstance(key, SignatureError):
            raise RuleViolation(key.problems)
        return decider.ActivationKey(key.key_id_hex, key.amount_milli)

    def _store(self, record: store.AccountRecord, before: decider.State, decision: decider.Decision) -> None:
        """Write what the decision changed: PBXs, lines, the account row (one revision up), ledger, R6 memory."""
        after = decision.state
        gone = [pbx_id for pbx_id in before.pbxs if pbx_id not in after.pbxs]
        if gone or any(pbx_id not in before.pbxs for pbx_id in after.pbxs):
            # a PBX comes or goes: what the batch still holds for later is written first (keys, foreign keys)
            self._at_once()
            self.writes.flush(self.connection)
        for pbx_id, pbx in after.pbxs.items():
            old = before.pbxs.get(pbx_id)
            if old is None:
                row = pbx_row(record.id, pbx)
                INSERT_PBX.run(self.connection, row)
                record.pbxs[pbx_id] = row
            elif old is not pbx and old != pbx:  # a decision keeps the PBXs it leaves alone as they were
                row = pbx_row(record.id, pbx)
                self.writes.pbxs[(record.id, pbx_id)] = row  # written at flush (nothing reads it back before)
                record.pbxs[pbx_id] = row
        if gone:
            store.save_lines(self.connection, record.id, record.lines, after.billing.lines)
            record.lines = after.billing.lines
            for pbx_id in gone:
                DELETE_PBX.run(self.connection, {"account_id": record.id, "pbx_id": pbx_id})
                del record.pbxs[pbx_id]
        columns = {key: getattr(after, key) for key in decider.ACCOUNT_FIELDS if getattr(after, key) != record.row[key]}
        if decision.edited:  # stamped with the revision this save gives the account (DESIGN §5, edit-conflict)
            stamp = [record.row["revision"] + 1, self.client_id]
            columns["edited"] = json.dumps({**edited_of(record.row), **{key: stamp for key in decision.edited}},
                                           sort_keys=True)
        billing_changed = after.billing != before.billing or decision.entries or after.deposits != before.deposits
        prices = self.prices.history if self.prices else None
        if self.unlocked and (decision.reloads or after.deposits != before.deposits):
            raise NeedsLock()  # held keys used or given back (save_deposits writes them at once)
        save_deposits(self.connection, record, before, decision)
        store.save(self.connection, record, self.ctx.settings, state=after.billing if billing_changed else None,
                   entries=decision.entries, writes=self.writes, prices=prices,
                   mails=notices.from_events(record.id, decision.events, after.billing.as_of), **columns)
        if decision.reductions or decision.restored:
            serial = decision.reductions[0].serial if decision.reductions else _serial_of(before, after, decision)
            self.toggles.record(self.caller.partner, record.id, serial, decision.reductions, decision.restored)


def save_deposits(connection, record: store.AccountRecord, before: decider.State, decision: decider.Decision) -> None:
    """Write what became of the held keys (R24): redeemed automatically (one row per key stays, no longer held),
    withdrawn or given back (the row goes: the key is usable anywhere); note the reload mails."""
    after = decision.state
    record.deposits = after.deposits
    kept = {deposit.key_id for deposit in after.deposits}
    reloaded = {made.key_id: made for made in decision.reloads}
    gone = [deposit.key_id for deposit in before.deposits if deposit.key_id not in kept and deposit.key_id not in reloaded]
    if gone:
        RELEASE_KEY.run(connection, [{"key_id": key_id, "account_id": record.id} for key_id in gone])
    if not reloaded:
        return
    REDEEM_HELD_KEY.run(connection, [{"key_id": made.key_id, "account_id": record.id, "at": made.at}
                                     for made in decision.reloads])
    notices.note_reloads(connection, record.id, decision.reloads)


def _serial_of(before: decider.State, after: decider.State, decision: decider.Decision) -> str:
    """The serial of the PBX a set_licenses restored items on (the one whose revision moved)."""
    for pbx_id, pbx in after.pbxs.items():
        old = before.pbxs.get(pbx_id)
        if old is not None and old.revision != pbx.revision:
            return pbx.serial
    return ""


def _as_read(records: dict[str, store.AccountRecord]) -> dict[str, tuple]:
    """Accounts as read, to compare with a later read (rows and PBXs copied: a batch changes its records)."""
    return {account_id: (dict(record.row), {pbx_id: dict(pbx) for pbx_id, pbx in record.pbxs.items()}, record.lines,
                         record.deposits)
            for account_id, record in records.items()}


def record_state(record: store.AccountRecord) -> decider.State:
    """The stored account as the core decides on it."""
    row = record.row
    pbxs = {pbx_id: decider.Pbx(pbx_id=pbx_id, name=pbx["name"], serial=pbx["serial"], platform=pbx["platform"],
                                firmware=pbx["firmware"], mode=pbx["mode"], hardware_model=pbx["hardware_model"],
                                revision=pbx["revision"])
            for pbx_id, pbx in record.pbxs.items()}
    return decider.State(account_id=record.id, name=row["name"], contact_email=row["contact_email"],
                         cloud_contract=row["cloud_contract"], language=row["language"], billing=record.state(),
                         pbxs=pbxs, auto_reload_days=row.get("auto_reload_days") or 0, deposits=record.deposits,
                         edited=edited_of(row))


def edited_of(row: dict[str, Any]) -> dict[str, tuple[int, str]]:
    """Each account field's last edit as stored (migration 0011): field → (revision, client id)."""
    text = row.get("edited")
    if not text or text == "{}":  # no field edited yet (most accounts): no parse
        return {}
    stored = json.loads(text)
    return {key: (int(value[0]), str(value[1])) for key, value in stored.items()}


def new_account_row(state: decider.State, partner: str, now: int) -> dict[str, Any]:
    account = state.billing
    return dict(id=state.account_id, partner=partner, name=state.name, contact_email=state.contact_email,
                cloud_contract=state.cloud_contract, language=state.language, revision=1, as_of=account.as_of,
                balance_ticks=0, rate_ticks_per_s=0, suspended=False, deleted=False, depletes_at=None,
                last_activity_at=account.last_activity_at, price_version=account.price_version,
                created_at=now)  # the reminders' and the terms' columns: store.NEW_ACCOUNT


def pbx_row(account_id: str, pbx: decider.Pbx) -> dict[str, Any]:
    return {"account_id": account_id, "pbx_id": pbx.pbx_id, "name": pbx.name, "serial": pbx.serial,
            "platform": pbx.platform, "hardware_model": pbx.hardware_model, "firmware": pbx.firmware,
            "mode": pbx.mode, "revision": pbx.revision}


def _unstored(ctx, op_id, account_id, now, reason: Reason, account=None) -> Outcome:
    """A refusal that cannot be stored under its op_id (none, or the id belongs to another op)."""
    payload = op_result_payload(op_id, account_id, REJECTED, (reason,), (), now, None)
    return Outcome(ctx.sign("op-result", payload), account, counted=(payload["status"], payload["code"]))


def _check_access(record: store.AccountRecord | None, caller: Caller, kind: str) -> None:
    """Another partner's account reveals nothing (access); the core decides the rest (deleted, exists)."""
    if record is None:
        if not KINDS[kind].opens_account:
            raise _refusal("account-unknown")
        return
    if record.row["partner"] != caller.partner:
        raise _refusal("access")


def _serials_named(ops: list[dict], records: dict[str, store.AccountRecord], partner: str) -> set[str]:
    """The serials of the caller's PBXs that a batch's set_licenses and remove_pbx ops name (R6 asks for them)."""
    serials = set()
    for op in ops:
        account_id = op.get("account_id") if isinstance(op, dict) else None
        record = records.get(account_id) if isinstance(account_id, str) else None
        declared = KINDS.get(op.get("kind")) if isinstance(op.get("kind"), str) else None
        if record is None or record.row["partner"] != partner or declared is None or not declared.names_serial:
            continue
        pbx = record.pbxs.get(op.get("pbx_id")) if isinstance(op.get("pbx_id"), str) else None
        if pbx is not None:
            serials.add(pbx["serial"])
    return serials


class ToggleHistory:
    """R6's memory for a batch, by the PBX's serial within the partner: read on first need, kept up to date in
    memory, written at the end of the batch. The history follows the serial, so removing a PBX and
    registering it again (on any account of the partner) continues it."""

    def __init__(self, connection, now: int, policy: rules.Policy):
        self.connection, self.now, self.policy = connection, now, policy
        self._reductions: dict[tuple[str, str], list[rules.Reduction]] = {}
        self._occurrences: dict[tuple[str, str], int] = {}
        self.new_reductions: list[dict[str, Any]] = []
        self.new_occurrences: list[dict[str, Any]] = []
        self.read: dict[tuple[str, str], tuple] = {}  # (partner, serial): its reductions and occurrences as read

    def of(self, partner: str) -> "PartnerHistory":
        return PartnerHistory(self, partner)

    def preload(self, partner: str, serials) -> None:
        """Read the memory of many serials at once (the PBXs of a batch's accounts): two queries per few hundred
        serials, not two per op."""
        wanted = sorted({serial for serial in serials if (partner, serial) not in self._reductions})
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            for serial in chunk:
                self._reductions[(partner, serial)] = []
                self._occurrences[(partner, serial)] = 0
            marks, params = in_list("s", chunk)
            rows = Sql.of(f"SELECT at, serial, ref, from_qty, to_qty FROM reductions "
                       f"WHERE partner = :p AND serial IN ({marks}) AND at >= :since ORDER BY at, id").run(
                self.connection, {**params, "p": partner, "since": self.now - self.policy.toggle_window_s})
            for row in rows:
                self._reductions[(partner, row[1])].append(rules.Reduction(*row))
            rows = Sql.of(f"SELECT serial, count(*) FROM toggle_occurrences "
                       f"WHERE partner = :p AND serial IN ({marks}) AND at > :since GROUP BY serial").run(
                self.connection, {**params, "p": partner, "since": self.now - self.policy.toggle_period_s})
            for serial, count in rows:
                self._occurrences[(partner, serial)] = count
            for serial in chunk:
                self.read[(partner, serial)] = (tuple(self._reductions[(partner, serial)]),
                                                self._occurrences[(partner, serial)])

    def still_holds(self, connection) -> bool:
        """Whether R6's memory of every serial read is still what was read (Batch.still_holds)."""
        again = ToggleHistory(connection, self.now, self.policy)
        for partner in {partner for partner, _ in self.read}:
            again.preload(partner, [serial for each, serial in self.read if each == partner])
        return again.read == self.read

    def _load(self, partner: str, serial: str) -> None:
        if (partner, serial) not in self._reductions:
            self.preload(partner, (serial,))

    def reductions(self, partner: str, serial: str) -> list[rules.Reduction]:
        self._load(partner, serial)
        return list(self._reductions[(partner, serial)])

    def occurrences(self, partner: str, serial: str) -> int:
        self._load(partner, serial)
        return self._occurrences[(partner, serial)]

    def record(self, partner: str, account_id: str, serial: str, made, restored) -> None:
        """Remember reductions, and a reduce-then-restore occurrence, on the account and its serial."""
        self._load(partner, serial)
        self._reductions[(partner, serial)].extend(made)
        self.new_reductions += [{"account_id": account_id, "partner": partner, "serial": r.serial, "pbx_id": "",
                                 "ref": r.ref, "at": r.at, "from_qty": r.from_qty, "to_qty": r.to_qty} for r in made]
        if restored:
            self._occurrences[(partner, serial)] += 1
            self.new_occurrences.append({"account_id": account_id, "partner": partner, "serial": serial, "pbx_id": "",
                                         "refs": ",".join(restored), "at": self.now})

    def flush(self) -> None:
        if self.new_reductions:
            INSERT_REDUCTION.run(self.connection, self.new_reductions)
        if self.new_occurrences:
            INSERT_OCCURRENCE.run(self.connection, self.new_occurrences)
        self.new_reductions, self.new_occurrences = [], []


@dataclass
class PartnerHistory:
    """The History the core asks (rental.ops.History), for one partner's serials."""

    toggles: ToggleHistory
    partner: str

    def reductions(self, serial: str):
        return self.toggles.reductions(self.partner, serial)

    def occurrences(self, serial: str) -> int:
        return self.toggles.occurrences(self.partner, serial)


INSERT_PBX = Sql("INSERT INTO pbxs (account_id, pbx_id, name, serial, platform, hardware_model, firmware, mode, revision) "
                 "VALUES (:account_id, :pbx_id, :name, :serial, :platform, :hardware_model, :firmware, :mode, :revision)")
DELETE_PBX = Sql("DELETE FROM pbxs WHERE account_id = :account_id AND pbx_id = :pbx_id")
#: ON CONFLICT DO NOTHING (SQLite ≥ 3.24, PostgreSQL): a key used before inserts no row, with no savepoint around
#: the statement (two statements fewer per redemption; the key's primary key is its only unique constraint)
INSERT_KEY = Sql("INSERT INTO redeemed_keys (key_id, account_id, op_id, amount_milli, at, held, deposited_at) "
                 "VALUES (:key_id, :account_id, :op_id, :amount_milli, :at, :held, :deposited_at) ON CONFLICT DO NOTHING")
RELEASE_KEY = Sql("DELETE FROM redeemed_keys WHERE key_id = :key_id AND account_id = :account_id AND held")
REDEEM_HELD_KEY = Sql("UPDATE redeemed_keys SET held = FALSE, at = :at WHERE key_id = :key_id "
                      "AND account_id = :account_id AND held")
#: R6's memory, in order (read back by at, then id)
INSERT_REDUCTION = store.bulk_insert("reductions", (
    ("account_id", "text"), ("partner", "text"), ("serial", "text"), ("pbx_id", "text"), ("ref", "text"),
    ("at", "bigint"), ("from_qty", "int"), ("to_qty", "int")), ordered=True)
INSERT_OCCURRENCE = store.bulk_insert("toggle_occurrences", (
    ("account_id", "text"), ("partner", "text"), ("serial", "text"), ("pbx_id", "text"), ("refs", "text"),
    ("at", "bigint")), ordered=True)

