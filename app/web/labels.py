"""Words the screens show for codes (statuses, platforms, op kinds, rules), in the UI's language.

The core and the server write their reasons in English; for the French UI the known
reasons are translated here by pattern, keeping their figures (amounts, refs, versions).
"""

from __future__ import annotations

import re

from flask import Flask

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from rental.money import parse_isc
from rental.reasons import GOT_WORDS, render, template_of
from rental.errors import AmountError

from ..clock import DATE, NOTICE_OFFSET_S
from .i18n import fmt_milli, fmt_moment, fmt_number, fmt_span, language

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
PLATFORM = {
    "vmware": _l("VMware"),
    "hyper-v": _l("Hyper-V"),
    "hardware": _l("Vendor hardware"),
    "cloud": _l("Cloud"),
}
MODE = {"rental": _l("rental"), "purchased": _l("purchased")}
KIND = {
    "create_account": _l("Create account"),
    "update_account": _l("Edit account"),
    "register_pbx": _l("Add PBX"),
    "update_pbx": _l("Edit PBX"),
    "set_licenses": _l("Set licenses"),
    "remove_pbx": _l("Remove PBX"),
    "redeem_key": _l("Load activation key"),
    "delete_account": _l("Delete account"),
}
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
    "R18": _l("credit used up"),
    "R26": _l("rental terms"),
    "key-invalid": _l("activation key refused"),
    "key-used": _l("activation key already used"),
    "access": _l("no access"),
    "deleted": _l("account deleted"),
    "not-found": _l("not found"),
    "bad-op": _l("invalid value"),
    "op-reuse": _l("operation reused"),
}

# (pattern of the English reason, French text with the same groups) — the core's and the server's messages.
_FRENCH = [
    (r"The account holds (.*) now, more than the (.*) confirmed \(credit was loaded since\): .*",
     "Le compte contient {0:amount} à présent, plus que les {1:amount} confirmés (du crédit a été chargé depuis) : tapez le nouveau montant pour confirmer ; supprimer le compte fait perdre ses iSC pour de bon."),
    (r"No license server or token set: enter them in Settings to sync\.",
     "Aucun serveur de licences ni jeton : saisissez-les dans les Réglages pour synchroniser."),
    (r"Price list (\S+) is newer than (\S+), the one this account runs at\..*",
     "La liste de prix {0} est plus récente que {1}, celle qu'utilise ce compte. Ses prix s'appliquent à la prochaine connexion du compte (un changement de licences, un nouveau PBX ou un chargement d'iSC) ; d'ici là, les anciens prix restent valables (R23)."),
    # -------------------------------------------------------------------- the app's own checks (app/checks.py, services)
    (r"Nothing to change: edit at least one field\.",
     "Rien à changer : modifiez au moins un champ."),
    (r"This change is still queued: it has no server answer to resolve yet\.",
     "Ce changement est encore en attente : il n'a pas encore de réponse du serveur à trancher."),
    (r"No price list on this laptop yet: sync once while online, then set licenses\.",
     "Aucune liste de prix sur cet ordinateur : synchronisez une fois en ligne, puis choisissez les licences."),
    # -------------------------------------------------------------------- why a sync did not complete (app/sync.py)
    (r"The license server did not answer in time: the changes stay queued and are sent again later \(each is applied once\)\.",
     "Le serveur de licences n'a pas répondu à temps : les changements restent en attente et seront renvoyés plus tard (chacun n'est appliqué qu'une fois)."),
    (r"The license server signs its answers with key '(.*)', which this RentDesk does not trust: ask your vendor for (.*)\.pub and put it in RentDesk's folder of trusted keys, then start RentDesk again\. Nothing of this answer was believed\.",
     "Le serveur de licences signe ses réponses avec la clé « {0} », à laquelle ce RentDesk ne se fie pas : demandez {1}.pub à votre fournisseur, placez-le dans le dossier des clés de confiance de RentDesk, puis relancez RentDesk. Rien de cette réponse n'a été cru."),
    (r"The license server cannot be reached \(no connection, or the address in Settings is wrong\): working offline; the changes stay queued\.",
     "Le serveur de licences est injoignable (pas de connexion, ou l'adresse dans les Réglages est fausse) : travail hors ligne ; les changements restent en attente."),
    (r"The license server answered (\d+) with something that is not JSON: the changes stay queued\.",
     "Le serveur de licences a répondu {0} avec autre chose que du JSON : les changements restent en attente."),
    (r"The license server's answer is not a JSON object: refused\.",
     "La réponse du serveur de licences n'est pas un objet JSON : elle est refusée."),
    (r"The license server said (\S+) \((\d+)\): (.*?) ?Check the technician token in Settings\.",
     "Le serveur de licences a répondu {0} ({1}) : {2:reason} Vérifiez le jeton de technicien dans les Réglages."),
    (r"The license server said (\S+) \((\d+)\): (.*)",
     "Le serveur de licences a répondu {0} ({1}) : {2:reason}"),
    (r"The server's answer was refused, nothing of it was believed: (.*)\.",
     "La réponse du serveur a été refusée, rien n'en a été retenu : {0:reason}."),
    (r"Sync failed unexpectedly: (.*)",
     "La synchronisation a échoué de façon inattendue : {0}"),
    # -------------------------------------------------------------------- answers the app refused (app/replica.py) and price lists (rental/pricing.py)
    (r"Price list refused: (.*)",
     "Liste de prix refusée : {0:reason}"),
    (r"Price list (\S+) refused: it is older than (\S+), held here\.",
     "Liste de prix {0} refusée : elle est plus ancienne que {1}, conservée ici."),
    (r"A price list must be a JSON object with 'version' and 'items'\.",
     "Une liste de prix doit être un objet JSON avec « version » et « items »."),
    (r"The price list needs a 'version': a non-empty text of at most 64 characters\.",
     "La liste de prix doit avoir une « version » : un texte non vide de 64 caractères au plus."),
    (r"'published_at' must be whole UTC seconds \(an integer ≥ 0\)\.",
     "« published_at » doit être en secondes UTC entières (un entier ≥ 0)."),
    (r"The price list needs 'items': a non-empty list of items\.",
     "La liste de prix doit avoir des « items » : une liste d'articles non vide."),
    (r"Item #(\d+) \((.*)\) appears twice: each reference once\.",
     "L'article n° {0} ({1}) apparaît deux fois : chaque référence une seule fois."),
    (r"Item #(\d+)(.*?) must be an object with ref, name, category, monthly_milli\.",
     "L'article n° {0}{1} doit être un objet avec ref, name, category, monthly_milli."),
    (r"Item #(\d+)(.*?) has no valid 'ref' \(letters, digits, '-', '\.', up to 40 characters\)\.",
     "L'article n° {0}{1} n'a pas de « ref » valide (lettres, chiffres, « - », « . », 40 caractères au plus)."),
    (r"Item #(\d+)(.*?) needs a '(name|category)'\.",
     "L'article n° {0}{1} doit avoir un « {2} »."),
    (r"Item #(\d+)(.*?): 'monthly_milli' is a float; prices are whole milli-iSC \(e\.g\. 1234 for 1\.234 iSC\)\.",
     "L'article n° {0}{1} : « monthly_milli » est un nombre décimal ; les prix sont en milli-iSC entiers (par ex. 1234 pour 1,234 iSC)."),
    (r"Item #(\d+)(.*?): 'monthly_milli' must be a whole number of milli-iSC ≥ 0\.",
     "L'article n° {0}{1} : « monthly_milli » doit être un nombre entier de milli-iSC ≥ 0."),
    (r"Item #(\d+)(.*?): 'rentable' must be true or false\.",
     "L'article n° {0}{1} : « rentable » doit valoir vrai ou faux."),
    (r"Item #(\d+)(.*?): 'note' must be text\.",
     "L'article n° {0}{1} : « note » doit être du texte."),
]
_FRENCH_COMPILED = [(re.compile(p, re.DOTALL), t) for p, t in _FRENCH]
_FIELD = re.compile(r"\{(\d+)(?::(\w+))?\}")

#: The words app/checks.py names form fields with (rental/validation.py messages start with them).
FIELD_LABELS_FR = {
    "The customer name": "Le nom du client", "The PBX name": "Le nom du PBX", "The name": "Le nom",
    "The contact e-mail": "L'adresse e-mail de contact", "The cloud contract": "Le contrat cloud",
    "The language": "La langue", "The serial number": "Le numéro de série",
    "The hardware model": "Le modèle de matériel", "The firmware": "Le firmware",
}
#: rental.validation.type_name's words.
TYPE_NAMES_FR = {"an object": "un objet", "a list": "une liste", "text": "du texte", "true/false": "vrai/faux",
                 "a number": "un nombre", "a decimal number": "un nombre décimal", "null": "null"}


def _amount_in_french(text: str) -> str:
    """An amount the core formatted in English, re-formatted the French way."""
    try:
        return fmt_milli(parse_isc(text))
    except (AmountError, TypeError):
        return text


def _whole_in_french(text: str) -> str:
    """A whole number the core grouped with commas ("1,000,000"), grouped the French way."""
    digits = text.replace(",", "")
    return fmt_number(int(digits)) if digits.isascii() and digits.isdecimal() else text


_CONVERT = {
    None: lambda text: text,
    "amount": _amount_in_french,
    "int": _whole_in_french,
    "label": lambda text: FIELD_LABELS_FR.get(text, text),
    "type": lambda text: TYPE_NAMES_FR.get(text, text),
    "reason": lambda text: _french(text) or text,  # a reason quoted inside another one
}


def _french(message: str) -> str | None:
    """The French of an English reason, or None when no pattern knows it."""
    for pattern, template in _FRENCH_COMPILED:
        match = pattern.fullmatch(message)
        if match:
            groups = match.groups()
            return _FIELD.sub(lambda m: _CONVERT[m.group(2)](groups[int(m.group(1))] or ""), template)
    return None


def french_pattern_of(message: str) -> str | None:
    """The pattern that translates message (tests use it to catch an English text changed under the UI)."""
    for pattern, _template in _FRENCH_COMPILED:
        if pattern.fullmatch(message.strip()):
            return pattern.pattern
    return None


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
    if isinstance(params.get("detail"), str):  # a field or key check's own words (not yet reasons as data)
        params["detail"] = translate_reason(params["detail"]).rstrip(".")
    return render(code, params, gettext(template), amount=fmt_milli, moment=fmt_moment, words=_words)


def _words(name: str, value: str) -> str:
    """A field's label or a type's name in the UI's language (both are catalog entries)."""
    if name == "got":
        return gettext(GOT_WORDS.get(value, value))
    return gettext(value)


def reasons_text(reasons, message: str | None = None, rule: str | None = None) -> str:
    """Every problem of a refusal, each in the UI's language; the message when none is known as data."""
    if reasons:
        return " ".join(reason_text(reason) for reason in reasons)
    return translate_reason(message, rule)


def translate_reason(message: str | None, rule: str | None = None) -> str:
    """A reason from the core or the server in the UI's language (English is the original)."""
    if not message:
        return ""
    message = str(message)
    if language() != "fr":
        return message
    return _french(message.strip()) or message


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
    return str(STATUS.get(code or "", code or ""))


def platform_label(code: str | None) -> str:
    return str(PLATFORM.get(code or "", code or ""))


def mode_label(code: str | None) -> str:
    return str(MODE.get(code or "", code or ""))


def kind_label(code: str | None) -> str:
    return str(KIND.get(code or "", code or ""))


def rule_title(rule: str | None) -> str:
    return str(RULE_TITLE.get(rule or "", ""))


def urgency(status: str | None, remaining_seconds: int | None, warn_s: int = 30 * 86_400) -> str:
    """ok / warn / danger: under the server's R14 horizon (MIN_CREDIT_DAYS, from the signed price list) warns,
    under 7 days or suspended is urgent."""
    if status == "suspended":
        return "danger"
    if remaining_seconds is None:
        return "ok"
    if remaining_seconds < min(7 * 86_400, warn_s):
        return "danger"
    if remaining_seconds < warn_s:
        return "warn"
    return "ok"


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(
        rule_message=translate_reason, reason=reason_text, reasons=reasons_text, clock_notice_lines=clock_notice_lines, status_label=status_label, platform_label=platform_label,
        mode_label=mode_label, kind_label=kind_label, rule_title=rule_title,
    )
    app.jinja_env.globals.update(urgency=urgency, PLATFORM=PLATFORM, MODE=MODE)

