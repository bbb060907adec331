"""The real app served on 127.0.0.1, a real license server beside it, and Debian's Chromium driving both.

The app and the license server share one FakeClock, as a laptop and the server agree on the
time: a test moves months without sleeping (DESIGN §7).
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright
from werkzeug.serving import WSGIRequestHandler, make_server

from app import create_app, launch_url
from tests.support.license_server import LiveLicenseServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
PASSPHRASE = "correct horse battery"
FAST_KDF = {"name": "scrypt", "n": 2**10, "r": 8, "p": 1}


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


class LiveApp:
    """The desktop app's Flask app behind a threaded werkzeug server on 127.0.0.1:0."""

    def __init__(self, home: Path, clock, **config):
        self.app = create_app({"RENTDESK_HOME": str(home), "TRUST_DEMO_KEY": True, "CLOCK": clock,
                               "BACKGROUND_SYNC": False, "STORE_KDF": FAST_KDF, "TIMEZONE": "UTC", **config})
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True, request_handler=_Quiet)
        self.port = self.server.server_port
        self.launch_url = launch_url(self.app, "127.0.0.1", self.port)
        self.base = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return self.base + path

    def background_sync(self):
        """One attempt of the app's background syncer (app/syncer.py), as its thread makes it after an edit or
        every few minutes; the test decides when (BACKGROUND_SYNC is off), the open pages find out by themselves."""
        from app import services
        from app.web.state import EXTENSION

        launch = self.app.extensions[EXTENSION]
        return services.BackgroundSyncer(launch.store.unit_of_work, launch.clock).sync_once()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(10)
        self.app.extensions["rentdesk.shutdown"]()


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def license_server(tmp_path):
    server = LiveLicenseServer(tmp_path / "license-server").start()
    yield server
    server.stop()


@pytest.fixture
def live_app(tmp_path, license_server):
    app = LiveApp(tmp_path / "rentdesk-home", license_server.clock)
    yield app
    app.stop()


def _page(browser, locale: str):
    context = browser.new_context(locale=locale, viewport={"width": 1024, "height": 768})
    context.set_default_timeout(10_000)
    return context, context.new_page()


@pytest.fixture
def page(browser):
    context, page = _page(browser, "en-US")
    yield page
    context.close()


@pytest.fixture
def page_fr(browser):
    context, page = _page(browser, "fr-FR")
    yield page
    context.close()
