"""Every money sentence of the meter against the state it describes, English and French (issue 22): a stopped,
idle or running account never says "credit used up" beside a balance that shows credit, never "credit kept until"
beside 0.000, and counts days with the language's plural forms, never "day(s)" / "jour(s)".

Each state is a signed snapshot (demo key) put in the laptop's store as a sync would; the meter is asked over the
app's HTTP face, as the window polls it.
"""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

import pytest

from app.web.state import EXTENSION
from rental.money import TICKS_PER_MILLI
from rental.signing import load_signing_key
from tests.app.builders import account_payload, pricelist_payload

from .conftest import START, htmx

ROOT = Path(__file__).resolve().parents[2]
IP_PORT = "01-00010-001"  # 0.500 iSC a month on the demo list
DEMO = json.loads((ROOT / "license_server" / "demo" / "pricelist.json").read_text())
PRICES = {item["ref"]: item["monthly_milli"] for item in DEMO["items"]}


def snapshot(account_id, *, status, balance_ticks, licenses):
    payload = account_payload(as_of=START, balance_milli=0, licenses=licenses, status=status, prices=PRICES,
                              name=f"Compte {account_id[:4]}")
    payload.update(account_id=account_id, balance_ticks=balance_ticks)
    if status == "active":
        rate = payload["rate_ticks_per_s"]
        payload["depletes_at"] = START + balance_ticks // rate
    return payload


#: (state, account snapshot, resume_min_days of the server's policy)
STATES = {
    "running": (dict(status="active", balance_ticks=100_000 * TICKS_PER_MILLI, licenses={IP_PORT: 10}), 1),
    "idle with credit": (dict(status="idle", balance_ticks=12_500 * TICKS_PER_MILLI, licenses={}), 1),
    "idle under 0.001": (dict(status="idle", balance_ticks=TICKS_PER_MILLI - 1, licenses={}), 1),
    "stopped, used up": (dict(status="suspended", balance_ticks=40_000, licenses={IP_PORT: 10}), 1),
    # 100 IP ports: 50 iSC a month, 1.643 iSC a day: 0.500 iSC do not restart it
    "stopped after a 0.5 key": (dict(status="suspended", balance_ticks=500 * TICKS_PER_MILLI + 40_000,
                                     licenses={IP_PORT: 100}), 1),
    "stopped, 3 days to resume": (dict(status="suspended", balance_ticks=500 * TICKS_PER_MILLI,
                                       licenses={IP_PORT: 20}), 3),  # 0.329 iSC a day: 0.500 do not pay 3 days
    "stopped, credit pays again": (dict(status="suspended", balance_ticks=2_000 * TICKS_PER_MILLI,
                                        licenses={IP_PORT: 10}), 1),
}

#: What the meter must say (present) and must not say (absent) in each state, per language.
EXPECTED = {
    ("running", "en"): (["5.000 iSC", "0.164 iSC a day"], ["Stopped", "used up", "kept until"]),
    ("running", "fr"): (["5,000 iSC", "0,164 iSC par jour"], ["Arrêtée", "épuisé", "conservé"]),
    # R19: two Julian years after the last charge (START is Jan 15, 2027 08:00 UTC)
    ("idle with credit", "en"): (["12.500 iSC", "Nothing runs: the credit is kept until Jan 14, 2029"],
                                 ["Stopped", "used up"]),
    ("idle with credit", "fr"): (["12,500 iSC", "Rien ne fonctionne : le crédit est conservé jusqu’au 14 janv. 2029"],
                                 ["Arrêtée", "épuisé"]),
    ("idle under 0.001", "en"): (["0.000 iSC"], ["kept until", "Stopped", "used up"]),
    ("idle under 0.001", "fr"): (["0,000 iSC"], ["conservé", "Arrêtée", "épuisé"]),
    ("stopped, used up", "en"): (["0.000 iSC", "Stopped: the credit is used up.", "pays it for 1 day."],
                                 ["kept until", "left do not pay"]),
    ("stopped, used up", "fr"): (["0,000 iSC", "Arrêtée : le crédit est épuisé.", "la paie pour 1 jour."],
                                 ["conservé", "restants"]),
    ("stopped after a 0.5 key", "en"): (["0.500 iSC", "Stopped: the 0.500 iSC left do not pay this configuration "
                                         "for 1 day.", "Load at least 1.143 iSC", "pays it for 1 day.",
                                         "Left as they are, the 0.500 iSC expire on Jan 14, 2029 (R19)"],
                                        ["used up", "Nothing runs"]),
    ("stopped after a 0.5 key", "fr"): (["0,500 iSC", "Arrêtée : les 0,500 iSC restants ne paient pas cette "
                                         "configuration pendant 1 jour.", "Chargez au moins 1,143 iSC",
                                         "la paie pour 1 jour.",
                                         "Laissés ainsi, les 0,500 iSC expirent le 14 janv. 2029 (R19)"],
                                        ["épuisé", "Rien ne fonctionne"]),
    ("stopped, 3 days to resume", "en"): (["for 3 days.", "pays it for 3 days."], ["used up", "Nothing runs"]),
    ("stopped, 3 days to resume", "fr"): (["pendant 3 jours.", "la paie pour 3 jours."], ["épuisé", "Rien ne"]),
    ("stopped, credit pays again", "en"): (["Stopped, though the 2.000 iSC left now pay this configuration.",
                                            "Load any activation key"], ["used up", "do not pay", "Nothing runs"]),
    ("stopped, credit pays again", "fr"): (["Arrêtée, bien que les 2,000 iSC restants paient désormais cette "
                                            "configuration."], ["épuisé", "ne paient pas", "Rien ne"]),
}


def words(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def seed(app, account, resume_days):
    signer = load_signing_key(ROOT / "keys" / "demo" / "demo.key")
    pricelist = {**pricelist_payload(DEMO, published_at=START - 86_400), "policy": {"resume_min_days": resume_days}}
    store = app.extensions[EXTENSION].store
    with store.unit_of_work(write=True) as uow:
        assert uow.replica.store_pricelist(uow.keyring, signer.sign_envelope("pricelist", pricelist), START)
        uow.replica.store_account(uow.keyring, signer.sign_envelope("account", account), START)
        uow.commit()


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("state", list(STATES))
def test_every_money_sentence_of_the_meter_agrees_with_its_state(app, unlocked, csrf, state, language):
    fields, resume_days = STATES[state]
    account_id = "7d2e1b5f-4a6c-4b9d-8e3f-1c8a2b3d4e5f"
    seed(app, snapshot(account_id, **fields), resume_days)
    if language == "fr":
        unlocked.post("/settings/language", data={"language": "fr", "csrf_token": csrf})
    meter = words(unlocked.get(f"/accounts/{account_id}/meter", headers=htmx()).data.decode())
    present, absent = EXPECTED[(state, language)]
    for sentence in present:
        assert sentence in meter, (state, language, sentence, meter)
    for sentence in absent:
        assert sentence not in meter, (state, language, sentence, meter)
    assert "(s)" not in meter  # plural forms, never "day(s)" / "jour(s)"


@pytest.mark.parametrize("language, one, three", [("en", "for 1 day.", "for 3 days."),
                                                  ("fr", "pendant 1 jour.", "pendant 3 jours.")])
def test_the_reasons_count_days_with_plural_forms(app, language, one, three):
    from app.web.labels import reason_text
    from rental.reasons import Reason

    with app.test_request_context(headers={"Accept-Language": language}):
        for days, said in ((1, one), (3, three)):
            text = reason_text(Reason.of("still-suspended", missing_milli=100, days=days))
            assert said in text and "(s)" not in text
    assert Reason.of("min-credit", days=30, missing_milli=5).message.startswith(
        "The credit does not cover this configuration for 30 days.")


@pytest.mark.parametrize("language, gone, kept", [("en", "Balance 0.000 iSC", "kept until"), ("fr", "Solde 0,000 iSC", "conservé")])
def test_offline_the_meter_shows_credit_gone_once_its_retention_ended_as_the_server_answers_R19(
        app, unlocked, csrf, clock, language, gone, kept):
    """R19: the snapshot (synced before) still holds the 12.500 iSC, but they expired on Jan 14, 2029; a laptop
    offline since counts them gone from that second, as every answer of the server does, sweep or no sweep."""
    account_id = "7d2e1b5f-4a6c-4b9d-8e3f-1c8a2b3d4e5f"
    seed(app, snapshot(account_id, **STATES["idle with credit"][0]), 1)
    if language == "fr":
        unlocked.post("/settings/language", data={"language": "fr", "csrf_token": csrf})
    clock.advance(2 * 31_557_600 - 1)
    assert kept in words(unlocked.get(f"/accounts/{account_id}/meter", headers=htmx()).data.decode())
    clock.advance(1)
    meter = words(unlocked.get(f"/accounts/{account_id}/meter", headers=htmx()).data.decode())
    assert meter.startswith(gone) and kept not in meter, meter
