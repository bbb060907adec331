"""Applying ops (DESIGN §5): one handler per kind, every decision by `rental`.

A /sync batch is one transaction with its accounts locked, applied op by op in order. A handler
decides before it writes, so a refused op leaves everything untouched and its stored result is
all it adds; a constraint violation (a concurrent batch stored the same op or account first)
rolls the whole batch back and runs it again. The one decision a database makes is whether an
activation key was redeemed before (a primary key, R11).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from typing import Any, Callable

from sqlalchemy.exc import IntegrityError, OperationalError

from rental import billing, rules
from rental.errors import RuleViolation, SignatureError
from rental.money import format_milli, ticks_to_milli_floor
from rental.pricing import PriceList

from . import store
from .auth import Caller
from .context import CurrentPrices, ServerContext
from .db import Sql, in_list, reading, savepoint, writing
from .envelopes import op_result_payload
from .opschema import OPS, BadOp, is_uuid, validate

APPLIED, REJECTED, CONFLICT = "applied", "rejected", "conflict"
MAX_BALANCE = 2**63 - 1  # a BIGINT column


class Refusal(Exception):
    """An op that is not applied: status rejected (a rule said no) or conflict; nothing was written."""

    def __init__(self, rule: str | None, message: str, status: str = REJECTED):
        super().__init__(message)
        self.rule, self.message, self.status = rule, message, status

    @classmethod
    def of(cls, violation: RuleViolation) -> "Refusal":
        return cls(violation.rule, violation.message)


@dataclass
class Outcome:
    result: dict  # the signed op-result envelope
    account_id: str | None  # the account to answer with, when the caller may see it


@dataclass
class Job:
    """One op being applied: its transaction, the caller, the time and the account (locked)."""

    ctx: ServerContext
    connection: Any
    caller: Caller
    op: dict[str, Any]
    fields: dict[str, Any]
    now: int
    prices: CurrentPrices | None
    record: store.AccountRecord | None
    writes: store.Writes | None = None
    toggles: "ToggleHistory | None" = None
    keys: dict[str, Any] | None = None  # activation keys checked before the transaction
    warnings: tuple[str, ...] = ()

    @property
    def pricelist(self) -> PriceList:
        if self.prices is None:
            raise Refusal("not-found", "No price list is published yet: the vendor must publish one first.")
        return self.prices.pricelist

    def save(self, state: billing.Account | None = None, entries=(), **columns: Any) -> int:
        return store.save(self.connection, self.record, self.ctx.settings, state=state, entries=entries,
                          writes=self.writes, **columns)

    def pbx(self) -> dict[str, Any]:
        pbx = self.record.pbxs.get(self.fields["pbx_id"])
        if pbx is None:
            raise Refusal("not-found", f"PBX {self.fields['pbx_id']} is not registered on this account: "
                                       "register it first, or sync to see the account's PBXs.")
        return pbx

    def check_base_revision(self, pbx: dict[str, Any]) -> None:
        if self.fields["base_revision"] != pbx["revision"]:
            raise Refusal(None, f"PBX {pbx['pbx_id']} changed meanwhile (revision {pbx['revision']}, this change "
                                f"was made on revision {self.fields['base_revision']}): sync, review it and redo the change.",
                          CONFLICT)

    def settled(self) -> billing.Change:
        """The account charged up to now at its old rates (money never runs backwards)."""
        state = self.record.state()
        return billing.settle(state, max(self.now, state.as_of))

    def rerated(self, lines) -> tuple[billing.Line, ...]:
        """A connection event re-rates every rented item at the current list (R23)."""
        return billing.rerate(lines, self.prices.pricelist) if self.prices else tuple(lines)


def op_digest(op: dict[str, Any]) -> str:
    """What makes two ops with one op_id the same op."""
    text = json.dumps(op, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class BatchResult:
    outcomes: list[Outcome]
    records: dict[str, store.AccountRecord]  # every account the batch read, as committed
    prices: CurrentPrices | None


def apply_ops(ctx: ServerContext, caller: Caller, ops: list[Any], now: int) -> BatchResult:
    """Apply a batch in order, in one database transaction (a refused op changes nothing)."""
    outcomes: list[Outcome | None] = [None] * len(ops)
    todo: list[tuple[int, dict, str]] = []
    for index, op in enumerate(ops):
        problem = _shape_problem(op)
        if problem is None:
            todo.append((index, op, op_digest(op)))
        else:
            fields = op if isinstance(op, dict) else {}
            outcomes[index] = _unstored(ctx, fields.get("op_id"), fields.get("account_id"), now, problem)
    if not todo:
        with reading(ctx.engine) as connection:
            return BatchResult(outcomes, {}, ctx.current_prices(connection))
    keys = _verify_keys(ctx, [op for _, op, _ in todo])
    for attempt in range(4):
        try:
            with writing(ctx.engine) as connection:
                prices = ctx.current_prices(connection)
                batch = Batch(ctx, connection, caller, now, prices, [op for _, op, _ in todo], keys)
                applied = [batch.apply(op, digest) for _, op, digest in todo]
                batch.flush()
            break
        except (IntegrityError, OperationalError) as exc:
            # Another batch stored one of these op_ids or created one of these accounts first (a key or a
            # unique constraint says so), or two batches' key inserts deadlocked: nothing was committed,
            # and the next attempt reads what the other batch committed and answers accordingly.
            retry = isinstance(exc, IntegrityError) or getattr(exc.orig, "sqlstate", None) in ("40P01", "40001")
            if attempt == 3 or not retry:
                raise
    for (index, _, _), outcome in zip(todo, applied):
        outcomes[index] = outcome
    return BatchResult(outcomes, batch.records, prices)


def _verify_keys(ctx: ServerContext, ops: list[dict]) -> dict[str, Any]:
    """Check the batch's activation keys offline before taking the write lock (signature checks are the
    costliest step of a redemption): key text → ActivationKey or the SignatureError that refuses it."""
    found: dict[str, Any] = {}
    for op in ops:
        text = op.get("key") if op["kind"] == "redeem_key" else None
        if isinstance(text, str) and len(text.strip()) <= 300:
            try:
                found[text.strip()] = ctx.keyring.read_key(text.strip())
            except SignatureError as exc:
                found[text.strip()] = exc
    return found


def _shape_problem(op: Any) -> str | None:
    """Why an op cannot even be stored under its op_id, or None."""
    if not isinstance(op, dict):
        return f"an op is an object with op_id, kind and account_id, not {type(op).__name__}"
    if not is_uuid(op.get("op_id")):
        return "op_id must be a UUID made by the client (the idempotency key)."
    kind = op.get("kind")
    if not isinstance(kind, str) or kind not in OPS:
        return f"kind {str(kind)[:40]!r} is unknown: one of {', '.join(OPS)}."
    if not is_uuid(op.get("account_id")):
        return "account_id must be a UUID (the client makes it at create_account)."
    return None


INSERT_OP = Sql("INSERT INTO ops (op_id, partner, account_id, kind, digest, result, at) "
                "VALUES (:op_id, :partner, :account_id, :kind, :digest, :result, :at)")


class Batch:
    """The ops of one /sync request in one transaction: accounts locked (in id order) and read once.

    Every handler decides before it writes, so a refused op writes nothing but its stored result,
    and no savepoint per op is needed; a constraint violation retries the whole batch instead.
    """

    def __init__(self, ctx, connection, caller: Caller, now: int, prices, ops: list[dict], keys: dict[str, Any]):
        self.ctx, self.connection, self.caller, self.now, self.prices = ctx, connection, caller, now, prices
        self.keys = keys
        # Lock first, then read stored results: a concurrent batch on these accounts has committed by now.
        self.records = store.load_many(connection, (op["account_id"] for op in ops), for_update=True)
        marks, params = in_list("o", sorted({op["op_id"] for op in ops}))
        rows = Sql(f"SELECT op_id, partner, digest, result FROM ops WHERE op_id IN ({marks})").run(connection, params)
        self.stored = {row[0]: tuple(row[1:]) for row in rows} if params else {}
        self.writes = store.Writes()
        self.toggles = ToggleHistory(connection, list(self.records), now, ctx.policy)
        self.new_ops: list[dict[str, Any]] = []

    def flush(self) -> None:
        """Write what the ops left for the end of the batch; constraint violations surface here too."""
        self.writes.flush(self.connection)
        self.toggles.flush()
        if self.new_ops:
            INSERT_OP.run(self.connection, self.new_ops)

    def apply(self, op: dict, digest: str) -> Outcome:
        op_id, account_id = op["op_id"], op["account_id"]
        if op_id in self.stored:
            return self._answer_stored(op, digest, self.stored[op_id])
        return self._run(op, digest, self.records.get(account_id))

    def _answer_stored(self, op: dict, digest: str, stored: tuple) -> Outcome:
        partner, stored_digest, result = stored
        if partner == self.caller.partner and stored_digest == digest:
            return Outcome(json.loads(result), op["account_id"])
        return _unstored(self.ctx, op["op_id"], op["account_id"], self.now,
                         "This op_id was already used for another op: each op needs a new UUID.", rule="op-reuse",
                         account=op["account_id"] if partner == self.caller.partner else None)

    def _run(self, op: dict, digest: str, record: store.AccountRecord | None) -> Outcome:
        op_id, kind, account_id = op["op_id"], op["kind"], op["account_id"]
        caller, now = self.caller, self.now
        job = Job(self.ctx, self.connection, caller, op, {}, now, self.prices, record, self.writes, self.toggles,
                  self.keys)
        try:
            _check_access(job, kind)
            try:
                job.fields = validate(op)
            except BadOp as exc:
                raise Refusal("bad-op", str(exc)) from None
            HANDLERS[kind](job)
            status, rule, message = APPLIED, None, ""
        except Refusal as refusal:
            status, rule, message = refusal.status, refusal.rule, refusal.message
        mine = job.record is not None and job.record.row["partner"] == caller.partner
        if mine:
            self.records[account_id] = job.record
        payload = op_result_payload(op_id, account_id, status, rule, message, now,
                                    job.record.row["revision"] if mine else None, job.warnings)
        envelope = self.ctx.sign("op-result", payload)
        result = json.dumps(envelope)
        self.new_ops.append({"op_id": op_id, "partner": caller.partner, "account_id": account_id, "kind": kind,
                             "digest": digest, "result": result, "at": now})
        self.stored[op_id] = (caller.partner, digest, result)  # the same op twice in one batch
        return Outcome(envelope, account_id if mine else None)


def _unstored(ctx, op_id, account_id, now, message, rule="bad-op", account=None) -> Outcome:
    """A refusal that cannot be stored under its op_id (none, or the id belongs to another op)."""
    payload = op_result_payload(op_id, account_id, REJECTED, rule, message, now, None)
    return Outcome(ctx.sign("op-result", payload), account)


def _check_access(job: Job, kind: str) -> None:
    """Another partner's account reveals nothing (access); a deleted one takes no more ops (R13)."""
    record = job.record
    if record is None:
        if kind != "create_account":
            raise Refusal("not-found", "No such account: create it first (create_account), or check the account_id.")
        return
    if record.row["partner"] != job.caller.partner:
        raise Refusal("access", "This account cannot be changed with your credentials.")
    if record.row["deleted"]:
        raise Refusal("deleted", "This account was deleted: its iSC were forfeited and it takes no more changes (R13).")
    if kind == "create_account":
        raise Refusal("bad-op", "An account with this account_id exists already: make a new UUID for a new account.")


# --------------------------------------------------------------------------- handlers


def create_account(job: Job) -> None:
    f = job.fields
    now = job.now
    job.record = store.insert_account(job.connection, dict(
        id=job.op["account_id"], partner=job.caller.partner, name=f["name"], contact_email=f["contact_email"],
        cloud_contract=f["cloud_contract"], language=f.get("language", "en"), revision=1, as_of=now,
        balance_ticks=0, rate_ticks_per_s=0, suspended=False, deleted=False, depletes_at=None,
        last_activity_at=now, price_version=job.prices.pricelist.version if job.prices else None,
        episode=0, reminder_level=-1, reminder_due_at=None, created_at=now))


def update_account(job: Job) -> None:
    f = job.fields
    if not f:
        raise Refusal("bad-op", "update_account changes nothing: give name, contact_email, cloud_contract or language.")
    if f.get("cloud_contract") is False and job.record.row["cloud_contract"]:
        clouds = [p["pbx_id"] for p in job.record.pbxs.values()
                  if p["platform"] == "cloud" and p["mode"] == "rental" and job.record.state().lines_of(p["pbx_id"])]
        if clouds:
            raise Refusal("R7", f"PBX {clouds[0]} runs rented licenses in the cloud, which needs the cloud contract. "
                                "End its rent or move it to VMware, Hyper-V or vendor hardware first.")
    job.save(**f)


def register_pbx(job: Job) -> None:
    """A connection event (R9): settle at the old rates, re-rate at the current list (R23), maybe resume (R18)."""
    f = job.fields
    if f["pbx_id"] in job.record.pbxs:
        raise Refusal("bad-op", f"PBX {f['pbx_id']} is registered on this account already: use update_pbx to change it.")
    _check_pbx(job, f["mode"], f["platform"], f["firmware"])
    change = job.settled()
    state = _reconnected(job, change.account, job.rerated(change.account.lines))
    pbx = {"account_id": job.record.id, "pbx_id": f["pbx_id"], "name": f["name"], "serial": f["serial"],
           "platform": f["platform"], "hardware_model": f.get("hardware_model"), "firmware": f["firmware"],
           "mode": f["mode"], "revision": 1}
    INSERT_PBX.run(job.connection, pbx)
    job.record.pbxs[f["pbx_id"]] = pbx
    job.save(state.account, change.entries + state.entries)


def update_pbx(job: Job) -> None:
    """Edit a PBX's facts; a rental PBX must still satisfy R1 and R7. Not a connection event: no re-rating."""
    pbx = job.pbx()
    job.check_base_revision(pbx)
    f = {key: value for key, value in job.fields.items() if key not in ("pbx_id", "base_revision")}
    if not f:
        raise Refusal("bad-op", "update_pbx changes nothing: give name, firmware, platform or hardware_model.")
    merged = {**pbx, **f}
    _check_pbx(job, merged["mode"], merged["platform"], merged["firmware"])
    _bump_pbx(job, pbx, **f)
    job.save()


def set_licenses(job: Job) -> None:
    """The desired rental state of a PBX (R2, R3, R6, R8, R14, R15); {} ends the rent (R19). A connection event."""
    pbx = job.pbx()
    job.check_base_revision(pbx)
    pricelist = job.pricelist
    desired = job.fields["items"]
    change = job.settled()
    settled = change.account
    others = job.rerated(line for line in settled.lines if line.pbx_id != pbx["pbx_id"])
    current = {line.ref: line.qty for line in settled.lines_of(pbx["pbx_id"])}
    history = job.toggles.reductions(job.record.id, pbx["pbx_id"])
    verdict = rules.evaluate_licenses(
        balance=settled.balance, rate=settled.rate, suspended=settled.suspended,
        other_rate=sum(line.rate for line in others),
        pbx=rules.PbxFacts(pbx["pbx_id"], pbx["mode"], pbx["platform"], pbx["firmware"], current),
        desired=desired, pricelist=pricelist, cloud_contract=job.record.row["cloud_contract"],
        history=history, occurrences_in_period=job.toggles.occurrences(job.record.id) if history else 0, at=job.now,
        policy=job.ctx.policy,
    )
    if not verdict.ok:
        first = verdict.problems[0]
        raise Refusal(first.rule, " ".join(problem.message for problem in verdict.problems))
    wanted = {ref: qty for ref, qty in desired.items() if qty > 0}
    lines = others + billing.lines_for(pbx["pbx_id"], wanted, pricelist)
    final = billing.reconfigure(settled, job.now, lines, resume=True if verdict.resume else None)
    state = final.account
    if job.prices:
        state = _with_price_version(state, pricelist.version)
    job.toggles.record(job.record.id, pbx["pbx_id"], rules.reductions(pbx["pbx_id"], current, wanted, job.now),
                       verdict.restored)  # R6: reductions, and each reduce-then-restore, on the account
    job.warnings = verdict.warnings
    _bump_pbx(job, pbx)
    job.save(state, change.entries + final.entries)


def remove_pbx(job: Job) -> None:
    """Remove a PBX: its rent ends this second (R19). Not a connection event: the others keep their rates."""
    pbx = job.pbx()
    job.check_base_revision(pbx)
    change = job.settled()
    others = [line for line in change.account.lines if line.pbx_id != pbx["pbx_id"]]
    final = billing.reconfigure(change.account, job.now, others, resume=None)
    state = final.account
    store.save_lines(job.connection, job.record.id, job.record.lines, state.lines)
    job.record.lines = state.lines
    DELETE_PBX.run(job.connection, {"account_id": job.record.id, "pbx_id": pbx["pbx_id"]})
    del job.record.pbxs[pbx["pbx_id"]]
    job.save(state, change.entries + final.entries)


def redeem_key(job: Job) -> None:
    """Load an activation key (R11, R17): a connection event; a suspended configuration resumes when covered (R14, R18)."""
    key = (job.keys or {}).get(job.fields["key"])
    if key is None:
        try:
            key = job.ctx.keyring.read_key(job.fields["key"])
        except SignatureError as exc:
            key = exc
    if isinstance(key, SignatureError):
        raise Refusal("key-invalid", f"This activation key cannot be used: {key}. Check it against the printed key.")
    state = job.record.state()
    at = max(job.now, state.as_of)
    change = billing.credit(state, at, key.amount_milli, key_id=key.key_id_hex)
    if change.account.balance > MAX_BALANCE:
        raise Refusal("bad-op", "This key would raise the balance beyond what one account can hold: "
                                "use the credit first or load it on another account.")
    after = _reconnected(job, change.account, job.rerated(change.account.lines))
    try:
        with savepoint(job.connection, "key"):  # the primary key decides a race between two redemptions
            INSERT_KEY.run(job.connection, {"key_id": key.key_id_hex, "account_id": job.record.id,
                                            "op_id": job.op["op_id"], "amount_milli": key.amount_milli, "at": at})
    except IntegrityError:
        raise Refusal("key-used", "This activation key was redeemed before: each key loads credit once. "
                                  "Use another key.") from None
    # R20: loading iSC starts a new depletion episode, so every reminder may be sent again
    job.save(after.account, change.entries + after.entries, episode=job.record.row["episode"] + 1, reminder_level=-1)


def delete_account(job: Job) -> None:
    """Delete the account; the consent names the balance shown, forfeited for good up to that amount (R13).

    Refused only when the balance is now higher (credit loaded since): a running account's falls while it travels.
    """
    change = job.settled()
    shown = ticks_to_milli_floor(change.account.balance)
    if shown > job.fields["confirm_forfeit_milli"]:
        raise Refusal("R13", f"The account holds {format_milli(shown)} now: deleting it forfeits them for good. "
                             f"To confirm, send confirm_forfeit_milli = {shown} (not "
                             f"{job.fields['confirm_forfeit_milli']}).")
    final = billing.forfeit(change.account, change.account.as_of)
    job.save(final.account, change.entries + final.entries)


HANDLERS: dict[str, Callable[[Job], None]] = {
    "create_account": create_account, "update_account": update_account, "register_pbx": register_pbx,
    "update_pbx": update_pbx, "set_licenses": set_licenses, "remove_pbx": remove_pbx,
    "redeem_key": redeem_key, "delete_account": delete_account,
}


# --------------------------------------------------------------------------- helpers


def _check_pbx(job: Job, mode: str, platform: str, firmware: str) -> None:
    try:
        rules.check_pbx(mode, platform, firmware, job.record.row["cloud_contract"])
    except RuleViolation as violation:
        raise Refusal.of(violation) from None
    if mode != "rental" and platform not in rules.PLATFORMS:
        raise Refusal("bad-op", f"Platform {platform[:20]!r} is unknown: one of {', '.join(rules.PLATFORMS)}.")


def _reconnected(job: Job, settled: billing.Account, lines) -> billing.Change:
    """The configuration at current prices; a suspension lifts when the credit covers it (R14, R18)."""
    rate = sum(line.rate for line in lines)
    resume = rules.resumes_after_credit(settled.balance, rate, settled.suspended, job.ctx.policy)
    change = billing.reconfigure(settled, settled.as_of, lines, resume=True if resume else None)
    if job.prices:
        return billing.Change(_with_price_version(change.account, job.prices.pricelist.version), change.entries,
                              change.depleted_at)
    return change


def _with_price_version(state: billing.Account, version: str) -> billing.Account:
    return replace(state, price_version=version)


def _bump_pbx(job: Job, pbx: dict[str, Any], **columns: Any) -> None:
    pbx.update(columns, revision=pbx["revision"] + 1)
    UPDATE_PBX.run(job.connection, {key: pbx.get(key) for key in (
        "account_id", "pbx_id", "name", "serial", "platform", "hardware_model", "firmware", "revision")}
        | {"account_id": job.record.id})


class ToggleHistory:
    """The R6 history of a batch's accounts: read once (at the first set_licenses), kept up to date in
    memory, and written at the end of the batch."""

    def __init__(self, connection, account_ids: list[str], now: int, policy: rules.Policy):
        self.connection, self.account_ids, self.now, self.policy = connection, account_ids, now, policy
        self._reductions: dict[tuple[str, str], list[rules.Reduction]] | None = None
        self._occurrences: dict[str, int] = {}
        self.new_reductions: list[dict[str, Any]] = []
        self.new_occurrences: list[dict[str, Any]] = []

    def _load(self) -> dict[tuple[str, str], list[rules.Reduction]]:
        if self._reductions is None:
            self._reductions = {}
            if self.account_ids:
                marks, params = in_list("a", self.account_ids)
                rows = Sql("SELECT account_id, at, pbx_id, ref, from_qty, to_qty FROM reductions "
                           f"WHERE account_id IN ({marks}) AND at >= :since").run(
                    self.connection, {**params, "since": self.now - self.policy.toggle_window_s})
                for account_id, *fields in rows:
                    self._reductions.setdefault((account_id, fields[1]), []).append(rules.Reduction(*fields))
                rows = Sql("SELECT account_id, count(*) FROM toggle_occurrences "
                           f"WHERE account_id IN ({marks}) AND at > :since GROUP BY account_id").run(
                    self.connection, {**params, "since": self.now - self.policy.toggle_period_s})
                self._occurrences = dict(rows.all())
        return self._reductions

    def reductions(self, account_id: str, pbx_id: str) -> list[rules.Reduction]:
        """Reductions of the PBX's items within the window (an account created in the batch has none)."""
        return list(self._load().get((account_id, pbx_id), ()))

    def occurrences(self, account_id: str) -> int:
        self._load()
        return self._occurrences.get(account_id, 0)

    def record(self, account_id: str, pbx_id: str, made: list[rules.Reduction], restored) -> None:
        self._load().setdefault((account_id, pbx_id), []).extend(made)
        self.new_reductions += [{"account_id": account_id, "pbx_id": r.pbx_id, "ref": r.ref, "at": r.at,
                                 "from_qty": r.from_qty, "to_qty": r.to_qty} for r in made]
        if restored:
            self._occurrences[account_id] = self._occurrences.get(account_id, 0) + 1
            self.new_occurrences.append({"account_id": account_id, "pbx_id": pbx_id, "refs": ",".join(restored),
                                         "at": self.now})

    def flush(self) -> None:
        if self.new_reductions:
            INSERT_REDUCTION.run(self.connection, self.new_reductions)
        if self.new_occurrences:
            INSERT_OCCURRENCE.run(self.connection, self.new_occurrences)
        self.new_reductions, self.new_occurrences = [], []


INSERT_PBX = Sql("INSERT INTO pbxs (account_id, pbx_id, name, serial, platform, hardware_model, firmware, mode, revision) "
                 "VALUES (:account_id, :pbx_id, :name, :serial, :platform, :hardware_model, :firmware, :mode, :revision)")
UPDATE_PBX = Sql("UPDATE pbxs SET name = :name, serial = :serial, platform = :platform, hardware_model = :hardware_model, "
                 "firmware = :firmware, revision = :revision WHERE account_id = :account_id AND pbx_id = :pbx_id")
DELETE_PBX = Sql("DELETE FROM pbxs WHERE account_id = :account_id AND pbx_id = :pbx_id")
INSERT_KEY = Sql("INSERT INTO redeemed_keys (key_id, account_id, op_id, amount_milli, at) "
                 "VALUES (:key_id, :account_id, :op_id, :amount_milli, :at)")
INSERT_REDUCTION = Sql("INSERT INTO reductions (account_id, pbx_id, ref, at, from_qty, to_qty) "
                       "VALUES (:account_id, :pbx_id, :ref, :at, :from_qty, :to_qty)")
INSERT_OCCURRENCE = Sql("INSERT INTO toggle_occurrences (account_id, pbx_id, refs, at) "
                        "VALUES (:account_id, :pbx_id, :refs, :at)")

