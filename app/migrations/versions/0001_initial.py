"""Initial store: settings, verified replica, outbox, op results, refusals."""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "setting",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "account_replica",
        sa.Column("account_id", sa.String(64), primary_key=True),
        sa.Column("revision", sa.BigInteger, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("as_of", sa.BigInteger, nullable=False),
        sa.Column("balance_ticks", sa.BigInteger, nullable=False),
        sa.Column("rate_ticks_per_s", sa.BigInteger, nullable=False),
        sa.Column("depletes_at", sa.BigInteger),
        sa.Column("price_version", sa.String(64)),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("envelope", sa.Text, nullable=False),
        sa.Column("received_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "pricelist_replica",
        sa.Column("version", sa.String(64), primary_key=True),
        sa.Column("published_at", sa.BigInteger, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("envelope", sa.Text, nullable=False),
        sa.Column("received_at", sa.BigInteger, nullable=False),
        sa.Column("is_current", sa.Boolean, nullable=False),
    )
    op.create_table(
        "outbox_op",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("op_id", sa.String(36), nullable=False, unique=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("pbx_id", sa.String(64)),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("rule", sa.String(32)),
        sa.Column("message", sa.Text),
        sa.Column("server_time", sa.BigInteger),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("note", sa.Text),
    )
    op.create_index("ix_outbox_op_account_id", "outbox_op", ["account_id"])
    op.create_table(
        "op_result",
        sa.Column("op_id", sa.String(36), primary_key=True),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("rule", sa.String(32)),
        sa.Column("message", sa.Text),
        sa.Column("server_time", sa.BigInteger, nullable=False),
        sa.Column("revision", sa.BigInteger),
        sa.Column("envelope", sa.Text, nullable=False),
        sa.Column("received_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_op_result_account_id", "op_result", ["account_id"])
    op.create_table(
        "refusal",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("what", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(64)),
        sa.Column("reason", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in ("refusal", "op_result", "outbox_op", "pricelist_replica", "account_replica", "setting"):
        op.drop_table(table)
