"""Reading form fields into typed values, with messages a technician can act on (no rules here)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from flask_babel import gettext as _

from rental.validation import is_ascii_digits

from .labels import reason_text


@dataclass
class Form:
    """Submitted values and the error of each field, to re-render next to it (status 200)."""

    values: dict = field(default_factory=dict)
    errors: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, name: str, message: str, rule: str | None = None, code: str | None = None,
              params: dict | None = None) -> None:
        """The field's first error; a core reason keeps its code and params (the screen translates from them)."""
        self.errors.setdefault(name, {"message": message, "rule": rule, "code": code, "params": params or {}})

    @classmethod
    def refused(cls, name: str, violation) -> "Form":
        """A form whose field name shows a core refusal (a RuleViolation: its rule, code and params)."""
        form = cls()
        form.error(name, violation.message, violation.rule, violation.code, dict(violation.params))
        return form


def text(form, name: str, limit: int | None = None) -> str:
    """A trimmed text field, whole: its checks say when it is too long (input is never cut without a word).

    Only a search box passes a limit (what is typed there is no data to keep).
    """
    value = (form.get(name) or "").strip()
    return value[:limit] if limit is not None else value


def seen(values: dict) -> str:
    """The values a form was opened on, carried by the form (a hidden field): a save after a sync changed them
    elsewhere is asked again with the new values, never queued over them unseen (a field left as it was would else
    put back what it showed)."""
    return json.dumps(values, sort_keys=True)


def opened_on(form, default: dict) -> dict:
    """The values the submitted form was opened on (its hidden "seen"), or ``default`` when it carries none."""
    try:
        opened = json.loads(form.get("seen") or "null")
    except ValueError:
        return default
    return opened if isinstance(opened, dict) and opened.keys() == default.keys() else default


def changed_elsewhere(form, now: dict, wanted: dict) -> tuple[list[str], dict]:
    """What a sync changed since the submitted form opened (the fields of ``now`` whose value is not the one the
    form was opened on), and the values to show it again with: a field left as the form showed it takes what the
    sync brought, one typed here stays as typed."""
    opened = opened_on(form, now)
    elsewhere = [name for name in now if now[name] != opened[name]]
    shown = {name: now[name] if name in elsewhere and wanted[name] == opened[name] else wanted[name] for name in now}
    return elsewhere, shown


def passphrase_strength(passphrase: str) -> tuple[int, str]:
    """A 0-4 score and hint: length matters most; a mix of kinds of characters helps."""
    length = len(passphrase)
    kinds = sum((any(c.islower() for c in passphrase), any(c.isupper() for c in passphrase),
                 any(c.isdigit() for c in passphrase), any(not c.isalnum() for c in passphrase)))
    if length == 0:
        return 0, _("Choose a passphrase of at least 8 characters; a few unrelated words are best.")
    if length < 8:
        return 0, _("Too short: at least 8 characters.")
    score = 1 + (length >= 12) + (length >= 16) + (kinds >= 3)
    if len(set(passphrase)) <= 3:
        score = 1
    hints = {
        1: _("Weak: make it longer (12 characters or more) or mix words, digits and signs."),
        2: _("Fair: a few more characters would make it much stronger."),
        3: _("Good."),
        4: _("Strong."),
    }
    return min(score, 4), hints[min(score, 4)]


def server_url(value: str) -> tuple[str | None, str | None]:
    """A license server URL, or why it is not one (HTTPS unless on this machine: the token travels, DESIGN §6),
    decided by the settings' own check and said from its reason's code."""
    from ..settings import InsecureServerUrl, check_server_url  # the store's settings load after unlock (issue 25)

    value = value.strip().rstrip("/")
    if not value:
        return None, _("Type the license server address, e.g. https://licenses.example.com")
    try:
        return check_server_url(value), None
    except InsecureServerUrl as error:
        return None, reason_text(error.reason)


def whole(value: str | None, max_digits: int = 19) -> int | None:
    """A whole number a page wrote in a hidden field (a second, an amount in milli-iSC), read back untrusted: digits
    0-9 only and at most ``max_digits`` of them, else None (the caller names the field: a clear error)."""
    if value is None or not is_ascii_digits(value) or len(value) > max_digits:
        return None
    return int(value)


def quantity(value: str) -> tuple[int | None, str | None]:
    """A license quantity: a whole number from 0 to MAX_QTY (0 removes the item), capped before any arithmetic."""
    from rental.rules import MAX_QTY

    value = (value or "").strip()
    if value == "":
        return 0, None
    # isdigit() is also true for "²" and "①", which int() refuses: digits 0-9 only (NOTES)
    if not is_ascii_digits(value):
        return None, _("Type a whole number (0 removes the item).")
    if len(value) > len(str(MAX_QTY)) or int(value) > MAX_QTY:
        from .i18n import fmt_number

        return None, _("At most %(max)s of one item on a PBX: check the quantity.", max=fmt_number(MAX_QTY))
    return int(value), None
