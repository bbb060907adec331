"""`rentdesk demo` inside the app: a "Demo mode" badge and the demo's activation keys on screen (a demo
opened from the desktop menu has no terminal to print them on); a normal start shows none of it."""

from __future__ import annotations

import html
import re

import pytest

from app import demo
from rental.money import format_milli

from .test_screens import create_account

FILL_BUTTON = re.compile(r'data-fill-key="([^"]+)" data-fill-target="key"')


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    """The demo's own license server, started as `rentdesk demo` starts it: its keys are real, signed with the demo key."""
    server = demo.start_license_server(tmp_path_factory.mktemp("demo") / "license-server")
    yield server
    server.stop()


@pytest.fixture
def demo_app(app, demo_server):
    """The app as `rentdesk demo` configures it, the first key already on the demo account."""
    app.config["DEMO"] = demo.app_config(demo_server, loaded=demo_server.keys[0][1])
    return app


def test_demo_mode_shows_a_badge_in_the_header_even_before_unlocking(demo_app, client):
    page = client.get("/first-run").data.decode()
    assert 'data-testid="demo-badge"' in page and "Demo mode" in page


def test_the_load_isc_card_lists_every_demo_key_with_its_amount_and_a_button_to_use_it(demo_app, unlocked, csrf,
                                                                                       demo_server):
    page = unlocked.get(create_account(unlocked, csrf)).data.decode()
    assert 'data-testid="demo-badge"' in page and 'data-testid="demo-keys"' in page
    for amount, _key in demo_server.keys:
        assert format_milli(amount, "en") in page  # 500.000 iSC, as every amount on the screens
    loaded, *spare, held = [key for _amount, key in demo_server.keys]
    # the key already on the demo account is marked, not offered again; so is the one it holds (R24)
    assert FILL_BUTTON.findall(page) == spare
    assert "loaded on the demo account" in page and f'data-fill-key="{loaded}"' not in page
    assert "held for automatic reload" in page and f'data-fill-key="{held}"' not in page


def test_a_demo_key_used_from_the_load_isc_card_is_queued(demo_app, unlocked, csrf, demo_server):
    account = create_account(unlocked, csrf)
    [key, *_] = FILL_BUTTON.findall(unlocked.get(account).data.decode())
    action = re.search(r'<form id="key-form" method="post" action="([^"]+)"', unlocked.get(account).data.decode())[1]
    response = unlocked.post(action, data={"key": html.unescape(key), "csrf_token": csrf})
    assert response.status_code == 302
    page = unlocked.get(account).data.decode()
    amount = dict((k, a) for a, k in demo_server.keys)[key]
    assert f"Activation key queued: +{format_milli(amount, 'en')}, not yet confirmed" in page
    assert "Load activation key" in page  # waiting for the server, in the account's queued changes


def test_a_demo_key_posted_without_the_csrf_token_is_refused_and_queues_nothing(demo_app, unlocked, csrf):
    account = create_account(unlocked, csrf)
    [key, *_] = FILL_BUTTON.findall(unlocked.get(account).data.decode())
    assert unlocked.post(account + "/key", data={"key": key}).status_code == 403
    assert "Load activation key" not in unlocked.get(account).data.decode()


def test_settings_about_shows_the_demo_server_passphrase_and_whole_keys(demo_app, unlocked, demo_server):
    page = unlocked.get("/settings/").data.decode()
    assert 'id="demo"' in page and demo_server.url in page and demo.DEMO_PASSPHRASE in page
    for _amount, key in demo_server.keys:
        assert f'<code class="mono small key-text">{key}</code>' in page
    assert "data-fill-key" not in page  # no key field here to fill


def test_the_demo_keys_speak_french_with_french_amounts(demo_app, unlocked, csrf, demo_server):
    unlocked.post("/settings/language", data={"language": "fr", "csrf_token": csrf})
    page = unlocked.get(create_account(unlocked, csrf)).data.decode()
    assert "Mode démo" in page and "Clés de démo" in page and "Utiliser cette clé" in page
    assert format_milli(demo_server.keys[0][0], "fr") in page and format_milli(500_000, "fr") != format_milli(500_000, "en")


def test_a_normal_start_shows_no_demo_badge_and_no_demo_keys(unlocked, csrf):
    for path in (create_account(unlocked, csrf), "/settings/"):
        page = unlocked.get(path).data.decode()
        assert "Demo mode" not in page and "demo-keys" not in page and "data-fill-key" not in page, path
