"""The reads each screen makes: sized to it, projected to now, nothing written."""

from __future__ import annotations

import json
from dataclasses import replace


from rental import billing
from rental.money import shares_milli_floor
from rental.pricing import PriceList
from rental.reasons import Reason

from .. import clock as clock_mod
from .. import history as history_mod
from .. import projection, snapshot
from ..clock import Clock
from ..errors import NotFound, from_stored, words_of
from ..store import (
    UnitOfWork,
)
from ..views import (
    AccountRef,
    AccountSummary,
    AccountView,
    BurnDown,
    CreditRow,
    HeldKey,
    MeterView,
    OpView,
    PbxView,
    PricelistNotice,
    RefusalView,
    StatementRow,
    StatementView,
    SyncStatus,
)
from .common import (
    HistoryView,
    _account_view,
    _figures,
    _now,
    _now_and_notice,
    _op_view,
    _result_views,
)


class AccountList(list):
    """A page of the accounts list; total counts every account matching the search (the page may show fewer)."""

    def __init__(self, items=(), total: int = 0):
        super().__init__(items)
        self.total = total

    @property
    def truncated(self) -> bool:
        return self.total > len(self)


class NoticeList(list):
    """The price list screen's R23 list, computed for ``at`` (the server's time); ``changes_at``: the next second it
    changes by time alone, an automatic reload re-rating one of the accounts listed (R24), which the open screen
    watches (None when none will)."""

    def __init__(self, items=(), at: int | None = None, changes_at: int | None = None):
        super().__init__(items)
        self.at = at
        self.changes_at = changes_at


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
        # hidden unless asked (issue 11): include_deleted
        ids, total = uow.replica.account_page(needle, include_deleted=include_deleted, limit=limit)
        # created on this laptop and not synced yet: no snapshot row, only a queued create_account (few)
        offline = [op.account_id for op in uow.outbox.created_offline()]
        book = uow.accounts.book(now, ids + offline if limit is not None else None)
        matching_offline = []
        for account_id in offline:
            state = book.get(account_id)
            if state is not None and (not needle or needle in " ".join(
                    (state.name, state.contact_email, state.account_id)).lower()):
                matching_offline.append(state.account_id)
        result = []
        warn_s = book.policy.min_credit_days * 86_400
        for account_id in ids + matching_offline:
            row = book.row(account_id)  # the figures of the state, without the PBXs a row never shows (§16)
            if row is None:
                continue
            figures = projection.figures(row.billing, now, row.plan)
            result.append(AccountSummary(
                account_id=account_id, name=row.name, contact_email=row.contact_email,
                status=figures.status if row.confirmed else "pending",
                balance_ticks=figures.balance_ticks, remaining_seconds=figures.remaining_seconds,
                ends_at=figures.ends_at, monthly_milli=figures.monthly_milli,
                pending_ops=book.count_ops(account_id, "pending"),
                problem_ops=book.count_ops(account_id, "rejected") + book.count_ops(account_id, "conflict"),
                pending_credit_milli=row.pending_credit_milli,
                is_confirmed=row.confirmed, clock_notice=notice, warn_s=warn_s,
                at=now, changes_at=figures.changes_at if row.confirmed else None,
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
        ops = uow.outbox.all_ops()
        if not ops:
            return []
        book = uow.accounts.book(now, sorted({op.account_id for op in ops}))
        return [_op_view(op, book) for op in sorted(ops, key=lambda op: op.seq)]


def account_detail(uow: UnitOfWork, clock: Clock, account_id: str) -> AccountView:
    """One account for now: confirmed figures, pending figures, PBXs with licenses, ops with effect (R16)."""
    with uow:
        now, notice = _now_and_notice(uow, clock)
        book = uow.accounts.book(now, account_id)
        return replace(_account_view(book, account_id, now, uow), clock_notice=notice)


HISTORY_SHOWN = history_mod.SHOWN


def account_history(uow: UnitOfWork, clock: Clock, account_id: str, limit: int | None = HISTORY_SHOWN
                    ) -> HistoryView:
    """The account's history as this laptop knows it: pulled at sync, plus the events its queued ops make."""
    with uow:
        now, _notice = _now_and_notice(uow, clock)
        book = uow.accounts.book(now, account_id)
        state = book.require(account_id)
        queued = [history_mod.Line(op.created_at if event.at is None else event.at, event.reason(), None, queued=True)
                  for op, event in book.queued_events.get(account_id, [])]
        recorded, total = uow.history.recorded(account_id, limit)
        # what the signed snapshot makes by now (R18 stops, R24 reloads), by the server, as its answer now says them
        row = uow.replica.get_account(account_id)
        if row is not None:
            held = {(line.reason.code, line.at) for line in recorded}
            made = [history_mod.Line(now if event.at is None else event.at, event.reason(), None)
                    for event in projection.unrecorded_events(account_id, row.payload, now, book.policy, book.prices)]
            recorded = [line for line in reversed(made) if (line.reason.code, line.at) not in held] + recorded
        changes_at = _figures(state.billing, now, book, book.plan(state)).changes_at
    return HistoryView(account_id, state.name, tuple(reversed(queued)), tuple(recorded), total, now, changes_at)


def meter(uow: UnitOfWork, clock: Clock, account_id: str) -> MeterView:
    """The meter's figures only (it polls every second): one account's snapshot and queued ops projected to now;
    no PBX views, no op views, no server answers read or verified again."""
    with uow:
        now, _notice = _now_and_notice(uow, clock)
        book = uow.accounts.book(now, account_id)
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
    raise NotFound("pbx-not-here", pbx_id=pbx_id, account=view.name)


def current_pricelist(uow: UnitOfWork) -> PriceList | None:
    """The newest verified price list, or None before the first sync."""
    with uow:
        return uow.replica.current_pricelist()


def pricelist_notice(uow: UnitOfWork, account_id: str, rated_at: str | None = None) -> PricelistNotice | None:
    """R23: when a newer list than the account's applies at its next connection event, say so. ``rated_at``: the
    list the account's figures are rated at now (AccountView.price_version: an automatic reload whose second has
    passed re-rated it, R24), else the held snapshot's."""
    with uow:
        prices = uow.replica.current_pricelist()
        row = uow.replica.get_account(account_id)
        version = rated_at or (row.price_version if row is not None else None)
        if prices is None or row is None or not version or version == prices.version:
            return None
        return _pricelist_notice(version, prices.version)


def pricelist_notices(uow: UnitOfWork, clock: Clock) -> NoticeList:
    """Every account running now at an older price list than the current one (R23), by name, with the list it runs
    at: computed for now, as the account page says it (Book.rated_version), never the held snapshot's column alone.

    One query over the replica's columns finds the candidates (held at another list) and, beside each, the second
    its next automatic reload falls due (the replica's reload_at, kept with the snapshot: app.snapshot.reload_at_of).
    Only the candidates whose reload second has passed are read and run forward to now: a reload is a connection
    event that re-rated them (R24), and those on the current list by now are left out. Until that second a
    snapshot's list is the one it runs at, so the others are never read: the day a new list arrives every account
    is a candidate, and reading 10,000 of them took 2.5 s (docs/app.md).
    """
    with uow:
        prices = uow.replica.current_pricelist()
        if prices is None:
            return NoticeList()
        rows = uow.replica.price_versions_other_than(prices.version)
        if not rows:
            return NoticeList()
        now, _notice = _now_and_notice(uow, clock)
        due = [account_id for account_id, _name, _held, reload_at in rows if reload_at is not None and reload_at <= now]
        book = uow.accounts.book(now, due) if due else None
        listed = []
        coming = []  # the seconds a listed account's next reload re-rates it (R24): the list changes then
        for account_id, name, held, reload_at in rows:
            version = held
            if book is not None and reload_at is not None and reload_at <= now:
                version = book.rated_version(account_id) or held
                if version != prices.version:  # re-rated at a list older than the current one: its next reload
                    row = book.row(account_id)
                    ahead = projection.figures(row.billing, now, row.plan).reloads if row is not None else ()
                    coming.append(ahead[0].at if ahead else None)
            elif reload_at is not None:
                coming.append(reload_at)
            if version != prices.version:
                listed.append((AccountRef(account_id, name), _pricelist_notice(version, prices.version)))
        return NoticeList(listed, now, min((at for at in coming if at is not None and at > now), default=None))


def _pricelist_notice(account_version: str, current_version: str) -> PricelistNotice:
    reason = Reason.of("pricelist-newer", version=current_version, account_version=account_version)
    return PricelistNotice(account_version=account_version, current_version=current_version,
                           message=reason.message, reason=reason)


def pbx_removal(uow: UnitOfWork, account_id: str, pbx_id: str):
    """How a PBX no longer on the account left it (R19), as the server recorded it: a history Line (its reason's
    params name the PBX), or None when this laptop holds no such event."""
    with uow:
        return uow.history.pbx_removal(account_id, pbx_id)


def burn_down(uow: UnitOfWork, clock: Clock, account_id: str, points: int = 24) -> BurnDown:
    """Balance over time until the end of credit, for the current and the pending configuration."""
    with uow:
        now = _now(uow, clock)
        book = uow.accounts.book(now, account_id)
        state = book.require(account_id)
        pending = book.pending_state(account_id)
    confirmed_pts, confirmed_end = projection.burn_points(state.billing, now, points, book.plan(state))
    pending_pts = pending_end = None
    if pending is not None:
        pending_pts, pending_end = projection.burn_points(pending.billing, now, points, book.plan(pending))
    return BurnDown(now, confirmed_pts, pending_pts, confirmed_end, pending_end)


def statement(uow: UnitOfWork, account_id: str, start: int, end: int, clock: Clock | None = None) -> StatementView:
    """R25 per PBX and item (seconds, rates and amount), computed, not remembered (DESIGN §6): the written lines
    pulled at sync, the open lines held cut at the held snapshot's second (they reach it: replica keeps them so),
    plus the charge and reloads (R24) of the signed snapshot run forward to now with rental.reload.forward, the
    server's own call for its ledger's open lines. So a quiet account's statement after a sync equals the server's
    ledger at that second, and offline it keeps counting up to now. Without a clock: as of the held snapshot."""
    if end <= start:
        raise ValueError("A statement period ends after it starts: pick an end date after the start date.")
    with uow:
        row = uow.replica.get_account(account_id)
        if row is None:
            raise NotFound("account-not-verified", account_id=account_id)
        payload, held_at = json.loads(row.payload), row.as_of
        written, open_, fetched_at, count = uow.replica.ledger_parts(account_id)
        now = max(_now(uow, clock), held_at) if clock is not None else held_at
        prices, policy = uow.replica.current_pricelist_and_policy()
        history = uow.replica.price_history(prices)
        removed = uow.history.removed_pbx_names(account_id)  # lines of a PBX removed since name it too (R25)
    ahead = list(snapshot.open_entries(payload, now, policy, history))
    entries = written + billing.clipped(open_, held_at) + ahead
    redeemed = {e.key_id for e in ahead if e.kind == billing.CREDIT and e.auto}  # reloaded since the snapshot (R24)
    rows, totals = billing.statement(entries, start, end, by_quantity=True)
    pbx_names = {**removed, **{p["pbx_id"]: p.get("name") or p["pbx_id"] for p in payload.get("pbxs", [])}}
    shown = shares_milli_floor([r.ticks for r in rows])  # the lines add up to the total shown (SPEC)
    view_rows = tuple(StatementRow(
        pbx_id=r.pbx_id, pbx_name=pbx_names.get(r.pbx_id, r.pbx_id), ref=r.ref,
        item_name=(prices.get(r.ref).name if prices and prices.get(r.ref) else r.ref),
        seconds=r.seconds, rates=r.rates, ticks=r.ticks, qty=r.qty,
        unit_monthly_milli=r.rates[0] // (12 * r.qty) if r.qty and r.rates else 0, milli=milli)
        for r, milli in zip(rows, shown))
    credits = tuple(CreditRow(e.at, e.key_id, e.ticks, e.auto) for e in sorted(entries, key=lambda e: e.at)
                    if e.kind == billing.CREDIT and start <= e.at < end)
    held = tuple(HeldKey(str(d.get("key_id", "")), int(d.get("amount_milli", 0)), int(d.get("deposited_at", 0)))
                 for d in payload.get("deposits") or () if isinstance(d, dict) and d.get("key_id") not in redeemed)
    return StatementView(account_id, start, end, view_rows, totals[billing.CHARGE], totals[billing.CREDIT],
                         totals[billing.FORFEIT], totals[billing.EXPIRY], count, fetched_at, credits=credits,
                         held=held, as_of=now)


def sync_status(uow: UnitOfWork, clock: Clock | None = None) -> SyncStatus:
    """Online/offline, last sync, queue length, ops waiting for a decision, refusals (newest first), the newest
    op results with the server's warnings, and the clock notice (pass the clock to also notice a clock set back)."""
    with uow:
        laptop = clock.now() if clock is not None else None
        if laptop is not None:
            _now(uow, clock, laptop=laptop)  # notes the laptop time seen
        state = uow.settings.sync_state()
        ops = uow.outbox.all_ops()
        problems = tuple(_op_view(op) for op in ops if op.state != "pending")
        refusals = tuple(RefusalView(r.at, r.what, r.subject, r.reason) for r in uow.replica.refusals())
        skew = clock_mod.load_skew(uow)
        return SyncStatus(
            server_url=uow.settings.get("server_url"),
            online=state.get("online"), last_attempt_at=state.get("last_attempt_at"),
            last_success_at=state.get("last_success_at"), last_error=words_of(state.get("last_error")),
            last_error_reason=from_stored(state.get("last_error")),
            queued=sum(1 for op in ops if op.state == "pending"), problems=problems, refusals=refusals,
            clock_notice=clock_mod.notice(laptop, skew), clock_offset_s=skew.offset_s,
            results=_result_views(uow, None, 50),
        )
