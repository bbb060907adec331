"""The license editor and the account form stay open while a sync runs (the app syncs in the background): what
each was opened on travels with its form, and a save made on a state the sync has since replaced (another laptop's
licenses or edit, a new price list, R23) is shown with what the server holds and asked again, never queued over it
unseen. Against a live license server, English and French."""

from __future__ import annotations

import html
import re
import uuid

from license_server import admin

from app.web.state import EXTENSION

from .live import (  # noqa: F401  (the live server fixture)
    IP_PORT, edit_elsewhere, rename_elsewhere, running_account, server, server_account, text)
from .test_reapply_review import _server_items, _set_elsewhere, _sync

IP_PORT_NAME = "IP port license (per device)"


def _seen(page: bytes) -> str:
    """The hidden field saying what the editor was opened on."""
    return html.unescape(re.search(r'name="seen" value="([^"]*)"', page.decode())[1])


def _save(client, csrf, licenses: str, qty: int, seen: str):
    return client.post(licenses, data={f"qty-{IP_PORT}": str(qty), "seen": seen, "csrf_token": csrf})


def test_a_save_on_licenses_another_laptop_changed_meanwhile_shows_them_and_queues_nothing(unlocked, csrf, server):
    account, licenses = running_account(unlocked, csrf, server)  # 10 IP ports, synced
    account_id = account.rsplit("/", 1)[-1]
    opened = _seen(unlocked.get(licenses.removesuffix("/licenses")).data)
    _set_elsewhere(server, account_id, {IP_PORT: 60})  # a colleague's laptop…
    _sync(unlocked, csrf)  # …and this laptop learns it while the editor is open (the background syncer)

    answer = _save(unlocked, csrf, licenses, 12, opened)  # typed on the 10 the editor showed
    assert answer.status_code == 200
    shown = text(answer.data)
    assert "nothing was queued" in shown and f"The server now holds: 60 × {IP_PORT_NAME}" in shown
    assert 'value="12"' in answer.data.decode()  # what was typed stays
    assert "0 changes sent" in text(_sync(unlocked, csrf).data)
    assert _server_items(server, account_id) == {IP_PORT: 60}

    again = _save(unlocked, csrf, licenses, 12, _seen(answer.data))  # seen now: queued as asked
    assert again.status_code == 302
    assert "1 applied" in text(_sync(unlocked, csrf).data)
    assert _server_items(server, account_id) == {IP_PORT: 12}


def test_a_price_list_arriving_while_the_editor_is_open_is_said_before_queuing_in_french(unlocked, csrf, server, app):
    account, licenses = running_account(unlocked, csrf, server)
    opened = _seen(unlocked.get(licenses.removesuffix("/licenses")).data)
    newer = admin.demo_pricelist()
    newer["version"] = "2027-02"
    server.publish_prices(newer)
    _sync(unlocked, csrf)  # R23: the next connection event re-rates at 2027-02, the editor's figures too
    app.extensions[EXTENSION].language = "fr"
    answer = _save(unlocked, csrf, licenses, 12, opened)
    assert answer.status_code == 200
    assert "rien n’a été mis en attente" in text(answer.data)
    assert "liste de prix 2027-02" in text(answer.data)


def test_this_laptops_own_change_confirmed_meanwhile_does_not_stop_the_save(unlocked, csrf, server):
    account, licenses = running_account(unlocked, csrf, server)
    account_id = account.rsplit("/", 1)[-1]
    assert _save(unlocked, csrf, licenses, 11, "").status_code == 302  # queued, not yet sent
    opened = _seen(unlocked.get(licenses.removesuffix("/licenses")).data)  # the editor starts from the 11 queued
    assert "1 applied" in text(_sync(unlocked, csrf).data)  # confirmed while the editor is open
    assert _save(unlocked, csrf, licenses, 14, opened).status_code == 302
    _sync(unlocked, csrf)
    assert _server_items(server, account_id) == {IP_PORT: 14}


def test_an_account_form_opened_before_a_rename_synced_from_elsewhere_does_not_put_the_old_name_back(
        unlocked, csrf, server, app):
    account, _ = running_account(unlocked, csrf, server)  # "Hôtel Azur", synced
    account_id = account.rsplit("/", 1)[-1]
    opened = _seen(unlocked.get(account + "/edit").data)
    assert rename_elsewhere(server, account_id, "Azur Hotels", server_account(server, account_id)["revision"])[
        "status"] == "applied"
    _sync(unlocked, csrf)  # learnt while the form is open
    # only the e-mail was changed here; the name field still says what the form opened on
    edit = {"name": "Hôtel Azur", "contact_email": "compta@azur.example", "language": "en", "seen": opened,
            "csrf_token": csrf}
    answer = unlocked.post(account + "/edit", data=edit)
    assert answer.status_code == 200
    shown = text(answer.data)
    assert "nothing was queued" in shown and "Customer name: Azur Hotels" in shown
    assert "Contact e-mail:" not in shown  # changed here only: not listed, and kept as typed
    page = answer.data.decode()
    assert 'value="Azur Hotels"' in page and 'value="compta@azur.example"' in page  # the name left as it was follows
    assert "0 changes sent" in text(_sync(unlocked, csrf).data)
    assert server_account(server, account_id)["name"] == "Azur Hotels"

    app.extensions[EXTENSION].language = "fr"
    french = text(unlocked.post(account + "/edit", data=edit).data)
    assert "rien n’a été mis en attente" in french and "Nom du client : Azur Hotels" in french

    edit.update(name="Azur Hotels", seen=_seen(answer.data))  # seen now, the name kept: the e-mail alone is queued
    assert unlocked.post(account + "/edit", data=edit).status_code == 302
    _sync(unlocked, csrf)
    held = server_account(server, account_id)
    assert (held["name"], held["contact_email"]) == ("Azur Hotels", "compta@azur.example")


def _update_pbx_elsewhere(server, account_id: str, **fields) -> None:
    """Another laptop of the partner edits the PBX first (its own token and client id, on the API)."""
    token = server.add_technician("Acme Telecom", "Bob")
    [pbx] = server_account(server, account_id)["pbxs"]
    op = {"op_id": str(uuid.uuid4()), "kind": "update_pbx", "account_id": account_id, "pbx_id": pbx["pbx_id"],
          "base_revision": pbx["revision"], **fields}
    with server.client(token) as http:
        body = http.post("/sync", json={"client_id": str(uuid.uuid4()), "ops": [op]}).json()
    assert server.keyring.verify_envelope(body["results"][0], "op-result")["status"] == "applied"


def test_a_pbx_form_opened_before_a_firmware_update_synced_from_elsewhere_does_not_put_the_old_one_back(
        unlocked, csrf, server):
    account, licenses = running_account(unlocked, csrf, server)  # PBX "Lobby", firmware 13r2
    account_id = account.rsplit("/", 1)[-1]
    edit_url = licenses.removesuffix("/licenses") + "/edit"
    opened = _seen(unlocked.get(edit_url).data)
    _update_pbx_elsewhere(server, account_id, firmware="14r1")
    _sync(unlocked, csrf)  # learnt while the form is open
    edit = {"name": "Lobby 1", "serial": "SN-1", "platform": "vmware", "firmware": "13r2", "mode": "rental",
            "seen": opened, "csrf_token": csrf}  # renamed here; the firmware field still says what it opened on
    answer = unlocked.post(edit_url, data=edit)
    assert answer.status_code == 200
    shown = text(answer.data)
    assert "nothing was queued" in shown and "Firmware: 14r1" in shown and "PBX name:" not in shown
    page = answer.data.decode()
    assert 'value="14r1"' in page and 'value="Lobby 1"' in page  # the field left as it was follows; mine stays
    assert "0 changes sent" in text(_sync(unlocked, csrf).data)

    edit.update(firmware="14r1", seen=_seen(answer.data))
    assert unlocked.post(edit_url, data=edit).status_code == 302
    _sync(unlocked, csrf)
    [pbx] = server_account(server, account_id)["pbxs"]
    assert (pbx["name"], pbx["firmware"]) == ("Lobby 1", "14r1")


def test_the_editor_says_a_newer_price_list_rerates_the_account_at_this_change_in_english_and_french(
        unlocked, csrf, server, app):
    """R23: the account runs at 2026-11; the laptop holds 2027-02 (IP ports doubled): the editor's figures are at
    2027-02 and its summary says why, beside them, as the account page does."""
    account, licenses = running_account(unlocked, csrf, server)
    newer = admin.demo_pricelist()
    newer["version"] = "2027-02"
    for item in newer["items"]:
        if item["ref"] == IP_PORT:
            item["monthly_milli"] = 1_000
    server.publish_prices(newer)
    _sync(unlocked, csrf)
    summary = text(unlocked.post(licenses + "/preview?part=summary",
                                 data={f"qty-{IP_PORT}": "11", "csrf_token": csrf}).data)
    assert "11.000 iSC" in summary  # 11 at 1.000 iSC: the whole account at 2027-02
    assert "R23 · Price list 2027-02 is newer than 2026-11, the one this account runs at." in summary
    app.extensions[EXTENSION].language = "fr"
    french = text(unlocked.get(licenses.removesuffix("/licenses")).data)
    assert "R23 · La liste de prix 2027-02 est plus récente" in french


def _sync_merges_before(monkeypatch, app, change: str, elsewhere) -> None:
    """services.<change> as the background sync can meet it: once, after the request read the account and checked
    its form and before the change's own transaction, another laptop's change (elsewhere()) is merged by a sync
    in a thread of its own, as app/syncer.py's."""
    import threading

    from app import services

    state = app.extensions[EXTENSION]
    queue_change = getattr(services, change)
    merged = []

    def the_background_sync_merges_first(*args, **kwargs):
        if not merged:
            elsewhere()
            sync = threading.Thread(target=lambda: merged.append(services.sync_now(state.store, state.clock)),
                                    name="rentdesk-sync")
            sync.start()
            sync.join(30)
            assert merged and merged[0].ok
        return queue_change(*args, **kwargs)

    monkeypatch.setattr(services, change, the_background_sync_merges_first)


def test_a_sync_merging_between_the_forms_check_and_its_queuing_is_caught_in_the_changes_transaction(
        unlocked, csrf, server, app, monkeypatch):
    """The form's check (what it opened on against the account read by the request) and the queuing are two units
    of work: the background sync could merge another laptop's rename between them, and the edit was queued on the
    new revision with the old name, put back unseen. The change's own transaction (a writer's: no sync merges
    under it) now checks the account is still at the revision the form was checked on; when it is not, the
    request reads the account again and asks again."""
    account, _ = running_account(unlocked, csrf, server)  # "Hôtel Azur", synced
    account_id = account.rsplit("/", 1)[-1]
    opened = _seen(unlocked.get(account + "/edit").data)

    def rename():
        base = server_account(server, account_id)["revision"]
        assert rename_elsewhere(server, account_id, "Azur Hotels", base)["status"] == "applied"

    _sync_merges_before(monkeypatch, app, "update_account", rename)
    edit = {"name": "Hôtel Azur", "contact_email": "compta@azur.example", "language": "en", "seen": opened,
            "csrf_token": csrf}  # only the e-mail changed here
    answer = unlocked.post(account + "/edit", data=edit)
    assert answer.status_code == 200  # not queued: shown again with what arrived
    shown = text(answer.data)
    assert "nothing was queued" in shown and "Customer name: Azur Hotels" in shown
    assert "0 changes sent" in text(_sync(unlocked, csrf).data)
    assert server_account(server, account_id)["name"] == "Azur Hotels"  # never put back


def test_a_sync_merging_between_the_editors_check_and_its_queuing_is_caught_in_the_changes_transaction(
        unlocked, csrf, server, app, monkeypatch):
    """The license editor too: its check (what it opened on, against the PBX the request read) and the queuing are
    two units of work, and a colleague's licenses merged by the background sync between them were saved over
    unseen. The change's own transaction checks the account's revision; when it moved, the request checks again."""
    account, licenses = running_account(unlocked, csrf, server)  # 10 IP ports, synced
    account_id = account.rsplit("/", 1)[-1]
    opened = _seen(unlocked.get(licenses.removesuffix("/licenses")).data)
    _sync_merges_before(monkeypatch, app, "set_licenses", lambda: _set_elsewhere(server, account_id, {IP_PORT: 60}))
    answer = _save(unlocked, csrf, licenses, 12, opened)
    assert answer.status_code == 200  # not queued: shown again with what arrived
    shown = text(answer.data)
    assert "nothing was queued" in shown and f"The server now holds: 60 × {IP_PORT_NAME}" in shown
    assert 'value="12"' in answer.data.decode()  # what was typed stays
    assert "0 changes sent" in text(_sync(unlocked, csrf).data)
    assert _server_items(server, account_id) == {IP_PORT: 60}  # never saved over


def _reload_seen(page: bytes) -> str:
    """What the automatic-reload select was opened on: its form's hidden field."""
    return html.unescape(re.search(r'id="reload-form".*?name="seen" value="([^"]*)"', page.decode(), re.S)[1])


def _set_reload(client, csrf, account: str, days: int, seen: str):
    return client.post(account + "/reload", data={"auto_reload_days": str(days), "seen": seen, "csrf_token": csrf})


def test_a_reload_setting_another_laptop_switched_meanwhile_is_shown_and_nothing_is_queued_R24(
        unlocked, csrf, server, app):
    account, _ = running_account(unlocked, csrf, server)  # automatic reload off, synced
    account_id = account.rsplit("/", 1)[-1]
    opened = _reload_seen(unlocked.get(account).data)  # the select shows "off"
    base = server_account(server, account_id)["revision"]
    assert edit_elsewhere(server, account_id, base, auto_reload_days=28)["status"] == "applied"  # a colleague…
    _sync(unlocked, csrf)  # …and this laptop learns it while the account page is open (the background syncer)

    answer = _set_reload(unlocked, csrf, account, 14, opened)  # chosen on the "off" the select showed
    assert answer.status_code == 200
    shown = text(answer.data)
    assert "nothing was queued" in shown
    assert "The server now holds: Reload: 28 days before the credit runs out" in shown
    assert '<option value="14" selected>' in answer.data.decode()  # what was chosen here stays chosen
    assert "change queued" not in shown
    assert "0 changes sent" in text(_sync(unlocked, csrf).data)
    assert server_account(server, account_id)["auto_reload_days"] == 28

    app.extensions[EXTENSION].language = "fr"
    french = text(_set_reload(unlocked, csrf, account, 14, opened).data)
    assert "rien n’a été mis en attente" in french
    assert "Recharge : 28 jours avant l’épuisement du crédit" in french
    app.extensions[EXTENSION].language = "en"

    again = _set_reload(unlocked, csrf, account, 14, _reload_seen(answer.data))  # seen now: queued as asked
    assert again.status_code == 302
    assert "1 applied" in text(_sync(unlocked, csrf).data)
    assert server_account(server, account_id)["auto_reload_days"] == 14


def test_a_reload_setting_nobody_changed_since_the_select_opened_is_queued_R24(unlocked, csrf, server):
    account, _ = running_account(unlocked, csrf, server)
    account_id = account.rsplit("/", 1)[-1]
    opened = _reload_seen(unlocked.get(account).data)
    _sync(unlocked, csrf)  # a sync that brings nothing new
    answer = _set_reload(unlocked, csrf, account, 14, opened)
    assert answer.status_code == 302
    assert "change queued" in text(unlocked.get(account).data)
    assert "1 applied" in text(_sync(unlocked, csrf).data)
    assert server_account(server, account_id)["auto_reload_days"] == 14


def test_this_laptops_own_reload_change_confirmed_meanwhile_does_not_stop_the_next_one_R24(unlocked, csrf, server):
    account, _ = running_account(unlocked, csrf, server)
    account_id = account.rsplit("/", 1)[-1]
    assert _set_reload(unlocked, csrf, account, 28, _reload_seen(unlocked.get(account).data)).status_code == 302
    opened = _reload_seen(unlocked.get(account).data)  # the select shows the 28 queued here
    assert "1 applied" in text(_sync(unlocked, csrf).data)  # confirmed while the page is open
    assert _set_reload(unlocked, csrf, account, 14, opened).status_code == 302
    _sync(unlocked, csrf)
    assert server_account(server, account_id)["auto_reload_days"] == 14


def test_a_sync_merging_between_the_reload_selects_check_and_its_queuing_is_caught_R24(
        unlocked, csrf, server, app, monkeypatch):
    """As for the account form: the reload select's check and its queuing are two units of work; another laptop's
    switch merged by the background sync between them is caught in the change's own transaction, shown, and
    nothing is queued over it."""
    account, _ = running_account(unlocked, csrf, server)  # automatic reload off, synced
    account_id = account.rsplit("/", 1)[-1]
    opened = _reload_seen(unlocked.get(account).data)

    def switch():
        base = server_account(server, account_id)["revision"]
        assert edit_elsewhere(server, account_id, base, auto_reload_days=28)["status"] == "applied"

    _sync_merges_before(monkeypatch, app, "set_auto_reload", switch)
    answer = _set_reload(unlocked, csrf, account, 14, opened)  # chosen on the "off" the select showed
    assert answer.status_code == 200
    shown = text(answer.data)
    assert "nothing was queued" in shown
    assert "The server now holds: Reload: 28 days before the credit runs out" in shown
    assert "0 changes sent" in text(_sync(unlocked, csrf).data)
    assert server_account(server, account_id)["auto_reload_days"] == 28
