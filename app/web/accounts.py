"""Accounts: the searchable list, one account with its live credit meter, keys, statement, delete (R13, R16, R25)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import NamedTuple
from urllib.parse import quote

from flask import Blueprint, abort, flash, g, make_response, redirect, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup

from rental.errors import AmountError
from rental.money import format_milli, format_ticks, parse_isc, ticks_to_milli_floor
from rental import rules
from rental.ops import KINDS

from .. import services
from ..csvfile import csv_text
from . import core, forms
from .pages import WATCH_PART, redirect_to, render, watch_account, watch_until
from .auth import require_unlocked
from .chart import Series, render_burn_down
from .labels import crossings_text, reason_text, status_badge, urgency
from .i18n import (day_words, fmt_date, fmt_dayfield, fmt_isc, fmt_isodate, fmt_milli, fmt_number, fmt_runtime, here,
                   language, same_local_day)

bp = Blueprint("accounts", __name__, url_prefix="/accounts")
bp.before_request(require_unlocked(lambda: None))


def _account_or_404(account_id: str) -> services.AccountView:
    try:
        return services.account_detail(core.uow(), core.clock(), account_id)
    except services.NotFound:
        abort(404)


def problems_to_form(form: forms.Form, error: services.RuleViolation, default_field: str,
                     aliases: dict[str, str] | None = None) -> None:
    """Put each refused reason next to the field it concerns (or the form's main field)."""
    aliases = aliases or {}
    for problem in error.problems:
        name = aliases.get(problem.field, problem.field) or default_field
        form.error(name, problem.message, problem.rule, problem.code, dict(problem.params))


#: what werkzeug's default converter leaves unquoted in a path segment (BaseConverter.to_url)
_SEGMENT_SAFE = "!$&'()*+,/:;=@"
_MARK = "account-id-here"


@bp.app_template_global()
def account_url(account_id: str) -> str:
    """url_for("accounts.show", account_id=...) for a list's every row: the route is built once per request and
    each id quoted into it as werkzeug's converter does (tests/web/test_account_list_page.py holds them equal)."""
    parts = _account_url_parts()
    return parts[0] + quote(str(account_id), safe=_SEGMENT_SAFE) + parts[1]


def _account_url_parts() -> tuple[str, str]:
    """The account page's route around its id, built once per request."""
    parts = g.get("_account_url_parts")
    if parts is None:
        prefix, _mark, suffix = url_for("accounts.show", account_id=_MARK).partition(_MARK)
        parts = g._account_url_parts = (prefix, suffix)
    return parts


class ListRow(NamedTuple):
    """One row of the accounts list in words: what each cell shows, worked out in one pass in Python by the same
    formatters the filters use (a hundred rows of a dozen filter and global calls each were a third of the list's
    time in Jinja; the template unpacks the tuple, no attribute look-up per cell: docs/benchmarks.md §16). Every
    figure is the AccountSummary's, projected to now by list_accounts with rental/ at this request: nothing is kept
    from one request to the next."""

    url: str
    name: str
    contact_email: str
    badge: Markup
    urgency: str  # ok / warn / danger (rental.rules.urgency)
    balance: str
    pending_credit: str  # "" when no credit is queued
    monthly: str
    runtime: str
    ends: str
    pending_ops: Markup | str  # "" when none
    problem_ops: Markup | str


def list_rows(accounts: list[services.AccountSummary]) -> list[ListRow]:
    """The rows of the accounts list (templates/accounts/_list.html), each cell's words in the request's language."""
    words = here()
    lang = words.language
    prefix, suffix = _account_url_parts()
    badges: dict[str, Markup] = {}  # a page shows the same few statuses
    rows = []
    for a in accounts:
        status = a.status
        badge = badges.get(status)
        if badge is None:
            badge = badges[status] = status_badge(status)
        rows.append(ListRow(
            prefix + quote(str(a.account_id), safe=_SEGMENT_SAFE) + suffix, a.name, a.contact_email, badge,
            urgency(status, a.remaining_seconds, a.warn_s),
            "—" if a.balance_ticks is None else format_ticks(a.balance_ticks, lang),
            format_milli(a.pending_credit_milli, lang) if a.pending_credit_milli else "",
            "—" if a.monthly_milli is None else format_milli(a.monthly_milli, lang),
            fmt_runtime(a, words),
            day_words(a.ends_at, words) if a.ends_at else "—",
            # as the template's ngettext gives them (Jinja's newstyle gettext: the catalog's text is markup)
            Markup(words.ngettext("%(num)d pending", "%(num)d pending", a.pending_ops)) if a.pending_ops else "",
            Markup(words.ngettext("%(num)d to resolve", "%(num)d to resolve", a.problem_ops))
            if a.problem_ops else ""))
    return rows


@bp.get("/")
def index():
    """The list, searchable as you type: htmx asks for the rows only."""
    query = forms.text(request.args, "q", 100)
    deleted = request.args.get("deleted") == "shown"
    accounts = services.list_accounts(core.uow(), core.clock(), query, limit=services.LIST_PAGE,
                                      include_deleted=deleted)
    if accounts:  # a row's status (R18, R24) and colour (R14 horizon) change at known seconds: drawn again then
        watch_until(accounts[0].at, *(second for row in accounts for second in (
            row.changes_at, *rules.urgency_changes(row.ends_at if row.status == "active" else None, row.warn_s))))
    return render("accounts/index.html", "accounts/_list.html", accounts=accounts, rows=list_rows(accounts),
                  query=query, show_deleted=deleted)


@bp.get("/<account_id>/history")
def history(account_id: str):
    """The account's history offline (R25): the account page loads the newest events; ?all=1 lists them all."""
    full = request.args.get("all") == "1"
    services.pull_details(core.store().unit_of_work, core.clock(), account_id)  # issue 26: fetched when opened online
    try:
        view = services.account_history(core.uow(), core.clock(), account_id, None if full else services.HISTORY_SHOWN)
    except services.NotFound:
        abort(404)
    watch_until(view.at, view.changes_at)  # R18, R24: the stop or the reload the history then says (R25)
    return render("accounts/history.html", "accounts/_history.html", history=view, full=full)


@bp.route("/new", methods=["GET", "POST"])
def new():
    """Create a customer account (queued; the server learns it at the next sync)."""
    from .. import terms as terms_mod  # here, not at the top: the screens' modules load before unlock (issue 25)

    # the customer's mails and page start in the language the technician works in (R20, R27), changed at will
    form = forms.Form(values={"language": language(), "cloud_contract": False})
    terms = terms_mod.held(core.uow())  # R26: the customer accepts the version held on this laptop
    if request.method == "POST":
        f = request.form
        form.values = {"name": forms.text(f, "name"), "contact_email": forms.text(f, "contact_email"),
                       "cloud_contract": f.get("cloud_contract") == "on", "language": f.get("language", "en")}
        # the signatory's name whole: too long is refused with the limit said, never cut (R26)
        acceptance = {"terms_version": forms.text(f, "terms_version", 64) or None,
                      "accepted_by": forms.text(f, "accepted_by"), "terms_accepted": f.get("terms_accepted") == "on"}
        try:
            queued = services.create_account(core.uow(), core.clock(), **form.values, **acceptance)
        except services.RuleViolation as error:
            problems_to_form(form, error, "name")
        else:
            return redirect(url_for("accounts.show", account_id=queued.account_id))
        # R26: a box ticked on other terms than those held now (a sync brought a newer version since the form
        # opened) is no acceptance of these: shown unticked, to tick again once the customer read them
        accepted_shown = acceptance["terms_accepted"] and (terms is None or acceptance["terms_version"] == terms.version)
        form.values.update(accepted_by=acceptance["accepted_by"], terms_accepted=accepted_shown)
    terms_html = terms_mod.render(terms.text(language())) if terms else None
    return render("accounts/form.html", form=form, account=None, terms=terms, terms_html=terms_html,
                  signatory_max=terms_mod.MAX_SIGNATORY)


@bp.route("/<account_id>/edit", methods=["GET", "POST"])
def edit(account_id: str):
    """Edit name, contact, cloud contract (R7) and e-mail language."""
    account = _account_or_404(account_id)
    form = forms.Form(values={"name": account.name, "contact_email": account.contact_email,
                              "cloud_contract": account.cloud_contract, "language": account.language})
    replacing = _replacing_edit(account)
    now = form.values
    if request.method == "POST":
        f = request.form
        wanted = {"name": forms.text(f, "name"), "contact_email": forms.text(f, "contact_email"),
                  "cloud_contract": f.get("cloud_contract") == "on", "language": f.get("language", "en")}
        changed = {k: v for k, v in wanted.items() if v != now[k]}
        elsewhere, form.values = forms.changed_elsewhere(f, now, wanted)
        if elsewhere:
            # another laptop's edit arrived since the form opened: shown and asked again, never saved over unseen
            return render("accounts/form.html", form=form, account=account, replacing=replacing, seen=forms.seen(now),
                          changed_since_opened=_account_values_now(now, elsewhere))
        if not changed:
            return redirect(url_for("accounts.show", account_id=account_id))
        try:
            services.update_account(core.uow(), core.clock(), account_id, **changed,
                                    replacing=replacing.op_id if replacing else None, seen_revision=account.revision)
        except services.ChangedMeanwhile:
            return edit(account_id)  # a sync merged the account since it was read above: read it and check again
        except services.RuleViolation as error:
            problems_to_form(form, error, "name")
        else:
            return redirect(url_for("accounts.show", account_id=account_id))
    return render("accounts/form.html", form=form, account=account, replacing=replacing, seen=forms.seen(now))


def _account_values_now(now: dict, fields: list[str]) -> list[tuple[str, str]]:
    """The account's fields changed elsewhere since the form opened, each as (its label, its value now)."""
    from .i18n import LANGUAGE_NAMES

    words = {"name": (_("Customer name"), lambda v: v), "contact_email": (_("Contact e-mail"), lambda v: v),
             "cloud_contract": (_("The customer has a cloud contract (needed for cloud PBXs, R7)"),
                                lambda v: _("yes") if v else _("no")),
             "language": (_("Language of the customer's e-mails"), lambda v: LANGUAGE_NAMES.get(v, v))}
    return [(label, say(now[name])) for name, (label, say) in words.items() if name in fields]


def _replacing_edit(account: services.AccountView):
    """The account edit waiting for a decision that this form replaces (issue 21: "Edit on the current state"
    from its review): a refused or conflicting edit of this account, else None."""
    op_id = request.values.get("replacing")
    for op in account.ops if op_id else ():
        if op.op_id == op_id and op.state != "pending" and op.pbx_id is None \
                and KINDS[op.kind].checks_account_revision:
            return op
    return None


def _axis_amount(ticks: int) -> str:
    """An axis label: whole iSC without decimals (the axis is round), else iSC with 3 decimals."""
    milli = ticks_to_milli_floor(ticks)
    return fmt_number(milli // 1000) if milli % 1000 == 0 else fmt_isc(ticks, unit=False)


def _chart(account_id: str) -> str:
    """The burn-down SVG: balance until the end of credit, current and pending configuration."""
    burn = services.burn_down(core.uow(), core.clock(), account_id)
    series = [Series(_("current"), tuple(burn.confirmed), "current")]
    if burn.pending:
        series.append(Series(_("with pending changes"), tuple(burn.pending), "pending", dashed=True))
    return render_burn_down(series, format_amount=_axis_amount, format_time=fmt_date,
                            title=_("Balance over time until the credit runs out"),
                            empty_text=_("No credit to draw: load a key to see the balance over time."))


#: The account page's components that fetch themselves again after a sync (issue 21), by ?part= (the meter and the
#: history have their own addresses).
SHOW_PARTS = {"title": "accounts/_title.html", "facts": "accounts/_facts.html", "chart": "accounts/_chart.html",
              "reload": "accounts/_reload.html", "pbxs": "accounts/_pbxs.html", "ops": "accounts/_ops.html",
              "answers": "accounts/_answers.html"}


@bp.get("/<account_id>")
def show(account_id: str):
    """One account: meter, chart, PBXs, queued changes, actions; or one of its components (SHOW_PARTS)."""
    account = _account_or_404(account_id)
    watch_account(account)  # R18, R24: what the page shows changes at known seconds, with no sync to tell it
    notice = services.pricelist_notice(core.uow(), account_id, account.price_version)
    part = request.args.get("part")
    drawn = part not in SHOW_PARTS and part != WATCH_PART or part == "chart"
    chart = _chart(account_id) if drawn else ""  # drawn only where shown
    return render("accounts/show.html", parts=SHOW_PARTS, account=account, chart=chart, notice=notice,
                  key_form=forms.Form(), deposit_form=forms.Form(), reload_form=forms.Form())


@bp.post("/<account_id>/customer-link")
def customer_link(account_id: str):
    """R27: send a new link to the customer (online only): the server mails it, the old one stops at once."""
    _account_or_404(account_id)
    reason = services.renew_customer_link(core.store().unit_of_work, core.clock(), account_id)
    if reason is None:
        flash(_("A new link was made and mailed to the customer: the previous link no longer works."))
    else:
        flash(_("No new link was made: %(reason)s", reason=reason_text(reason)), "warning")
    return redirect(url_for("accounts.show", account_id=account_id))


@bp.get("/<account_id>/meter")
def meter(account_id: str):
    """The live credit meter: it replaces itself every second, computed from the projection for now."""
    try:
        figures = services.meter(core.uow(), core.clock(), account_id)
    except services.NotFound:
        abort(404)
    return render("accounts/_meter.html", account=figures)


@bp.post("/<account_id>/key")
def load_key(account_id: str):
    """Queue an activation key (R11): verified offline now, confirmed by the server at the next sync."""
    account = _account_or_404(account_id)
    # a key's length grows with the signing kid (202 characters for "vendor-2026"): never cut it
    form = forms.Form(values={"key": forms.text(request.form, "key", None)})
    queued = None
    shown, unreadable = _key_shown(request.form)
    crossed = ()
    if unreadable:  # the form's record of what its answer said is not what the answer wrote: nothing is queued
        form.error("key", _("This form's record of what it said of the key is not readable (field %(field)s): "
                            "nothing was queued. Load the key again.", field=unreadable))
    else:
        try:  # what the load does when queued, beside what the form said it would (R18, R16)
            queued = services.load_key(core.uow(), core.clock(), account_id, form.values["key"], shown=shown,
                                       same_day=same_local_day)
            crossed = queued.crossings
        except services.RuleViolation as error:
            problems_to_form(form, error, "key")
    if queued:
        flash(_("Activation key queued: +%(amount)s, not yet confirmed. The server confirms it at the next sync.",
                amount=fmt_milli(queued.key_amount_milli or 0)))
        if crossed:
            flash(crossings_text(shown.at, crossed), "warning")
        for warning in queued.warnings:  # R18: a load too small to restart a suspended account says so now
            if not any(c.code == "crossed-key-short" for c in crossed):  # said just above
                flash(reason_text(warning), "warning")
        # the whole page changes (meter, queued changes): load it again
        return redirect_to(url_for("accounts.show", account_id=account_id))
    return render("accounts/show.html", "accounts/_key_form.html", account=account, key_form=form,
                  chart=_chart(account_id),
                  notice=services.pricelist_notice(core.uow(), account_id, account.price_version),
                  deposit_form=forms.Form(), reload_form=forms.Form())


def _key_shown(f) -> tuple[services.KeyShown | None, str | None]:
    """What the key form's answer said (its hidden key_shown*): (None, None) when it said nothing; (None, the
    field) when a field is not what the answer writes there (untrusted: it only ever chooses words)."""
    outcome, at, ends = f.get("key_shown"), f.get("key_shown_at"), f.get("key_shown_ends")
    if outcome is None and at is None and ends is None:
        return None, None
    if outcome not in services.KEY_OUTCOMES:
        return None, "key_shown"
    shown_at, shown_ends = forms.whole(at), forms.whole(ends) if ends else None
    if shown_at is None:
        return None, "key_shown_at"
    if ends and shown_ends is None:
        return None, "key_shown_ends"
    return services.KeyShown(shown_at, outcome, shown_ends), None


@bp.post("/<account_id>/deposit")
def deposit_key(account_id: str):
    """Queue a key to be held for automatic reload (R24): verified offline now, held by the server at the next sync."""
    typed = forms.text(request.form, "deposit_key", None)  # a key grows with its signing kid: never cut it
    return _reload_action(account_id, lambda: services.deposit_key(core.uow(), core.clock(), account_id, typed),
                          "deposit_form", "deposit_key", {"deposit_key": typed},
                          _("Activation key queued to be held for automatic reload; the server holds it from the "
                            "next sync."))


@bp.post("/<account_id>/withdraw")
def withdraw_key(account_id: str):
    """Queue giving a held key back (R24): it can then be loaded or deposited anywhere."""
    key_id = forms.text(request.form, "key_id", 40)
    # a refusal is said with the keys held, where the button was (not on the deposit field, untouched)
    return _reload_action(account_id, lambda: services.withdraw_key(core.uow(), core.clock(), account_id, key_id),
                          "withdraw_form", "key_id", {},
                          _("Withdrawing the key is queued; it is free for any account once the server confirms it."))


@bp.post("/<account_id>/reload")
def auto_reload(account_id: str):
    """Switch automatic reload off, or on at 14 or 28 days of runtime (R24). A change of it a sync brought since the
    select was opened (another laptop switched it) is shown and asked again, never queued over unseen."""
    raw = forms.text(request.form, "auto_reload_days", 4)
    days = int(raw) if raw.isascii() and raw.isdecimal() else raw
    account = _account_or_404(account_id)
    now = _reload_now(account)
    elsewhere, shown = forms.changed_elsewhere(request.form, now, {"auto_reload_days": days})
    if elsewhere:
        return _show_with(account, reload_form=forms.Form(values=shown), reload_changed=_reload_values_now(now))
    try:
        return _reload_action(account_id, lambda: services.set_auto_reload(core.uow(), core.clock(), account_id, days,
                                                                           seen_revision=account.revision),
                              "reload_form", "auto_reload_days", {},
                              _("Automatic reload: the change is queued; it takes effect at the next sync."), account)
    except services.ChangedMeanwhile:
        return auto_reload(account_id)  # a sync merged the account since it was read above: read it and check again


def _reload_now(account: services.AccountView) -> dict:
    """What the automatic-reload select shows (R24): the values its form carries as opened on (forms.seen)."""
    return {"auto_reload_days": account.reload_days_shown}


@bp.app_template_global()
def reload_opened_on(account: services.AccountView) -> str:
    """The reload form's hidden "seen": the select's value as the page showed it (forms.seen)."""
    return forms.seen(_reload_now(account))


@bp.app_template_global()
def reload_choices() -> list[tuple[int, str]]:
    """The automatic-reload select's options (R24: off, or the runtime in days that redeems the next held key)."""
    return [(0, _("off")), (14, _("14 days before the credit runs out")),
            (28, _("28 days before the credit runs out"))]


def _reload_values_now(now: dict) -> list[tuple[str, str]]:
    """The automatic-reload setting a sync changed since the select was opened, as (its label, its value now)."""
    days = now["auto_reload_days"]
    return [(_("Reload"), dict(reload_choices()).get(days, str(days)))]


def _reload_action(account_id: str, queue, form_name: str, field: str, values: dict, done: str,
                   account: services.AccountView | None = None):
    """Queue an automatic-reload change (R24); a refusal shows next to its field, status 200, nothing queued."""
    account = account or _account_or_404(account_id)
    form = forms.Form(values=values)
    try:
        queue()
    except services.RuleViolation as error:
        problems_to_form(form, error, field, {"key": field, "key_id": field})
        return _show_with(account, **{form_name: form})
    flash(done)
    return redirect_to(url_for("accounts.show", account_id=account_id) + "#auto-reload")


def _show_with(account: services.AccountView, **forms_given):
    """The account page again with a form's errors next to its field (status 200, nothing queued)."""
    given = {"key_form": forms.Form(), "deposit_form": forms.Form(), "reload_form": forms.Form(),
             "withdraw_form": forms.Form(), **forms_given}
    return render("accounts/show.html", account=account, chart=_chart(account.account_id),
                  notice=services.pricelist_notice(core.uow(), account.account_id, account.price_version), **given)


@bp.post("/<account_id>/key/preview")
def key_preview(account_id: str):
    """What the key being typed would do (htmx, as the technician types): nothing is queued (R11, R18)."""
    _account_or_404(account_id)
    preview = services.preview_key(core.uow(), core.clock(), account_id, forms.text(request.form, "key", None))
    return render("accounts/_key_preview.html", preview=preview)


def _period(args, now: int) -> tuple[int, int, dict]:
    """A statement period from ?start=YYYY-MM-DD&end=YYYY-MM-DD (end inclusive); default: the last 30 days.

    ``now`` is the server's time as the account view projected it (Figures.at), not the laptop's clock. Errors are
    said per field; the end is compared with the start only when both are dates.
    """
    errors = {}

    def day(name: str, default: int) -> int:
        raw = (args.get(name) or "").strip()
        if not raw:
            return default
        for form in ("%Y-%m-%d", "%d/%m/%Y"):  # ISO (links, CSV) or as typed in the app's language
            try:
                return int(datetime.strptime(raw, form).replace(tzinfo=timezone.utc).timestamp())
            except ValueError:
                continue
        errors[name] = _("Use a date like %(example)s.", example=fmt_dayfield(1_806_364_800))  # 2027-03-31
        return default

    end_default = (now // 86_400 + 1) * 86_400
    start = day("start", end_default - 30 * 86_400)
    end = day("end", end_default - 86_400) + 86_400
    if end <= start:
        if not errors:
            errors["end"] = _("The end date must be on or after the start date.")
        end = start + 86_400
    return start, end, errors


def _typed_dates(args, errors: dict) -> dict:
    """The dates as typed, for a period refused (each field keeps its text beside its error, nothing is cut or
    replaced by a default)."""
    return {name: (args.get(name) or "").strip() for name in ("start", "end")} if errors else {}


@bp.get("/<account_id>/statement")
def statement(account_id: str):
    """R25: per PBX and item, the seconds charged, the rate and the amount over a period."""
    account = _account_or_404(account_id)
    watch_account(account)  # a reload or a stop (R24, R18) changes the statement's open lines at its second
    start, end, errors = _period(request.args, account.confirmed.at)
    view = None
    error = None
    services.pull_details(core.store().unit_of_work, core.clock(), account_id)  # issue 26: fetched when opened online
    try:
        if not errors:  # a period refused shows no statement of another one beneath its errors
            view = services.statement(core.uow(), account_id, start, end, core.clock())
    except services.NotFound:
        error = _("This account has not been synced yet: its statement comes from the server's ledger. Sync, then come back.")
    return render("accounts/statement.html", parts={"statement": "accounts/_statement.html"}, account=account,
                  view=view, error=error, errors=errors, typed=_typed_dates(request.args, errors), start=start,
                  end=end - 86_400)


@bp.get("/<account_id>/statement.csv")
def statement_csv(account_id: str):
    """The statement as CSV: the period, headers in the app's language, amounts in iSC (3 decimals, rounded down);
    in French ';' and decimal commas, as a French spreadsheet expects."""
    account = _account_or_404(account_id)
    start, end, _errors = _period(request.args, account.confirmed.at)
    try:
        view = services.statement(core.uow(), account_id, start, end, core.clock())
    except services.NotFound:
        abort(404)
    french = language() == "fr"
    response = make_response(write_csv(statement_rows(account.name, view, decimal="," if french else "."),
                                       delimiter=";" if french else ","))
    response.mimetype = "text/csv"
    stamp = datetime.fromtimestamp(start, tz=timezone.utc).strftime("%Y%m%d")
    response.headers["Content-Disposition"] = f'attachment; filename="statement-{stamp}-{account_id[:8]}.csv"'
    return response


def statement_rows(account_name: str, view: services.StatementView, decimal: str = ".") -> list[list[str]]:
    """The statement's rows as text cells (R25): title, period, one line per PBX, item and quantity, totals."""
    def amount(milli: int) -> str:
        return f"{milli // 1000}{decimal}{milli % 1000:03d}"

    day = 86_400
    rows = [[_("Statement"), account_name],
            [_("From"), fmt_isodate(view.start), _("To (included)"), fmt_isodate(view.end - day)],
            [],
            [_("PBX"), _("Reference"), _("Item"), _("Quantity"), _("Unit price per month (iSC)"), _("Seconds"),
             _("Amount (iSC)")]]
    for row in view.rows:
        rows.append([row.pbx_name, row.ref, row.item_name, str(row.qty), amount(row.unit_monthly_milli),
                     str(row.seconds), amount(row.milli)])
    for credit in view.credits:  # each key credited, by hand or by automatic reload (R24), naming its key
        rows.append([_("automatic reload") if credit.is_automatic else _("loaded by hand"), credit.key_id or "",
                     fmt_isodate(credit.at), "", "", "", amount(ticks_to_milli_floor(credit.ticks))])
    for key in view.held:  # R24: held, not yet credited
        rows.append([_("held for automatic reload"), key.key_id, fmt_isodate(key.deposited_at), "", "", "",
                     amount(key.amount_milli)])
    rows.append([_("Charged"), "", "", "", "", "", amount(ticks_to_milli_floor(view.charged_ticks))])
    rows.append([_("Credited"), "", "", "", "", "", amount(ticks_to_milli_floor(view.credited_ticks))])
    if view.forfeited_ticks:
        rows.append([_("Forfeited"), "", "", "", "", "", amount(ticks_to_milli_floor(view.forfeited_ticks))])
    if view.expired_ticks:
        rows.append([_("Expired"), "", "", "", "", "", amount(ticks_to_milli_floor(view.expired_ticks))])
    return rows


def write_csv(rows: list[list[str]], delimiter: str = ",") -> str:
    """Rows of text cells as CSV text: app/csvfile.py's one writer (=HYPERLINK(…) stays text, UTF-8 BOM)."""
    return csv_text(rows, delimiter)


@bp.route("/<account_id>/delete", methods=["GET", "POST"])
def delete(account_id: str):
    """Delete an account: the technician types the balance shown, consent to forfeit up to it (R13, DESIGN §5).

    A running account's balance falls every second: the amount shown and its time travel with the form, and the
    consent holds as long as the balance has not risen above it (credit loaded since).
    """
    account = _account_or_404(account_id)
    form = forms.Form()
    shown_milli, shown_at = _forfeit_shown(account)
    if request.method == "POST":
        typed = forms.text(request.form, "confirm_amount")
        form.values["confirm_amount"] = typed
        posted_milli, posted_at, damaged = _shown_consent(request.form)
        if posted_milli is not None:
            shown_milli, shown_at = posted_milli, posted_at
        milli = None
        try:
            milli = parse_isc(typed)
        except AmountError as error:
            form.error("confirm_amount", error.reason.message, "R13", error.reason.code, dict(error.reason.params))
        if damaged:  # the page's record of the amount it showed is not what it wrote: asked again, nothing queued
            form.error("confirm_amount", _("This form's record of the amount it showed is not readable: nothing was "
                                           "queued. Type the amount shown now."), "R13")
        if form.ok:
            if milli != shown_milli:
                form.error("confirm_amount", _("Type the amount shown, %(amount)s, exactly.",
                                               amount=fmt_milli(shown_milli, unit=False)), "R13")
            else:
                try:
                    services.delete_account(core.uow(), core.clock(), account_id, milli)
                except services.RuleViolation as error:
                    # R13 is the core's decision, said in its words (forfeit-consent, translated from its code)
                    problems_to_form(form, error, "confirm_amount", {"confirm_forfeit_milli": "confirm_amount"})
                    shown_milli, shown_at = _forfeit_shown(account)  # ask again for today's
                else:
                    flash(_("Deleting %(name)s is queued; it happens at the next sync.", name=account.name))
                    return redirect(url_for("accounts.show", account_id=account_id))
    return render("accounts/delete.html", account=account, form=form, shown_milli=shown_milli, shown_at=shown_at)


def _forfeit_shown(account: services.AccountView) -> tuple[int, int]:
    """The balance the deletion forfeits and its time (R13): with the changes queued on this laptop before it (a key
    loaded here is credited first, in the queue's order), as the core decides the deletion."""
    figures = account.pending or account.confirmed
    return ticks_to_milli_floor(figures.balance_ticks), figures.at


def _shown_consent(f) -> tuple[int | None, int | None, bool]:
    """The amount and time the delete page showed (hidden fields), and whether they are damaged: (None, None,
    False) when the form carries none (the amount shown now is asked); (None, None, True) when they are not whole
    numbers (untrusted: a clear error, nothing queued)."""
    raw_milli, raw_at = f.get("shown_milli"), f.get("shown_at")
    if raw_milli is None and raw_at is None:
        return None, None, False
    milli, at = forms.whole(raw_milli), forms.whole(raw_at)
    if milli is None or at is None:
        return None, None, True
    return milli, at, False
