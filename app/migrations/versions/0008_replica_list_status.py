"""The accounts list hides deleted accounts (issue 11): its covering index holds the status too, so counting and
paging the list read the index alone (without it every row was read: 70 ms instead of 29 at 10,000 accounts).

Revision ID: 0008
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_account_replica_list", table_name="account_replica")
    op.create_index("ix_account_replica_list", "account_replica", ["name_key", "account_id", "search_key", "status"])


def downgrade() -> None:
    op.drop_index("ix_account_replica_list", table_name="account_replica")
    op.create_index("ix_account_replica_list", "account_replica", ["name_key", "account_id", "search_key"])
