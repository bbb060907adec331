"""Localhost safety (DESIGN §6): only the window RentDesk opened, on its own Host, may use the app."""

from __future__ import annotations

import uuid

import pytest

from app import launch_url
from app.web.security import CSRF_HEADER


def test_a_request_without_the_launch_cookie_is_refused_with_a_page_saying_where_to_open_rentdesk(stranger):
    response = stranger.get("/accounts/")
    assert response.status_code == 403
    assert b"Open RentDesk from its own window" in response.data


def test_a_forged_launch_cookie_is_refused(app, stranger):
    stranger.set_cookie("rentdesk_app", "0" * 64)
    assert stranger.get("/").status_code == 403


def test_the_launch_url_sets_an_httponly_strict_cookie_and_redirects(app, stranger):
    response = stranger.get("/launch?secret=" + app.config["LAUNCH_SECRET"])
    assert response.status_code == 302
    # straight to the page the technician works on (first run here: a fresh folder), not through "/"
    assert response.headers["Location"] == "/first-run"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert app.config["LAUNCH_SECRET"] not in cookie  # the secret itself never sits in a cookie


def test_a_wrong_launch_secret_is_refused(stranger):
    assert stranger.get("/launch?secret=guess").status_code == 403


def test_healthz_answers_ok_without_the_secret_and_gives_no_data(stranger):
    response = stranger.get("/healthz")
    assert response.status_code == 200 and response.data == b"ok"


def test_a_foreign_host_header_is_refused_even_with_the_cookie(client):
    response = client.get("/accounts/", headers={"Host": "evil.example:8000"})
    assert response.status_code == 403


def test_healthz_too_refuses_a_foreign_host(stranger):
    assert stranger.get("/healthz", headers={"Host": "rebound.example"}).status_code == 403


def test_launch_url_pins_the_host_check_to_the_bound_port(app, client):
    url = launch_url(app, "127.0.0.1", 8123)
    assert url.startswith("http://127.0.0.1:8123/launch?secret=")
    assert client.get("/healthz", headers={"Host": "127.0.0.1:8123"}).status_code == 200
    assert client.get("/healthz", headers={"Host": "127.0.0.1:9999"}).status_code == 403


def test_a_post_without_csrf_token_is_refused_and_changes_nothing(unlocked):
    response = unlocked.post("/accounts/new", data={"name": "Acme", "contact_email": "it@acme.example"})
    assert response.status_code == 403
    assert b"Acme" not in unlocked.get("/accounts/").data


def test_a_post_with_a_wrong_csrf_token_is_refused(unlocked):
    response = unlocked.post("/accounts/new", data={"name": "Acme", "contact_email": "it@acme.example",
                                                    "csrf_token": "f" * 64})
    assert response.status_code == 403


def test_the_htmx_header_carries_the_csrf_token(unlocked, csrf):
    response = unlocked.post("/accounts/new", data={"name": "Acme", "contact_email": "it@acme.example"},
                             headers={CSRF_HEADER: csrf})
    assert response.status_code == 302


def test_a_cross_origin_post_is_refused_even_with_token_and_cookie(unlocked, csrf):
    response = unlocked.post("/accounts/new", data={"name": "Acme", "contact_email": "it@acme.example",
                                                    "csrf_token": csrf},
                             headers={"Origin": "https://evil.example"})
    assert response.status_code == 403


def test_a_cross_site_fetch_is_refused(unlocked, csrf):
    response = unlocked.post("/accounts/new", data={"name": "A", "contact_email": "a@b.example", "csrf_token": csrf},
                             headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 403


def test_a_same_origin_post_is_accepted(unlocked, csrf):
    response = unlocked.post("/accounts/new", data={"name": "Acme", "contact_email": "it@acme.example",
                                                    "csrf_token": csrf},
                             headers={"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"})
    assert response.status_code == 302


def test_every_answer_says_no_store_and_varies_on_htmx(client):
    response = client.get("/first-run")
    assert response.headers["Cache-Control"] == "no-store"
    assert "HX-Request" in response.headers["Vary"]


def test_pages_forbid_inline_scripts_and_framing(client):
    policy = client.get("/first-run").headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy


def test_the_launch_secret_works_once_and_a_second_use_gets_the_start_again_page(app, client):
    """client followed the launch URL already (conftest): the same secret gives nobody else a cookie."""
    other = app.test_client()
    response = other.get("/launch?secret=" + app.config["LAUNCH_SECRET"])
    assert response.status_code == 403 and "Set-Cookie" not in response.headers
    assert b"This RentDesk link was already used" in response.data
    assert other.get("/").status_code == 403


def test_a_fresh_launch_path_works_once_too(app, stranger):
    from app.web.security import fresh_launch_path

    path = fresh_launch_path(app)
    assert stranger.get(path).status_code == 302
    assert app.test_client().get(path).status_code == 403


def test_a_launch_cookie_or_csrf_token_in_non_ascii_is_refused_not_a_server_error(app, unlocked):
    stranger = app.test_client()
    stranger.set_cookie("rentdesk_app", "é" * 64)
    assert stranger.get("/accounts/").status_code == 403
    answer = unlocked.post("/accounts/new", data={"name": "Acme", "contact_email": "it@acme.example"},
                           headers={"X-CSRF-Token": "é" * 64})
    assert answer.status_code == 403


def test_a_flash_naming_a_customers_pbx_never_leaves_the_app_in_a_cookie(unlocked, csrf):
    """A browser sends a cookie to every server on 127.0.0.1, whatever its port: Flask's session cookie (signed, not
    encrypted) carried the flash's words to whoever listens there. The flash is kept in the app, and still shown."""
    made = unlocked.post("/accounts/new", data={"name": "Clinique Saint-Roch", "contact_email": "it@roch.example",
                                                "language": "en", "csrf_token": csrf})
    added = unlocked.post(made.headers["Location"] + "/pbx/new", data={
        "name": "Bloc opératoire", "serial": "SN-1", "platform": "vmware", "firmware": "13r2", "mode": "rental",
        "csrf_token": csrf})
    assert added.status_code == 302
    assert [made.headers.getlist("Set-Cookie"), added.headers.getlist("Set-Cookie")] == [[], []]
    shown = unlocked.get(added.headers["Location"])
    assert "PBX Bloc opératoire added" in shown.data.decode()
    assert "PBX Bloc opératoire added" not in unlocked.get(added.headers["Location"]).data.decode()  # shown once


@pytest.mark.parametrize("elsewhere", ["/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example",
                                       "/\\evil.example", "//evil.example", "https://evil.example/"])
def test_a_return_address_leading_to_another_site_goes_to_the_sync_screen_instead(unlocked, elsewhere):
    """Browsers drop tabs and line breaks from an address and read "\\" as "/": "/<tab>/evil.example" was sent on as
    "//evil.example", another site, where a page dressed as RentDesk could ask for the passphrase (a line break
    was a 500). A page of the technician's own that names a change already resolved goes back where it says."""
    stray = unlocked.get(f"/sync/ops/{uuid.uuid4()}/review", query_string={"next": elsewhere})
    assert (stray.status_code, stray.headers["Location"]) == (302, "/sync/")
    own = unlocked.get(f"/sync/ops/{uuid.uuid4()}/review", query_string={"next": "/accounts/"})
    assert (own.status_code, own.headers["Location"]) == (302, "/accounts/")
