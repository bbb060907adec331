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


def test_an_empty_passphrase_is_not_counted_as_a_wrong_guess(unlocked, csrf):
    """Issue 23: pressing Enter on an empty field asks for the passphrase; it brings no wait nearer."""
    lock(unlocked, csrf)
    for _ in range(5):
        empty = unlocked.post("/unlock", data={"passphrase": "", "csrf_token": csrf})
        assert empty.status_code == 200 and b"Type your passphrase" in empty.data
        assert b"Wrong passphrase" not in empty.data
    for _ in range(2):  # two real wrong guesses: still under the three free attempts
        unlocked.post("/unlock", data={"passphrase": "wrong wrong", "csrf_token": csrf})
    assert unlocked.post("/unlock", data={"passphrase": PASSPHRASE, "csrf_token": csrf}).status_code == 302


def test_the_unlock_page_speaks_the_language_chosen_in_settings_after_a_restart(tmp_path, clock, csrf):
    """Issue 23: French chosen in Settings; RentDesk is closed and started again: the unlock page is French, not
    the system's English (the choice is kept beside the store, in the clear: two letters, no secret)."""
    from app import create_app
    from app.web.security import csrf_token

    from .conftest import FAST_KDF

    config = {"RENTDESK_HOME": str(tmp_path / "home"), "TESTING": True, "TRUST_DEMO_KEY": True, "CLOCK": clock,
              "BACKGROUND_SYNC": False, "STORE_KDF": FAST_KDF, "TIMEZONE": "UTC"}

    def launched(app):
        client = app.test_client()
        assert client.get("/launch?secret=" + app.config["LAUNCH_SECRET"]).status_code == 302
        return client

    first = create_app(dict(config))
    try:
        client = launched(first)
        token = csrf_token(first)
        assert client.post("/first-run", data={"passphrase": PASSPHRASE, "confirm": PASSPHRASE, "mode": "offline",
                                               "csrf_token": token}).status_code == 302
        client.post("/settings/language", data={"language": "fr", "csrf_token": token})
    finally:
        first.extensions["rentdesk.shutdown"]()
    again = create_app(dict(config))
    try:
        client = launched(again)
        page = client.get("/unlock", headers={"Accept-Language": "en-US,en"}).data.decode()
        assert 'lang="fr"' in page and "Déverrouiller" in page
        wrong = client.post("/unlock", data={"passphrase": "pas le bon", "csrf_token": csrf_token(again)})
        assert "Phrase de passe erronée" in wrong.data.decode()
    finally:
        again.extensions["rentdesk.shutdown"]()
