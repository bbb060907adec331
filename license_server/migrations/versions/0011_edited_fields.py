"""Each account field's last change (DESIGN §5, edit-conflict): `accounts.edited` holds JSON
{field: [revision, client_id]}, the account revision an update_account gave the field and the laptop that sent it.
An edit made on revision R clashes on a field whose stored revision is above R and came from another laptop.
Accounts edited before this migration have no such memory: their fields never clash until edited again.

Revision ID: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("accounts", sa.Column("edited", sa.Text, nullable=False, server_default="{}"))


def downgrade() -> None:
    # a plain DROP COLUMN (SQLite ≥ 3.35 too): a batch copy of the table would lose 0010's triggers on SQLite
    op.drop_column("accounts", "edited")
