"""The customer's fields in Chromium (issue 22): an accented e-mail domain typed in the e-mail field (which Chromium
submits as punycode) is shown as typed; the name field stops at its limit and says it."""

from __future__ import annotations

from playwright.sync_api import expect

from . import steps


def test_an_accented_email_domain_typed_in_chromium_is_shown_as_typed(page, live_app, license_server):
    steps.first_run(page, live_app)
    account = steps.create_account(page, live_app, "Société Générale", "compta@société-générale.fr")
    page.goto(account)
    expect(page.locator("main")).to_contain_text("compta@société-générale.fr")
    expect(page.locator("main")).not_to_contain_text("xn--")


def test_the_customer_name_field_says_its_limit_and_takes_no_more(page, live_app, license_server):
    steps.first_run(page, live_app)
    page.goto(live_app.url("/accounts/new"))
    expect(page.locator("#name-limit")).to_have_text("At most 200 characters.")
    page.fill("#name", "x" * 200)
    page.locator("#name").press("End")
    page.keyboard.type("yz")  # typing past the limit adds nothing; the limit is said beside the field
    expect(page.locator("#name")).to_have_value("x" * 200)
