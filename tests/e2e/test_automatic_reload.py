"""Automatic reload (R24) in Chromium: a key deposited offline, reload switched on, synced; the meter names the reload
at its exact second, and at that second the app, still offline, shows what the server answers."""

from __future__ import annotations

from playwright.sync_api import expect

from app.web.i18n import fmt_isc, fmt_moment

from . import steps

IP_PORT = "01-00010-001"  # 0.500 iSC per month


def _server_account(server, token: str, account_url: str) -> dict:
    account_id = account_url.rstrip("/").rsplit("/", 1)[-1]
    with server.client(token) as http:
        return server.keyring.verify_envelope(http.get(f"/accounts/{account_id}").json(), "account")


def test_a_key_deposited_offline_is_synced_and_the_reload_shows_at_its_second(page, live_app, license_server):
    token = license_server.add_technician("Acme Partner", "Ann")
    [credit] = license_server.issue_keys("10", 1)
    [held] = license_server.issue_keys("5", 1)
    steps.first_run(page, live_app, license_server, token)
    steps.sync_now(page, live_app)
    account = steps.create_account(page, live_app, "Hotel du Lac", "it@hotel-du-lac.example")
    steps.load_key(page, account, credit)
    steps.add_pbx(page, account, "Reception", "SN-1001")
    steps.set_quantities(page, {IP_PORT: 10}, expect_monthly="5.000 iSC")
    steps.queue_licenses(page)
    assert "4 applied" in steps.sync_now(page, live_app)

    license_server.stop()  # offline: the key is verified on the laptop and queued
    page.goto(account)
    page.fill("#deposit_key", held)
    page.click("#deposit-form button[type=submit]")
    expect(page.locator("[data-testid=deposits]")).to_contain_text("5.000 iSC")
    expect(page.locator("[data-testid=deposits]")).to_contain_text("not yet confirmed")
    page.select_option("#auto_reload_days", "28")
    page.click("#reload-form button[type=submit]")
    expect(page.locator("#auto-reload")).to_contain_text("change queued")

    license_server.start()
    report = steps.sync_now(page, live_app)
    assert "2 changes sent" in report and "2 applied" in report
    server = _server_account(license_server, token, account)
    assert server["reload_at"] == server["depletes_at"] - 28 * 86_400
    with live_app.app.test_request_context():
        when = fmt_moment(server["reload_at"])
    page.goto(account)
    expect(page.locator("[data-testid=reloads]")).to_have_text(f"+5.000 iSC automatically on {when}")
    expect(page.locator("[data-testid=deposits]")).not_to_contain_text("not yet confirmed")

    license_server.stop()  # offline again, and time reaches the reload's second
    license_server.clock.set(server["reload_at"])
    page.goto(account)
    expect(page.locator("#auto-reload")).to_contain_text("No key is held for this account.")
    license_server.start()
    at_the_second = _server_account(license_server, token, account)
    with live_app.app.test_request_context():
        balance = fmt_isc(at_the_second["balance_ticks"])
    expect(page.locator("[data-testid=balance]")).to_have_text(balance)
    assert at_the_second["deposits"] == []
