"""Automatic reload on the account page (R24): deposit a key offline, see it held with its amount, switch reload on,
withdraw a key; after a sync the meter names the reload at its exact second; bad input is refused next to its field
and queues nothing; English and French."""

from __future__ import annotations

import re

import pytest

from app.web.i18n import fmt_moment

from .live import IP_PORT, running_account, server  # noqa: F401  (server: a fixture)

def _held_rows(page: str) -> list[str]:
    table = re.search(r'<table data-testid="deposits">(.*?)</table>', page, re.S)
    return re.findall(r"<tr>\s*<td class=\"mono small\">(.*?)</td>\s*<td class=\"num\">(.*?)</td>", table.group(1),
                      re.S) if table else []


def test_a_key_deposited_offline_shows_held_then_the_meter_names_the_reload_second(unlocked, csrf, server, app):
    account = running_account(unlocked, csrf, server, credit="10")[0]
    [key] = server.issue_keys("5", 1)
    server.stop()  # offline from here: the key is verified on the laptop and queued
    answer = unlocked.post(account + "/deposit", data={"deposit_key": key, "csrf_token": csrf})
    assert answer.status_code == 302
    assert unlocked.post(account + "/reload", data={"auto_reload_days": "28", "csrf_token": csrf}).status_code == 302
    page = unlocked.get(account).data.decode()
    assert [amount for _, amount in _held_rows(page)] == ["5.000 iSC"]
    assert "not yet confirmed" in page and "change queued" in page
    server.start()
    unlocked.post("/sync/run", data={"csrf_token": csrf})
    account_id = account.rsplit("/", 1)[-1]
    payload = _server_account(server, account_id)
    assert payload["reload_at"] is not None and payload["auto_reload_days"] == 28
    meter = unlocked.get(account + "/meter").data.decode()
    with app.test_request_context():
        when = fmt_moment(payload["reload_at"])
    assert f"+5.000 iSC automatically on {when}" in meter
    ends = unlocked.get(account).data.decode()
    assert 'selected>28 days before the credit runs out' in ends or '<option value="28" selected>' in ends


def _server_account(server, account_id: str) -> dict:
    token = server.add_technician("Acme Telecom", "Reader")
    with server.client(token) as http:
        return server.keyring.verify_envelope(http.get(f"/accounts/{account_id}").json(), "account")


def test_a_forged_key_is_refused_next_to_the_deposit_field_and_nothing_is_queued(unlocked, csrf):
    account = unlocked.post("/accounts/new", data={"name": "Acme", "contact_email": "it@acme.example",
                                                   "language": "en", "csrf_token": csrf}).headers["Location"]
    before = unlocked.get("/sync/").data.decode().count("<tr")
    answer = unlocked.post(account + "/deposit", data={"deposit_key": "ISC1-NOT-A-KEY", "csrf_token": csrf})
    page = answer.data.decode()
    assert answer.status_code == 200 and 'id="deposit_key-error"' in page
    assert unlocked.get("/sync/").data.decode().count("<tr") == before


def test_a_reload_threshold_of_7_days_is_refused_next_to_the_setting(unlocked, csrf):
    account = unlocked.post("/accounts/new", data={"name": "Acme", "contact_email": "it@acme.example",
                                                   "language": "en", "csrf_token": csrf}).headers["Location"]
    answer = unlocked.post(account + "/reload", data={"auto_reload_days": "7", "csrf_token": csrf})
    page = answer.data.decode()
    assert answer.status_code == 200 and 'id="auto_reload_days-error"' in page
    assert "choose 14 or 28 days" in page
    assert "change queued" not in page


def test_the_automatic_reload_panel_speaks_french(unlocked, csrf):
    unlocked.post("/settings/language", data={"language": "fr", "csrf_token": csrf})
    account = unlocked.post("/accounts/new", data={"name": "Acme", "contact_email": "it@acme.example",
                                                   "language": "fr", "csrf_token": csrf}).headers["Location"]
    page = unlocked.get(account).data.decode()
    assert "Recharge automatique" in page and "Déposer la clé" in page
    assert "Automatic reload" not in page


def test_a_held_key_withdrawn_from_the_page_is_free_to_load_after_the_sync(unlocked, csrf, server):
    account = running_account(unlocked, csrf, server, credit="10")[0]
    [key] = server.issue_keys("5", 1)
    unlocked.post(account + "/deposit", data={"deposit_key": key, "csrf_token": csrf})
    unlocked.post("/sync/run", data={"csrf_token": csrf})
    page = unlocked.get(account).data.decode()
    [(shown_id, amount)] = _held_rows(page)
    key_id = re.search(r'name="key_id" value="([0-9a-f]+)"', page)[1]
    assert amount == "5.000 iSC" and key_id.startswith(shown_id.rstrip("…"))
    assert unlocked.post(account + "/key", data={"key": key, "csrf_token": csrf}).status_code == 200  # held: refused
    answer = unlocked.post(account + "/withdraw", data={"key_id": key_id, "csrf_token": csrf})
    assert answer.status_code == 302
    assert "withdrawal queued" in unlocked.get(account).data.decode()
    unlocked.post("/sync/run", data={"csrf_token": csrf})
    assert "No key is held for this account." in unlocked.get(account).data.decode()
    assert unlocked.post(account + "/key", data={"key": key, "csrf_token": csrf}).status_code == 302


def test_the_delete_page_says_the_keys_held_are_released_not_forfeited(unlocked, csrf, server):
    account = running_account(unlocked, csrf, server, credit="10")[0]
    assert 'data-testid="released-keys"' not in unlocked.get(account + "/delete").data.decode()
    keys = server.issue_keys("5", 2)
    server.stop()  # one key confirmed held would do as well: queued offline, it is held all the same
    for key in keys:
        assert unlocked.post(account + "/deposit", data={"deposit_key": key, "csrf_token": csrf}).status_code == 302
    page = unlocked.get(account + "/delete").data.decode()
    notice = re.search(r'data-testid="released-keys">(.*?)</div>', page, re.S)
    assert notice and "The 2 keys held for automatic reload are not forfeited" in notice.group(1)
    assert notice.group(1).count("5.000 iSC") == 2
    unlocked.post("/settings/language", data={"language": "fr", "csrf_token": csrf})
    french = re.search(r'data-testid="released-keys">(.*?)</div>',
                       unlocked.get(account + "/delete").data.decode(), re.S).group(1)
    assert "Les 2 clés" in french and "5,000" in french


def test_a_key_held_offline_reads_pas_encore_confirmee_beside_credit_pas_encore_confirmes(unlocked, csrf, server):
    """French agrees with what is not yet confirmed: a key (une clé: confirmée) in the held keys and on the delete
    page, an amount of iSC (des iSC: confirmés) in the meter."""
    account = running_account(unlocked, csrf, server, credit="10")[0]
    [held, loaded] = server.issue_keys("5", 2)
    server.stop()
    assert unlocked.post(account + "/deposit", data={"deposit_key": held, "csrf_token": csrf}).status_code == 302
    assert unlocked.post(account + "/key", data={"key": loaded, "csrf_token": csrf}).status_code == 302
    unlocked.post("/settings/language", data={"language": "fr", "csrf_token": csrf})
    page = unlocked.get(account).data.decode()
    deposits = re.search(r'<table data-testid="deposits">(.*?)</table>', page, re.S).group(1)
    assert "pas encore confirmée</span>" in deposits and "confirmés" not in deposits
    assert "+5,000 iSC pas encore confirmés" in unlocked.get(account + "/meter").data.decode()
    assert "pas encore confirmée</span>" in unlocked.get(account + "/delete").data.decode()


def test_past_a_reload_offline_the_account_page_says_the_list_it_reloaded_at_and_no_r23_notice(
        unlocked, csrf, server, clock):
    """R24 re-rates at the reload's second (R23): the page says so offline as the server will, not the snapshot's."""
    from license_server import admin

    account = running_account(unlocked, csrf, server, credit="10")[0]
    [key] = server.issue_keys("5", 1)
    unlocked.post(account + "/deposit", data={"deposit_key": key, "csrf_token": csrf})
    unlocked.post(account + "/reload", data={"auto_reload_days": "28", "csrf_token": csrf})
    unlocked.post("/sync/run", data={"csrf_token": csrf})
    reload_at = _server_account(server, account.rsplit("/", 1)[-1])["reload_at"]
    newer = admin.demo_pricelist()
    newer["version"] = "2027-02"
    server.publish_prices(newer)
    unlocked.post("/sync/run", data={"csrf_token": csrf})
    before = unlocked.get(account).data.decode()
    assert "price list 2026-11" in before and "Price list 2027-02 is newer" in before
    server.stop()  # offline, and time passes the reload's second
    clock.set(reload_at + 3_600)
    after = unlocked.get(account).data.decode()
    assert "price list 2027-02" in after and "is newer" not in after


def test_a_withdrawal_refused_is_said_under_the_keys_held_not_on_the_deposit_field(unlocked, csrf, server):
    """A Withdraw pressed on a page opened before the key was withdrawn or loaded automatically (R24) is refused
    next to the keys held, where the button was; the deposit field, which the technician did not touch, is not
    marked refused (the error sat under it, and the focus went there)."""
    account = running_account(unlocked, csrf, server, credit="10")[0]
    answer = unlocked.post(account + "/withdraw", data={"key_id": "a71eb2b6c1de517acbd5", "csrf_token": csrf})
    page = answer.data.decode()
    assert answer.status_code == 200 and 'id="key_id-error"' in page
    assert 'id="deposit_key-error"' not in page
    assert not re.search(r'<textarea id="deposit_key"[^>]*aria-invalid', page)
    assert page.index('id="key_id-error"') < page.index('id="deposit-form"')  # with the keys held, above
