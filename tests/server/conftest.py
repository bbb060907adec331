"""Fixtures of the server suite: app → client → Api, on SQLite by default, on PostgreSQL where parametrized."""

from __future__ import annotations

import pytest

from license_server import admin, create_app
from tests.support.license_server import DEMO_KEY, FakeClock, demo_keyring, migrate, migrated_sqlite
from tests.support.postgres import postgres_server, postgres_url  # noqa: F401 (fixtures)

from .helpers import Api


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["sqlite"])
def database_url(request, tmp_path) -> str:
    """SQLite by default; a test module parametrizes it with "postgresql" to run the same code on both."""
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
        migrate(url)
        return url
    return migrated_sqlite(tmp_path / "server.sqlite3")


@pytest.fixture
def settings() -> dict:
    """Extra settings a test module may override."""
    return {}


@pytest.fixture
def app(database_url, clock, tmp_path, settings):
    app = create_app({"DATABASE_URL": database_url, "SIGNING_KEY_PATH": str(DEMO_KEY),
                      "INSTANCE_PATH": str(tmp_path), "CLOCK": clock, **settings})
    ctx = app.extensions["license_server"]
    admin.publish_prices(ctx, admin.demo_pricelist())
    yield app
    ctx.engine.dispose()


@pytest.fixture
def ctx(app):
    return app.extensions["license_server"]


@pytest.fixture
def keyring():
    return demo_keyring()


@pytest.fixture
def api(app, ctx, clock, keyring) -> Api:
    """A technician of "Acme Telecom" talking to the server through Flask's test client."""
    return Api.for_flask(app.test_client(), admin.add_technician(ctx, "Acme Telecom", "Ann"), ctx, clock, keyring)


@pytest.fixture
def rival(app, ctx, clock, keyring) -> Api:
    """A technician of another partner, "Rival Networks"."""
    return Api.for_flask(app.test_client(), admin.add_technician(ctx, "Rival Networks", "Bob"), ctx, clock, keyring)
