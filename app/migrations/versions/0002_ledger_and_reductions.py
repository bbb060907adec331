"""Ledger lines pulled for statements offline (R25) and applied reductions for the R6 warning."""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_line",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("line_key", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("ticks", sa.BigInteger, nullable=False),
        sa.Column("pbx_id", sa.String(64)),
        sa.Column("ref", sa.String(64)),
        sa.Column("qty", sa.Integer, nullable=False),
        sa.Column("start", sa.BigInteger),
        sa.Column("end", sa.BigInteger),
        sa.Column("seconds", sa.BigInteger, nullable=False),
        sa.Column("rate", sa.BigInteger, nullable=False),
        sa.Column("price_version", sa.String(64)),
        sa.Column("raw", sa.Text, nullable=False),
        sa.UniqueConstraint("account_id", "line_key"),
    )
    op.create_index("ix_ledger_line_account_id", "ledger_line", ["account_id"])
    op.create_table(
        "reduction",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("pbx_id", sa.String(64), nullable=False),
        sa.Column("ref", sa.String(64), nullable=False),
        sa.Column("from_qty", sa.Integer, nullable=False),
        sa.Column("to_qty", sa.Integer, nullable=False),
    )
    op.create_index("ix_reduction_pbx_id", "reduction", ["pbx_id"])


def downgrade() -> None:
    op.drop_table("reduction")
    op.drop_table("ledger_line")
