"""Fewer index entries per account write, for the sweep (issue 27).

- `depletes_at`, `reminder_due_at` and `reload_at` are indexed only where they are set: every query on them is a
  range (`<=`, `>`), which never matches NULL, so the planners (PostgreSQL and SQLite alike) still use the partial
  indexes, and an account stopped, idle or without reload (its column NULL) adds no entry to them. A suspension
  by the sweep writes each of its accounts with two of these three columns NULL.
- `ix_accounts_partner` goes: `ix_accounts_partner_changed_seq` (migration 0010) starts with `partner` and serves
  every query by partner (and the foreign key to partners) alone.

A non-HOT update of an account writes an entry into each of its indexes: 7 before, 3 now for a suspension.

Revision ID: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

SET = ("depletes_at", "reminder_due_at", "reload_at")


def upgrade() -> None:
    op.drop_index("ix_accounts_partner", "accounts")
    for column in SET:
        where = sa.text(f"{column} IS NOT NULL")
        op.drop_index(f"ix_accounts_{column}", "accounts")
        op.create_index(f"ix_accounts_{column}", "accounts", [column], postgresql_where=where, sqlite_where=where)


def downgrade() -> None:
    for column in SET:
        op.drop_index(f"ix_accounts_{column}", "accounts")
        op.create_index(f"ix_accounts_{column}", "accounts", [column])
    op.create_index("ix_accounts_partner", "accounts", ["partner"])
