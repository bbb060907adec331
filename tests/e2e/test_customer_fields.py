"""The customer's fields in Chromium (issue 22): an accented e-mail domain typed in the e-mail field (which Chromium
submits as punycode) is shown as typed; the name field says its limit and cuts nothing."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from . import steps


def test_an_accented_email_domain_typed_in_chromium_is_shown_as_typed(page, live_app, license_server):
    steps.first_run(page, live_app)
    account = steps.create_account(page, live_app, "Société Générale", "compta@société-générale.fr")
    page.goto(account)
    expect(page.locator("main")).to_contain_text("compta@société-générale.fr")
    expect(page.locator("main")).not_to_contain_text("xn--")


def test_the_customer_name_field_says_its_limit_and_cuts_nothing(page, live_app, license_server):
    """A name pasted longer than the limit stays whole in the field (a maxlength would cut it without a word), its
    hint turns to a warning, and the app refuses it with the limit said, nothing queued."""
    steps.first_run(page, live_app)
    page.goto(live_app.url("/accounts/new"))
    hint = page.locator("#name-limit")
    expect(hint).to_have_text("At most 200 characters.")
    expect(hint).not_to_have_class(re.compile(r"\bover\b"))
    name = ("Syndicat intercommunal des eaux du Haut-Jura " * 7)[:300]
    page.fill("#name", name)  # as a paste: the whole text at once
    expect(page.locator("#name")).to_have_value(name)
    expect(hint).to_have_class(re.compile(r"\bover\b"))
    page.fill("#name", name[:200])
    expect(hint).not_to_have_class(re.compile(r"\bover\b"))
    page.fill("#name", name)
    page.fill("#contact_email", "eau@haut-jura.example")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("main")).to_contain_text("must be 1 to 200 printable characters: it has 300.")
    expect(page.locator("#name")).to_have_value(name)  # kept whole for the technician to shorten


def test_a_refused_field_is_described_by_its_error_next_to_it_not_only_by_its_hint(page, live_app, license_server):
    """Keyboard and screen-reader users: the error said next to a refused field is part of the field's accessible
    description, beside its limit hint. Two aria-describedby attributes on one field (the hint's, the error's) left
    the browser only the first, the hint: the error was never read out with the field."""
    token = license_server.add_technician("Alpine Telecom", "Ann")
    license_server.publish_terms()
    page.goto(live_app.launch_url)
    page.fill("#passphrase", "short")
    page.fill("#confirm", "short")
    page.locator("#passphrase").press("Enter")  # keyboard only
    expect(page.locator("#passphrase-error")).to_be_visible()
    expect(page.locator("#passphrase")).to_have_accessible_description(
        re.compile(re.escape(page.locator("#passphrase-error").inner_text().strip()[:40])))
    steps.first_run(page, live_app, license_server, token)
    steps.sync_now(page, live_app)  # the rental terms the signatory accepts (R26)
    page.goto(live_app.url("/accounts/new"))
    long_name = ("Syndicat intercommunal des eaux du Haut-Jura " * 7)[:300]
    page.fill("#name", long_name)
    page.fill("#contact_email", "eau@haut-jura.example")
    page.check("input[name=terms_accepted]")
    page.fill("#accepted_by", long_name)
    page.locator("#accepted_by").press("Enter")
    expect(page.locator("#name-error")).to_be_visible()
    expect(page.locator("#name")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#name")).to_have_accessible_description(
        re.compile(r"must be 1 to 200 printable characters: it has 300\..*At most 200 characters\."))
    expect(page.locator("#accepted_by")).to_have_accessible_description(
        re.compile(r"must be 1 to 200 printable characters: it has 300\..*At most 200 characters\."))


def test_a_pbx_name_of_200_characters_without_a_space_never_widens_a_screen_at_1024(page, live_app, license_server):
    """200 characters are allowed in a PBX's name, and a name may have no space (a serial, a made-up word): the
    notice that says it was added, the changes waiting (account page, sync screen), the history and the statement
    wrap it; none is wider than the 1,024 px screen (the notice and the waiting change made them 2,090 px)."""
    token = license_server.add_technician("Alpine Telecom", "T" * 200)
    [key] = license_server.issue_keys("100", 1)
    steps.first_run(page, live_app, license_server, token)
    steps.sync_now(page, live_app)
    account = steps.create_account(page, live_app, "A" * 200, "it@hotel.example")
    steps.load_key(page, account, key)
    steps.add_pbx(page, account, "X" * 200, "S" * 100)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024, "the PBX page with its notice"
    steps.set_quantities(page, {"01-00010-001": 10})
    steps.queue_licenses(page)
    for name, url in (("the account page", account), ("the sync screen", live_app.url("/sync/")),
                      ("the history", account + "/history"), ("the accounts", live_app.url("/accounts/"))):
        page.goto(url)
        assert page.evaluate("document.documentElement.scrollWidth") <= 1024, name
    steps.sync_now(page, live_app)
    for name, url in (("the statement", account + "/statement"), ("the account page, synced", account)):
        page.goto(url)
        assert page.evaluate("document.documentElement.scrollWidth") <= 1024, name


def test_the_french_account_list_with_a_key_and_changes_queued_fits_1024(page_fr, live_app, license_server):
    """In French the words are longer ("pas encore synchronisé", "+100,000 iSC pas encore confirmés", "2 en
    attente"): the list of an account created offline with a key queued is no wider than the 1,024 px screen (it
    was 1,057 px, the queued badge cut at the right edge)."""
    token = license_server.add_technician("Alpine Telecom", "Ann")
    [key] = license_server.issue_keys("100", 1)
    steps.first_run(page_fr, live_app, license_server, token)
    steps.sync_now(page_fr, live_app)
    steps.french(page_fr, live_app)
    account = steps.create_account(page_fr, live_app, "Hotel du Lac", "it@hotel.example")
    steps.load_key(page_fr, account, key)
    page_fr.goto(live_app.url("/accounts/"))
    expect(page_fr.locator("#account-list")).to_contain_text("pas encore confirmés")
    assert page_fr.evaluate("document.documentElement.scrollWidth") <= 1024


def test_a_key_of_a_vendor_kid_like_vendor_2026_shows_whole_in_the_key_fields_at_1024(page, live_app, license_server):
    """A key grows with the vendor's signing key id: "vendor-2026" makes 202 characters (the demo's 189), typed
    with its dashes or with spaces. The load and deposit fields show it whole, without scrolling inside them, so
    the technician can check it against the card (the load field hid its first line at 1,024 px)."""
    steps.first_run(page, live_app)
    account = steps.create_account(page, live_app, "Hotel du Lac", "it@hotel.example")
    page.goto(account)
    groups = "-".join(["K7M2Q"] * 40)
    for typed in (("ISC1-" + groups)[:202], ("ISC1 " + groups.replace("-", " "))[:202]):
        for field in ("#key", "#deposit_key"):
            page.fill(field, typed)
            height, shown = page.evaluate(f"[document.querySelector('{field}').scrollHeight, "
                                          f"document.querySelector('{field}').clientHeight]")
            assert height <= shown, (field, len(typed))


def test_a_refused_form_puts_the_focus_on_the_field_refused_for_a_keyboard_user(page, live_app, license_server):
    """Keyboard only: a key refused (the form swapped in place), a key to deposit refused (the page drawn again),
    an account refused on its e-mail: the focus is on the field whose error is said next to it, to correct it at
    once. It was on the page itself, a dozen Tabs away."""
    steps.first_run(page, live_app)
    account = steps.create_account(page, live_app, "Hotel du Lac", "it@hotel.example")
    page.goto(account)
    for field in ("#key", "#deposit_key"):
        page.focus(field)
        page.keyboard.type("ISC1-NOT-A-KEY")
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        expect(page.locator(field)).to_have_attribute("aria-invalid", "true")
        expect(page.locator(field)).to_be_focused()
    page.goto(live_app.url("/accounts/new"))
    page.fill("#name", "Garage Roux")
    page.fill("#contact_email", "not an address")
    page.locator("#contact_email").press("Enter")
    expect(page.locator("#contact_email")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#contact_email")).to_be_focused()
