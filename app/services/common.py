"""What the use cases share: the server's time as the app knows it, the figures and views they build."""

from __future__ import annotations

import json
from dataclasses import replace

from rental import billing, reload
from rental import ops as decider
from rental.money import TICKS_PER_MILLI
from rental.pricing import PriceList

from .. import clock as clock_mod
from .. import history as history_mod
from .. import outbox, projection
from ..clock import Clock, ClockNotice
from .review import overrides
from ..views import (
    AccountView,
    DepositView,
    Figures,
    LicenseLine,
    OpView,
    PbxView,
    ResultView,
)

HistoryView = history_mod.HistoryView


def _result_views(uow, account_id: str | None, limit: int) -> tuple[ResultView, ...]:
    rows = uow.outbox.recent_results(uow.keyring, account_id, limit)
    names = uow.replica.names_of({row.account_id for row, _ in rows})
    return tuple(
        ResultView(
            op_id=row.op_id,
            account_id=row.account_id,
            account_name=names.get(row.account_id, row.account_id),
            kind=row.kind,
            status=row.status,
            rule=row.rule,
            message=row.message,
            warnings=warnings,
            server_time=row.server_time,
            received_at=row.received_at,
            problems=outbox.problems_of(row.problems),
        )
        for row, warnings in rows
    )


def _fmt(milli: int) -> str:
    from rental.money import format_milli

    return format_milli(milli)


def _op_view(op, book=None) -> OpView:
    body = json.loads(op.body)
    note = json.loads(op.note) if op.note else {}
    declared = decider.KINDS[op.kind]
    credit = note.get("amount_milli", 0) if declared.carries_key and not declared.holds_key else 0
    effect = None
    if credit:
        effect = f"+{_fmt(credit)}, not yet confirmed" if op.state == "pending" else None
    elif declared.holds_key and op.state == "pending":
        effect = f"{_fmt(note.get('amount_milli', 0))} held for automatic reload, not yet confirmed"
    return OpView(
        op_id=op.op_id,
        seq=op.seq,
        kind=op.kind,
        account_id=op.account_id,
        pbx_id=op.pbx_id,
        summary=projection.describe(op.kind, body, book),
        effect=effect,
        state=op.state,
        rule=op.rule,
        message=op.message,
        created_at=op.created_at,
        attempts=op.attempts,
        credit_milli=credit if op.state == "pending" else 0,
        problems=outbox.problems_of(op.problems),
        overrides=_overrides(op, book),
        account_name=book.name_of(op.account_id) if book is not None else "",
    )


def _overrides(op, book) -> tuple:
    """A change waiting for a decision, of a kind that overrides what someone else set: each difference
    re-applying it would make on the server's current state, so its row says what it would override (issue 21)."""
    if book is None or op.state == outbox.PENDING or not decider.KINDS[op.kind].reviewed_before_reapply:
        return ()
    return overrides(book, op).changes


def _figures(
    account: billing.Account, now: int, book: "projection.Book | None" = None, plan: "projection.Plan | None" = None
) -> Figures:
    """R16 figures for now, with what the server's policy and the current list say of them (R18, R19); with a plan,
    the reloads whose second has come are made and the runtime and end count the keys still held (R24)."""
    f = projection.figures(account, now, plan)
    policy = book.policy if book is not None else projection.Policy()
    projected = billing.project(account, now)
    if plan is not None and plan.days and plan.deposits:  # the state the figures show: reloads made (R24)
        projected = reload.forward(account, plan.deposits, plan.days, plan.policy, max(now, account.as_of),
                                   plan.prices)[1].account
    return replace(  # the core's figures, with what the policy and the list say of them
        f,
        daily_milli=decider.daily_milli(f.monthly_milli),
        resume_needs_milli=decider.resume_needs(projected, book.pricelist if book else None, policy),
        # a balance shown as 0.000 is not "kept until": the remainder under 0.001 iSC goes unsaid (issue 22)
        retained_until=decider.retained_until(projected, policy) if f.balance_ticks >= TICKS_PER_MILLI else None,
        warn_s=policy.min_credit_days * 86_400,
        resume_days=policy.resume_min_days,
    )


def _deposit_views(book: "projection.Book", state, pending, account_id: str) -> tuple[DepositView, ...]:
    """The keys held (R24): confirmed ones (a queued withdrawal marked), then deposits queued here."""
    withdrawing = {
        json.loads(op.body).get("key_id")
        for op in book.ops_of(account_id)
        if op.kind == "withdraw_key" and op.state == "pending"
    }
    views = [
        DepositView(d.key_id, d.amount_milli, d.deposited_at, is_withdrawing=d.key_id in withdrawing)
        for d in state.deposits
    ]
    known = {d.key_id for d in state.deposits}
    for op in book.ops_of(account_id):
        note = json.loads(op.note) if op.note else {}
        if decider.KINDS[op.kind].holds_key and op.state == "pending" and note.get("key_id") not in known:
            views.append(
                DepositView(str(note.get("key_id")), int(note.get("amount_milli") or 0), None, is_pending=True)
            )
    return tuple(views)


def _lines_view(lines, prices: PriceList | None) -> tuple[LicenseLine, ...]:
    return tuple(
        LicenseLine(
            l.ref, (prices.get(l.ref).name if prices and prices.get(l.ref) else l.ref), l.qty, l.monthly_milli, l.rate
        )
        for l in sorted(lines, key=lambda l: l.ref)
    )


def _account_view(book: "projection.Book", account_id: str, now: int, uow=None) -> AccountView:
    state = book.require(account_id)
    pending = book.pending_state(account_id)
    prices = book.pricelist
    ops = tuple(_op_view(op, book) for op in book.ops_of(account_id))
    pbxs = []
    shown = pending or state
    edits = dict(book.pending_account_edits(account_id))
    for pbx_id, pbx in shown.pbxs.items():
        confirmed_pbx = state.pbxs.get(pbx_id) if state.confirmed else None
        confirmed_lines = state.billing.lines_of(pbx_id) if confirmed_pbx and confirmed_pbx.confirmed else ()
        pending_lines = None
        if pending is not None and pbx.licenses_pending:
            pending_lines = _lines_view(pending.billing.lines_of(pbx_id), prices)
        pbxs.append(
            PbxView(
                pbx_id=pbx_id,
                name=pbx.name,
                serial=pbx.serial,
                platform=pbx.platform,
                hardware_model=pbx.hardware_model,
                firmware=pbx.firmware,
                mode=pbx.mode,
                status=projection.pbx_status(state, pbx_id) if confirmed_pbx else "pending",
                revision=confirmed_pbx.revision if confirmed_pbx else None,
                licenses=_lines_view(confirmed_lines, prices),
                pending_licenses=pending_lines,
                is_confirmed=bool(confirmed_pbx and confirmed_pbx.confirmed),
                is_pending_removal=pbx.removed,
                has_pending_changes=pbx.changed,
            )
        )
    confirmed = _figures(state.billing, now, book, book.plan(state))
    return AccountView(
        account_id=account_id,
        name=shown.name,
        contact_email=shown.contact_email,
        cloud_contract=shown.cloud_contract,
        language=shown.language,
        partner=state.partner,
        revision=state.revision,
        is_confirmed=state.confirmed,
        is_deleted=state.billing.deleted,
        confirmed=confirmed,
        pending=_figures(pending.billing, now, book, book.plan(pending)) if pending is not None else None,
        pending_credit_milli=pending.pending_credit_milli if pending is not None else 0,
        price_version=book.rated_version(account_id),  # as of now: an automatic reload re-rates (R24)
        pbxs=tuple(pbxs),
        ops=ops,
        verified_at=state.verified_at,
        received_at=state.received_at,
        pending_edits=edits,
        results=_result_views(uow, account_id, 20) if uow is not None else (),
        auto_reload_days=state.auto_reload_days,
        pending_reload_days=edits.get("auto_reload_days"),
        deposits=_deposit_views(book, state, pending, account_id),
        terms=state.terms,
        customer_link_at=state.customer_link_at if state.confirmed else None,
    )


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
    return _now_and_skew(uow, clock, writing=writing, laptop=laptop)[0]


def _now_and_skew(uow, clock: Clock, *, writing: bool = False, laptop: int | None = None
                  ) -> tuple[int, "clock_mod.Skew | None"]:
    """_now, and the skew it was worked out with (None for a clock that gives the server's time already)."""
    laptop = clock.now() if laptop is None else laptop
    if getattr(clock, "is_server_time", False):
        return laptop, None
    written, skew = clock_mod.noted(uow, laptop, every_s=0 if writing else clock_mod.NOTE_EVERY_S)
    if written and not writing:
        uow.commit_if_possible()  # a read never fails for want of noting the time (read-only folder, busy)
    return clock_mod.corrected(laptop, skew, clock_mod.replica_floor(uow)), skew


def _now_and_notice(uow, clock: Clock) -> tuple[int, "ClockNotice | None"]:
    """The server's time now, and what to tell the technician about the laptop's clock (None: nothing)."""
    laptop = clock.now()
    now, skew = _now_and_skew(uow, clock, laptop=laptop)
    return now, clock_mod.notice(laptop, skew if skew is not None else clock_mod.load_skew(uow))
