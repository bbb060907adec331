"""In Chromium, the account page's key form left open with a key typed: its answer (what the key does: R18, R16) is
worked out again under the technician's eyes when the credit runs out with no sync at all (the page's watch), while
the typed key stays in its field; the load, made on the answer redrawn, has nothing more to say (tests/web says the
save of an answer that crossed). English and French."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from . import steps

AFTER = 10_000  # ms: the page's watch asks every 2 s, then the key form asks again

WORDS = {
    "en": {"runs": "The credit then lasts until", "restarts": "This key restarts the stopped installation",
           "queued": "Activation key queued", "crossed": "The figures you read were worked out for"},
    "fr": {"runs": "Le crédit dure alors jusqu", "restarts": "Cette clé redémarre l’installation arrêtée",
           "queued": "Clé d’activation en attente", "crossed": "Les chiffres que vous avez lus"},
}


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_key_forms_answer_redraws_as_the_credit_runs_out_and_keeps_the_typed_key_R18(
        page, live_app, license_server, lang):
    words = WORDS[lang]
    token, account, _ = steps.partner_customer(page, live_app, license_server, {"01-00010-001": 40},
                                               expect_monthly="20.000 iSC")  # 100 iSC: five months
    account_id = re.search(r"/accounts/([^/?#]+)", account)[1]
    with license_server.client(token) as client:
        depletes_at = license_server.keyring.verify_envelope(
            client.get(f"/accounts/{account_id}").json(), "account")["depletes_at"]
    [key] = license_server.issue_keys("10", 1)
    license_server.stop()  # offline: no sync will tell the form
    if lang == "fr":
        steps.french(page, live_app)
    page.goto(account)
    field = page.locator("#key")
    field.fill(key)
    answer = page.get_by_test_id("key-preview")
    expect(answer).to_contain_text(words["runs"])

    license_server.clock.set(depletes_at)  # R18: the account stops at this second; the technician is still reading
    expect(answer).to_contain_text(words["restarts"], timeout=AFTER)
    expect(field).to_have_value(key)  # the typed key stays
    steps.shot(page, f"key-form-redrawn-{lang}")

    page.get_by_role("button", name="Load key" if lang == "en" else re.compile("Charger la clé")).click()
    expect(page.locator(".notice").filter(has_text=words["queued"])).to_be_visible()
    expect(page.locator(".notice").filter(has_text=words["crossed"])).to_have_count(0)
    steps.shot(page, f"key-form-loaded-{lang}")
