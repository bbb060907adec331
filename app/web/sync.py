"""Sync: online state, the queue, "Sync now" with progress, results and decisions on refused changes."""

from __future__ import annotations

import functools

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from rental.ops import KINDS

from .. import services
from . import core, forms
from .pages import redirect_to, render, watch_again_url
from .auth import require_unlocked
from .labels import reason_text
from .state import EXTENSION, state

bp = Blueprint("sync", __name__, url_prefix="/sync")

#: The one event the components showing synced data listen to (hx-trigger="rentdesk:synced from:body").
SYNCED_EVENT = "rentdesk:synced"
bp.before_request(require_unlocked(lambda: None))


#: The words we show for the sync's steps, in the order they come (services.SYNC_STEPS).
_STEP_LABELS = (_l("Sending your changes…"), _l("Fetching accounts and prices…"), _l("Fetching statements…"),
                _l("Up to date."))


@functools.cache
def steps() -> tuple:
    """The sync's steps: (code, words) in order; asked when a sync screen is drawn, not at import (the services'
    face loads at unlock, issue 25)."""
    return tuple(zip(services.SYNC_STEPS, _STEP_LABELS, strict=True))


def _step_number(code: str) -> int:
    return next((index + 1 for index, (step, _label) in enumerate(steps()) if step == code), 0)


def start_background(app, store) -> None:
    """After unlock: sync in the background with back-off, retrying as soon as the server answers (DESIGN §6)."""
    if not app.config.get("BACKGROUND_SYNC", True):
        return
    st = app.extensions[EXTENSION]
    st.syncer = services.BackgroundSyncer(store.unit_of_work, st.clock).start()
    # whatever queues an op (any view, any use case) pokes it once its unit of work commits (DESIGN §6: an edit
    # made online reaches the server within seconds): no list of views to keep up to date
    store.on_queued.append(lambda ops, syncer=st.syncer: syncer.poke())


def run_sync():
    """Run one sync now, recording progress for the polling progress bar."""
    st = state()
    progress = st.sync_progress

    def say(step: str, **params) -> None:
        number = _step_number(step)
        progress.update(state="running", step=max(number, progress.get("step", 0)), code=step, params=params)

    progress.clear()
    progress.update(state="running", step=0, total=len(steps()))
    try:  # sync_now waits for a background sync of this store to finish (one lock, owned by app/sync.py)
        report = services.sync_now(core.store().unit_of_work, core.clock(), progress=say)
    finally:
        progress["state"] = "done"
    return report


#: The sync screen's components that fetch themselves again after a sync (issue 21), by ?part=.
INDEX_PARTS = {"status": "sync/_status.html", "queue": "sync/_queue.html", "answers": "sync/_answers.html"}


@bp.get("/")
def index():
    """The sync screen."""
    status = services.sync_status(core.uow(), core.clock())
    queue = _queue()
    return render("sync/index.html", parts=INDEX_PARTS, status=status, queue=queue, report=None,
                  progress=state().sync_progress, steps=steps())


def _queue():
    """Pending ops of every account, in order."""
    return services.queued_ops(core.uow(), core.clock())


@bp.post("/run")
def run():
    """Sync now; htmx gets the result panel (the progress bar polled meanwhile)."""
    report = run_sync()
    status = services.sync_status(core.uow(), core.clock())
    return render("sync/index.html", "sync/_run.html", status=status, queue=_queue(), report=report,
                  progress=state().sync_progress, steps=steps())


@bp.get("/progress")
def progress():
    """The progress bar while a sync runs (polled)."""
    return render("sync/_progress.html", "sync/_progress.html", progress=state().sync_progress, steps=steps())


@bp.get("/changed")
def changed():
    """The page's watch (polled every few seconds, issue 21): nothing (204) while no sync changed what the page was
    drawn from and the laptop's clock has not reached ``due``, the second what it shows changes by time alone
    (pages.watch_until: R18, R24); else the one event every component showing synced data listens to (HX-Trigger:
    rentdesk:synced), and the watch again: the page's own (?part=watch) with its next second, else at the new
    generation. Reads a number in memory and the clock, never the store."""
    generation = core.store().sync_generation
    raw_due = request.args.get("due", "")
    due = int(raw_due) if raw_due.isascii() and raw_due.isdecimal() else None
    if request.args.get("since") == str(generation) and (due is None or core.clock().now() < due):
        return "", 204
    page = request.args.get("page") or ""
    # the page read again for its next second (a sync may have moved it too), else the watch at the new generation
    again = watch_again_url(page, generation) if is_own_path(page) else None
    response = render("sync/_watch.html", "sync/_watch.html", generation=generation, again=again, page=None)
    response.headers["HX-Trigger"] = SYNCED_EVENT
    return response


#: The event a component's own due timer fires at its second (GET /sync/due): it bubbles to the component.
DUE_EVENT = "rentdesk:due"


@bp.get("/due")
def due():
    """A component's own second (polled every few seconds): what it shows of the technician's draft changes by time
    alone then (the license editor's summary: R14 starts refusing the draft, R18, R24). Nothing (204) before the
    laptop's clock reaches ``due``; then 286, which stops the polling, with the event the component is worked out
    again on (HX-Trigger: rentdesk:due). Reads the clock, never the store; a ``due`` that is no number is 400."""
    due = forms.whole(request.args.get("due"), max_digits=12)
    if due is None:
        abort(400)
    if core.clock().now() < due:
        return "", 204
    return "", 286, {"HX-Trigger": DUE_EVENT}


@bp.get("/chip")
def chip():
    """The small online/offline indicator in the header, and the clock banner out of band (issue 8)."""
    status = services.sync_status(core.uow(), core.clock())
    return render("sync/_chip_poll.html", "sync/_chip_poll.html", status=status)


def _back() -> str:
    """Where a decision returns: the page it was taken from (only our own pages), else the sync screen."""
    target = request.values.get("next") or ""
    return target if is_own_path(target) else url_for("sync.index")


def is_own_path(target: str) -> bool:
    """A path of this app, never another site: browsers drop tabs and line breaks from an address and read a
    backslash as a slash, so a slash, a tab and "/elsewhere" would lead to the site "elsewhere"."""
    return (target.startswith("/") and not target.startswith("//")
            and all(" " < char != "\\" and char != "\x7f" for char in target))


def _edit_url(review) -> str | None:
    """Where the technician edits the change anew on the server's current state instead (issue 21): the license
    editor (its save replaces the change waiting here), the PBX's or the account's form; chosen by the kind's
    declaration."""
    declared = KINDS[review.op.kind]
    if review.pbx_id and review.pbx_gone:
        return None
    if declared.sets_licenses:
        return url_for("pbx.show", account_id=review.op.account_id, pbx_id=review.pbx_id, replacing=review.op.op_id)
    if review.pbx_id:
        return url_for("pbx.show", account_id=review.op.account_id, pbx_id=review.pbx_id)
    if declared.checks_account_revision:
        return url_for("accounts.edit", account_id=review.op.account_id, replacing=review.op.op_id)
    return None


def _review_page(review, back: str, *, changed: bool = False):
    return render("sync/review.html", review=review, back=back, changed=changed, edit_url=_edit_url(review),
                  seen="none" if review.revision is None else str(review.revision))


@bp.get("/ops/<op_id>/review")
def review(op_id: str):
    """Before re-applying a change that overrides someone else's: what it would change on the server's current
    state, item by item and field by field (issue 21), with re-apply, edit anew, or cancel."""
    back = _back()
    try:
        view = services.review_reapply(core.uow(), core.clock(), op_id)
    except services.NotFound:
        flash(_("This change was already resolved."))
        return redirect_to(back)
    except services.RuleViolation as error:
        flash(_("The change could not be re-applied: %(reason)s",
                reason="; ".join(f"{p.rule} · {reason_text(p)}" for p in error.problems)))
        return redirect_to(back)
    return _review_page(view, back)


@bp.post("/ops/<op_id>/resolve")
def resolve(op_id: str):
    """Decide about a rejected or conflicting change: re-apply it on the new state (once its review was seen, for a
    change that overrides someone else's), or discard it."""
    decision = request.form.get("decision")
    if decision not in ("reapply", "discard"):
        abort(400)
    target = _back()
    try:
        services.resolve(core.uow(), core.clock(), op_id, decision, seen=request.form.get("seen"))
    except services.Changed as needs:  # never re-applied unseen: show what it changes now, and ask
        if needs.seen is None:
            return redirect_to(url_for("sync.review", op_id=op_id, next=target))
        return _review_page(needs.review, target, changed=True)
    except services.NotFound:
        flash(_("This change was already resolved."))
    except services.RuleViolation as error:
        flash(_("The change could not be re-applied: %(reason)s",
                reason="; ".join(f"{p.rule} · {reason_text(p)}" for p in error.problems)))
    else:
        flash(_("Change queued again on the newest state.") if decision == "reapply" else _("Change discarded."))
    return redirect_to(target)
