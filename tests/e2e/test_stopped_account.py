"""A stopped installation in Chromium (issue 13, R18): the meter says what to load; a key too small is said so as
it is typed, before anything is queued; a big enough one says it restarts the account; after the sync the
server agrees. In English and in French, at 1024×768."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from . import steps

IP_PORT = "01-00010-001"  # 0.500 iSC per month
DAY, MONTH = 86_400, 2_629_800


def a_stopped_customer(page, app, server, token) -> str:
    """10 IP ports on 10 iSC (two months), synced, then three months later: stopped. Returns the account URL."""
    [key] = server.issue_keys("10", 1)
    steps.first_run(page, app, server, token)
    steps.sync_now(page, app)  # the price list and the server's policy
    account = steps.create_account(page, app, "Boulangerie Émile", "emile@boulangerie.example")
    steps.load_key(page, account, key)
    steps.add_pbx(page, account, "Fournil", "SN-2001")
    steps.set_quantities(page, {IP_PORT: 10})
    steps.queue_licenses(page)
    assert re.search(r"4 (applied|appliqués)", steps.sync_now(page, app))
    server.clock.advance(3 * MONTH)
    return account


def type_key(page, key: str) -> None:
    page.fill("#key", key)  # the form answers as it is typed (htmx, after a short pause): nothing is queued


def test_a_key_too_small_then_one_big_enough_said_before_anything_is_queued(page, live_app, license_server):
    token = license_server.add_technician("Acme Telecom", "Ann")
    account = a_stopped_customer(page, live_app, license_server, token)
    page.goto(account)
    stopped = page.locator("[data-testid=suspended]")
    expect(stopped).to_contain_text("Stopped: the credit is used up.")
    expect(stopped).to_contain_text(re.compile(r"Load at least 0\.1\d\d iSC"))

    [small] = license_server.issue_keys("0.05", 1)
    type_key(page, small)
    said = page.locator("[data-testid=key-preview]")
    expect(said).to_contain_text("+0.050 iSC")
    expect(said).to_contain_text("Not enough to restart the stopped installation")
    expect(page.locator(".pending-line")).to_have_count(0)  # nothing queued while typing

    [big] = license_server.issue_keys("5", 1)
    type_key(page, big)
    expect(said).to_contain_text("+5.000 iSC")
    expect(said).to_contain_text("This key restarts the stopped installation at the next sync.")
    page.click("#key-form button[type=submit]")
    expect(page.locator(".notice.ok").first).to_contain_text("Activation key queued: +5.000 iSC")
    assert "1 applied" in steps.sync_now(page, live_app)
    page.goto(account)
    expect(page.locator("[data-testid=suspended]")).to_have_count(0)
    expect(page.locator("[data-testid=ends]")).not_to_have_text("—")


def test_the_stopped_account_and_its_key_form_in_french(page_fr, live_app, license_server):
    token = license_server.add_technician("Acme Telecom", "Ann")
    account = a_stopped_customer(page_fr, live_app, license_server, token)
    page_fr.goto(account)
    expect(page_fr.locator("[data-testid=suspended]")).to_contain_text("Arrêtée : le crédit est épuisé.")
    expect(page_fr.locator("[data-testid=suspended]")).to_contain_text(re.compile(r"Chargez au moins 0,1\d\d iSC"))
    [small] = license_server.issue_keys("0.05", 1)
    type_key(page_fr, small)
    said = page_fr.locator("[data-testid=key-preview]")
    expect(said).to_contain_text("+0,050 iSC")
    expect(said).to_contain_text("Pas assez pour redémarrer l’installation arrêtée")
