"""The store's schema history (Alembic), run at every unlock so an old store is brought up to date."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

HEAD = "head"


def _config(connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).resolve().parent))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: Engine, revision: str = HEAD) -> None:
    """Bring the store's schema to revision (the newest by default), in one transaction: a writing one (the
    store's BEGIN IMMEDIATE, app/store.py), its DDL included, so a migration is all done or not at all."""
    from ..store_base import WRITES

    with engine.execution_options(**{WRITES: True}).begin() as connection:
        command.upgrade(_config(connection), revision)


def current_revision(engine: Engine) -> str | None:
    """The schema revision the store is at (None when it has none)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
