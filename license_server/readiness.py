"""`GET /api/v1/ready` (DESIGN §5): may this process take traffic? No token; for load balancers and systemd.

200 `{"status": "ready"}` when the database answers, its schema is the newest migration and the signing key
is loaded; else 503 `{"status": "not-ready", "missing": [...]}` naming each of `database`, `schema`,
`signing-key` that is not. `/health` says the process is up; this says it can serve.
"""

from __future__ import annotations

import functools

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

blueprint = Blueprint("readiness", __name__, url_prefix="/api/v1")

DATABASE, SCHEMA, SIGNING_KEY = "database", "schema", "signing-key"


@functools.lru_cache(maxsize=1)
def schema_heads() -> frozenset[str]:
    """The newest migration(s) this code carries: read once per process (Alembic is slow to import)."""
    from alembic.script import ScriptDirectory

    from .migrations import alembic_config

    return frozenset(ScriptDirectory.from_config(alembic_config(None)).get_heads())


def missing(ctx) -> list[str]:
    """What keeps this server from serving, in a fixed order; empty when ready."""
    absent: list[str] = []
    try:
        with ctx.engine.connect() as connection:
            connection.execute(text("SELECT 1")).scalar()
    except (SQLAlchemyError, OSError):
        absent += [DATABASE, SCHEMA]  # a database that does not answer has no schema we can vouch for
    else:
        try:
            with ctx.engine.connect() as connection:
                stored = set(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())
        except SQLAlchemyError:  # no alembic_version table: init-db never ran on this database
            stored = set()
        if stored != schema_heads():
            absent.append(SCHEMA)
    try:
        ctx.signer  # loaded once at start; a server made without one (or whose file went bad) is not ready
    except Exception:  # noqa: BLE001 - any failure to load the key means the same thing here
        absent.append(SIGNING_KEY)
    return absent


@blueprint.get("/ready")
def ready():
    absent = missing(current_app.extensions["license_server"])
    response = jsonify({"status": "ready"} if not absent else {"status": "not-ready", "missing": absent})
    response.status_code = 200 if not absent else 503
    return response  # never cached, as every answer (errors.py)
