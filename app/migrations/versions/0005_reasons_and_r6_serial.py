"""Reasons as data and R6 by serial: refusals keep their (rule, code, params); reductions and occurrences
carry the PBX's serial, since the history follows the serial (R6).

Revision ID: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reduction") as batch:
        batch.add_column(sa.Column("serial", sa.String(100), nullable=False, server_default=""))
    for table in ("outbox_op", "op_result"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("problems", sa.Text(), nullable=True))
    op.create_table(
        "toggle_occurrence",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("serial", sa.String(100), nullable=False),
    )
    op.create_index("ix_toggle_occurrence_serial", "toggle_occurrence", ["serial"])


def downgrade() -> None:
    op.drop_index("ix_toggle_occurrence_serial", "toggle_occurrence")
    op.drop_table("toggle_occurrence")
    for table in ("outbox_op", "op_result"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("problems")
    with op.batch_alter_table("reduction") as batch:
        batch.drop_column("serial")
