"""The accounts list searches and sorts in SQL: contact e-mail, sort and search keys on the replica, indexed.

Before, the list parsed every snapshot's payload to search it (about 2 s per keystroke with 10,000
accounts, docs/benchmarks.md). The index covers the list's query, so a page reads the index only,
never the snapshots (SQLCipher decrypts every page it reads). Existing rows are filled from their
verified payload, with the same keys as app/replica.py::list_keys.
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

COLUMNS = ("contact_email", "name_key", "search_key")


def upgrade() -> None:
    with op.batch_alter_table("account_replica") as batch:
        for column in COLUMNS:
            batch.add_column(sa.Column(column, sa.Text(), nullable=False, server_default=""))
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT account_id, name, payload FROM account_replica")).all()
    for account_id, name, payload in rows:
        email = str(json.loads(payload).get("contact_email") or "")
        bind.execute(sa.text("UPDATE account_replica SET contact_email = :email, name_key = :name_key, "
                             "search_key = :search_key WHERE account_id = :id"),
                     {"email": email, "name_key": name.lower(), "id": account_id,
                      "search_key": " ".join((name, email, account_id)).lower()})
    op.create_index("ix_account_replica_list", "account_replica", ["name_key", "account_id", "search_key"])


def downgrade() -> None:
    op.drop_index("ix_account_replica_list", "account_replica")
    with op.batch_alter_table("account_replica") as batch:
        for column in COLUMNS:
            batch.drop_column(column)
