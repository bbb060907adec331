"""Index the replica's as_of: the clock floor (max(as_of), app/clock.py) is read on every money screen.

Without it SQLite scans, and SQLCipher decrypts, the whole replica at each read: about 70 ms per
page with 10,000 accounts (docs/benchmarks.md); with it, a few milliseconds.
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_account_replica_as_of", "account_replica", ["as_of"])


def downgrade() -> None:
    op.drop_index("ix_account_replica_as_of", "account_replica")
