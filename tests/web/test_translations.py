"""French is complete: every text of the screens has a translation, and the committed .mo matches the .po."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "translations" / "fr" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}


def extracted_messages() -> set:
    """Every message the templates and app/web use, as pybabel extracts them (see babel.cfg)."""
    found = set()
    for folder, method in ((ROOT / "app" / "web", "python"), (ROOT / "templates", "jinja2")):
        pattern = "**.py" if method == "python" else "**.html"
        for _file, _line, message, _comments, _context in extract_from_dir(
                str(folder), method_map=[(pattern, method)], keywords=KEYWORDS):
            found.add(message if isinstance(message, str) else tuple(message))
    return found


def _seq(value) -> tuple:
    """Babel gives plural ids and strings as lists or tuples, singular ones as str."""
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


def _key(value):
    return value if isinstance(value, str) else tuple(value)


def french_catalog():
    with PO.open("rb") as handle:
        return read_po(handle, locale="fr")


def test_every_text_of_the_screens_has_a_french_translation():
    catalog = french_catalog()
    translated = {}
    for message in catalog:
        if message.id:
            key = _key(message.id)
            strings = _seq(message.string)
            translated[key] = all(strings) and "fuzzy" not in message.flags
    missing = [m for m in extracted_messages() if not translated.get(m)]
    assert missing == [], "run `make translations`, then translate these in " + str(PO)


def test_the_committed_mo_file_matches_the_po_file():
    with MO.open("rb") as handle:
        compiled = read_mo(handle)
    po = {_key(m.id): _seq(m.string) for m in french_catalog() if m.id}
    mo = {_key(m.id): _seq(m.string) for m in compiled if m.id}
    assert mo == po, "run `make translations` to compile the .mo again"


def test_placeholders_survive_translation():
    import re

    for message in french_catalog():
        if not message.id:
            continue
        ids = _seq(message.id)
        strings = _seq(message.string)
        wanted = set(re.findall(r"%\(\w+\)[sd]", ids[-1]))
        for string in strings:
            assert set(re.findall(r"%\(\w+\)[sd]", string)) == wanted, message.id


def test_no_babel_warning_reading_the_mo():
    with MO.open("rb") as handle:
        data = handle.read()
    assert read_mo(BytesIO(data))


def test_french_elisions_take_the_typographic_apostrophe_in_every_catalog():
    """One apostrophe on a page: "Clé d’activation" beside "clé d'activation" read as a slip (screens, the
    customer's page and the mails alike)."""
    import re

    elision = re.compile(r"[^\W\d_]'[^\W\d_{%]")
    catalogs = [PO, *(ROOT / "license_server" / "translations" / "fr" / "LC_MESSAGES").glob("*.po")]
    assert len(catalogs) == 3
    straight = []
    for path in catalogs:
        with path.open("rb") as handle:
            for message in read_po(handle, locale="fr"):
                straight += [f"{path.name}: {text}" for text in _seq(message.string) if text and elision.search(text)]
    assert straight == []
