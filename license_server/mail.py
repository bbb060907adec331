"""The reminder e-mails of R20, in the account's language (en, fr), sent over SMTP."""

from __future__ import annotations

import smtplib
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from rental.money import format_milli, format_ticks

_MONTHS = {
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"],
    "fr": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
           "novembre", "décembre"],
}

TEXTS = {
    "en": {
        "subject": "RentDesk: the credit of {name} runs out on {date}",
        "body": (
            "Hello,\n\n"
            "the iSC credit of the account \"{name}\" will be used up on {when} (UTC), {left}.\n\n"
            "Balance now: {balance}\n"
            "Consumption: {monthly} per month\n\n"
            "When the credit is used up, all rented licenses of the account are deactivated and the "
            "installations stop. Buy iSC from your partner and load the activation key in the RentDesk "
            "app before that date to keep them running.\n\n"
            "-- \nRentDesk license server (automatic message)\n"
        ),
        "days": "in {n} days",
        "day": "in 1 day",
        "at": "{d} {m} {y} at {hh:02d}:{mm:02d}",
        "date": "{d} {m} {y}",
    },
    "fr": {
        "subject": "RentDesk : le crédit de {name} sera épuisé le {date}",
        "body": (
            "Bonjour,\n\n"
            "le crédit iSC du compte « {name} » sera épuisé le {when} (UTC), {left}.\n\n"
            "Solde actuel : {balance}\n"
            "Consommation : {monthly} par mois\n\n"
            "Une fois le crédit épuisé, toutes les licences louées du compte sont désactivées et les "
            "installations s'arrêtent. Achetez des iSC auprès de votre partenaire et chargez la clé "
            "d'activation dans l'application RentDesk avant cette date pour qu'elles continuent de fonctionner.\n\n"
            "-- \nServeur de licences RentDesk (message automatique)\n"
        ),
        "days": "dans {n} jours",
        "day": "dans 1 jour",
        "at": "{d} {m} {y} à {hh:02d}:{mm:02d}",
        "date": "{d} {m} {y}",
    },
}


def _when(at: int, language: str, style: str) -> str:
    moment = datetime.fromtimestamp(at, timezone.utc)
    return TEXTS[language][style].format(d=moment.day, m=_MONTHS[language][moment.month - 1], y=moment.year,
                                         hh=moment.hour, mm=moment.minute)


def reminder(*, to: str, sender: str, name: str, language: str, now: int, depletes_at: int,
             balance_ticks: int, monthly_milli: int) -> EmailMessage:
    """The reminder that the credit of an account runs out at depletes_at (R20)."""
    language = language if language in TEXTS else "en"
    text = TEXTS[language]
    days = (depletes_at - now) // 86_400
    left = text["day"] if days <= 1 else text["days"].format(n=days)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = text["subject"].format(name=name, date=_when(depletes_at, language, "date"))
    message["Date"] = formatdate(now, usegmt=True)
    message["Message-ID"] = make_msgid(domain="rentdesk.invalid")
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text["body"].format(
        name=name, when=_when(depletes_at, language, "at"), left=left,
        balance=format_ticks(balance_ticks, language), monthly=format_milli(monthly_milli, language)))
    message["Content-Language"] = language  # after set_content, which drops Content-* headers
    return message


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
