"""Screens through the test client: thin views over the services, partials for htmx, errors next to fields."""

from __future__ import annotations

import re

import pytest

from .conftest import htmx


def create_account(client, csrf, name="Acme Hotel", email="it@acme.example"):
    response = client.post("/accounts/new", data={"name": name, "contact_email": email, "language": "en",
                                                  "csrf_token": csrf})
    assert response.status_code == 302, response.data
    return response.headers["Location"]


def test_a_new_account_shows_up_in_the_list_with_a_pending_badge(unlocked, csrf):
    create_account(unlocked, csrf)
    page = unlocked.get("/accounts/").data.decode()
    assert "Acme Hotel" in page and "1 pending" in page


def test_search_as_you_type_answers_htmx_with_the_rows_only(unlocked, csrf):
    create_account(unlocked, csrf, "Acme Hotel")
    create_account(unlocked, csrf, "Bistro Lune", "chef@lune.example")
    partial = unlocked.get("/accounts/?q=lune", headers=htmx()).data.decode()
    assert partial.lstrip().startswith('<div id="account-list" ')  # the list alone (it refreshes itself, issue 21)
    assert "Bistro Lune" in partial and "Acme Hotel" not in partial and "<html" not in partial


def test_a_bad_email_is_shown_next_to_its_field_with_status_200(unlocked, csrf):
    response = unlocked.post("/accounts/new", data={"name": "Acme", "contact_email": "not-an-email",
                                                    "language": "en", "csrf_token": csrf})
    assert response.status_code == 200
    assert 'id="contact_email-error"' in response.data.decode()


def test_an_old_firmware_is_refused_next_to_the_firmware_field_citing_r1(unlocked, csrf):
    account = create_account(unlocked, csrf)
    response = unlocked.post(account + "/pbx/new", data={"name": "Lobby", "serial": "SN-1", "platform": "vmware",
                                                         "firmware": "12r3", "mode": "rental", "csrf_token": csrf})
    page = response.data.decode()
    assert response.status_code == 200
    assert 'id="firmware-error"' in page and "R1" in page and "13r1" in page


@pytest.mark.parametrize("language, firmware_words, cloud_words", [
    ("en", "13r1", "cloud contract"),
    ("fr", "13r1", "contrat cloud"),
])
def test_a_pbx_too_old_for_rental_in_the_cloud_without_a_contract_shows_both_problems_at_once(
        unlocked, csrf, language, firmware_words, cloud_words):
    """R1 and R7 in one round, each next to its field: fixing the firmware does not reveal the platform's only then."""
    unlocked.post("/settings/language", data={"language": language, "csrf_token": csrf})
    account = create_account(unlocked, csrf)  # no cloud contract
    response = unlocked.post(account + "/pbx/new", data={"name": "Lobby", "serial": "SN-1", "platform": "cloud",
                                                         "firmware": "12r3", "mode": "rental", "csrf_token": csrf})
    page = response.data.decode()
    assert response.status_code == 200
    firmware = re.search(r'<[^>]*id="firmware-error".*?</details>', page, re.S).group(0)
    platform = re.search(r'<[^>]*id="platform-error".*?</details>', page, re.S).group(0)
    assert 'data-rule="R1"' in firmware and firmware_words in firmware
    assert 'data-rule="R7"' in platform and cloud_words in platform


def test_the_credit_meter_is_a_partial_that_polls_itself_every_second(unlocked, csrf):
    account = create_account(unlocked, csrf)
    meter = unlocked.get(account + "/meter", headers=htmx()).data.decode()
    assert 'hx-trigger="every 1s, rentdesk:synced from:body' in meter and 'hx-target="this"' in meter \
        and 'hx-swap="outerHTML"' in meter  # and at once after a sync (issue 21)
    assert "0.000 iSC" in meter


def test_the_account_page_draws_the_burn_down_chart_as_svg(unlocked, csrf):
    account = create_account(unlocked, csrf)
    assert "<svg" in unlocked.get(account).data.decode()


def test_the_delete_page_shows_the_amount_to_forfeit_and_wants_it_typed(unlocked, csrf):
    account = create_account(unlocked, csrf)
    page = unlocked.get(account + "/delete").data.decode()
    assert "R13" in page and 'data-confirm-text="0.000"' in page
    wrong = unlocked.post(account + "/delete", data={"confirm_amount": "12", "csrf_token": csrf})
    assert wrong.status_code == 200 and 'id="confirm_amount-error"' in wrong.data.decode()


def test_a_forged_activation_key_is_refused_next_to_the_key_field(unlocked, csrf):
    account = create_account(unlocked, csrf)
    response = unlocked.post(account + "/key", data={"key": "ISC1-AAAAA-BBBBB-CCCCC", "csrf_token": csrf},
                             headers=htmx())
    page = response.data.decode()
    assert response.status_code == 200 and 'id="key-error"' in page and "key-invalid" in page


def test_an_unknown_page_is_a_calm_404_without_a_stack_trace(unlocked):
    response = unlocked.get("/accounts/no-such-account")
    assert response.status_code == 404
    assert b"Traceback" not in response.data and b"does not exist" in response.data


def test_an_unexpected_error_shows_a_calm_page_not_a_stack_trace(unlocked, monkeypatch):
    from app import services

    def broken(*args, **kwargs):
        raise RuntimeError("internal detail")

    monkeypatch.setattr(services, "list_accounts", broken)
    response = unlocked.get("/accounts/")
    assert response.status_code == 500
    assert b"internal detail" not in response.data and b"Something went wrong" in response.data


def test_every_screen_renders_for_an_unlocked_store(unlocked, csrf):
    account = create_account(unlocked, csrf)
    for path in ("/accounts/", account, account + "/edit", account + "/statement", account + "/pbx/new",
                 "/sync/", "/prices/", "/settings/"):
        assert unlocked.get(path).status_code == 200, path


def test_the_statement_of_an_account_not_yet_synced_says_to_sync(unlocked, csrf):
    account = create_account(unlocked, csrf)
    assert b"has not been synced yet" in unlocked.get(account + "/statement").data


def test_settings_refuse_a_plain_http_server_on_the_network_next_to_the_field(unlocked, csrf):
    response = unlocked.post("/settings/server", data={"server_url": "http://licenses.example.com",
                                                       "csrf_token": csrf})
    assert response.status_code == 200 and 'id="server_url-error"' in response.data.decode()


def test_choosing_french_in_settings_turns_the_ui_french(unlocked, csrf):
    unlocked.post("/settings/language", data={"language": "fr", "csrf_token": csrf})
    page = unlocked.get("/accounts/").data.decode()
    assert 'lang="fr"' in page and "Comptes" in page


def test_a_backup_exported_in_settings_restores_on_a_fresh_first_run(unlocked, csrf, tmp_path):
    from app import create_app
    from app.web.security import csrf_token

    from .conftest import FAST_KDF, PASSPHRASE

    create_account(unlocked, csrf, "Acme Hotel")
    dest = tmp_path / "saved" / "acme"
    dest.parent.mkdir()  # a backup goes into a folder that exists (a typo never creates one)
    page = unlocked.post("/settings/backup", data={"dest": str(dest), "csrf_token": csrf}, headers=htmx()).data.decode()
    assert "Backup written to" in page
    [backup] = (tmp_path / "saved").iterdir()

    other = create_app({"RENTDESK_HOME": str(tmp_path / "other"), "TESTING": True, "TRUST_DEMO_KEY": True,
                        "BACKGROUND_SYNC": False, "STORE_KDF": FAST_KDF})
    client = other.test_client()
    client.get("/launch?secret=" + other.config["LAUNCH_SECRET"])
    token = csrf_token(other)
    wrong = client.post("/first-run/restore", data={"backup_path": str(backup), "backup_passphrase": "nope nope",
                                                    "csrf_token": token})
    assert wrong.status_code == 200 and 'id="backup_passphrase-error"' in wrong.data.decode()
    right = client.post("/first-run/restore", data={"backup_path": str(backup), "backup_passphrase": PASSPHRASE,
                                                    "csrf_token": token})
    assert right.status_code == 302
    assert "Acme Hotel" in client.get("/accounts/").data.decode()
    other.extensions["rentdesk.shutdown"]()


def test_the_sync_screen_says_whose_each_waiting_change_is(unlocked, csrf):
    """Every account's changes wait on one screen: a reload setting or a key names no account, so each row does."""
    accounts = {}
    for name in ("Hôtel Azur", "Boulangerie Martin"):
        made = unlocked.post("/accounts/new", data={"name": name, "contact_email": "it@example.com",
                                                    "language": "en", "csrf_token": csrf})
        accounts[name] = made.headers["Location"]
        assert unlocked.post(accounts[name] + "/reload", data={"auto_reload_days": "14",
                                                               "csrf_token": csrf}).status_code == 302
    page = unlocked.get("/sync/").data.decode()
    queue = page[page.index('<table class="ops">'):]
    assert '<th scope="col">Account</th>' in queue
    rows = re.findall(r"<tr>(.*?)</tr>", queue[queue.index("<tbody>"):], re.S)
    reload_rows = [row for row in rows if "automatic reload" in row]
    assert len(reload_rows) == 2
    for row, (name, url) in zip(reload_rows, accounts.items()):
        assert f'href="{url}"' in row and f'>{name}</a>' in row
    account_page = unlocked.get(accounts["Hôtel Azur"]).data.decode()
    assert '<th scope="col">Account</th>' not in account_page[account_page.index('<table class="ops">'):]
