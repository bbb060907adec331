"""Reasons are data (DESIGN §5): every code of rental/reasons.py has a French template with the same
placeholders, and a refusal with several problems reads French throughout (translated from the codes)."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

from rental.errors import Refusal
from rental.reasons import CATALOG, Reason

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def french_catalog() -> dict[str, str]:
    with open(ROOT / "translations/fr/LC_MESSAGES/messages.po", "rb") as handle:
        return {message.id: message.string for message in read_po(handle) if message.id}


def test_every_reason_code_has_a_french_template_with_the_same_placeholders():
    french = french_catalog()
    for code, (_rule, template) in CATALOG.items():
        translated = french.get(template)
        assert translated, f"{code}: no French template"
        assert sorted(PLACEHOLDER.findall(translated)) == sorted(PLACEHOLDER.findall(template)), code


def test_a_refusal_with_two_problems_reads_french_throughout(app):
    refusal = Refusal([Reason.of("hardware-license", ref="01-00500-001", name="Passerelle"),
                       Reason.of("min-credit", days=30, missing_milli=1_465)])
    from app.web.labels import reasons_text

    app.config["LANGUAGE"] = "fr"
    with app.test_request_context():
        text = reasons_text(refusal.problems)
    assert "est une licence matérielle" in text
    assert "Chargez au moins 1,465 iSC de plus" in text
    assert "Load" not in text and "hardware license" not in text


def test_a_sync_that_cannot_reach_the_server_is_said_in_french_from_its_code(unlocked, csrf):
    # the reason is kept as data (rule sync, code sync-unreachable): the screens word it in their language
    assert unlocked.post("/settings/server", data={"server_url": "http://127.0.0.1:9", "token": "tok-secret-123",
                                                   "csrf_token": csrf}).status_code == 302
    unlocked.post("/settings/language", data={"language": "fr", "csrf_token": csrf})
    page = unlocked.post("/sync/run", data={"csrf_token": csrf}).data.decode()
    assert "Le serveur de licences est injoignable" in page and "cannot be reached" not in page
    status = unlocked.get("/sync/").data.decode()
    assert "cannot be reached" not in status
