"""Issue 11 (field-ready) in Chromium at 1024×768: long names, the license editor, the French statement, first run."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from . import steps

#: the longest name an account takes (200 characters; 300 are refused with their length, tests/web)
LONG_NAME = ("Établissements Hôteliers de la Côte d'Émeraude — Résidence des Mouettes, bâtiment B " * 4)[:200]
APP_PLATFORM = "01-00030-001"  # 4.000 iSC per month
IP_PORT = "01-00010-001"


def fits_the_window(page) -> None:
    """Nothing sticks out of a 1024 px window: no sideways scroll, every column header inside it."""
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    for box in page.locator("th").evaluate_all("els => els.map(e => e.getBoundingClientRect().right)"):
        assert box <= 1024


def test_a_200_character_name_keeps_every_column_of_the_accounts_list_at_1024_px(page, live_app, license_server):
    token = license_server.add_technician("Acme Telecom", "Ann")
    steps.first_run(page, live_app, license_server, token)
    steps.sync_now(page, live_app)
    account = steps.create_account(page, live_app, LONG_NAME, "reception@mouettes-emeraude.example")
    steps.add_pbx(page, account, LONG_NAME, "SN-" + "7" * 90)
    steps.create_account(page, live_app, "Acme Hotel", "it@acme.example")
    page.goto(live_app.url("/accounts/"))
    fits_the_window(page)
    expect(page.locator("#account-list th")).to_have_count(7)
    name = page.locator("#account-list a.clip", has_text="Établissements")
    assert name.get_attribute("title") == LONG_NAME  # the whole name on hover
    assert name.bounding_box()["height"] < 60  # shortened to two lines, not 300 characters tall
    page.goto(account)
    fits_the_window(page)
    assert page.locator("h1 .clip").get_attribute("title") == LONG_NAME
    assert page.locator("h1").bounding_box()["height"] < 120
    for path in ("/sync/", "/prices/"):
        page.goto(live_app.url(path))
        fits_the_window(page)


def test_a_typing_error_in_the_editor_disables_queue_until_it_is_corrected(page, live_app, license_server):
    token = license_server.add_technician("Acme Telecom", "Ann")
    [key] = license_server.issue_keys("500", 1)
    steps.first_run(page, live_app, license_server, token)
    steps.sync_now(page, live_app)
    account = steps.create_account(page, live_app, "Hotel du Lac", "it@hotel-du-lac.example")
    steps.load_key(page, account, key)
    steps.add_pbx(page, account, "Reception", "SN-1001")
    steps.set_quantities(page, {IP_PORT: 10}, expect_monthly="5.000 iSC")
    button = page.locator("#license-editor button[type=submit]")
    expect(button).to_be_enabled()
    page.fill(f"#qty-{APP_PLATFORM}", "-2")  # a number input takes a minus sign
    expect(page.locator("[data-testid=typing-errors]")).to_contain_text(APP_PLATFORM)
    expect(button).to_be_disabled()
    expect(page.locator(".editor-summary")).not_to_contain_text("can be queued")
    page.fill(f"#qty-{APP_PLATFORM}", "2")
    expect(page.locator("[data-testid=after-monthly]")).to_have_text("13.000 iSC")
    expect(button).to_be_enabled()


def test_the_french_statement_reads_french_with_quantity_unit_price_and_french_dates(page_fr, live_app, license_server):
    page = page_fr
    token = license_server.add_technician("Acme Telecom", "Ann")
    [key] = license_server.issue_keys("500", 1)
    steps.first_run(page, live_app, license_server, token)
    expect(page.locator("html")).to_have_attribute("lang", "fr")  # the system's language
    steps.sync_now(page, live_app)
    account = steps.create_account(page, live_app, "Hôtel du Lac", "it@hotel-du-lac.example")
    steps.load_key(page, account, key)
    pbx = steps.add_pbx(page, account, "Accueil", "SN-1001")
    steps.set_quantities(page, {APP_PLATFORM: 3}, expect_monthly="12,000 iSC")
    steps.queue_licenses(page)
    steps.sync_now(page, live_app)
    license_server.clock.advance(86_400)
    page.goto(pbx)
    steps.set_quantities(page, {APP_PLATFORM: 4}, expect_monthly="16,000 iSC")
    steps.queue_licenses(page)
    steps.sync_now(page, live_app)
    page.goto(account + "/statement")
    table = page.locator("table.statement")
    expect(table.locator("thead")).to_contain_text("Quantité")
    expect(table.locator("thead")).to_contain_text("Prix unitaire par mois")
    expect(table.locator("[data-testid=unit-price]").first).to_have_text("4,000 iSC")
    start = page.locator("#start")
    assert start.get_attribute("type") == "text"
    assert re.fullmatch(r"\d\d/\d\d/\d{4}", start.input_value())  # jj/mm/aaaa, not mm/dd/yyyy
    assert page.locator("label[for=start]").inner_text().startswith("Du")


def test_first_run_against_a_live_server_with_a_wrong_token_says_what_failed_then_connects(page, live_app,
                                                                                          license_server):
    token = license_server.add_technician("Acme Telecom", "Ann")
    page.goto(live_app.launch_url)
    page.fill("#passphrase", steps.PASSPHRASE)
    page.fill("#confirm", steps.PASSPHRASE)
    page.fill("#server_url", license_server.url)
    page.fill("#token", token[:-3] + "xyz")
    page.click("button[value=online]")
    expect(page.locator("#token-error")).to_contain_text("does not know this token")
    page.fill("#passphrase", steps.PASSPHRASE)
    page.fill("#confirm", steps.PASSPHRASE)
    page.fill("#token", token)
    page.click("button[value=online]")
    expect(page).to_have_url(re.compile(r"/accounts/$"))
    expect(page.locator(".notice").first).to_contain_text("Connected as Ann, Acme Telecom.")
