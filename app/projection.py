"""Projection (DESIGN §6): the verified replica run forward to now with rental.billing, plus queued ops on top.

Both figures are computed by the same pure core the server runs, so an account whose credit
runs out offline shows suspended from the very second the server will use (R18).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field, replace

from sqlalchemy.orm import Session

from rental import billing
from rental.billing import Account, Line
from rental.pricing import PriceList
from rental.rules import Policy, Reduction, resumes_after_credit

from . import outbox, replica
from .models import OutboxOp, Reduction as ReductionRow

#: Revision a PBX has once the server registered it (DESIGN §5 extension agreed with the server).
FIRST_PBX_REVISION = 1
#: Ops that raise a PBX's revision by one when applied.
PBX_BUMPING = ("update_pbx", "set_licenses")


@dataclass
class PbxState:
    pbx_id: str
    name: str
    serial: str
    platform: str
    hardware_model: str | None
    firmware: str
    mode: str
    revision: int | None
    confirmed: bool
    licenses: dict[str, int] = field(default_factory=dict)
    removed: bool = False
    changed: bool = False
    licenses_pending: bool = False


@dataclass
class AccountState:
    account_id: str
    name: str
    contact_email: str
    cloud_contract: bool
    language: str
    partner: str | None
    revision: int | None
    billing: Account
    pbxs: dict[str, PbxState]
    confirmed: bool
    price_version: str | None
    verified_at: int | None = None
    received_at: int | None = None
    pending_credit_milli: int = 0


@dataclass(frozen=True)
class Figures:
    at: int
    balance_ticks: int
    rate_ticks_per_s: int
    monthly_milli: int
    remaining_seconds: int | None
    ends_at: int | None
    status: str


def account_from_payload(payload: dict) -> Account:
    """The running state a verified snapshot describes (DESIGN §3)."""
    version = payload.get("price_version")
    lines = tuple(
        Line(pbx_id=pbx["pbx_id"], ref=lic["ref"], qty=lic["qty"], monthly_milli=lic["monthly_milli"],
             price_version=lic.get("price_version") or version)
        for pbx in payload.get("pbxs", []) for lic in pbx.get("licenses", []))
    status = payload["status"]
    return Account(as_of=payload["as_of"], balance=payload["balance_ticks"], lines=lines,
                   suspended=status == billing.SUSPENDED, deleted=status == billing.DELETED,
                   last_activity_at=payload.get("last_activity_at", payload["as_of"]), price_version=version)


def state_from_payload(payload: dict, received_at: int | None, now: int) -> AccountState:
    account = billing.project(account_from_payload(payload), now)
    pbxs = {
        pbx["pbx_id"]: PbxState(
            pbx_id=pbx["pbx_id"], name=pbx.get("name") or "", serial=pbx.get("serial") or "",
            platform=pbx.get("platform") or "", hardware_model=pbx.get("hardware_model"),
            firmware=pbx.get("firmware") or "", mode=pbx.get("mode") or "rental", revision=pbx.get("revision"),
            confirmed=True, licenses={lic["ref"]: lic["qty"] for lic in pbx.get("licenses", [])})
        for pbx in payload.get("pbxs", [])}
    return AccountState(
        account_id=payload["account_id"], name=payload.get("name") or "", contact_email=payload.get("contact_email") or "",
        cloud_contract=bool(payload.get("cloud_contract")), language=payload.get("language") or "en",
        partner=payload.get("partner"), revision=payload["revision"], billing=account, pbxs=pbxs, confirmed=True,
        price_version=payload.get("price_version"), verified_at=payload["as_of"], received_at=received_at)


def figures(account: Account, now: int) -> Figures:
    """R16 figures for now: balance, rate, monthly consumption, remaining runtime, end of credit, status."""
    account = billing.project(account, now)
    return Figures(at=now, balance_ticks=account.balance, rate_ticks_per_s=account.rate,
                   monthly_milli=account.monthly_milli, remaining_seconds=account.remaining_seconds,
                   ends_at=account.depletes_at, status=account.status)


def pbx_status(state: AccountState, pbx_id: str) -> str:
    if not state.billing.lines_of(pbx_id):
        return "idle"
    return "suspended" if state.billing.suspended else "active"


def burn_points(account: Account, now: int, count: int = 24) -> tuple[tuple[tuple[int, int], ...], int | None]:
    """(second, balance) from now to the end of credit, evenly spaced; flat for 30 days when nothing runs."""
    account = billing.project(account, now)
    end = account.depletes_at
    span = (end - now) if end is not None else 30 * 86_400
    count = max(2, count)
    points = []
    for i in range(count):
        t = now + span * i // (count - 1)
        points.append((t, billing.project(account, t).balance))
    return tuple(points), end


def describe(kind: str, body: dict, book: "Book | None" = None) -> str:
    """One line in plain words for an op (the UI translates around it)."""
    pbx_id = body.get("pbx_id")
    pbx_name = book.pbx_name(body.get("account_id"), pbx_id) if (book and pbx_id) else pbx_id
    if kind == "create_account":
        return f"Create account {body.get('name')} ({body.get('contact_email')})"
    if kind == "update_account":
        changes = ", ".join(f"{k} → {body[k]}" for k in ("name", "contact_email", "cloud_contract", "language")
                            if k in body)
        return f"Edit account: {changes}"
    if kind == "register_pbx":
        return f"Register PBX {body.get('name')} ({body.get('platform')}, {body.get('firmware')}, {body.get('mode')})"
    if kind == "update_pbx":
        changes = ", ".join(f"{k} → {body[k]}" for k in ("name", "firmware", "platform", "hardware_model") if k in body)
        return f"Edit PBX {pbx_name}: {changes}"
    if kind == "set_licenses":
        items = body.get("items") or {}
        listed = ", ".join(f"{ref} × {qty}" for ref, qty in sorted(items.items())) or "none (rent ended)"
        return f"Set licenses of PBX {pbx_name}: {listed}"
    if kind == "remove_pbx":
        return f"Remove PBX {pbx_name}"
    if kind == "redeem_key":
        key = body.get("key", "")
        return f"Load activation key {key[:11]}…"
    if kind == "delete_account":
        return "Delete the account (its iSC are forfeited, R13)"
    return kind


class Book:
    """Every account of the store as of now: verified state, and the state with pending ops applied."""

    def __init__(self, now: int, pricelist: PriceList | None, policy: Policy = Policy()):
        self.now = now
        self.pricelist = pricelist
        self.policy = policy
        self._confirmed: dict[str, AccountState] = {}
        self._pending: dict[str, AccountState] = {}
        self._ops: dict[str, list[OutboxOp]] = {}
        self.history: list[Reduction] = []

    @classmethod
    def load(cls, session: Session, now: int, account_id: "str | list[str] | None" = None) -> "Book":
        """Every account, or only account_id (or a list of ids: a page of the list) and their ops: a screen
        must not parse them all (with 10,000 accounts the whole book takes about a second; docs/benchmarks.md)."""
        if account_id is None:
            rows = replica.all_accounts(session)
        elif isinstance(account_id, str):
            rows = [row for row in (replica.get_account(session, account_id),) if row is not None]
        else:
            rows = replica.accounts_named(session, account_id)
        # never project before a verified snapshot: a laptop clock set back must not "un-charge" (SPEC: server time)
        now = max([now] + [row.as_of for row in rows])
        book = cls(now, replica.current_pricelist(session))
        for row in rows:
            book._confirmed[row.account_id] = state_from_payload(json.loads(row.payload), row.received_at, now)
        book.history = [Reduction(r.at, r.pbx_id, r.ref, r.from_qty, r.to_qty)
                        for r in session.query(ReductionRow).all()]
        for op in (outbox.all_ops(session, account_id) if account_id is None or isinstance(account_id, str)
                   else outbox.ops_of_accounts(session, account_id)):
            book._ops.setdefault(op.account_id, []).append(op)
        for owner, ops in book._ops.items():
            book._project_pending(owner, ops)
        return book

    # ------------------------------------------------------------------ queries

    def accounts(self) -> list[AccountState]:
        ids = list(self._confirmed) + [a for a in self._pending if a not in self._confirmed]
        return [self._confirmed.get(a) or self._pending[a] for a in ids]

    def get(self, account_id: str) -> AccountState | None:
        return self._confirmed.get(account_id) or self._pending.get(account_id)

    def require(self, account_id: str) -> AccountState:
        state = self.get(account_id)
        if state is None:
            from .services import NotFound

            raise NotFound(f"No account {account_id} on this laptop: sync to fetch it, or check the link.")
        return state

    def require_alive(self, account_id: str) -> AccountState:
        """The account (verified state) unless it is deleted or its deletion is queued."""
        state = self.pending_state(account_id) or self.require(account_id)
        if state.billing.deleted:
            from .services import Problem, Refused

            raise Refused([Problem("deleted", f"Account {state.name} is deleted (or its deletion is queued): "
                                   "it can no longer change. Discard the queued deletion to keep it.")])
        return self.require(account_id)

    def require_pbx(self, state: AccountState, pbx_id: str) -> PbxState:
        pbx = state.pbxs.get(pbx_id)
        if pbx is None or pbx.removed:
            from .services import NotFound

            raise NotFound(f"No PBX {pbx_id} on account {state.name} (removed, or never registered).")
        return pbx

    def pending_state(self, account_id: str) -> AccountState | None:
        """The account with its pending ops applied, or None when none is pending."""
        return self._pending.get(account_id)

    def ops_of(self, account_id: str) -> list[OutboxOp]:
        return list(self._ops.get(account_id, []))

    def count_ops(self, account_id: str, state: str) -> int:
        return sum(1 for op in self._ops.get(account_id, []) if op.state == state)

    def name_of(self, account_id: str) -> str:
        state = self.get(account_id)
        return state.name if state else account_id

    def pbx_name(self, account_id: str | None, pbx_id: str) -> str:
        state = (self._pending.get(account_id) or self._confirmed.get(account_id)) if account_id else None
        if state and pbx_id in state.pbxs:
            return state.pbxs[pbx_id].name or pbx_id
        return pbx_id

    def pending_account_edits(self, account_id: str) -> dict:
        edits: dict = {}
        for op in self._ops.get(account_id, []):
            if op.state == outbox.PENDING and op.kind == "update_account":
                body = json.loads(op.body)
                edits.update({k: body[k] for k in ("name", "contact_email", "cloud_contract", "language") if k in body})
        return edits

    def base_revision(self, account_id: str, pbx_id: str, *, collapsing: bool = False) -> int:
        """The PBX revision this laptop's next op on it expects: the verified one plus the pending ops ahead.

        Each applied update_pbx or set_licenses raises a PBX's revision by one (DESIGN §5), so a chain of
        offline edits of one PBX carries the revisions the server will see, and an edit made elsewhere
        meanwhile shows as a conflict.
        """
        confirmed = self._confirmed.get(account_id)
        pbx = confirmed.pbxs.get(pbx_id) if confirmed else None
        revision = pbx.revision if pbx is not None and pbx.revision is not None else FIRST_PBX_REVISION
        for op in self._ops.get(account_id, []):
            if op.state != outbox.PENDING or op.pbx_id != pbx_id or op.kind not in PBX_BUMPING:
                continue
            if collapsing and op.kind == "set_licenses" and op.attempts == 0:
                continue  # it is being replaced
            revision += 1
        return revision

    def other_rate(self, state: AccountState, pbx_id: str) -> int:
        """Rate of the other PBXs re-rated at the current list (a connection event re-rates all, R23)."""
        lines = [line for line in state.billing.lines if line.pbx_id != pbx_id]
        if self.pricelist is not None:
            lines = billing.rerate(lines, self.pricelist)
        return sum(line.rate for line in lines)

    # ------------------------------------------------------------------ pending ops

    def _project_pending(self, account_id: str, ops: list[OutboxOp]) -> None:
        pending = [op for op in ops if op.state == outbox.PENDING]
        if not pending:
            return
        base = self._confirmed.get(account_id)
        state = copy.deepcopy(base) if base is not None else None
        for op in pending:
            state = apply_op(state, op, self.pricelist, self.now, self.policy)
        if state is not None:
            self._pending[account_id] = state


def apply_op(state: AccountState | None, op: OutboxOp, prices: PriceList | None, now: int,
             policy: Policy = Policy()) -> AccountState | None:
    """The projected effect of one pending op, as the server would apply it now (for display and checks)."""
    body = json.loads(op.body)
    kind = op.kind
    if kind == "create_account":
        if state is not None:
            return state
        return AccountState(
            account_id=op.account_id, name=body["name"], contact_email=body["contact_email"],
            cloud_contract=bool(body.get("cloud_contract")), language=body.get("language", "en"), partner=None,
            revision=None, billing=billing.open_account(now), pbxs={}, confirmed=False, price_version=None)
    if state is None or state.billing.deleted:
        return state
    if kind == "update_account":
        for key in ("name", "contact_email", "cloud_contract", "language"):
            if key in body:
                setattr(state, key, body[key])
        return state
    if kind == "register_pbx":
        state.pbxs[body["pbx_id"]] = PbxState(
            pbx_id=body["pbx_id"], name=body["name"], serial=body["serial"], platform=body["platform"],
            hardware_model=body.get("hardware_model"), firmware=body["firmware"], mode=body["mode"], revision=None,
            confirmed=False, changed=True)
        _connection_event(state, prices, now, state.billing.lines, policy=policy)
        return state
    pbx = state.pbxs.get(body.get("pbx_id")) if body.get("pbx_id") else None
    if kind == "update_pbx" and pbx is not None:
        for key in ("name", "firmware", "platform", "hardware_model"):
            if key in body:
                setattr(pbx, key, body[key])
        pbx.changed = True
        return state
    if kind == "set_licenses" and pbx is not None:
        items = {ref: qty for ref, qty in body["items"].items() if qty > 0}
        lines = billing.replace_pbx_lines(state.billing, pbx.pbx_id, _lines(pbx.pbx_id, items, prices, state))
        pbx.licenses = items
        pbx.changed = pbx.licenses_pending = True
        _connection_event(state, prices, now, lines, licenses_changed=True, policy=policy)
        return state
    if kind == "remove_pbx" and pbx is not None:
        lines = billing.replace_pbx_lines(state.billing, pbx.pbx_id, ())
        state.billing = billing.reconfigure(billing.project(state.billing, now), now, lines).account
        pbx.removed = pbx.changed = True
        return state
    if kind == "redeem_key":
        note = json.loads(op.note) if op.note else {}
        amount = note.get("amount_milli", 0)
        account = billing.credit(billing.project(state.billing, now), now, amount).account
        state.pending_credit_milli += amount
        # loading iSC is a connection event: re-rate (R23) and resume when covered (R14, R18)
        state.billing = account
        _connection_event(state, prices, now, account.lines, policy=policy)
        return state
    if kind == "delete_account":
        state.billing = billing.forfeit(billing.project(state.billing, now), now).account
        return state
    return state


def _lines(pbx_id: str, items: dict[str, int], prices: PriceList | None, state: AccountState) -> tuple[Line, ...]:
    if prices is None:
        return ()
    return billing.lines_for(pbx_id, {r: q for r, q in items.items() if prices.get(r) is not None}, prices)


def _connection_event(state: AccountState, prices: PriceList | None, now: int, lines, *,
                      licenses_changed: bool = False, resume: bool | None = None, policy: Policy = Policy()) -> None:
    """Settle at the old rates, re-rate every line at the current list (R9, R23), resume when covered (R14, R18)."""
    account = billing.project(state.billing, now)
    if prices is not None:
        lines = billing.rerate(lines, prices)
        state.price_version = prices.version
    if resume is None:
        rate = sum(line.rate for line in lines)
        resume = resumes_after_credit(account.balance, rate, account.suspended, policy)
    state.billing = billing.reconfigure(account, now, lines, resume=True if resume else None).account
    if prices is not None:
        state.billing = replace(state.billing, price_version=prices.version)
