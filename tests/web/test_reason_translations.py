"""Reasons are data everywhere a screen shows one: every code the core, the server and the app raise is in the
catalog of rental/reasons.py (so it has a French template, test_reasons_catalog.py), and no refusal is built
from an English sentence. A changed or new code without its template fails here, not in front of a French
technician."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from flask_babel import force_locale

from app.web.labels import translate_reason
from rental.reasons import CATALOG

ROOT = Path(__file__).resolve().parents[2]
#: Calls whose first positional argument (or keyword ``code``) is a reason code.
CODE_FIRST = {"RuleViolation.of", "Reason.of", "AmountError", "PriceListError", "KeyFormatError", "KeyRefused",
              "SyncError", "_refused", "_refusal", "SignatureError.of", "_bad_op", "InsecureServerUrl", "NotFound",
              # the store's refusals (app.store, app.backup): a code of rental.reasons.STORE_ERRORS each
              "StoreError", "WrongPassphrase", "StoreMissing", "HeaderDamaged", "BackupDamaged", "StoreExists",
              "WeakPassphrase", "DiskFull", "ReadOnlyFolder"}
#: Calls whose third positional argument is a reason code (the server's API errors: status, error, code).
CODE_THIRD = {"ApiError"}
SOURCES = sorted(str(path.relative_to(ROOT)) for folder in ("rental", "app", "license_server")
                 for path in (ROOT / folder).rglob("*.py") if "migrations" not in path.parts)


def _name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return f"{func.value.id}.{func.attr}"
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def raised_codes() -> list[tuple[str, int, str]]:
    """(file, line, code) of every reason raised with a literal code, and (file, line, text) of any refusal
    built from an English sentence made on the spot (which would have no code)."""
    found = []
    for name in SOURCES:
        for node in ast.walk(ast.parse((ROOT / name).read_text())):
            if not isinstance(node, ast.Call):
                continue
            callee = _name(node)
            if callee in CODE_FIRST and node.args and isinstance(node.args[0], ast.Constant):
                found.append((name, node.lineno, node.args[0].value))
            if callee in CODE_THIRD and len(node.args) > 2 and isinstance(node.args[2], ast.Constant):
                found.append((name, node.lineno, node.args[2].value))
            if callee == "Reason" and len(node.args) > 1 and isinstance(node.args[1], ast.Constant):
                found.append((name, node.lineno, node.args[1].value))
            if callee in CODE_FIRST and node.args and isinstance(node.args[0], ast.JoinedStr):
                found.append((name, node.lineno, "<an English sentence where a code belongs>"))
    return found


RAISED = raised_codes()


def test_the_reasons_are_found_across_the_core_the_server_and_the_app():
    assert len(RAISED) > 60
    assert {name.split("/")[0] for name, _line, _code in RAISED} == {"rental", "app", "license_server"}


@pytest.mark.parametrize("name, line, code", RAISED, ids=[f"{n}:{l}" for n, l, _c in RAISED])
def test_every_reason_raised_is_a_code_of_the_catalog(name, line, code):
    assert code in CATALOG, f"{name}:{line} raises {code!r}, which rental/reasons.py does not know"


def test_a_customer_name_left_empty_is_said_in_french_from_its_code(app):
    from app.checks import CUSTOMER_NAME
    from app.web.labels import reason_text
    from rental import validation
    from rental.errors import RuleViolation

    with pytest.raises(RuleViolation) as refused:
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


def test_words_without_a_code_are_shown_as_written_rather_than_lost(app):
    with app.test_request_context(), force_locale("fr"):
        assert translate_reason("Something new the server says.") == "Something new the server says."


def test_the_new_account_form_says_an_empty_name_in_french_next_to_the_field(unlocked, csrf):
    unlocked.post("/settings/language", data={"language": "fr", "csrf_token": csrf})
    page = unlocked.post("/accounts/new", data={"name": " ", "contact_email": "it@acme.example", "language": "en",
                                                "csrf_token": csrf}).data.decode()
    assert 'id="name-error"' in page
    assert "Le nom du client doit comporter de 1 à 200 caractères imprimables : le champ est vide." in page
