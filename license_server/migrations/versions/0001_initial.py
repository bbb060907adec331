"""The initial schema: partners, technicians, price lists, accounts, PBXs, licenses, ledger, keys, ops, R6, R20.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

RowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "partners",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "technicians",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("partner", sa.String(100), sa.ForeignKey("partners.name"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "pricelists",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("version", sa.String(64), nullable=False, unique=True),
        sa.Column("published_at", sa.BigInteger, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("partner", sa.String(100), sa.ForeignKey("partners.name"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("contact_email", sa.String(254), nullable=False),
        sa.Column("cloud_contract", sa.Boolean, nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("as_of", sa.BigInteger, nullable=False),
        sa.Column("balance_ticks", sa.BigInteger,
                  sa.CheckConstraint("balance_ticks >= 0", name="balance_never_negative"), nullable=False),
        sa.Column("rate_ticks_per_s", sa.BigInteger, nullable=False),
        sa.Column("suspended", sa.Boolean, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("depletes_at", sa.BigInteger, nullable=True),
        sa.Column("last_activity_at", sa.BigInteger, nullable=False),
        sa.Column("price_version", sa.String(64), nullable=True),
        sa.Column("episode", sa.Integer, nullable=False),
        sa.Column("reminder_level", sa.Integer, nullable=False),
        sa.Column("reminder_due_at", sa.BigInteger, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_accounts_partner", "accounts", ["partner"])
    op.create_index("ix_accounts_depletes_at", "accounts", ["depletes_at"])
    retained = sa.text("rate_ticks_per_s = 0 AND balance_ticks > 0 AND NOT deleted")  # R19's expiry candidates
    op.create_index("ix_accounts_retained", "accounts", ["last_activity_at"], postgresql_where=retained,
                    sqlite_where=retained)
    op.create_index("ix_accounts_reminder_due_at", "accounts", ["reminder_due_at"])
    op.create_table(
        "pbxs",
        sa.Column("account_id", sa.String(36), sa.ForeignKey("accounts.id"), primary_key=True),
        sa.Column("pbx_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("serial", sa.String(100), nullable=False),
        sa.Column("platform", sa.String(20), nullable=False),
        sa.Column("hardware_model", sa.String(100), nullable=True),
        sa.Column("firmware", sa.String(20), nullable=False),
        sa.Column("mode", sa.String(10), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
    )
    op.create_table(
        "licenses",
        sa.Column("account_id", sa.String(36), primary_key=True),
        sa.Column("pbx_id", sa.String(64), primary_key=True),
        sa.Column("ref", sa.String(40), primary_key=True),
        sa.Column("qty", sa.Integer, sa.CheckConstraint("qty > 0", name="qty_positive"), nullable=False),
        sa.Column("monthly_milli", sa.BigInteger, nullable=False),
        sa.Column("price_version", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(["account_id", "pbx_id"], ["pbxs.account_id", "pbxs.pbx_id"]),
    )
    op.create_table(
        "ledger",
        sa.Column("id", RowId, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.String(36), sa.ForeignKey("accounts.id"), nullable=False),
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
    )
    op.create_index("ix_ledger_account_id", "ledger", ["account_id", "id"])
    op.create_table(
        "redeemed_keys",
        sa.Column("key_id", sa.String(20), primary_key=True),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("op_id", sa.String(36), nullable=False),
        sa.Column("amount_milli", sa.BigInteger, nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "ops",
        sa.Column("op_id", sa.String(36), primary_key=True),
        sa.Column("partner", sa.String(100), nullable=False),
        sa.Column("account_id", sa.String(36)),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("result", sa.Text, nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "reductions",
        sa.Column("id", RowId, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("pbx_id", sa.String(64), nullable=False),
        sa.Column("ref", sa.String(40), nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("from_qty", sa.Integer, nullable=False),
        sa.Column("to_qty", sa.Integer, nullable=False),
    )
    op.create_index("ix_reductions_account_pbx_at", "reductions", ["account_id", "pbx_id", "at"])
    op.create_table(
        "toggle_occurrences",
        sa.Column("id", RowId, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("pbx_id", sa.String(64), nullable=False),
        sa.Column("refs", sa.Text, nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_toggle_occurrences_account_at", "toggle_occurrences", ["account_id", "at"])
    op.create_table(
        "reminders",
        sa.Column("account_id", sa.String(36), primary_key=True),
        sa.Column("episode", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(4), primary_key=True),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("depletes_at", sa.BigInteger, nullable=False),
        sa.Column("contact_email", sa.String(254), nullable=False),
    )


def downgrade() -> None:
    for table in ("reminders", "toggle_occurrences", "reductions", "ops", "redeemed_keys", "ledger",
                  "licenses", "pbxs", "accounts", "pricelists", "technicians", "partners"):
        op.drop_table(table)
