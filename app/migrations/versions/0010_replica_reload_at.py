"""The price list screen's R23 list is computed for now (issue 1): an account whose automatic reload fell due
offline was re-rated at that second (R24). The replica keeps beside each snapshot the second its next held key is
redeemed (app.snapshot.reload_at_of), so the screen reads and runs forward only the accounts a reload may have
re-rated by now: the day a new list arrives every account is held at an older one, and reading all 10,000 took
2.5 s. Existing rows are filled from their verified payload by the same function.

Revision ID: 0010
"""

import json

import sqlalchemy as sa
from alembic import op

from app.snapshot import reload_at_of

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("account_replica") as batch:
        batch.add_column(sa.Column("reload_at", sa.BigInteger(), nullable=True))
    bind = op.get_bind()
    for account_id, payload in bind.execute(sa.text("SELECT account_id, payload FROM account_replica")).all():
        at = reload_at_of(json.loads(payload))
        if at is not None:
            bind.execute(sa.text("UPDATE account_replica SET reload_at = :at WHERE account_id = :id"),
                         {"at": at, "id": account_id})


def downgrade() -> None:
    with op.batch_alter_table("account_replica") as batch:
        batch.drop_column("reload_at")
