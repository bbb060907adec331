"""The customer's own page (R27, DESIGN §5 "Customer pages"): server-rendered HTML, no build step, no script.

`GET /customer/<token>` shows the account in its language, as of the server's now, computed by
`rental` like every answer; the customer may load an activation key (R11) and end the rent of a
PBX (R19), each applied as an op through the server's op path (license_server.batch, decided by
rental.ops) with the customer as its actor, so the history records it `by: "customer"`.
A wrong or renewed token is a plain 404 that names nothing; wrong tokens are throttled per address
(429); every form carries a CSRF token (400 without); nothing is loaded from anywhere else.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
import json
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time, get_timezone_name
from babel.numbers import format_decimal
from babel.support import NullTranslations
from flask import Blueprint, Response, current_app, request
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import and_, or_, select

from rental import billing, reload, rules
from rental import ops as decider
from rental.money import SECONDS_PER_DAY, TICKS_PER_MILLI, format_milli, format_ticks, shares_milli_floor
from rental.reasons import GOT_WORDS, VALUE_WORDS, Reason, render, template_of
from rental.units import is_dated

from . import history, links, mail, models, store
from .auth import Caller
from .context import ServerContext
from .db import reading
from .envelopes import account_payload
from .opschema import is_uuid

HERE = Path(__file__).resolve().parent
CATALOGS = mail.CATALOGS
DOMAIN = "customer"
LANGUAGES = ("en", "fr")
CSRF_MAX_AGE_S = 24 * 3600  # a form older than this asks for a reload (400)
HISTORY_SHOWN = 100
MAX_KEY_CHARS = 300

blueprint = Blueprint("customer", __name__, static_folder="static", static_url_path="/customer-assets")


# --------------------------------------------------------------------------- language and formats


def translations(language: str) -> NullTranslations:
    """The page's catalog in a language (English is the source); it holds rental.reasons' templates too."""
    return mail.translations(language, DOMAIN)


@lru_cache(maxsize=None)
def environment(language: str) -> Environment:
    """One Jinja environment per language (thread-safe: no per-request install of translations)."""
    env = Environment(loader=FileSystemLoader(str(HERE / "templates")), autoescape=select_autoescape(default=True),
                      extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
    env.install_gettext_translations(translations(language), newstyle=True)
    return env


class Words:
    """gettext and the locale's formats for one customer: amounts, moments in the server's customer zone."""

    def __init__(self, language: str, zone: str):
        self.language = language if language in LANGUAGES else "en"
        catalog = translations(self.language)
        self.gettext, self.ngettext = catalog.gettext, catalog.ngettext
        self.zone = ZoneInfo(zone)

    def _(self, text: str, **values: Any) -> str:
        found = self.gettext(text)
        return found % values if values else found

    def local(self, at: int) -> datetime:
        return datetime.fromtimestamp(at, timezone.utc).astimezone(self.zone)

    def isc(self, ticks: int | None) -> str:
        return "—" if ticks is None else format_ticks(ticks, self.language)

    def milli(self, milli: int | None) -> str:
        return "—" if milli is None else format_milli(milli, self.language)

    def number(self, n: int) -> str:
        return format_decimal(n, locale=self.language)

    def undated(self, at: int) -> str | None:
        """The words for a second past the calendar's last day (an end of credit thousands of years ahead, R16),
        None for a second a calendar names (rental.units.LAST_DATED_SECOND)."""
        return None if is_dated(at) else self._("a day in the year 9999 or later")

    def moment(self, at: int | None) -> str:
        """A day and a minute ("Dec 7, 2026, 4:31 AM")."""
        if at is None:
            return "—"
        if not is_dated(at):
            return self.undated(at)
        local = self.local(at)
        return format_date(local, "medium", locale=self.language) + " " + format_time(local, "short",
                                                                                     locale=self.language)

    def second(self, at: int) -> str:
        """A moment to the second, with the zone's name: when nothing is charged any more (R19)."""
        if not is_dated(at):
            return self.undated(at)
        local = self.local(at)
        return self._("%(date)s at %(time)s (%(zone)s)", date=format_date(local, "long", locale=self.language),
                      time=format_time(local, "HH:mm:ss", locale=self.language),
                      zone=get_timezone_name(local, "long", locale=self.language))

    def day(self, at: int | None) -> str:
        if at is None:
            return "—"
        return self.undated(at) or format_date(self.local(at), "long", locale=self.language)

    def duration(self, seconds: int | None) -> str:
        """The remaining runtime in days and hours (minutes near the end) (R16)."""
        if seconds is None:
            return self._("no end (nothing running)")
        seconds = max(0, seconds)
        days, rest = divmod(seconds, SECONDS_PER_DAY)
        hours, rest = divmod(rest, 3600)
        if days >= 1:
            text = self.ngettext("%(num)d day", "%(num)d days", days) % {"num": days}
            if hours and days < 100:
                text += " " + self.ngettext("%(num)d hour", "%(num)d hours", hours) % {"num": hours}
            return text
        if hours:
            return self.ngettext("%(num)d hour", "%(num)d hours", hours) % {"num": hours} + " " + \
                self._("%(num)d min", num=rest // 60)
        return self._("%(num)d min", num=rest // 60)

    def reason(self, reason: Reason | dict) -> str:
        """A reason (rule, code, params) in the customer's language, from its code's template (never its English)."""
        if isinstance(reason, dict):
            reason = Reason.from_dict(reason)
        template = template_of(reason.code)
        params = dict(reason.params)
        if isinstance(params.get("detail"), str):
            params["detail"] = params["detail"].rstrip(".")
        return render(reason.code, params, self.gettext(template) if template else None, translate=self.gettext,
                      amount=self.milli, moment=self.moment, words=self._word, days=self.days)

    def days(self, count: int) -> str:
        """A number of days in the customer's plural forms ("1 jour", "3 jours"), never "day(s)"."""
        return self.ngettext("%(num)d day", "%(num)d days", count) % {"num": count}

    def _word(self, name: str, value: str) -> str:
        if name == "got":
            return self.gettext(GOT_WORDS.get(value, value))
        return self.gettext(value)

    def platform(self, code: str) -> str:
        return self.gettext(VALUE_WORDS["platform"].get(code, code))


# --------------------------------------------------------------------------- answers


class Answer(Exception):
    """A finished answer from deep inside a view (404, 429, 400)."""

    def __init__(self, response: Response):
        super().__init__(response.status)
        self.response = response


@blueprint.errorhandler(Answer)
def _answer(exc: Answer):
    return exc.response


def server() -> ServerContext:
    return current_app.extensions["license_server"]


NOT_FOUND_PAGE = ('<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Not found</title>'
                  '<meta name="viewport" content="width=device-width, initial-scale=1"></head>\n'
                  '<body><h1>Not found</h1><p>There is no page at this address.</p></body></html>\n')


def _plain(status: int, text: str, retry_after: int | None = None) -> Response:
    response = Response(text, status=status, mimetype="text/html")
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _not_found() -> Answer:
    """The same plain page for every wrong link: unknown, forged, renewed or deleted (nothing of any account)."""
    return Answer(_plain(404, NOT_FOUND_PAGE))


@blueprint.after_request
def _headers(response: Response) -> Response:
    """No cache, no referrer (the link is the key), no framing, nothing from elsewhere, no indexing."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Content-Security-Policy"] = ("default-src 'none'; style-src 'self'; img-src 'self'; "
                                                   "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
    return response


def _resolve(token: str) -> tuple[ServerContext, store.AccountRecord]:
    """The account of a current link; a throttled address is answered 429 before the token is even looked at."""
    ctx = server()
    address, now = request.remote_addr or "?", ctx.now()
    wait = ctx.link_guesses.retry_after(address, now)
    if wait is not None:
        raise Answer(_plain(429, "<!doctype html>\n<title>Too many requests</title><p>Too many wrong addresses from "
                                 f"this network: wait {wait} seconds, then check the link.</p>\n", retry_after=wait))
    with reading(ctx.engine) as connection:
        record = links.find(ctx, connection, token)
    if record is None:
        ctx.link_guesses.failed(address, now)
        raise _not_found()
    return ctx, record


# --------------------------------------------------------------------------- CSRF


def csrf_token(ctx: ServerContext, record: store.AccountRecord, now: int) -> str:
    """A form token bound to the account's current link and its time (no session, no cookie needed)."""
    return f"{now}.{_csrf_mac(ctx, record, now)}"


def _csrf_mac(ctx: ServerContext, record: store.AccountRecord, issued: int) -> str:
    message = f"csrf\n{record.id}\n{record.row['customer_link_generation'] or 0}\n{issued}".encode()
    mac = hmac.new(ctx.link_secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def _check_csrf(ctx: ServerContext, record: store.AccountRecord, now: int) -> None:
    """400 for a form without a genuine, recent token (a request forged elsewhere, or a page left open a day)."""
    sent = request.form.get("csrf_token", "")
    issued, _, mac = sent.partition(".")
    good = issued.isascii() and issued.isdecimal() and len(issued) < 20 and hmac.compare_digest(
        mac.encode(), _csrf_mac(ctx, record, int(issued)).encode()) if issued else False
    if not good or not now - CSRF_MAX_AGE_S <= int(issued) <= now + 60:
        words = Words(record.row["language"], ctx.settings.MAIL_TIMEZONE)
        raise Answer(_plain(400, environment(words.language).get_template("customer/bad_form.html").render(
            words=words, lang=words.language, page_url=links.PATH + request.view_args["token"])))


# --------------------------------------------------------------------------- what the page shows


@dataclass
class Notice:
    kind: str  # ok, warn, danger
    lines: list[str] = field(default_factory=list)


@dataclass
class Period:
    start: int
    end: int  # exclusive: the day after the last day shown
    first: date
    last: date
    errors: dict[str, str] = field(default_factory=dict)


def _period(words: Words, now: int) -> Period:
    """The statement's period from ?start=YYYY-MM-DD&end=YYYY-MM-DD (days in the customer's zone, end included);
    the last 30 days by default."""
    today = words.local(now).date()
    errors: dict[str, str] = {}

    def day(name: str, default: date) -> date:
        raw = request.args.get(name)
        if not raw:
            return default
        try:
            found = date.fromisoformat(raw.strip()[:10])
        except ValueError:
            errors[name] = words._("Write the date as YYYY-MM-DD, e.g. %(example)s.", example=today.isoformat())
            return default
        if found == date.max:  # the period ends the day after its last day: there is none after 9999-12-31
            errors[name] = words._("Choose a day before %(day)s.", day=found.isoformat())
            return default
        return found

    first, last = day("start", today - timedelta(days=29)), day("end", today)
    if last < first:
        errors["end"] = words._("The end date must be on or after the start date.")
        last = first
    start = int(datetime.combine(first, time(), words.zone).timestamp())
    end = int(datetime.combine(last + timedelta(days=1), time(), words.zone).timestamp())
    return Period(start, end, first, last, errors)


def _entries(connection, record: store.AccountRecord, period: Period, open_entries) -> list[billing.Entry]:
    """The ledger lines that touch the period, plus the charge still open as of now (as the API's ledger)."""
    C = models.ledger.c
    rows = connection.execute(select(models.ledger).where(
        C.account_id == record.id,
        or_(and_(C.kind == billing.CHARGE, C.period_end > period.start, C.period_start < period.end),
            and_(C.at >= period.start, C.at < period.end))).order_by(C.id)).mappings().all()
    found = [billing.Entry(kind=row["kind"], at=row["at"], ticks=row["ticks"], pbx_id=row["pbx_id"], ref=row["ref"],
                           qty=row["qty"], start=row["period_start"], end=row["period_end"], seconds=row["seconds"],
                           rate=row["rate"], price_version=row["price_version"], key_id=row["key_id"],
                           auto=bool(row["auto"])) for row in rows]
    return found + list(open_entries)


@dataclass
class Statement:
    rows: list[dict]
    credits: list[dict]
    charged_milli: int
    credited_ticks: int
    expired_ticks: int


def statement(entries, period: Period, names: dict[str, str], items: dict[str, str]) -> Statement:
    """R25 for the period: per PBX, item and quantity the seconds charged, the rate and the amount; the amounts
    shown add up to the total shown (rounded down, split by largest remainder)."""
    rows, totals = billing.statement(entries, period.start, period.end, by_quantity=True)
    shown = shares_milli_floor([row.ticks for row in rows])
    out = [{"pbx": names.get(row.pbx_id, row.pbx_id), "ref": row.ref, "item": items.get(row.ref, row.ref),
            "qty": row.qty, "unit_monthly_milli": row.rates[0] // (12 * row.qty) if row.qty and row.rates else 0,
            "seconds": row.seconds, "milli": milli} for row, milli in zip(rows, shown)]
    credits = [{"at": e.at, "key_id": e.key_id, "ticks": e.ticks, "auto": e.auto}
               for e in sorted(entries, key=lambda e: e.at)
               if e.kind == billing.CREDIT and period.start <= e.at < period.end]
    return Statement(out, credits, sum(shown), totals[billing.CREDIT], totals[billing.EXPIRY])


def page_view(ctx: ServerContext, record: store.AccountRecord, now: int, words: Words, period: Period) -> dict:
    """Everything the page shows, computed as of the server's now with rental (like every answer)."""
    row = record.row
    with reading(ctx.engine) as connection:
        prices = ctx.current_prices(connection)
        pricelist = prices.pricelist if prices else None
        price_history = prices.history if prices else None  # R24: a reload re-rates at the list in force at its second
        payload = account_payload(record, now, ctx.policy, pricelist, price_history)
        state = record.state()
        open_entries: list[billing.Entry] = []
        if now > state.as_of:
            done, settled = reload.forward(state, record.deposits, row["auto_reload_days"] or 0, ctx.policy, now,
                                           price_history)
            open_entries = list(done.entries) + list(settled.entries)
        entries = _entries(connection, record, period, open_entries)
        events, _ = history.page(connection, record.id, HISTORY_SHOWN, None)
        removed = history.removed_pbx_names(connection, record.id)  # lines of a PBX removed since name it (R25)
        terms_text = None
        if row.get("terms_version"):
            body = connection.execute(select(models.terms.c.body).where(
                models.terms.c.version == row["terms_version"])).scalar()
            if body:
                texts = json.loads(body)
                terms_text = texts.get(words.language) or texts.get("en")
    events = history.with_unrecorded_stop(events, row, now)
    items = {ref: item.name for ref, item in (pricelist.items.items() if pricelist else ())}
    monthly = sum(lic["monthly_milli"] * lic["qty"] for pbx in payload["pbxs"] for lic in pbx["licenses"])
    status = payload["status"]
    ends_at = payload["ends_at"] if status == billing.ACTIVE else None
    remaining = None if ends_at is None else max(0, ends_at - now)
    pbxs = []
    for pbx in payload["pbxs"]:
        lines = [{"ref": lic["ref"], "item": items.get(lic["ref"], lic["ref"]), "qty": lic["qty"],
                  "monthly_milli": lic["monthly_milli"] * lic["qty"]} for lic in pbx["licenses"]]
        pbxs.append({**pbx, "lines": lines, "monthly_milli": sum(line["monthly_milli"] for line in lines)})
    names = {**removed, **{pbx["pbx_id"]: pbx["name"] for pbx in payload["pbxs"]}}
    shown_events = [{"at": e["at"], "text": words.reason(Reason("", e["code"], e["params"])), "by": e["by"],
                     "technician": e["technician"]} for e in events]
    return {
        "account": payload, "partner": row["partner"], "status": status, "now": now,
        "balance_ticks": payload["balance_ticks"], "monthly_milli": monthly,
        # the words beside the balance agree with it: "used up" and "kept until" only as it shows (issue 22)
        "has_credit": payload["balance_ticks"] >= TICKS_PER_MILLI,
        "daily_milli": decider.daily_milli(monthly), "ends_at": ends_at, "remaining": remaining,
        "urgency": rules.urgency(status, remaining, ctx.policy.min_credit_days * SECONDS_PER_DAY),
        "resume_needs_milli": payload["resume_needs_milli"], "retained_until": payload["retained_until"],
        "pbxs": pbxs, "statement": statement(entries, period, names, items), "period": period,
        "events": shown_events, "terms_text": terms_text, "deposits": payload["deposits"],
        "auto_reload_days": payload["auto_reload_days"],
    }


def _render(ctx: ServerContext, record: store.AccountRecord, token: str, *, notice: Notice | None = None,
            key_error: str | None = None, key_value: str = "", status: int = 200) -> Response:
    now = ctx.now()
    words = Words(record.row["language"], ctx.settings.MAIL_TIMEZONE)
    period = _period(words, now)
    view = page_view(ctx, record, now, words, period)
    html = environment(words.language).get_template("customer/page.html").render(
        words=words, lang=words.language, v=view, token=token, csrf=csrf_token(ctx, record, now),
        op_id=str(uuid.uuid4()), notice=notice, key_error=key_error, key_value=key_value,
        base=links.PATH + token)
    return Response(html, status=status, mimetype="text/html")


# --------------------------------------------------------------------------- the routes


@blueprint.get("/customer/<token>")
def page(token: str):
    """The account as of now, in its language (R27)."""
    ctx, record = _resolve(token)
    return _render(ctx, record, token)


@blueprint.get("/customer/<token>/statement.csv")
def statement_csv(token: str):
    """The statement of the chosen period as CSV (R25), in the customer's language (French: ';' and ',')."""
    ctx, record = _resolve(token)
    now = ctx.now()
    words = Words(record.row["language"], ctx.settings.MAIL_TIMEZONE)
    period = _period(words, now)
    view = page_view(ctx, record, now, words, period)
    french = words.language == "fr"
    text = write_csv(statement_rows(words, view, "," if french else "."), ";" if french else ",")
    response = Response(text, mimetype="text/csv")
    response.headers["Content-Disposition"] = (f'attachment; filename="statement-{period.first.isoformat()}-'
                                               f'{period.last.isoformat()}.csv"')
    return response


def statement_rows(words: Words, view: dict, decimal: str) -> list[list[str]]:
    _ = words._

    def amount(milli: int) -> str:
        return f"{milli // 1000}{decimal}{milli % 1000:03d}"

    period, st = view["period"], view["statement"]
    rows = [[_("Statement"), view["account"]["name"]],
            [_("From"), period.first.isoformat(), _("To (included)"), period.last.isoformat()], [],
            [_("PBX"), _("Reference"), _("Item"), _("Quantity"), _("Unit price per month (iSC)"), _("Seconds"),
             _("Amount (iSC)")]]
    for row in st.rows:
        rows.append([row["pbx"], row["ref"], row["item"], str(row["qty"]), amount(row["unit_monthly_milli"]),
                     str(row["seconds"]), amount(row["milli"])])
    for credit in st.credits:
        rows.append([_("automatic reload") if credit["auto"] else _("activation key loaded"), credit["key_id"] or "",
                     words.local(credit["at"]).date().isoformat(), "", "", "",
                     amount(credit["ticks"] // TICKS_PER_MILLI)])
    rows.append([_("Charged"), "", "", "", "", "", amount(st.charged_milli)])
    rows.append([_("Credited"), "", "", "", "", "", amount(st.credited_ticks // TICKS_PER_MILLI)])
    if st.expired_ticks:
        rows.append([_("Expired"), "", "", "", "", "", amount(st.expired_ticks // TICKS_PER_MILLI)])
    return rows


def write_csv(rows: list[list[str]], delimiter: str) -> str:
    """CSV text whose cells a spreadsheet never runs as formulas (a PBX named "=HYPERLINK(…)" stays text)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerows([["'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell for cell in row]
                      for row in rows])
    return out.getvalue()


def apply_as_customer(ctx: ServerContext, record: store.AccountRecord, op: dict[str, Any]) -> dict:
    """The seam to the server's op path: the op is applied like a technician's (license_server.batch, decided by
    rental.ops), with the account's customer as its actor; returns the op-result payload."""
    from .batch import apply_ops

    batch = apply_ops(ctx, Caller.customer(record.row["partner"]), [op], ctx.now())
    return ctx.keyring.verify_envelope(batch.outcomes[0].result, "op-result")


def _op_id() -> str:
    """The form's op id (made when the page was shown): a form sent twice is applied once."""
    sent = request.form.get("op_id", "")
    return sent.lower() if is_uuid(sent) else str(uuid.uuid4())


@blueprint.post("/customer/<token>/keys")
def load_key(token: str):
    """R11: load an activation key, with the same checks and words as the technician's (used, forged, too small
    to resume); a refused key re-renders the page (200) with the reason next to the field."""
    ctx, record = _resolve(token)
    _check_csrf(ctx, record, ctx.now())
    words = Words(record.row["language"], ctx.settings.MAIL_TIMEZONE)
    text = request.form.get("key", "")
    if not text.strip():
        return _render(ctx, record, token, key_error=words._("Type or paste the activation key (it starts with "
                                                              "ISC1-)."))
    if len(text) > MAX_KEY_CHARS:
        return _render(ctx, record, token, key_error=words._(
            "An activation key has at most %(max)d characters: check that only the key was pasted.",
            max=MAX_KEY_CHARS), key_value="")
    result = apply_as_customer(ctx, record, {"op_id": _op_id(), "kind": "redeem_key", "account_id": record.id,
                                             "key": text.strip()})
    record = _reload(ctx, record, token)
    if result["status"] != decider.APPLIED:  # the reason next to the field, and on top where a phone opens
        reasons = [words.reason(p) for p in result["problems"]]
        return _render(ctx, record, token, key_error=" ".join(reasons), key_value=text.strip(),
                       notice=Notice("danger", [words._("The key was not loaded:"), *reasons]))
    loaded = next((e for e in _key_events(ctx, record, result["op_id"])), None)
    lines = [words._("Activation key loaded: +%(amount)s.", amount=words.milli(loaded))] if loaded is not None \
        else [words._("Activation key loaded.")]
    lines += [words.reason(warning) for warning in result["warnings"]]
    return _render(ctx, record, token, notice=Notice("warn" if result["warnings"] else "ok", lines))


def _key_events(ctx: ServerContext, record: store.AccountRecord, op_id: str):
    """The amount the op's key brought, from the history it recorded (the op-result carries no amount)."""
    H = models.history.c
    with reading(ctx.engine) as connection:
        rows = connection.execute(select(H.params).where(H.account_id == record.id, H.op_id == op_id,
                                                         H.kind == "key-loaded")).scalars().all()
    return [json.loads(params).get("amount_milli") for params in rows]


def _reload(ctx: ServerContext, record: store.AccountRecord, token: str) -> store.AccountRecord:
    with reading(ctx.engine) as connection:
        found = links.find(ctx, connection, token)
    if found is None:
        raise _not_found()
    return found


def _pbx_of(record: store.AccountRecord, pbx_id: str) -> dict:
    pbx = record.pbxs.get(pbx_id)
    if pbx is None:
        raise _not_found()
    return pbx


@blueprint.get("/customer/<token>/pbxs/<pbx_id>/end")
def confirm_end(token: str, pbx_id: str):
    """R19: before ending a PBX's rent, say what goes and from which second nothing is charged."""
    ctx, record = _resolve(token)
    pbx = _pbx_of(record, pbx_id)
    now = ctx.now()
    words = Words(record.row["language"], ctx.settings.MAIL_TIMEZONE)
    with reading(ctx.engine) as connection:
        prices = ctx.current_prices(connection)
    items = {ref: item.name for ref, item in (prices.pricelist.items.items() if prices else ())}
    lines = [{"ref": line.ref, "item": items.get(line.ref, line.ref), "qty": line.qty,
              "monthly_milli": line.monthly_milli * line.qty} for line in record.lines if line.pbx_id == pbx_id]
    retention_days = ctx.policy.retention_s // SECONDS_PER_DAY
    html = environment(words.language).get_template("customer/confirm_end.html").render(
        words=words, lang=words.language, pbx=pbx, lines=lines, now=now, csrf=csrf_token(ctx, record, now),
        op_id=str(uuid.uuid4()), base=links.PATH + token, monthly=sum(line["monthly_milli"] for line in lines),
        retention_months=retention_days * 12 // 365, partner=record.row["partner"], account=record.row["name"])
    return Response(html, mimetype="text/html")


@blueprint.post("/customer/<token>/pbxs/<pbx_id>/end")
def end_rent(token: str, pbx_id: str):
    """R19: end the rent of a PBX (all its rented licenses removed, set_licenses {}): from that second nothing is
    charged for it; decided by rental.ops like a technician's change, recorded as the customer's."""
    ctx, record = _resolve(token)
    _check_csrf(ctx, record, ctx.now())
    pbx = _pbx_of(record, pbx_id)
    words = Words(record.row["language"], ctx.settings.MAIL_TIMEZONE)
    base = request.form.get("base_revision", "")
    base_revision = int(base) if base.isascii() and base.isdecimal() and len(base) < 10 else pbx["revision"]
    result = apply_as_customer(ctx, record, {"op_id": _op_id(), "kind": "set_licenses", "account_id": record.id,
                                             "pbx_id": pbx_id, "base_revision": base_revision, "items": {}})
    record = _reload(ctx, record, token)
    if result["status"] == decider.APPLIED:
        notice = Notice("ok", [words._("The rent of %(pbx)s has ended: its rented licenses were removed, and nothing "
                                       "is charged for it from %(when)s.", pbx=pbx["name"],
                                       when=words.second(result["server_time"]))])
    elif result["status"] == decider.CONFLICT:
        notice = Notice("warn", [words._("%(pbx)s was changed by your partner in the meantime: nothing was ended. "
                                         "Look at it again below, then end its rent again if you still want to.",
                                         pbx=pbx["name"])])
    else:
        notice = Notice("danger", [words.reason(p) for p in result["problems"]])
    return _render(ctx, record, token, notice=notice)
