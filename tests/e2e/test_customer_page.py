"""The customer's own page in Chromium (R27): on a phone (375 px) and a desktop (1024 px), in English and French;
the customer loads a key and ends the rent of a PBX after the confirmation. Screenshots go to the test's folder
(and to RENTDESK_SCREENSHOTS when set, for the README)."""

from __future__ import annotations

import os
import shutil
import uuid

import httpx
import pytest
from playwright.sync_api import expect

from tests.server.helpers import Api
from tests.support.license_server import LiveLicenseServer
from tests.support.postgres import free_port

from .conftest import _page

DAY = 86_400


@pytest.fixture
def server(tmp_path):
    port = free_port()
    server = LiveLicenseServer(tmp_path / "license-server", port=port,
                               config={"PUBLIC_URL": f"http://127.0.0.1:{port}"}).start()
    yield server
    server.stop()


def customer_account(server, language: str) -> str:
    """A customer with two PBXs, terms accepted, keys loaded by the technician and 12 days of use; its link."""
    server.publish_terms()
    with httpx.Client(base_url=server.url, timeout=30) as http:
        api = Api.for_http(http, server.add_technician("Alpine Telecom", "Anne Martin"), server.ctx, server.clock,
                           server.keyring)
        account_id = str(uuid.uuid4())
        version = _terms_version(server)
        api.applied(api.op("create_account", account_id, name="Boulangerie Émile", contact_email="emile@example.com",
                           cloud_contract=False, language=language, terms_version=version,
                           accepted_by="Émile Durand"))
        api.load(account_id, "120")
        api.register(account_id, "pbx-1", name="Shop", serial="SN-0001")
        api.register(account_id, "pbx-2", name="Bakery workshop", serial="SN-0002", platform="hyper-v")
        assert api.set_licenses(account_id, {"01-00010-001": 12, "01-00020-001": 3}, "pbx-1")["status"] == "applied"
        assert api.set_licenses(account_id, {"01-00010-001": 4}, "pbx-2")["status"] == "applied"
        server.clock.advance(12 * DAY + 3 * 3600)
        status, body = api.call("POST", f"/accounts/{account_id}/customer-link")
        assert status == 200, body
        return body["url"]


def _terms_version(server) -> str:
    with server.ctx.engine.connect() as connection:
        return server.ctx.terms.current(server.ctx, connection).version


def shoot(page, tmp_path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    target = os.environ.get("RENTDESK_SCREENSHOTS")
    if target:
        shutil.copy(path, os.path.join(target, f"{name}.png"))


def fits(page, width: int) -> None:
    """Nothing wider than the screen: no sideways scrolling of the page itself (tables scroll in their box)."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_on_a_phone_in_english_the_customer_loads_a_key(browser, server, tmp_path):
    url = customer_account(server, "en")
    context = browser.new_context(locale="en-US", viewport={"width": 375, "height": 812}, is_mobile=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    try:
        page.goto(url)
        expect(page.locator("h1")).to_have_text("Boulangerie Émile")
        expect(page.locator("[data-testid=privacy]")).to_contain_text("Do not share its link")
        expect(page.locator("[data-testid=runtime]")).to_have_class("big urgency-ok")
        expect(page.locator("[data-testid=monthly]")).to_have_text("11.750 iSC")  # 12 × 0.5 + 3 × 1.25 + 4 × 0.5
        expect(page.locator("[data-testid=partner]")).to_contain_text("Alpine Telecom is your partner for iSC")
        expect(page.locator("[data-testid=pbx]")).to_have_count(2)
        expect(page.locator("[data-testid=terms]")).to_contain_text("accepted by Émile Durand")
        fits(page, 375)
        shoot(page, tmp_path, "customer-375-en")
        [key] = server.issue_keys("25")
        page.fill("#key", key)
        page.get_by_role("button", name="Load the key").click()
        expect(page.locator("[data-testid=notice]")).to_contain_text("Activation key loaded: +25.000 iSC.")
        page.screenshot(path=str(tmp_path / "customer-375-en-loaded.png"))
        if os.environ.get("RENTDESK_SCREENSHOTS"):
            shutil.copy(tmp_path / "customer-375-en-loaded.png", os.environ["RENTDESK_SCREENSHOTS"])
        expect(page.locator("[data-testid=history] li").first).to_contain_text("by you, on this page")
        page.fill("#key", key)  # the same key again: the technician's reason, next to the field
        page.get_by_role("button", name="Load the key").click()
        expect(page.locator("[data-testid=key-error]")).to_contain_text("redeemed before")
        expect(page.locator("[data-testid=notice]")).to_contain_text("The key was not loaded")  # seen first
        page.locator("#key-h").scroll_into_view_if_needed()
        page.screenshot(path=str(tmp_path / "customer-375-en-refused.png"))
        if os.environ.get("RENTDESK_SCREENSHOTS"):
            shutil.copy(tmp_path / "customer-375-en-refused.png", os.environ["RENTDESK_SCREENSHOTS"])
        fits(page, 375)
        assert all(request.startswith(url.split("/customer/")[0]) for request in requests)  # nothing elsewhere
    finally:
        context.close()


def test_on_a_desktop_in_french_the_customer_ends_a_rent_after_the_confirmation(browser, server, tmp_path):
    url = customer_account(server, "fr")
    context, page = _page(browser, "fr-FR")
    try:
        page.goto(url)
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        expect(page.locator("[data-testid=privacy]")).to_contain_text("Ne partagez pas son lien")
        expect(page.locator("[data-testid=monthly]")).to_have_text("11,750 iSC")
        fits(page, 1024)
        shoot(page, tmp_path, "customer-1024-fr")
        page.locator("[data-testid=end-rent]").nth(1).click()
        expect(page.locator("[data-testid=from-second]")).to_contain_text(
            "Plus rien n’est facturé pour Bakery workshop à partir de la seconde où vous confirmez.")
        shoot(page, tmp_path, "customer-confirm-1024-fr")
        page.get_by_role("button", name="Oui, arrêter la location maintenant").click()
        expect(page.locator("[data-testid=notice]")).to_contain_text("La location de Bakery workshop est terminée")
        expect(page.locator("[data-testid=monthly]")).to_have_text("9,750 iSC")  # without 4 × 0.5
        expect(page.locator("[data-testid=end-rent]")).to_have_count(1)
        expect(page.locator("[data-testid=history] li").first).to_contain_text("par vous, sur cette page")
    finally:
        context.close()


def test_on_a_phone_in_french_and_a_desktop_in_english_the_page_reads_well(browser, server, tmp_path):
    url_fr = customer_account(server, "fr")
    context = browser.new_context(locale="fr-FR", viewport={"width": 375, "height": 812}, is_mobile=True)
    try:
        page = context.new_page()
        page.goto(url_fr)
        expect(page.locator("[data-testid=balance]")).to_contain_text("iSC")
        fits(page, 375)
        shoot(page, tmp_path, "customer-375-fr")
        page.screenshot(path=str(tmp_path / "customer-375-fr-top.png"))  # what the phone shows first
        page.locator("#statement").screenshot(path=str(tmp_path / "customer-375-fr-statement.png"))
        if os.environ.get("RENTDESK_SCREENSHOTS"):
            for name in ("customer-375-fr-top", "customer-375-fr-statement"):
                shutil.copy(tmp_path / f"{name}.png", os.path.join(os.environ["RENTDESK_SCREENSHOTS"], f"{name}.png"))
    finally:
        context.close()
    context, page = _page(browser, "en-US")
    try:
        page.goto(url_fr.rsplit("/", 1)[0] + "/" + "A" * 64)
        expect(page.locator("h1")).to_have_text("Not found")
        page.goto(url_fr)
        fits(page, 1024)
        expect(page.locator("[data-testid=statement] tbody tr")).to_have_count(3)
        shoot(page, tmp_path, "customer-1024-en-account-fr")
    finally:
        context.close()


def test_the_readme_screenshot_desktop_english(browser, server, tmp_path):
    url = customer_account(server, "en")
    context, page = _page(browser, "en-US")
    try:
        page.goto(url)
        expect(page.locator("[data-testid=statement] tbody tr")).to_have_count(3)
        fits(page, 1024)
        shoot(page, tmp_path, "customer-1024-en")
    finally:
        context.close()


def test_names_as_long_as_allowed_and_without_a_space_wrap_and_the_page_stays_as_wide_as_the_screen(
        browser, server, tmp_path):
    """200 characters are allowed in a name, a PBX name and a technician's name, 100 in the partner's (R27's page
    shows them all): a name without a space breaks where it must; the page never scrolls sideways (it was 2,663 px
    wide at 1,024: the end-rent button, the history and the statement's PBX column went off the screen)."""
    with httpx.Client(base_url=server.url, timeout=30) as http:
        api = Api.for_http(http, server.add_technician("P" * 100, "T" * 200), server.ctx, server.clock,
                           server.keyring)
        account_id = str(uuid.uuid4())
        api.applied(api.op("create_account", account_id, name="A" * 200, contact_email="emile@example.com",
                           cloud_contract=False, language="fr"))
        api.load(account_id, "120")
        api.register(account_id, "pbx-1", name="X" * 200, serial="S" * 100)
        assert api.set_licenses(account_id, {"01-00010-001": 12}, "pbx-1")["status"] == "applied"
        server.clock.advance(3 * DAY)
        status, body = api.call("POST", f"/accounts/{account_id}/customer-link")
        assert status == 200, body
    for width in (375, 1024):
        context = browser.new_context(locale="fr-FR", viewport={"width": width, "height": 812})
        try:
            page = context.new_page()
            page.goto(body["url"])
            expect(page.locator("[data-testid=balance]")).to_contain_text("iSC")
            shoot(page, tmp_path, f"customer-{width}-long-names")
            fits(page, width)
        finally:
            context.close()


def test_the_customers_key_field_shows_a_key_of_a_vendor_kid_like_vendor_2026_whole(browser, server, tmp_path):
    """A key of the vendor's kid "vendor-2026" has 202 characters (the demo's 189): the customer's key field shows it
    whole on a phone and a desktop, to check against the card without scrolling inside it (R11, R27)."""
    url = customer_account(server, "fr")
    typed = ("ISC1-" + "-".join(["K7M2Q"] * 40))[:202]
    for width in (375, 1024):
        context = browser.new_context(locale="fr-FR", viewport={"width": width, "height": 812})
        try:
            page = context.new_page()
            page.goto(url)
            page.fill("#key", typed)
            height, shown = page.evaluate("[document.querySelector('#key').scrollHeight, "
                                          "document.querySelector('#key').clientHeight]")
            assert height <= shown, width
        finally:
            context.close()
