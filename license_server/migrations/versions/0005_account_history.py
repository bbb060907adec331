"""The account's history (R25): every event of an account with its second and its technician.

Accounts that exist already get their creation as first event (technician unknown).

Revision ID: 0005
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

RowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "history",
        sa.Column("id", RowId, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("technician", sa.String(200), nullable=True),
        sa.Column("op_id", sa.String(36), nullable=True),
        sa.Column("params", sa.Text, nullable=False),
    )
    op.create_index("ix_history_account_id", "history", ["account_id", "id"])
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT id, created_at, name FROM accounts")).all()
    if rows:
        connection.execute(sa.text("INSERT INTO history (account_id, at, kind, technician, op_id, params) "
                                   "VALUES (:account_id, :at, 'created', NULL, NULL, :params)"),
                           [{"account_id": row[0], "at": row[1], "params": json.dumps({"name": row[2]})}
                            for row in rows])


def downgrade() -> None:
    op.drop_index("ix_history_account_id", table_name="history")
    op.drop_table("history")
