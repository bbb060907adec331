"""Issue 21 item 6 in Chromium: a sync made in the background (the app's syncer, against a live license server)
refreshes what an open page shows, component by component, without a reload; and nothing the technician does
meanwhile is lost (a press held over a refresh still clicks where it was aimed, text typed in a refreshing panel
stays as typed)."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import expect

from license_server import admin

from . import steps

MARK = "window.rentdeskNotReloaded"  # set on the open page: still there after a refresh, gone after a reload
#: How long the first look after a sync may wait (ms): the page's watch asks every 2 s, then each component asks.
AFTER_SYNC = 10_000


def the_other_laptop_loads(server, token, account_url: str, key: str) -> None:
    """A colleague's laptop (the partner's token, straight to the API) loads a key on the account."""
    account_id = account_url.rstrip("/").rsplit("/", 1)[-1]
    op = {"op_id": str(uuid.uuid4()), "kind": "redeem_key", "account_id": account_id, "key": key}
    with server.client(token) as client:
        answer = client.post("/sync", json={"client_id": str(uuid.uuid4()), "ops": [op]}).json()
    assert server.keyring.verify_envelope(answer["results"][0], "op-result")["status"] == "applied"


def a_price_rise(server) -> None:
    """The vendor publishes list 2027-02: the account's page then says a newer list applies (R23)."""
    data = admin.demo_pricelist()
    data["version"] = "2027-02"
    server.publish_prices(data)


def press_on(page, locator) -> None:
    """The technician's finger down on an element, not yet released."""
    locator.scroll_into_view_if_needed()
    box = locator.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()


def test_a_background_sync_refreshes_the_open_account_page_and_loses_no_click(page, live_app, license_server,
                                                                             tmp_path):
    token = license_server.add_technician("Acme Partner", "Ann")
    [first, second, third] = license_server.issue_keys("100", 3)
    steps.first_run(page, live_app, license_server, token)
    account = steps.create_account(page, live_app, "Hotel du Lac", "it@hotel-du-lac.example")
    steps.load_key(page, account, first)  # queued: nothing reached the server yet
    page.goto(account)
    page.evaluate(MARK + " = true")
    chip = page.locator("#sync-chip")
    expect(chip).to_contain_text("Not synced yet")
    expect(chip).to_contain_text("2 queued")
    expect(page.locator(".meter-panel")).to_contain_text("+100.000 iSC not yet confirmed")
    expect(page.locator("#account-ops")).to_contain_text("Changes waiting for the server")
    expect(page.locator("#account-title .badge")).to_have_text("not yet synced")
    expect(page.locator("#account-chart")).to_contain_text("with pending changes")  # the dashed line

    # the background syncer sends both changes: every component showing them follows, the page is not reloaded
    assert live_app.background_sync().applied == 2
    expect(chip).to_contain_text("Online", timeout=AFTER_SYNC)
    expect(chip).not_to_contain_text("queued")
    expect(page.locator("[data-testid=balance]")).to_have_text("100.000 iSC")
    expect(page.locator(".meter-panel")).not_to_contain_text("not yet confirmed")
    expect(page.locator("#account-ops")).not_to_contain_text("Changes waiting")
    expect(page.locator("#account-title .badge")).to_have_text("idle")
    expect(page.locator("#account-chart")).not_to_contain_text("with pending changes")
    expect(page.locator("#account-facts")).to_contain_text("verified by the server at")
    expect(page.locator("#server-answers")).to_contain_text("Load activation key")
    expect(page.locator("#history")).to_contain_text("Account created: Hotel du Lac")
    assert page.evaluate(MARK) is True

    # a press on "Add PBX" held while a sync brings a newer price list, whose notice (R23) grows the top of the
    # page: the refresh waits for the release, and the click lands on "Add PBX", not on what slid under the pointer.
    # A window tall enough to show "Add PBX" unscrolled (Chromium would otherwise keep the scrolled view in place).
    page.set_viewport_size({"width": 1024, "height": 1400})
    a_price_rise(license_server)
    press_on(page, page.get_by_role("link", name="Add PBX"))
    assert live_app.background_sync().ok
    # its refresh came under the press: held
    expect(page.locator("#account-facts[data-stale]")).to_have_count(1, timeout=AFTER_SYNC)
    expect(page.locator("#account-facts")).not_to_contain_text("R23")
    page.mouse.up()
    expect(page).to_have_url(re.compile(r"/pbx/new$"))
    page.set_viewport_size({"width": 1024, "height": 768})
    page.fill("#name", "Reception")
    page.fill("#serial", "SN-1001")
    page.fill("#firmware", "13r2")
    page.click("form.panel button[type=submit]")
    expect(page.locator("#license-editor")).to_be_visible()

    # text typed in a panel a sync refreshes stays as typed while the rest of the page follows the sync
    page.goto(account)
    page.evaluate(MARK + " = true")
    expect(page.locator("#account-facts")).to_contain_text("Price list 2027-02 is newer")
    page.fill("#deposit_key", third[:30])  # half typed, the field still focused
    the_other_laptop_loads(license_server, token, account, second)  # a connection event: re-rated at 2027-02
    assert live_app.background_sync().applied == 1  # the PBX registered; the colleague's key pulled
    expect(page.locator("[data-testid=balance]")).to_have_text("200.000 iSC", timeout=AFTER_SYNC)
    expect(page.locator("#account-facts")).not_to_contain_text("is newer")
    expect(page.locator("#auto-reload[data-stale]")).to_have_count(1)
    expect(page.locator("#deposit_key")).to_have_value(third[:30])
    expect(page.locator("#deposit_key")).to_be_focused()
    assert page.evaluate(MARK) is True
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(tmp_path / "refreshed-while-typing.png"))  # 1024×768, as the fixture opens it

    # a press on a PBX in the list while that very list is refreshed: it is not swapped under the press
    page.fill("#deposit_key", "")
    the_other_laptop_loads(license_server, token, account, third)
    press_on(page, page.locator("#pbx-list a", has_text="Reception"))
    assert live_app.background_sync().accounts_updated == 1
    expect(page.locator("#pbx-list[data-stale]")).to_have_count(1, timeout=AFTER_SYNC)
    page.mouse.up()
    expect(page).to_have_url(re.compile(r"/pbx/[^/]+$"))
    expect(page.locator("#pbx-title")).to_contain_text("Reception")


def test_the_license_editor_open_over_a_background_sync_shows_the_colleagues_licenses_before_queuing(
        page, live_app, license_server):
    token, _account, pbx = steps.partner_customer(page, live_app, license_server, {"01-00010-001": 40},
                                                  expect_monthly="20.000 iSC")
    page.goto(pbx)
    steps.set_quantities(page, {"01-00010-001": 45}, expect_monthly="22.500 iSC")  # typed on the 40 shown
    steps.another_laptop_sets_licenses(license_server, token, pbx, {"01-00010-001": 60})
    assert live_app.background_sync().accounts_updated == 1  # learnt while the editor is open

    page.click("#license-editor button[type=submit]")
    notice = page.locator("[data-testid=editor-changed]")
    expect(notice).to_contain_text("nothing was queued")
    expect(notice).to_contain_text("The server now holds: 60 × IP port license (per device)")
    expect(page.locator("#qty-01-00010-001")).to_have_value("45")  # as typed
    expect(page.locator("#editor-summary")).to_contain_text("30.000 iSC")  # now: the 60 at 0.500 iSC
    expect(page.locator("#sync-chip")).not_to_contain_text("queued")

    page.click("#license-editor button[type=submit]")  # seen: queued as asked
    expect(page.locator(".meter-panel")).to_be_visible()
    assert "1 applied" in steps.sync_now(page, live_app)


def test_the_reload_select_chosen_over_a_background_sync_shows_the_colleagues_setting_before_queuing_R24(
        page, live_app, license_server):
    token, account, _pbx = steps.partner_customer(page, live_app, license_server, {"01-00010-001": 10},
                                                  expect_monthly="5.000 iSC")
    page.goto(account)
    page.select_option("#auto_reload_days", "14")  # chosen on the "off" shown, not yet saved
    steps.another_laptop_edits_account(license_server, token, account, auto_reload_days=28)
    assert live_app.background_sync().accounts_updated == 1  # learnt while the select is open
    expect(page.locator("#auto-reload[data-stale]")).to_have_count(1, timeout=AFTER_SYNC)  # not swapped under it

    page.click("#reload-form button[type=submit]")
    notice = page.locator("[data-testid=reload-changed]")
    expect(notice).to_contain_text("nothing was queued")
    expect(notice).to_contain_text("Reload: 28 days before the credit runs out")
    expect(page.locator("#auto_reload_days")).to_have_value("14")  # as chosen
    expect(page.locator("#sync-chip")).not_to_contain_text("queued")

    page.click("#reload-form button[type=submit]")  # seen: queued as asked
    expect(page.locator("#auto-reload")).to_contain_text("change queued")
    assert "1 applied" in steps.sync_now(page, live_app)


def test_the_open_price_list_screen_follows_a_background_sync_that_brings_a_newer_list(page, live_app, license_server):
    token = license_server.add_technician("Acme Partner", "Ann")
    steps.first_run(page, live_app, license_server, token)
    page.goto(live_app.url("/prices/"))
    page.evaluate(MARK + " = true")
    expect(page.locator("#price-list")).to_contain_text("No price list on this laptop yet")
    assert live_app.background_sync().ok  # the first list
    expect(page.locator("#price-list")).to_contain_text("version 2026-11", timeout=AFTER_SYNC)
    page.fill("#q", "voicemail")  # a search, then cleared: the screen is as drawn again
    expect(page.locator("#price-items")).not_to_contain_text("IP port license")
    page.fill("#q", "")
    page.locator("h1").click()
    expect(page.locator("#price-items")).to_contain_text("IP port license")
    a_price_rise(license_server)
    assert live_app.background_sync().ok
    expect(page.locator("#price-list")).to_contain_text("version 2027-02", timeout=AFTER_SYNC)
    assert page.evaluate(MARK) is True
