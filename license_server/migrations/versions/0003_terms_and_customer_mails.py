"""Rental terms (R26) and customer mails (R18, R19, R20) that follow the current end.

- `terms`: the versions the vendor published; accounts record the version accepted, by whom, when.
- `customer_mails` replaces `reminders`: every mail once (stopped, resumed, retention warning,
  reminders), with the stops and resumes waiting for the sweep (sent_at NULL).
- R20 no longer counts reminders per depletion episode: `reminder_sent_at` (the last one sent) and
  the current end decide the next one, so a later end starts the schedule again.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

RowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WAITING = sa.text("sent_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "terms",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("version", sa.String(64), nullable=False, unique=True),
        sa.Column("published_at", sa.BigInteger, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
    )
    op.create_table(
        "customer_mails",
        sa.Column("id", RowId, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("about", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("sent_at", sa.BigInteger, nullable=True),
        sa.Column("contact_email", sa.String(254), nullable=True),
        sa.UniqueConstraint("account_id", "kind", "about", name="uq_customer_mails_once"),
    )
    op.create_index("ix_customer_mails_waiting", "customer_mails", ["account_id"],
                    postgresql_where=WAITING, sqlite_where=WAITING)
    for column in (sa.Column("reminder_sent_at", sa.BigInteger, nullable=True),
                   sa.Column("retention_warned_for", sa.BigInteger, nullable=True),
                   sa.Column("terms_version", sa.String(64), nullable=True),
                   sa.Column("terms_accepted_by", sa.String(200), nullable=True),
                   sa.Column("terms_accepted_at", sa.BigInteger, nullable=True)):
        op.add_column("accounts", column)
    # the reminders sent so far stay on record, and the last one still counts for the 6-day gap (R20)
    op.execute("INSERT INTO customer_mails (account_id, kind, about, created_at, sent_at, contact_email) "
               "SELECT account_id, kind, depletes_at, min(at), min(at), min(contact_email) FROM reminders "
               "GROUP BY account_id, kind, depletes_at")
    op.execute("UPDATE accounts SET reminder_sent_at = (SELECT max(r.at) FROM reminders r "
               "WHERE r.account_id = accounts.id)")
    op.drop_table("reminders")
    op.drop_column("accounts", "episode")  # native DROP COLUMN: SQLite ≥ 3.35 and PostgreSQL
    op.drop_column("accounts", "reminder_level")


def downgrade() -> None:
    op.add_column("accounts", sa.Column("episode", sa.Integer, nullable=False, server_default="0"))
    op.add_column("accounts", sa.Column("reminder_level", sa.Integer, nullable=False, server_default="-1"))
    op.create_table(
        "reminders",
        sa.Column("account_id", sa.String(36), primary_key=True),
        sa.Column("episode", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(4), primary_key=True),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("depletes_at", sa.BigInteger, nullable=False),
        sa.Column("contact_email", sa.String(254), nullable=False),
    )
    for column in ("terms_accepted_at", "terms_accepted_by", "terms_version", "retention_warned_for",
                   "reminder_sent_at"):
        op.drop_column("accounts", column)
    op.drop_index("ix_customer_mails_waiting", "customer_mails")
    op.drop_table("customer_mails")
    op.drop_table("terms")
