"""Fixture chain for the web face: app → client (launched) → unlocked client, all on a real SQLCipher store."""

from __future__ import annotations

import pytest

from app import create_app
from app.clock import MovableClock
from app.web.security import csrf_token

PASSPHRASE = "correct horse battery"
START = 1_800_000_000  # 2027-01-15
#: A cheaper scrypt for tests that create stores often; the real cost is the core's concern.
FAST_KDF = {"name": "scrypt", "n": 2**10, "r": 8, "p": 1}


@pytest.fixture
def clock():
    return MovableClock(START)


@pytest.fixture
def app(tmp_path, clock):
    app = create_app({
        "RENTDESK_HOME": str(tmp_path / "home"), "TESTING": True, "TRUST_DEMO_KEY": True, "CLOCK": clock,
        "BACKGROUND_SYNC": False, "STORE_KDF": FAST_KDF, "TIMEZONE": "UTC",
    })
    yield app
    app.extensions["rentdesk.shutdown"]()


@pytest.fixture
def stranger(app):
    """A client that never went through the launch URL: any other program or web page."""
    return app.test_client()


@pytest.fixture
def client(app):
    """The window RentDesk opened: it followed the launch URL once and holds the cookie."""
    client = app.test_client()
    response = client.get("/launch?secret=" + app.config["LAUNCH_SECRET"])
    assert response.status_code == 302
    return client


@pytest.fixture
def csrf(app):
    return csrf_token(app)


@pytest.fixture
def unlocked(client, csrf):
    """A launched client whose store was just created offline (first run)."""
    response = client.post("/first-run", data={"passphrase": PASSPHRASE, "confirm": PASSPHRASE,
                                               "mode": "offline", "csrf_token": csrf})
    assert response.status_code == 302, response.data
    return client


def htmx(**headers):
    """Headers of an htmx request (the partial is wanted)."""
    return {"HX-Request": "true", **headers}
