"""The writes a technician makes: each decided offline by rental.ops, as the server will, then queued."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping


from rental import billing
from rental import reload as reload_mod
from rental.errors import KeyFormatError, SignatureError
from rental.opkinds import PRICELIST_VERSION, with_flag
from rental.ops import KINDS
from rental import ops as decider
from rental import rules
from rental.reasons import CATALOG, Reason, rule_of

from .. import checks, outbox, projection
from .. import terms as terms_mod
from ..clock import Clock
from ..errors import ChangedMeanwhile, NeedsConfirmation, NotFound, RuleViolation, on_form
from ..store import (
    UnitOfWork,
)
from ..views import (
    Figures,
    LicensePreview,
    QueuedOp,
    SummaryShown,
)
from .common import _figures, _lines_view, _now


def queue(uow: UnitOfWork, now: int, account_id: str, kind: str, fields: Mapping[str, Any], *,
          book: "projection.Book | None" = None, decided=None, read=None) -> QueuedOp:
    """The one way a change is queued (inside an open unit of work, committed by the caller): its fields checked
    by its kind's declaration as the server checks them, a key it carries verified offline and refused when
    this laptop knows it used (R11, R24), the core's decision on the account with its queued ops (the call the
    server makes), then the op at the end of the outbox with the PBX revision it was made on. Returns the op
    with the decision (its warnings, its state: what the screens say next); RuleViolation with every problem.
    ``decided``: the decision the caller took already on this very book (set_licenses' preview), not taken twice;
    ``read``: the key the caller read and verified already from this very text, not verified twice."""
    declared = KINDS[kind]
    fields = checks.op_fields(kind, fields, partial=True)
    key = (read if read is not None and read.text == fields["key"] else _read_key(uow, fields["key"])) \
        if declared.carries_key else None
    use = _key_use(uow, key.text, key.key_id_hex) if key is not None else None
    if book is None:
        # a key: also every account that may hold it or knows it (R11, R24), not the whole book
        book = uow.accounts.book(now, account_id if key is None else _accounts_knowing(uow, account_id, key, use))
    if not declared.opens_account:
        book.require_alive(account_id)
    if key is not None:
        _refuse_known_key(uow, book, key, use)
        _refuse_held_key(book, key.key_id_hex)
    decision = decided or _decide(book, account_id, kind, {**fields, **(_key_fields(key) if key else {})})
    body = dict(fields)
    pbx_id = fields.get("pbx_id") if declared.names_pbx else None
    if declared.checks_revision:
        body["base_revision"] = book.base_revision(account_id, pbx_id, collapsing=declared.sets_licenses)
    elif declared.checks_account_revision and book.account_revision(account_id) is not None:
        body["base_revision"] = book.account_revision(account_id)  # a field changed elsewhere since clashes
    if book.pricelist is not None:
        body[PRICELIST_VERSION.name] = book.pricelist.version  # the list the technician saw (R23: rerated)
    note = json.dumps({"amount_milli": key.amount_milli, "key_id": key.key_id_hex}) if key is not None else None
    op = uow.outbox.enqueue(kind, account_id, body, now, pbx_id=pbx_id, note=note)
    return QueuedOp(op.op_id, op.kind, account_id, decision.warnings, pbx_id, decision=decision,
                    key_amount_milli=key.amount_milli if key is not None else None)


def _queued(uow: UnitOfWork, clock: Clock, account_id: str, kind: str, fields: Mapping[str, Any], *,
            read=None, seen_revision: int | None = None) -> QueuedOp:
    """queue() in a unit of work of its own, committed; ``seen_revision``: the account revision the screen checked
    its form on (ChangedMeanwhile when a sync moved it since)."""
    with uow.writing():
        now = _now(uow, clock, writing=True)
        book = _unchanged_since(uow, now, account_id, seen_revision) if seen_revision is not None else None
        queued = queue(uow, now, account_id, kind, fields, read=read, book=book)
        uow.commit()
        return queued


def create_account(uow: UnitOfWork, clock: Clock, name: str, contact_email: str, cloud_contract: bool = False,
                   language: str = "en", *, terms_version: str | None = None, accepted_by: str | None = None,
                   terms_accepted: bool = False) -> QueuedOp:
    """Queue a new customer account (its id is made here, a UUID, as DESIGN §5 says), with the customer's
    acceptance of the rental terms held on this laptop (R26)."""
    kind = "create_account"
    account_id = str(uuid.uuid4())
    with uow.writing():
        # every problem of the form at once, the signatory's beside the fields' (not one round of fixes after another)
        problems = []
        try:
            fields = checks.account_fields(kind, name=name, contact_email=contact_email,
                                           cloud_contract=cloud_contract, language=language, required=True)
        except RuleViolation as error:
            problems.extend(error.problems)
        try:
            accepted = terms_mod.acceptance(uow.replica, terms_version, accepted_by, terms_accepted)
        except RuleViolation as error:
            problems.extend(error.problems)
        if problems:
            raise RuleViolation(problems)
        fields.update(accepted)
        queued = queue(uow, _now(uow, clock, writing=True), account_id, kind, fields)
        uow.commit()
        return queued


def update_account(uow: UnitOfWork, clock: Clock, account_id: str, *, name=None, contact_email=None,
                   cloud_contract=None, language=None, replacing: str | None = None,
                   seen_revision: int | None = None) -> QueuedOp:
    """Queue edits of an account's name, contact, cloud contract (R7) or language (only fields given);
    ``replacing``: the waiting edit of the account that this one, made on the server's current state, replaces;
    ``seen_revision``: the account revision the form was checked on (ChangedMeanwhile when a sync moved it since)."""
    fields = checks.account_fields("update_account", name=name, contact_email=contact_email,
                                   cloud_contract=cloud_contract, language=language, required=False)
    if not fields:
        raise RuleViolation.of("nothing-to-change")
    with uow.writing():
        now = _now(uow, clock, writing=True)
        book = _unchanged_since(uow, now, account_id, seen_revision)
        _drop_replaced(uow, replacing, account_id, "update_account")
        queued = queue(uow, now, account_id, "update_account", fields,
                       book=book if replacing is None else None)  # a dropped op: the book read again
        uow.commit()
        return queued


def _unchanged_since(uow: UnitOfWork, now: int, account_id: str, seen_revision: int | None):
    """The account's book, read in the change's own transaction (a writer's: no sync can merge under it until it
    ends); ChangedMeanwhile when its revision is no longer the one the screen checked the form on (a sync merged
    between that read and this transaction)."""
    book = uow.accounts.book(now, account_id)
    if seen_revision is not None and book.require(account_id).revision != seen_revision:
        raise ChangedMeanwhile()
    return book


def _drop_replaced(uow: UnitOfWork, op_id: str | None, account_id: str, kind: str, pbx_id: str | None = None) -> None:
    """Drop the refused or conflicting op of this kind, account and PBX that an edit made anew on the server's
    current state replaces (issue 21: "Edit on the current state"), in the edit's own transaction: the
    technician saw it on the review and chose to edit instead, so nothing typed is dropped unseen."""
    replaced = uow.outbox.get(op_id) if op_id else None
    if replaced is not None and replaced.state != outbox.PENDING and replaced.account_id == account_id \
            and replaced.pbx_id == pbx_id and replaced.kind == kind:
        uow.outbox.remove(replaced)
        uow.flush()


def register_pbx(uow: UnitOfWork, clock: Clock, account_id: str, *, name: str, serial: str, platform: str,
                 firmware: str, mode: str = "rental", hardware_model: str | None = None) -> QueuedOp:
    """Queue a new PBX (R1 firmware ≥ 13r1 and R7 platform for rental mode, checked now)."""
    kind = "register_pbx"
    with uow.writing():
        now = _now(uow, clock, writing=True)
        book = uow.accounts.book(now, account_id)
        state = book.pending_state(account_id) or book.require_alive(account_id)
        fields = checks.pbx_fields(kind, state, name=name, serial=serial, platform=platform, firmware=firmware,
                                   mode=mode, hardware_model=hardware_model)
        queued = queue(uow, now, account_id, kind, {"pbx_id": str(uuid.uuid4()), **fields}, book=book)
        uow.commit()
        return queued


def update_pbx(uow: UnitOfWork, clock: Clock, account_id: str, pbx_id: str, *, name=None, firmware=None,
               platform=None, hardware_model=None, mode=None, purchased_removed: bool = False,
               seen_revision: int | None = None) -> QueuedOp:
    """Queue edits of a PBX; a rental PBX keeps R1 and R7 true; the mode switches as R8 allows (purchased →
    rental once the technician confirms its purchased licenses were removed: purchased_removed).
    ``seen_revision``: the account revision the form was checked on (ChangedMeanwhile when a sync moved it since)."""
    kind = "update_pbx"
    with uow.writing():
        now = _now(uow, clock, writing=True)
        book = _unchanged_since(uow, now, account_id, seen_revision)
        state = book.pending_state(account_id) or book.require_alive(account_id)
        book.require_pbx(state, pbx_id)
        fields = checks.pbx_update_fields(kind, name=name, firmware=firmware, platform=platform,
                                          hardware_model=hardware_model, mode=mode)
        fields.update({"purchased_removed": True} if purchased_removed and "mode" in fields else {})  # R8
        queued = queue(uow, now, account_id, kind, {"pbx_id": pbx_id, **fields}, book=book)
        uow.commit()
        return queued


def preview_licenses(uow: UnitOfWork, clock: Clock, account_id: str, pbx_id: str,
                     items: Mapping[str, int]) -> LicensePreview:
    """What set_licenses would do, offline (R2, R6, R8, R14, R16): figures, problems per ref, warnings."""
    with uow:
        now = _now(uow, clock)
        book = uow.accounts.book(now, account_id)
        return _preview(book, account_id, pbx_id, items, now)


def set_licenses(uow: UnitOfWork, clock: Clock, account_id: str, pbx_id: str, items: Mapping[str, int], *,
                 confirm: bool = False, replacing: str | None = None, seen_revision: int | None = None,
                 shown: SummaryShown | None = None, same_day: Callable[[int, int], bool] | None = None) -> QueuedOp:
    """Queue the desired licenses of a PBX ({} ends the rent, R19); pending ones of the PBX collapse into this.
    ``replacing``: a refused or conflicting set of licenses of this PBX that this one replaces (edited anew on
    the server's current state, issue 21), dropped in the same transaction; ``seen_revision``: the account
    revision the editor was checked on (ChangedMeanwhile when a sync moved it since); ``shown``: what the editor's
    summary showed, compared with what is queued (QueuedOp.crossings: the credit ran out meanwhile, R18, ...).

    Raises RuleViolation with every problem, or NeedsConfirmation when R6 warns and confirm is False.
    """
    with uow.writing():
        now = _now(uow, clock, writing=True)
        book = _unchanged_since(uow, now, account_id, seen_revision)
        preview = _preview(book, account_id, pbx_id, items, now)
        if not preview.ok:
            raise RuleViolation(preview.problems, warnings=preview.warnings)
        confirmable = preview.confirmable
        if confirmable and not confirm:
            raise NeedsConfirmation(confirmable)
        desired = {ref: qty for ref, qty in items.items() if qty > 0}
        _drop_replaced(uow, replacing, account_id, "set_licenses", pbx_id)
        queued = queue(uow, now, account_id, "set_licenses", {"pbx_id": pbx_id, "items": dict(sorted(desired.items()))},
                       book=book, decided=preview.decision)
        uow.commit()
    if shown is None:
        return queued
    return replace(queued, crossings=crossings(shown, preview.shown, same_day, preview.after.resume_needs_milli))


def remove_pbx(uow: UnitOfWork, clock: Clock, account_id: str, pbx_id: str, *,
               seen_revision: int | None = None) -> QueuedOp:
    """Queue the removal of a PBX (its rented items stop being charged from the server's second, R19);
    ``seen_revision``: the account revision the page was checked on (ChangedMeanwhile when a sync moved it since)."""
    with uow.writing():
        now = _now(uow, clock, writing=True)
        book = _unchanged_since(uow, now, account_id, seen_revision)
        book.require_pbx(book.pending_state(account_id) or book.require_alive(account_id), pbx_id)
        queued = queue(uow, now, account_id, "remove_pbx", {"pbx_id": pbx_id}, book=book)
        uow.commit()
        return queued


def load_key(uow: UnitOfWork, clock: Clock, account_id: str, key_text: str, *, shown: "KeyShown | None" = None,
             same_day: Callable[[int, int], bool] | None = None) -> QueuedOp:
    """Queue an activation key (R11, R17) after verifying it offline; a forged or mistyped key is refused now.

    The credit shows as "+X iSC, not yet confirmed" until the server says the key was not used before; the
    warnings say, before the sync, when the load will not restart a suspended account (R18, still-suspended).
    ``shown``: what the key form's answer said the load would do, compared with what it does at the second it is
    queued, in the same transaction, so no sync lands between the two (QueuedOp.crossings: R18, R16).
    """
    key = _read_key(uow, key_text)
    with uow.writing():
        now = _now(uow, clock, writing=True)
        said = _key_preview(uow, now, account_id, key) if shown is not None else None
        queued = queue(uow, now, account_id, "redeem_key", {"key": key.text}, read=key)
        uow.commit()
    if said is None:
        return queued
    return replace(queued, crossings=key_crossings(shown, said, same_day))


def deposit_key(uow: UnitOfWork, clock: Clock, account_id: str, key_text: str) -> QueuedOp:
    """Queue an activation key to be held for the account (R24), verified offline like a load: reload redeems it
    when the runtime reaches the threshold; until then it can be withdrawn."""
    key = _read_key(uow, key_text)  # a mistyped or forged key is refused now, naming its field, before the store opens
    return _queued(uow, clock, account_id, "deposit_key", {"key": key.text}, read=key)


@dataclass(frozen=True)
class KeyPreview:
    """What a typed key would do, before it is queued (R11, R18): its amount, whether it restarts a suspended
    account or how much more would, and the figures after it; or why it cannot be used."""

    amount_milli: int = 0
    problems: tuple[Reason, ...] = ()
    restarts: bool = False  # the account is suspended and this load restarts it (R18)
    still_needs_milli: int | None = None  # the account stays suspended: this much more would restart it
    after: Figures | None = None

    @property
    def outcome(self) -> str | None:
        """What the key form says the load does (R18): ``restarts`` the stopped installation, is ``short`` of
        restarting it, or the credit ``runs`` on; None when it says nothing (no key, or a refused one)."""
        if self.problems or not self.amount_milli:
            return None
        return "restarts" if self.restarts else "short" if self.still_needs_milli else "runs"


#: What the key form can have said of a load (KeyPreview.outcome).
KEY_OUTCOMES = ("restarts", "short", "runs")


@dataclass(frozen=True)
class KeyShown:
    """What the key form's answer showed, carried by the form to the save (untrusted: words only): the second it
    was worked out for, the load's outcome (KeyPreview.outcome) and the end of credit with the key (R16)."""

    at: int
    outcome: str
    ends_at: int | None


def key_crossings(shown: KeyShown, now: KeyPreview, same_day: Callable[[int, int], bool] | None = None
                  ) -> tuple[Reason, ...]:
    """How what a load decides now differs from what the key form showed (R18: it restarts, or no longer does; R16:
    the credit lasts until another day); pure, said beside the save."""
    if now.outcome is None or now.outcome == shown.outcome and now.outcome != "runs":
        return ()
    if now.outcome == "restarts":
        return (Reason.of("crossed-key-restarts"),)
    if now.outcome == "short":
        return (Reason.of("crossed-key-short", missing_milli=now.still_needs_milli),)
    ends = now.after.ends_at if now.after is not None else None
    if shown.outcome == "runs" and shown.ends_at is not None and ends is not None \
            and not (same_day or (lambda a, b: a == b))(shown.ends_at, ends):
        return (Reason.of("crossed-key-ends", from_at=shown.ends_at, to_at=ends),)
    return ()


def preview_key(uow: UnitOfWork, clock: Clock, account_id: str, key_text: str) -> KeyPreview:
    """The key form's answer as the technician types (nothing is queued): the core's decision on the load."""
    if not (key_text or "").strip():
        return KeyPreview()
    try:
        key = _read_key(uow, key_text)
    except RuleViolation as refused:
        return KeyPreview(problems=refused.problems)
    with uow:
        return _key_preview(uow, _now(uow, clock), account_id, key)


def _key_preview(uow: UnitOfWork, now: int, account_id: str, key) -> KeyPreview:
    """The core's decision on loading a read key at ``now``, inside the caller's open unit of work."""
    book = uow.accounts.book(now, account_id)
    try:
        book.require_alive(account_id)
        _refuse_known_key(uow, book, key)
        state, decision = book.decide(account_id, "redeem_key", _key_fields(key))
    except NotFound:
        raise
    except RuleViolation as refused:
        return KeyPreview(key.amount_milli, on_form(refused).problems)
    suspended = billing.project(state.billing, now).suspended
    still = next((int(w.params["missing_milli"]) for w in decision.warnings if w.code == "still-suspended"), None)
    return KeyPreview(key.amount_milli, (), suspended and not decision.state.billing.suspended, still,
                      _figures(decision.state.billing, now, book))


def _read_key(uow: UnitOfWork, key_text: str):
    """The key read and verified offline, or RuleViolation with its reason (key-incomplete, key-not-genuine, ...)."""
    try:
        return uow.keyring.read_key(key_text)
    except (KeyFormatError, SignatureError) as exc:
        raise RuleViolation(exc.reason.about("key")) from None


def _key_fields(key) -> dict:
    """A load as the core decides it: the key text and what it was read to hold."""
    return {"key": key.text, "amount_milli": key.amount_milli, "key_id": key.key_id_hex}


def _refuse_known_key(uow, book: "projection.Book", key, use: "KeyUse | None | bool" = False) -> None:
    """A key this laptop already knows as queued, loaded or refused as used is refused at once (R11); ``use``: what
    _key_use said of it already in this unit of work (False: ask it)."""
    if use is False:
        use = _key_use(uow, key.text, key.key_id_hex)
    if use is not None:
        code = {"queued": "key-queued-here", "loaded": "key-loaded-here", "used": "key-used-here"}[use.state]
        raise RuleViolation(Reason("key-used", code, {"account": book.name_of(use.account_id)}, field="key"))


def withdraw_key(uow: UnitOfWork, clock: Clock, account_id: str, key_id: str) -> QueuedOp:
    """Queue giving back a held key (R24); a deposit still queued here is simply dropped (it never left)."""
    with uow.writing():
        now = _now(uow, clock, writing=True)
        for op in uow.outbox.all_ops(account_id):
            note = json.loads(op.note) if op.note else {}
            if KINDS[op.kind].holds_key and op.state == outbox.PENDING and note.get("key_id") == key_id \
                    and op.attempts == 0:
                uow.outbox.remove(op)
                uow.commit()
                return QueuedOp(op.op_id, op.kind, account_id)  # the deposit, dropped
        queued = queue(uow, now, account_id, "withdraw_key", {"key_id": key_id})
        uow.commit()
        return queued


def set_auto_reload(uow: UnitOfWork, clock: Clock, account_id: str, days: int, *,
                    seen_revision: int | None = None) -> QueuedOp:
    """Queue switching automatic reload off (0) or on at 14 or 28 days of runtime (R24); ``seen_revision``: the
    account revision the select was checked on (ChangedMeanwhile when a sync moved it since)."""
    if isinstance(days, bool) or days not in reload_mod.THRESHOLDS:
        raise RuleViolation(Reason.of("reload-days-invalid", days=str(days)[:20]).about("auto_reload_days"))
    return _queued(uow, clock, account_id, "update_account", {"auto_reload_days": days}, seen_revision=seen_revision)


def _refuse_held_key(book: "projection.Book", key_id: str) -> None:
    """A key held for an account known here (R24) is used: withdraw it there first."""
    for state in book.accounts():
        if any(d.key_id == key_id for d in (book.pending_state(state.account_id) or state).deposits):
            raise RuleViolation(Reason.of("key-used").about("key"))


@dataclass(frozen=True)
class KeyUse:
    """What this laptop knows of an activation key: queued here, loaded (in a ledger it pulled), or refused as used."""

    state: str  # queued | loaded | used
    account_id: str


def _accounts_knowing(uow, account_id: str, key, use: KeyUse | None) -> list[str]:
    """The account a key is queued for, and every account that may hold it (R24: its snapshot names the key, or a
    key is queued to be held there) or knows it (R11: the account named when it is refused): the book a key needs.
    A held key is in the holder's snapshot or in a queued deposit, so no other account can hold it."""
    ids = {account_id, *uow.replica.accounts_mentioning(key.key_id_hex)}
    ids.update(op.account_id for op in uow.outbox.ops_of_kinds(with_flag("holds_key")) if op.state == outbox.PENDING)
    if use is not None:
        ids.add(use.account_id)
    return sorted(ids)


def _key_use(uow, key_text: str, key_id_hex: str) -> KeyUse | None:
    """The laptop's own knowledge of a key (its outbox, the server's answers, the ledgers pulled); None: nothing."""
    for op in uow.outbox.ops_of_kinds(with_flag("carries_key")):
        if json.loads(op.body).get("key") == key_text:  # loaded or held (R24)
            if op.state == "pending":
                return KeyUse("queued", op.account_id)
            if op.rule == "key-used":
                return KeyUse("used", op.account_id)
    account_id = uow.replica.account_crediting(key_id_hex)
    if account_id is not None:
        return KeyUse("loaded", account_id)
    return None


def key_use(uow: UnitOfWork, key_text: str) -> KeyUse | None:
    """Whether this laptop already knows the key as queued, loaded or used (None also for a key it cannot read)."""
    try:
        key = uow.keyring.read_key(key_text)
    except (KeyFormatError, SignatureError):
        return None
    with uow:
        return _key_use(uow, key.text, key.key_id_hex)


def delete_account(uow: UnitOfWork, clock: Clock, account_id: str, confirm_forfeit_milli: int) -> QueuedOp:
    """Queue deleting an account; confirm_forfeit_milli is the balance shown, consent to forfeit up to it (R13).

    Refused only when the account now holds more (credit loaded since, DESIGN §5): as the server decides it.
    """
    # the amount's checks are its field's in the kind's declaration (a whole number of milli-iSC, bad-op)
    return _queued(uow, clock, account_id, "delete_account", {"confirm_forfeit_milli": confirm_forfeit_milli})


def _decide(book: "projection.Book", account_id: str, kind: str, fields: dict):
    """The core's decision on this op offline, exactly as the server will take it; RuleViolation otherwise (each
    problem next to its form field)."""
    try:
        return book.decide(account_id, kind, fields)[1]
    except RuleViolation as refusal:
        raise on_form(refusal) from None


def _preview(book: "projection.Book", account_id: str, pbx_id: str, items: Mapping[str, int],
             now: int) -> LicensePreview:
    """set_licenses decided by the core on the projected state (R2, R3, R6, R7, R8, R14, R18), with figures."""
    book.require_alive(account_id)
    state = book.pending_state(account_id) or book.require(account_id)
    book.require_pbx(state, pbx_id)
    prices = book.pricelist
    if prices is None:
        raise RuleViolation.of("no-pricelist")
    wanted = {ref: qty for ref, qty in items.items() if isinstance(qty, int) and not isinstance(qty, bool)
              and qty > 0 and prices.get(ref) is not None}
    lines = billing.lines_for(pbx_id, wanted, prices)
    try:
        decision = book.decide(account_id, "set_licenses", {"pbx_id": pbx_id, "items": dict(items)})[1]
    except NotFound:
        raise
    except RuleViolation as refusal:
        # the figures still show what the configuration would cost, at the current list
        others = billing.rerate([l for l in state.billing.lines if l.pbx_id != pbx_id], prices)
        after = billing.reconfigure(billing.project(state.billing, now), now, others + lines).account
        problems = refusal.problems
        missing = next((int(p.params.get("missing_milli", 0)) for p in problems if p.code == "min-credit"), 0)
        current = _figures(state.billing, now, book, book.plan(state))
        return LicensePreview(ok=False, problems=problems, warnings=(), current=current,
                              after=_figures(after, now, book), lines=_lines_view(lines, prices), missing_milli=missing,
                              changes_at=_first(current.changes_at, _r6_leaves_at(book, state, pbx_id, problems, now)))
    after_plan = projection.Plan(decision.state.auto_reload_days, decision.state.deposits, book.policy, book.prices)
    current = _figures(state.billing, now, book, book.plan(state))
    # R14 by time alone: the state runs on meanwhile, its balance falls under what this change needs
    settled = billing.project(state.billing, now)
    others = billing.rerate([l for l in settled.lines if l.pbx_id != pbx_id], prices)
    refuses_at = decider.min_credit_fails_at(settled, pbx_id, tuple(lines), tuple(others), prices, book.policy)
    return LicensePreview(ok=True, problems=(), warnings=decision.warnings, current=current,
                          after=_figures(decision.state.billing, now, book, after_plan), lines=_lines_view(lines, prices),
                          missing_milli=0, decision=decision, changes_at=_first(
                              current.changes_at, refuses_at,
                              _r6_leaves_at(book, state, pbx_id, decision.warnings, now)))


def _r6_leaves_at(book: "projection.Book", state, pbx_id: str, said, now: int) -> int | None:
    """When R6 speaks of the change (a warning, or a refusal), the second a reduction it counts leaves the window:
    what R6 says may then change by time alone."""
    if not any(reason.rule == "R6" for reason in said):
        return None
    return rules.window_leaves_at(book.history.reductions(state.pbxs[pbx_id].serial), state.pbxs[pbx_id].serial,
                                  now, book.policy.toggle_window_s)


def _first(*seconds: int | None) -> int | None:
    """The earliest of the seconds given (None: none)."""
    return min((s for s in seconds if s is not None), default=None)


def crossings(shown: SummaryShown, now: SummaryShown, same_day: Callable[[int, int], bool] | None = None,
              resume_needs_milli: int | None = None) -> tuple[Reason, ...]:
    """How ``now`` (what the save decided) differs from what a summary showed, in what matters to money or to the
    rules: the change starts stopped or runs after all (R18), its monthly consumption (R16, R23), its end of credit
    (R16: ``same_day`` says when two seconds read as one day, as the screen shows a day), a rule problem or warning
    appearing or gone (R6, R14, ...). Pure: the screen says them beside the save."""
    said: list[Reason] = []
    if now.status == "suspended" and shown.status != "suspended":
        said.append(Reason.of("crossed-stopped", missing_milli=resume_needs_milli or 0))
    elif shown.status == "suspended" and now.status == "active":
        said.append(Reason.of("crossed-runs"))
    if now.monthly_milli != shown.monthly_milli:
        said.append(Reason.of("crossed-monthly", from_milli=shown.monthly_milli, to_milli=now.monthly_milli))
    if now.status == shown.status == "active" and shown.ends_at is not None and now.ends_at is not None \
            and not (same_day or (lambda a, b: a == b))(shown.ends_at, now.ends_at):
        said.append(Reason.of("crossed-ends", from_at=shown.ends_at, to_at=now.ends_at))
    appeared = [code for code in now.verdict if code not in shown.verdict]
    gone = [code for code in shown.verdict if code not in now.verdict]
    refusing = sorted({rule_of(c) for c in appeared if c in CATALOG and c not in WARNING_CODES})
    warning = sorted({rule_of(c) for c in appeared if c in WARNING_CODES})
    cleared = sorted({rule_of(c) for c in gone if c in CATALOG})
    if refusing:
        said.append(Reason.of("crossed-refused", rules=refusing))
    if warning:
        said.append(Reason.of("crossed-warns", rules=warning))
    if cleared:
        said.append(Reason.of("crossed-cleared", rules=cleared))
    return tuple(said)


#: The codes a license change warns with and may still be queued (the others a preview says refuse it).
WARNING_CODES = frozenset({"toggle-warning"})
