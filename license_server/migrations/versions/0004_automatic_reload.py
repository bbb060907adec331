"""Automatic reload (R24): keys held for an account, the account's reload setting and next reload second.

- `redeemed_keys` holds every key used anywhere, one row per key id (its primary key): a key held
  for an account (`held`, since `deposited_at`) or redeemed. Two concurrent deposits or redemptions
  of one key race to one winner in the database.
- `accounts.auto_reload_days` (0 off, 14, 28) and `accounts.reload_at` (indexed: the sweep's range).
- `ledger.auto`: a credit redeemed by automatic reload, not by hand (R25's statement says so).

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

HELD = sa.text("held")


def upgrade() -> None:
    op.add_column("accounts", sa.Column("auto_reload_days", sa.Integer, nullable=False, server_default="0"))
    op.add_column("accounts", sa.Column("reload_at", sa.BigInteger, nullable=True))
    op.create_index("ix_accounts_reload_at", "accounts", ["reload_at"])
    op.add_column("redeemed_keys", sa.Column("held", sa.Boolean, nullable=False, server_default=sa.false()))
    op.add_column("redeemed_keys", sa.Column("deposited_at", sa.BigInteger, nullable=True))
    op.create_index("ix_redeemed_keys_held", "redeemed_keys", ["account_id", "deposited_at"],
                    postgresql_where=HELD, sqlite_where=HELD)
    op.add_column("ledger", sa.Column("auto", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    op.drop_column("ledger", "auto")
    op.drop_index("ix_redeemed_keys_held", "redeemed_keys")
    op.drop_column("redeemed_keys", "deposited_at")
    op.drop_column("redeemed_keys", "held")
    op.drop_index("ix_accounts_reload_at", "accounts")
    op.drop_column("accounts", "reload_at")
    op.drop_column("accounts", "auto_reload_days")
