"""Issue 21 item 4, walked in Chromium: two laptops (two app stores, two technicians of one partner) on one account
against a real license server on 127.0.0.1. Laptop A raises App platform 1 → 2 and syncs; laptop B, offline, sets it
to 0 and syncs: a conflict. B's screen shows what re-applying would do to what the server holds now
("App platform license (per instance) 2 → 0") and asks; confirming gives 0 on the server, cancelling leaves the
server at 2, "Edit on the current state" starts from the server's 2. The same for account fields: A renames, B
renames offline."""

from __future__ import annotations

import re
import struct
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from . import steps
from .conftest import CHROMIUM_ARGS, LiveApp  # noqa: F401

IP_PORT = "01-00010-001"  # 0.500 iSC a month
APP = "01-00030-001"  # App platform license (per instance), 4.000 iSC a month
APP_NAME = "App platform license (per instance)"
HOUR = 3600


@pytest.fixture
def laptop_b(tmp_path, license_server):
    """A second laptop: its own encrypted store and app, on the same license server and clock."""
    app = LiveApp(tmp_path / "laptop-b", license_server.clock)
    yield app
    app.stop()


@pytest.fixture
def page_b(browser):
    context = browser.new_context(locale="en-US", viewport={"width": 1024, "height": 768})
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def _path(url: str) -> str:
    return urlparse(url).path


def _held_by_server(server, token: str, account_url: str) -> dict:
    """The account as the license server signs it now (read over its API, verified)."""
    account_id = _path(account_url).rstrip("/").rsplit("/", 1)[-1]
    with server.client(token) as client:
        return server.keyring.verify_envelope(client.get(f"/accounts/{account_id}").json(), "account")


def _app_platform_on_server(server, token, account_url) -> int:
    [pbx] = _held_by_server(server, token, account_url)["pbxs"]
    return {line["ref"]: line["qty"] for line in pbx["licenses"]}.get(APP, 0)


def _one_account_on_two_laptops(page, page_b, a, b, server):
    """A makes the account (100 iSC, PBX Reception with 10 IP ports and 1 App platform) and syncs; B's first sync
    brings it. Returns (account path, PBX path, a technician token to read the server with)."""
    token_a, token_b = server.add_technician(name="Ann"), server.add_technician(name="Bob")
    account, pbx = steps.customer_with_licenses(page, a, server, token_a, {IP_PORT: 10, APP: 1},
                                                expect_monthly="9.000 iSC")
    steps.first_run(page_b, b, server, token_b)
    steps.sync_now(page_b, b)
    page_b.goto(b.url(_path(pbx)))
    expect(page_b.locator(f"#qty-{APP}")).to_have_value("1")  # B holds what A did
    return _path(account), _path(pbx), token_a


def _app_platform_conflict_on_b(page, page_b, a, b, server):
    """A raises App platform 1 → 2 and syncs; B, offline, sets it to 0, then syncs: B's sync screen shows the
    conflict row. Returns (account path, PBX path, token)."""
    account, pbx, token = _one_account_on_two_laptops(page, page_b, a, b, server)
    server.clock.advance(HOUR)
    page.goto(a.url(pbx))
    steps.set_quantities(page, {APP: 2}, expect_monthly="13.000 iSC")
    steps.queue_licenses(page)
    assert "1 applied" in steps.sync_now(page, a)
    server.stop()  # B works offline
    page_b.goto(b.url(pbx))
    steps.set_quantities(page_b, {APP: 0}, expect_monthly="5.000 iSC")
    steps.queue_licenses(page_b)
    server.start()
    assert "1 conflict" in steps.sync_now(page_b, b)
    assert _app_platform_on_server(server, token, account) == 2
    return account, pbx, token


def _open_review(page_b):
    row = page_b.locator("#sync-result table.ops tr", has_text="Set licenses")
    expect(row).to_contain_text("conflict")
    # the row says what it would override, not only what it asks for (it read "IP port license … × 10")
    expect(row.locator("[data-testid=overrides]")).to_have_text(
        f"Re-applying it would change on the server: {APP_NAME} 2 → 0")
    row.get_by_role("link", name="Re-apply on the new state").click()
    expect(page_b.locator("h1")).to_have_text("Re-apply this change?")


def _choose_language(page, app, code: str) -> None:
    """The technician picks RentDesk's language in Settings."""
    page.goto(app.url("/settings/"))
    form = page.locator("form", has=page.locator("#language"))
    form.locator("#language").select_option(code)
    form.locator("button[type=submit]").click()
    expect(page.locator("html")).to_have_attribute("lang", code)


def _png_size(path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


def test_b_is_shown_app_platform_2_to_0_and_asked_and_confirming_gives_0_on_the_server(
        page, page_b, live_app, laptop_b, license_server, tmp_path):
    account, pbx, token = _app_platform_conflict_on_b(page, page_b, live_app, laptop_b, license_server)
    _open_review(page_b)
    changes = page_b.locator("[data-testid=reapply-change]")
    expect(changes).to_have_text([f"{APP_NAME} 2 → 0"])  # against the server's 2, item by item
    assert _app_platform_on_server(license_server, token, account) == 2  # nothing done by opening it
    page_b.screenshot(path=str(tmp_path / "reapply-review-en.png"))
    review = page_b.url
    _choose_language(page_b, laptop_b, "fr")
    page_b.goto(review)
    expect(page_b.locator("h1")).to_have_text("Réappliquer cette modification ?")
    expect(changes).to_have_text([f"{APP_NAME} 2 → 0"])
    expect(page_b.locator("[data-testid=confirm-reapply]")).to_have_text("Réappliquer et faire ces changements")
    page_b.screenshot(path=str(tmp_path / "reapply-review-fr.png"))
    assert _png_size(tmp_path / "reapply-review-en.png") == _png_size(tmp_path / "reapply-review-fr.png") == (1024, 768)
    _choose_language(page_b, laptop_b, "en")
    page_b.goto(review)

    page_b.locator("[data-testid=confirm-reapply]").click()
    expect(page_b.locator(".notice.ok").first).to_contain_text("queued again on the newest state")
    assert "1 applied" in steps.sync_now(page_b, laptop_b)
    assert _app_platform_on_server(license_server, token, account) == 0


def test_cancel_leaves_the_server_at_2_and_the_change_waiting(page, page_b, live_app, laptop_b, license_server):
    account, pbx, token = _app_platform_conflict_on_b(page, page_b, live_app, laptop_b, license_server)
    _open_review(page_b)
    page_b.locator("[data-testid=cancel-reapply]").click()
    expect(page_b).to_have_url(re.compile(r"/sync/$"))
    expect(page_b.locator("#sync-result table.ops tr", has_text="Set licenses")).to_contain_text("conflict")
    assert "0 changes sent" in steps.sync_now(page_b, laptop_b)
    assert _app_platform_on_server(license_server, token, account) == 2


def test_edit_on_the_current_state_starts_from_the_servers_2_and_replaces_the_waiting_change(
        page, page_b, live_app, laptop_b, license_server):
    account, pbx, token = _app_platform_conflict_on_b(page, page_b, live_app, laptop_b, license_server)
    _open_review(page_b)
    page_b.locator("[data-testid=edit-current]").click()
    expect(page_b.locator("[data-testid=editing-current]")).to_be_visible()
    expect(page_b.locator(f"#qty-{APP}")).to_have_value("2")
    page_b.wait_for_load_state("load")
    steps.set_quantities(page_b, {APP: 1}, expect_monthly="9.000 iSC")
    steps.queue_licenses(page_b)
    report = steps.sync_now(page_b, laptop_b)
    assert "1 applied" in report and "conflict" not in report
    expect(page_b.locator("#sync-result")).to_contain_text("Nothing is waiting")
    assert _app_platform_on_server(license_server, token, account) == 1


def _rename(page, app, account: str, name: str) -> None:
    page.goto(app.url(account + "/edit"))
    page.fill("#name", name)
    page.click("form.panel button[type=submit]")
    expect(page.locator("h1")).to_contain_text(name)


def test_b_renaming_offline_is_shown_the_servers_name_then_its_own_and_confirming_renames(
        page, page_b, live_app, laptop_b, license_server):
    account, _pbx, token = _one_account_on_two_laptops(page, page_b, live_app, laptop_b, license_server)
    license_server.clock.advance(HOUR)
    _rename(page, live_app, account, "Lac Hotel")
    assert "1 applied" in steps.sync_now(page, live_app)
    license_server.stop()  # B works offline
    _rename(page_b, laptop_b, account, "Hotel du Lac & Spa")
    license_server.start()
    assert "1 conflict" in steps.sync_now(page_b, laptop_b)
    assert _held_by_server(license_server, token, account)["name"] == "Lac Hotel"
    row = page_b.locator("#sync-result table.ops tr", has_text="Edit account")
    row.get_by_role("link", name="Re-apply on the new state").click()
    expect(page_b.locator("[data-testid=reapply-change]")).to_have_text(["name Lac Hotel → Hotel du Lac & Spa"])
    page_b.locator("[data-testid=confirm-reapply]").click()
    expect(page_b.locator(".notice.ok").first).to_contain_text("queued again on the newest state")
    assert "1 applied" in steps.sync_now(page_b, laptop_b)
    assert _held_by_server(license_server, token, account)["name"] == "Hotel du Lac & Spa"
