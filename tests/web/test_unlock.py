"""First run and unlock: a wrong passphrase says so; after several failures attempts must wait (clock injected)."""

from __future__ import annotations

from .conftest import PASSPHRASE


def lock(client, csrf):
    assert client.post("/lock", data={"csrf_token": csrf}).status_code == 302


def test_first_run_refuses_two_different_passphrases_next_to_the_field(client, csrf):
    response = client.post("/first-run", data={"passphrase": PASSPHRASE, "confirm": "other one",
                                               "mode": "offline", "csrf_token": csrf})
    assert response.status_code == 200
    assert b'id="confirm-error"' in response.data and b"The two passphrases differ" in response.data


def test_first_run_online_needs_a_server_and_a_token(client, csrf):
    response = client.post("/first-run", data={"passphrase": PASSPHRASE, "confirm": PASSPHRASE, "mode": "online",
                                               "server_url": "http://licenses.example.com", "csrf_token": csrf})
    assert response.status_code == 200
    assert b"Use https://" in response.data
    assert b"technician token" in response.data


def test_the_strength_hint_answers_as_the_passphrase_is_typed(client, csrf):
    weak = client.post("/first-run/strength", data={"passphrase": "abc", "csrf_token": csrf})
    strong = client.post("/first-run/strength", data={"passphrase": "Tall-Green-Ladder-42", "csrf_token": csrf})
    assert b"Too short" in weak.data
    assert b"Strong" in strong.data


def test_first_run_shows_the_trusted_key_fingerprints(client):
    page = client.get("/first-run").data.decode()
    assert "Trusted signing keys" in page and "demo" in page


def test_a_wrong_passphrase_says_so(unlocked, csrf):
    lock(unlocked, csrf)
    response = unlocked.post("/unlock", data={"passphrase": "not it at all", "csrf_token": csrf})
    assert response.status_code == 200
    assert b"Wrong passphrase" in response.data


def test_the_right_passphrase_opens_the_accounts(unlocked, csrf):
    lock(unlocked, csrf)
    response = unlocked.post("/unlock", data={"passphrase": PASSPHRASE, "csrf_token": csrf})
    assert response.status_code == 302 and response.headers["Location"].endswith("/accounts/")


def test_after_three_failures_even_the_right_passphrase_must_wait_until_the_clock_moves(unlocked, csrf, clock):
    lock(unlocked, csrf)
    for _ in range(3):
        unlocked.post("/unlock", data={"passphrase": "wrong wrong", "csrf_token": csrf})
    waiting = unlocked.post("/unlock", data={"passphrase": PASSPHRASE, "csrf_token": csrf})
    assert waiting.status_code == 200 and b"wait 5 seconds" in waiting.data
    clock.advance(5)
    assert unlocked.post("/unlock", data={"passphrase": PASSPHRASE, "csrf_token": csrf}).status_code == 302


def test_the_wait_doubles_with_each_further_failure(unlocked, csrf, clock):
    lock(unlocked, csrf)
    for _ in range(3):
        unlocked.post("/unlock", data={"passphrase": "wrong wrong", "csrf_token": csrf})
    clock.advance(5)
    unlocked.post("/unlock", data={"passphrase": "wrong again", "csrf_token": csrf})
    clock.advance(9)
    assert b"wait 1 second," in unlocked.post("/unlock", data={"passphrase": PASSPHRASE, "csrf_token": csrf}).data


def test_locked_pages_send_to_unlock(unlocked, csrf):
    lock(unlocked, csrf)
    response = unlocked.get("/accounts/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/unlock")


def test_an_htmx_request_on_a_locked_app_is_told_to_load_the_unlock_page(unlocked, csrf):
    lock(unlocked, csrf)
    response = unlocked.get("/accounts/", headers={"HX-Request": "true"})
    assert response.headers["HX-Redirect"].endswith("/unlock")
