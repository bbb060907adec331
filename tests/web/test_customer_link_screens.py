"""The technician's app and the customer's page (R27): the account shows when the customer's link was made and
sends a new one when the server answers; what the customer did on their page shows in the history as theirs.
A live license server on 127.0.0.1, the app through its test client."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from license_server import links, models

from .test_field_ready import go_online, running_account, sync, words  # noqa: F401 (helpers)

PUBLIC = "https://licenses.example.com"


@pytest.fixture
def server(tmp_path, clock):
    from tests.support.license_server import LiveLicenseServer

    server = LiveLicenseServer(tmp_path / "server", clock=clock, config={"PUBLIC_URL": PUBLIC}).start()
    yield server
    server.stop()


def token_of(server, account_id: str) -> str:
    with server.ctx.engine.connect() as connection:
        row = connection.execute(select(models.accounts).where(models.accounts.c.id == account_id)).mappings().one()
    return links.current_url(server.ctx, dict(row)).rsplit("/", 1)[1]


def test_the_account_shows_the_link_and_sends_a_new_one_when_online(unlocked, csrf, server, clock):
    account, _pbx = running_account(unlocked, csrf, server)
    account_id = account.rstrip("/").rsplit("/", 1)[1]
    page = unlocked.get(account).data.decode()
    assert "Customer's own page: link made" in words(page) and 'data-testid="renew-link"' in page
    old = token_of(server, account_id)
    clock.advance(600)
    response = unlocked.post(account + "/customer-link", data={"csrf_token": csrf})
    assert response.status_code == 302
    page = words(unlocked.get(account).data.decode())
    assert "A new link was made and mailed to the customer" in page
    assert token_of(server, account_id) != old
    web = server.app.test_client()
    assert web.get(f"/customer/{old}").status_code == 404
    assert web.get(f"/customer/{token_of(server, account_id)}").status_code == 200


def test_offline_no_link_is_made_and_the_screen_says_why(unlocked, csrf, server):
    account, _pbx = running_account(unlocked, csrf, server)
    account_id = account.rstrip("/").rsplit("/", 1)[1]
    old = token_of(server, account_id)
    server.stop()
    try:
        unlocked.post(account + "/customer-link", data={"csrf_token": csrf})
        page = words(unlocked.get(account).data.decode())
        assert "No new link was made" in page and "cannot be reached" in page
    finally:
        server.start()
    assert token_of(server, account_id) == old


def test_what_the_customer_did_shows_in_the_history_as_theirs(unlocked, csrf, server):
    account, _pbx = running_account(unlocked, csrf, server)
    account_id = account.rstrip("/").rsplit("/", 1)[1]
    token = token_of(server, account_id)
    web = server.app.test_client()
    page = web.get(f"/customer/{token}").get_data(as_text=True)
    form = {name: re.search(rf'name="{name}" value="([^"]+)"', page).group(1) for name in ("csrf_token", "op_id")}
    [key] = server.issue_keys("50", 1)
    assert "Activation key loaded" in web.post(f"/customer/{token}/keys", data={"key": key, **form}).get_data(
        as_text=True)
    sync(unlocked, csrf)
    history = unlocked.get(account + "/history").data.decode()
    row = re.search(r'<tr data-testid="history-event">(.*?)</tr>', history, re.S).group(1)
    assert "+50.000 iSC" in words(row) and 'data-testid="by-customer"' in row
    assert "the customer, on their own page" in words(row)
