"""Keep each replica account's contact e-mail in a column: the accounts list searches it in SQL.

Before, the list parsed every snapshot's payload to search it (about 2 s per keystroke with 10,000
accounts, docs/benchmarks.md); existing rows are filled from their verified payload.
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("account_replica") as batch:
        batch.add_column(sa.Column("contact_email", sa.Text(), nullable=False, server_default=""))
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT account_id, payload FROM account_replica")).all()
    for account_id, payload in rows:
        email = str(json.loads(payload).get("contact_email") or "")
        bind.execute(sa.text("UPDATE account_replica SET contact_email = :email WHERE account_id = :id"),
                     {"email": email, "id": account_id})


def downgrade() -> None:
    with op.batch_alter_table("account_replica") as batch:
        batch.drop_column("contact_email")
