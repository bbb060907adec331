"""Fixtures of the reliability suite: the session's PostgreSQL (tests/support/postgres.py)."""

from tests.support.postgres import postgres_server, postgres_url  # noqa: F401 (pytest fixtures)
