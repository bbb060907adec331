"""Projection (DESIGN §6): the verified replica run forward to now with rental.billing, plus queued ops on top.

Both figures are computed by the same pure core the server runs, so an account whose credit
runs out offline shows suspended from the very second the server will use (R18).
"""

from __future__ import annotations

import copy
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from rental import billing
from rental import opkinds
from rental import ops as decider
from rental import reload
from rental.billing import Account, Line
from rental.errors import RuleViolation
from rental.pricing import PriceHistory, PriceList
from rental.reasons import Reason
from rental.reload import Deposit
from rental.rules import Policy, Reduction

from . import outbox
from .snapshot import account_from_payload, deposits_from_payload
from .models import OutboxOp
from .outbox import PENDING, Outbox
from .replica import Replica
from .errors import NotFound
from .views import Figures, TermsAcceptance

#: Revision a PBX has once the server registered it (DESIGN §5 extension agreed with the server).
FIRST_PBX_REVISION = 1
#: Each op kind's one declaration (rental.opkinds): its flags say which carry a key (verified offline when
#: queued, its amount and id in the op's note), which raise a PBX's revision, which set a PBX's licenses.
KINDS = decider.KINDS


@dataclass
class PbxState:
    """A PBX as this laptop shows it: its facts in the core's own shape (rental.ops.Pbx, the one both programs
    decide on), the revision the server last verified, and what queued ops do to it."""

    facts: decider.Pbx
    revision: int | None  # as the server verified it; None until it registered the PBX
    confirmed: bool
    licenses: dict[str, int] = field(default_factory=dict)
    removed: bool = False
    changed: bool = False
    licenses_pending: bool = False

    pbx_id = property(lambda self: self.facts.pbx_id)
    name = property(lambda self: self.facts.name)
    serial = property(lambda self: self.facts.serial)
    platform = property(lambda self: self.facts.platform)
    hardware_model = property(lambda self: self.facts.hardware_model)
    firmware = property(lambda self: self.facts.firmware)
    mode = property(lambda self: self.facts.mode)


@dataclass
class AccountState:
    """An account as this laptop shows it: the core's state (rental.ops.State: the very value the core decides
    on and the queued ops are replayed on), plus what only the laptop knows (verified or queued here, the
    snapshot's revision and times, PBXs whose removal is queued, credit not yet confirmed)."""

    core: decider.State
    partner: str | None
    revision: int | None
    pbxs: dict[str, PbxState]
    confirmed: bool
    price_version: str | None
    verified_at: int | None = None
    received_at: int | None = None
    pending_credit_milli: int = 0
    terms: TermsAcceptance | None = None  # R26: the customer's acceptance, as recorded (or queued with the account)
    customer_link_at: int | None = None  # R27: when the customer's current link was made (none: no link)

    account_id = property(lambda self: self.core.account_id)
    name = property(lambda self: self.core.name)
    contact_email = property(lambda self: self.core.contact_email)
    cloud_contract = property(lambda self: self.core.cloud_contract)
    language = property(lambda self: self.core.language)
    billing = property(lambda self: self.core.billing)
    auto_reload_days = property(lambda self: self.core.auto_reload_days)  # R24: 0 off, 14 or 28
    deposits = property(lambda self: self.core.deposits)  # R24: keys held for the account, oldest first

    def plan(self, policy: Policy, prices: PriceHistory | None = None) -> "Plan":
        """What automatic reload will still do for this account (R24)."""
        return Plan(self.auto_reload_days, self.deposits, policy, prices)


@dataclass(frozen=True)
class Plan:
    """Automatic reload as the figures need it (R24): the threshold, the keys held, the server's policy."""

    days: int = 0
    deposits: tuple[Deposit, ...] = ()
    policy: Policy = field(default_factory=Policy)
    prices: PriceHistory | None = None  # each reload re-rates at the list in force at its second (R24, R23)


@dataclass(frozen=True)
class _Parsed:
    """What a snapshot's text says, read once (every value immutable): the running state, keys held, PBX facts."""

    raw: Account
    deposits: tuple[Deposit, ...]
    days: int
    facts: dict[str, decider.Pbx]
    licenses: dict[str, tuple[tuple[str, int], ...]]
    revisions: dict[str, int | None]
    payload: dict  # the snapshot's own fields (its PBXs and deposits are read into the fields above)


class ParseCache:
    """Snapshots already read, by account, each with the exact text it was read from (DESIGN §6: computed, not
    remembered). A hit needs the very same payload text, so a newer snapshot (or any other text) is read again:
    what is kept is only the parse of a text, never a figure; the projection to now runs at every call."""

    def __init__(self, size: int = 1024):  # about 7 KB each (and its text): ten pages of the list, and the accounts opened
        self.size = size
        self._held: OrderedDict[str, tuple[str, _Parsed]] = OrderedDict()
        self._lock = threading.Lock()

    def parsed(self, account_id: str, text: str) -> _Parsed:
        with self._lock:
            held = self._held.get(account_id)
            if held is not None and held[0] == text:
                self._held.move_to_end(account_id)
                return held[1]
        parsed = _parse(json.loads(text))
        with self._lock:
            self._held[account_id] = (text, parsed)
            self._held.move_to_end(account_id)
            while len(self._held) > self.size:
                self._held.popitem(last=False)
        return parsed

    def clear(self) -> None:
        with self._lock:
            self._held.clear()

    def __contains__(self, account_id: object) -> bool:
        """Whether a snapshot of this account was read since the last clear (and is still kept)."""
        with self._lock:
            return account_id in self._held


#: one per process: the key is the snapshot's text itself, so two stores (or two unlocks) cannot mix them up
PARSED = ParseCache()


def _parse(payload: dict) -> _Parsed:
    pbxs = payload.get("pbxs", [])
    return _Parsed(
        raw=account_from_payload(payload), deposits=deposits_from_payload(payload),
        days=payload.get("auto_reload_days") or 0,
        facts={pbx["pbx_id"]: decider.Pbx(
            pbx_id=pbx["pbx_id"], name=pbx.get("name") or "", serial=pbx.get("serial") or "",
            platform=pbx.get("platform") or "", hardware_model=pbx.get("hardware_model"),
            firmware=pbx.get("firmware") or "", mode=pbx.get("mode") or "rental",
            revision=pbx["revision"] if pbx.get("revision") is not None else FIRST_PBX_REVISION)
            for pbx in pbxs},
        licenses={pbx["pbx_id"]: tuple((lic["ref"], lic["qty"]) for lic in pbx.get("licenses", [])) for pbx in pbxs},
        revisions={pbx["pbx_id"]: pbx.get("revision") for pbx in pbxs},
        payload={name: value for name, value in payload.items() if name not in ("pbxs", "deposits")})  # read above


def state_from_payload(payload: dict, received_at: int | None, now: int, policy: Policy = Policy(),
                       prices: PriceHistory | None = None) -> AccountState:
    """The snapshot run forward to now, through the automatic reloads whose second has come (R24), each re-rated
    at the list in force at its second, exactly as the server answers it (DESIGN §5: every answer is as of the
    server's now)."""
    return _state_of(_parse(payload), received_at, now, policy, prices)


def state_from_text(account_id: str, text: str, received_at: int | None, now: int, policy: Policy = Policy(),
                    prices: PriceHistory | None = None) -> AccountState:
    """state_from_payload of a snapshot's stored text, read once per text (PARSED), projected to now every time."""
    return _state_of(PARSED.parsed(account_id, text), received_at, now, policy, prices)


def _run_to(parsed: _Parsed, now: int, policy: Policy, prices: PriceHistory | None) -> tuple[Account, tuple]:
    """The snapshot's running state at now, through the automatic reloads whose second has come (R24), and the
    keys still held: what an AccountState's billing and deposits are, and all a row of the list needs."""
    raw = parsed.raw
    done, settled = reload.forward(raw, parsed.deposits, parsed.days, policy, max(now, raw.as_of), prices)
    return settled.account, done.deposits


def _state_of(parsed: _Parsed, received_at: int | None, now: int, policy: Policy,
              prices: PriceHistory | None) -> AccountState:
    payload, days = parsed.payload, parsed.days
    account, deposits = _run_to(parsed, now, policy, prices)
    facts = dict(parsed.facts)
    pbxs = {pbx_id: PbxState(pbx, revision=parsed.revisions[pbx_id], confirmed=True,
                             licenses=dict(parsed.licenses[pbx_id]))
            for pbx_id, pbx in facts.items()}
    core = decider.State(
        account_id=payload["account_id"], name=payload.get("name") or "", contact_email=payload.get("contact_email") or "",
        cloud_contract=bool(payload.get("cloud_contract")), language=payload.get("language") or "en", billing=account,
        pbxs=facts, auto_reload_days=days, deposits=deposits)
    return AccountState(
        core=core, partner=payload.get("partner"), revision=payload["revision"], pbxs=pbxs, confirmed=True,
        price_version=payload.get("price_version"), verified_at=payload["as_of"], received_at=received_at,
        terms=_terms_of(payload, payload.get("terms_accepted_at")),
        customer_link_at=_int_or_none(payload.get("customer_link_at")))


def unrecorded_events(account_id: str, text: str, now: int, policy: Policy = Policy(),
                      prices: PriceHistory | None = None) -> tuple[decider.Event, ...]:
    """The events the signed snapshot makes between its second and now, oldest first, by the server itself (R25): each
    automatic reload at its second (R24) and the stop (R18) and resume they bring, decided by the core's own calls
    (rental.ops.reload_until, reload_events, with_stops), as the server's answer at that second says them (its
    history's page one adds a stop the sweep has not written yet). The history screen shows them until a sync pulls
    what the server recorded, so it never says less than the title and the statement beside it."""
    parsed = PARSED.parsed(account_id, text)
    raw = parsed.raw
    at = max(now, raw.as_of)
    if raw.deleted or at == raw.as_of:
        return ()
    before = _state_of(parsed, None, raw.as_of, policy, prices).core  # the snapshot at its own second
    done = decider.reload_until(before, at, policy, prices)
    after = replace(done.state, billing=billing.settle(done.state.billing, at).account)
    decision = decider.with_stops(before, decider.Decision(after, reloads=done.reloads,
                                                           events=decider.reload_events(done.reloads)), policy, prices)
    return tuple(sorted(decision.events, key=lambda event: event.at if event.at is not None else at))


def _int_or_none(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _terms_of(fields: dict, accepted_at: int | None) -> TermsAcceptance | None:
    """The acceptance of the rental terms (R26) a snapshot records, or a queued create_account carries."""
    version, name = fields.get("terms_version"), fields.get("terms_accepted_by", fields.get("accepted_by"))
    if not isinstance(version, str) or not isinstance(name, str):
        return None
    return TermsAcceptance(version, name, accepted_at if isinstance(accepted_at, int) else None)


def figures(account: Account, now: int, plan: Plan | None = None) -> Figures:
    """R16 figures for now: balance, rate, monthly consumption, remaining runtime, end of credit, status; with a
    plan, the reloads whose second has come are made and the runtime and end count the keys still held (R24)."""
    if plan is None or not plan.days or not plan.deposits:
        account = billing.project(account, now)
        return Figures(at=now, balance_ticks=account.balance, rate_ticks_per_s=account.rate,
                       monthly_milli=account.monthly_milli, remaining_seconds=account.remaining_seconds,
                       ends_at=account.depletes_at, status=account.status)
    done, settled = reload.forward(account, plan.deposits, plan.days, plan.policy, max(now, account.as_of),
                                   plan.prices)
    account = settled.account
    ahead = reload.run(account, done.deposits, plan.days, plan.policy, None, plan.prices)
    ends_at = ahead.account.depletes_at
    return Figures(at=now, balance_ticks=account.balance, rate_ticks_per_s=account.rate,
                   monthly_milli=account.monthly_milli,
                   remaining_seconds=None if ends_at is None else max(0, ends_at - max(now, account.as_of)),
                   ends_at=ends_at, status=account.status, reloads=ahead.reloads)


def pbx_status(state: AccountState, pbx_id: str) -> str:
    """The PBX's status by the core's one rule (rental.ops.pbx_status)."""
    return decider.pbx_status(state.billing, pbx_id)


def burn_points(account: Account, now: int, count: int = 24,
                plan: Plan | None = None) -> tuple[tuple[tuple[int, int], ...], int | None]:
    """(second, balance) from now to the end of credit, evenly spaced; flat for 30 days when nothing runs. With a
    plan, the held keys are redeemed on the way (R24): each reload is drawn at its second, before and after."""
    plan = plan or Plan()
    done, settled = reload.forward(account, plan.deposits, plan.days, plan.policy, max(now, account.as_of),
                                   plan.prices)
    account, deposits = settled.account, done.deposits
    ahead = reload.run(account, deposits, plan.days, plan.policy, None, plan.prices)
    end = ahead.account.depletes_at
    span = (end - now) if end is not None else 30 * 86_400
    count = max(2, count)
    times = {now + span * i // (count - 1) for i in range(count)}
    for made in ahead.reloads:  # the step of each reload: the second before it and its own
        times.update((made.at - 1, made.at) if made.at > now else ())
    points = [(t, reload.balance_at(account, deposits, plan.days, plan.policy, t, plan.prices)) for t in sorted(times)]
    return tuple(points), end


def describe(kind: str, body: dict, book: "Book | None" = None) -> Reason:
    """One line for a queued op, as a reason the screens translate from its code (its kind's declaration)."""
    declared = KINDS.get(kind)
    if declared is None:
        return Reason("", kind, {})
    return declared.description(body, _Names(book, body.get("account_id")))


class _Names(opkinds.Names):
    """A PBX's name as the book knows it, an item's as the price list gives it (issue 11)."""

    def __init__(self, book: "Book | None", account_id: str | None):
        self.book, self.account_id = book, account_id

    def pbx(self, pbx_id: str) -> str:
        return self.book.pbx_name(self.account_id, pbx_id) if self.book and pbx_id else pbx_id

    def item(self, ref: str) -> str:
        return _item_name(self.book.pricelist if self.book else None, ref)


def _item_name(prices: PriceList | None, ref: str) -> str:
    item = prices.get(ref) if prices is not None else None
    return f"{item.name} ({ref})" if item is not None else ref


class Book:
    """Every account of the store as of now: verified state, and the state with pending ops applied."""

    def __init__(self, now: int, pricelist: PriceList | None, policy: Policy = Policy(),
                 prices: PriceHistory | None = None):
        self.now = now
        self.pricelist = pricelist
        self.policy = policy
        #: the lists received: a reload re-rates at the one in force at its second (R24)
        self.prices = prices if prices is not None else PriceHistory((pricelist,))
        self._confirmed = _Verified(self._state_of)
        self._pending: dict[str, AccountState] = {}
        self._ops: dict[str, list[OutboxOp]] = {}
        self.history = LaptopHistory(policy)
        #: queued ops the server would refuse if it saw them now (the balance moved, a price changed), by op_id
        self.refusals: dict[str, RuleViolation] = {}
        #: R25: the history events each account's queued ops will make, oldest first, as the server will word them
        self.queued_events: dict[str, list[tuple[OutboxOp, decider.Event]]] = {}

    @classmethod
    def load(cls, replica: Replica, outbox: Outbox, now: int,
             account_id: "str | list[str] | None" = None) -> "Book":
        """Every account, or only account_id (or a list of ids: a page of the list) and their ops: a screen
        must not parse them all (with 10,000 accounts the whole book takes about a second; docs/benchmarks.md)."""
        # the snapshots and the ops are read in the unit of work's one transaction (issue 21, app/store.py): a sync
        # merging meanwhile stores an account's snapshot and removes its create_account in one commit, seen whole
        # or not at all
        rows = replica.snapshots(account_id)
        pricelist, policy, prices = replica.pricing()
        ops = list(outbox.all_ops(account_id) if account_id is None or isinstance(account_id, str)
                   else outbox.ops_of_accounts(account_id))
        # never project before a verified snapshot: a laptop clock set back must not "un-charge" (SPEC)
        now = max([now] + [row.as_of for row in rows])
        history = LaptopHistory.load(replica, now, policy)
        if any(op.state == PENDING and KINDS[op.kind].sets_licenses for op in ops):
            history.read()  # the queued license changes are decided on it below: read in this same view
        book = cls(now, pricelist, policy, prices)
        for row in rows:  # each read once per text (PARSED); its state is built when first asked (_Verified)
            book._confirmed.add(row.account_id, PARSED.parsed(row.account_id, row.payload), row.received_at)
        book.history = history
        for op in ops:
            book._ops.setdefault(op.account_id, []).append(op)
        for owner, ops in book._ops.items():
            book._project_pending(owner, ops)
        return book

    def _state_of(self, parsed: _Parsed, received_at: int | None) -> AccountState:
        return _state_of(parsed, received_at, self.now, self.policy, self.prices)

    # ------------------------------------------------------------------ queries

    def row(self, account_id: str) -> "Row | None":
        """What a row of the accounts list shows of an account, computed as its AccountState would be (the same
        rental/ projection to now, from the same verified snapshot), without building the PBXs and facts a row
        never shows unless the state was built already or queued ops change it (docs/benchmarks.md §16)."""
        shown = self._pending.get(account_id)
        read = self._confirmed.read(account_id) if shown is None else None
        if read is not None and not self._confirmed.built(account_id):
            parsed = read[0]
            account, deposits = _run_to(parsed, self.now, self.policy, self.prices)
            payload = parsed.payload
            name, email = payload.get("name") or "", payload.get("contact_email") or ""
            return Row(account_id, name, email, True, account, Plan(parsed.days, deposits, self.policy, self.prices), 0)
        state = self.get(account_id)
        if state is None:
            return None
        shown = shown or state
        return Row(account_id, shown.name, shown.contact_email, state.confirmed, state.billing, self.plan(state),
                   shown.pending_credit_milli)

    def rated_version(self, account_id: str) -> str | None:
        """The price list the account's verified state is rated at now (R23): the one the automatic reloads whose
        second has passed re-rated it at (R24, a connection event: the snapshot run forward to now with
        rental.reload.forward, as every figure is), else its snapshot's. The account page, the PBX page and the
        price list screen all ask this one question."""
        row = self.row(account_id)
        if row is None:
            return None
        if row.billing.price_version:
            return row.billing.price_version
        state = self.get(account_id)
        return state.price_version if state is not None else None

    def accounts(self) -> list[AccountState]:
        ids = list(self._confirmed) + [a for a in self._pending if a not in self._confirmed]
        return [self._confirmed.get(a) or self._pending[a] for a in ids]

    def get(self, account_id: str) -> AccountState | None:
        return self._confirmed.get(account_id) or self._pending.get(account_id)

    def require(self, account_id: str) -> AccountState:
        state = self.get(account_id)
        if state is None:

            raise NotFound("account-not-here", account_id=account_id)
        return state

    def require_alive(self, account_id: str) -> AccountState:
        """The account (verified state) unless it is deleted or its deletion is queued."""
        state = self.pending_state(account_id) or self.require(account_id)
        if state.billing.deleted:

            raise RuleViolation.of("account-deleted")
        return self.require(account_id)

    def require_pbx(self, state: AccountState, pbx_id: str) -> PbxState:
        pbx = state.pbxs.get(pbx_id)
        if pbx is None or pbx.removed:

            raise NotFound("pbx-not-here", pbx_id=pbx_id, account=state.name)
        return pbx

    def pending_state(self, account_id: str) -> AccountState | None:
        """The account with its pending ops applied, or None when none is pending."""
        return self._pending.get(account_id)

    def ops_of(self, account_id: str) -> list[OutboxOp]:
        return list(self._ops.get(account_id, []))

    def count_ops(self, account_id: str, state: str) -> int:
        ops = self._ops.get(account_id)
        return sum(1 for op in ops if op.state == state) if ops else 0

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
            if op.state == outbox.PENDING and _edits_account(KINDS[op.kind]):
                body = json.loads(op.body)
                edits.update({k: body[k] for k in decider.ACCOUNT_FIELDS if k in body})
        return edits

    def account_revision(self, account_id: str) -> int | None:
        """The account revision this laptop holds verified (an account edit's base_revision, DESIGN §5): its own
        queued edits never clash with each other on the server (they come from this laptop)."""
        confirmed = self._confirmed.get(account_id)
        return confirmed.revision if confirmed is not None else None

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
            if op.state != outbox.PENDING or op.pbx_id != pbx_id or not KINDS[op.kind].bumps_revision:
                continue
            if collapsing and KINDS[op.kind].sets_licenses and op.attempts == 0:
                continue  # it is being replaced
            revision += 1
        return revision

    def context(self, key: decider.ActivationKey | None = None) -> decider.Context:
        """What the core needs to decide an op offline as the server will (DESIGN §6, offline checks)."""
        return decider.Context(now=self.now, pricelist=self.pricelist, policy=self.policy, history=self.history,
                               key=key, prices=self.prices)

    def plan(self, state: AccountState) -> Plan:
        """Automatic reload of state as the figures use it (R24), with the server's policy."""
        return state.plan(self.policy, self.prices)

    def decide(self, account_id: str, kind: str, fields: dict) -> tuple[AccountState | None, decider.Decision]:
        """The decision the server would take on this op now, on the account with its queued ops applied;
        raises RuleViolation with every problem (the same call the server makes)."""
        state = self.pending_state(account_id) or self.get(account_id)
        decision = decider.decide(kind, to_core(state) if state is not None else None,
                                  {**fields, "account_id": account_id}, self.context(_key_of(kind, fields)))
        return state, decision

    # ------------------------------------------------------------------ pending ops

    def _project_pending(self, account_id: str, ops: list[OutboxOp]) -> None:
        pending = [op for op in ops if op.state == outbox.PENDING]
        if not pending:
            return
        base = self._confirmed.get(account_id)
        state = copy.deepcopy(base) if base is not None else None
        for op in pending:
            try:
                state = apply_op(state, op, self.context(_key_of(op.kind, op.note and json.loads(op.note))),
                                 self.history, self.queued_events.setdefault(account_id, []))
            except RuleViolation as refusal:
                self.refusals[op.op_id] = refusal  # shown as pending; the server will answer it
        if state is not None:
            self._pending[account_id] = state


class _Verified:
    """account_id → AccountState of a Book's verified snapshots (a read-only mapping), each state built at its
    first look-up from the snapshot as read: a list row needs only its figures (Book.row), a page of 100 rows
    would otherwise build 500 PBX states it never shows."""

    __slots__ = ("_read", "_built", "_build")

    def __init__(self, build):
        self._read: dict[str, tuple[_Parsed, int | None]] = {}
        self._built: dict[str, AccountState] = {}
        self._build = build

    def add(self, account_id: str, parsed: _Parsed, received_at: int | None) -> None:
        self._read[account_id] = (parsed, received_at)
        self._built.pop(account_id, None)

    def read(self, account_id: str) -> tuple[_Parsed, int | None] | None:
        return self._read.get(account_id)

    def built(self, account_id: str) -> bool:
        return account_id in self._built

    def get(self, account_id: str, default=None) -> AccountState | None:
        state = self._built.get(account_id)
        if state is None:
            read = self._read.get(account_id)
            if read is None:
                return default
            state = self._built[account_id] = self._build(*read)
        return state

    def __getitem__(self, account_id: str) -> AccountState:
        state = self.get(account_id)
        if state is None:
            raise KeyError(account_id)
        return state

    def __contains__(self, account_id: object) -> bool:
        return account_id in self._read

    def __iter__(self):
        return iter(self._read)

    def __len__(self) -> int:
        return len(self._read)


class Row(NamedTuple):
    """An account as a row of the accounts list needs it: the names shown (with queued edits), whether the server
    has it, its verified running state now and its automatic reload (figures() of the two gives the row's R16
    figures), and the credit queued but not confirmed."""

    account_id: str
    name: str
    contact_email: str
    confirmed: bool
    billing: Account
    plan: Plan
    pending_credit_milli: int


class Accounts:
    """The accounts as this laptop sees them (a repository of a unit of work): each verified snapshot with
    the queued ops of the account projected on it, decided by the same calls as the server's (rental.ops)."""

    def __init__(self, replica: Replica, outbox: Outbox):
        self._replica = replica
        self._outbox = outbox

    def book(self, now: int, account_id: "str | list[str] | None" = None) -> Book:
        """Every account, one (account_id) or a page of them (a list of ids), projected to now."""
        return Book.load(self._replica, self._outbox, now, account_id)


class LaptopHistory:
    """R6's memory as this laptop knows it: reductions and reduce-then-restore occurrences of its own applied
    ops (kept at sync, by serial), plus those its queued ops would make. What was kept is read from the store
    at the first question (only a license change asks: a screen that decides nothing reads nothing)."""

    def __init__(self, policy: Policy = Policy(), reductions=(), occurrences=(), loader=None):
        self.policy = policy
        self._reductions: list[Reduction] = list(reductions)
        self._occurrences: list[tuple[int, str]] = list(occurrences)  # (at, serial)
        #: () -> (reductions, occurrences) kept in the store, read when first asked (they come before the rest)
        self._loader = loader

    @classmethod
    def load(cls, replica: Replica, now: int, policy: Policy) -> "LaptopHistory":
        def kept():
            reductions = [Reduction(r.at, r.serial, r.ref, r.from_qty, r.to_qty)
                          for r in replica.reductions_since(now - policy.toggle_window_s)]
            occurrences = [(o.at, o.serial) for o in replica.toggles_after(now - policy.toggle_period_s)]
            return reductions, occurrences

        return cls(policy, loader=kept)

    def read(self) -> None:
        """Read what the store keeps now (else at the first question)."""
        if self._loader is not None:
            loader, self._loader = self._loader, None
            reductions, occurrences = loader()
            self._reductions[:0] = reductions
            self._occurrences[:0] = occurrences

    def reductions(self, serial: str):
        self.read()
        return [r for r in self._reductions if r.serial == serial]

    def occurrences(self, serial: str) -> int:
        self.read()
        return sum(1 for _, each in self._occurrences if each == serial)

    def remember(self, decision: decider.Decision, serial: str | None, at: int) -> None:
        self._reductions.extend(decision.reductions)
        if decision.restored and serial:
            self._occurrences.append((at, serial))


def _edits_account(declared: opkinds.OpKind) -> bool:
    """A kind whose fields are all the account's own (rental.ops.ACCOUNT_FIELDS): an edit of the account."""
    meta = {"base_revision", opkinds.PRICELIST_VERSION.name}  # what the edit was made on, not what it changes
    return not declared.opens_account and set(declared.field_names) <= set(decider.ACCOUNT_FIELDS) | meta


def _key_of(kind: str, fields) -> decider.ActivationKey | None:
    """The verified key a queued load carries (its amount was read offline when it was queued)."""
    if not KINDS[kind].carries_key or not fields or "amount_milli" not in fields:
        return None
    return decider.ActivationKey(str(fields.get("key_id") or ""), fields["amount_milli"])


def to_core(state: AccountState) -> decider.State:
    """The account as the core decides on it: the state itself (PBXs whose removal is queued are gone from it)."""
    return state.core


def apply_op(state: AccountState | None, op: OutboxOp, ctx: decider.Context,
             history: LaptopHistory | None = None,
             events: "list[tuple[OutboxOp, decider.Event]] | None" = None) -> AccountState | None:
    """The projected effect of one pending op: the core's decision, as the server would take it now.

    Raises RuleViolation when the server would refuse it now; the state is then unchanged.
    """
    body = {key: value for key, value in json.loads(op.body).items() if key != "base_revision"}
    declared = KINDS[op.kind]
    if declared.opens_account and state is not None:
        return state
    core = to_core(state) if state is not None else None
    decision = decider.decide(op.kind, core, {**body, "account_id": op.account_id}, ctx)
    if events is not None:
        events.extend((op, event) for event in decision.events)
    after = decision.state
    if state is None:
        return AccountState(core=after, partner=None, revision=None, pbxs={}, confirmed=False,
                            price_version=after.billing.price_version, terms=_terms_of(body, None))
    pbx_id = body.get("pbx_id")
    if history is not None:
        serial = (core.pbxs.get(pbx_id) or after.pbxs.get(pbx_id)).serial if pbx_id and (
            pbx_id in core.pbxs or pbx_id in after.pbxs) else None
        history.remember(decision, serial, ctx.now)
    state.core = after  # one shape: the core's state is the account's, nothing copied back field by field
    state.price_version = after.billing.price_version or state.price_version
    for each_id, pbx in after.pbxs.items():
        known = state.pbxs.get(each_id)
        if known is None:
            state.pbxs[each_id] = PbxState(pbx, revision=None, confirmed=False, changed=True)
        elif core.pbxs.get(each_id) != pbx:
            known.facts = pbx
            known.changed = True
    for each_id, known in state.pbxs.items():
        if each_id not in after.pbxs:
            known.removed = known.changed = True
    if declared.sets_licenses and pbx_id in state.pbxs:
        pbx = state.pbxs[pbx_id]
        pbx.licenses = after.licenses_of(pbx_id)
        pbx.licenses_pending = True
    if declared.carries_key and not declared.holds_key and ctx.key is not None:
        state.pending_credit_milli += ctx.key.amount_milli
    return state
