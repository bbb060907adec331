"""Vendor-grade access (issue 23): a technician's token can be revoked or expire, and the CLI keeps an audit.

`technicians.revoked_at` / `expires_at` (NULL: not revoked / never expires) are read at each token check;
`audit` records who (the operating-system user) ran which administrator command, secrets left out.

Revision ID: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

RowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("technicians") as table:
        table.add_column(sa.Column("revoked_at", sa.BigInteger, nullable=True))
        table.add_column(sa.Column("expires_at", sa.BigInteger, nullable=True))
    op.create_table(
        "audit",
        sa.Column("id", RowId, primary_key=True, autoincrement=True),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("os_user", sa.String(200), nullable=False),
        sa.Column("command", sa.String(64), nullable=False),
        sa.Column("arguments", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("audit")
    with op.batch_alter_table("technicians") as table:
        table.drop_column("expires_at")
        table.drop_column("revoked_at")
