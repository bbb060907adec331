"""Issue 23: when the vendor revokes a technician's token, or it expires, the app says so in plain words (English or
French, never the server's own text) and asks for a new token; a new token entered in Settings syncs again."""

from __future__ import annotations

import html
import re

import pytest

from license_server import admin
from tests.support.license_server import LiveLicenseServer

from .conftest import PASSPHRASE, START

DAY = 86_400


def words(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def go_online(client, csrf, server, token):
    response = client.post("/settings/server", data={"server_url": server.url, "token": token, "csrf_token": csrf})
    assert response.status_code == 302, response.data


def sync(client, csrf) -> str:
    return words(client.post("/sync/run", data={"csrf_token": csrf}).data.decode())


@pytest.fixture
def server(tmp_path, clock):
    server = LiveLicenseServer(tmp_path / "server", clock=clock).start()
    yield server
    server.stop()


def test_a_revoked_token_is_said_plainly_and_a_new_token_is_asked_for(unlocked, csrf, server):
    go_online(unlocked, csrf, server, server.add_technician("Acme Telecom", "Ann"))
    assert "Sync complete" in sync(unlocked, csrf)
    admin.revoke_technician(server.ctx, admin.list_technicians(server.ctx)[0].id)
    page = unlocked.post("/sync/run", data={"csrf_token": csrf}).data.decode()
    text = words(page)
    assert "Your technician token was revoked by the vendor" in text
    assert "Ask your vendor for a new token and enter it in Settings" in text
    assert "revoked by the vendor: ask the vendor" not in text  # the server's own English is not shown
    assert 'data-testid="ask-new-token"' in page and 'data-testid="new-token-needed"' in page
    assert "New token needed" in words(unlocked.get("/sync/chip").data.decode())

    go_online(unlocked, csrf, server, server.add_technician("Acme Telecom", "Ann again"))
    assert "Sync complete" in sync(unlocked, csrf)
    assert "New token needed" not in words(unlocked.get("/sync/chip").data.decode())


def test_a_revoked_token_is_said_in_french(unlocked, csrf, server):
    go_online(unlocked, csrf, server, server.add_technician("Acme Telecom", "Ann"))
    unlocked.post("/settings/language", data={"language": "fr", "csrf_token": csrf})
    admin.revoke_technician(server.ctx, admin.list_technicians(server.ctx)[0].id)
    text = sync(unlocked, csrf)
    assert "Votre jeton de technicien a été révoqué par votre fournisseur" in text
    assert "Nouveau jeton requis" in words(unlocked.get("/sync/chip").data.decode())


def test_an_expired_token_is_said_plainly(unlocked, csrf, server, clock):
    go_online(unlocked, csrf, server, admin.add_technician(server.ctx, "Acme Telecom", "Temp", expires_days=7))
    assert "Sync complete" in sync(unlocked, csrf)
    clock.set(START + 7 * DAY)
    text = sync(unlocked, csrf)
    assert "Your technician token has expired. Ask your vendor for a new token" in text


def test_the_first_run_says_a_revoked_token_no_longer_works(client, csrf, server):
    token = server.add_technician("Acme Telecom", "Ann")
    admin.revoke_technician(server.ctx, admin.list_technicians(server.ctx)[0].id)
    response = client.post("/first-run", data={"passphrase": PASSPHRASE, "confirm": PASSPHRASE, "mode": "online",
                                               "server_url": server.url, "token": token, "csrf_token": csrf})
    assert "The vendor revoked this token: it no longer works" in words(response.data.decode())


def test_settings_open_when_a_background_sync_finds_the_token_revoked_says_so_beside_the_token_field(
        unlocked, csrf, server, app):
    """The chip sends the technician to Settings#token: the page says there, from the sync's stored reason, that the
    token stored no longer works (never "a token is stored: leave empty to keep it"), in French too, and the part
    beside the field comes again after the sync that found it (the page was open)."""
    from app.web.state import EXTENSION

    from .conftest import htmx

    go_online(unlocked, csrf, server, server.add_technician("Acme Telecom", "Ann"))
    assert "Sync complete" in sync(unlocked, csrf)
    page = unlocked.get("/settings/").data.decode()
    assert "A token is stored: leave empty to keep it." in words(page)
    admin.revoke_technician(server.ctx, admin.list_technicians(server.ctx)[0].id)
    sync(unlocked, csrf)  # the background syncer's attempt, while Settings is open
    part = unlocked.get("/settings/?part=token", headers=htmx()).data.decode()
    assert part.lstrip().startswith('<div id="token-state"') and "rentdesk:synced from:body" in part
    said = words(part)
    assert "Your technician token was revoked by the vendor" in said
    assert "leave empty to keep it" not in said
    assert "(unchanged)" not in unlocked.get("/settings/").data.decode()  # the token stored no longer works
    app.extensions[EXTENSION].language = "fr"
    assert "Votre jeton de technicien a été révoqué par votre fournisseur" in words(unlocked.get("/settings/").data.decode())
    go_online(unlocked, csrf, server, server.add_technician("Acme Telecom", "Ann again"))
    sync(unlocked, csrf)  # a new token works again
    assert "révoqué" not in words(unlocked.get("/settings/?part=token", headers=htmx()).data.decode())
