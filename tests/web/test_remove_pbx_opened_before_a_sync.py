"""The "Remove PBX" button acts on the PBX its page showed, never on one a background sync replaced meanwhile: the
removal carries what the page was opened on, and when another laptop changed the PBX (its licenses, its facts) and
this laptop learnt it before the click, nothing is queued and the page shows what the server now holds, to remove
again (R19: the removal ends every rent of the PBX, the colleague's new licenses included). Against a live license
server, English and French."""

from __future__ import annotations

import html
import re

from app.web.state import EXTENSION

from .live import IP_PORT, running_account, server, server_account, text  # noqa: F401  (server: a fixture)
from .test_reapply_review import _server_items, _set_elsewhere, _sync


def _remove_form(page: bytes) -> tuple[str, dict]:
    """The remove form of a PBX page: its address and every hidden field it sends."""
    form = re.search(r'<form method="post" action="([^"]+/remove)"(.*?)</form>', page.decode(), re.S)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form[2]))
    return html.unescape(form[1]), {name: html.unescape(value) for name, value in fields.items()}


def test_removing_a_pbx_whose_licenses_another_laptop_changed_meanwhile_queues_nothing_and_shows_them_R19(
        unlocked, csrf, server):
    account, licenses = running_account(unlocked, csrf, server)  # 10 IP ports, synced
    account_id = account.rsplit("/", 1)[-1]
    pbx = licenses.removesuffix("/licenses")
    address, fields = _remove_form(unlocked.get(pbx).data)  # the page is open…
    _set_elsewhere(server, account_id, {IP_PORT: 60})  # …a colleague's laptop rents 60…
    _sync(unlocked, csrf)  # …and the background sync brings it before the click

    answer = unlocked.post(address, data=fields)
    assert answer.status_code == 302 and answer.headers["Location"] == pbx  # back on the PBX, as it is now
    shown = text(unlocked.get(pbx).data)
    assert "nothing was queued" in shown and "60 × IP port license (per device)" in shown
    assert "0 changes sent" in text(_sync(unlocked, csrf).data)
    assert _server_items(server, account_id) == {IP_PORT: 60}

    address, fields = _remove_form(unlocked.get(pbx).data)  # seen now: removed as asked
    assert unlocked.post(address, data=fields).headers["Location"] == account
    assert "1 applied" in text(_sync(unlocked, csrf).data)
    assert server_account(server, account_id)["pbxs"] == []


def test_a_pbx_renamed_elsewhere_is_said_in_french_before_it_is_removed(unlocked, csrf, server, app):
    account, licenses = running_account(unlocked, csrf, server)
    pbx = licenses.removesuffix("/licenses")
    address, fields = _remove_form(unlocked.get(pbx).data)
    edit = unlocked.get(pbx + "/edit").data.decode()
    seen = html.unescape(re.search(r'name="seen" value="([^"]*)"', edit)[1])
    # this laptop renames it, and the sync confirms it: a change of the page's PBX all the same
    assert unlocked.post(pbx + "/edit", data={"name": "Reception", "serial": "SN-1", "platform": "vmware",
                                              "firmware": "13r2", "mode": "rental", "seen": seen,
                                              "csrf_token": csrf}).status_code == 302
    _sync(unlocked, csrf)
    app.extensions[EXTENSION].language = "fr"
    assert unlocked.post(address, data=fields).headers["Location"] == pbx
    shown = text(unlocked.get(pbx).data)
    assert "rien n’a été mis en attente" in shown and "Reception" in shown


def test_a_removal_with_nothing_changed_meanwhile_is_queued_at_once(unlocked, csrf, server):
    account, licenses = running_account(unlocked, csrf, server)
    address, fields = _remove_form(unlocked.get(licenses.removesuffix("/licenses")).data)
    _sync(unlocked, csrf)  # a sync that brings nothing new stops nothing
    assert unlocked.post(address, data=fields).headers["Location"] == account


def test_a_sync_merging_between_the_removals_check_and_its_queuing_is_caught_in_the_changes_transaction(
        unlocked, csrf, server, app, monkeypatch):
    """The page's check and the queuing are two units of work: a background sync merging another laptop's licenses
    between them is caught in the removal's own transaction (seen_revision, ChangedMeanwhile) and said, never
    queued over."""
    from .test_editor_opened_before_a_sync import _sync_merges_before

    account, licenses = running_account(unlocked, csrf, server)
    account_id = account.rsplit("/", 1)[-1]
    pbx = licenses.removesuffix("/licenses")
    address, fields = _remove_form(unlocked.get(pbx).data)
    _sync_merges_before(monkeypatch, app, "remove_pbx", lambda: _set_elsewhere(server, account_id, {IP_PORT: 60}))
    assert unlocked.post(address, data=fields).headers["Location"] == pbx
    assert "60 × IP port license (per device)" in text(unlocked.get(pbx).data)
    assert "0 changes sent" in text(_sync(unlocked, csrf).data)
    assert _server_items(server, account_id) == {IP_PORT: 60}


def _removed_elsewhere(server, account_id: str) -> None:
    """A colleague's laptop removes the account's PBX first (its own token and client id, on the API)."""
    import uuid

    token = server.add_technician("Acme Telecom", "Bob")
    with server.client(token) as http:
        signed = server.keyring.verify_envelope(http.get(f"/accounts/{account_id}").json(), "account")
        [pbx] = signed["pbxs"]
        op = {"op_id": str(uuid.uuid4()), "kind": "remove_pbx", "account_id": account_id, "pbx_id": pbx["pbx_id"],
              "base_revision": pbx["revision"]}
        body = http.post("/sync", json={"client_id": str(uuid.uuid4()), "ops": [op]}).json()
    assert server.keyring.verify_envelope(body["results"][0], "op-result")["status"] == "applied"


def test_a_pbx_page_open_when_a_sync_brings_its_removal_says_it_is_gone_and_queues_nothing_R19(
        unlocked, csrf, server, app):
    """The PBX page's title and facts fetch themselves after the sync: a PBX no longer on the account answered 404
    and the page kept showing it as running, its editor still saving into the void. They now say it was removed
    (English, French), and a save queues nothing."""
    from .conftest import htmx

    account, licenses = running_account(unlocked, csrf, server)
    account_id = account.rsplit("/", 1)[-1]
    pbx = licenses.removesuffix("/licenses")
    unlocked.get(pbx)  # the page is open…
    _removed_elsewhere(server, account_id)
    _sync(unlocked, csrf)  # …when the background sync brings the removal

    for part in ("title", "facts"):
        answer = unlocked.get(pbx + f"?part={part}", headers=htmx())
        assert answer.status_code == 200, part
    assert "removed" in text(unlocked.get(pbx + "?part=title", headers=htmx()).data)
    facts_answer = unlocked.get(pbx + "?part=facts", headers=htmx()).data.decode()
    assert "no longer on the account" in text(facts_answer.encode())
    # the open page's actions and editor go with it (out of band): nothing left there to remove, edit or queue
    assert '<div class="pill-list" id="pbx-actions" hx-swap-oob="true"></div>' in facts_answer
    assert '<form id="license-editor" hx-swap-oob="true" hidden></form>' in facts_answer
    assert "hx-swap-oob" not in unlocked.post(licenses, data={f"qty-{IP_PORT}": "12", "csrf_token": csrf},
                                              headers=htmx()).data.decode()  # the save's answer sits in its place
    saved = unlocked.post(licenses, data={f"qty-{IP_PORT}": "12", "csrf_token": csrf}, headers=htmx())
    assert saved.status_code == 200 and "Nothing was queued" in text(saved.data)
    assert "0 changes sent" in text(_sync(unlocked, csrf).data)
    app.extensions[EXTENSION].language = "fr"
    assert "n’est plus sur le compte" in text(unlocked.get(pbx + "?part=facts", headers=htmx()).data)
    page = unlocked.get(pbx)  # the page opened again: it says so too, with the way back to the account
    assert page.status_code == 404 and "n’est plus sur le compte" in text(page.data)


def test_an_account_page_open_when_a_sync_brings_its_deletion_takes_delete_and_add_pbx_away_R13(unlocked, csrf, server):
    """The account page's title fetches itself after the sync and says deleted; the page's Delete and Add PBX
    buttons (whose forms would only refuse now) go with it, out of band. Drawn afresh, the page has neither."""
    import uuid

    from rental.money import ticks_to_milli_floor

    from .conftest import htmx

    account, _licenses = running_account(unlocked, csrf, server)
    account_id = account.rsplit("/", 1)[-1]
    page = unlocked.get(account).data.decode()  # the page is open, with both buttons
    assert f'href="{account}/delete"' in page and f'href="{account}/pbx/new"' in page
    assert 'hx-swap-oob' not in unlocked.get(account + "?part=title", headers=htmx()).data.decode()

    token = server.add_technician("Acme Telecom", "Bob")  # a colleague's laptop deletes the account (R13)
    with server.client(token) as http:
        signed = server.keyring.verify_envelope(http.get(f"/accounts/{account_id}").json(), "account")
        op = {"op_id": str(uuid.uuid4()), "kind": "delete_account", "account_id": account_id,
              "confirm_forfeit_milli": ticks_to_milli_floor(signed["balance_ticks"])}  # as its screen showed it
        body = http.post("/sync", json={"client_id": str(uuid.uuid4()), "ops": [op]}).json()
    result = server.keyring.verify_envelope(body["results"][0], "op-result")
    assert result["status"] == "applied", result
    _sync(unlocked, csrf)

    title = unlocked.get(account + "?part=title", headers=htmx()).data.decode()
    assert "deleted" in text(title.encode())
    assert '<span id="account-delete" hx-swap-oob="true"></span>' in title
    assert '<span id="add-pbx" hx-swap-oob="true"></span>' in title
    fresh = unlocked.get(account).data.decode()
    assert f'href="{account}/delete"' not in fresh and f'href="{account}/pbx/new"' not in fresh
    assert "hx-swap-oob" not in fresh  # the page drawn whole holds the places, empty, never a swap


def test_a_pbx_removed_from_this_laptop_then_opened_again_says_which_who_and_when_not_made_elsewhere_R19(
        unlocked, csrf, server):
    """The page of a PBX this laptop removed, opened again after the sync (the back button, a bookmark): it names
    the PBX and says who removed it and when, as the server recorded it; it said "PBX removed" and that the removal
    was "made elsewhere"."""
    account, licenses = running_account(unlocked, csrf, server)
    pbx = licenses.removesuffix("/licenses")
    address, fields = _remove_form(unlocked.get(pbx).data)
    assert unlocked.post(address, data=fields).headers["Location"] == account
    assert "1 applied" in text(_sync(unlocked, csrf).data)
    answer = unlocked.get(pbx)
    shown = text(answer.data)
    assert answer.status_code == 404
    assert "PBX Lobby removed" in shown and "Ann removed it on" in shown and "made elsewhere" not in shown
    unlocked.post("/settings/language", data={"language": "fr", "csrf_token": csrf})
    shown = text(unlocked.get(pbx).data)
    assert "PBX Lobby retiré" in shown and "Ann l’a retiré le" in shown
