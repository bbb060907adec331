"""Field checks shared by the app's offline checks and the license server's op schema (rule `bad-op`, DESIGN §5).

Each takes the value and a label naming the field in the message (the app: "The customer name";
the server: "create_account.name"), returns the cleaned value, or raises RuleViolation (one problem, rule
bad-op) saying what to write instead. Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import RuleViolation
from .reasons import Reason

MAX_TEXT = 200  # names
MAX_EMAIL = 254  # RFC 5321's longest path
MAX_SERIAL = 100
MAX_HARDWARE_MODEL = 100
MAX_FIRMWARE = 20  # "14r2sr12" and friends
MAX_KEY = 300  # an activation key as typed, spaces and dashes included
MAX_WHOLE = 2**62  # revisions and milli-iSC: far beyond any real figure, inside every database's BIGINT
LANGUAGES = ("en", "fr")  # the languages of e-mails (R20) and of the app

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
#: Control characters (C0, DEL, C1) and the line breaks Unicode adds (NEL is C1; U+2028, U+2029): a name goes into
#: a mail's Subject, where Python refuses any line break, so one such name would stop every mail of a sweep.
#: Also the bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069): invisible, they turn
#: round the words after a name wherever it is shown (a mail's Subject and body, the customer's page, a CSV, a
#: terminal), so "Clinique<U+202E>" makes the amount or date that follows read backwards ("Trojan Source",
#: CVE-2021-42574). The marks U+200E, U+200F and U+061C stay allowed: they reorder nothing, and names in Arabic or
#: Hebrew may need them.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_PBX_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


#: What a JSON value is, as a code screens translate (param ``got`` of the field reasons).
TYPE_CODES = {dict: "object", list: "list", str: "text", bool: "boolean", int: "number", float: "decimal",
              type(None): "null"}
TYPE_WORDS = {"object": "an object", "list": "a list", "text": "text", "boolean": "true/false",
              "number": "a number", "decimal": "a decimal number", "null": "null"}


def type_code(value: Any) -> str:
    """What a JSON value is, as a code ("text", "number", "null")."""
    return TYPE_CODES.get(type(value), "other")


def type_name(value: Any) -> str:
    """What a JSON value is, in English words, for the server's own messages ("text", "a number", "null")."""
    return TYPE_WORDS.get(type_code(value), type(value).__name__)


def shown(value: str, limit: int = 40) -> str:
    """Outside text quoted in a reason's params, without letting it take the message over (nor break a line, a
    page or a signature: what is not printable, a lone surrogate included, is shown as its escape)."""
    text = "".join(char if char.isprintable() else repr(char)[1:-1] for char in value[:limit])
    return text if len(value) <= limit else text + "…"


def _refuse(label: str, code: str, **params: Any) -> RuleViolation:
    return RuleViolation(Reason("bad-op", code, {"field": label, **params}))


def is_utf8(value: str) -> bool:
    """True when value encodes as UTF-8: JSON's "\\ud800" escapes decode to lone surrogates, which do not."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def is_ascii_digits(value: str) -> bool:
    """True for 0-9 only: str.isdigit() is also true for '²' and '①', which int() then refuses (NOTES)."""
    return value.isascii() and value.isdecimal()


def text(value: Any, label: str, max_len: int = MAX_TEXT) -> str:
    """One line of 1 to max_len printable characters, surrounding spaces removed."""
    if not isinstance(value, str):
        raise _refuse(label, "field-not-text", got=type_code(value))
    if not is_utf8(value):
        raise _refuse(label, "field-not-unicode")
    value = value.strip()
    if not value:
        raise _refuse(label, "field-empty", max=max_len)
    if len(value) > max_len:
        raise _refuse(label, "field-too-long", max=max_len, length=len(value))
    if _CONTROL.search(value):
        raise _refuse(label, "field-control", max=max_len)
    return value


def email(value: Any, label: str) -> str:
    """An e-mail address such as name@example.com (reminders go there, R20), kept as the customer writes it: a
    domain a browser sent in its ASCII form (``xn--…``, what an ``<input type=email>`` does to société-générale.fr)
    is turned back into its letters; the mail is addressed in ASCII when sent (license_server.mail)."""
    value = text(value, label, MAX_EMAIL)
    if not _EMAIL.fullmatch(value):
        raise _refuse(label, "email-invalid", value=value[:60])
    return as_typed(value)


def as_typed(address: str) -> str:
    """The address with its punycode domain labels (``xn--…``) shown in their letters; unchanged otherwise."""
    local, _, domain = address.rpartition("@")
    if "xn--" not in domain.lower():
        return address
    try:
        letters = ".".join(label.encode("ascii").decode("idna") if label.lower().startswith("xn--") else label
                           for label in domain.split("."))
    except (UnicodeError, ValueError):
        return address  # not valid punycode: kept exactly as given
    return f"{local}@{letters}"


def ascii_address(address: str) -> str:
    """The address with its domain in ASCII (IDNA), as SMTP needs it; unchanged when it is ASCII already."""
    local, _, domain = address.rpartition("@")
    if domain.isascii():
        return address
    try:
        return f"{local}@{domain.encode('idna').decode('ascii')}"
    except UnicodeError:
        return address


def serial(value: Any, label: str) -> str:
    return text(value, label, MAX_SERIAL)


def hardware_model(value: Any, label: str) -> str:
    return text(value, label, MAX_HARDWARE_MODEL)


def firmware(value: Any, label: str) -> str:
    """A firmware version as typed (its form and R1 are rental.rules.parse_firmware's and check_pbx's)."""
    value = text(value, label)
    if len(value) > MAX_FIRMWARE:
        raise _refuse(label, "firmware-too-long")
    return value


def language(value: Any, label: str) -> str:
    if not isinstance(value, str) or value not in LANGUAGES:
        raise _refuse(label, "language-invalid", value=repr(value[:10]) if isinstance(value, str) else type_name(value))
    return value


def boolean(value: Any, label: str) -> bool:
    if not isinstance(value, bool):
        raise _refuse(label, "field-not-boolean", got=type_code(value))
    return value


def pbx_id(value: Any, label: str) -> str:
    value = text(value, label, 64)
    if not _PBX_ID.fullmatch(value):
        raise _refuse(label, "pbx-id-invalid")
    return value


def is_uuid(value: Any) -> bool:
    """True for a UUID in its canonical 36-character form (8-4-4-4-12 hex digits)."""
    return isinstance(value, str) and _UUID.fullmatch(value) is not None


def uuid_text(value: Any, label: str) -> str:
    if not is_uuid(value):
        raise _refuse(label, "uuid-invalid")
    return value


def whole(value: Any, label: str, high: int = MAX_WHOLE) -> int:
    """A whole number from 0 to high (a revision, an amount in milli-iSC); true/false and decimals are refused."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise _refuse(label, "field-not-whole", got=type_code(value))
    if value < 0 or value > high:
        raise _refuse(label, "field-out-of-range", high=high, value=value)
    return value


def activation_key_text(value: Any, label: str) -> str:
    """An activation key as typed, before it is read (rental.signing decides whether it is genuine)."""
    return text(value, label, MAX_KEY)
