"""The rental terms (R26) kept on the laptop: the last verified `terms` envelope, for the screens offline.

Revision ID: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "terms_replica",
        sa.Column("version", sa.String(64), primary_key=True),
        sa.Column("published_at", sa.BigInteger, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("envelope", sa.Text, nullable=False),
        sa.Column("received_at", sa.BigInteger, nullable=False),
        sa.Column("is_current", sa.Boolean, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("terms_replica")
