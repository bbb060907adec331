"""Every English reason the app still words itself (field checks, its own problems, sync failures) has a French
pattern in app/web/labels.py: a changed English text fails here, not silently in front of a French technician.
The core's and the server's reasons are codes, translated from the catalog (test_reasons_catalog.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from flask_babel import force_locale

from app.web.labels import french_pattern_of, translate_reason

ROOT = Path(__file__).resolve().parents[2]
#: Where reasons are written, and the calls whose argument (by position) is the reason.
SOURCES = {
    "rental/pricing.py": {"PriceListError": 0},  # a bad price list: the "Answers refused" panel
    "app/services.py": {"Problem": 1},
}
#: Functions whose returned f-string is shown. (The core's reasons are codes in rental/reasons.py, translated
#: from the Babel catalog: tests/web/test_reasons_catalog.py.)
RETURNED: dict[str, tuple[str, ...]] = {}
#: What a placeholder stands for, when "7" would not read as the real thing.
SAMPLES = {"where": "Item #3 (01-00010-001)", "note": " (sold with hardware)", "listed": "01-00010-001"}


def _sample(node: ast.expr) -> str | None:
    """The text a message template produces with every placeholder filled, or None when it is not a literal."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if not isinstance(node, ast.JoinedStr):
        return None
    out = []
    for part in node.values:
        if isinstance(part, ast.Constant):
            out.append(part.value)
        else:
            source = ast.unparse(part.value)
            value = SAMPLES.get(source, "7")
            out.append(repr(value) if part.conversion == ord("r") else value)
    return "".join(out)


def shown_reasons() -> list[tuple[str, int, str]]:
    """(file, line, reason with sample values) for every literal reason of SOURCES and RETURNED."""
    found = []
    for name, calls in SOURCES.items():
        tree = ast.parse((ROOT / name).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                callee = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
                position = calls.get(callee)
                if position is not None and len(node.args) > position:
                    text = _sample(node.args[position])
                    if text is not None:
                        found.append((name, node.lineno, text))
            if isinstance(node, ast.FunctionDef) and node.name in RETURNED.get(name, ()):
                for inner in ast.walk(node):
                    if isinstance(inner, ast.Return) and inner.value is not None and _sample(inner.value):
                        found.append((name, inner.lineno, _sample(inner.value)))
    return found


REASONS = shown_reasons()


def test_the_reasons_are_found_in_every_source():
    assert {name for name, _line, _text in REASONS} == set(SOURCES)
    assert len(REASONS) >= 12  # the rest are codes in rental/reasons.py (test_reasons_catalog.py)


@pytest.mark.parametrize("name,line,text", REASONS, ids=[f"{n}:{line}" for n, line, _ in REASONS])
def test_every_reason_that_reaches_a_screen_has_a_french_pattern(name, line, text):
    assert french_pattern_of(text), f"{name}:{line}: add a French pattern to app/web/labels.py for {text!r}"


def test_a_customer_name_left_empty_is_said_in_french_from_its_code(app):
    from app.checks import CUSTOMER_NAME
    from app.web.labels import reason_text
    from rental import validation
    from rental.errors import FieldError

    with pytest.raises(FieldError) as refused:
        validation.text(" ", CUSTOMER_NAME)
    assert refused.value.code == "field-empty" and refused.value.params == {"field": CUSTOMER_NAME, "max": 200}
    with app.test_request_context(), force_locale("fr"):
        french = reason_text(refused.value.reason)
    assert french == "Le nom du client doit comporter de 1 à 200 caractères imprimables : le champ est vide."


def test_a_refused_key_is_said_in_french_from_its_code(app):
    from app.web.labels import reason_text
    from rental.errors import KeyFormatError
    from rental.signing import Keyring

    with pytest.raises(KeyFormatError) as refused:
        Keyring().read_key("ISC1-00U00-00000")
    assert (refused.value.reason.code, refused.value.reason.params) == ("key-has-u", {"char": "U", "position": 8})
    with app.test_request_context(), force_locale("fr"):
        french = reason_text(refused.value.reason)
    assert french == ("La clé ne peut pas contenir « U » (caractère 8) : une clé d’activation ne contient jamais "
                      "de U.")


def test_amounts_and_big_numbers_inside_a_reason_take_the_french_form(app):
    from app.web.labels import reason_text
    from rental.reasons import Reason

    with app.test_request_context(), force_locale("fr"):
        r14 = reason_text(Reason.of("min-credit", days=30, missing_milli=1_234_500))
        from rental.errors import AmountError
        from rental.money import parse_isc

        with pytest.raises(AmountError) as typed:
            parse_isc("50000000")
        qty = reason_text(typed.value.reason)
    assert "1\u202f234,500 iSC" in r14 or "1\u00a0234,500 iSC" in r14
    assert qty.startswith("« 50000000 » dépasse 10")
    assert "10\u202f000\u202f000,000 iSC" in qty or "10\u00a0000\u00a0000,000 iSC" in qty


def test_an_unknown_reason_is_shown_as_written_rather_than_lost(app):
    with app.test_request_context(), force_locale("fr"):
        assert translate_reason("Something new the server says.") == "Something new the server says."


def test_the_new_account_form_says_an_empty_name_in_french_next_to_the_field(unlocked, csrf):
    unlocked.post("/settings/language", data={"language": "fr", "csrf_token": csrf})
    page = unlocked.post("/accounts/new", data={"name": " ", "contact_email": "it@acme.example", "language": "en",
                                                "csrf_token": csrf}).data.decode()
    assert 'id="name-error"' in page
    assert "Le nom du client doit comporter de 1 à 200 caractères imprimables : le champ est vide." in page
