"""Fixtures of the reliability suite: the session's PostgreSQL (tests/support/postgres.py)."""

from tests.support.postgres import postgres_server, postgres_url  # noqa: F401 (pytest fixtures)

import os
from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    """Under RENTDESK_SOAK=1 (make soak: -m slow) every reliability test runs, in its long variant;
    otherwise nothing here is slow, so `make test` runs the short variants."""
    if not os.environ.get("RENTDESK_SOAK"):
        return
    for item in items:
        if _HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.slow)
