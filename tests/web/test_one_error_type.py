"""One error type (issue 20 item 6, Django's ValidationError the model): every refusal of the core, the app and the
server is a rental.errors.RuleViolation carrying its problems as reasons (rule, code, params), so screens
translate each from its code; the store's refusals included, which used to be English sentences."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from flask_babel import force_locale

from app import errors as app_errors
from app import settings as app_settings
from app import store as app_store
from app.web.labels import reason_text
from license_server.api import ApiError
from rental import errors as core_errors
from rental.errors import RuleViolation
from rental.reasons import CATALOG, Reason

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("kind", [
    core_errors.AmountError, core_errors.PriceListError, core_errors.SignatureError, core_errors.KeyRefused,
    core_errors.KeyFormatError, app_errors.NotFound, app_errors.SyncError, app_errors.ServerError,
    app_settings.InsecureServerUrl, app_store.StoreError, app_store.WrongPassphrase, app_store.BackupDamaged,
    ApiError], ids=lambda kind: kind.__name__)
def test_every_kind_of_refusal_is_a_rule_violation(kind):
    assert issubclass(kind, RuleViolation)


def test_no_module_keeps_a_reason_on_an_exception_of_its_own():
    """A new error type that stores ``self.reason = Reason(...)`` instead of being a RuleViolation fails here."""
    found = []
    for folder in ("rental", "app", "license_server"):
        for path in (ROOT / folder).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Assign) and any(
                        isinstance(t, ast.Attribute) and t.attr == "reason" and isinstance(t.value, ast.Name)
                        and t.value.id == "self" for t in node.targets):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    # the localhost guard's reason is a log line, not a reason of the catalog (app/web/security.py)
    assert [where for where in found if not where.startswith("app/web/security.py")] == []


def test_one_violation_carries_every_problem_and_names_the_refusal_by_the_first():
    violation = RuleViolation([Reason.of("min-credit", days=30, missing_milli=1500),
                               Reason.of("toggle-refused", refs=["01-00010-001"], count=3).about("items")])
    assert [(p.rule, p.code) for p in violation.problems] == [("R14", "min-credit"), ("R6", "toggle-refused")]
    assert (violation.rule, violation.code, violation.status) == ("R14", "min-credit", "rejected")
    assert violation.problems[1].field == "items" and violation.problems[1].ref is None
    assert str(violation).startswith("The credit does not cover this configuration for 30 days.")


@pytest.mark.parametrize("error", [
    app_store.WrongPassphrase(), app_store.StoreMissing("store-missing", home=Path("/home/ann/rentdesk")),
    app_store.WeakPassphrase("store-weak-passphrase", min=8), app_store.BackupDamaged("backup-too-large",
                                                                                       size=900, max=800)],
    ids=lambda error: error.code)
def test_a_store_refusal_is_a_catalog_code_and_reads_in_french(app, error):
    assert error.rule == "store" and error.code in CATALOG
    assert all(not isinstance(value, Path) for value in error.params.values())  # plain data, never a Path
    with app.test_request_context(), force_locale("fr"):
        french = reason_text(error)
    assert french != error.message and "{" not in french


def test_the_wrong_passphrase_reads_in_french_from_its_code(app):
    with app.test_request_context(), force_locale("fr"):
        assert reason_text(app_store.WeakPassphrase("store-weak-passphrase", min=8)) == (
            "La phrase de passe doit comporter au moins 8 caractères : elle protège les données des clients sur un "
            "portable qui peut être perdu. Choisissez-en une plus longue.")
