"""The rental terms in Chromium (R26): the "Software rental" section shows the vendor's terms after a sync, in
English and French, still offline; a new account records the customer's acceptance, which the server keeps."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from . import steps

V1 = {"version": "2027-01", "texts": {
    "en": "# Rental contract\n\nRent is charged **per second**.\n\n## Ending the rent\n\nAt any time.",
    "fr": "# Contrat de location\n\nLe loyer est décompté **à la seconde**.\n\n## Fin de la location\n\nÀ tout moment."}}


def test_the_technician_reads_the_terms_offline_and_the_customer_accepts_them_on_a_new_account(
        page, live_app, license_server, tmp_path):
    license_server.publish_terms(V1)
    token = license_server.add_technician("Alpine Telecom", "Ann")
    steps.first_run(page, live_app, license_server, token)
    steps.sync_now(page, live_app)  # brings the price list and the terms
    license_server.stop()  # on site: offline from here on

    page.goto(live_app.url("/accounts/"))
    page.get_by_role("link", name="Software rental").click()
    expect(page.locator("h1").first).to_have_text("Software rental")
    expect(page.locator("[data-testid=terms-version]")).to_contain_text("version 2027-01")
    terms = page.locator("[data-testid=terms-text]")
    expect(terms.locator("h1")).to_have_text("Rental contract")
    expect(terms.locator("strong")).to_have_text("per second")
    page.get_by_role("link", name="Français").click()
    expect(terms.locator("h2")).to_have_text("Fin de la location")
    page.screenshot(path=str(tmp_path / "software-rental.png"), full_page=True)

    page.goto(live_app.url("/accounts/new"))
    page.fill("#name", "Hotel du Lac")
    page.fill("#contact_email", "it@hotel-du-lac.example")
    acceptance = page.locator("[data-testid=terms-acceptance]")
    expect(acceptance).to_contain_text("The customer has read and accepts the rental terms version 2027-01")
    acceptance.locator("summary").click()  # read them together on the laptop
    expect(acceptance.locator(".terms-text h1")).to_have_text("Rental contract")
    page.fill("#accepted_by", "Claire Martin")
    page.click("form.panel button[type=submit]")  # the box is not ticked
    expect(page.locator("#accepted_by-error")).to_contain_text("R26")
    expect(page.locator("#accepted_by")).to_have_value("Claire Martin")  # nothing typed is lost
    page.check("input[name=terms_accepted]")
    page.click("form.panel button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Hotel du Lac")
    account_id = re.search(r"/accounts/([0-9a-f-]{36})", page.url).group(1)

    license_server.start()  # back at the office
    assert "1 applied" in steps.sync_now(page, live_app)
    with license_server.client(token) as client:
        signed = license_server.keyring.verify_envelope(client.get(f"/accounts/{account_id}").json(), "account")
    assert (signed["terms_version"], signed["terms_accepted_by"]) == ("2027-01", "Claire Martin")
    assert signed["terms_accepted_at"] == license_server.clock.now


def test_a_french_technician_sees_the_section_in_french(page_fr, live_app, license_server):
    license_server.publish_terms(V1)
    token = license_server.add_technician("Alpine Telecom", "Ann")
    steps.first_run(page_fr, live_app, license_server, token)
    steps.sync_now(page_fr, live_app)
    page_fr.goto(live_app.url("/rental/"))
    expect(page_fr.locator("h1").first).to_have_text("Location de logiciels")
    expect(page_fr.locator("[data-testid=terms-text] h1")).to_have_text("Contrat de location")
