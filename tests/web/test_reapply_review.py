"""Issue 21 item 4: a change that met a conflict is never re-applied in one click. Its review shows, item by item,
what re-applying would change on the server's current signed state (computed from the replica with rental.ops,
"App platform license (per instance) 2 → 0"), and asks; a confirmation made on an older state is asked again; "Edit
on the current state" opens the license editor on the server's licenses and replaces the waiting change. The same
for account fields ("name Azur Hotels → Hôtel Azur & Spa"). English and French, against a live license server."""

from __future__ import annotations

import re
import uuid

import pytest

from .live import (  # noqa: F401  (the live server fixture and its helpers)
    IP_PORT, renamed_on_both_laptops, running_account, server, server_account, text)

APP = "01-00030-001"  # App platform license (per instance), 4.000 iSC a month
APP_NAME = "App platform license (per instance)"


def _set_elsewhere(server, account_id: str, items: dict[str, int]) -> None:
    """Another laptop of the partner sets the PBX's licenses first (its own token and client id, on the API)."""
    token = server.add_technician("Acme Telecom", "Bob")
    with server.client(token) as http:
        signed = server.keyring.verify_envelope(http.get(f"/accounts/{account_id}").json(), "account")
        [pbx] = signed["pbxs"]
        op = {"op_id": str(uuid.uuid4()), "kind": "set_licenses", "account_id": account_id,
              "pbx_id": pbx["pbx_id"], "base_revision": pbx["revision"], "items": items}
        body = http.post("/sync", json={"client_id": str(uuid.uuid4()), "ops": [op]}).json()
    assert server.keyring.verify_envelope(body["results"][0], "op-result")["status"] == "applied"


def _server_items(server, account_id: str) -> dict[str, int]:
    [pbx] = server_account(server, account_id)["pbxs"]
    return {line["ref"]: line["qty"] for line in pbx["licenses"]}


def _sync(client, csrf):
    return client.post("/sync/run", data={"csrf_token": csrf})


def _waiting_op(client) -> str:
    """The op id of the one change waiting for a decision, read from the sync screen's review link."""
    [op_id] = re.findall(r'/sync/ops/([0-9a-f-]{36})/review', client.get("/sync/").data.decode())
    return op_id


@pytest.fixture
def app_platform_conflict(unlocked, csrf, server):
    """This laptop's App platform set to 0 offline, while another laptop raised it 1 → 2 and synced first: the
    sync answers a conflict. Returns (account id, licenses URL)."""
    account, licenses = running_account(unlocked, csrf, server)
    account_id = account.rsplit("/", 1)[-1]
    assert unlocked.post(licenses, data={f"qty-{IP_PORT}": "10", f"qty-{APP}": "1",
                                         "csrf_token": csrf}).status_code == 302
    _sync(unlocked, csrf)
    assert _server_items(server, account_id) == {IP_PORT: 10, APP: 1}
    assert unlocked.post(licenses, data={f"qty-{IP_PORT}": "10", f"qty-{APP}": "0",
                                         "csrf_token": csrf}).status_code == 302  # offline: not yet sent
    _set_elsewhere(server, account_id, {IP_PORT: 10, APP: 2})
    assert "1 conflict" in text(_sync(unlocked, csrf).data)
    return account_id, licenses


def test_the_conflict_row_offers_a_review_not_a_one_click_reapply(unlocked, csrf, server, app_platform_conflict):
    account_id, _ = app_platform_conflict
    page = unlocked.get("/sync/").data.decode()
    op_id = _waiting_op(unlocked)
    assert 'name="decision" value="reapply"' not in page  # no form that re-applies from the list
    assert f"Re-applying it would change on the server: {APP_NAME} 2 → 0" in text(page.encode())
    # a re-apply posted without having seen the review is shown the review, and nothing is queued
    answer = unlocked.post(f"/sync/ops/{op_id}/resolve", data={"decision": "reapply", "csrf_token": csrf})
    assert answer.status_code == 302 and f"/sync/ops/{op_id}/review" in answer.headers["Location"]
    assert "0 changes sent" in text(_sync(unlocked, csrf).data)
    assert _server_items(server, account_id) == {IP_PORT: 10, APP: 2}


@pytest.mark.parametrize("language, heading, change", [
    ("en", "Re-apply this change?", f"{APP_NAME} 2 → 0"),
    ("fr", "Réappliquer cette modification ?", f"{APP_NAME} 2 → 0"),
])
def test_the_review_shows_each_item_against_the_servers_current_licenses(
        unlocked, csrf, server, app_platform_conflict, language, heading, change):
    unlocked.post("/settings/language", data={"language": language, "csrf_token": csrf})
    review = text(unlocked.get(f"/sync/ops/{_waiting_op(unlocked)}/review").data)
    assert heading in review
    assert change in review  # the colleague's 2 is what the server holds now
    assert f"{APP_NAME} 1 → 0" not in review  # not what this laptop saw when it made the change


def test_only_the_items_that_differ_from_the_server_are_listed(unlocked, csrf, server, app_platform_conflict):
    page = unlocked.get(f"/sync/ops/{_waiting_op(unlocked)}/review").data.decode()
    changes = re.findall(r'data-testid="reapply-change"><strong>([^<]*)</strong>', page)
    assert changes == [f"{APP_NAME} 2 → 0"]  # the IP ports stay at 10 on both sides: not a change


def test_a_confirmed_reapply_is_queued_on_the_current_revision_and_gives_0_on_the_server(
        unlocked, csrf, server, app_platform_conflict):
    account_id, _ = app_platform_conflict
    op_id = _waiting_op(unlocked)
    page = unlocked.get(f"/sync/ops/{op_id}/review").data.decode()
    seen = re.search(r'name="seen" value="([^"]+)"', page)[1]
    assert seen == str(server_account(server, account_id)["revision"])
    answer = unlocked.post(f"/sync/ops/{op_id}/resolve", data={"decision": "reapply", "seen": seen,
                                                              "csrf_token": csrf})
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/sync/")
    assert "1 applied" in text(_sync(unlocked, csrf).data)
    assert _server_items(server, account_id) == {IP_PORT: 10}


def test_a_confirmation_made_on_an_older_state_is_asked_again_with_what_it_changes_now(
        unlocked, csrf, server, app_platform_conflict):
    account_id, _ = app_platform_conflict
    op_id = _waiting_op(unlocked)
    seen = re.search(r'name="seen" value="([^"]+)"', unlocked.get(f"/sync/ops/{op_id}/review").data.decode())[1]
    _set_elsewhere(server, account_id, {IP_PORT: 10, APP: 3})  # meanwhile the colleague raises it again…
    _sync(unlocked, csrf)  # …and this laptop learns it
    answer = unlocked.post(f"/sync/ops/{op_id}/resolve", data={"decision": "reapply", "seen": seen,
                                                              "csrf_token": csrf})
    assert answer.status_code == 200
    shown = text(answer.data)
    assert "changed since you looked" in shown and f"{APP_NAME} 3 → 0" in shown
    assert "0 changes sent" in text(_sync(unlocked, csrf).data)  # nothing was queued
    assert _server_items(server, account_id) == {IP_PORT: 10, APP: 3}


def test_edit_on_the_current_state_opens_the_servers_licenses_and_replaces_the_waiting_change(
        unlocked, csrf, server, app_platform_conflict):
    account_id, licenses = app_platform_conflict
    op_id = _waiting_op(unlocked)
    review = unlocked.get(f"/sync/ops/{op_id}/review").data.decode()
    edit = re.search(r'href="([^"]+)" data-testid="edit-current"', review)[1].replace("&amp;", "&")
    editor = unlocked.get(edit).data.decode()
    assert re.search(rf'id="qty-{APP}"[^>]*value="2"', editor)  # the server's 2, not this laptop's 0
    assert f'name="replacing" value="{op_id}"' in editor
    assert unlocked.post(licenses, data={f"qty-{IP_PORT}": "10", f"qty-{APP}": "1", "replacing": op_id,
                                         "csrf_token": csrf}).status_code == 302
    assert f"/sync/ops/{op_id}/" not in unlocked.get("/sync/").data.decode()  # replaced, not left waiting
    assert "1 applied" in text(_sync(unlocked, csrf).data)
    assert _server_items(server, account_id) == {IP_PORT: 10, APP: 1}


@pytest.mark.parametrize("language, change", [
    ("en", "name Azur Hotels → Hôtel Azur & Spa"),
    ("fr", "nom Azur Hotels → Hôtel Azur & Spa"),
])
def test_an_account_rename_in_conflict_shows_the_servers_name_then_mine_before_reapplying(
        unlocked, csrf, server, language, change):
    account, account_id = renamed_on_both_laptops(unlocked, csrf, server)
    _sync(unlocked, csrf)
    unlocked.post("/settings/language", data={"language": language, "csrf_token": csrf})
    op_id = _waiting_op(unlocked)
    page = unlocked.get(f"/sync/ops/{op_id}/review").data.decode()
    assert re.findall(r'data-testid="reapply-change"><strong>([^<]*)</strong>', page) == [
        change.replace("&", "&amp;")]
    seen = re.search(r'name="seen" value="([^"]+)"', page)[1]
    unlocked.post(f"/sync/ops/{op_id}/resolve", data={"decision": "reapply", "seen": seen, "csrf_token": csrf})
    _sync(unlocked, csrf)
    assert server_account(server, account_id)["name"] == "Hôtel Azur & Spa"


def test_edit_on_the_current_state_opens_the_accounts_form_on_the_servers_name_and_replaces_the_waiting_edit(
        unlocked, csrf, server):
    account, account_id = renamed_on_both_laptops(unlocked, csrf, server)
    _sync(unlocked, csrf)
    op_id = _waiting_op(unlocked)
    review = unlocked.get(f"/sync/ops/{op_id}/review").data.decode()
    edit = re.search(r'href="([^"]+)" data-testid="edit-current"', review)[1].replace("&amp;", "&")
    form = unlocked.get(edit).data.decode()
    assert 'id="name" name="name" type="text" value="Azur Hotels"' in form  # the server's name, not mine
    assert f'name="replacing" value="{op_id}"' in form
    assert unlocked.post(edit, data={"name": "Azur Hotels & Spa", "contact_email": "it@azur.example",
                                     "language": "en", "replacing": op_id, "csrf_token": csrf}).status_code == 302
    assert f"/sync/ops/{op_id}/" not in unlocked.get("/sync/").data.decode()  # replaced, not left waiting
    assert "1 applied" in text(_sync(unlocked, csrf).data)
    assert server_account(server, account_id)["name"] == "Azur Hotels & Spa"


@pytest.mark.parametrize("language, head, token", [
    ("en", "Changed meanwhile · ", "conflict ·"),
    ("fr", "Modifié entre-temps · ", "conflict ·"),
])
def test_a_conflicts_reason_is_headed_by_words_in_the_screens_language_not_by_the_token_conflict(
        unlocked, csrf, server, app_platform_conflict, language, head, token):
    """The sync screen and the account page head a conflict's reason with a title in the UI's language, as a rule of
    the guide is headed by its number: the op's rule token ("conflict") is the clients' code, no word of the screen
    (French showed "conflict · Reception a été modifié…")."""
    account_id, _ = app_platform_conflict
    unlocked.post("/settings/language", data={"language": language, "csrf_token": csrf})
    for url in ("/sync/", f"/accounts/{account_id}"):
        words = text(unlocked.get(url).data)
        assert head in words and token not in words, url
