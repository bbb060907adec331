"""Alembic migrations of the server's schema, run programmatically (init-db and the test fixtures)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

HERE = Path(__file__).resolve().parent


def alembic_config(engine: Engine) -> Config:
    """An Alembic config that runs on engine, with no alembic.ini needed."""
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Create or migrate the schema to revision (the same migrations on SQLite and PostgreSQL)."""
    command.upgrade(alembic_config(engine), revision)
