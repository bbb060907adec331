"""PBXs and the license editor: every rule problem shows next to its item before anything is queued."""

from __future__ import annotations

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _

from rental.ops import KINDS
from rental.reasons import CATALOG
from rental.rules import MODES, PLATFORMS

from .. import services
from . import core, forms
from .pages import is_htmx, redirect_to, render, watch_account
from .accounts import problems_to_form
from .auth import require_unlocked
from .i18n import category_label, same_local_day
from .labels import crossings_text, platform_label, reason_text

bp = Blueprint("pbx", __name__, url_prefix="/accounts/<account_id>/pbx")
bp.before_request(require_unlocked(lambda: None))

PBX_FIELDS = ("name", "serial", "platform", "firmware", "mode", "hardware_model")


def _account(account_id: str) -> services.AccountView:
    try:
        return services.account_detail(core.uow(), core.clock(), account_id)
    except services.NotFound:
        abort(404)


class PbxGone(Exception):
    """The PBX is not (any more) on the account: a sync brought its removal, made elsewhere (R19)."""

    def __init__(self, account: services.AccountView, pbx_id: str):
        super().__init__(account.account_id)
        self.account = account
        self.pbx_id = pbx_id


def _pbx(account: services.AccountView, pbx_id: str) -> services.PbxView:
    for pbx in account.pbxs:
        if pbx.pbx_id == pbx_id:
            return pbx
    raise PbxGone(account, pbx_id)


@bp.errorhandler(PbxGone)
def gone(error: PbxGone):
    """A PBX page open when a sync brought the PBX's removal: its title, its facts, its editor's save or preview, or
    the page opened again say so (never a silent 404 under a page still showing it running); nothing is queued."""
    # the removal as the server recorded it, when held: which PBX, when, by whom (this laptop's own removal too)
    removal = services.pbx_removal(core.uow(), error.account.account_id, error.pbx_id)
    if is_htmx():
        part = request.args.get("part")
        template = "pbx/_gone_title.html" if part == "title" else "pbx/_gone.html"
        # the facts' refresh of the open page also takes its actions and its editor away (oob): nothing to act on
        return render(template, account=error.account, removal=removal, oob=part == "facts")
    return render("pbx/gone.html", account=error.account, removal=removal, http_status=404)


def _pbx_form_values(f) -> dict:
    values = {name: forms.text(f, name) for name in PBX_FIELDS}
    values["hardware_model"] = values["hardware_model"] or None
    return values


@bp.route("/new", methods=["GET", "POST"])
def new(account_id: str):
    """Register a PBX: platform, firmware, mode (R1, R7 checked now)."""
    account = _account(account_id)
    form = forms.Form(values={"platform": "vmware", "mode": "rental"})
    if request.method == "POST":
        form.values = _pbx_form_values(request.form)
        try:
            queued = services.register_pbx(core.uow(), core.clock(), account_id, **form.values)
        except services.RuleViolation as error:
            problems_to_form(form, error, "name")
        else:
            flash(_("PBX %(name)s added; it is registered with the server at the next sync. Now choose its licenses.",
                    name=form.values["name"]))
            return redirect_to(url_for("pbx.show", account_id=account_id, pbx_id=queued.pbx_id))
    return render("pbx/form.html", account=account, pbx=None, form=form, platforms=PLATFORMS, modes=MODES)


@bp.route("/<pbx_id>/edit", methods=["GET", "POST"])
def edit(account_id: str, pbx_id: str):
    """Edit a PBX's name, firmware, platform, hardware model or mode (R1, R7 stay true; R8: purchased → rental,
    and back when it rents nothing)."""
    account = _account(account_id)
    pbx = _pbx(account, pbx_id)
    current = {"name": pbx.name, "firmware": pbx.firmware, "platform": pbx.platform,
               "hardware_model": pbx.hardware_model, "serial": pbx.serial, "mode": pbx.mode}
    form = forms.Form(values=dict(current))
    editable = ("name", "firmware", "platform", "hardware_model", "mode")
    now = {k: current[k] for k in editable}
    if request.method == "POST":
        wanted = _pbx_form_values(request.form)
        changed = {k: wanted[k] for k in editable if wanted[k] != current[k]}
        elsewhere, shown = forms.changed_elsewhere(request.form, now, wanted)
        if elsewhere:
            # another laptop's edit arrived since the form opened: shown and asked again, never saved over unseen
            form.values.update(shown)
            return render("pbx/form.html", account=account, pbx=pbx, form=form, platforms=PLATFORMS, modes=MODES,
                          seen=forms.seen(now), changed_since_opened=_pbx_values_now(now, elsewhere))
        form.values = {**current, **changed}
        if not changed:
            return redirect_to(url_for("pbx.show", account_id=account_id, pbx_id=pbx_id))
        removed = request.form.get("purchased_removed") == "yes"  # R8: the technician confirms it, recorded
        form.values["purchased_removed"] = removed
        try:
            services.update_pbx(core.uow(), core.clock(), account_id, pbx_id, **changed, purchased_removed=removed,
                                seen_revision=account.revision)
        except services.ChangedMeanwhile:
            return edit(account_id, pbx_id)  # a sync merged the account since it was read above: check again
        except services.RuleViolation as error:
            problems_to_form(form, error, "name")
        else:
            return redirect_to(url_for("pbx.show", account_id=account_id, pbx_id=pbx_id))
    return render("pbx/form.html", account=account, pbx=pbx, form=form, platforms=PLATFORMS, modes=MODES,
                  seen=forms.seen(now))


def _pbx_values_now(now: dict, fields: list[str]) -> list[tuple[str, str]]:
    """The PBX's fields changed elsewhere since its form opened, each as (its label, its value now)."""

    words = {"name": (_("PBX name"), lambda v: v), "firmware": (_("Firmware"), lambda v: v),
             "platform": (_("Platform"), platform_label),
             "hardware_model": (_("Hardware model (optional)"), lambda v: v or "—"),
             "mode": (_("Licenses of this PBX"),
                      lambda v: _("rented (paid with iSC)") if v == "rental" else _("purchased"))}
    return [(label, say(now[name])) for name, (label, say) in words.items() if name in fields]


@bp.post("/<pbx_id>/remove")
def remove(account_id: str, pbx_id: str):
    """Queue the removal of a PBX (its rented items stop being charged, R19): the PBX its page showed. One a sync
    changed since the page opened (another laptop's licenses or facts) is shown again, nothing queued: removing it
    would end rents the technician never saw."""
    account = _account(account_id)
    try:
        pbx = _pbx(account, pbx_id)
    except PbxGone:
        flash(_("This PBX is no longer on the account: a sync brought its removal, made elsewhere (R19). Nothing was "
                "queued."), "warning")
        return redirect_to(url_for("accounts.show", account_id=account_id))
    now = _removal_seen(pbx)
    # its own field name: the page's license editor carries a "seen" of its own
    elsewhere, _shown = forms.changed_elsewhere({"seen": request.form.get("seen_pbx")}, now, now)
    if elsewhere:
        flash(_("Since you opened this page, a sync brought a change to this PBX made elsewhere: nothing was queued.")
              + " " + _("The server now holds:") + " " + _pbx_now_words(pbx) + " "
              + _("Check it, then remove it again."), "warning")
        return redirect_to(url_for("pbx.show", account_id=account_id, pbx_id=pbx_id))
    try:
        services.remove_pbx(core.uow(), core.clock(), account_id, pbx_id, seen_revision=account.revision)
    except services.ChangedMeanwhile:
        return remove(account_id, pbx_id)  # a sync merged the account since it was read above: check again
    except services.NotFound:
        abort(404)
    except services.RuleViolation as error:
        flash(" ".join(f"{p.rule} · {reason_text(p)}" for p in error.problems))
    else:
        flash(_("Removing the PBX is queued; it happens at the next sync."))
    return redirect_to(url_for("accounts.show", account_id=account_id))


def _removal_seen(pbx: services.PbxView) -> dict:
    """What the remove button acts on, as its page shows it: the PBX's facts and its licenses (the queued desired
    state, else the server's), carried by the form (forms.seen)."""
    return {"name": pbx.name, "firmware": pbx.firmware, "platform": pbx.platform,
            "hardware_model": pbx.hardware_model, "mode": pbx.mode, "licenses": _desired_from(pbx)}


@bp.app_template_global()
def removal_opened_on(pbx: services.PbxView) -> str:
    """The remove form's hidden "seen": the PBX as its page showed it."""
    return forms.seen(_removal_seen(pbx))


def _pbx_now_words(pbx: services.PbxView) -> str:
    """The PBX as this laptop holds it now, in words: its name, facts and licenses by the price list's names."""
    lines = pbx.pending_licenses if pbx.pending_licenses is not None else pbx.licenses
    licenses = ", ".join(f"{line.qty} × {line.name}" for line in lines) or _("none")
    return f"{pbx.name} · {platform_label(pbx.platform)} · {_('firmware')} {pbx.firmware} · {licenses}."


# ---------------------------------------------------------------- the license editor


def _desired_from(pbx: services.PbxView) -> dict[str, int]:
    """What the editor starts from: the queued desired state, else the confirmed licenses."""
    lines = pbx.pending_licenses if pbx.pending_licenses is not None else pbx.licenses
    return {line.ref: line.qty for line in lines}


def _seen(pbx: services.PbxView, prices) -> str:
    """What the editor was opened on, carried by its form: the licenses it started from and the price list. A sync
    that changes either before the save (another laptop's change, a new list: R23) is said before anything is
    queued, never saved over unseen; a change of this laptop's own confirmed meanwhile changes nothing here."""
    return forms.seen({"price_list": prices.version if prices is not None else None, "licenses": _desired_from(pbx)})


def _desired_from_form(f) -> tuple[dict[str, int], dict[str, str], dict[str, str]]:
    """Quantities typed in the editor (fields named qty-<ref>); typing errors per ref."""
    items: dict[str, int] = {}
    raw: dict[str, str] = {}
    errors: dict[str, str] = {}
    for name, value in f.items():
        if not name.startswith("qty-"):
            continue
        ref = name[4:]
        raw[ref] = value
        qty, problem = forms.quantity(value)
        if problem:
            errors[ref] = problem
        elif qty:
            items[ref] = qty
    return items, raw, errors


def _catalog(prices, query: str, category: str, desired: dict[str, int]):
    """Price-list items with whether each is shown under the search (chosen items always are)."""
    needle = query.strip().lower()
    rows = []
    for item in sorted(prices.items.values(), key=lambda i: (i.category, i.ref)):
        matches = (not needle or needle in f"{item.ref} {item.name} {item.category} "
                                           f"{category_label(item.category)}".lower()) and \
                  (not category or item.category == category)
        rows.append((item, matches or desired.get(item.ref, 0) > 0))
    return rows


def _replacing(account: services.AccountView, pbx_id: str):
    """The change waiting for a decision that this editing replaces (issue 21: "Edit on the current state" from a
    conflict's review): a refused or conflicting set of licenses of this very PBX, else None."""
    op_id = request.values.get("replacing")
    for op in account.ops if op_id else ():
        if op.op_id == op_id and op.state != "pending" and op.pbx_id == pbx_id and op.kind in LICENSE_KINDS:
            return op
    return None


#: The kinds that set a PBX's licenses (read from each kind's declaration).
LICENSE_KINDS = frozenset(name for name, declared in KINDS.items() if declared.sets_licenses)


def _editor(account_id: str, pbx_id: str, f=None):
    """Everything the editor shows: catalog, typed quantities, preview with problems per item."""
    account = _account(account_id)
    pbx = _pbx(account, pbx_id)
    replacing = _replacing(account, pbx_id)
    prices = services.current_pricelist(core.uow())
    if f is None:
        # editing anew on a conflict starts from what the server holds now (its signed licenses)
        desired = {line.ref: line.qty for line in pbx.licenses} if replacing is not None else _desired_from(pbx)
        raw = {ref: str(qty) for ref, qty in desired.items()}
        typing_errors: dict[str, str] = {}
        query = category = ""
    else:
        desired, raw, typing_errors = _desired_from_form(f)
        query, category = forms.text(f, "q", 100), forms.text(f, "category", 60)
    preview = None
    refusal = None
    if prices is not None:
        try:
            preview = services.preview_licenses(core.uow(), core.clock(), account_id, pbx_id, desired)
        except services.RuleViolation as error:
            refusal = error
    problems_by_ref: dict[str, list] = {}
    general = []
    if preview:
        for problem in preview.problems:
            if problem.ref:
                problems_by_ref.setdefault(problem.ref, []).append(problem)
            else:
                general.append(problem)
    categories = sorted({item.category for item in prices.items.values()}) if prices else []
    seen = _seen(pbx, prices)
    # the summary's own second, on the laptop's clock (as the page's watch: pages.watch_until)
    summary_due = None
    if preview is not None and preview.changes_at is not None and preview.changes_at > preview.current.at:
        summary_due = core.clock().now() + preview.changes_at - preview.current.at
    # R23: a newer list than the account's re-rates it at this change (a connection event): the figures say why
    notice = services.pricelist_notice(core.uow(), account_id, account.price_version) if prices is not None else None
    return dict(account=account, pbx=pbx, prices=prices, desired=desired, raw=raw, typing_errors=typing_errors,
                notice=notice,
                seen=(f.get("seen") or seen) if f is not None else seen, seen_now=seen,
                query=query, category=category, preview=preview, refusal=refusal, problems_by_ref=problems_by_ref,
                general_problems=general, categories=categories, replacing=replacing, summary_due=summary_due,
                catalog=_catalog(prices, query, category, desired) if prices else [])


@bp.get("/<pbx_id>")
def show(account_id: str, pbx_id: str):
    """The PBX and its license editor; or its title or facts alone, fetched again after a sync (issue 21: the
    editor itself is never swapped under the technician's typing)."""
    context = _editor(account_id, pbx_id)
    watch_account(context["account"])  # the PBX stops with its account at a known second (R18), resumes at a reload
    return render("pbx/show.html", parts={"title": "pbx/_title.html", "facts": "pbx/_facts.html"}, **context)


@bp.post("/<pbx_id>/licenses/preview")
def preview(account_id: str, pbx_id: str):
    """As the technician types: new consumption, runtime, end date and every problem (R1, R2, R6-R8, R14)."""
    part = {"summary": "pbx/_preview.html", "catalog": "pbx/_rows.html"}.get(request.args.get("part", ""),
                                                                           "pbx/_editor.html")
    return render("pbx/show.html", part, **_editor(account_id, pbx_id, request.form))


#: The summary's hidden fields: what it showed (services.SummaryShown), read back at the save.
SHOWN_FIELDS = ("shown_at", "shown_status", "shown_monthly", "shown_ends", "shown_verdict")
_STATUSES = ("active", "idle", "suspended", "deleted")


def _shown_from(f) -> tuple[services.SummaryShown | None, str | None]:
    """What the summary showed, as its form carries it: (None, None) when it carries none (no figures were shown);
    (None, the field) when a field is not what the summary writes there (edited by hand or damaged): untrusted, it
    only ever chooses words, never money."""
    raw = {name: f.get(name) for name in SHOWN_FIELDS}
    if all(value is None for value in raw.values()):
        return None, None

    def whole(name: str, blank: bool = False) -> int | None:
        if blank and not raw[name]:
            return None
        value = forms.whole(raw[name])
        if value is None:
            raise ValueError(name)
        return value

    try:
        at, monthly, ends = whole("shown_at"), whole("shown_monthly"), whole("shown_ends", blank=True)
        if raw["shown_status"] not in _STATUSES:
            raise ValueError("shown_status")
        verdict = tuple(code for code in (raw["shown_verdict"] or "").split(",") if code)
        if len(verdict) > 40 or any(code not in CATALOG for code in verdict):
            raise ValueError("shown_verdict")
    except ValueError as bad:
        return None, str(bad)
    return services.SummaryShown(at, raw["shown_status"], monthly, ends, verdict), None


def _crossed(shown: services.SummaryShown | None, context: dict) -> str | None:
    """How the editor's figures for now differ from what its summary showed, in words (None: in nothing that
    matters, or it showed none), for a save that queued nothing."""
    preview = context.get("preview")
    if shown is None or preview is None:
        return None
    said = services.crossings(shown, preview.shown, same_local_day, preview.after.resume_needs_milli)
    return crossings_text(shown.at, said) if said else None


@bp.post("/<pbx_id>/licenses")
def save(account_id: str, pbx_id: str):
    """Queue the desired licenses; refused ones re-render with each problem next to its item (status 200). What the
    summary showed travels with the form: what the save decides that differs from it is said (the credit ran out
    meanwhile, R18; a key another laptop loaded moved the end of credit, R16; R14 now refuses; R6's warning is
    gone...)."""
    context = _editor(account_id, pbx_id, request.form)
    shown, unreadable = _shown_from(request.form)
    if unreadable:
        # the form's record of its figures is not what the summary wrote: nothing is queued, the figures drawn anew
        context.update(shown_unreadable=unreadable)
        return render("pbx/show.html", "pbx/_editor.html", **context)
    if context["seen"] != context["seen_now"]:
        # a sync brought another state of this PBX or a new price list since the editor opened: shown, not saved over
        context.update(seen=context["seen_now"], changed_since_opened=True)
        return render("pbx/show.html", "pbx/_editor.html", **context)
    if context["typing_errors"]:
        return render("pbx/show.html", "pbx/_editor.html", **context)
    try:
        queued = services.set_licenses(core.uow(), core.clock(), account_id, pbx_id, context["desired"],
                                       confirm=request.form.get("confirm_warnings") == "yes",
                                       replacing=context["replacing"].op_id if context["replacing"] else None,
                                       seen_revision=context["account"].revision, shown=shown,
                                       same_day=same_local_day)
    except services.ChangedMeanwhile:
        return save(account_id, pbx_id)  # a sync merged the account since the editor was checked above: check again
    except services.RuleViolation:
        context["crossed"] = _crossed(shown, context)
        return render("pbx/show.html", "pbx/_editor.html", **context)
    except services.NeedsConfirmation as needs:
        context.update(needs_confirmation=needs.warnings, crossed=_crossed(shown, context))
        return render("pbx/show.html", "pbx/_editor.html", **context)
    flash(_("Licenses queued for %(name)s; the server applies them at the next sync.", name=context["pbx"].name))
    if queued.crossings:
        flash(crossings_text(shown.at, queued.crossings), "warning")
    return redirect_to(url_for("accounts.show", account_id=account_id))

