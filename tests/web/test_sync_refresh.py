"""Issue 21 item 6 through the web face: a page watches the store's sync generation it was drawn at; a sync that
changes what screens show fires the one event components listen to (HX-Trigger: rentdesk:synced); each component
showing synced data fetches itself alone (?part=)."""

from __future__ import annotations

import re

import pytest

from tests.support.license_server import LiveLicenseServer

from .conftest import htmx


@pytest.fixture
def server(tmp_path, clock):
    server = LiveLicenseServer(tmp_path / "server", clock=clock).start()
    yield server
    server.stop()


def watched_generation(page: bytes) -> int:
    return int(re.search(rb'id="sync-watch"[^>]*/sync/changed\?since=(\d+)', page).group(1))


def test_a_page_watches_the_generation_it_was_drawn_at_and_hears_nothing_while_no_sync_changed_it(unlocked):
    page = unlocked.get("/accounts/").data
    since = watched_generation(page)
    answer = unlocked.get(f"/sync/changed?since={since}", headers=htmx())
    assert answer.status_code == 204 and "HX-Trigger" not in answer.headers


def test_a_sync_that_changes_the_screens_fires_rentdesk_synced_once_and_the_watch_moves_on(unlocked, csrf):
    since = watched_generation(unlocked.get("/accounts/").data)
    unlocked.post("/sync/run", data={"csrf_token": csrf})  # no server set: the header now says why it failed
    answer = unlocked.get(f"/sync/changed?since={since}", headers=htmx())
    assert answer.status_code == 200 and answer.headers["HX-Trigger"] == "rentdesk:synced"
    moved = watched_generation(answer.data)
    assert moved > since
    assert unlocked.get(f"/sync/changed?since={moved}", headers=htmx()).status_code == 204  # heard once


def test_an_attempt_failing_as_the_one_before_changes_no_screen(unlocked, csrf):
    """Offline, the background syncer retries with back-off: the same failure again refreshes nothing."""
    unlocked.post("/sync/run", data={"csrf_token": csrf})
    since = watched_generation(unlocked.get("/accounts/").data)
    unlocked.post("/sync/run", data={"csrf_token": csrf})
    assert unlocked.get(f"/sync/changed?since={since}", headers=htmx()).status_code == 204


def test_a_sync_sending_a_change_is_heard_and_each_account_component_comes_alone(unlocked, csrf, server):
    token = server.add_technician("Acme Telecom", "Ann")
    assert unlocked.post("/settings/server", data={"server_url": server.url, "token": token,
                                                   "csrf_token": csrf}).status_code == 302
    made = unlocked.post("/accounts/new", data={"name": "Hôtel Azur", "contact_email": "it@azur.example",
                                                "language": "en", "csrf_token": csrf})
    account = made.headers["Location"]
    since = watched_generation(unlocked.get(account).data)
    unlocked.post("/sync/run", data={"csrf_token": csrf})
    assert unlocked.get(f"/sync/changed?since={since}", headers=htmx()).headers["HX-Trigger"] == "rentdesk:synced"
    page = unlocked.get(account).data.decode()
    for part, element in (("title", '<h1 class="long-title" id="account-title"'), ("facts", '<div id="account-facts"'),
                          ("chart", '<section class="panel" id="account-chart"'), ("pbxs", '<div id="pbx-list"'),
                          ("ops", '<div id="account-ops"'), ("answers", '<div id="account-answers"'),
                          ("reload", '<section class="panel" id="auto-reload"')):
        alone = unlocked.get(f"{account}?part={part}", headers=htmx()).data.decode()
        assert alone.lstrip().startswith(element) and "<html" not in alone, part
        # the component names itself and listens to the one event
        assert f'hx-get="{account}?part={part}"' in alone and 'rentdesk:synced from:body' in alone, part
        assert element in page, part
    assert "Create account" in unlocked.get(f"{account}?part=answers", headers=htmx()).data.decode()


def test_the_sync_screen_and_the_statement_components_come_alone(unlocked, csrf):
    for part, element in (("status", '<section class="panel" id="sync-status"'), ("queue", '<div id="sync-queue"'),
                          ("answers", '<div id="sync-answers"')):
        alone = unlocked.get(f"/sync/?part={part}", headers=htmx()).data.decode()
        assert alone.lstrip().startswith(element) and "<html" not in alone, part
    account = unlocked.post("/accounts/new", data={"name": "Hôtel Azur", "contact_email": "it@azur.example",
                                                   "language": "en", "csrf_token": csrf}).headers["Location"]
    alone = unlocked.get(f"{account}/statement?start=2027-01-01&end=2027-01-15&part=statement", headers=htmx())
    text = alone.data.decode()
    assert text.lstrip().startswith('<section class="panel" id="statement"') and "<form" not in text
    assert "start=2027-01-01" in text and "end=2027-01-15" in text  # it refreshes the period shown, not the default


def test_the_meter_keeps_the_line_of_credit_not_yet_confirmed_once_it_is_confirmed(unlocked, csrf):
    """What lies below the meter ("Add PBX") must not move under a click when a sync confirms a key (issue 21)."""
    account = unlocked.post("/accounts/new", data={"name": "Hôtel Azur", "contact_email": "it@azur.example",
                                                   "language": "en", "csrf_token": csrf}).headers["Location"]
    meter = unlocked.get(account + "/meter", headers=htmx()).data.decode()
    balance = meter[meter.index('data-testid="balance"'):meter.index('class="sub"')]
    assert '<div class="pending-space" aria-hidden="true">&nbsp;</div>' in balance


def test_the_price_list_screen_comes_alone_after_a_sync_with_the_list_it_brought(unlocked, csrf, server):
    """A price list arriving with a background sync shows on the open price list screen (its version, its R23
    notices, its items), with the search the screen was drawn with; the first one too."""
    token = server.add_technician("Acme Telecom", "Ann")
    assert unlocked.post("/settings/server", data={"server_url": server.url, "token": token,
                                                   "csrf_token": csrf}).status_code == 302
    page = unlocked.get("/prices/?q=voicemail").data.decode()
    assert 'hx-get="/prices/?part=list&amp;q=voicemail"' in page and "No price list on this laptop yet" in page
    unlocked.post("/sync/run", data={"csrf_token": csrf})  # the first list arrives while the screen is open
    alone = unlocked.get("/prices/?part=list&q=voicemail", headers=htmx()).data.decode()
    assert alone.lstrip().startswith('<div id="price-list"') and "<html" not in alone
    assert "version 2026-11" in alone and "Voicemail license" in alone and "IP port license" not in alone
    assert 'rentdesk:synced from:body' in alone


def test_the_software_rental_screen_comes_alone_after_a_sync_with_the_terms_it_brought_R26(unlocked, csrf, server):
    """The vendor publishes its rental terms (then a newer version) while the Software rental screen is open: the
    background sync brings them, and the screen's terms fetch themselves again, in the language it was drawn in."""
    token = server.add_technician("Acme Telecom", "Ann")
    assert unlocked.post("/settings/server", data={"server_url": server.url, "token": token,
                                                   "csrf_token": csrf}).status_code == 302
    page = unlocked.get("/rental/?lang=fr").data.decode()
    assert "No rental terms on this laptop yet" in page
    assert 'hx-get="/rental/?part=terms&amp;lang=fr"' in page or 'hx-get="/rental/?lang=fr&amp;part=terms"' in page
    version = server.publish_terms()
    unlocked.post("/sync/run", data={"csrf_token": csrf})  # the terms arrive while the screen is open
    alone = unlocked.get("/rental/?lang=fr&part=terms", headers=htmx()).data.decode()
    assert alone.lstrip().startswith('<div id="rental-terms"') and "<html" not in alone
    assert f"version {version}" in alone and 'lang="fr"' in alone and "rentdesk:synced from:body" in alone
