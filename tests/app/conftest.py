"""Fixtures for the desktop app's core: a real SQLCipher store in a temp folder, a movable clock, the demo signer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app import services
from app.clock import MovableClock
from rental.signing import load_signing_key

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "correct horse battery"
START = 1_800_000_000  # 2027-01-15, a memorable second
#: A cheaper scrypt for tests that unlock often; the default cost is tested in test_store.
FAST_KDF = {"name": "scrypt", "n": 2**12, "r": 8, "p": 1}


@pytest.fixture
def clock():
    return MovableClock(START)


@pytest.fixture
def home(tmp_path):
    return tmp_path / "rentdesk-home"


@pytest.fixture
def store(home):
    store = services.initialise(home, PASSPHRASE, "http://127.0.0.1:9", "tok-secret-123", demo=True, kdf=FAST_KDF)
    yield store
    store.close()


@pytest.fixture
def server_clock():
    """The license server's clock (a module may make it the laptops' clock too, or set it apart)."""
    return MovableClock(START)


@pytest.fixture
def server(tmp_path, server_clock):
    """A real license server on 127.0.0.1 (SQLite in tmp_path, demo key, demo price list)."""
    from tests.support.license_server import LiveLicenseServer

    made = LiveLicenseServer(tmp_path / "license-server", clock=server_clock).start()
    yield made
    made.stop()


@pytest.fixture
def token(server):
    """A technician of the partner Acme Partners."""
    return server.add_technician("Acme Partners", "Ann")


@pytest.fixture(scope="session")
def signer():
    """The demo key (public knowledge): what a server run by the tests signs with."""
    return load_signing_key(ROOT / "keys" / "demo" / "demo.key")


@pytest.fixture(scope="session")
def demo_prices():
    return json.loads((ROOT / "license_server" / "demo" / "pricelist.json").read_text())
