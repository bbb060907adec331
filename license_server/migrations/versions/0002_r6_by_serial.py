"""R6 follows the PBX's serial within the partner: reductions and occurrences carry partner and serial.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("reductions", "toggle_occurrences"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("partner", sa.String(100), nullable=False, server_default=""))
            batch.add_column(sa.Column("serial", sa.String(100), nullable=False, server_default=""))
        # rows written before: their PBX (if still registered) and account say which serial and partner
        op.execute(f"UPDATE {table} SET partner = (SELECT a.partner FROM accounts a WHERE a.id = {table}.account_id)"
                   f" WHERE EXISTS (SELECT 1 FROM accounts a WHERE a.id = {table}.account_id)")
        op.execute(f"UPDATE {table} SET serial = (SELECT p.serial FROM pbxs p WHERE p.account_id = {table}.account_id"
                   f" AND p.pbx_id = {table}.pbx_id) WHERE EXISTS (SELECT 1 FROM pbxs p"
                   f" WHERE p.account_id = {table}.account_id AND p.pbx_id = {table}.pbx_id)")
    op.create_index("ix_reductions_partner_serial_at", "reductions", ["partner", "serial", "at"])
    op.create_index("ix_toggle_occurrences_partner_serial_at", "toggle_occurrences", ["partner", "serial", "at"])


def downgrade() -> None:
    op.drop_index("ix_toggle_occurrences_partner_serial_at", "toggle_occurrences")
    op.drop_index("ix_reductions_partner_serial_at", "reductions")
    for table in ("reductions", "toggle_occurrences"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("serial")
            batch.drop_column("partner")
