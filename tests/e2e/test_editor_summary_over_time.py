"""In Chromium, the license editor left open with quantities typed: its summary ("Before you queue") is worked out
again under the technician's eyes when what it depends on changes — the credit runs out with no sync at all (R18:
the page's watch and the summary's own second), a background sync brings a colleague's key load — while the typed
draft stays in its field; the save, made on the figures redrawn, has nothing more to say (tests/web says the save
of figures that crossed). English and French. With
RENTDESK_SHOTS_DIR set, the editor is photographed before and after the crossing."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from . import steps

AFTER = 10_000  # ms: the page's watch and the summary's timer ask every 2 s, then the summary asks
IP_PORT = "01-00010-001"


def _signed(server, token: str, account_url: str) -> dict:
    account_id = re.search(r"/accounts/([^/?#]+)", account_url)[1]
    with server.client(token) as client:
        return server.keyring.verify_envelope(client.get(f"/accounts/{account_id}").json(), "account")


def _type(page, qty: int, monthly: str) -> None:
    """Type a quantity in the editor and wait for the summary to show it; the caret stays in the field."""
    field = page.locator(f"#qty-{IP_PORT}")
    field.fill(str(qty))
    expect(page.get_by_test_id("after-monthly")).to_have_text(monthly)
    field.evaluate("field => field.scrollIntoView({block: 'center'})")  # the typed row beside the summary


def test_the_editor_left_open_as_the_credit_runs_out_redraws_its_summary_and_keeps_the_typed_draft_R18(
        page, live_app, license_server):
    token, account, pbx = steps.partner_customer(page, live_app, license_server, {IP_PORT: 40},
                                                 expect_monthly="20.000 iSC")  # 100 iSC: five months
    depletes_at = _signed(license_server, token, account)["depletes_at"]
    license_server.stop()  # offline: no sync will tell the editor
    page.goto(pbx)
    _type(page, 30, "15.000 iSC")  # a reduction, which R14 never refuses
    summary = page.locator("#editor-summary")
    expect(summary).to_contain_text("No rule problem")
    steps.shot(page, "editor-before-crossing-en")

    license_server.clock.set(depletes_at)  # R18: the account stops at this second; the technician is still reading
    expect(page.get_by_test_id("after-runtime")).to_have_text("ends now: no credit", timeout=AFTER)
    expect(summary).to_contain_text("R18")
    expect(page.get_by_test_id("summary-waits")).to_contain_text("it starts stopped")
    expect(page.locator(f"#qty-{IP_PORT}")).to_have_value("30")  # the draft stays as typed
    expect(page.locator(f"#qty-{IP_PORT}")).to_be_focused()
    steps.shot(page, "editor-after-crossing-en")

    page.locator("#editor-summary button[type=submit]").click()  # queued on what it read: nothing more to say
    expect(page.locator(".notice").filter(has_text="Licenses queued for Reception")).to_be_visible()
    expect(page.locator(".notice").filter(has_text="The figures you read were worked out for")).to_have_count(0)


def test_a_colleagues_key_load_synced_in_the_background_redraws_the_open_editors_summary_in_french(
        page, live_app, license_server):
    token, account, pbx = steps.partner_customer(page, live_app, license_server, {IP_PORT: 40},
                                                 expect_monthly="20.000 iSC")
    steps.french(page, live_app)
    page.goto(pbx)
    _type(page, 50, "25,000 iSC")  # four months on 100 iSC
    ends = page.get_by_test_id("after-ends")
    read = ends.inner_text()
    steps.shot(page, "editor-before-crossing-fr")

    steps.another_laptop_loads_key(license_server, token, account, "200")  # a colleague loads 200 iSC…
    live_app.background_sync()  # …which this laptop's background syncer brings in; the editor finds out by itself
    expect(ends).not_to_have_text(read, timeout=AFTER)
    expect(page.locator(f"#qty-{IP_PORT}")).to_have_value("50")
    expect(page.locator("#editor-summary")).to_contain_text("Aucun problème de règle")
    steps.shot(page, "editor-after-crossing-fr")

    page.locator("#editor-summary button[type=submit]").click()  # queued on the figures redrawn: nothing crossed
    expect(page.locator(".notice").filter(has_text="Licences en attente pour Reception")).to_be_visible()
    expect(page.locator(".notice").filter(has_text="Les chiffres que vous avez lus")).to_have_count(0)


@pytest.mark.parametrize("lang, words", [
    ("en", {"crossed": "The figures you read were worked out for", "queued": "Licenses queued for Reception",
            "said": "The credit ran out since: the installation is stopped, so this change waits for credit "
                    "(0.493 iSC more would run it)."}),
    ("fr", {"crossed": "Les chiffres que vous avez lus étaient calculés pour le",
            "queued": "Licences en attente pour Reception",
            "said": "Le crédit s’est épuisé depuis : l’installation est arrêtée, ce changement attend donc du "
                    "crédit (0,493 iSC de plus le feraient tourner)."}),
])
def test_a_save_clicked_before_the_summary_could_redraw_says_what_crossed_R18(page, live_app, license_server,
                                                                              lang, words):
    """The credit runs out between the summary's last redraw and the click (its redraw is held up here, as on a
    busy laptop): the save decides on what is true now and says how it differs from the figures read."""
    token, account, pbx = steps.partner_customer(page, live_app, license_server, {IP_PORT: 40},
                                                 expect_monthly="20.000 iSC")
    depletes_at = _signed(license_server, token, account)["depletes_at"]
    license_server.stop()
    if lang == "fr":
        steps.french(page, live_app)
    page.goto(pbx)
    _type(page, 30, "15.000 iSC" if lang == "en" else "15,000 iSC")
    page.route(re.compile(r".*/licenses/preview.*"), lambda route: route.abort())  # no redraw gets through
    license_server.clock.set(depletes_at + 60)
    page.locator("#editor-summary button[type=submit]").click()
    said = page.locator(".notice.warn").filter(has_text=words["crossed"])
    expect(said).to_contain_text(words["said"])
    expect(page.locator(".notice").filter(has_text=words["queued"])).to_be_visible()
    steps.shot(page, f"editor-saved-after-crossing-{lang}")
