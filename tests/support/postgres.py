"""A throwaway PostgreSQL 15 from Debian in a temp dir, for tests (NOTES.md, PostgreSQL for tests).

    with running_postgres() as server:          # plain context manager
        url = server.create_database("mine")     # postgresql+psycopg://postgres@127.0.0.1:PORT/mine
    def test_x(postgres): postgres.url           # session-scoped pytest fixture (database "rentdesk")
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

BIN = Path(os.environ.get("RENTDESK_PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: drop to the postgres user when we are root."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@dataclass
class PostgresServer:
    """A running server; databases are created on demand so each suite can have its own."""

    data_dir: Path
    port: int

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, dbname: str) -> str:
        """Create dbname (a plain identifier) and return its SQLAlchemy URL."""
        if not dbname.replace("_", "").isalnum():
            raise ValueError(f"database name {dbname!r}: use letters, digits and '_'")
        subprocess.run(
            _as_postgres([str(BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", dbname]),
            check=True, capture_output=True,
        )
        return self.url(dbname)


@contextlib.contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """Start PostgreSQL in a fresh temp dir on a free port; stop it (immediate) and remove the dir after."""
    if not (BIN / "initdb").exists():
        raise RuntimeError(f"PostgreSQL 15 binaries not found in {BIN}: install Debian's postgresql (make debs)")
    root = Path(tempfile.mkdtemp(prefix="rentdesk-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
    port = free_port()
    try:
        subprocess.run(_as_postgres([str(BIN / "initdb"), "-A", "trust", "-U", "postgres", "--no-sync", "-D", str(data)]),
                       check=True, capture_output=True)
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        subprocess.run(_as_postgres([str(BIN / "pg_ctl"), "-w", "-D", str(data), "-l", str(root / "log"), "-o", options, "start"]),
                       check=True, capture_output=True)
        server = PostgresServer(data, port)
        yield server
    finally:
        subprocess.run(_as_postgres([str(BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL for the whole test session."""
    with running_postgres() as server:
        yield server


_counter = iter(range(1, 1_000_000))


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A fresh, empty database on the session's PostgreSQL, as a SQLAlchemy URL."""
    return postgres_server.create_database(f"test_{os.getpid()}_{next(_counter)}")


@pytest.fixture(scope="session")
def postgres(postgres_server: PostgresServer) -> PostgresServer:
    """The session's PostgreSQL (alias kept short for other suites)."""
    return postgres_server
