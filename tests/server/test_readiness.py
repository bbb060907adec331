"""GET /api/v1/ready (DESIGN §5): 200 only when the database answers, the schema is the newest migration and
the signing key is loaded; 503 naming what is missing otherwise. No token needed."""

from __future__ import annotations

import httpx

from license_server import create_app, migrations, readiness
from license_server.context import ServerContext
from license_server.db import make_engine
from tests.support.license_server import DEMO_KEY, LiveLicenseServer, migrate
from tests.support.postgres import running_postgres


def test_a_migrated_server_with_its_key_is_ready_without_a_token(tmp_path):
    with LiveLicenseServer(tmp_path / "server") as server:
        response = httpx.get(server.url + "/api/v1/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}
    assert response.headers["Cache-Control"] == "no-store"


def test_a_database_that_init_db_never_ran_on_is_missing_its_schema(tmp_path):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}", "SIGNING_KEY_PATH": str(DEMO_KEY),
                      "INSTANCE_PATH": str(tmp_path)})
    response = app.test_client().get("/api/v1/ready")
    assert response.status_code == 503
    assert response.get_json() == {"status": "not-ready", "missing": ["schema"]}
    app.extensions["license_server"].engine.dispose()


def test_a_schema_one_migration_behind_is_not_ready_until_init_db(tmp_path):
    path = tmp_path / "old.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    migrations.upgrade(engine, "head-1")  # the release before: its upgrade not yet migrated
    with LiveLicenseServer(tmp_path / "server", database_url=None, pricelist=False,
                           config={"DATABASE_URL": f"sqlite:///{path}"}) as server:
        before = httpx.get(server.url + "/api/v1/ready")
        migrations.upgrade(engine)  # `license-server init-db`
        after = httpx.get(server.url + "/api/v1/ready")
    engine.dispose()
    assert before.status_code == 503 and before.json()["missing"] == ["schema"]
    assert after.status_code == 200


def test_a_database_that_stopped_answering_makes_the_server_not_ready_and_back(tmp_path):
    with running_postgres() as postgres:
        url = postgres.create_database("ready")
        migrate(url)
        with LiveLicenseServer(tmp_path / "server", database_url=url) as server:
            assert httpx.get(server.url + "/api/v1/ready").status_code == 200
            _pg_ctl(postgres, "stop", "-m", "fast")
            down = httpx.get(server.url + "/api/v1/ready")
            _pg_ctl(postgres, "start", "-o", f"-c listen_addresses=127.0.0.1 -p {postgres.port} "
                                             f"-k {postgres.data_dir.parent}", "-l", str(postgres.data_dir.parent / "log"))
            up = httpx.get(server.url + "/api/v1/ready")
    assert down.status_code == 503
    assert down.json() == {"status": "not-ready", "missing": ["database", "schema"]}
    assert up.status_code == 200, up.text


def test_a_server_without_its_signing_key_is_not_ready(tmp_path):
    """create_app refuses to start without the key; a context built around that (a broken deployment) says so."""
    url = f"sqlite:///{tmp_path / 's.sqlite3'}"
    migrate(url)
    ctx = ServerContext.from_config({"DATABASE_URL": url, "SIGNING_KEY_PATH": str(tmp_path / "gone.key"),
                                     "INSTANCE_PATH": str(tmp_path)})
    assert readiness.missing(ctx) == ["signing-key"]
    ctx.engine.dispose()
    ctx = ServerContext.from_config({"DATABASE_URL": url, "SIGNING_KEY_PATH": str(DEMO_KEY),
                                     "INSTANCE_PATH": str(tmp_path)})
    assert readiness.missing(ctx) == []
    ctx.engine.dispose()


def _pg_ctl(postgres, action: str, *args: str) -> None:
    import subprocess

    from tests.support.postgres import BIN, _as_postgres

    subprocess.run(_as_postgres([str(BIN / "pg_ctl"), "-w", "-D", str(postgres.data_dir), *args, action]),
                   check=True, capture_output=True)


def test_a_server_that_trusts_the_public_demo_key_says_so_at_start(tmp_path, capsys):
    """Its private half is in the repository: a server signing with it, or trusting demo.pub after a rotation,
    accepts activation keys anyone can make (DESIGN §4). It still starts (`rentdesk demo`, the tests), and says so."""
    import license_server
    from rental.signing import write_key_pair
    from tests.support.license_server import DEMO_KEY, DEMO_PUB

    own = tmp_path / "keys"
    write_key_pair("vendor-2026", own)
    database = f"sqlite:///{tmp_path / 'server.db'}"
    license_server.create_app({"DATABASE_URL": database, "SIGNING_KEY_PATH": str(own / "vendor-2026.key")})
    assert "demo key" not in capsys.readouterr().err
    license_server.create_app({"DATABASE_URL": database, "SIGNING_KEY_PATH": str(DEMO_KEY)})
    assert "the key 'demo' is RentDesk's public demo key" in capsys.readouterr().err
    rotated = tmp_path / "trusted"
    rotated.mkdir()
    (rotated / "vendor-2025.pub").write_bytes(DEMO_PUB.read_bytes())  # an old key that was the demo's, renamed
    license_server.create_app({"DATABASE_URL": database, "SIGNING_KEY_PATH": str(own / "vendor-2026.key"),
                               "TRUSTED_KEYS_DIR": str(rotated)})
    said = capsys.readouterr().err
    assert "the key 'vendor-2025' is RentDesk's public demo key" in said and "gen-key" in said
