"""Language choice and locale formats (Flask-Babel): Settings first, then the system, English last."""

from __future__ import annotations

import functools
import os
from datetime import datetime, timezone, tzinfo

from babel import dates as babel_dates
from babel import numbers as babel_numbers
from flask import Flask, current_app, g, has_app_context, request
from flask_babel import Babel, get_locale, get_translations, gettext, lazy_gettext, ngettext

from rental import validation
from rental.money import format_milli, format_ticks, monthly_milli_of_rate
from rental.units import LAST_DATED_SECOND, is_dated

LANGUAGES = ("en", "fr")
LANGUAGE_NAMES = {"en": "English", "fr": "Français"}


def system_language() -> str | None:
    """The OS locale (LANG, LC_ALL…) when it names one of our languages."""
    for var in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = os.environ.get(var, "")
        code = value.split(":")[0].split(".")[0].split("_")[0].lower()
        if code in LANGUAGES:
            return code
    return None


def select_locale() -> str:
    """Settings (or a forced language) win; else the browser's Accept-Language, which follows the system."""
    forced = current_app.config.get("LANGUAGE")
    if forced in LANGUAGES:
        return forced
    chosen = getattr(g, "language", None)
    if chosen in LANGUAGES:
        return chosen
    if request and request.accept_languages:
        best = request.accept_languages.best_match(LANGUAGES)
        if best:
            return best
    return system_language() or "en"


class _Request:
    """What every formatter of one request asks (its language, the laptop's zone, the catalog), worked out at the
    first ask: a list of 100 rows formats some 600 values. Flask-Babel keeps the locale for the whole request too."""

    __slots__ = ("locale", "language", "zone", "translations", "words")

    def __init__(self):
        self.locale = get_locale()
        self.language = str(self.locale or "en").split("_")[0]
        self.zone = _local_zone()
        self.translations = get_translations()
        self.words: dict = {}  # labels already translated in this request (labels.status_label)

    def gettext(self, text: str, **variables) -> str:
        """flask_babel.gettext, with this request's catalog."""
        found = self.translations.ugettext(text)
        return found % variables if variables else found

    def ngettext(self, singular: str, plural: str, num: int, **variables) -> str:
        """flask_babel.ngettext, with this request's catalog (num is a variable of the text, as there)."""
        variables.setdefault("num", num)
        return self.translations.ungettext(singular, plural, num) % variables


def here() -> _Request:
    """This request's formatting facts, made once per request (or afresh outside any request)."""
    try:
        kept = g._get_current_object()  # the app context's own namespace: plain attributes from here on
    except RuntimeError:  # no app context: nothing to keep them on
        return _Request()
    found = getattr(kept, "_rentdesk_i18n", None)
    # the very locale Flask-Babel holds for this request (force_locale swaps it for a block): else work it out again
    if found is None or found.locale is None or \
            getattr(getattr(kept, "_flask_babel", None), "babel_locale", None) is not found.locale:
        found = kept._rentdesk_i18n = _Request()
    return found


def language() -> str:
    """The language of the current request, as a two-letter code."""
    return here().language


def local_zone() -> tzinfo:
    """The laptop's time zone (a TIMEZONE setting wins, for tests and screenshots)."""
    return here().zone


def _local_zone() -> tzinfo:
    name = current_app.config.get("TIMEZONE") if has_app_context() else None
    if name:
        return babel_dates.get_timezone(name)
    return datetime.now(timezone.utc).astimezone().tzinfo or timezone.utc


def _dt(ts: int) -> datetime:
    return datetime.fromtimestamp(int(ts), tz=timezone.utc).astimezone(local_zone())


def _undated(ts: int, words: "_Request | None" = None) -> str | None:
    """The words for a second past the calendar's last day (an end of credit thousands of years ahead, R16), None
    for a second a calendar names: a screen says it rather than failing (rental.units.LAST_DATED_SECOND)."""
    if is_dated(int(ts)):
        return None
    return (words or here()).gettext("a day in the year 9999 or later")


def fmt_isc(ticks: int | None, unit: bool = True) -> str:
    """Ticks as iSC, 3 decimals rounded down, in the locale's style (1 234,567 iSC)."""
    if ticks is None:
        return "—"
    return format_ticks(ticks, language(), unit=unit)


def fmt_milli(milli: int | None, unit: bool = True) -> str:
    """Milli-iSC as iSC in the locale's style."""
    if milli is None:
        return "—"
    return format_milli(milli, language(), unit=unit)


def fmt_datetime(ts: int | None, fmt: str = "medium") -> str:
    """A moment in the laptop's zone, the locale's way ("12 mars 2027, 14:05")."""
    if ts is None:
        return "—"
    return _undated(ts) or babel_dates.format_datetime(_dt(ts), format=fmt, locale=language())


def fmt_moment(ts: int | None) -> str:
    """A day and a minute, the locale's way ("May 12, 2026 4:42 AM" / "12 mai 2026 04:42")."""
    if ts is None:
        return "—"
    if not is_dated(int(ts)):
        return _undated(ts)
    moment = _dt(ts)
    return (babel_dates.format_date(moment.date(), format="medium", locale=language()) + " "
            + babel_dates.format_time(moment, format="short", locale=language()))


def fmt_time(ts: int | None) -> str:
    """A time of day to the minute, the locale's way ("4:42 AM" / "04:42")."""
    if ts is None:
        return "—"
    return _undated(ts) or babel_dates.format_time(_dt(ts), format="short", locale=language())


def fmt_date(ts: int | None, fmt: str = "medium") -> str:
    """A day, the locale's way."""
    if ts is None:
        return "—"
    return day_words(int(ts), here(), fmt)


def day_words(ts: int, words: "_Request", fmt: str = "medium") -> str:
    """The day of a second in the reader's zone and language, or the words for a day past the calendar's last."""
    return _undated(ts, words) or format_day(ts, words.zone, fmt, words.language)


def same_local_day(a: int, b: int) -> bool:
    """Whether two seconds fall on one day of the laptop's zone: a screen that shows a day (an end of credit) still
    says the truth of either."""
    return _dt(min(a, LAST_DATED_SECOND)).date() == _dt(min(b, LAST_DATED_SECOND)).date()  # past it: one words


@functools.lru_cache(maxsize=4096)
def format_day(ts: int, zone: tzinfo, fmt: str, lang: str) -> str:
    """Babel's words for the day of a second in a zone (a pure function of its arguments: an end of credit stays
    the same second until the configuration changes, and a list shows a hundred of them at every keystroke)."""
    day = datetime.fromtimestamp(ts, tz=timezone.utc).astimezone(zone).date()
    return babel_dates.format_date(day, format=fmt, locale=lang)


def fmt_number(n: int | None) -> str:
    """A count or quantity with the locale's digit grouping."""
    if n is None:
        return "—"
    return babel_numbers.format_decimal(n, locale=language())


def fmt_duration(seconds: int | None, words: _Request | None = None) -> str:
    """A remaining runtime in days and hours (or minutes and seconds near the end) (R16); words: here(), when the
    caller holds it already (a list's rows)."""
    words = words or here()
    if seconds is None:
        return words.gettext("no end (nothing running)")
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days >= 1:
        parts = [words.ngettext("%(num)d day", "%(num)d days", days)]
        if hours and days < 100:
            parts.append(words.ngettext("%(num)d hour", "%(num)d hours", hours))
        return " ".join(parts)
    if hours:
        return words.ngettext("%(num)d hour", "%(num)d hours", hours) + " " + words.gettext("%(num)d min", num=minutes)
    return words.gettext("%(m)d min %(s)d s", m=minutes, s=secs)


def fmt_runtime(figures, words: _Request | None = None) -> str:
    """The runtime of figures (anything with remaining_seconds and monthly_milli): a configuration with no
    credit to run on ends now; only no configuration at all has no end (R16, R18)."""
    words = words or here()
    if figures.remaining_seconds is None and figures.monthly_milli:
        return words.gettext("ends now: no credit")
    return fmt_duration(figures.remaining_seconds, words)


def fmt_ends(figures) -> str:
    """The day the credit ends, "now" when a configuration has no credit to run on, "—" when nothing runs."""
    if figures.ends_at:
        return fmt_date(figures.ends_at)
    return gettext("now") if figures.monthly_milli else "—"


def fmt_span(seconds: int | None) -> str:
    """A clock offset in words, to the minute ("1 day 2 hours", "3 minutes"), the locale's way."""
    if seconds is None:
        return "—"
    seconds = abs(int(seconds))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = rest // 60
    if days:
        parts = [ngettext("%(num)d day", "%(num)d days", days)]
        if hours:
            parts.append(ngettext("%(num)d hour", "%(num)d hours", hours))
    elif hours:
        parts = [ngettext("%(num)d hour", "%(num)d hours", hours)]
        if minutes:
            parts.append(ngettext("%(num)d minute", "%(num)d minutes", minutes))
    elif minutes:
        parts = [ngettext("%(num)d minute", "%(num)d minutes", minutes)]
    else:
        parts = [ngettext("%(num)d second", "%(num)d seconds", seconds)]
    return " ".join(parts)


def fmt_monthly_of_rate(rate: int | None) -> str:
    """A rate in ticks per second shown as iSC per month (R21)."""
    if rate is None:
        return "—"
    return fmt_milli(monthly_milli_of_rate(rate))


def fmt_isodate(ts: int | None) -> str:
    """YYYY-MM-DD for date inputs (UTC days, as the statement periods are)."""
    if ts is None:
        return ""
    return datetime.fromtimestamp(int(ts), tz=timezone.utc).strftime("%Y-%m-%d")


#: The price list's categories in words (the list itself gives codes such as "app-platform").
CATEGORIES = {
    "ports": lazy_gettext("Ports"), "uc": lazy_gettext("Unified communications"), "video": lazy_gettext("Video"),
    "conferencing": lazy_gettext("Conferencing"), "app-platform": lazy_gettext("App platform"),
    "reporting": lazy_gettext("Reporting"), "recording": lazy_gettext("Recording"),
    "contact-center": lazy_gettext("Contact center"), "fax": lazy_gettext("Fax"), "dect": lazy_gettext("DECT"),
    "voicemail": lazy_gettext("Voicemail"), "integration": lazy_gettext("Integration"),
    "hospitality": lazy_gettext("Hospitality"), "resilience": lazy_gettext("Resilience"),
    "maintenance": lazy_gettext("Maintenance"), "hardware": lazy_gettext("Hardware"),
    "third-party": lazy_gettext("Third party"), "device-rental": lazy_gettext("Device rental"),
}


def category_label(code: str) -> str:
    """A price-list category in the app's language; a category we do not know is shown as the list gives it."""
    label = CATEGORIES.get(code)
    return str(label) if label is not None else code


def fmt_dayfield(ts: int | None) -> str:
    """A day as typed in a date field of the app's language: 31/03/2027 in French, 2027-03-31 in English
    (a browser's own date input follows the system's locale, not the app's: mm/dd/yyyy on an English system)."""
    if ts is None:
        return ""
    day = datetime.fromtimestamp(int(ts), tz=timezone.utc)
    return day.strftime("%d/%m/%Y") if language() == "fr" else day.strftime("%Y-%m-%d")


def init_app(app: Flask) -> None:
    """Flask-Babel with our selector; the formatters as Jinja filters."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "en")
    Babel(app, locale_selector=select_locale)
    app.jinja_env.filters.update(
        isc=fmt_isc, milli=fmt_milli, datetime=fmt_datetime, moment=fmt_moment, time=fmt_time, date=fmt_date, number=fmt_number,
        duration=fmt_duration, runtime=fmt_runtime, ends=fmt_ends, span=fmt_span, monthly_of_rate=fmt_monthly_of_rate, isodate=fmt_isodate,
        dayfield=fmt_dayfield, category_label=category_label,
    )
    app.jinja_env.globals.update(language=language, LANGUAGES=LANGUAGES, LANGUAGE_NAMES=LANGUAGE_NAMES,
                                 NAME_MAX=validation.MAX_TEXT,  # the longest name the core takes, said in its field
                                 SERIAL_MAX=validation.MAX_SERIAL, HARDWARE_MODEL_MAX=validation.MAX_HARDWARE_MODEL)
