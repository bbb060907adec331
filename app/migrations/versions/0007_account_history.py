"""The account's history (R25) kept on the laptop: the events the server recorded, pulled at sync.

Revision ID: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "history_event",
        sa.Column("account_id", sa.String(64), primary_key=True),
        sa.Column("event_id", sa.BigInteger, primary_key=True),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("technician", sa.Text, nullable=True),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("received_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("history_event")
