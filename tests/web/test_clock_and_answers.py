"""The laptop's clock off or set back is noticed and shown on every screen (issue 8), worded from its numbers in the
UI's language; figures are the server's time; the server's signed answers and R6 warnings show on sync and account."""

from __future__ import annotations

import html
import re

import pytest

from tests.support.license_server import FakeClock, LiveLicenseServer

from .conftest import START, htmx

DAY = 86_400
IP_PORT = "01-00010-001"  # 0.500 iSC a month
SCREENS = ("/accounts/", "/sync/", "/prices/", "/settings/")


def new_account(client, csrf, name="Acme Hotel"):
    response = client.post("/accounts/new", data={"name": name, "contact_email": "it@acme.example",
                                                  "language": "en", "csrf_token": csrf})
    assert response.status_code == 302, response.data
    return response.headers["Location"]


def banner(page: str) -> str:
    """The clock banner's words in a page ('' when there is none), tags and spacing removed."""
    match = re.search(r'<div id="clock-notice"[^>]*>(.*?)</div>\s*</header>', page, re.DOTALL)
    assert match, "every unlocked page has the clock banner's place in its header"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", match.group(1))).split())


def go_online(client, csrf, server, token):
    response = client.post("/settings/server", data={"server_url": server.url, "token": token, "csrf_token": csrf})
    assert response.status_code == 302, response.data


def sync(client, csrf) -> str:
    page = client.post("/sync/run", data={"csrf_token": csrf}).data.decode()
    assert "Sync complete" in page or "Synchronisation terminée" in page, page
    return page


@pytest.fixture
def server_ahead(tmp_path):
    """A license server whose clock reads 3 days and 5 minutes later than the laptop's (the laptop is behind)."""
    server = LiveLicenseServer(tmp_path / "server", clock=FakeClock(START + 3 * DAY + 300)).start()
    yield server
    server.stop()


@pytest.fixture
def server_in_step(tmp_path, clock):
    """A license server on the laptop's own clock: both agree on the time."""
    server = LiveLicenseServer(tmp_path / "server", clock=clock).start()
    yield server
    server.stop()


# --------------------------------------------------------------------------- no notice while all is well


def test_no_clock_banner_shows_while_the_laptop_clock_is_as_it_was(unlocked, csrf):
    new_account(unlocked, csrf)
    for path in SCREENS:
        assert banner(unlocked.get(path).data.decode()) == "", path


# --------------------------------------------------------------------------- a clock set back


def test_a_laptop_clock_set_back_a_day_shows_a_banner_on_every_screen(unlocked, csrf, clock):
    account = new_account(unlocked, csrf)  # a write notes the laptop's time
    clock.set(START - DAY)
    for path in SCREENS + (account, account + "/statement", account + "/pbx/new", "/accounts/new"):
        words = banner(unlocked.get(path).data.decode())
        assert "Check this laptop's clock." in words and "went back by 1 day" in words, path


def test_a_clock_set_back_is_said_in_french_with_french_numbers(unlocked, csrf, clock):
    new_account(unlocked, csrf)
    unlocked.post("/settings/language", data={"language": "fr", "csrf_token": csrf})
    clock.set(START - 26 * 3600)
    words = banner(unlocked.get("/settings/").data.decode())
    assert "Vérifiez l’horloge de cet ordinateur." in words
    assert "a reculé de 1 jour 2 heures" in words and "went back" not in words


def test_the_chips_poll_swaps_the_clock_banner_in_out_of_band(unlocked, csrf, clock):
    new_account(unlocked, csrf)
    quiet = unlocked.get("/sync/chip", headers=htmx()).data.decode()
    assert 'id="clock-notice"' in quiet and 'hx-swap-oob="true"' in quiet
    assert 'data-testid="clock-notice"' not in quiet  # an empty banner: a shown one goes away
    clock.set(START - 2 * DAY)
    polled = unlocked.get("/sync/chip", headers=htmx()).data.decode()
    assert 'hx-swap-oob="true"' in polled and "went back by 2 days" in polled


def test_the_figures_do_not_move_back_with_the_laptops_clock(unlocked, csrf, clock):
    account = new_account(unlocked, csrf)
    before = unlocked.get(account + "/meter", headers=htmx()).data.decode()
    clock.set(START - 30 * DAY)
    after = unlocked.get(account + "/meter", headers=htmx()).data.decode()
    as_of = re.compile(r"as of ([^<]+)<")
    assert as_of.search(before).group(1) == as_of.search(after).group(1) == "Jan 15, 2027 8:00\u202fAM"


# --------------------------------------------------------------------------- a laptop clock behind the server's


def test_a_laptop_behind_the_server_says_so_and_counts_in_the_servers_time(unlocked, csrf, server_ahead):
    token = server_ahead.add_technician("Acme Partners", "Ann")
    go_online(unlocked, csrf, server_ahead, token)
    account = new_account(unlocked, csrf)
    sync(unlocked, csrf)  # the create_account result carries the server's signed time
    page = unlocked.get(account).data.decode()
    words = banner(page)
    assert "This laptop's clock is 3 days behind the license server's" in words
    assert "signed answers" in words and "went back" not in words
    # the meter is as of the server's second, 3 days after the laptop's clock
    assert "as of Jan 18, 2027 8:05\u202fAM" in page
    sync_page = unlocked.get("/sync/").data.decode()
    assert re.search(r'data-testid="clock-offset">\s*<span class="badge warn">3 days behind the server', sync_page)
    assert sync_page.count('data-testid="clock-notice"') == 1  # the header's banner, not twice


def test_a_laptop_behind_the_server_is_said_in_french(unlocked, csrf, server_ahead):
    token = server_ahead.add_technician("Acme Partners", "Ann")
    go_online(unlocked, csrf, server_ahead, token)
    new_account(unlocked, csrf)
    unlocked.post("/settings/language", data={"language": "fr", "csrf_token": csrf})
    sync(unlocked, csrf)
    words = banner(unlocked.get("/accounts/").data.decode())
    assert "L’horloge de cet ordinateur retarde de 3 jours sur celle du serveur de licences" in words
    assert "18 janv. 2027" in words  # when it was learned, the French way


def test_a_laptop_in_step_with_the_server_shows_no_banner_and_says_in_step(unlocked, csrf, server_in_step):
    token = server_in_step.add_technician("Acme Partners", "Ann")
    go_online(unlocked, csrf, server_in_step, token)
    new_account(unlocked, csrf)
    page = sync(unlocked, csrf)
    assert "in step with the server" in page
    assert banner(unlocked.get("/accounts/").data.decode()) == ""


# --------------------------------------------------------------------------- the server's answers, R6 warnings


def _customer_with_licenses(client, csrf, server, token, qty):
    go_online(client, csrf, server, token)
    sync(client, csrf)  # the price list
    account = new_account(client, csrf)
    [key] = server.issue_keys("100", 1)
    assert client.post(account + "/key", data={"key": key, "csrf_token": csrf}).status_code == 302
    pbx = client.post(account + "/pbx/new", data={"name": "Lobby", "serial": "SN-1", "platform": "vmware",
                                                  "firmware": "13r2", "mode": "rental", "csrf_token": csrf})
    pbx_url = pbx.headers["Location"]
    assert client.post(pbx_url + "/licenses", data={f"qty-{IP_PORT}": str(qty), "csrf_token": csrf}).status_code == 302
    sync(client, csrf)
    return account, pbx_url


def test_a_restore_the_server_warns_about_shows_its_r6_warning_on_sync_and_account_screens(
        unlocked, csrf, server_in_step, clock):
    token = server_in_step.add_technician("Acme Partners", "Ann")
    account, pbx_url = _customer_with_licenses(unlocked, csrf, server_in_step, token, 10)
    clock.advance(3600)
    assert unlocked.post(pbx_url + "/licenses", data={f"qty-{IP_PORT}": "5", "csrf_token": csrf}).status_code == 302
    sync(unlocked, csrf)  # reduced: the laptop remembers it
    clock.advance(3600)
    asked = unlocked.post(pbx_url + "/licenses", data={f"qty-{IP_PORT}": "10", "csrf_token": csrf}).data.decode()
    assert 'name="confirm_warnings"' in asked  # R6: nothing queued before "I understand"
    assert unlocked.post(pbx_url + "/licenses", data={f"qty-{IP_PORT}": "10", "confirm_warnings": "yes",
                                                      "csrf_token": csrf}).status_code == 302
    report = sync(unlocked, csrf)
    assert 'data-testid="sync-warnings"' in report and "reduce-then-restore" in report
    sync_page = unlocked.get("/sync/").data.decode()
    answers = sync_page.split('id="server-answers"')[1]
    assert "Acme Hotel" in answers and 'data-testid="result-warning"' in answers and "applied" in answers
    account_page = unlocked.get(account).data.decode()
    assert 'data-testid="result-warning"' in account_page.split('id="server-answers"')[1]

    unlocked.post("/settings/language", data={"language": "fr", "csrf_token": csrf})
    french = unlocked.get(account).data.decode().split('id="server-answers"')[1]
    assert "réduction-puis-rétablissement" in french and "appliqué" in french
    assert "Raising" not in french


def test_sync_now_answers_htmx_with_the_clock_banner_out_of_band(unlocked, csrf, server_ahead):
    token = server_ahead.add_technician("Acme Partners", "Ann")
    go_online(unlocked, csrf, server_ahead, token)
    new_account(unlocked, csrf)
    answer = unlocked.post("/sync/run", data={"csrf_token": csrf}, headers=htmx()).data.decode()
    assert "<html" not in answer and 'id="sync-result"' in answer
    banner_part = answer.split('<div id="clock-notice"')[1]
    assert 'hx-swap-oob="true"' in banner_part and "3 days behind the license server" in html.unescape(banner_part)


def test_sync_now_answers_htmx_with_the_header_chip_out_of_band_so_the_queue_badge_empties(
        unlocked, csrf, server_in_step):
    token = server_in_step.add_technician("Acme Partners", "Ann")
    go_online(unlocked, csrf, server_in_step, token)
    new_account(unlocked, csrf)
    assert "1 queued" in unlocked.get("/sync/chip").data.decode()
    answer = unlocked.post("/sync/run", data={"csrf_token": csrf}, headers=htmx()).data.decode()
    chip = answer.split('<div id="sync-chip" hx-swap-oob="innerHTML">')[1].split("</div>")[0]
    assert "Online" in chip and "queued" not in chip


def test_the_progress_bar_says_which_accounts_a_big_first_listing_is_keeping(unlocked, csrf, app):
    from app.web.state import EXTENSION
    app.extensions[EXTENSION].sync_progress.update(state="running", step=2, total=4, code="storing-accounts",
                                                   params={"first": 501, "last": 1000, "total": 5000})
    page = unlocked.get("/sync/progress").data.decode()
    assert "Fetching accounts and prices…" in page and "Keeping accounts 501–1,000 of 5,000…" in page
    unlocked.post("/settings/language", data={"language": "fr", "csrf_token": csrf})
    page = html.unescape(unlocked.get("/sync/progress").data.decode())
    assert re.search(r"Enregistrement des comptes 501 à 1\s000 sur 5\s000…", page)
