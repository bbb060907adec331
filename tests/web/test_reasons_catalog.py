"""Reasons are data (DESIGN §5): every code of rental/reasons.py has a French template with the same
placeholders, and a refusal with several problems reads French throughout (translated from the codes)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from rental.errors import RuleViolation
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
    refusal = RuleViolation([Reason.of("hardware-license", ref="01-00500-001", name="Passerelle"),
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


@pytest.fixture
def server(tmp_path, clock):
    """A license server on 127.0.0.1 on the laptop's own clock."""
    from tests.support.license_server import LiveLicenseServer

    made = LiveLicenseServer(tmp_path / "server", clock=clock).start()
    yield made
    made.stop()


def test_the_servers_refusal_of_a_token_is_worded_in_french_from_its_code_not_quoted_in_english(unlocked, csrf,
                                                                                                    server):
    """The server's error documents carry their reason as data (code, params): the app words it, here in French."""
    assert unlocked.post("/settings/server", data={"server_url": server.url, "token": "tok-not-known-here",
                                                   "csrf_token": csrf}).status_code == 302
    unlocked.post("/settings/language", data={"language": "fr", "csrf_token": csrf})
    page = unlocked.post("/sync/run", data={"csrf_token": csrf}).data.decode()
    assert "Ce jeton est inconnu : demandez un jeton de technicien au fournisseur" in page
    assert "This token is not known" not in page and "ask the vendor" not in page


def test_an_edit_names_its_fields_and_values_in_the_readers_language_not_as_the_codes_of_the_data(app):
    """History and queued edits carry [{"field", "to"}] as data; no "auto_reload_days → 28" on a French screen."""
    from app.web.labels import reason_text
    from rental.ops import changes_of

    changes = changes_of({"auto_reload_days": 28, "cloud_contract": True, "language": "fr", "name": "Hôtel du Lac"})
    edited = Reason("", "event-account-edited", {"changes": changes})
    queued = Reason("", "op-update-pbx", {"pbx": "Accueil", "changes": changes_of({"mode": "rental",
                                                                                   "platform": "hyper-v"})})
    assert edited.message == ("Account edited: automatic reload → 28 days before the credit runs out, cloud contract "
                              "→ yes, language → French, name → Hôtel du Lac")
    app.config["LANGUAGE"] = "fr"
    with app.test_request_context():
        french, pbx = reason_text(edited), reason_text(queued)
    assert french == ("Compte modifié : recharge automatique → 28 jours avant l’épuisement du crédit, contrat cloud → "
                      "oui, langue → français, nom → Hôtel du Lac")
    assert pbx == "Modifier le PBX Accueil : mode → location, plateforme → Hyper-V"
    assert "auto_reload_days" not in french and "true" not in french
    # an event recorded before this change (its changes as English lines) still reads as it was written
    assert reason_text(Reason("", "event-account-edited", {"changes": ["name → Thermes"]})).endswith("name → Thermes")


def test_a_document_the_replica_refused_reads_french_with_its_cause(app):
    """The replica keeps why it refused a snapshot as data (snapshot-refused, its cause's code and params)."""
    from app.replica import refused_because
    from app.web.labels import stored_reason_text
    from app.errors import stored
    from rental.errors import SignatureError

    other = refused_because("snapshot-refused", SignatureError.of("snapshot-other-partner", account_id="4f1c"))
    forged = refused_because("terms-refused", SignatureError.of("envelope-bad-signature", type="terms",
                                                               kid="vendor-2026"))
    assert other.message.startswith("Account snapshot refused: the snapshot of account 4f1c belongs to another")
    app.config["LANGUAGE"] = "fr"
    with app.test_request_context():
        assert stored_reason_text(stored(other)) == (
            "Instantané du compte refusé : l’instantané du compte 4f1c appartient à un autre partenaire que celui de "
            "ce technicien (un document authentique glissé dans la réponse) : refusé.")
        assert stored_reason_text(stored(forged)) == (
            "Conditions de location refusées : signature invalide sur l’enveloppe « terms » de la clé « vendor-2026 » "
            ": refusée.")
