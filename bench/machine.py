"""The machine a benchmark ran on: cores, Python, SQLite, SQLCipher and PostgreSQL versions."""

from __future__ import annotations

import os
import platform
import shutil
import sqlite3
import subprocess


def _postgres_version() -> str | None:
    for candidate in ("/usr/lib/postgresql/15/bin/postgres", shutil.which("postgres")):
        if candidate and os.path.exists(candidate):
            out = subprocess.run([candidate, "--version"], capture_output=True, text=True)
            return out.stdout.strip() or None
    return None


def _sqlcipher_version() -> str | None:
    try:
        import sqlcipher3
    except ImportError:
        return None
    connection = sqlcipher3.connect(":memory:")
    try:
        row = connection.execute("PRAGMA cipher_version").fetchone()
        return row[0] if row else None
    finally:
        connection.close()


def describe() -> dict:
    """Facts worth recording next to the figures."""
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "sqlite": sqlite3.sqlite_version,
        "sqlcipher": _sqlcipher_version(),
        "postgresql": _postgres_version(),
        # other work on the box skews every figure: keep the load next to them
        "load_avg_1_5_15": [round(x, 2) for x in os.getloadavg()],
    }


if __name__ == "__main__":
    import json

    print(json.dumps(describe(), indent=2))
