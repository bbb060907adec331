"""Words the screens show for codes (statuses, platforms, op kinds, rules, reasons), in the UI's language.

A reason is (rule, code, params): its template comes from rental/reasons.py through the Babel catalog and
its values are shown the reader's way (amounts, times); nothing here reads meaning out of English words.
"""

from __future__ import annotations

from flask import Flask
from markupsafe import Markup, escape
from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l

from rental import rules
from rental.opkinds import kind_code
from rental.reasons import GOT_WORDS, VALUE_WORDS, change_text, render, template_of

from ..clock import DATE, NOTICE_OFFSET_S
from ..errors import from_stored
from .i18n import fmt_milli, fmt_moment, fmt_span, here

STATUS = {
    "active": _l("active"),
    "idle": _l("idle"),
    "suspended": _l("suspended"),
    "deleted": _l("deleted"),
    "pending": _l("not yet synced"),
    "rejected": _l("rejected"),
    "conflict": _l("conflict"),
    "applied": _l("applied"),
}
# the words of rental.reasons (the same the reasons' platform and mode params are worded with), translated
PLATFORM = {code: _l(word) for code, word in VALUE_WORDS["platform"].items()}
MODE = {code: _l(word) for code, word in VALUE_WORDS["mode"].items()}
#: One line per rule: what it is about, shown before the reason.
RULE_TITLE = {
    "R1": _l("firmware 13r1 or later"),
    "R2": _l("not rentable"),
    "R3": _l("maintenance is included"),
    "R6": _l("licenses must run continuously"),
    "R7": _l("platform"),
    "R8": _l("rented and purchased never mixed"),
    "R13": _l("deleting forfeits the iSC"),
    "R14": _l("not enough credit"),
    "R18": _l("stopped for lack of credit"),
    "R26": _l("rental terms"),
    "key-invalid": _l("activation key refused"),
    "key-used": _l("activation key already used"),
    "access": _l("no access"),
    "deleted": _l("account deleted"),
    "not-found": _l("not found"),
    "bad-op": _l("invalid value"),
    "op-reuse": _l("operation reused"),
    "conflict": _l("changed meanwhile"),
}

def reason_text(reason) -> str:
    """A reason (rule, code, params) in the UI's language, from its code's template in the catalog (never from
    its English words); the app's own problems without a code still go through translate_reason."""
    def part(name):
        return reason.get(name) if isinstance(reason, dict) else getattr(reason, name, None)

    code = part("code")
    template = template_of(code) if code else None
    if template is None:
        return translate_reason(part("message") or str(reason), part("rule"))
    params = dict(part("params") or {})
    if isinstance(params.get("detail"), str):  # another program's own words, quoted
        params["detail"] = params["detail"].rstrip(".")
    return render(code, params, gettext(template), translate=gettext, amount=fmt_milli, moment=fmt_moment,
                  words=_words, days=_days)


def crossings_text(at: int, said) -> str:
    """What a save found that differs from what its form showed while open (reasons "crossed-*": the credit ran
    out meanwhile, R18; another monthly consumption or end of credit, R16; a rule now refusing it...), in words."""
    intro = gettext("The figures you read were worked out for %(when)s, and have changed since.", when=fmt_moment(at))
    return " ".join([intro, *(reason_text(reason) for reason in said)])


def _days(count: int) -> str:
    """A number of days with the reader's plural forms ("1 jour", "3 jours"), never "day(s)" (issue 22)."""
    return ngettext("%(num)d day", "%(num)d days", count)


def _words(name: str, value: str) -> str:
    """A field's label or a type's name in the UI's language (both are catalog entries)."""
    if name == "got":
        return gettext(GOT_WORDS.get(value, value))
    return gettext(value)


def change_words(change) -> str:
    """One change {"field", "from", "to"} as "field old → new" in the UI's language (rental.reasons.change_text)."""
    return change_text(change, _words)


def reasons_text(reasons, message: str | None = None, rule: str | None = None) -> str:
    """Every problem of a refusal, each in the UI's language; the message when none is known as data."""
    if reasons:
        return " ".join(reason_text(reason) for reason in reasons)
    return translate_reason(message, rule)


def stored_reason_text(value) -> str:
    """A reason kept by the app (a Reason, or a stored text holding one) in the UI's language; plain words that
    older versions stored go through translate_reason."""
    if value is None or value == "":
        return ""
    if hasattr(value, "code"):
        return reason_text(value)
    reason = from_stored(str(value))
    return reason_text(reason) if reason is not None else translate_reason(str(value))


def translate_reason(message: str | None, rule: str | None = None) -> str:
    """Words that carry no code (a server's own words quoted in a reason, an exception's text): shown as
    written. Everything the app, the core and the server decide is a reason translated from its code."""
    return str(message) if message else ""


def clock_notice_lines(notice) -> list[str]:
    """What to tell the technician about the laptop's clock (issue 8), worded here from the notice's numbers.

    ``notice`` is a services.ClockNotice; its English ``message`` is not shown, so French reads as French.
    Only an offset learned from signed answers moves money (app/clock.py corrected()): the words say so.
    """
    if notice is None:
        return []
    lines = []
    offset = int(notice.offset_s or 0)
    if abs(offset) > NOTICE_OFFSET_S:
        span, when = fmt_span(offset), fmt_moment(notice.learned_at)
        if notice.source == DATE:
            lines.append(gettext(
                "This laptop's clock seems %(span)s behind the license server's (read at the last sync, %(when)s, "
                "from its Date header, which is not signed). It is not used for money: the figures follow the "
                "laptop's clock until a sync brings signed times. Set the laptop's clock.", span=span, when=when)
                if offset > 0 else gettext(
                "This laptop's clock seems %(span)s ahead of the license server's (read at the last sync, %(when)s, "
                "from its Date header, which is not signed). It is not used for money: the figures follow the "
                "laptop's clock until a sync brings signed times. Set the laptop's clock.", span=span, when=when))
        else:
            lines.append(gettext(
                "This laptop's clock is %(span)s behind the license server's (learned at the last sync, %(when)s, "
                "from its signed answers). Balances, end dates and the second a suspension starts are counted in "
                "the server's time, so they stay right; set the laptop's clock to avoid confusion.",
                span=span, when=when) if offset > 0 else gettext(
                "This laptop's clock is %(span)s ahead of the license server's (learned at the last sync, %(when)s, "
                "from its signed answers). Balances, end dates and the second a suspension starts are counted in "
                "the server's time, so they stay right; set the laptop's clock to avoid confusion.",
                span=span, when=when))
    if notice.went_back_s:
        lines.append(gettext(
            "This laptop's clock went back by %(span)s since it was last used. The figures stay at the latest time "
            "already shown (a charge is never undone); check the laptop's clock, then sync to learn the server's "
            "time again.", span=fmt_span(notice.went_back_s)))
    return lines


def status_label(code: str | None) -> str:
    words = here().words  # a list shows the same few statuses on every row: each translated once per request
    key = ("status", code)
    if key not in words:
        words[key] = str(STATUS.get(code or "", code or ""))
    return words[key]


#: a status badge's colour (the badge's class), by status
STATUS_CSS = {"active": "ok", "idle": "neutral", "suspended": "danger", "deleted": "neutral", "pending": "pending"}


def status_badge(code: str | None) -> Markup:
    """A status as a badge (macros.html's status_badge): called from Python, a list of 100 rows skips 100 macro calls."""
    return Markup(f'<span class="badge {STATUS_CSS.get(code, "neutral")}">{escape(status_label(code))}</span>')


def platform_label(code: str | None) -> str:
    return str(PLATFORM.get(code or "", code or ""))


def mode_label(code: str | None) -> str:
    return str(MODE.get(code or "", code or ""))


def kind_label(code: str | None) -> str:
    """An op kind's name on screens: the catalog line of its code (rental.opkinds.kind_code), translated."""
    if not code:
        return ""
    label = kind_code(code)
    return gettext(template_of(label)) if template_of(label) else code


def rule_title(rule: str | None) -> str:
    return str(RULE_TITLE.get(rule or "", ""))


def rule_head(rule: str | None) -> Markup:
    """What heads a reason's words on a screen: a rule of the guide by its number, its title beside it ("R14 (not
    enough credit) · "); any other rule by its title alone, in the UI's language ("Changed meanwhile · "). The token
    of a rule that is not the guide's ("conflict", "bad-op") is the clients' code, no word for a technician."""
    if not rule:
        return Markup("")
    title = rule_title(rule)
    if rule[:1] == "R" and rule[1:].isascii() and rule[1:].isdecimal():
        return Markup("<strong>{}</strong>{} · ").format(rule, Markup(" ({})").format(title) if title else "")
    return Markup("<strong>{}</strong> · ").format(title[:1].upper() + title[1:]) if title else Markup("")


def urgency(status: str | None, remaining_seconds: int | None, warn_s: int = 30 * 86_400) -> str:
    """ok / warn / danger: one decision with the customer's page (rental.rules.urgency)."""
    return rules.urgency(status, remaining_seconds, warn_s)


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(
        rule_message=translate_reason, reason=reason_text, stored_reason=stored_reason_text, reasons=reasons_text, change=change_words, clock_notice_lines=clock_notice_lines, status_label=status_label, platform_label=platform_label,
        mode_label=mode_label, kind_label=kind_label, rule_title=rule_title, rule_head=rule_head,
    )
    app.jinja_env.globals.update(urgency=urgency, PLATFORM=PLATFORM, MODE=MODE, status_badge_of=status_badge)

