"""The mails to customers (R18 stopped and resumed, R19 retention warning, R20 reminders), sent over SMTP.

Customers never open RentDesk: their partner's technician does. So every mail names the partner
the customer buys iSC from and tells them to ask it, and carries the link to their own page (R27)
when the server has a PUBLIC_URL. Texts are gettext messages of the server's
own catalog domain `mails` (license_server/translations, `make translations`), English as the
source, French translated; times are in the account's language and the zone MAIL_TIMEZONE.
Each mail has a plain-text part and an HTML part made from the same paragraphs.
"""

from __future__ import annotations

import html
import smtplib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time, get_timezone_name
from babel.support import NullTranslations, Translations

from rental import validation
from rental.money import SECONDS_PER_DAY, format_milli, format_ticks
from rental.units import is_dated

CATALOGS = Path(__file__).resolve().parent / "translations"
DOMAIN = "mails"
LANGUAGES = ("en", "fr")


@lru_cache(maxsize=None)
def translations(language: str, domain: str = DOMAIN) -> NullTranslations:
    """The catalog of a language (English is the source: its msgids are the texts); the customer's page has its
    own domain (R27)."""
    if language == "en":
        return NullTranslations()
    return Translations.load(str(CATALOGS), [language], domain)


@dataclass(frozen=True)
class Customer:
    """Whom a mail goes to and what it names: the account, its partner, language and zone."""

    email: str
    account: str
    partner: str
    language: str = "en"
    zone: str = "Europe/Paris"
    link: str | None = None  # R27: the customer's own page (none without PUBLIC_URL)

    @property
    def lang(self) -> str:
        return self.language if self.language in LANGUAGES else "en"


@dataclass
class Letter:
    """A mail's words, before it becomes plain text and HTML: subject, paragraphs and lists of facts."""

    subject: str
    blocks: list = field(default_factory=list)  # a paragraph (str) or facts (list[str])


class _Words:
    """gettext and the locale's formats for one customer."""

    def __init__(self, customer: Customer):
        self.customer = customer
        self.locale = customer.lang
        catalog = translations(self.locale)
        self._ = catalog.gettext
        self.ngettext = catalog.ngettext
        self.zone = ZoneInfo(customer.zone)

    def _local(self, at: int) -> datetime:
        return datetime.fromtimestamp(at, timezone.utc).astimezone(self.zone)

    def undated(self, at: int) -> str | None:
        """The words for a second past the calendar's last day (an end of credit thousands of years ahead, R16),
        None for a second a calendar names (rental.units.LAST_DATED_SECOND)."""
        return None if is_dated(at) else self._("a day in the year 9999 or later")

    def date(self, at: int) -> str:
        return self.undated(at) or format_date(self._local(at), "long", locale=self.locale)

    def moment(self, at: int) -> str:
        if not is_dated(at):
            return self.undated(at)
        local = self._local(at)
        _ = self._
        return _("{date} at {time} ({zone})").format(
            date=format_date(local, "long", locale=self.locale), time=format_time(local, "HH:mm", locale=self.locale),
            zone=get_timezone_name(local, "long", locale=self.locale))

    def ticks(self, ticks: int) -> str:
        return format_ticks(ticks, self.locale)

    def milli(self, milli: int) -> str:
        return format_milli(milli, self.locale)

    def left(self, now: int, at: int) -> str:
        days = (at - now) // SECONDS_PER_DAY
        if days < 1:
            return self._("in less than a day")
        return self.ngettext("in {n} day", "in {n} days", days).format(n=days)

    def closing(self) -> list:
        _ = self._
        partner = self.customer.partner
        page = []
        if self.customer.link:  # R27: in every mail to the customer
            page = [_("Your own page shows the balance, the runtime, the statement and the history of the account; "
                      "there you can also load an activation key or end the rent of a telephone system: {link}").format(
                        link=self.customer.link),
                    _("This link is private: anyone who has it can see and change the rent of this account, so do not "
                      "share it. Your partner can send you a new one, which stops this one.")]
        return [*page, _("{partner} is your partner for iSC and for your telephone system: ask {partner}, who loads the "
                  "credit for you. This message is sent automatically; replies to it are not read.").format(
                    partner=partner),
                _("RentDesk license server (automatic message)")]


def reminder(customer: Customer, *, now: int, depletes_at: int, balance_ticks: int, monthly_milli: int) -> Letter:
    """R20: the credit runs out at depletes_at."""
    w = _Words(customer)
    _ = w._
    name, partner = customer.account, customer.partner
    return Letter(_("The iSC credit of {account} runs out on {date}").format(account=name, date=w.date(depletes_at)), [
        _("Hello,"),
        _("The iSC credit of the account \"{account}\" will be used up on {when}, {left}.").format(
            account=name, when=w.moment(depletes_at), left=w.left(now, depletes_at)),
        [_("Balance now: {balance}").format(balance=w.ticks(balance_ticks)),
         _("Consumption: {monthly} per month").format(monthly=w.milli(monthly_milli))],
        _("When the credit is used up, all rented licenses of the account are deactivated and the telephone system "
          "stops. To keep it running, buy iSC from {partner} before that date.").format(partner=partner),
        *w.closing()])


def stopped(customer: Customer, *, at: int, monthly_milli: int, resume_milli: int | None = None) -> Letter:
    """R18: the credit ran out at `at`; the installation stopped (and resume_milli more would restart it)."""
    w = _Words(customer)
    _ = w._
    name, partner = customer.account, customer.partner
    return Letter(_("{account}: the telephone system has stopped, the iSC credit is used up").format(account=name), [
        _("Hello,"),
        _("The iSC credit of the account \"{account}\" was used up on {when}. Since then all rented licenses of the "
          "account are deactivated and the telephone system has stopped.").format(account=name, when=w.moment(at)),
        [_("Consumption of the configuration: {monthly} per month").format(monthly=w.milli(monthly_milli))],
        _("Nothing is lost: the configuration is kept and starts again as soon as iSC are loaded (at least "
          "{amount}). Ask {partner} for iSC.").format(amount=w.milli(resume_milli), partner=partner) if resume_milli else
        _("Nothing is lost: the configuration is kept and starts again as soon as enough iSC are loaded. "
          "Ask {partner} for iSC.").format(partner=partner),
        *w.closing()])


def resumed(customer: Customer, *, at: int, depletes_at: int | None, balance_ticks: int, monthly_milli: int) -> Letter:
    """R18: the installation runs again since `at`."""
    w = _Words(customer)
    _ = w._
    name = customer.account
    facts = [_("Balance now: {balance}").format(balance=w.ticks(balance_ticks)),
             _("Consumption: {monthly} per month").format(monthly=w.milli(monthly_milli))]
    if depletes_at is not None:
        facts.append(_("The credit lasts until {when}").format(when=w.moment(depletes_at)))
    return Letter(_("{account}: the telephone system runs again").format(account=name), [
        _("Hello,"),
        _("The rented licenses of the account \"{account}\" have been active again since {when}: the "
          "telephone system runs.").format(account=name, when=w.moment(at)),
        facts,
        _("You will be reminded by mail before the credit runs out."),
        *w.closing()])


def reloaded(customer: Customer, *, at: int, amount_milli: int, keys: int, held: int, ends_at: int | None) -> Letter:
    """R24: keys held for the account were redeemed automatically at `at`."""
    w = _Words(customer)
    _ = w._
    name = customer.account
    facts = [_("Reloaded: {amount}").format(amount=w.milli(amount_milli)),
             _("Keys still held for automatic reload: {n}").format(n=held)]
    if ends_at is not None:
        facts.append(_("The credit now lasts until {when}").format(when=w.moment(ends_at)))
    return Letter(_("{account}: {amount} reloaded automatically").format(account=name, amount=w.milli(amount_milli)), [
        _("Hello,"),
        w.ngettext("On {when}, {n} activation key held for the account \"{account}\" was redeemed automatically, as "
                   "agreed with your partner: the telephone system keeps running.",
                   "On {when}, {n} activation keys held for the account \"{account}\" were redeemed automatically, "
                   "as agreed with your partner: the telephone system keeps running.", keys).format(
            when=w.moment(at), n=keys, account=name),
        facts,
        *w.closing()])


def last_key(customer: Customer, *, at: int, ends_at: int | None, days: int) -> Letter:
    """R24: the last key held for the account was redeemed at `at`: nothing more will be reloaded."""
    w = _Words(customer)
    _ = w._
    name, partner = customer.account, customer.partner
    blocks: list = [
        _("Hello,"),
        _("On {when}, automatic reload redeemed the last activation key held for the account \"{account}\". No "
          "key is held any more: the credit will not be reloaded again.").format(when=w.moment(at), account=name)]
    if ends_at is not None:
        blocks.append([_("The credit lasts until {when}").format(when=w.moment(ends_at))])
    blocks += [_("To keep the telephone system running without a break, ask {partner} to deposit new keys for "
                 "automatic reload.").format(partner=partner), *w.closing()]
    return Letter(_("{account}: the last key held for automatic reload was used").format(account=name), blocks)


def retention(customer: Customer, *, expires_at: int, balance_ticks: int, since: int) -> Letter:
    """R19: the credit left on an account that rents nothing expires at expires_at."""
    w = _Words(customer)
    _ = w._
    name, partner, amount = customer.account, customer.partner, w.ticks(balance_ticks)
    return Letter(_("{account}: {amount} of unused credit expire on {date}").format(
        account=name, amount=amount, date=w.date(expires_at)), [
        _("Hello,"),
        _("The account \"{account}\" holds {amount} but has rented nothing since {since}. Unused credit is kept for a "
          "limited time after the last charge: these iSC expire on {when}, and are lost then.").format(
            account=name, amount=amount, since=w.date(since), when=w.moment(expires_at)),
        _("To keep them, rent licenses again on this account, or load iSC on it, before that date: ask "
          "{partner}.").format(partner=partner),
        *w.closing()])


def new_link(customer: Customer) -> Letter:
    """R27: the technician made a new link to the customer's page (the previous one no longer works)."""
    w = _Words(customer)
    _ = w._
    name = customer.account
    return Letter(_("{account}: your new link to your own page").format(account=name), [
        _("Hello,"),
        _("Here is the new link to the page of the account \"{account}\". The previous link no longer works.").format(
            account=name),
        *w.closing()])


def message(letter: Letter, customer: Customer, *, sender: str, now: int) -> EmailMessage:
    """The letter as a mail: plain text, and the same words as HTML."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = validation.ascii_address(customer.email)  # an accented domain travels as IDNA (SMTP)
    # one line whatever a name stored by an older version holds (U+2028, NEL): a header refuses line breaks
    mail["Subject"] = " ".join(letter.subject.splitlines())
    mail["Date"] = formatdate(now, usegmt=True)
    mail["Message-ID"] = make_msgid(domain="rentdesk.invalid")
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(plain_text(letter))
    mail.add_alternative(html_text(letter, customer.lang), subtype="html")
    mail["Content-Language"] = customer.lang  # after set_content, which drops Content-* headers
    return mail


def plain_text(letter: Letter) -> str:
    parts = []
    for index, block in enumerate(letter.blocks):
        if isinstance(block, list):
            parts.append("\n".join(block))
        elif index == len(letter.blocks) - 1:
            parts.append("-- \n" + block)  # the signature
        else:
            parts.append(block)
    return "\n\n".join(parts) + "\n"


def html_text(letter: Letter, language: str) -> str:
    body = []
    for index, block in enumerate(letter.blocks):
        if isinstance(block, list):
            body.append("<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in block) + "</ul>")
        elif index == len(letter.blocks) - 1:
            body.append(f'<p style="color:#666">{html.escape(block)}</p>')
        else:
            body.append(f"<p>{html.escape(block)}</p>")
    return (f'<!doctype html>\n<html lang="{language}"><head><meta charset="utf-8"><title>{html.escape(letter.subject)}'
            '</title></head>\n<body style="font-family:sans-serif;line-height:1.4">\n' + "\n".join(body)
            + "\n</body></html>\n")


class Mailer:
    """One SMTP connection, opened at the first message and closed at the end of a sweep."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self._smtp: smtplib.SMTP | None = None

    def send(self, message: EmailMessage) -> None:
        if self._smtp is None:
            self._smtp = smtplib.SMTP(self.host, self.port, timeout=30)
        self._smtp.send_message(message)

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except smtplib.SMTPException:  # pragma: no cover - the server hung up first
                self._smtp.close()
            self._smtp = None
