"""The Alembic migrations build exactly the schema of models.py, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from license_server.models import metadata

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)


def test_the_migrated_schema_is_the_models_schema(ctx):
    with ctx.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    assert differences == []
