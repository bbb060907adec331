"""Accounts: the searchable list, one account with its live credit meter, keys, statement, delete (R13, R16, R25)."""

from __future__ import annotations

import io
from datetime import datetime, timezone

from flask import Blueprint, abort, flash, make_response, redirect, request, url_for
from flask_babel import gettext as _

from rental.errors import AmountError
from rental.money import parse_isc, ticks_to_milli_floor

from .. import services, terms as terms_mod
from . import core, forms, redirect_to, render, security
from .auth import require_unlocked
from .chart import Series, render_burn_down
from .i18n import fmt_date, fmt_isc, fmt_milli, language

bp = Blueprint("accounts", __name__, url_prefix="/accounts")
bp.before_request(require_unlocked(lambda: None))


def _account_or_404(account_id: str) -> services.AccountView:
    try:
        return services.account_detail(core.uow(), core.clock(), account_id)
    except services.NotFound:
        abort(404)


def problems_to_form(form: forms.Form, error: services.Refused, default_field: str,
                     aliases: dict[str, str] | None = None) -> None:
    """Put each refused reason next to the field it concerns (or the form's main field)."""
    aliases = aliases or {}
    for problem in error.problems:
        name = aliases.get(problem.field, problem.field) or default_field
        form.error(name, problem.message, problem.rule, problem.code, dict(problem.params))


@bp.get("/")
def index():
    """The list, searchable as you type: htmx asks for the rows only."""
    query = forms.text(request.args, "q", 100)
    accounts = services.list_accounts(core.uow(), core.clock(), query, limit=services.LIST_PAGE)
    return render("accounts/index.html", "accounts/_list.html", accounts=accounts, query=query)


@bp.get("/<account_id>/history")
def history(account_id: str):
    """The account's history offline (R25): the account page loads the newest events; ?all=1 lists them all."""
    full = request.args.get("all") == "1"
    try:
        view = services.account_history(core.uow(), core.clock(), account_id, None if full else services.HISTORY_SHOWN)
    except services.NotFound:
        abort(404)
    return render("accounts/history.html", "accounts/_history.html", history=view, full=full)


@bp.route("/new", methods=["GET", "POST"])
def new():
    """Create a customer account (queued; the server learns it at the next sync)."""
    form = forms.Form(values={"language": "en", "cloud_contract": False})
    terms = terms_mod.held(core.uow())  # R26: the customer accepts the version held on this laptop
    if request.method == "POST":
        f = request.form
        form.values = {"name": forms.text(f, "name"), "contact_email": forms.text(f, "contact_email"),
                       "cloud_contract": f.get("cloud_contract") == "on", "language": f.get("language", "en")}
        acceptance = {"terms_version": forms.text(f, "terms_version", 64) or None,
                      "accepted_by": forms.text(f, "accepted_by", 200), "terms_accepted": f.get("terms_accepted") == "on"}
        try:
            queued = services.create_account(core.uow(), core.clock(), **form.values, **acceptance)
        except services.Refused as error:
            problems_to_form(form, error, "name")
        except ValueError as error:
            form.error("name", str(error))
        else:
            return redirect(url_for("accounts.show", account_id=queued.account_id))
        form.values.update(accepted_by=acceptance["accepted_by"], terms_accepted=acceptance["terms_accepted"])
    terms_html = terms_mod.render(terms.text(language())) if terms else None
    return render("accounts/form.html", form=form, account=None, terms=terms, terms_html=terms_html)


@bp.route("/<account_id>/edit", methods=["GET", "POST"])
def edit(account_id: str):
    """Edit name, contact, cloud contract (R7) and e-mail language."""
    account = _account_or_404(account_id)
    form = forms.Form(values={"name": account.name, "contact_email": account.contact_email,
                              "cloud_contract": account.cloud_contract, "language": account.language})
    if request.method == "POST":
        f = request.form
        wanted = {"name": forms.text(f, "name"), "contact_email": forms.text(f, "contact_email"),
                  "cloud_contract": f.get("cloud_contract") == "on", "language": f.get("language", "en")}
        changed = {k: v for k, v in wanted.items() if v != form.values[k]}
        form.values = wanted
        if not changed:
            return redirect(url_for("accounts.show", account_id=account_id))
        try:
            services.update_account(core.uow(), core.clock(), account_id, **changed)
        except services.Refused as error:
            problems_to_form(form, error, "name")
        except ValueError as error:
            form.error("name", str(error))
        else:
            return redirect(url_for("accounts.show", account_id=account_id))
    return render("accounts/form.html", form=form, account=account)


def _chart(account_id: str) -> str:
    """The burn-down SVG: balance until the end of credit, current and pending configuration."""
    burn = services.burn_down(core.uow(), core.clock(), account_id)
    series = [Series(_("current"), tuple(burn.confirmed), "current")]
    if burn.pending:
        series.append(Series(_("with pending changes"), tuple(burn.pending), "pending", dashed=True))
    return render_burn_down(series, format_amount=lambda t: fmt_isc(t, unit=False), format_time=fmt_date,
                            title=_("Balance over time until the credit runs out"),
                            empty_text=_("Nothing to draw yet"))


@bp.get("/<account_id>")
def show(account_id: str):
    """One account: meter, chart, PBXs, queued changes, actions."""
    account = _account_or_404(account_id)
    notice = services.pricelist_notice(core.uow(), account_id)
    return render("accounts/show.html", account=account, chart=_chart(account_id), notice=notice,
                  key_form=forms.Form())


@bp.get("/<account_id>/meter")
def meter(account_id: str):
    """The live credit meter: it replaces itself every second, computed from the projection for now."""
    return render("accounts/_meter.html", account=_account_or_404(account_id))


@bp.post("/<account_id>/key")
def load_key(account_id: str):
    """Queue an activation key (R11): verified offline now, confirmed by the server at the next sync."""
    account = _account_or_404(account_id)
    form = forms.Form(values={"key": forms.text(request.form, "key", 200)})
    queued = None
    try:
        queued = services.redeem_key(core.uow(), core.clock(), account_id, form.values["key"])
    except services.Refused as error:
        problems_to_form(form, error, "key")
    if queued:
        flash(_("Activation key queued: +%(amount)s, not yet confirmed. The server confirms it at the next sync.",
                amount=fmt_milli(_key_amount(account_id, queued.op_id))))
        # the whole page changes (meter, queued changes): load it again
        return redirect_to(url_for("accounts.show", account_id=account_id))
    return render("accounts/show.html", "accounts/_key_form.html", account=account, key_form=form,
                  chart=_chart(account_id), notice=services.pricelist_notice(core.uow(), account_id))


def _key_amount(account_id: str, op_id: str) -> int:
    """The amount of a queued key, as the service read it from the signed key."""
    for op in services.account_detail(core.uow(), core.clock(), account_id).ops:
        if op.op_id == op_id:
            return op.credit_milli
    return 0


def _period(args, now: int) -> tuple[int, int, dict]:
    """A statement period from ?start=YYYY-MM-DD&end=YYYY-MM-DD (end inclusive); default: the last 30 days.

    ``now`` is the server's time as the account view projected it (Figures.at), not the laptop's clock.
    """
    errors = {}

    def day(name: str, default: int) -> int:
        raw = (args.get(name) or "").strip()
        if not raw:
            return default
        try:
            return int(datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=timezone.utc).timestamp())
        except ValueError:
            errors[name] = _("Use a date like 2027-03-31.")
            return default

    end_default = (now // 86_400 + 1) * 86_400
    start = day("start", end_default - 30 * 86_400)
    end = day("end", end_default - 86_400) + 86_400
    if end <= start:
        errors["end"] = _("The end date must be on or after the start date.")
        end = start + 86_400
    return start, end, errors


@bp.get("/<account_id>/statement")
def statement(account_id: str):
    """R25: per PBX and item, the seconds charged, the rate and the amount over a period."""
    account = _account_or_404(account_id)
    start, end, errors = _period(request.args, account.confirmed.at)
    view = None
    error = None
    try:
        view = services.statement(core.uow(), account_id, start, end)
    except services.NotFound:
        error = _("This account has not been synced yet: its statement comes from the server's ledger. Sync, then come back.")
    return render("accounts/statement.html", account=account, view=view, error=error, errors=errors,
                  start=start, end=end - 86_400)


@bp.get("/<account_id>/statement.csv")
def statement_csv(account_id: str):
    """The statement as CSV (amounts in iSC with 3 decimals, rounded down; rates in ticks per second)."""
    account = _account_or_404(account_id)
    start, end, _errors = _period(request.args, account.confirmed.at)
    try:
        view = services.statement(core.uow(), account_id, start, end)
    except services.NotFound:
        abort(404)
    out = io.StringIO()
    writer = security.SpreadsheetSafeWriter(out)  # a name like =HYPERLINK(…) stays text (OWASP CSV injection)
    writer.writerow(["account", "pbx", "ref", "item", "seconds", "rates_ticks_per_s", "amount_isc", "amount_ticks"])
    for row in view.rows:
        writer.writerow([account.name, row.pbx_name, row.ref, row.item_name, row.seconds,
                         " ".join(str(r) for r in row.rates), _plain_isc(row.ticks), row.ticks])
    writer.writerow([account.name, "", "", "total charged", "", "", _plain_isc(view.charged_ticks), view.charged_ticks])
    writer.writerow([account.name, "", "", "total credited", "", "", _plain_isc(view.credited_ticks), view.credited_ticks])
    response = make_response(out.getvalue())
    response.mimetype = "text/csv"
    stamp = datetime.fromtimestamp(start, tz=timezone.utc).strftime("%Y%m%d")
    response.headers["Content-Disposition"] = f'attachment; filename="statement-{stamp}-{account_id[:8]}.csv"'
    return response


def _plain_isc(ticks: int) -> str:
    """Machine-readable iSC for CSV: dot decimal, no grouping, rounded down."""
    milli = ticks_to_milli_floor(ticks)
    return f"{milli // 1000}.{milli % 1000:03d}"


@bp.route("/<account_id>/delete", methods=["GET", "POST"])
def delete(account_id: str):
    """Delete an account: the technician types the balance that will be forfeited (R13)."""
    account = _account_or_404(account_id)
    form = forms.Form()
    if request.method == "POST":
        typed = forms.text(request.form, "confirm_amount", 40)
        form.values["confirm_amount"] = typed
        # the amount the page showed when it opened (DESIGN §5: consent to forfeit up to it, R13)
        posted = request.form.get("shown_milli", "")
        shown = int(posted) if posted.isascii() and posted.isdecimal() and len(posted) < 19 else \
            ticks_to_milli_floor(account.confirmed.balance_ticks)
        try:
            milli = parse_isc(typed)
        except AmountError as error:
            form.error("confirm_amount", error.reason.message, "R13", error.reason.code, dict(error.reason.params))
        else:
            if milli != shown:
                form.error("confirm_amount", _("Type the amount shown, %(amount)s: it is what deleting the account "
                                               "forfeits for good.", amount=fmt_milli(shown)), "R13")
        if form.ok:
            milli = shown
            try:
                services.delete_account(core.uow(), core.clock(), account_id, milli)
            except services.Refused as error:
                problems_to_form(form, error, "confirm_amount", {"confirm_forfeit_milli": "confirm_amount"})
            else:
                flash(_("Deleting %(name)s is queued; it happens at the next sync.", name=account.name))
                return redirect(url_for("accounts.show", account_id=account_id))
    shown_milli = ticks_to_milli_floor(account.confirmed.balance_ticks)
    return render("accounts/delete.html", account=account, form=form, shown_milli=shown_milli)
