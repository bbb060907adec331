"""The price list screen's R23 list is computed for now with rental/, as the account page is (SPEC R23, R24): an
account whose automatic reload fell due offline after a newer list arrived was re-rated at that reload's second (a
connection event), so it leaves the list at that very second, before any sync; an account without reload still runs
at the older list and stays on it. Against a live license server, the clock moved (never slept on), English and
French."""

from __future__ import annotations

import re

from license_server import admin

from app.web.state import EXTENSION

from .live import running_account, server, server_account, text  # noqa: F401  (server: a fixture)


def _older_list(client) -> str:
    """The words of the price list screen's R23 section (empty when no account runs at an older list)."""
    page = client.get("/prices/")
    assert page.status_code == 200
    section = re.search(rb'<section class="notice info" data-testid="older-list">.*?</section>', page.data, re.S)
    return text(section[0]) if section else ""


def test_an_account_re_rated_by_a_reload_offline_leaves_the_price_list_screen_at_the_reload_second_R23_R24(
        unlocked, csrf, server, clock, app):
    reloading, _ = running_account(unlocked, csrf, server, credit="10", name="Hôtel Azur")  # 5 iSC a month
    [held] = server.issue_keys("10", 1)
    assert unlocked.post(reloading + "/deposit", data={"deposit_key": held, "csrf_token": csrf}).status_code == 302
    assert unlocked.post(reloading + "/reload", data={"auto_reload_days": "28", "csrf_token": csrf}).status_code == 302
    running_account(unlocked, csrf, server, credit="100", name="Villa Calme")  # no reload; the two above synced too
    reload_at = server_account(server, reloading.rsplit("/", 1)[-1])["reload_at"]
    assert reload_at is not None
    newer = admin.demo_pricelist()
    newer["version"] = "2027-02"
    server.publish_prices(newer)
    unlocked.post("/sync/run", data={"csrf_token": csrf})  # the laptop holds 2027-02; neither account is re-rated
    server.stop()  # offline from here: nobody syncs

    clock.set(reload_at - 1)  # a second before the reload: both still run at the older list
    before = _older_list(unlocked)
    assert "Hôtel Azur — runs at 2026-11" in before and "Villa Calme — runs at 2026-11" in before
    app.extensions[EXTENSION].language = "fr"
    before = _older_list(unlocked)
    assert "Hôtel Azur — utilise 2026-11" in before and "Villa Calme — utilise 2026-11" in before

    clock.set(reload_at)  # the reload's second: a connection event re-rates the account at 2027-02 (R24)
    french = _older_list(unlocked)
    assert "Hôtel Azur" not in french and "Villa Calme — utilise 2026-11" in french
    app.extensions[EXTENSION].language = "en"
    english = _older_list(unlocked)
    assert "Hôtel Azur" not in english and "Villa Calme — runs at 2026-11" in english
    assert "price list 2027-02" in text(unlocked.get(reloading).data)  # the account page says the same
