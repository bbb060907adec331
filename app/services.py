"""The desktop app's use cases: what the UI calls. Each takes a unit of work and a clock; none knows Flask.

Reads return frozen views (amounts as int ticks / milli-iSC: format them with
``rental.money.format_ticks`` / ``format_milli``). Writes run the offline checks — the very
``rental.rules`` functions the license server runs — and queue an op with a fresh op_id, or
raise ``Refused`` (every problem with its rule and fix) and queue nothing.

Typical UI use::

    store = services.unlock(home, passphrase)            # or initialise(...) on first run
    views = services.list_accounts(store.unit_of_work(), clock)
    services.set_licenses(store.unit_of_work(), clock, account_id, pbx_id, {"01-00010-001": 5})
    report = services.sync_now(store, clock)             # a Store is a unit-of-work factory
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from dataclasses import dataclass, field, replace
from typing import Callable, Mapping, Sequence

from rental import billing
from rental import ops as decider
from rental.errors import AmountError, KeyFormatError, Refusal, RuleViolation, SignatureError
from rental.reasons import Reason
from rental.money import check_milli, ticks_to_milli_floor
from rental.pricing import PriceList

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from rental import reload as reload_mod

from . import history as history_mod
from . import checks, clock as clock_mod, outbox, projection, replica, settings as settings_mod, terms as terms_mod
from .clock import Clock, ClockNotice
# the error types and view models live at the bottom of the app (app/errors.py, app/views.py); screens get them here
from .errors import FIELD_OF_CODE, NeedsConfirmation, NotFound, Problem, Refused, from_stored, words_of
from .views import HeldKey  # noqa: F401  (the statement's keys held)
from .views import (
    AccountRef, AccountSummary, AccountView, BurnDown, CreditRow, DepositView, Figures, KeyFingerprint, LicenseLine,
    LicensePreview, MeterView, OpView, PbxView, PricelistNotice, QueuedOp, RefusalView, ResultView, SettingsView,
    StatementRow, StatementView, SyncReport, SyncStatus,
)
from .models import AccountReplica, LedgerLine
from .store import (  # re-exported: the UI needs only this module
    Store,
    StoreError,
    StoreExists,
    StoreMissing,
    UnitOfWork,
    WeakPassphrase,
    WrongPassphrase,
)
from . import store as _store

__all__ = [
    # errors
    "Refused", "NeedsConfirmation", "NotFound", "StoreError", "StoreExists", "StoreMissing", "WeakPassphrase",
    "WrongPassphrase", "InsecureServerUrl",
    # views
    "Problem", "Figures", "LicenseLine", "PbxView", "OpView", "AccountSummary", "AccountView", "LicensePreview",
    "PricelistNotice", "BurnDown", "StatementRow", "StatementView", "CreditRow", "RefusalView", "SyncStatus",
    "SettingsView",
    "QueuedOp", "SyncReport", "KeyFingerprint", "ResultView", "ClockNotice", "AccountRef", "DepositView",
    # setup
    "is_initialised", "initialise", "unlock", "change_passphrase", "get_settings", "set_settings",
    "trusted_key_fingerprints",
    # reads
    "list_accounts", "account_detail", "meter", "pbx_detail", "current_pricelist", "pricelist_notice", "pricelist_notices",
    "burn_down", "statement", "sync_status", "queued_ops",
    # writes
    "create_account", "update_account", "register_pbx", "update_pbx", "preview_licenses", "set_licenses",
    "remove_pbx", "redeem_key", "deposit_key", "withdraw_key", "set_auto_reload", "preview_key", "KeyPreview",
    "delete_account", "resolve", "key_use", "KeyUse",
    # sync
    "sync_now", "BackgroundSyncer",
    # backup
    "export_backup", "import_backup",
]

InsecureServerUrl = settings_mod.InsecureServerUrl


# =========================================================================== setup


def is_initialised(home) -> bool:
    """True when the data folder already holds a store (show unlock, not setup)."""
    return _store.is_initialised(home)


def initialise(home, passphrase: str, server_url: str | None = None, token: str | None = None, *,
               language: str | None = None, demo: bool = False, keys_dir=None, kdf: dict | None = None) -> Store:
    """First run: create the encrypted store, then keep the server URL and token inside it.

    Raises WeakPassphrase, StoreExists, InsecureServerUrl (plain http to another machine).
    """
    if server_url:
        settings_mod.check_server_url(server_url)
    store = _store.create(home, passphrase, demo=demo, keys_dir=keys_dir, kdf=kdf)
    with store.unit_of_work() as uow:
        settings_mod.ensure_client_id(uow.session)
        if server_url is not None:
            settings_mod.put(uow.session, "server_url", settings_mod.check_server_url(server_url))
        if token is not None:
            settings_mod.put(uow.session, "token", token.strip())
        if language is not None:
            settings_mod.put(uow.session, "language", settings_mod.check_language(language))
        uow.commit()
    return store


def unlock(home, passphrase: str, *, demo: bool = False, keys_dir=None) -> Store:
    """Open the store (runs migrations); WrongPassphrase leaves the file untouched."""
    return _store.unlock(home, passphrase, demo=demo, keys_dir=keys_dir)


def change_passphrase(store: Store, old: str, new: str) -> None:
    """Re-key the store for a new passphrase (WrongPassphrase if old is wrong, WeakPassphrase if new is short)."""
    _store.change_passphrase(store, old, new)


def get_settings(uow: UnitOfWork) -> SettingsView:
    """The settings screen (the token itself is never shown back)."""
    with uow:
        client_id = settings_mod.ensure_client_id(uow.session)
        view = SettingsView(
            server_url=settings_mod.get(uow.session, "server_url"),
            has_token=bool(settings_mod.get(uow.session, "token")),
            language=settings_mod.get(uow.session, "language"),
            client_id=client_id,
        )
        uow.commit()
        return view


_UNSET = object()


def set_settings(uow: UnitOfWork, *, server_url=_UNSET, token=_UNSET, language=_UNSET) -> SettingsView:
    """Change the server URL, token or language (only those given). Bad values raise, nothing changes."""
    if server_url is not _UNSET and server_url:
        server_url = settings_mod.check_server_url(server_url)
    if language is not _UNSET and language:
        language = settings_mod.check_language(language)
    with uow:
        if server_url is not _UNSET and (server_url or None) != settings_mod.get(uow.session, "server_url"):
            settings_mod.forget_server_credentials(uow.session)  # the old server's token must not go to the new one
        for key, value in (("server_url", server_url), ("token", token), ("language", language)):
            if value is _UNSET:
                continue
            if value in (None, ""):
                settings_mod.delete(uow.session, key)
            else:
                settings_mod.put(uow.session, key, value.strip() if isinstance(value, str) else value)
        uow.commit()
    return get_settings(uow.store.unit_of_work())


def trusted_key_fingerprints(store_or_keyring) -> list[KeyFingerprint]:
    """The signing keys this app believes, with fingerprints to compare with the vendor's (DESIGN §4)."""
    ring = getattr(store_or_keyring, "keyring", store_or_keyring)
    return [KeyFingerprint(kid, ring.fingerprint(kid), kid == "demo") for kid in ring.kids]


# =========================================================================== reads


class AccountList(list):
    """A page of the accounts list; total counts every account matching the search (the page may show fewer)."""

    def __init__(self, items=(), total: int = 0):
        super().__init__(items)
        self.total = total

    @property
    def truncated(self) -> bool:
        return self.total > len(self)


#: rows the accounts list shows at once; typing narrows the rest (search-as-you-type, docs/benchmarks.md)
LIST_PAGE = 100


def list_accounts(uow: UnitOfWork, clock: Clock, query: str = "", limit: int | None = None, *,
                  include_deleted: bool = True) -> AccountList:
    """Accounts held (verified or created offline), projected to now, matching name/e-mail/id, by name.

    The search, order and limit run in SQL on the replica's columns; only the accounts shown are parsed
    and projected (with their queued ops), so a keystroke costs the same with 10 or 10,000 accounts.
    limit None lists every match (sync queue, price notices). include_deleted False leaves deleted accounts out.
    """
    needle = query.strip().lower()
    with uow:
        now, notice = _now_and_notice(uow, clock)
        session = uow.session
        # instr, not LIKE: the needle is matched literally (a "%" or "_" typed is no wildcard)
        where = [func.instr(AccountReplica.search_key, needle) > 0] if needle else []
        if not include_deleted:  # the list screen hides them unless asked (issue 11)
            where.append(AccountReplica.status != "deleted")
        total = session.scalar(select(func.count(AccountReplica.account_id)).where(*where)) or 0
        page = select(AccountReplica.account_id).where(*where).order_by(AccountReplica.name_key,
                                                                         AccountReplica.account_id)
        if limit is not None:
            page = page.limit(limit)
        ids = list(session.scalars(page))
        # created on this laptop and not synced yet: no snapshot row, only a queued create_account (few)
        offline = [op.account_id for op in outbox.created_offline(session)]
        # every account (limit None): the whole book, not an IN list longer than SQLite takes
        book = projection.Book.load(session, now, ids + offline if limit is not None else None)
        matching_offline = []
        for account_id in offline:
            state = book.get(account_id)
            if state is not None and (not needle or needle in " ".join(
                    (state.name, state.contact_email, state.account_id)).lower()):
                matching_offline.append(state)
        result = []
        for state in [book.get(a) for a in ids] + matching_offline:
            if state is None:
                continue
            shown = book.pending_state(state.account_id) or state
            figures = projection.figures(state.billing, now, book.plan(state))
            result.append(AccountSummary(
                account_id=state.account_id, name=shown.name, contact_email=shown.contact_email,
                status=figures.status if state.confirmed else "pending",
                balance_ticks=figures.balance_ticks, remaining_seconds=figures.remaining_seconds,
                ends_at=figures.ends_at, monthly_milli=figures.monthly_milli,
                pending_ops=book.count_ops(state.account_id, "pending"),
                problem_ops=book.count_ops(state.account_id, "rejected") + book.count_ops(state.account_id, "conflict"),
                pending_credit_milli=shown.pending_credit_milli,
                is_confirmed=state.confirmed, clock_notice=notice, warn_s=book.policy.min_credit_days * 86_400,
            ))
    result.sort(key=lambda a: (a.name.lower(), a.account_id))
    if limit is not None:
        result = result[:limit]
    return AccountList(result, total + len(matching_offline))


def queued_ops(uow: UnitOfWork, clock: Clock) -> list[OpView]:
    """Every op on this laptop not yet settled by the server (pending, rejected, conflict), in order.

    Only the accounts that have ops are parsed: the sync screen costs the same with 10 or 10,000 accounts.
    """
    with uow:
        now, _ = _now_and_notice(uow, clock)
        ops = outbox.all_ops(uow.session)
        if not ops:
            return []
        book = projection.Book.load(uow.session, now, sorted({op.account_id for op in ops}))
        return [_op_view(op, book) for op in sorted(ops, key=lambda op: op.seq)]


def account_detail(uow: UnitOfWork, clock: Clock, account_id: str) -> AccountView:
    """One account for now: confirmed figures, pending figures, PBXs with licenses, ops with effect (R16)."""
    with uow:
        now, notice = _now_and_notice(uow, clock)
        book = projection.Book.load(uow.session, now, account_id)
        return replace(_account_view(book, account_id, now, uow), clock_notice=notice)


HISTORY_SHOWN = history_mod.SHOWN
HistoryView = history_mod.HistoryView


def account_history(uow: UnitOfWork, clock: Clock, account_id: str, limit: int | None = HISTORY_SHOWN
                    ) -> HistoryView:
    """The account's history as this laptop knows it: pulled at sync, plus the events its queued ops make."""
    with uow:
        now, _notice = _now_and_notice(uow, clock)
        book = projection.Book.load(uow.session, now, account_id)
        state = book.require(account_id)
        queued = [history_mod.Line(op.created_at if event.at is None else event.at, event.reason(), None, queued=True)
                  for op, event in book.queued_events.get(account_id, [])]
        recorded, total = history_mod.recorded(uow.session, account_id, limit)
    return HistoryView(account_id, state.name, tuple(reversed(queued)), tuple(recorded), total)


def meter(uow: UnitOfWork, clock: Clock, account_id: str) -> MeterView:
    """The meter's figures only (it polls every second): one account's snapshot and queued ops projected to now;
    no PBX views, no op views, no server answers read or verified again."""
    with uow:
        now, _notice = _now_and_notice(uow, clock)
        book = projection.Book.load(uow.session, now, account_id)
        state = book.require(account_id)
        pending = book.pending_state(account_id)
        return MeterView(account_id, state.billing.deleted, _figures(state.billing, now, book, book.plan(state)),
                         _figures(pending.billing, now, book, book.plan(pending)) if pending is not None else None,
                         pending.pending_credit_milli if pending is not None else 0)


def pbx_detail(uow: UnitOfWork, clock: Clock, account_id: str, pbx_id: str) -> PbxView:
    """One PBX of an account, with its confirmed and pending licenses."""
    view = account_detail(uow, clock, account_id)
    for pbx in view.pbxs:
        if pbx.pbx_id == pbx_id:
            return pbx
    raise NotFound(f"No PBX {pbx_id} on account {view.name}.")


def current_pricelist(uow: UnitOfWork) -> PriceList | None:
    """The newest verified price list, or None before the first sync."""
    with uow:
        return replica.current_pricelist(uow.session)


def pricelist_notice(uow: UnitOfWork, account_id: str) -> PricelistNotice | None:
    """R23: when a newer list than the account's applies at its next connection event, say so."""
    with uow:
        prices = replica.current_pricelist(uow.session)
        row = replica.get_account(uow.session, account_id)
        if prices is None or row is None or not row.price_version or row.price_version == prices.version:
            return None
        return _pricelist_notice(row.price_version, prices.version)


def pricelist_notices(uow: UnitOfWork) -> list[tuple[AccountRef, PricelistNotice]]:
    """Every account still running at an older price list than the current one (R23), by name.

    One query over the replica's columns: the price list screen costs the same with 10 or 10,000 accounts.
    """
    with uow:
        prices = replica.current_pricelist(uow.session)
        if prices is None:
            return []
        rows = uow.session.execute(
            select(AccountReplica.account_id, AccountReplica.name, AccountReplica.price_version)
            .where(AccountReplica.price_version.is_not(None), AccountReplica.price_version != prices.version)
            .order_by(AccountReplica.name_key, AccountReplica.account_id))
        return [(AccountRef(account_id, name), _pricelist_notice(version, prices.version))
                for account_id, name, version in rows]


def _pricelist_notice(account_version: str, current_version: str) -> PricelistNotice:
    reason = Reason.of("pricelist-newer", version=current_version, account_version=account_version)
    return PricelistNotice(account_version=account_version, current_version=current_version,
                           message=reason.message, reason=reason)


def burn_down(uow: UnitOfWork, clock: Clock, account_id: str, points: int = 24) -> BurnDown:
    """Balance over time until the end of credit, for the current and the pending configuration."""
    with uow:
        now = _now(uow, clock)
        book = projection.Book.load(uow.session, now, account_id)
        state = book.require(account_id)
        pending = book.pending_state(account_id)
    confirmed_pts, confirmed_end = projection.burn_points(state.billing, now, points, book.plan(state))
    pending_pts = pending_end = None
    if pending is not None:
        pending_pts, pending_end = projection.burn_points(pending.billing, now, points, book.plan(pending))
    return BurnDown(now, confirmed_pts, pending_pts, confirmed_end, pending_end)


def statement(uow: UnitOfWork, account_id: str, start: int, end: int) -> StatementView:
    """R25 from the ledger lines pulled at sync: per PBX and item, seconds, rates and amount."""
    if end <= start:
        raise ValueError("A statement period ends after it starts: pick an end date after the start date.")
    with uow:
        row = replica.get_account(uow.session, account_id)
        if row is None:
            raise NotFound(f"No verified account {account_id}: sync first.")
        payload = json.loads(row.payload)
        entries, fetched_at, count = replica.ledger_entries(uow.session, account_id)
        prices = replica.current_pricelist(uow.session)
    rows, totals = billing.statement(entries, start, end, by_quantity=True)
    pbx_names = {p["pbx_id"]: p.get("name") or p["pbx_id"] for p in payload.get("pbxs", [])}
    view_rows = tuple(StatementRow(
        pbx_id=r.pbx_id, pbx_name=pbx_names.get(r.pbx_id, r.pbx_id), ref=r.ref,
        item_name=(prices.get(r.ref).name if prices and prices.get(r.ref) else r.ref),
        seconds=r.seconds, rates=r.rates, ticks=r.ticks, qty=r.qty,
        unit_monthly_milli=r.rates[0] // (12 * r.qty) if r.qty and r.rates else 0) for r in rows)
    credits = tuple(CreditRow(e.at, e.key_id, e.ticks, e.auto) for e in sorted(entries, key=lambda e: e.at)
                    if e.kind == billing.CREDIT and start <= e.at < end)
    held = tuple(HeldKey(str(d.get("key_id", "")), int(d.get("amount_milli", 0)), int(d.get("deposited_at", 0)))
                 for d in payload.get("deposits") or () if isinstance(d, dict))
    return StatementView(account_id, start, end, view_rows, totals[billing.CHARGE], totals[billing.CREDIT],
                         totals[billing.FORFEIT], totals[billing.EXPIRY], count, fetched_at, credits=credits,
                         held=held)


def sync_status(uow: UnitOfWork, clock: Clock | None = None) -> SyncStatus:
    """Online/offline, last sync, queue length, ops waiting for a decision, refusals (newest first), the newest
    op results with the server's warnings, and the clock notice (pass the clock to also notice a clock set back)."""
    with uow:
        laptop = clock.now() if clock is not None else None
        if laptop is not None:
            _now(uow, clock, laptop=laptop)  # notes the laptop time seen
        state = settings_mod.sync_state(uow.session)
        ops = outbox.all_ops(uow.session)
        problems = tuple(_op_view(op) for op in ops if op.state != "pending")
        refusals = tuple(RefusalView(r.at, r.what, r.subject, r.reason) for r in replica.refusals(uow.session))
        skew = clock_mod.load_skew(uow.session)
        return SyncStatus(
            server_url=settings_mod.get(uow.session, "server_url"),
            online=state.get("online"), last_attempt_at=state.get("last_attempt_at"),
            last_success_at=state.get("last_success_at"), last_error=words_of(state.get("last_error")),
            last_error_reason=from_stored(state.get("last_error")),
            queued=sum(1 for op in ops if op.state == "pending"), problems=problems, refusals=refusals,
            clock_notice=clock_mod.notice(laptop, skew), clock_offset_s=skew.offset_s,
            results=_result_views(uow, None, 50),
        )


def _result_views(uow, account_id: str | None, limit: int) -> tuple[ResultView, ...]:
    rows = outbox.recent_results(uow.session, uow.keyring, account_id, limit)
    names = replica.names_of(uow.session, {row.account_id for row, _ in rows})
    return tuple(ResultView(
        op_id=row.op_id, account_id=row.account_id, account_name=names.get(row.account_id, row.account_id),
        kind=row.kind, status=row.status, rule=row.rule, message=row.message, warnings=warnings,
        server_time=row.server_time, received_at=row.received_at, problems=outbox.problems_of(row.problems))
        for row, warnings in rows)


# =========================================================================== writes


def create_account(uow: UnitOfWork, clock: Clock, name: str, contact_email: str, cloud_contract: bool = False,
                   language: str = "en", *, terms_version: str | None = None, accepted_by: str | None = None,
                   terms_accepted: bool = False) -> QueuedOp:
    """Queue a new customer account (its id is made here, a UUID, as DESIGN §5 says), with the customer's
    acceptance of the rental terms held on this laptop (R26)."""
    fields = checks.account_fields(name=name, contact_email=contact_email, cloud_contract=cloud_contract,
                                   language=language, required=True)
    account_id = str(uuid.uuid4())
    with uow:
        fields.update(terms_mod.acceptance(uow.session, terms_version, accepted_by, terms_accepted))
        op = outbox.enqueue(uow.session, "create_account", account_id, fields, _now(uow, clock, writing=True))
        uow.commit()
        return QueuedOp(op.op_id, op.kind, account_id)


def update_account(uow: UnitOfWork, clock: Clock, account_id: str, *, name=None, contact_email=None,
                   cloud_contract=None, language=None) -> QueuedOp:
    """Queue edits of an account's name, contact, cloud contract (R7) or language (only fields given)."""
    fields = checks.account_fields(name=name, contact_email=contact_email, cloud_contract=cloud_contract,
                                   language=language, required=False)
    if not fields:
        raise Refused([Problem.of(Reason.of("nothing-to-change"))])
    with uow:
        now = _now(uow, clock, writing=True)
        book = projection.Book.load(uow.session, now, account_id)
        book.require_alive(account_id)
        _decide(book, account_id, "update_account", fields)
        op = outbox.enqueue(uow.session, "update_account", account_id, fields, now)
        uow.commit()
        return QueuedOp(op.op_id, op.kind, account_id)


def register_pbx(uow: UnitOfWork, clock: Clock, account_id: str, *, name: str, serial: str, platform: str,
                 firmware: str, mode: str = "rental", hardware_model: str | None = None) -> QueuedOp:
    """Queue a new PBX (R1 firmware ≥ 13r1 and R7 platform for rental mode, checked now)."""
    with uow:
        now = _now(uow, clock, writing=True)
        book = projection.Book.load(uow.session, now, account_id)
        state = book.pending_state(account_id) or book.require_alive(account_id)
        fields = checks.pbx_fields(state, name=name, serial=serial, platform=platform, firmware=firmware,
                                   mode=mode, hardware_model=hardware_model)
        pbx_id = str(uuid.uuid4())
        _decide(book, account_id, "register_pbx", {"pbx_id": pbx_id, **fields})
        op = outbox.enqueue(uow.session, "register_pbx", account_id, {"pbx_id": pbx_id, **fields}, now,
                            pbx_id=pbx_id)
        uow.commit()
        return QueuedOp(op.op_id, op.kind, account_id, pbx_id=pbx_id)


def update_pbx(uow: UnitOfWork, clock: Clock, account_id: str, pbx_id: str, *, name=None, firmware=None,
               platform=None, hardware_model=None, mode=None) -> QueuedOp:
    """Queue edits of a PBX; a rental PBX keeps R1 and R7 true; the mode switches as R8 allows."""
    with uow:
        now = _now(uow, clock, writing=True)
        book = projection.Book.load(uow.session, now, account_id)
        state = book.pending_state(account_id) or book.require_alive(account_id)
        pbx = book.require_pbx(state, pbx_id)
        fields = checks.pbx_update_fields(state, pbx, name=name, firmware=firmware, platform=platform,
                                          hardware_model=hardware_model, mode=mode)
        _decide(book, account_id, "update_pbx", {"pbx_id": pbx_id, **fields})
        body = {"pbx_id": pbx_id, "base_revision": book.base_revision(account_id, pbx_id), **fields}
        op = outbox.enqueue(uow.session, "update_pbx", account_id, body, now, pbx_id=pbx_id)
        uow.commit()
        return QueuedOp(op.op_id, op.kind, account_id, pbx_id=pbx_id)


def preview_licenses(uow: UnitOfWork, clock: Clock, account_id: str, pbx_id: str,
                     items: Mapping[str, int]) -> LicensePreview:
    """What set_licenses would do, offline (R2, R6, R8, R14, R16): figures, problems per ref, warnings."""
    with uow:
        now = _now(uow, clock)
        book = projection.Book.load(uow.session, now, account_id)
        return _preview(book, account_id, pbx_id, items, now)


def set_licenses(uow: UnitOfWork, clock: Clock, account_id: str, pbx_id: str, items: Mapping[str, int], *,
                 confirm: bool = False) -> QueuedOp:
    """Queue the desired licenses of a PBX ({} ends the rent, R19); pending ones of the PBX collapse into this.

    Raises Refused with every problem, or NeedsConfirmation when R6 warns and confirm is False.
    """
    with uow:
        now = _now(uow, clock, writing=True)
        book = projection.Book.load(uow.session, now, account_id)
        preview = _preview(book, account_id, pbx_id, items, now)
        if not preview.ok:
            raise Refused(preview.problems, preview.warnings)
        confirmable = tuple(w for w in preview.warnings if w.rule == "R6")
        if confirmable and not confirm:
            raise NeedsConfirmation(confirmable)
        desired = {ref: qty for ref, qty in items.items() if qty > 0}
        body = {"pbx_id": pbx_id, "base_revision": book.base_revision(account_id, pbx_id, collapsing=True),
                "items": dict(sorted(desired.items()))}
        op = outbox.enqueue(uow.session, "set_licenses", account_id, body, now, pbx_id=pbx_id)
        uow.commit()
        return QueuedOp(op.op_id, op.kind, account_id, preview.warnings, pbx_id)


def remove_pbx(uow: UnitOfWork, clock: Clock, account_id: str, pbx_id: str) -> QueuedOp:
    """Queue the removal of a PBX (its rented items stop being charged from the server's second, R19)."""
    with uow:
        now = _now(uow, clock, writing=True)
        book = projection.Book.load(uow.session, now, account_id)
        state = book.pending_state(account_id) or book.require_alive(account_id)
        book.require_pbx(state, pbx_id)
        _decide(book, account_id, "remove_pbx", {"pbx_id": pbx_id})
        body = {"pbx_id": pbx_id, "base_revision": book.base_revision(account_id, pbx_id)}
        op = outbox.enqueue(uow.session, "remove_pbx", account_id, body, now, pbx_id=pbx_id)
        uow.commit()
        return QueuedOp(op.op_id, op.kind, account_id, pbx_id=pbx_id)


def redeem_key(uow: UnitOfWork, clock: Clock, account_id: str, key_text: str) -> QueuedOp:
    """Queue an activation key (R11, R17) after verifying it offline; a forged or mistyped key is refused now.

    The credit shows as "+X iSC, not yet confirmed" until the server says the key was not used before; the
    warnings say, before the sync, when the load will not restart a stopped account (R18, still-suspended).
    """
    return _queue_key(uow, clock, account_id, key_text, "redeem_key")


def deposit_key(uow: UnitOfWork, clock: Clock, account_id: str, key_text: str) -> QueuedOp:
    """Queue an activation key to be held for the account (R24), verified offline like a load: reload redeems it
    when the runtime reaches the threshold; until then it can be withdrawn."""
    return _queue_key(uow, clock, account_id, key_text, "deposit_key")


def _queue_key(uow: UnitOfWork, clock: Clock, account_id: str, key_text: str, kind: str) -> QueuedOp:
    """Verify a key offline and queue it to load (redeem_key) or to hold (deposit_key), decided by the core now;
    a key this laptop knows as queued, loaded, used or held already is refused: a key is used once."""
    key = _read_key(uow, key_text)
    with uow:
        now = _now(uow, clock, writing=True)
        book = projection.Book.load(uow.session, now)
        book.require_alive(account_id)
        _refuse_known_key(uow.session, book, key)
        _refuse_held_key(book, key.key_id_hex)
        decision = _decide(book, account_id, kind, _key_fields(key))
        op = outbox.enqueue(uow.session, kind, account_id, {"key": key.text}, now,
                            note=json.dumps({"amount_milli": key.amount_milli, "key_id": key.key_id_hex}))
        uow.commit()
        return QueuedOp(op.op_id, op.kind, account_id, decision.warnings)


@dataclass(frozen=True)
class KeyPreview:
    """What a typed key would do, before it is queued (R11, R18): its amount, whether it restarts a stopped
    account or how much more would, and the figures after it; or why it cannot be used."""

    amount_milli: int = 0
    problems: tuple[Problem, ...] = ()
    restarts: bool = False  # the account is stopped and this load restarts it (R18)
    still_needs_milli: int | None = None  # the account stays stopped: this much more would restart it
    after: Figures | None = None


def preview_key(uow: UnitOfWork, clock: Clock, account_id: str, key_text: str) -> KeyPreview:
    """The key form's answer as the technician types (nothing is queued): the core's decision on the load."""
    if not (key_text or "").strip():
        return KeyPreview()
    try:
        key = _read_key(uow, key_text)
    except Refused as refused:
        return KeyPreview(problems=refused.problems)
    with uow:
        now = _now(uow, clock)
        book = projection.Book.load(uow.session, now, account_id)
        try:
            book.require_alive(account_id)
            _refuse_known_key(uow.session, book, key)
            state, decision = book.decide(account_id, "redeem_key", _key_fields(key))
        except Refused as refused:
            return KeyPreview(key.amount_milli, refused.problems)
        except Refusal as refusal:
            return KeyPreview(key.amount_milli, Refused.of(refusal).problems)
        stopped = billing.project(state.billing, now).suspended
        still = next((int(w.params["missing_milli"]) for w in decision.warnings if w.code == "still-suspended"), None)
        return KeyPreview(key.amount_milli, (), stopped and not decision.state.billing.suspended, still,
                          _figures(decision.state.billing, now, book))


def _read_key(uow: UnitOfWork, key_text: str):
    """The key read and verified offline, or Refused with its reason (key-incomplete, key-not-genuine, ...)."""
    try:
        return uow.keyring.read_key(key_text)
    except (KeyFormatError, SignatureError) as exc:
        reason = getattr(exc, "reason", None) or Reason("key-invalid", "key-not-genuine", {})
        raise Refused([Problem.of(reason, "key")]) from None


def _key_fields(key) -> dict:
    """A load as the core decides it: the key text and what it was read to hold."""
    return {"key": key.text, "amount_milli": key.amount_milli, "key_id": key.key_id_hex}


def _refuse_known_key(session, book: "projection.Book", key) -> None:
    """A key this laptop already knows as queued, loaded or refused as used is refused at once (R11)."""
    use = _key_use(session, key.text, key.key_id_hex)
    if use is not None:
        code = {"queued": "key-queued-here", "loaded": "key-loaded-here", "used": "key-used-here"}[use.state]
        raise Refused([Problem.of(Reason("key-used", code, {"account": book.name_of(use.account_id)}), "key")])


def withdraw_key(uow: UnitOfWork, clock: Clock, account_id: str, key_id: str) -> QueuedOp:
    """Queue giving back a held key (R24); a deposit still queued here is simply dropped (it never left)."""
    with uow:
        now = _now(uow, clock, writing=True)
        for op in outbox.all_ops(uow.session, account_id):
            note = json.loads(op.note) if op.note else {}
            if op.kind == "deposit_key" and op.state == outbox.PENDING and note.get("key_id") == key_id \
                    and op.attempts == 0:
                outbox.remove(uow.session, op)
                uow.commit()
                return QueuedOp(op.op_id, "withdraw_key", account_id)
        book = projection.Book.load(uow.session, now, account_id)
        book.require_alive(account_id)
        _decide(book, account_id, "withdraw_key", {"key_id": key_id})
        op = outbox.enqueue(uow.session, "withdraw_key", account_id, {"key_id": key_id}, now)
        uow.commit()
        return QueuedOp(op.op_id, op.kind, account_id)


def set_auto_reload(uow: UnitOfWork, clock: Clock, account_id: str, days: int) -> QueuedOp:
    """Queue switching automatic reload off (0) or on at 14 or 28 days of runtime (R24)."""
    if isinstance(days, bool) or days not in reload_mod.THRESHOLDS:
        raise Refused([Problem.of(Reason.of("reload-days-invalid", days=str(days)[:20]), field="auto_reload_days")])
    with uow:
        now = _now(uow, clock, writing=True)
        book = projection.Book.load(uow.session, now, account_id)
        book.require_alive(account_id)
        _decide(book, account_id, "update_account", {"auto_reload_days": days})
        op = outbox.enqueue(uow.session, "update_account", account_id, {"auto_reload_days": days}, now)
        uow.commit()
        return QueuedOp(op.op_id, op.kind, account_id)


def _refuse_held_key(book: "projection.Book", key_id: str) -> None:
    """A key held for an account known here (R24) is used: withdraw it there first."""
    for state in book.accounts():
        if any(d.key_id == key_id for d in (book.pending_state(state.account_id) or state).deposits):
            raise Refused([Problem.of(Reason.of("key-used"), field="key")])


@dataclass(frozen=True)
class KeyUse:
    """What this laptop knows of an activation key: queued here, loaded (in a ledger it pulled), or refused as used."""

    state: str  # queued | loaded | used
    account_id: str


def _key_use(session, key_text: str, key_id_hex: str) -> KeyUse | None:
    """The laptop's own knowledge of a key (its outbox, the server's answers, the ledgers pulled); None: nothing."""
    for op in outbox.all_ops(session):
        if op.kind in projection.KEY_KINDS and json.loads(op.body).get("key") == key_text:  # loaded or held (R24)
            if op.state == "pending":
                return KeyUse("queued", op.account_id)
            if op.rule == "key-used":
                return KeyUse("used", op.account_id)
    for line in session.scalars(select(LedgerLine).where(LedgerLine.raw.contains(key_id_hex)).limit(5)):
        try:
            loaded = json.loads(line.raw).get("key_id") == key_id_hex
        except ValueError:
            loaded = False
        if loaded:
            return KeyUse("loaded", line.account_id)
    return None


def key_use(uow: UnitOfWork, key_text: str) -> KeyUse | None:
    """Whether this laptop already knows the key as queued, loaded or used (None also for a key it cannot read)."""
    try:
        key = uow.keyring.read_key(key_text)
    except (KeyFormatError, SignatureError):
        return None
    with uow:
        return _key_use(uow.session, key.text, key.key_id_hex)


def delete_account(uow: UnitOfWork, clock: Clock, account_id: str, confirm_forfeit_milli: int) -> QueuedOp:
    """Queue deleting an account; confirm_forfeit_milli is the balance shown, consent to forfeit up to it (R13).

    Refused only when the account now holds more (credit loaded since, DESIGN §5): as the server decides it.
    """
    try:
        check_milli(confirm_forfeit_milli, "confirmed balance")
    except AmountError as exc:
        raise Refused([Problem.of(exc.reason, "confirm_forfeit_milli")]) from None
    except TypeError as exc:
        raise Refused([Problem("bad-op", str(exc), field="confirm_forfeit_milli")]) from None
    with uow:
        now = _now(uow, clock, writing=True)
        book = projection.Book.load(uow.session, now, account_id)
        book.require_alive(account_id)
        _decide(book, account_id, "delete_account", {"confirm_forfeit_milli": confirm_forfeit_milli})
        op = outbox.enqueue(uow.session, "delete_account", account_id,
                            {"confirm_forfeit_milli": confirm_forfeit_milli}, now)
        uow.commit()
        return QueuedOp(op.op_id, op.kind, account_id)


def resolve(uow: UnitOfWork, clock: Clock, op_id: str, decision: str) -> QueuedOp | None:
    """Decide about a rejected or conflicting op: "discard" drops it; "reapply" checks it again on the newest
    verified state and queues it with a fresh op_id (returned)."""
    if decision not in ("reapply", "discard"):
        raise ValueError('decision is "reapply" or "discard"')
    with uow:
        now = _now(uow, clock, writing=True)
        op = outbox.get(uow.session, op_id)
        if op is None:
            raise NotFound(f"No op {op_id} waiting for a decision.")
        if op.state == "pending":
            raise Refused([Problem.of(Reason.of("op-still-queued"))])
        body = json.loads(op.body)
        if decision == "discard":
            outbox.remove(uow.session, op)
            uow.commit()
            return None
        outbox.remove(uow.session, op)
        uow.session.flush()
        book = projection.Book.load(uow.session, now)
        queued = _requeue(uow, book, op, body, now)
        uow.commit()
        return queued


# =========================================================================== sync


def sync_now(uow_factory: Callable[[], UnitOfWork], clock: Clock, transport=None,
             progress: Callable[[str], None] | None = None) -> SyncReport:
    """Push the outbox in one batch, verify every envelope, merge; pull the partner's accounts and prices."""
    from . import sync

    return sync.sync_now(uow_factory, clock, transport=transport, progress=progress)


def BackgroundSyncer(uow_factory, clock, **kwargs):  # noqa: N802 - a factory named like the class it makes
    """A thread that syncs with back-off and retries as soon as the server answers: start(), poke(), stop()."""
    from . import sync

    return sync.BackgroundSyncer(uow_factory, clock, **kwargs)


# =========================================================================== backup


def export_backup(store: Store, dest, progress: Callable[[int, int], None] | None = None):
    """Write an encrypted backup file (same passphrase) and return its path; progress gets (done, total)."""
    from . import backup

    return backup.export_backup(store, dest, progress)


def import_backup(src, home, passphrase: str, progress: Callable[[int, int], None] | None = None, *,
                  demo: bool = False, keys_dir=None) -> Store:
    """Restore a backup into an empty data folder and unlock it (WrongPassphrase restores nothing)."""
    from . import backup

    backup.import_backup(src, home, passphrase, progress)
    return unlock(home, passphrase, demo=demo, keys_dir=keys_dir)


# =========================================================================== helpers


def _fmt(milli: int) -> str:
    from rental.money import format_milli

    return format_milli(milli)


def _op_view(op, book=None) -> OpView:
    body = json.loads(op.body)
    note = json.loads(op.note) if op.note else {}
    credit = note.get("amount_milli", 0) if op.kind == "redeem_key" else 0
    effect = None
    if credit:
        effect = f"+{_fmt(credit)}, not yet confirmed" if op.state == "pending" else None
    elif op.kind == "deposit_key" and op.state == "pending":
        effect = f"{_fmt(note.get('amount_milli', 0))} held for automatic reload, not yet confirmed"
    return OpView(op_id=op.op_id, seq=op.seq, kind=op.kind, account_id=op.account_id, pbx_id=op.pbx_id,
                  summary=projection.describe(op.kind, body, book), effect=effect, state=op.state, rule=op.rule,
                  message=op.message, created_at=op.created_at, attempts=op.attempts,
                  credit_milli=credit if op.state == "pending" else 0, problems=outbox.problems_of(op.problems))


def _figures(account: billing.Account, now: int, book: "projection.Book | None" = None,
             plan: "projection.Plan | None" = None) -> Figures:
    """R16 figures for now, with what the server's policy and the current list say of them (R18, R19); with a plan,
    the reloads whose second has come are made and the runtime and end count the keys still held (R24)."""
    f = projection.figures(account, now, plan)
    policy = book.policy if book is not None else projection.Policy()
    projected = billing.project(account, now)
    return Figures(f.at, f.balance_ticks, f.rate_ticks_per_s, f.monthly_milli, f.remaining_seconds, f.ends_at,
                   f.status, daily_milli=decider.daily_milli(f.monthly_milli),
                   resume_needs_milli=decider.resume_needs(projected, book.pricelist if book else None, policy),
                   retained_until=decider.retained_until(projected, policy),
                   warn_s=policy.min_credit_days * 86_400, resume_days=policy.resume_min_days, reloads=f.reloads)


def _deposit_views(book: "projection.Book", state, pending, account_id: str) -> tuple[DepositView, ...]:
    """The keys held (R24): confirmed ones (a queued withdrawal marked), then deposits queued here."""
    withdrawing = {json.loads(op.body).get("key_id") for op in book.ops_of(account_id)
                   if op.kind == "withdraw_key" and op.state == "pending"}
    views = [DepositView(d.key_id, d.amount_milli, d.deposited_at, is_withdrawing=d.key_id in withdrawing)
             for d in state.deposits]
    known = {d.key_id for d in state.deposits}
    for op in book.ops_of(account_id):
        note = json.loads(op.note) if op.note else {}
        if op.kind == "deposit_key" and op.state == "pending" and note.get("key_id") not in known:
            views.append(DepositView(str(note.get("key_id")), int(note.get("amount_milli") or 0), None,
                                     is_pending=True))
    return tuple(views)


def _lines_view(lines, prices: PriceList | None) -> tuple[LicenseLine, ...]:
    return tuple(LicenseLine(l.ref, (prices.get(l.ref).name if prices and prices.get(l.ref) else l.ref), l.qty,
                             l.monthly_milli, l.rate) for l in sorted(lines, key=lambda l: l.ref))


def _account_view(book: "projection.Book", account_id: str, now: int, uow=None) -> AccountView:
    state = book.require(account_id)
    pending = book.pending_state(account_id)
    prices = book.pricelist
    ops = tuple(_op_view(op, book) for op in book.ops_of(account_id))
    pbxs = []
    shown = pending or state
    for pbx_id, pbx in shown.pbxs.items():
        confirmed_pbx = state.pbxs.get(pbx_id) if state.confirmed else None
        confirmed_lines = state.billing.lines_of(pbx_id) if confirmed_pbx and confirmed_pbx.confirmed else ()
        pending_lines = None
        if pending is not None and pbx.licenses_pending:
            pending_lines = _lines_view(pending.billing.lines_of(pbx_id), prices)
        pbxs.append(PbxView(
            pbx_id=pbx_id, name=pbx.name, serial=pbx.serial, platform=pbx.platform,
            hardware_model=pbx.hardware_model, firmware=pbx.firmware, mode=pbx.mode,
            status=projection.pbx_status(state, pbx_id) if confirmed_pbx else "pending",
            revision=confirmed_pbx.revision if confirmed_pbx else None,
            licenses=_lines_view(confirmed_lines, prices), pending_licenses=pending_lines,
            is_confirmed=bool(confirmed_pbx and confirmed_pbx.confirmed), is_pending_removal=pbx.removed,
            has_pending_changes=pbx.changed))
    return AccountView(
        account_id=account_id, name=shown.name, contact_email=shown.contact_email,
        cloud_contract=shown.cloud_contract, language=shown.language, partner=state.partner,
        revision=state.revision, is_confirmed=state.confirmed, is_deleted=state.billing.deleted,
        confirmed=_figures(state.billing, now, book, book.plan(state)),
        pending=_figures(pending.billing, now, book, book.plan(pending)) if pending is not None else None,
        pending_credit_milli=pending.pending_credit_milli if pending is not None else 0,
        price_version=state.price_version, pbxs=tuple(pbxs), ops=ops,
        verified_at=state.verified_at, received_at=state.received_at,
        pending_edits=dict(book.pending_account_edits(account_id)),
        results=_result_views(uow, account_id, 20) if uow is not None else (),
        auto_reload_days=state.auto_reload_days,
        pending_reload_days=book.pending_account_edits(account_id).get("auto_reload_days"),
        deposits=_deposit_views(book, state, pending, account_id),
    )


def _decide(book: "projection.Book", account_id: str, kind: str, fields: dict):
    """The core's decision on this op offline, exactly as the server will take it; Refused otherwise."""
    try:
        return book.decide(account_id, kind, fields)[1]
    except Refusal as refusal:
        raise Refused.of(refusal) from None


def _preview(book: "projection.Book", account_id: str, pbx_id: str, items: Mapping[str, int],
             now: int) -> LicensePreview:
    """set_licenses decided by the core on the projected state (R2, R3, R6, R7, R8, R14, R18), with figures."""
    book.require_alive(account_id)
    state = book.pending_state(account_id) or book.require(account_id)
    book.require_pbx(state, pbx_id)
    prices = book.pricelist
    if prices is None:
        raise Refused([Problem.of(Reason.of("no-pricelist"))])
    wanted = {ref: qty for ref, qty in items.items() if isinstance(qty, int) and not isinstance(qty, bool)
              and qty > 0 and prices.get(ref) is not None}
    lines = billing.lines_for(pbx_id, wanted, prices)
    try:
        decision = book.decide(account_id, "set_licenses", {"pbx_id": pbx_id, "items": dict(items)})[1]
    except Refusal as refusal:
        # the figures still show what the configuration would cost, at the current list
        others = billing.rerate([l for l in state.billing.lines if l.pbx_id != pbx_id], prices)
        after = billing.reconfigure(billing.project(state.billing, now), now, others + lines).account
        problems = tuple(Problem.of(reason) for reason in refusal.problems)
        missing = next((int(p.params.get("missing_milli", 0)) for p in problems if p.code == "min-credit"), 0)
        return LicensePreview(ok=False, problems=problems, warnings=(), current=_figures(state.billing, now, book),
                              after=_figures(after, now, book), lines=_lines_view(lines, prices), missing_milli=missing)
    after_plan = projection.Plan(decision.state.auto_reload_days, decision.state.deposits, book.policy)  # R24
    return LicensePreview(ok=True, problems=(), warnings=decision.warnings,
                          current=_figures(state.billing, now, book, book.plan(state)),
                          after=_figures(decision.state.billing, now, book, after_plan), lines=_lines_view(lines, prices),
                          missing_milli=0)


def _requeue(uow: UnitOfWork, book: "projection.Book", op, body: dict, now: int) -> QueuedOp:
    """Run a resolved op's checks again on the newest state and queue it anew (fresh op_id, fresh base_revision)."""
    clock = _FixedClock(now)
    account_id = op.account_id
    # each call below opens the same session again: hand it a unit of work bound to this one
    inner = _BoundUnitOfWork(uow)
    kind = op.kind
    if kind == "create_account":
        fields = {k: body[k] for k in ("name", "contact_email", "cloud_contract", "language") if k in body}
        checks.account_fields(required=True, **fields)
        new = outbox.enqueue(uow.session, kind, account_id, fields, now)
        return QueuedOp(new.op_id, kind, account_id)
    if kind == "update_account":
        if "auto_reload_days" in body:
            set_auto_reload(inner, clock, account_id, body["auto_reload_days"])
        fields = {k: body[k] for k in ("name", "contact_email", "cloud_contract", "language") if k in body}
        if not fields:
            return QueuedOp(op.op_id, kind, account_id)
        return update_account(inner, clock, account_id, **fields)
    if kind == "register_pbx":
        state = book.pending_state(account_id) or book.require_alive(account_id)
        fields = checks.pbx_fields(state, **{k: body.get(k) for k in
                                             ("name", "serial", "platform", "firmware", "mode", "hardware_model")})
        new = outbox.enqueue(uow.session, kind, account_id, {"pbx_id": body["pbx_id"], **fields}, now,
                             pbx_id=body["pbx_id"])
        return QueuedOp(new.op_id, kind, account_id, pbx_id=body["pbx_id"])
    if kind == "update_pbx":
        fields = {k: body[k] for k in ("name", "firmware", "platform", "hardware_model", "mode") if k in body}
        return update_pbx(inner, clock, account_id, body["pbx_id"], **fields)
    if kind == "set_licenses":
        return set_licenses(inner, clock, account_id, body["pbx_id"], body["items"], confirm=True)
    if kind == "remove_pbx":
        return remove_pbx(inner, clock, account_id, body["pbx_id"])
    if kind == "redeem_key":
        return redeem_key(inner, clock, account_id, body["key"])
    if kind == "deposit_key":
        return deposit_key(inner, clock, account_id, body["key"])
    if kind == "withdraw_key":
        return withdraw_key(inner, clock, account_id, body["key_id"])
    if kind == "delete_account":
        state = book.require_alive(account_id)
        return delete_account(inner, clock, account_id, ticks_to_milli_floor(state.billing.balance))
    raise ValueError(f"unknown op kind {kind!r}")


class _FixedClock:
    """The server's time resolve() already worked out, handed to the writes it calls (not corrected again)."""

    is_server_time = True

    def __init__(self, at: int):
        self._at = at

    def now(self) -> int:
        return self._at


def _now(uow, clock: Clock, *, writing: bool = False, laptop: int | None = None) -> int:
    """The server's time now on this laptop: laptop clock + the offset learned at sync, never before the newest
    verified snapshot (SPEC: times that decide money are the server's). Also notes the laptop time seen, so a
    clock set back is noticed: always when writing (the write commits it), every few minutes when reading."""
    laptop = clock.now() if laptop is None else laptop
    if getattr(clock, "is_server_time", False):
        return laptop
    if writing:
        clock_mod.note_laptop_time(uow.session, laptop)
    elif clock_mod.note_laptop_time(uow.session, laptop, every_s=clock_mod.NOTE_EVERY_S):
        try:
            uow.commit()
        except SQLAlchemyError:  # a read never fails for want of noting the time (read-only folder, busy)
            uow.rollback()
    return clock_mod.server_now(uow.session, laptop)


def _now_and_notice(uow, clock: Clock) -> tuple[int, "ClockNotice | None"]:
    """The server's time now, and what to tell the technician about the laptop's clock (None: nothing)."""
    laptop = clock.now()
    now = _now(uow, clock, laptop=laptop)
    return now, clock_mod.notice(laptop, clock_mod.load_skew(uow.session))


class _BoundUnitOfWork:
    """The open unit of work of resolve(), entered again by the write it calls: commit is left to resolve()."""

    def __init__(self, outer: UnitOfWork):
        self._outer = outer
        self.session = outer.session
        self.store = outer.store

    @property
    def keyring(self):
        return self._outer.keyring

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def commit(self):
        self.session.flush()


