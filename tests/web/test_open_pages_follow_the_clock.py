"""An open page follows the clock, not only the syncs: what it shows of an account changes by time alone at known
seconds — the credit runs out and the account stops (R10, R18), an automatic reload falls due and re-rates it (R24,
R23) — and the page's watch fires at that very second, with no sync, so its title, facts and PBX list agree with the
meter beside them and with what rental/ computes for now. Against a live license server, offline after the set-up,
the clock moved (never slept on)."""

from __future__ import annotations

import html
import re

from license_server import admin

from app.web.state import EXTENSION

from .conftest import htmx
from .live import reloading_account, running_account, server, server_account, text  # noqa: F401  (server: a fixture)


def _watch(page: bytes) -> str:
    """Where the page's watch asks whether what it shows moved (#sync-watch's hx-get)."""
    return html.unescape(re.search(r'id="sync-watch"[^>]*hx-get="([^"]+)"', page.decode())[1])


def _hears(client, watch: str) -> bool:
    """Whether the watch, asked now, fires the event the page's components refresh on."""
    answer = client.get(watch, headers=htmx())
    if answer.status_code == 204:
        return False
    assert answer.status_code == 200 and answer.headers["HX-Trigger"] == "rentdesk:synced"
    return True


def _next_watch(client, watch: str) -> str:
    """The watch after it fired: it reads the page again (?part=watch) for the next second to watch."""
    fired = client.get(watch, headers=htmx())
    again = html.unescape(re.search(r'hx-get="([^"]+)"', fired.data.decode())[1])
    assert "part=watch" in again
    return _watch(client.get(again, headers=htmx()).data)


def test_the_account_page_open_when_the_credit_runs_out_refreshes_at_that_second_R10_R18(
        unlocked, csrf, server, clock):
    account, _licenses = running_account(unlocked, csrf, server, credit="10")  # 5 iSC a month: two months
    depletes_at = server_account(server, account.rsplit("/", 1)[-1])["depletes_at"]
    server.stop()  # offline from here: no sync will tell the page
    page = unlocked.get(account)
    assert "active" in text(unlocked.get(account + "?part=title", headers=htmx()).data)
    watch = _watch(page.data)

    clock.set(depletes_at - 1)
    assert not _hears(unlocked, watch)  # nothing shown changed yet
    clock.set(depletes_at)  # R18: the account stops at this second, as the server will say
    assert _hears(unlocked, watch)
    assert "suspended" in text(unlocked.get(account + "?part=title", headers=htmx()).data)
    assert "suspended" in text(unlocked.get(account + "?part=pbxs", headers=htmx()).data)
    assert 'data-testid="suspended"' in unlocked.get(account + "/meter", headers=htmx()).data.decode()
    # stopped, nothing more changes by time alone: the next watch waits for syncs only
    again = _next_watch(unlocked, watch)
    assert "due=" not in again
    clock.advance(400 * 86_400)
    assert not _hears(unlocked, again)


def test_the_pbx_page_and_the_accounts_list_open_when_the_credit_runs_out_refresh_at_that_second_R18(
        unlocked, csrf, server, clock, app):
    account, licenses = running_account(unlocked, csrf, server, credit="10")
    depletes_at = server_account(server, account.rsplit("/", 1)[-1])["depletes_at"]
    server.stop()
    pbx = licenses.removesuffix("/licenses")
    app.extensions[EXTENSION].language = "fr"
    clock.set(depletes_at - 3_600)  # the list is drawn again at the R14 horizons too (test below): opened after them
    watches = {url: _watch(unlocked.get(url).data) for url in (pbx, "/accounts/")}
    clock.set(depletes_at - 1)
    assert not any(_hears(unlocked, watch) for watch in watches.values())
    clock.set(depletes_at)
    assert all(_hears(unlocked, watch) for watch in watches.values())
    assert "suspendu" in text(unlocked.get(pbx + "?part=title", headers=htmx()).data)
    assert "suspendu" in text(unlocked.get("/accounts/", headers=htmx()).data)


def test_an_automatic_reload_falling_due_refreshes_the_account_page_and_the_price_list_screen_R24_R23(
        unlocked, csrf, server, clock):
    account, reload_at = reloading_account(unlocked, csrf, server)
    newer = admin.demo_pricelist()
    newer["version"] = "2027-02"
    server.publish_prices(newer)
    unlocked.post("/sync/run", data={"csrf_token": csrf})  # the laptop holds 2027-02; the account runs at 2026-11
    server.stop()
    pages = {url: unlocked.get(url).data for url in (account, "/prices/")}
    assert "Hôtel Azur — runs at 2026-11" in text(pages["/prices/"])
    assert "price list 2026-11" in text(unlocked.get(account + "?part=facts", headers=htmx()).data)
    watches = {url: _watch(page) for url, page in pages.items()}

    clock.set(reload_at - 1)
    assert not any(_hears(unlocked, watch) for watch in watches.values())
    clock.set(reload_at)  # R24: the key is redeemed at this second, a connection event re-rating at 2027-02 (R23)
    assert all(_hears(unlocked, watch) for watch in watches.values())
    assert "price list 2027-02" in text(unlocked.get(account + "?part=facts", headers=htmx()).data)
    assert "Hôtel Azur" not in text(unlocked.get("/prices/?part=list", headers=htmx()).data)
    # the account page watches on: next, the second its credit runs out (now counting the reloaded key)
    again = _next_watch(unlocked, watches[account])
    assert not _hears(unlocked, again)
    clock.advance(400 * 86_400)
    assert _hears(unlocked, again)


def test_the_accounts_list_is_drawn_again_when_a_rows_runtime_crosses_the_r14_horizon_and_seven_days_R14(
        unlocked, csrf, server, clock):
    """A row's runtime is coloured by rental.rules.urgency: under the server's R14 horizon (30 days) it warns, under
    7 days it is urgent. The open list is drawn again at each of those seconds, not only at the stop."""
    account, _ = running_account(unlocked, csrf, server, credit="10")
    depletes_at = server_account(server, account.rsplit("/", 1)[-1])["depletes_at"]
    server.stop()
    # the first second with less than 30, then 7 days left
    for colour, at in (("urgency-warn", depletes_at - 30 * 86_400 + 1), ("urgency-danger", depletes_at - 7 * 86_400 + 1)):
        watch = _watch(unlocked.get("/accounts/").data)
        clock.set(at - 1)
        assert not _hears(unlocked, watch)
        clock.set(at)
        assert _hears(unlocked, watch)
        assert colour in unlocked.get("/accounts/", headers=htmx()).data.decode()
