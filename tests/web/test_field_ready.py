"""Issue 11 (field-ready): what stopped or slowed a technician on a first real day, each proved through the web face."""

from __future__ import annotations

import contextlib
import html
import re

import pytest

from app import create_app
from app.web.security import csrf_token
from rental.signing import SigningKey
from tests.support.waiting import wait_for

from .conftest import FAST_KDF, PASSPHRASE, START, htmx

DAY = 86_400
LONG_NAME = ("Établissements Hôteliers de la Côte d'Émeraude — Résidence des Mouettes, bâtiment B " * 4)[:300]


def new_account(client, csrf, name="Acme Hotel", email="it@acme.example"):
    response = client.post("/accounts/new", data={"name": name, "contact_email": email, "language": "en",
                                                  "csrf_token": csrf})
    assert response.status_code == 302, response.data
    return response.headers["Location"]


def words(page: str) -> str:
    """The visible words of a page or partial, tags and spacing removed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


# --------------------------------------------------------------------------- 1. real activation keys


@pytest.fixture
def vendor_key(tmp_path):
    """The vendor's signing key as the README makes it (gen-key --kid vendor-2026), trusted by the app."""
    signer = SigningKey.generate("vendor-2026")
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "vendor-2026.pub").write_bytes(signer.public_pem())
    return signer, keys


@pytest.fixture
def vendor_client(tmp_path, clock, vendor_key):
    """An unlocked app that trusts only the vendor's real key (no demo key)."""
    app = create_app({"RENTDESK_HOME": str(tmp_path / "home"), "TESTING": True, "TRUST_DEMO_KEY": False,
                      "CLOCK": clock, "BACKGROUND_SYNC": False, "STORE_KDF": FAST_KDF, "TIMEZONE": "UTC",
                      "KEYS_DIR": str(vendor_key[1])})
    client = app.test_client()
    client.get("/launch?secret=" + app.config["LAUNCH_SECRET"])
    csrf = csrf_token(app)
    response = client.post("/first-run", data={"passphrase": PASSPHRASE, "confirm": PASSPHRASE,
                                               "mode": "offline", "csrf_token": csrf})
    assert response.status_code == 302, response.data
    yield client, csrf
    app.extensions["rentdesk.shutdown"]()


def test_a_202_character_key_signed_by_the_readmes_vendor_2026_kid_is_queued(vendor_client, vendor_key):
    client, csrf = vendor_client
    key = vendor_key[0].issue_key(250_000, START - DAY)
    assert len(key) == 202
    account = new_account(client, csrf)
    response = client.post(account + "/key", data={"key": key, "csrf_token": csrf}, headers=htmx())
    assert response.status_code == 204 and response.headers["HX-Redirect"].endswith(account), response.data
    page = words(client.get(account).data.decode())
    assert "+250.000 iSC, not yet confirmed" in page


def test_a_202_character_key_is_deposited_for_automatic_reload_whole(vendor_client, vendor_key):
    # the deposit field (R24) takes keys of any well-formed length too, not cut at 200 characters
    client, csrf = vendor_client
    key = vendor_key[0].issue_key(100_000, START - DAY)
    assert len(key) == 202
    account = new_account(client, csrf)
    response = client.post(account + "/deposit", data={"deposit_key": key, "csrf_token": csrf}, headers=htmx())
    assert response.status_code == 204, words(response.data.decode())


def test_a_key_pasted_over_several_lines_is_read_whole(vendor_client, vendor_key):
    client, csrf = vendor_client
    key = vendor_key[0].issue_key(12_500, START - DAY)
    pasted = key[:70] + "\r\n" + key[70:140] + "\n  " + key[140:]
    account = new_account(client, csrf)
    response = client.post(account + "/key", data={"key": pasted, "csrf_token": csrf}, headers=htmx())
    assert response.status_code == 204, response.data


def test_the_key_field_is_a_multi_line_field_that_shows_the_whole_key(unlocked, csrf):
    account = new_account(unlocked, csrf)
    page = unlocked.get(account).data.decode()
    field = re.search(r'<(\w+) id="key"[^>]*>', page)
    assert field and field.group(1) == "textarea" and "maxlength" not in field.group(0)


# --------------------------------------------------------------------------- 3. input never cut, errors at once


def test_a_5000_character_name_is_refused_with_its_length_not_stored_cut(unlocked, csrf):
    response = unlocked.post("/accounts/new", data={"name": "N" * 5000, "contact_email": "it@acme.example",
                                                    "language": "en", "csrf_token": csrf})
    page = response.data.decode()
    assert response.status_code == 200 and 'id="name-error"' in page
    assert "it has 5000" in words(page)
    assert "N" * 5000 in page  # the whole text is given back to fix, not 200 of it
    assert "N" * 200 not in words(unlocked.get("/accounts/").data.decode())


def test_every_field_error_of_a_new_account_shows_at_once(unlocked, csrf):
    response = unlocked.post("/accounts/new", data={"name": "", "contact_email": "not-an-email",
                                                    "language": "en", "csrf_token": csrf})
    page = response.data.decode()
    assert response.status_code == 200
    assert 'id="name-error"' in page and 'id="contact_email-error"' in page


def test_every_field_error_of_a_new_pbx_shows_at_once(unlocked, csrf):
    account = new_account(unlocked, csrf)
    response = unlocked.post(account + "/pbx/new", data={"name": "", "serial": "", "platform": "vmware",
                                                         "firmware": "12r3", "mode": "rental", "csrf_token": csrf})
    page = response.data.decode()
    assert response.status_code == 200
    for name in ("name", "serial", "firmware"):
        assert f'id="{name}-error"' in page, name


def test_required_fields_are_marked(unlocked, csrf):
    account = new_account(unlocked, csrf)
    for path, names in (("/accounts/new", ("name", "contact_email")),
                        (account + "/pbx/new", ("name", "serial", "firmware"))):
        page = unlocked.get(path).data.decode()
        for name in names:
            label = re.search(rf'<label for="{name}"[^>]*>(.*?)</label>', page, re.DOTALL)
            assert label and 'class="required"' in label.group(1), (path, name)
            assert re.search(rf'<input id="{name}"[^>]*\brequired\b', page), (path, name)


# --------------------------------------------------------------------------- 2. deleting a running account


@pytest.fixture
def server(tmp_path, clock):
    """A license server on 127.0.0.1 on the laptop's own clock."""
    from tests.support.license_server import LiveLicenseServer

    server = LiveLicenseServer(tmp_path / "server", clock=clock).start()
    yield server
    server.stop()


def go_online(client, csrf, server, token=None):
    token = token or server.add_technician("Acme Telecom", "Ann")
    response = client.post("/settings/server", data={"server_url": server.url, "token": token, "csrf_token": csrf})
    assert response.status_code == 302, response.data


def sync(client, csrf) -> str:
    page = client.post("/sync/run", data={"csrf_token": csrf}).data.decode()
    assert "Sync complete" in page or "Synchronisation terminée" in page, page
    return page


def running_account(client, csrf, server, items=None, amount="1000"):
    """A synced account with credit and one rental PBX running (500 iSC a month by default)."""
    go_online(client, csrf, server)
    sync(client, csrf)
    account = new_account(client, csrf)
    [key] = server.issue_keys(amount, 1)
    assert client.post(account + "/key", data={"key": key, "csrf_token": csrf}).status_code == 302
    pbx = client.post(account + "/pbx/new", data={"name": "Lobby", "serial": "SN-1", "platform": "vmware",
                                                  "firmware": "13r2", "mode": "rental", "csrf_token": csrf})
    pbx_url = pbx.headers["Location"]
    items = items or {"01-00030-001": 125}  # 125 × 4 iSC = 500 iSC a month
    data = {f"qty-{ref}": str(qty) for ref, qty in items.items()}
    assert client.post(pbx_url + "/licenses", data={**data, "csrf_token": csrf}).status_code == 302
    sync(client, csrf)
    return account, pbx_url


def delete_form(page: str) -> dict:
    amount = html.unescape(re.search(r'data-confirm-text="([^"]+)"', page).group(1))
    shown_milli = re.search(r'name="shown_milli" value="(\d+)"', page).group(1)
    shown_at = re.search(r'name="shown_at" value="(\d+)"', page).group(1)
    return {"confirm_amount": amount, "shown_milli": shown_milli, "shown_at": shown_at}


def test_a_running_account_is_deleted_with_the_amount_typed_a_minute_after_it_was_shown(unlocked, csrf, server, clock):
    account, _pbx = running_account(unlocked, csrf, server)
    page = unlocked.get(account + "/delete").data.decode()
    assert "as of" in words(page)
    form = delete_form(page)
    clock.advance(60)  # the technician reads, types: 500 iSC a month burn about 11 milli-iSC meanwhile
    response = unlocked.post(account + "/delete", data={**form, "csrf_token": csrf})
    assert response.status_code == 302, words(response.data.decode())
    clock.advance(120)
    sync(unlocked, csrf)
    assert "deleted" in words(unlocked.get(account).data.decode()).lower()


def test_deleting_after_a_key_was_loaded_asks_for_the_new_amount(unlocked, csrf, server, clock):
    account, _pbx = running_account(unlocked, csrf, server)
    form = delete_form(unlocked.get(account + "/delete").data.decode())
    [key] = server.issue_keys("50", 1)
    assert unlocked.post(account + "/key", data={"key": key, "csrf_token": csrf}).status_code == 302
    sync(unlocked, csrf)
    response = unlocked.post(account + "/delete", data={**form, "csrf_token": csrf})
    page = response.data.decode()
    assert response.status_code == 200 and 'id="confirm_amount-error"' in page
    assert "credit was loaded since" in words(page)


def test_with_a_key_queued_on_this_laptop_the_delete_page_asks_for_the_balance_the_deletion_will_forfeit(
        unlocked, csrf, server, clock):
    """A key loaded here and not yet synced is applied before the deletion queued after it (R13, the queue's order):
    the amount to type is the balance with it, as the deletion is decided. The page showed the balance without it,
    refused that amount ("credit was loaded since") and went on showing it: the account could not be deleted."""
    account, _pbx = running_account(unlocked, csrf, server)
    [key] = server.issue_keys("50", 1)
    assert unlocked.post(account + "/key", data={"key": key, "csrf_token": csrf}).status_code == 302  # queued
    page = unlocked.get(account + "/delete").data.decode()
    form = delete_form(page)
    assert form["confirm_amount"] == "1,050.000" and "not yet confirmed" in words(page)
    response = unlocked.post(account + "/delete", data={**form, "csrf_token": csrf})
    assert response.status_code == 302, words(response.data.decode())
    sync(unlocked, csrf)
    assert "deleted" in words(unlocked.get(account).data.decode()).lower()


def test_a_deleted_accounts_page_offers_no_edit_and_no_key_to_load_R13(unlocked, csrf, server, clock):
    """A deleted account accepts no change (R13): its page no longer offers to edit it or to load a key on it, as
    it offers no deletion, no PBX to add and no key to deposit (a key typed there was refused, and a customer's key
    is better loaded on an account that can use it)."""
    account, _pbx = running_account(unlocked, csrf, server)
    form = delete_form(unlocked.get(account + "/delete").data.decode())
    assert unlocked.post(account + "/delete", data={**form, "csrf_token": csrf}).status_code == 302
    sync(unlocked, csrf)
    page = unlocked.get(account).data.decode()
    assert "deleted" in words(page).lower()
    assert 'id="key-form"' not in page and 'id="deposit-form"' not in page
    assert 'id="account-chart"' not in page  # "load a key to see the balance over time" is no advice here
    assert account + "/edit" not in page and account + "/delete" not in page and account + "/statement" in page


def test_a_key_refused_because_its_account_was_deleted_meanwhile_is_said_to_be_unused(unlocked, csrf, server):
    """A key queued here for an account a colleague deleted before the sync is refused with the account (R13): the
    server did not use it, and the screen says so, with where it can go, both for a load and a deposit (R11, R24).
    It said only that the account's iSC were forfeited: the customer's key looked lost with them."""
    from tests.e2e.steps import another_laptop_deletes_account

    account, _pbx = running_account(unlocked, csrf, server)
    load, deposit = server.issue_keys("50", 2)
    assert unlocked.post(account + "/key", data={"key": load, "csrf_token": csrf}).status_code == 302
    assert unlocked.post(account + "/deposit", data={"deposit_key": deposit, "csrf_token": csrf}).status_code == 302
    another_laptop_deletes_account(server, server.add_technician("Acme Telecom", "Bob"), account)
    page = sync(unlocked, csrf)
    assert "2 rejected" in words(page)
    shown = words(unlocked.get("/sync/").data.decode())
    assert shown.count("The server did not use the key: it can be loaded or deposited on another account.") >= 2


# --------------------------------------------------------------------------- 4. the license editor agrees with itself


def editor_with_prices(client, csrf, server):
    """An account with no credit and a rental PBX, on a laptop that holds the price list."""
    go_online(client, csrf, server)
    sync(client, csrf)
    account = new_account(client, csrf)
    pbx = client.post(account + "/pbx/new", data={"name": "Lobby", "serial": "SN-1", "platform": "vmware",
                                                  "firmware": "13r2", "mode": "rental", "csrf_token": csrf})
    return account, pbx.headers["Location"]


def summary(client, csrf, pbx_url, quantities: dict) -> str:
    data = {f"qty-{ref}": qty for ref, qty in quantities.items()}
    return client.post(pbx_url + "/licenses/preview?part=summary", data={**data, "csrf_token": csrf},
                       headers=htmx()).data.decode()


def queue_button(page: str) -> str:
    return re.search(r"<button type=\"submit\" data-saves-editor[^>]*>", page).group(0)


def test_a_row_with_a_typing_error_blocks_queue_and_the_summary_says_so(unlocked, csrf, server):
    _account, pbx_url = editor_with_prices(unlocked, csrf, server)
    page = summary(unlocked, csrf, pbx_url, {"01-00010-001": "abc"})
    assert " disabled" in queue_button(page)
    assert "1 quantity is not a number RentDesk can queue" in words(page)
    assert "this change can be queued" not in words(page)


def test_a_configuration_with_no_credit_ends_now_not_never(unlocked, csrf, server):
    _account, pbx_url = editor_with_prices(unlocked, csrf, server)
    after = re.search(r'data-testid="after-runtime"><strong>([^<]*)<', summary(unlocked, csrf, pbx_url,
                                                                               {"01-00010-001": "5"})).group(1)
    assert after == "ends now: no credit"


def test_an_absurd_quantity_is_capped_before_any_arithmetic_is_shown(unlocked, csrf, server):
    _account, pbx_url = editor_with_prices(unlocked, csrf, server)
    page = summary(unlocked, csrf, pbx_url, {"01-00030-001": "9" * 40})
    monthly = re.search(r'data-testid="after-monthly"><strong>([^<]*)<', page).group(1)
    assert monthly == "0.000 iSC" and "9999" not in words(page)
    editor = unlocked.post(pbx_url + "/licenses/preview", data={"qty-01-00030-001": "9" * 40, "csrf_token": csrf},
                           headers=htmx()).data.decode()
    assert "At most 100,000 of one item on a PBX" in words(editor)


# --------------------------------------------------------------------------- 5. keys the laptop knows as used


def redeem_elsewhere(server, key):
    """Another laptop of the partner loads key on an account of its own, straight through the API."""
    import uuid

    token = server.add_technician("Acme Telecom", "Bob")
    account_id = str(uuid.uuid4())
    ops = [{"op_id": str(uuid.uuid4()), "kind": "create_account", "account_id": account_id, "name": "Other Hotel",
            "contact_email": "it@other.example", "cloud_contract": False},
           {"op_id": str(uuid.uuid4()), "kind": "redeem_key", "account_id": account_id, "key": key}]
    with server.client(token) as api:
        response = api.post("/sync", json={"client_id": str(uuid.uuid4()), "ops": ops})
    assert response.status_code == 200, response.text


def test_a_key_loaded_on_another_account_of_this_laptop_is_refused_at_once(unlocked, csrf, server):
    go_online(unlocked, csrf, server)
    first = new_account(unlocked, csrf, "Acme Hotel")
    [key] = server.issue_keys("100", 1)
    assert unlocked.post(first + "/key", data={"key": key, "csrf_token": csrf}).status_code == 302
    sync(unlocked, csrf)  # applied: the key is in the account's ledger now
    second = new_account(unlocked, csrf, "Bistro Lune", "chef@lune.example")
    page = unlocked.post(second + "/key", data={"key": key, "csrf_token": csrf}, headers=htmx()).data.decode()
    assert 'id="key-error"' in page
    assert "This key was loaded on account Acme Hotel already" in words(page)


def test_a_key_the_server_refused_as_used_offers_only_discard_and_is_refused_at_once_after(unlocked, csrf, server):
    go_online(unlocked, csrf, server)
    account = new_account(unlocked, csrf)
    [key] = server.issue_keys("100", 1)
    assert unlocked.post(account + "/key", data={"key": key, "csrf_token": csrf}).status_code == 302
    redeem_elsewhere(server, key)
    sync(unlocked, csrf)
    sync_page = unlocked.get("/sync/").data.decode()
    assert "Activation key already used · " in words(sync_page) and 'data-testid="final-refusal"' in sync_page
    assert 'value="reapply"' not in sync_page and 'value="discard"' in sync_page
    again = new_account(unlocked, csrf, "Bistro Lune", "chef@lune.example")
    page = unlocked.post(again + "/key", data={"key": key, "csrf_token": csrf}, headers=htmx()).data.decode()
    assert "The server refused this key as used before" in words(page)


def test_the_demo_key_list_marks_keys_this_laptop_used(app, unlocked, csrf, server):
    go_online(unlocked, csrf, server)
    keys = server.issue_keys("100", 2)
    app.config["DEMO"] = {"keys": [{"amount_milli": 100_000, "key": key, "loaded": False} for key in keys]}
    account = new_account(unlocked, csrf)
    assert unlocked.post(account + "/key", data={"key": keys[0], "csrf_token": csrf}).status_code == 302
    sync(unlocked, csrf)
    page = unlocked.get(account).data.decode()
    assert page.count('data-testid="key-known"') == 1
    assert f'data-fill-key="{keys[0]}"' not in page and f'data-fill-key="{keys[1]}"' in page


# --------------------------------------------------------------------------- 7. sync


@contextlib.contextmanager
def online_with_background_sync(tmp_path, clock, server):
    """A laptop set up online with its background syncer running, once the sync at unlock is done (the next one is
    due in 5 minutes): yields (client, csrf, technician token, syncer); shut down after."""
    from app.web.state import EXTENSION

    app = create_app({"RENTDESK_HOME": str(tmp_path / "home"), "TESTING": True, "TRUST_DEMO_KEY": True,
                      "CLOCK": clock, "BACKGROUND_SYNC": True, "STORE_KDF": FAST_KDF, "TIMEZONE": "UTC"})
    try:
        client = app.test_client()
        client.get("/launch?secret=" + app.config["LAUNCH_SECRET"])
        csrf = csrf_token(app)
        token = server.add_technician("Acme Telecom", "Ann")
        response = client.post("/first-run", data={"passphrase": PASSPHRASE, "confirm": PASSPHRASE, "mode": "online",
                                                   "server_url": server.url, "token": token, "csrf_token": csrf})
        assert response.status_code == 302, response.data
        syncer = app.extensions[EXTENSION].syncer
        assert wait_for(lambda: syncer.attempts >= 1)
        yield client, csrf, token, syncer
    finally:
        app.extensions["rentdesk.shutdown"]()


def test_an_edit_made_online_is_sent_within_seconds_by_the_background_syncer(tmp_path, clock, server):
    with online_with_background_sync(tmp_path, clock, server) as (client, csrf, token, syncer):
        new_account(client, csrf, "Acme Hotel")
        with server.client(token) as api:
            assert wait_for(lambda: len(api.get("/accounts").json()["accounts"]) == 1)


def test_a_deposit_made_online_reaches_the_server_within_seconds_without_a_manual_sync(tmp_path, clock, server):
    """DESIGN §6, R24: the unit of work pokes the syncer after a commit that queued an op, whichever view queued
    it (the deposit view was missing from the old list of views, and waited for the 5-minute interval)."""
    with online_with_background_sync(tmp_path, clock, server) as (client, csrf, token, syncer):
        done = syncer.attempts
        account = new_account(client, csrf, "Acme Hotel")
        account_id = account.rstrip("/").rsplit("/", 1)[-1]
        with server.client(token) as api:
            assert wait_for(lambda: len(api.get("/accounts").json()["accounts"]) == 1)
            assert wait_for(lambda: syncer.attempts > done)  # that sync finished: the laptop holds the snapshot
            done = syncer.attempts
            [key] = server.issue_keys("40", 1)
            response = client.post(account + "/deposit", data={"deposit_key": key, "csrf_token": csrf})
            assert response.status_code == 302, words(response.data.decode())

            def held_on_server() -> list:
                signed = server.keyring.verify_envelope(api.get(f"/accounts/{account_id}").json(), "account")
                return [deposit["amount_milli"] for deposit in signed.get("deposits") or ()]

            assert wait_for(lambda: held_on_server() == [40_000])
            assert wait_for(lambda: syncer.attempts > done)  # the background syncer's attempt, woken by the deposit


def test_a_server_that_cannot_be_reached_is_said_in_plain_words_once(unlocked, csrf):
    from tests.support.faults import free_port

    unlocked.post("/settings/server", data={"server_url": f"http://127.0.0.1:{free_port()}", "token": "t",
                                            "csrf_token": csrf})
    page = words(unlocked.post("/sync/run", data={"csrf_token": csrf}).data.decode())
    assert "Error" not in page.replace("error-", "")  # no ConnectError, no exception names
    assert page.count("cannot be reached") == 1


def test_the_sync_banner_is_a_warning_when_the_server_refused_a_change(unlocked, csrf, server):
    go_online(unlocked, csrf, server)
    account = new_account(unlocked, csrf)
    [key] = server.issue_keys("100", 1)
    assert unlocked.post(account + "/key", data={"key": key, "csrf_token": csrf}).status_code == 302
    redeem_elsewhere(server, key)
    page = unlocked.post("/sync/run", data={"csrf_token": csrf}).data.decode()
    banner = re.search(r'<div class="notice (\w+)"[^>]*data-testid="sync-report"', page)
    assert banner and banner.group(1) == "warn"
    assert "The server refused some changes" in words(page)


# --------------------------------------------------------------------------- 9. the statement


def statement_of_a_day(client, csrf, server, clock):
    """An account that ran 3 app platform licenses (4 iSC a month each) for a day, then 4 of them."""
    account, pbx_url = running_account(client, csrf, server, items={"01-00030-001": 3})
    clock.advance(DAY)
    assert client.post(pbx_url + "/licenses", data={"qty-01-00030-001": "4", "csrf_token": csrf}).status_code == 302
    sync(client, csrf)  # a connection event: the day's charge is a closed ledger line now
    return account


def test_the_statement_shows_quantity_and_unit_price_in_isc(unlocked, csrf, server, clock):
    account = statement_of_a_day(unlocked, csrf, server, clock)
    page = unlocked.get(account + "/statement").data.decode()
    assert re.search(r'data-testid="qty">3<', page)
    assert re.search(r'data-testid="unit-price">4\.000 iSC<', page)
    assert "Unit price per month" in page


def test_the_french_statement_csv_has_the_period_french_headers_semicolons_and_decimal_commas(
        unlocked, csrf, server, clock):
    import csv
    import io

    account = statement_of_a_day(unlocked, csrf, server, clock)
    unlocked.post("/settings/language", data={"language": "fr", "csrf_token": csrf})
    data = unlocked.get(account + "/statement.csv?start=2027-01-01&end=2027-01-31").data
    assert data.startswith("\ufeff".encode())  # issue 23: the UTF-8 mark, so Excel reads "Relevé" right
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Relevé", "Acme Hotel"]
    assert rows[1] == ["Du", "2027-01-01", "Au (inclus)", "2027-01-31"]
    assert rows[3][:5] == ["PBX", "Référence", "Article", "Quantité", "Prix unitaire par mois (iSC)"]
    item = rows[4]
    assert item[1] == "01-00030-001" and item[3] == "3" and item[4] == "4,000"
    assert re.fullmatch(r"\d+,\d{3}", item[6]) and "." not in item[6]


def test_the_english_statement_csv_uses_commas_and_decimal_points(unlocked, csrf, server, clock):
    import csv
    import io

    account = statement_of_a_day(unlocked, csrf, server, clock)
    rows = list(csv.reader(io.StringIO(unlocked.get(account + "/statement.csv").data.decode())))
    assert rows[3][3:5] == ["Quantity", "Unit price per month (iSC)"] and rows[4][4] == "4.000"


# --------------------------------------------------------------------------- 12. list and chart


def test_deleted_accounts_are_hidden_from_the_list_unless_the_filter_shows_them(unlocked, csrf, server, clock):
    go_online(unlocked, csrf, server)
    gone = new_account(unlocked, csrf, "Closed Hotel", "old@closed.example")
    new_account(unlocked, csrf, "Acme Hotel")
    sync(unlocked, csrf)
    page = unlocked.get(gone + "/delete").data.decode()
    assert unlocked.post(gone + "/delete", data={**delete_form(page), "csrf_token": csrf}).status_code == 302
    sync(unlocked, csrf)
    listed = words(unlocked.get("/accounts/").data.decode())
    assert "Acme Hotel" in listed and "Closed Hotel" not in listed
    assert "Show deleted accounts" in listed
    shown = words(unlocked.get("/accounts/?deleted=shown", headers=htmx()).data.decode())
    assert "Closed Hotel" in shown and "Acme Hotel" in shown


def test_the_current_line_spans_the_chart_when_the_pending_one_ends_later():
    from app.web.chart import Series, render_burn_down

    day = 86_400
    current = Series("current", ((0, 900), (10 * day, 0)), "current")
    pending = Series("pending", ((0, 900), (30 * day, 0)), "pending", dashed=True)
    svg = render_burn_down([current, pending], format_amount=str, format_time=str, title="t")
    xs = [int(point.split(",")[0]) for point in
          re.search(r'class="line current" points="([^"]+)"', svg).group(1).split()]
    right_edge = int(re.search(r'class="grid" x1="\d+" y1="\d+" x2="(\d+)"', svg).group(1))
    assert max(xs) == right_edge


def test_the_charts_amount_axis_reads_round_numbers():
    from app.web.chart import TICKS_PER_ISC, Series, render_burn_down

    balance = 97 * TICKS_PER_ISC + 345 * TICKS_PER_ISC // 1000  # 97.345 iSC
    svg = render_burn_down([Series("current", ((0, balance), (86_400, 0)))],
                           format_amount=lambda t: str(t / TICKS_PER_ISC), format_time=str, title="t")
    labels = re.findall(r'text-anchor="end">([^<]+)<', svg)
    assert {"0.0", "50.0", "100.0"} <= set(labels)


# --------------------------------------------------------------------------- 6. first run


def first_run_online(client, csrf, url, token):
    return client.post("/first-run", data={"passphrase": PASSPHRASE, "confirm": PASSPHRASE, "mode": "online",
                                           "server_url": url, "token": token, "csrf_token": csrf})


def test_first_run_with_the_right_token_says_who_is_connected(client, csrf, server):
    token = server.add_technician("Acme Telecom", "Ann")
    response = first_run_online(client, csrf, server.url, token)
    assert response.status_code == 302, words(response.data.decode())
    assert "Connected as Ann, Acme Telecom." in words(client.get("/accounts/").data.decode())


def test_first_run_with_a_wrong_token_says_so_next_to_the_token_and_creates_nothing(client, csrf, server, app):
    from app.store import is_initialised

    server.add_technician("Acme Telecom", "Ann")
    response = first_run_online(client, csrf, server.url, "not-the-token")
    page = response.data.decode()
    assert response.status_code == 200 and 'id="token-error"' in page
    assert "does not know this token" in words(page)
    assert not is_initialised(app.config["RENTDESK_HOME"])


def test_first_run_with_no_server_at_the_address_says_so_next_to_the_address(client, csrf):
    from tests.support.faults import free_port

    url = f"http://127.0.0.1:{free_port()}"
    page = first_run_online(client, csrf, url, "some-token").data.decode()
    assert 'id="server_url-error"' in page and f"No license server answers at {url}" in words(page)


def test_a_first_run_without_the_vendor_key_says_how_to_import_it(tmp_path, clock, server):
    keys = tmp_path / "empty-keys"
    keys.mkdir()
    app = create_app({"RENTDESK_HOME": str(tmp_path / "home"), "TESTING": True, "TRUST_DEMO_KEY": False,
                      "CLOCK": clock, "BACKGROUND_SYNC": False, "STORE_KDF": FAST_KDF, "TIMEZONE": "UTC",
                      "KEYS_DIR": str(keys)})
    try:
        client = app.test_client()
        client.get("/launch?secret=" + app.config["LAUNCH_SECRET"])
        csrf = csrf_token(app)
        page = words(client.get("/first-run").data.decode())
        assert "No trusted signing key yet" in page and "Reinstall" not in page
        assert "Import the vendor's key file" in page and str(tmp_path / "home" / "keys") in page  # issue 25
        token = server.add_technician("Acme Telecom", "Ann")
        page = words(first_run_online(client, csrf, server.url, token).data.decode())
        assert f"signs its answers with the key demo, which this RentDesk does not trust" in page
        assert "demo.pub, import it under “Trusted signing keys” below" in page
    finally:
        app.extensions["rentdesk.shutdown"]()


# --------------------------------------------------------------------------- 11. rule numbers where they help


def test_a_rule_problem_reads_its_reason_first_with_the_rules_text_under_why(unlocked, csrf):
    account = new_account(unlocked, csrf)
    page = unlocked.post(account + "/pbx/new", data={"name": "Lobby", "serial": "SN-1", "platform": "vmware",
                                                     "firmware": "12r3", "mode": "rental", "csrf_token": csrf}
                         ).data.decode()
    error = re.search(r'<div class="field-error" id="firmware-error"[^>]*>(.*?)</div>', page, re.DOTALL).group(1)
    assert not words(error).startswith("R1")  # the reason comes first, not a bare rule number
    why = re.search(r'<details class="why"><summary>why\?</summary>(.*?)</details>', error, re.DOTALL)
    assert why and words(why.group(1)) == "R1 Rental needs PBX firmware 13r1 or later."


def test_a_code_that_is_no_rule_of_the_guide_gets_no_why(unlocked, csrf):
    account = new_account(unlocked, csrf)
    page = unlocked.post(account + "/key", data={"key": "ISC1-AAAAA-BBBBB-CCCCC", "csrf_token": csrf},
                         headers=htmx()).data.decode()
    error = re.search(r'<div class="field-error" id="key-error"[^>]*>(.*?)</div>', page, re.DOTALL).group(1)
    assert "why?" not in error and "key-invalid" not in words(error)


def test_the_rules_texts_are_in_one_place_in_both_languages(app):
    from flask_babel import force_locale

    from app.web.rules_text import RULES, rule_text

    assert set(RULES) == {f"R{n}" for n in range(1, 27)}
    with app.test_request_context(), force_locale("fr"):
        assert rule_text("R14").startswith("Les licences ne s’activent que si le crédit couvre")


# --------------------------------------------------------------------------- 14. backups


def test_a_backup_to_a_folder_that_does_not_exist_is_refused_and_creates_nothing(unlocked, csrf, tmp_path):
    typo = tmp_path / "nonexistent" / "dir"
    page = unlocked.post("/settings/backup", data={"dest": str(typo / "monday"), "csrf_token": csrf},
                         headers=htmx()).data.decode()
    assert 'id="dest-error"' in page and f"The folder {typo} does not exist" in words(page)
    assert not (tmp_path / "nonexistent").exists()


def test_a_backup_to_an_existing_folder_is_named_by_the_day_inside_it(unlocked, csrf, tmp_path):
    folder = tmp_path / "usb-stick"
    folder.mkdir()
    page = unlocked.post("/settings/backup", data={"dest": str(folder), "csrf_token": csrf},
                         headers=htmx()).data.decode()
    assert "Backup written to" in page
    [written] = folder.iterdir()
    assert written.name == "rentdesk-2027-01-15.rentdesk-backup"


def test_the_backup_form_offers_existing_folders_to_pick(unlocked):
    from pathlib import Path

    page = unlocked.get("/settings/").data.decode()
    assert '<datalist id="backup-folders">' in page and f'<option value="{Path.home()}">' in page


def test_a_server_signing_with_a_key_not_trusted_here_is_said_in_plain_words_once(tmp_path, clock, server):
    keys = tmp_path / "no-keys"
    keys.mkdir()
    app = create_app({"RENTDESK_HOME": str(tmp_path / "home"), "TESTING": True, "TRUST_DEMO_KEY": False,
                      "CLOCK": clock, "BACKGROUND_SYNC": False, "STORE_KDF": FAST_KDF, "TIMEZONE": "UTC",
                      "KEYS_DIR": str(keys)})
    try:
        client = app.test_client()
        client.get("/launch?secret=" + app.config["LAUNCH_SECRET"])
        csrf = csrf_token(app)
        client.post("/first-run", data={"passphrase": PASSPHRASE, "confirm": PASSPHRASE, "mode": "offline",
                                        "csrf_token": csrf})
        go_online(client, csrf, server)
        new_account(client, csrf)
        page = words(client.post("/sync/run", data={"csrf_token": csrf}).data.decode())
        assert "trusted keys are" not in page
        assert page.count("signs its answers with key 'demo', which this RentDesk does not trust") == 1
        assert "ask your vendor for demo.pub" in page
    finally:
        app.extensions["rentdesk.shutdown"]()


def test_a_queued_license_change_names_the_items_as_the_price_list_gives_them_in_french_too(unlocked, csrf, server):
    # item 10: queue summaries show the item names of the price list, not only references
    account, pbx_url = running_account(unlocked, csrf, server)
    assert unlocked.post(pbx_url + "/licenses", data={"qty-01-00030-001": "120", "csrf_token": csrf}).status_code == 302
    queue = words(unlocked.get("/sync/").data.decode())
    assert "Set licenses of PBX Lobby: App platform license (per instance) (01-00030-001) × 120" in queue
    unlocked.post("/settings/language", data={"language": "fr", "csrf_token": csrf})
    queue = words(unlocked.get("/sync/").data.decode())
    assert "Licences du PBX Lobby : App platform license (per instance) (01-00030-001) × 120" in queue


def test_a_statement_period_that_cannot_be_shown_keeps_the_dates_as_typed_with_the_error_next_to_each(
        unlocked, csrf, server, clock):
    """A date that does not exist (30 February) or an end before the start: the fields keep what was typed, the
    error is next to the field it is about (and described by it), and no statement of another period is shown
    beneath. The screen put the default dates back in the fields, beside "Use a date like…", showed the
    statement of a day nobody asked for, and compared the end with that invented start."""
    account = statement_of_a_day(unlocked, csrf, server, clock)
    page = unlocked.get(account + "/statement?start=2027-02-30&end=2027-01-01").data.decode()
    assert 'value="2027-02-30"' in page and 'value="2027-01-01"' in page
    assert "Use a date like" in words(page) and "The end date must be on or after" not in words(page)
    assert re.search(r'id="start"[^>]*aria-invalid="true"[^>]*aria-describedby="start-error"', page)
    assert 'class="statement"' not in page and "Nothing was charged" not in page
    assert "statement.csv" not in page  # no export of a period other than the one typed
    section = re.search(r'<section[^>]*id="statement"[^>]*>', page).group(0)
    assert "data-refresh" not in section  # nor a statement of the default period fetched there after a sync
    page = unlocked.get(account + "/statement?start=2027-01-10&end=2027-01-01").data.decode()
    assert 'value="2027-01-10"' in page and 'value="2027-01-01"' in page
    assert "The end date must be on or after the start date." in words(page)
    assert re.search(r'id="end"[^>]*aria-invalid="true"[^>]*aria-describedby="end-error"', page)
    assert 'class="statement"' not in page


def test_a_deleted_accounts_pbx_page_offers_no_edit_remove_or_licenses_to_queue_R13(unlocked, csrf, server):
    """A PBX of a deleted account takes no change (R13): its page says so instead of offering Edit, Remove and a
    license editor whose every save was refused; a page open when a sync brings the deletion loses Edit and Remove
    at its next refresh of the title."""
    account, pbx = running_account(unlocked, csrf, server)
    open_title = unlocked.get(pbx + "?part=title").data.decode()
    assert 'hx-swap-oob' not in open_title
    form = delete_form(unlocked.get(account + "/delete").data.decode())
    assert unlocked.post(account + "/delete", data={**form, "csrf_token": csrf}).status_code == 302
    sync(unlocked, csrf)
    page = unlocked.get(pbx).data.decode()
    assert 'data-testid="pbx-of-deleted-account"' in page and "(R13)" in words(page)
    assert pbx + "/edit" not in page and pbx + "/remove" not in page and pbx + "/licenses" not in page
    assert 'id="pbx-actions" hx-swap-oob="true"' in unlocked.get(pbx + "?part=title").data.decode()
    # the editor left open before the sync: its save is answered in the editor's place with the same words
    saved = unlocked.post(pbx + "/licenses", data={"qty-01-00030-001": "126", "csrf_token": csrf},
                          headers={"HX-Request": "true"}).data.decode()
    assert 'id="license-editor"' in saved and 'data-testid="pbx-of-deleted-account"' in saved
