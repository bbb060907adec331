"""The mails' French is complete: every text of license_server/mail.py has a translation keeping its placeholders,
and the committed .mo (shipped in the package) matches the .po."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_file
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "license_server" / "translations" / "fr" / "LC_MESSAGES" / "mails.po"
MO = PO.with_suffix(".mo")
PLACEHOLDER = re.compile(r"\{\w+\}")


def _key(value):
    return value if isinstance(value, str) else tuple(value)


def _seq(value) -> tuple:
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


def catalog():
    with PO.open("rb") as handle:
        return read_po(handle, locale="fr")


def test_every_text_of_the_mails_has_a_french_translation_with_the_same_placeholders():
    used = {_key(message) for _line, message, _comments, _context in
            extract_from_file("python", str(ROOT / "license_server" / "mail.py"))}
    translated = {_key(m.id): _seq(m.string) for m in catalog() if m.id and "fuzzy" not in m.flags}
    missing = [m for m in used if not all(translated.get(m, ("",)))]
    assert missing == [], "run `make translations`, then translate these in " + str(PO)
    for key, strings in translated.items():
        wanted = set(PLACEHOLDER.findall(key if isinstance(key, str) else key[-1]))
        for string in strings:
            assert set(PLACEHOLDER.findall(string)) == wanted, (key, string)


def test_the_committed_mo_file_matches_the_po_file():
    with MO.open("rb") as handle:
        compiled = read_mo(handle)
    po = {_key(m.id): _seq(m.string) for m in catalog() if m.id}
    mo = {_key(m.id): _seq(m.string) for m in compiled if m.id}
    assert mo == po, "run `make translations` to compile the .mo again"
