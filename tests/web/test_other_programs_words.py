"""Reasons that used to quote another program's English sentence (the server's op schema, the signature checks,
the server-address check) are codes with their values: a French screen says them in French throughout."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from flask_babel import force_locale

from app import sync
from app.web.labels import reason_text
from license_server.batch import _shape_problem
from license_server.opschema import validate
from rental.errors import RuleViolation
from rental.reasons import Reason
from rental.signing import load_signing_key

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT_ID = "6c1d0a4e-3f5b-4a8e-9d2c-0b7e1f2a3c4d"
OP_ID = "0b7e1f2a-3c4d-4a8e-9d2c-6c1d0a4e3f5b"


def french(app, reason) -> str:
    """The reason as the server's op-result carries it (a dict), worded by a French screen."""
    with app.test_request_context(), force_locale("fr"):
        return reason_text(Reason.from_dict(reason.to_dict()))


def test_an_op_of_an_unknown_kind_is_said_in_french_with_the_kinds_there_are(app):
    reason = _shape_problem({"op_id": OP_ID, "kind": "launch_rocket", "account_id": ACCOUNT_ID})
    text = french(app, reason)
    assert text.startswith("Le type d’opération « launch_rocket » est inconnu : l’un de create_account, ")
    assert "is unknown" not in text and "one of" not in text


@pytest.mark.parametrize("op, english", [
    ("hello", "An op is an object"),
    ({"op_id": "42", "kind": "remove_pbx", "account_id": ACCOUNT_ID}, "must be a UUID"),
    ({"op_id": OP_ID, "kind": "remove_pbx", "account_id": 7}, "must be a UUID"),
])
def test_every_shape_problem_of_an_op_reads_french(app, op, english):
    reason = _shape_problem(op)
    assert reason.code != "bad-field" and english in reason.message
    assert english not in french(app, reason)


@pytest.mark.parametrize("fields, english", [
    ({"pbx_id": "p1", "base_revision": 1, "items": {}, "colour": "red"}, "has no field"),
    ({"pbx_id": "p1", "base_revision": 1}, "needs"),
    ({"pbx_id": "p1", "base_revision": 1, "items": ["01-00010-001"]}, "must be an object"),
    ({"pbx_id": "p1", "base_revision": 1, "items": {"X" * 41: 1}}, "longer than"),
    ({"pbx_id": "p1", "base_revision": 1, "items": {"01-00010-001": -1}}, "whole number"),
])
def test_every_field_problem_the_server_finds_is_a_code_that_reads_french(app, fields, english):
    with pytest.raises(RuleViolation) as refused:
        validate({"op_id": OP_ID, "kind": "set_licenses", "account_id": ACCOUNT_ID, **fields})
    reason = refused.value.reason
    assert reason is not None and reason.code != "bad-field" and english in reason.message
    assert english not in french(app, reason)


def test_a_tampered_answer_is_said_in_french_on_the_sync_screen(unlocked, csrf, monkeypatch):
    genuine = load_signing_key(ROOT / "keys/demo/demo.key").sign_envelope(
        "technician", {"type": "technician", "partner": "Acme Partners", "token_binding": "x"})
    tampered = {**genuine, "sig": genuine["sig"][:10] + ("A" if genuine["sig"][10] != "A" else "B")
                + genuine["sig"][11:]}
    server = httpx.MockTransport(lambda request: httpx.Response(200, json=tampered))
    real = sync.HttpTransport
    monkeypatch.setattr(sync, "HttpTransport", lambda url, token, **kw: real(url, token, transport=server))
    assert unlocked.post("/settings/server", data={"server_url": "https://licenses.example.com",
                                                   "token": "tok-secret-123", "csrf_token": csrf}).status_code == 302
    unlocked.post("/settings/language", data={"language": "fr", "csrf_token": csrf})
    page = unlocked.post("/sync/run", data={"csrf_token": csrf}).data.decode()
    assert ("La réponse du serveur a été refusée, rien n’en a été cru : signature invalide sur l’enveloppe "
            "« technician » de la clé « demo » : refusée.") in page
    assert "bad signature" not in page and "envelope" not in page
    assert "bad signature" not in unlocked.get("/sync/").data.decode()


@pytest.mark.parametrize("url, words", [
    ("http://licenses.example.com", "utilise http simple vers licenses.example.com, une autre machine"),
    ("https://licenses.example.com/?tenant=7", "contient des parties qu’une adresse de serveur n’a jamais"),
    ("ftp://licenses.example.com", "n’est pas une adresse de serveur"),
])
def test_a_server_address_refused_on_the_french_settings_screen_is_said_in_french(unlocked, csrf, url, words):
    unlocked.post("/settings/language", data={"language": "fr", "csrf_token": csrf})
    page = unlocked.post("/settings/server", data={"server_url": url, "csrf_token": csrf}).data.decode()
    assert words in page
    assert "server address" not in page and "in clear" not in page


def test_a_plain_http_server_on_the_french_first_run_is_said_in_french(app, client, csrf):
    app.config["LANGUAGE"] = "fr"
    page = client.post("/first-run", data={"passphrase": "correct horse battery", "confirm": "correct horse battery",
                                           "mode": "online", "server_url": "http://licenses.example.com",
                                           "token": "tok-secret-123", "csrf_token": csrf}).data.decode()
    assert "le jeton de technicien circulerait en clair" in page and "travel in clear" not in page
