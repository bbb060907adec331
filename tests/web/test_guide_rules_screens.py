"""The guide's money rules on the technician's screens (issue 13): a stopped account says what to load (R18), the
key form says before queueing whether a key restarts it, idle credit says until when it is kept (R19), the
daily consumption beside the monthly average (R16), the server's policy drives the colours, the PBX form
switches a purchased PBX to rental (R8). Against a real license server on 127.0.0.1, on the laptop's clock."""

from __future__ import annotations

import re
from html import unescape

import pytest

from rental.money import SECONDS_PER_DAY, TICKS_PER_MILLI
from tests.support.license_server import LiveLicenseServer

from .conftest import htmx
from .test_clock_and_answers import go_online, new_account, sync

IP_PORT = "01-00010-001"  # 0.500 iSC a month
DAY = SECONDS_PER_DAY
MONTH = 2_629_800


@pytest.fixture
def server(tmp_path, clock):
    server = LiveLicenseServer(tmp_path / "server", clock=clock, config={"MIN_CREDIT_DAYS": 30}).start()
    yield server
    server.stop()


def words(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def server_account(server, token, account_url: str) -> dict:
    account_id = account_url.rstrip("/").rsplit("/", 1)[-1]
    with server.client(token) as http:
        return server.keyring.verify_envelope(http.get(f"/accounts/{account_id}").json(), "account")


def key_text(server, milli: int) -> str:
    [key] = server.issue_keys(f"{milli // 1000}.{milli % 1000:03d}", 1)
    return key


def running_customer(client, csrf, server, *, isc: str = "10", qty: int = 10):
    """An account running qty IP ports on isc iSC (10 ports for 10 iSC: two months), synced."""
    token = server.add_technician("Acme Telecom", "Ann")
    go_online(client, csrf, server, token)
    sync(client, csrf)  # the price list and the policy it carries
    account = new_account(client, csrf)
    [key] = server.issue_keys(isc, 1)
    assert client.post(account + "/key", data={"key": key, "csrf_token": csrf}).status_code == 302
    pbx = client.post(account + "/pbx/new", data={"name": "Lobby", "serial": "SN-1", "platform": "vmware",
                                                  "firmware": "13r2", "mode": "rental", "csrf_token": csrf})
    pbx_url = pbx.headers["Location"]
    assert client.post(pbx_url + "/licenses", data={f"qty-{IP_PORT}": str(qty), "csrf_token": csrf}).status_code == 302
    sync(client, csrf)
    return account, pbx_url, token


def stopped_customer(client, csrf, server, clock):
    account, pbx_url, token = running_customer(client, csrf, server)
    clock.advance(3 * MONTH)  # the credit ran out after two months
    return account, pbx_url, token


def test_a_stopped_account_says_how_much_to_load_to_restart_it_r18(unlocked, csrf, server, clock):
    account, _pbx, token = stopped_customer(unlocked, csrf, server, clock)
    needs = server_account(server, token, account)["resume_needs_milli"]
    assert needs == -(-(12 * 500 * 10 * DAY - server_account(server, token, account)["balance_ticks"])
                      // TICKS_PER_MILLI)
    meter = words(unlocked.get(account + "/meter", headers=htmx()).data.decode())
    assert "Stopped: the credit is used up." in meter
    shown = f"{needs // 1000}.{needs % 1000:03d} iSC"
    assert f"Load at least {shown}" in meter and "pays it for 1 day." in meter and "(s)" not in meter


def test_the_key_form_says_before_queueing_whether_a_key_restarts_the_account(unlocked, csrf, server, clock):
    account, _pbx, token = stopped_customer(unlocked, csrf, server, clock)
    needs = server_account(server, token, account)["resume_needs_milli"]
    small = key_text(server, 100)
    said = words(unlocked.post(account + "/key/preview", data={"key": small, "csrf_token": csrf},
                               headers=htmx()).data.decode())
    missing = needs - 100
    assert "+0.100 iSC" in said and "Not enough to restart" in said
    assert f"{missing // 1000}.{missing % 1000:03d} iSC more are needed" in said
    queued = unlocked.post(account + "/key", data={"key": small, "csrf_token": csrf}, follow_redirects=True)
    assert "The credit does not yet resume the installation" in words(queued.data.decode())  # said when queued too
    enough = key_text(server, missing)
    said = words(unlocked.post(account + "/key/preview", data={"key": enough, "csrf_token": csrf},
                               headers=htmx()).data.decode())
    assert "This key restarts the stopped installation at the next sync." in said
    assert unlocked.post(account + "/key", data={"key": enough, "csrf_token": csrf}).status_code == 302
    sync(unlocked, csrf)
    assert server_account(server, token, account)["status"] == "active"  # the server decided alike
    assert "Stopped" not in words(unlocked.get(account + "/meter", headers=htmx()).data.decode())


def test_a_mistyped_key_is_said_as_it_is_typed_and_nothing_is_queued(unlocked, csrf, server, clock):
    account, _pbx, _token = running_customer(unlocked, csrf, server)
    said = words(unlocked.post(account + "/key/preview", data={"key": "ISC1-00U00", "csrf_token": csrf},
                               headers=htmx()).data.decode())
    assert "The key cannot contain 'U' (character 8)" in said
    assert unlocked.post(account + "/key/preview", data={"key": "", "csrf_token": csrf},
                         headers=htmx()).data.decode().strip() == ""
    assert "not yet confirmed" not in unlocked.get(account).data.decode()


def test_the_stopped_account_and_the_key_form_speak_french(unlocked, csrf, server, clock):
    account, _pbx, _token = stopped_customer(unlocked, csrf, server, clock)
    unlocked.post("/settings/language", data={"language": "fr", "csrf_token": csrf})
    meter = words(unlocked.get(account + "/meter", headers=htmx()).data.decode())
    assert "Arrêtée : le crédit est épuisé." in meter and "Chargez au moins 0,1" in meter
    said = words(unlocked.post(account + "/key/preview", data={"key": key_text(server, 50), "csrf_token": csrf},
                               headers=htmx()).data.decode())
    assert "+0,050 iSC" in said and "Pas assez pour redémarrer l’installation arrêtée" in said


def test_idle_credit_says_until_when_it_is_kept_r19(unlocked, csrf, server, clock):
    account, pbx_url, token = running_customer(unlocked, csrf, server, isc="100")
    clock.advance(DAY)
    assert unlocked.post(pbx_url + "/licenses", data={f"qty-{IP_PORT}": "0", "csrf_token": csrf}).status_code == 302
    sync(unlocked, csrf)
    kept = server_account(server, token, account)["retained_until"]
    assert kept == clock.now() + 2 * 31_557_600
    meter = words(unlocked.get(account + "/meter", headers=htmx()).data.decode())
    assert "the credit is kept until Jan 15, 2029" in meter and "(R19)" in meter


def test_the_meter_shows_the_daily_consumption_beside_the_monthly_average_r16(unlocked, csrf, server, clock):
    account, _pbx, _token = running_customer(unlocked, csrf, server, isc="100")
    meter = unlocked.get(account + "/meter", headers=htmx()).data.decode()
    # 10 ports × 0.500 iSC a month = 5 iSC a month; a day is 86,400 of the month's 2,629,800 s: 0.164 iSC
    assert "5.000 iSC" in words(meter) and "0.164 iSC a day · average, 1/12 of a year a month" in words(meter)
    assert "1/12 of a year" in meter and "per second" in meter  # the label says the monthly figure is an average


def test_the_colours_follow_the_servers_policy_not_a_fixed_30_days(unlocked, csrf, tmp_path, clock):
    strict = LiveLicenseServer(tmp_path / "strict", clock=clock, config={"MIN_CREDIT_DAYS": 60}).start()
    try:
        account, _pbx, _token = running_customer(unlocked, csrf, strict, isc="10", qty=5)  # 4 months of credit
        clock.advance(2 * MONTH + 10 * DAY)  # about 50 days left: fine at 30, a warning at the server's 60
        meter = unlocked.get(account + "/meter", headers=htmx()).data.decode()
        assert 'class="value urgency-warn' in meter
    finally:
        strict.stop()


def test_a_purchased_pbx_switches_to_rental_from_its_form_r8(unlocked, csrf, server, clock):
    token = server.add_technician("Acme Telecom", "Ann")
    go_online(unlocked, csrf, server, token)
    sync(unlocked, csrf)
    account = new_account(unlocked, csrf)
    pbx = unlocked.post(account + "/pbx/new", data={"name": "Old PBX", "serial": "SN-9", "platform": "vmware",
                                                    "firmware": "13r1", "mode": "purchased", "csrf_token": csrf})
    pbx_url = pbx.headers["Location"]
    sync(unlocked, csrf)
    form = unlocked.get(pbx_url + "/edit").data.decode()
    assert 'name="mode" value="rental"' in form and "disabled" not in form.split('name="mode"')[1][:60]
    assert 'name="purchased_removed"' in form  # R8: the form asks the technician to confirm
    data = {"name": "Old PBX", "serial": "SN-9", "platform": "vmware", "firmware": "13r1", "mode": "rental",
            "csrf_token": csrf}
    unconfirmed = unlocked.post(pbx_url + "/edit", data=data)
    assert unconfirmed.status_code == 200  # refused offline, next to the confirmation, nothing queued
    page = unconfirmed.data.decode()
    assert "remove them from the PBX, then confirm it" in page
    assert 'id="purchased_removed-error"' in page or 'aria-invalid="true"' in page.split('name="purchased_removed"')[1][:200]
    switched = unlocked.post(pbx_url + "/edit", data={**data, "purchased_removed": "yes"})
    assert switched.status_code == 302
    sync(unlocked, csrf)
    assert server_account(server, token, account)["pbxs"][0]["mode"] == "rental"


def test_the_meter_polled_every_second_reads_its_figures_and_verifies_no_signature(unlocked, csrf, server, clock,
                                                                                   monkeypatch):
    # issue 12: reads sized to the screen; the account page shows the server's answers (verified again), the meter not
    from rental.signing import Keyring

    account, _pbx, _token = running_customer(unlocked, csrf, server)
    calls = []
    real = Keyring.verify_envelope
    monkeypatch.setattr(Keyring, "verify_envelope", lambda self, *a, **k: calls.append(a) or real(self, *a, **k))
    unlocked.get(account)
    assert calls  # the control: the page verifies the answers it shows
    calls.clear()
    meter = unlocked.get(account + "/meter", headers=htmx())
    assert meter.status_code == 200 and "5.000 iSC" in words(meter.data.decode())
    assert calls == []


def test_a_stopped_accounts_editor_says_r18_without_promising_a_confirmation_it_never_asks(unlocked, csrf, server,
                                                                                            clock):
    """R18's warning only informs: the summary does not say queuing asks to confirm it (only R6's is asked, R6),
    and queuing goes through at once."""
    _account, pbx_url, _token = stopped_customer(unlocked, csrf, server, clock)
    [small] = server.issue_keys("0.1", 1)
    assert unlocked.post(_account + "/key", data={"key": small, "csrf_token": csrf}).status_code == 302
    summary = words(unlocked.post(pbx_url + "/licenses/preview?part=summary", headers=htmx(),
                                  data={f"qty-{IP_PORT}": "9", "csrf_token": csrf}).data.decode())
    assert "R18" in summary and "asks you to confirm" not in summary
    assert "No rule refuses this change, but it starts stopped: the installation waits for credit" in summary
    assert unlocked.post(pbx_url + "/licenses", data={f"qty-{IP_PORT}": "9", "csrf_token": csrf}).status_code == 302
