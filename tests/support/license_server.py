"""A real license server for tests: in-process over HTTP on 127.0.0.1 with a movable clock, or under gunicorn.

    with LiveLicenseServer(tmp_path) as server:            # SQLite in tmp_path, demo key, demo price list
        token = server.add_technician("Acme Partner", "Ann")
        [key] = server.issue_keys("250", 1)                 # 250 iSC ("250" as typed) or 250_000 (milli)
        server.clock.advance(30 * 86_400)                   # a month passes, in no time
        server.sweep(); server.restart()                    # the server goes away and comes back
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator, Mapping

import httpx
import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from license_server import admin, create_app, migrations
from license_server.context import ServerContext
from license_server.db import make_engine
from license_server.sweep import SweepReport, sweep
from rental.money import parse_isc
from rental.signing import Keyring

from .postgres import free_port

REPO = Path(__file__).resolve().parents[2]
DEMO_KEY = REPO / "keys" / "demo" / "demo.key"
DEMO_PUB = REPO / "keys" / "demo" / "demo.pub"
#: 2026-01-01T00:00:00Z, where every FakeClock starts unless told otherwise.
START = 1_767_225_600


class _QuietHandler(WSGIRequestHandler):
    """No access log on stderr: test output stays readable."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class FakeClock:
    """The server's clock in tests: whole UTC seconds that move only when told (DESIGN §7)."""

    def __init__(self, now: int = START):
        self.now = now

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: int) -> int:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self.now += seconds
        return self.now

    def set(self, at: int) -> int:
        self.now = at
        return self.now


def demo_keyring() -> Keyring:
    """The keys a test trusts to verify the server's envelopes and keys: the demo pair."""
    return Keyring().add("demo", DEMO_PUB.read_bytes())


_template_lock = threading.Lock()
_template: Path | None = None


def migrated_sqlite(path: Path) -> str:
    """A migrated SQLite database at path (copied from one migrated once per session: fast)."""
    global _template
    with _template_lock:
        if _template is None or not _template.exists():
            folder = Path(os.environ.get("TMPDIR", "/tmp")) / f"rentdesk-template-{os.getpid()}"
            folder.mkdir(exist_ok=True)
            atexit.register(shutil.rmtree, folder, ignore_errors=True)  # one per test process, gone with it
            template = folder / "template.sqlite3"
            template.unlink(missing_ok=True)
            engine = make_engine(f"sqlite:///{template}")
            migrations.upgrade(engine)
            with engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            engine.dispose()
            _template = template
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_template, path)
    return f"sqlite:///{path}"


def migrate(database_url: str) -> None:
    """Create or migrate the schema of any database URL."""
    engine = make_engine(database_url)
    try:
        migrations.upgrade(engine)
    finally:
        engine.dispose()


def _milli(amount: int | str) -> int:
    return parse_isc(amount) if isinstance(amount, str) else amount


class _Admin:
    """The vendor's actions on the server's database, shared by both server variants."""

    ctx: ServerContext

    def add_technician(self, partner: str = "Demo Partner", name: str = "Demo Technician") -> str:
        """A new technician's bearer token."""
        return admin.add_technician(self.ctx, partner, name)

    def issue_keys(self, amount_milli_or_isc: int | str, count: int = 1) -> list[str]:
        """count activation keys; an int is milli-iSC, a str is iSC as typed ("250", "12.5")."""
        return admin.issue_keys(self.ctx, _milli(amount_milli_or_isc), count)

    def publish_prices(self, pricelist: Mapping[str, Any]):
        return admin.publish_prices(self.ctx, dict(pricelist))

    def publish_terms(self, document: Mapping[str, Any] | None = None) -> str:
        """Publish rental terms (R26), the demo ones by default; returns the version."""
        from license_server import terms

        return terms.publish(self.ctx, dict(document) if document is not None else admin.demo_terms())

    def sweep(self) -> SweepReport:
        return sweep(self.ctx)

    @property
    def keyring(self) -> Keyring:
        return demo_keyring()

    def client(self, token: str | None = None, **kwargs: Any) -> httpx.Client:
        """An HTTP client on the API root (…/api/v1), with the token when given."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url + "/api/v1", headers=headers, timeout=30, **kwargs)


class LiveLicenseServer(_Admin):
    """The license server in this process, over real HTTP on 127.0.0.1, with a FakeClock."""

    def __init__(self, tmp_path: Path | str | None = None, *, database_url: str | None = None,
                 clock: FakeClock | None = None, config: Mapping[str, Any] | None = None,
                 pricelist: Mapping[str, Any] | None | bool = True, port: int | None = None):
        self.tmp_path = Path(tmp_path) if tmp_path is not None else Path(
            __import__("tempfile").mkdtemp(prefix="rentdesk-ls-"))
        self.clock = clock or FakeClock()
        if database_url is None:
            database_url = migrated_sqlite(self.tmp_path / "license_server.sqlite3")
        else:
            migrate(database_url)
        self.database_url = database_url
        self.config = {"DATABASE_URL": database_url, "SIGNING_KEY_PATH": str(DEMO_KEY),
                       "INSTANCE_PATH": str(self.tmp_path), "CLOCK": self.clock, **(config or {})}
        self._pricelist = admin.demo_pricelist() if pricelist is True else (pricelist or None)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = None
        self._thread: threading.Thread | None = None
        self.app = None
        self.ctx: ServerContext | None = None

    def start(self) -> "LiveLicenseServer":
        self.app = create_app(dict(self.config))
        self.ctx = self.app.extensions["license_server"]
        if self._pricelist is not None:
            with self.ctx.engine.connect() as connection:
                if self.ctx.current_prices(connection) is None:
                    self.publish_prices(self._pricelist)
        self._server = make_server("127.0.0.1", self.port, self.app, threaded=True,
                                   request_handler=_QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="live-license-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """The server goes away: connections are refused until start() or restart()."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(10)
            self._server = None
        if self.ctx is not None:
            self.ctx.engine.dispose()

    def restart(self) -> "LiveLicenseServer":
        """Stop, then start again on the same database, port and clock."""
        self.stop()
        return self.start()

    @property
    def running(self) -> bool:
        return self._server is not None

    def __enter__(self) -> "LiveLicenseServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


class GunicornLicenseServer(_Admin):
    """The license server as in production: `gunicorn "license_server:create_app()"`, real clock, settings by env."""

    def __init__(self, database_url: str, tmp_path: Path, *, workers: int = 2, env: Mapping[str, str] | None = None):
        migrate(database_url)
        self.database_url = database_url
        self.tmp_path = Path(tmp_path)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.env = {"LICENSE_SERVER_DATABASE_URL": database_url, "LICENSE_SERVER_SIGNING_KEY_PATH": str(DEMO_KEY),
                    "LICENSE_SERVER_INSTANCE_PATH": str(self.tmp_path), **(env or {})}
        self.ctx = ServerContext.from_config({"DATABASE_URL": database_url, "SIGNING_KEY_PATH": str(DEMO_KEY),
                                              "INSTANCE_PATH": str(self.tmp_path)})
        self.process: subprocess.Popen | None = None

    def start(self, pricelist: Mapping[str, Any] | None | bool = True) -> "GunicornLicenseServer":
        if pricelist:
            with self.ctx.engine.connect() as connection:
                if self.ctx.current_prices(connection) is None:
                    self.publish_prices(admin.demo_pricelist() if pricelist is True else pricelist)
        gunicorn = Path(sys.executable).with_name("gunicorn")
        self.log = open(self.tmp_path / "gunicorn.log", "wb")
        self.process = subprocess.Popen(
            [str(gunicorn), "-w", str(self.workers), "-b", f"127.0.0.1:{self.port}", "--graceful-timeout", "2",
             "license_server:create_app()"],
            env={**os.environ, **self.env}, cwd=REPO, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:  # wait for the process to listen, not for time to pass
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {(self.tmp_path / 'gunicorn.log').read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/api/v1/health", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("gunicorn did not answer /api/v1/health within 30 s")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:  # pragma: no cover
                self.process.kill()
                self.process.wait()
        self.process = None
        if getattr(self, "log", None):
            self.log.close()
        self.ctx.engine.dispose()

    def __enter__(self) -> "GunicornLicenseServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


@pytest.fixture
def live_license_server(tmp_path) -> Iterator[LiveLicenseServer]:
    """A started in-process license server (SQLite, demo key, demo price list, FakeClock)."""
    server = LiveLicenseServer(tmp_path / "license-server").start()
    try:
        yield server
    finally:
        server.stop()
