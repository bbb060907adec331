"""What each op does (DESIGN §5): one pure decision per kind.

The license server loads an account, calls ``decide`` and stores the decision; the app replays its
queued ops with the same call to project them offline, and its checks before queueing are the same
call. Nothing here reads a clock or a database: the caller hands in the account's state, the op's
fields (already validated by shape) and a ``Context`` (now, price list, policy, R6 history, a
verified activation key).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Protocol

from . import billing, opkinds, reload, rules
from .billing import Account, Entry, Line
from .errors import RuleViolation
from .money import SECONDS_PER_DAY, SECONDS_PER_MONTH, TICKS_PER_MILLI, ticks_to_milli_floor
from .opkinds import Field, Names, OpKind, declare
from .pricing import PriceHistory, PriceList
from .reasons import Reason, event_code
from .reload import Deposit, Reload
from .rules import Policy, Reduction

APPLIED, REJECTED, CONFLICT = "applied", "rejected", "conflict"
MAX_BALANCE = 2**63 - 1  # what one account can hold (a BIGINT column)
#: The op kinds by name, in the order DESIGN §5 lists them: each declared once, at the end of this module.
KINDS = opkinds.KINDS
ACCOUNT_FIELDS = ("name", "contact_email", "cloud_contract", "language", "auto_reload_days")
PBX_FIELDS = ("name", "firmware", "platform", "hardware_model", "mode")


@dataclass(frozen=True)
class Pbx:
    """One installation of the account; ``revision`` rises by one at each update_pbx or set_licenses."""

    pbx_id: str
    name: str
    serial: str
    platform: str
    firmware: str
    mode: str
    hardware_model: str | None = None
    revision: int = 1


@dataclass(frozen=True)
class State:
    """An account as ops see it: its facts, its PBXs and its running credit (DESIGN §3)."""

    account_id: str
    name: str
    contact_email: str
    cloud_contract: bool
    language: str
    billing: Account
    pbxs: Mapping[str, Pbx] = field(default_factory=dict)
    auto_reload_days: int = 0  # R24: 0 off, else 14 or 28
    deposits: tuple[Deposit, ...] = ()  # R24: keys held for the account, oldest first
    #: each account field's last change: field → (the account revision it made, the client that made it); what
    #: update_account's base_revision is checked against (DESIGN §5, edit-conflict)
    edited: Mapping[str, tuple[int, str]] = field(default_factory=dict)

    def licenses_of(self, pbx_id: str) -> dict[str, int]:
        return {line.ref: line.qty for line in self.billing.lines_of(pbx_id)}

    def pbx_status(self, pbx_id: str) -> str:
        """idle (rents nothing), suspended (credit used up, R18) or active."""
        return pbx_status(self.billing, pbx_id)


def pbx_status(account: Account, pbx_id: str) -> str:
    """A PBX's status, the one rule both programs show: idle (rents nothing), suspended (the account's credit
    is used up, R18) or active."""
    if not account.lines_of(pbx_id):
        return "idle"
    return "suspended" if account.suspended else "active"


@dataclass(frozen=True)
class ActivationKey:
    """What a verified activation key brings (the caller checked its signature; the server its novelty)."""

    key_id: str
    amount_milli: int


class History(Protocol):
    """R6's memory, kept by the caller: reductions by serial, and reduce-then-restore occurrences."""

    def reductions(self, serial: str) -> Iterable[Reduction]: ...

    def occurrences(self, serial: str) -> int: ...


class NoHistory:
    def reductions(self, serial: str) -> Iterable[Reduction]:
        return ()

    def occurrences(self, serial: str) -> int:
        return 0


@dataclass(frozen=True)
class Context:
    """What a decision needs besides the account: the server's now, the current list and policy."""

    now: int
    pricelist: PriceList | None = None
    policy: Policy = field(default_factory=Policy)
    history: History = field(default_factory=NoHistory)
    key: ActivationKey | None = None
    #: the lists published (R23, R24): an automatic reload re-rates at the one in force at its second; by default
    #: the current list alone, in force from its publication
    prices: PriceHistory | None = None
    #: the client (laptop) sending the op: its own earlier edits never clash with its later ones (edit-conflict)
    client: str = ""

    @property
    def price_history(self) -> PriceHistory:
        if self.prices is not None:
            return self.prices
        return PriceHistory((self.pricelist,))


@dataclass(frozen=True)
class Event:
    """One line of the account's history (R25): a kind of rental.reasons.EVENTS and plain params (names, refs,
    quantities, amounts in milli-iSC); ``at`` only when it is not the op's own second (a stop found settling)."""

    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)
    at: int | None = None

    @property
    def code(self) -> str:
        return event_code(self.kind)

    def reason(self) -> Reason:
        """As screens translate it: a notice (rule "") with its code and params."""
        return Reason("", self.code, dict(self.params))


@dataclass(frozen=True)
class Decision:
    """An applied op: the new state, the ledger entries that explain it, warnings and R6 memory."""

    state: State
    entries: tuple[Entry, ...] = ()
    warnings: tuple[Reason, ...] = ()
    reductions: tuple[Reduction, ...] = ()  # R6: quantities lowered, to remember by serial
    restored: tuple[str, ...] = ()  # R6: refs raised again soon after a reduction (one occurrence)
    connection: bool = False  # R9: a connection event (settled, re-rated at the current list)
    reloads: tuple[Reload, ...] = ()  # R24: keys redeemed automatically, at their seconds, before and by this op
    events: tuple[Event, ...] = ()  # R25: what the account's history records of this op, stops and resumes included
    edited: tuple[str, ...] = ()  # the account fields this op changed (stamped with the new revision by the caller)
    conflict: Reason | None = None  # applied in part: the fields someone else changed meanwhile (edit-conflict)


#: the frozen dataclasses ops copy on every decision, and their fields (none has __post_init__ or an init=False field)
_COPIED = {cls: frozenset(f.name for f in dataclasses.fields(cls)) for cls in (State, Pbx, Decision, Event)}


def replace(obj: Any, /, **changes: Any) -> Any:
    """dataclasses.replace: for State, Pbx, Decision and Event, a copy of the instance's fields with changes, 4-5
    times cheaper than re-running __init__ (a batch op copies several; issue 27); anything else, or a name that
    is not a field (its TypeError), goes to dataclasses.replace."""
    names = _COPIED.get(type(obj))
    if names is None or not names.issuperset(changes):
        return dataclasses.replace(obj, **changes)
    copy = object.__new__(type(obj))
    fields = copy.__dict__
    fields.update(obj.__dict__)
    fields.update(changes)
    return copy


def decide(kind: str, state: State | None, fields: Mapping[str, Any], ctx: Context) -> Decision:
    """Apply op kind to state as the license server does; raises RuleViolation with every problem."""
    if KINDS[kind].opens_account:
        return KINDS[kind].decide(state, fields, ctx)
    if state is None:
        raise _refused("account-unknown")
    if state.billing.deleted:
        raise _refused("account-deleted")
    prices = ctx.price_history
    before = reload_until(state, max(ctx.now, state.billing.as_of), ctx.policy, prices)  # R24: reloads due by now
    lapsed = expire_until(before.state, max(ctx.now, before.state.billing.as_of), ctx.policy)  # R19: expired by now
    decision = KINDS[kind].decide(lapsed.state, fields, ctx)
    after = _reload_at_once(decision.state, max(ctx.now, decision.state.billing.as_of), ctx.policy, prices)
    if before.reloads or after.reloads or lapsed.entries:
        decision = replace(decision, state=after.state,
                           entries=before.entries + lapsed.entries + decision.entries + after.entries,
                           reloads=before.reloads + after.reloads,
                           events=reload_events(before.reloads) + lapsed.events + decision.events
                           + reload_events(after.reloads))
    decision = with_stops(state, decision, ctx.policy, prices)
    return with_rerate(decision, fields.get("pricelist_version"), ctx)


def monthly_milli(lines: Iterable[Line]) -> int:
    """The account's monthly consumption (R22): every rented line's price times its quantity."""
    return sum(line.monthly_milli * line.qty for line in lines)


def with_rerate(decision: Decision, seen: Any, ctx: Context) -> Decision:
    """R23: a connection event decided at another list than the one the technician saw warns ``rerated`` with the
    whole account's monthly after the op at both lists, when they differ (none when the seen list is unknown)."""
    current = ctx.pricelist
    if not decision.connection or not isinstance(seen, str) or current is None or seen == current.version:
        return decision
    old_list = ctx.price_history.version(seen)
    if old_list is None:
        return decision
    lines = decision.state.billing.lines
    new = monthly_milli(lines)
    old = monthly_milli(billing.rerate(lines, old_list))
    if old == new:
        return decision
    warning = Reason.of("rerated", **{"from": seen, "to": current.version, "old_monthly_milli": old,
                                      "new_monthly_milli": new})
    return replace(decision, warnings=(*decision.warnings, warning))


def reload_events(reloads) -> tuple[Event, ...]:
    """R25: each automatic reload (R24) is a line of the history, at its own second."""
    return tuple(Event("key-reloaded", {"key_id": done.key_id, "amount_milli": done.amount_milli}, done.at)
                 for done in reloads)


def with_stops(state: State, decision: Decision, policy: Policy, prices: PriceHistory | None = None) -> Decision:
    """R25: the stop and resume (R18) the op's settling found, around the op's own events (before: the stop at its
    second; after: the resume); with automatic reloads (R24) on the way, the end is the one they left."""
    if decision.state.billing == state.billing:
        return decision
    ends = state.billing.depletes_at
    if decision.reloads:
        ends = reload.run(state.billing, state.deposits, state.auto_reload_days, policy,
                          decision.state.billing.as_of, prices).account.depletes_at
    stops, resumes = [], []
    for kind, at in stops_and_resumes(state.billing.suspended, ends, decision.state.billing):
        (stops if kind == SUSPENDED_EVENT else resumes).append(Event(kind, {}, at))
    if not stops and not resumes:
        return decision
    return replace(decision, events=tuple(stops) + decision.events + tuple(resumes))


def reload_until(state: State, at: int, policy: Policy, prices: PriceHistory | None = None) -> Decision:
    """The account with every automatic reload due by second `at` made, each at its exact second and re-rated at
    the list then in force (R24, R23); the state is settled to the last reload only (what an answer "as of now"
    and the sweep see)."""
    done = reload.run(state.billing, state.deposits, state.auto_reload_days, policy, at, prices)
    if not done.reloads:
        return Decision(state)
    return Decision(replace(state, billing=done.account, deposits=done.deposits), done.entries, reloads=done.reloads)


def expire_until(state: State, at: int, policy: Policy) -> Decision:
    """R19: credit left unused past the retention period expired at that period's end, whoever looks first: an op
    decided after it starts from the expired account, as the sweep writes it (the same ledger line and history
    event, at the same second), so a key loaded before the sweep ran keeps no expired credit alive."""
    runs_out = state.billing.depletes_at
    if runs_out is not None and at < runs_out:
        return Decision(state)  # still running at `at`: nothing is retained (the usual op, no settle on its way)
    change = billing.expire(state.billing, at, policy.retention_s)
    expired = [entry for entry in change.entries if entry.kind == billing.EXPIRY]
    if not expired:
        return Decision(state)
    amount = ticks_to_milli_floor(expired[0].ticks)  # what the balance showed (as license_server.history.expiry_rows)
    return Decision(replace(state, billing=change.account), change.entries,
                    events=(Event("expired", {"amount_milli": amount}, expired[0].at),))


def _reload_at_once(state: State, at: int, policy: Policy, prices: PriceHistory | None = None) -> Decision:
    """Reloads an op made due by now (a key deposited, reload switched on, a higher rate): at once, at its second."""
    due = reload.next_reload_at(state.billing, state.auto_reload_days, state.deposits)
    if due is None or due > at:
        return Decision(state)
    settled = billing.settle(state.billing, at)
    done = reload_until(replace(state, billing=settled.account), at, policy, prices)
    return replace(done, entries=settled.entries + done.entries)


#: The history's words for a suspension (R18: the credit ran out, the installations stop) and its end: one word
#: each, as the account's status says it (``suspended``).
SUSPENDED_EVENT, RESUMED_EVENT = "suspended", "resumed"


def stops_and_resumes(was_suspended: bool, ends: int | None, after: Account) -> list[tuple[str, int]]:
    """The stop and resume (R18) a change from a running state (suspended or not, ending at `ends`) to `after`
    makes, each with its second and its event kind (SUSPENDED_EVENT, RESUMED_EVENT): the customer mails (R20)
    and the history (R25) both come from here."""
    if after.deleted:
        return []  # a deleted account neither stops nor resumes any more
    found: list[tuple[str, int]] = []
    if not was_suspended:
        ran_out = ends is not None and ends <= after.as_of  # settled past its end: it stopped at that second
        if after.suspended:
            found.append((SUSPENDED_EVENT, ends if ran_out else after.as_of))
        elif ran_out:
            found.append((SUSPENDED_EVENT, ends))
            if after.status == billing.ACTIVE:
                found.append((RESUMED_EVENT, after.as_of))
    elif not after.suspended and after.status == billing.ACTIVE:
        found.append((RESUMED_EVENT, after.as_of))
    return found


# --------------------------------------------------------------------------- one decision per kind


def create_account(state: State | None, fields: Mapping[str, Any], ctx: Context) -> Decision:
    if state is not None:
        raise _refused("account-exists")
    account = billing.open_account(ctx.now)
    if ctx.pricelist is not None:
        account = replace(account, price_version=ctx.pricelist.version)
    return Decision(State(
        account_id=str(fields.get("account_id", "")), name=fields["name"], contact_email=fields["contact_email"],
        cloud_contract=fields["cloud_contract"], language=fields.get("language", "en"), billing=account),
        events=(Event("created", {"name": fields["name"]}),))


def update_account(state: State, fields: Mapping[str, Any], ctx: Context) -> Decision:
    """Edit the account's facts (not a connection event). With base_revision, a field someone else changed since
    that revision (to another value than this op's) clashes: the others are applied all the same (DESIGN §5)."""
    changes = {key: fields[key] for key in ACCOUNT_FIELDS if key in fields}
    if not changes:
        raise _refused("nothing-to-change")
    clashes = edit_clashes(state, changes, fields.get("base_revision"), ctx.client)
    if clashes:
        changes = {key: value for key, value in changes.items() if key not in clashes}
        conflict = Reason.of("edit-conflict", fields=clashes, applied=sorted(changes),
                             held=changes_of({key: getattr(state, key) for key in clashes}))
        if not changes:
            return Decision(state, conflict=conflict)
        return replace(update_account(state, changes, ctx), conflict=conflict)
    days = changes.get("auto_reload_days", 0)
    if type(days) is not int or days not in reload.THRESHOLDS:
        raise _refused("reload-days-invalid", days=str(days)[:20])  # R24: off, 14 or 28 days
    if changes.get("cloud_contract") is False and state.cloud_contract:
        for pbx in state.pbxs.values():
            if pbx.platform == "cloud" and pbx.mode == "rental" and state.billing.lines_of(pbx.pbx_id):
                raise _refused("cloud-contract-in-use", pbx=pbx.name)
    edited = tuple(key for key, value in changes.items() if getattr(state, key) != value)
    return Decision(replace(state, **changes), events=(Event("account-edited", {"changes": changes_of(changes)}),),
                    edited=edited)


def edit_clashes(state: State, changes: Mapping[str, Any], base: Any, client: str) -> list[str]:
    """The fields of changes another client changed after revision base and that now hold another value than
    this op's (sorted); none without a base."""
    if not isinstance(base, int) or isinstance(base, bool):
        return []
    found = []
    for key, value in changes.items():
        revision, by = state.edited.get(key, (0, ""))
        if revision > base and by != client and getattr(state, key) != value:
            found.append(key)
    return sorted(found)


def register_pbx(state: State, fields: Mapping[str, Any], ctx: Context) -> Decision:
    """A rental PBX is a connection event (R9); a purchased one is not and re-rates nothing."""
    pbx_id = fields["pbx_id"]
    if pbx_id in state.pbxs:
        raise _refused("pbx-exists", pbx_id=pbx_id)
    _check_pbx(fields["mode"], fields["platform"], fields["firmware"], state.cloud_contract)
    for other in state.pbxs.values():
        if other.serial == fields["serial"]:
            raise _refused("serial-duplicate", pbx=other.name, serial=fields["serial"])
    pbx = Pbx(pbx_id=pbx_id, name=fields["name"], serial=fields["serial"], platform=fields["platform"],
              firmware=fields["firmware"], mode=fields["mode"], hardware_model=fields.get("hardware_model"))
    state = replace(state, pbxs={**state.pbxs, pbx_id: pbx})
    registered = (Event(f"pbx-registered-{pbx.mode}", {"pbx": pbx.name, "pbx_id": pbx_id, "serial": pbx.serial}),)
    if pbx.mode != "rental":
        return Decision(state, events=registered)
    return replace(_connected(state, state.billing.lines, ctx), events=registered)


def update_pbx(state: State, fields: Mapping[str, Any], ctx: Context) -> Decision:
    """Edit a PBX's facts (not a connection event); R1 and R7 hold for a rental PBX; R8 mode switches."""
    pbx = _pbx(state, fields, ctx)
    changes = {key: fields[key] for key in PBX_FIELDS if key in fields}
    if not changes:
        raise _refused("nothing-to-change")
    merged = replace(pbx, **changes)
    if merged.mode != pbx.mode and merged.mode != "rental" and state.billing.lines_of(pbx.pbx_id):
        raise _refused("still-renting", pbx=pbx.name)  # R8: back to purchased only when it rents nothing
    _check_pbx(merged.mode, merged.platform, merged.firmware, state.cloud_contract)
    if merged.mode == "rental" and pbx.mode != "rental" and fields.get("purchased_removed") is not True:
        raise _refused("purchased-licenses", pbx=pbx.name)  # R8: only rented licenses once it rents
    merged = replace(merged, revision=pbx.revision + 1)
    events = []
    edited = {key: value for key, value in changes.items() if key != "mode" and getattr(pbx, key) != value}
    if edited:
        events.append(Event("pbx-edited", {"pbx": pbx.name, "pbx_id": pbx.pbx_id, "changes": changes_of(edited)}))
    if merged.mode != pbx.mode:
        events.append(Event(f"pbx-to-{merged.mode}", {"pbx": merged.name, "pbx_id": pbx.pbx_id}))
    return Decision(replace(state, pbxs={**state.pbxs, pbx.pbx_id: merged}), events=tuple(events))


def set_licenses(state: State, fields: Mapping[str, Any], ctx: Context) -> Decision:
    """The desired rental state of a PBX (R2, R3, R6, R8, R14, R15); {} ends the rent (R19). A connection event."""
    pbx = _pbx(state, fields, ctx)
    pricelist = _pricelist(ctx)
    desired = fields["items"]
    problems = list(rules.check_items(desired, pricelist))
    wanted = {ref: qty for ref, qty in desired.items() if _is_qty(qty) and qty > 0}
    if wanted:
        problem = _first_problem(lambda: rules.check_mode(pbx.mode, wanted),
                                 lambda: rules.check_firmware(pbx.firmware),
                                 lambda: rules.check_platform(pbx.platform, state.cloud_contract))
        if problem is not None:
            problems.append(problem)
    current = state.licenses_of(pbx.pbx_id)
    at = max(ctx.now, state.billing.as_of)
    settled = billing.settle(state.billing, at)
    account = settled.account
    known = {ref: qty for ref, qty in wanted.items() if pricelist.get(ref) is not None}
    new_lines = billing.lines_for(pbx.pbx_id, known, pricelist)
    others = billing.rerate((line for line in account.lines if line.pbx_id != pbx.pbx_id), pricelist)
    if not problems:
        credit = min_credit_problem(account, pbx.pbx_id, new_lines, others, pricelist, ctx.policy)
        if credit is not None:
            problems.append(credit)
    warnings: list[Reason] = []
    restored = rules.restored_refs(ctx.history.reductions(pbx.serial), pbx.serial, current, wanted, at,
                                   ctx.policy.toggle_window_s)
    if restored:
        problem = rules.toggle_problem(restored, ctx.history.occurrences(pbx.serial), ctx.policy.toggle_refuse_at)
        if problem is None:
            warnings.append(Reason.of("toggle-warning", refs=list(restored)))
        else:
            problems.append(problem)
    if problems:
        raise RuleViolation([violation.reason for violation in problems])
    pbxs = {**state.pbxs, pbx.pbx_id: replace(pbx, revision=pbx.revision + 1)}
    changed = licenses_changed(pbx, current, wanted)
    return _connected(state, others + new_lines, ctx, settled.entries, billing=account, pbxs=pbxs, rated=True,
                      warnings=tuple(warnings), decided={
                          "reductions": tuple(rules.reductions(pbx.serial, current, wanted, at)),
                          "restored": tuple(restored), "events": (changed,) if changed else ()})


def remove_pbx(state: State, fields: Mapping[str, Any], ctx: Context) -> Decision:
    """Its rent ends this second (R19); removal reduces every item to zero for R6; a rental PBX's removal is a
    connection event (R9) that re-rates the others."""
    pbx = _pbx(state, fields, ctx)
    at = max(ctx.now, state.billing.as_of)
    current = state.licenses_of(pbx.pbx_id)
    pbxs = {key: value for key, value in state.pbxs.items() if key != pbx.pbx_id}
    made = tuple(rules.reductions(pbx.serial, current, {}, at))
    removed = (Event("pbx-removed", {"pbx": pbx.name, "pbx_id": pbx.pbx_id, "serial": pbx.serial}),)
    if pbx.mode != "rental":
        return Decision(replace(state, pbxs=pbxs), reductions=made, events=removed)
    settled = billing.settle(state.billing, at)
    others = tuple(line for line in settled.account.lines if line.pbx_id != pbx.pbx_id)
    decision = _connected(replace(state, billing=settled.account, pbxs=pbxs), others, ctx, settled.entries)
    return replace(decision, reductions=made, events=removed)


def load_key(state: State, fields: Mapping[str, Any], ctx: Context) -> Decision:
    """Load an activation key (R11, R17): a connection event; a suspended account resumes when R18 allows,
    else the warning still-suspended says how much more would."""
    key = ctx.key
    if key is None:
        raise _refused("key-invalid", detail="it could not be read")
    at = max(ctx.now, state.billing.as_of)
    change = billing.credit(state.billing, at, key.amount_milli, key_id=key.key_id)
    if change.account.balance > MAX_BALANCE:
        raise _refused("balance-overflow")
    decision = _connected(replace(state, billing=change.account), change.account.lines, ctx, change.entries)
    return replace(decision,
                   events=(Event("key-loaded", {"key_id": key.key_id, "amount_milli": key.amount_milli}),))


def deposit_key(state: State, fields: Mapping[str, Any], ctx: Context) -> Decision:
    """Hold a verified key for this account (R24): no other account can use it; redeemed automatically when reload
    is on (at once when the runtime is already shorter than the threshold, or the account suspended)."""
    key = ctx.key
    if key is None:
        raise _refused("key-invalid", detail="it could not be read")
    if any(held.key_id == key.key_id for held in state.deposits):
        raise _refused("key-used")
    at = max(ctx.now, state.billing.as_of)
    held = sum(deposit.amount_milli for deposit in state.deposits) + key.amount_milli
    if state.billing.balance + held * TICKS_PER_MILLI > MAX_BALANCE:
        raise _refused("balance-overflow")
    deposits = reload.ordered((*state.deposits, Deposit(at, key.key_id, key.amount_milli)))
    return Decision(replace(state, deposits=deposits),
                    events=(Event("key-deposited", {"key_id": key.key_id, "amount_milli": key.amount_milli}),))


def withdraw_key(state: State, fields: Mapping[str, Any], ctx: Context) -> Decision:
    """Give back a held, unused key (R24): it can then be loaded or deposited anywhere."""
    key_id = str(fields["key_id"]).strip().lower()
    kept = tuple(deposit for deposit in state.deposits if deposit.key_id != key_id)
    if len(kept) == len(state.deposits):
        raise _refused("deposit-unknown", key_id=key_id[:40])
    [gone] = [deposit for deposit in state.deposits if deposit.key_id == key_id]
    return Decision(replace(state, deposits=kept),
                    events=(Event("key-withdrawn", {"key_id": key_id, "amount_milli": gone.amount_milli}),))


def delete_account(state: State, fields: Mapping[str, Any], ctx: Context) -> Decision:
    """The consent names the balance shown: up to that amount is forfeited for good (R13); a running account's
    balance falls while the consent travels, so only a higher balance (credit loaded since) refuses."""
    at = max(ctx.now, state.billing.as_of)
    settled = billing.settle(state.billing, at)
    held = ticks_to_milli_floor(settled.account.balance)
    confirmed = fields["confirm_forfeit_milli"]
    if held > confirmed:
        raise _refused("forfeit-consent", balance_milli=held, confirmed_milli=confirmed)
    final = billing.forfeit(settled.account, at)
    # keys still held were never credited: they are given back, usable elsewhere (R24)
    return Decision(replace(state, billing=final.account, deposits=()), settled.entries + final.entries,
                    events=(Event("deleted", {"amount_milli": held}),))


# --------------------------------------------------------------------------- the money rules


def min_credit_problem(account: Account, pbx_id: str, new_lines: tuple[Line, ...], others: tuple[Line, ...],
                       pricelist: PriceList, policy: Policy) -> RuleViolation | None:
    """R14 refuses only a change that adds: one that raises the PBX's rate when its old and new configurations
    are both priced at the current list, and then only when the credit does not cover the account's new
    configuration for min_credit_days. Reducing or ending a rent is never refused for credit (R15, R19)."""
    old_rate = _rate(billing.rerate(account.lines_of(pbx_id), pricelist))
    new_rate = _rate(new_lines)
    if new_rate <= old_rate:
        return None
    missing = rules.credit_shortfall_milli(account.balance, _rate(others) + new_rate, policy.min_credit_days)
    if missing:
        return RuleViolation.of("min-credit", days=policy.min_credit_days, missing_milli=missing)
    return None


def min_credit_fails_at(account: Account, pbx_id: str, new_lines: tuple[Line, ...], others: tuple[Line, ...],
                        pricelist: PriceList, policy: Policy) -> int | None:
    """The first second after ``account.as_of`` at which min_credit_problem starts refusing this change by time
    alone (R14): the account runs on at its rate meanwhile, so its balance falls under the credit the new
    configuration needs for min_credit_days. None when it refuses already, never will (a change that does not add,
    an account charged nothing) or a stop comes first (R18: then the stop's second is the one that counts)."""
    if min_credit_problem(account, pbx_id, new_lines, others, pricelist, policy) is not None:
        return None
    old_rate = _rate(billing.rerate(account.lines_of(pbx_id), pricelist))
    if _rate(new_lines) <= old_rate or account.rate <= 0:
        return None
    spare = account.balance - rules.required_ticks(_rate(others) + _rate(new_lines), policy.min_credit_days)
    at = account.as_of + spare // account.rate + 1  # the first second the balance is under what is needed
    ends = account.depletes_at
    return at if ends is None or at < ends else None


def connection_event(account: Account, lines: Iterable[Line], ctx: Context, *, rated: bool = False) -> billing.Change:
    """R9, R23: settle at the old rates, run lines re-rated at the current list (rated: the caller rated them at
    ctx.pricelist already); a suspended account resumes when its credit pays the configuration for
    resume_min_days (R18)."""
    at = max(ctx.now, account.as_of)
    settled = billing.settle(account, at)
    lines = tuple(lines)
    if ctx.pricelist is not None and not rated:
        lines = billing.rerate(lines, ctx.pricelist)
    resume = settled.account.suspended and resume_needs_milli(settled.account.balance, _rate(lines), ctx.policy) == 0
    final = billing.reconfigure(settled.account, at, lines, resume=True if resume else None,
                                price_version=ctx.pricelist.version if ctx.pricelist is not None else None)
    return billing.Change(final.account, settled.entries + final.entries, settled.depleted_at)


def resume_needs_milli(balance: int, rate: int, policy: Policy) -> int:
    """The least load (milli-iSC) after which a configuration of rate resumes (R18); 0 when it would now."""
    if rate <= 0:
        return 0
    return rules.credit_shortfall_milli(balance, rate, policy.resume_min_days)


def resume_needs(account: Account, pricelist: PriceList | None, policy: Policy) -> int | None:
    """For a suspended account, the least load that resumes it at the current list (R18); None otherwise."""
    if not account.suspended or account.deleted or not account.lines:
        return None
    lines = billing.rerate(account.lines, pricelist) if pricelist is not None else account.lines
    return resume_needs_milli(account.balance, _rate(lines), policy)


def retained_until(account: Account, policy: Policy) -> int | None:
    """When the credit of an account that runs nothing expires (R19); None while something runs."""
    return billing.retention_ends_at(account, policy.retention_s)


def daily_milli(monthly_milli: int) -> int:
    """The average daily consumption the guide speaks of (R16), rounded down: a month is 1/12 of the Julian year."""
    return monthly_milli * SECONDS_PER_DAY // SECONDS_PER_MONTH


# --------------------------------------------------------------------------- helpers


def _connected(state: State, lines: Iterable[Line], ctx: Context, entries: tuple[Entry, ...] = (), *,
               warnings: tuple[Reason, ...] = (), decided: Mapping[str, Any] | None = None, rated: bool = False,
               **changes: Any) -> Decision:
    """A connection event (R9, R23) on state, with changes (billing, pbxs, ...) made first: one new state, one
    decision (warnings first, then the R18 one; decided: the decision's other fields, e.g. events)."""
    change = connection_event(changes.get("billing", state.billing), lines, ctx, rated=rated)
    account = change.account
    needs = resume_needs(account, None, ctx.policy) if account.suspended and account.configured_rate else None
    if needs:
        warnings = (*warnings, Reason.of("still-suspended", missing_milli=needs, days=ctx.policy.resume_min_days))
    return Decision(replace(state, **{**changes, "billing": account}), tuple(entries) + change.entries, warnings,
                    connection=True, **(decided or {}))


def licenses_changed(pbx: Pbx, current: Mapping[str, int], wanted: Mapping[str, int]) -> Event | None:
    """The history's line for a PBX's licenses going from current to wanted (R25), or None when nothing moved."""
    refs = sorted(set(current) | set(wanted))
    moved = [(ref, current.get(ref, 0), wanted.get(ref, 0)) for ref in refs if current.get(ref, 0) != wanted.get(ref, 0)]
    if not moved:
        return None
    return Event("licenses-changed", {"pbx": pbx.name, "pbx_id": pbx.pbx_id,
                                      "changes": [f"{ref}: {old} → {new}" for ref, old, new in moved],
                                      "refs": [ref for ref, _, _ in moved], "from_qty": [old for _, old, _ in moved],
                                      "to_qty": [new for _, _, new in moved]})


def changes_of(changes: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Edited fields as data for history and queued-op lines: [{"field": name, "to": value}], worded by each
    screen in its language (rental.reasons.change_text)."""
    return [{"field": key, "to": value} for key, value in changes.items()]


def _pbx(state: State, fields: Mapping[str, Any], ctx: Context) -> Pbx:
    pbx = state.pbxs.get(fields["pbx_id"])
    if pbx is None:
        raise _refused("pbx-unknown", pbx_id=fields["pbx_id"])
    base = fields.get("base_revision")
    if base is not None and base != pbx.revision:
        raise RuleViolation(Reason.of("revision-conflict", pbx_id=pbx.pbx_id, revision=pbx.revision,
                                      base_revision=base), status=CONFLICT)
    return pbx


def _pricelist(ctx: Context) -> PriceList:
    if ctx.pricelist is None:
        raise _refused("no-pricelist")
    return ctx.pricelist


def _check_pbx(mode: str, platform: str, firmware: str, cloud_contract: bool) -> None:
    rules.check_pbx(mode, platform, firmware, cloud_contract)


def _first_problem(*checks: Callable[[], Any]) -> RuleViolation | None:
    for check in checks:
        try:
            check()
        except RuleViolation as violation:
            return violation
    return None


def _is_qty(qty: Any) -> bool:
    return isinstance(qty, int) and not isinstance(qty, bool) and 0 <= qty <= rules.MAX_QTY


def _rate(lines: Iterable[Line]) -> int:
    return sum(line.rate for line in lines)


def _refused(code: str, **params: Any) -> RuleViolation:
    return RuleViolation.of(code, **params)


# --------------------------------------------------------------------------- the op kinds, each declared once
# (DESIGN §6): fields and their checks, decision, description (a catalog code of rental.reasons.DESCRIPTIONS and
# its params), flags. The server's schema and OpenAPI, the app's checks, projection and labels read these.


def _code(kind: str) -> str:
    return "op-" + kind.replace("_", "-")


def _picked(body: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    return {key: body[key] for key in names if key in body}


def _describe_edit(fields: tuple[str, ...], on_pbx: bool):
    def describe(body: Mapping[str, Any], names: Names) -> Reason:
        params: dict[str, Any] = {"changes": changes_of(_picked(body, fields))}
        if on_pbx:
            params["pbx"] = names.pbx(str(body.get("pbx_id", "")))
        return Reason("", _code("update_pbx" if on_pbx else "update_account"), params)
    return describe


def _describe_licenses(body: Mapping[str, Any], names: Names) -> Reason:
    items = [f"{names.item(ref)} × {qty}" for ref, qty in sorted((body.get("items") or {}).items())]
    return Reason("", "op-set-licenses" if items else "op-end-rent",
                  {"pbx": names.pbx(str(body.get("pbx_id", ""))), "items": items})


def _describe_key(kind: str):
    return lambda body, names: Reason("", _code(kind), {"key": str(body.get("key", ""))[:11]})


def _renew_consent(state: State, fields: Mapping[str, Any]) -> Mapping[str, Any]:
    """A deletion queued again consents to the balance as it stands now (R13): the technician re-decided."""
    return {**fields, "confirm_forfeit_milli": ticks_to_milli_floor(state.billing.balance)}


_KEY_FIELD = "an activation key, ISC1-…"
declare(OpKind(
    "create_account",
    (Field("name", "text"), Field("contact_email", "email", max_len=254), Field("cloud_contract", "bool"),
     Field("language", "language", required=False, description="en or fr (default en): the language of e-mails"),
     Field("terms_version", "text", False, 64, "the version of the rental terms the customer accepted (R26): "
                                               "the current one, once the vendor published terms"),
     Field("accepted_by", "text", False, 200, "the name of the customer's signatory who accepted them (R26)")),
    create_account, opens_account=True,
    describe=lambda body, names: Reason("", "op-create-account",
                                        {"name": body.get("name"), "email": body.get("contact_email")})))
declare(OpKind(
    "update_account",
    (Field("name", "text", False), Field("contact_email", "email", False, 254),
     Field("cloud_contract", "bool", False), Field("language", "language", False),
     Field("base_revision", "revision", False, description="the account revision the edit was made on: a field "
                                                           "someone else changed since clashes (edit-conflict)"),
     Field("auto_reload_days", "reload_days", False,
           description="automatic reload (R24): 0 off, or 14 or 28, the runtime in days at which the oldest "
                       "deposited key is redeemed")),
    update_account, describe=_describe_edit(ACCOUNT_FIELDS, on_pbx=False)))
declare(OpKind(
    "register_pbx",
    (Field("pbx_id", "pbx_id"), Field("name", "text"), Field("serial", "text", max_len=100),
     Field("platform", "platform"), Field("hardware_model", "text", False, 100), Field("firmware", "firmware"),
     Field("mode", "mode")),
    register_pbx, connection=True,  # in rental mode (R9)
    describe=lambda body, names: Reason("", "op-register-pbx",
                                        {key: body.get(key) for key in ("name", "platform", "firmware", "mode")})))
declare(OpKind(
    "update_pbx",
    (Field("pbx_id", "pbx_id"), Field("base_revision", "revision"), Field("name", "text", False),
     Field("firmware", "firmware", False), Field("platform", "platform", False),
     Field("hardware_model", "text", False, 100),
     Field("mode", "mode", False, description="purchased → rental when R1 and R7 hold; rental → purchased "
                                              "when it rents nothing (R8)"),
     Field("purchased_removed", "bool", False, description="purchased → rental: the technician confirms the "
                                                           "PBX's purchased licenses were removed (R8)")),
    update_pbx, bumps_revision=True, describe=_describe_edit(PBX_FIELDS, on_pbx=True)))
declare(OpKind(
    "set_licenses",
    (Field("pbx_id", "pbx_id"), Field("base_revision", "revision"),
     Field("items", "items", description="the desired state {ref: qty}; {} ends the rent (R19)")),
    set_licenses, bumps_revision=True, names_serial=True, connection=True, sets_licenses=True,
    describe=_describe_licenses))
declare(OpKind(
    "remove_pbx", (Field("pbx_id", "pbx_id"), Field("base_revision", "revision")),
    remove_pbx, names_serial=True, connection=True,  # a rental PBX's removal (R9, R19)
    describe=lambda body, names: Reason("", "op-remove-pbx", {"pbx": names.pbx(str(body.get("pbx_id", "")))})))
declare(OpKind(
    "redeem_key", (Field("key", "key", max_len=300, description=_KEY_FIELD),),
    load_key, carries_key=True, connection=True, describe=_describe_key("redeem_key")))
declare(OpKind(
    "deposit_key",
    (Field("key", "key", max_len=300, description=_KEY_FIELD + ", held for this account until automatic reload "
                                                               "redeems it (R24)"),),
    deposit_key, carries_key=True, holds_key=True, describe=_describe_key("deposit_key")))
declare(OpKind(
    "withdraw_key",
    (Field("key_id", "key_id", max_len=20, description="the hex id of a key held for this account (R24): given "
                                                       "back, usable anywhere"),),
    withdraw_key,
    describe=lambda body, names: Reason("", "op-withdraw-key", {"key_id": str(body.get("key_id", ""))})))
declare(OpKind(
    "delete_account",
    (Field("confirm_forfeit_milli", "milli",
           description="the balance in milli-iSC as shown, rounded down: consent to forfeit it (R13)"),),
    delete_account, renew=_renew_consent, describe=lambda body, names: Reason("", "op-delete-account", {})))
