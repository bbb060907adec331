"""The ledger's lines no longer carry a foreign key to their account (issue 27, the sweep).

PostgreSQL checked `ledger.account_id → accounts.id` with one query per new line (an index probe of `accounts_pkey`
taking a KEY SHARE lock): about a fifth of the PostgreSQL time of a sweep that stops 10,000 accounts
(`docs/benchmarks.md` §15). The check guards nothing the server can get wrong:

- every ledger line is written by the server in the transaction that reads (and locks) its account row: an op on
  the account, the sweep's stop or expiry, both written from the account rows themselves;
- accounts are never deleted (a deleted account is a row with `deleted` set, kept for R25's history), so a line
  can never lose its account afterwards.

`history` and `customer_mails` never had the key, for the same reasons. `pbxs → accounts` stays: PBXs are written
from requests. On SQLite the table is copied without the key (batch mode, from its definition here, so its CHECK
and index come along).

Revision ID: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

RowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
NAME = "ledger_account_id_fkey"  # PostgreSQL's own name for it (migration 0001 did not name it)


def _ledger(with_key: bool) -> sa.Table:
    """The ledger as migrations 0001 and 0004 made it, with or without the key (named, so batch mode can drop it)."""
    account = [sa.ForeignKey("accounts.id", name=NAME)] if with_key else []
    return sa.Table(
        "ledger", sa.MetaData(),
        sa.Column("id", RowId, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.String(36), *account, nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("ticks", sa.BigInteger, sa.CheckConstraint("ticks >= 0", name="ticks_never_negative"),
                  nullable=False),
        sa.Column("pbx_id", sa.String(64)),
        sa.Column("ref", sa.String(40)),
        sa.Column("qty", sa.Integer, nullable=False),
        sa.Column("period_start", sa.BigInteger),
        sa.Column("period_end", sa.BigInteger),
        sa.Column("seconds", sa.BigInteger, nullable=False),
        sa.Column("rate", sa.BigInteger, nullable=False),
        sa.Column("price_version", sa.String(64)),
        sa.Column("key_id", sa.String(20)),
        sa.Column("auto", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Index("ix_ledger_account_id", "account_id", "id"),
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("ledger", copy_from=_ledger(with_key=True), recreate="always") as table:
            table.drop_constraint(NAME, type_="foreignkey")
    else:
        op.drop_constraint(NAME, "ledger", type_="foreignkey")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("ledger", copy_from=_ledger(with_key=False), recreate="always") as table:
            table.create_foreign_key(NAME, "accounts", ["account_id"], ["id"])
    else:
        op.create_foreign_key(NAME, "ledger", "accounts", ["account_id"], ["id"])
