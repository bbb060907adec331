"""The server's tables (SQLAlchemy Core): the same schema on SQLite and PostgreSQL; money is BigInteger ticks."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger, Boolean, CheckConstraint, Column, ForeignKey, ForeignKeyConstraint, Index, Integer,
    MetaData, String, Table, Text, UniqueConstraint, false, text,
)

metadata = MetaData()

RETAINED = text("rate_ticks_per_s = 0 AND balance_ticks > 0 AND NOT deleted")
MAIL_WAITING = text("sent_at IS NULL")

#: SQLite numbers rows only through INTEGER PRIMARY KEY, PostgreSQL wants a BIGINT for a long ledger.
RowId = BigInteger().with_variant(Integer(), "sqlite")

partners = Table(
    "partners", metadata,
    Column("name", String(100), primary_key=True),
    Column("created_at", BigInteger, nullable=False),
)

technicians = Table(
    "technicians", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("partner", String(100), ForeignKey("partners.name"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),  # SHA-256 hex of the bearer token
    Column("created_at", BigInteger, nullable=False),
    # migration 0006: a revoked or expired token is answered 401 token-revoked / token-expired (DESIGN §5)
    Column("revoked_at", BigInteger, nullable=True),  # NULL: not revoked
    Column("expires_at", BigInteger, nullable=True),  # NULL: never expires
)

#: Who ran which administrator command of `license-server`, when (migration 0006); secrets are never kept.
audit = Table(
    "audit", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("at", BigInteger, nullable=False),
    Column("os_user", String(200), nullable=False),
    Column("command", String(64), nullable=False),
    Column("arguments", Text, nullable=False),  # the arguments as one shell-quoted line, secrets left out
)

pricelists = Table(
    "pricelists", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),  # the highest is the current list
    Column("version", String(64), nullable=False, unique=True),
    Column("published_at", BigInteger, nullable=False),
    Column("body", Text, nullable=False),  # PriceList.to_dict() as JSON
)

accounts = Table(
    "accounts", metadata,
    Column("id", String(36), primary_key=True),
    # indexed by ix_accounts_partner_changed_seq below, which starts with it (migration 0012)
    Column("partner", String(100), ForeignKey("partners.name"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("contact_email", String(254), nullable=False),
    Column("cloud_contract", Boolean, nullable=False),
    Column("language", String(2), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("as_of", BigInteger, nullable=False),
    Column("balance_ticks", BigInteger, CheckConstraint("balance_ticks >= 0", name="balance_never_negative"),
           nullable=False),
    Column("rate_ticks_per_s", BigInteger, nullable=False),  # charged now: 0 when idle, suspended or deleted
    Column("suspended", Boolean, nullable=False),
    Column("deleted", Boolean, nullable=False),
    Column("depletes_at", BigInteger, nullable=True),  # NULL when nothing runs (DESIGN §3); indexed where set
    Column("last_activity_at", BigInteger, nullable=False),  # start of R19's retention
    Column("price_version", String(64), nullable=True),
    Column("reminder_sent_at", BigInteger, nullable=True),  # when the last R20 reminder went (none: NULL)
    Column("reminder_due_at", BigInteger, nullable=True),  # when the next reminder is due; indexed where set
    Column("retention_warned_for", BigInteger, nullable=True),  # the expiry second R19's last warning named
    Column("created_at", BigInteger, nullable=False),
    # R26: the rental terms the customer accepted when the account was created (NULL before any were published)
    Column("terms_version", String(64), nullable=True),
    Column("terms_accepted_by", String(200), nullable=True),
    Column("terms_accepted_at", BigInteger, nullable=True),
    # R24 (migration 0004): automatic reload off (0) or its threshold in days; the second the next held key is
    # redeemed (NULL when none will be): the sweep's range query
    Column("auto_reload_days", Integer, nullable=False, server_default="0"),
    Column("reload_at", BigInteger, nullable=True),  # indexed where set
    # R27 (migration 0007): the customer's link is derived from the account id and this generation (renewing it
    # adds one, so every older link stops at once); when the current link was made
    Column("customer_link_generation", Integer, nullable=False, server_default="0"),
    Column("customer_link_at", BigInteger, nullable=True),
    # R19's expiry looks only at accounts that hold credit and run nothing: a partial index keeps
    # running and deleted accounts out of its range scan.
    Index("ix_accounts_retained", "last_activity_at", postgresql_where=RETAINED, sqlite_where=RETAINED),
    # migration 0012: the sweep's ranges, indexed only where set: a range never matches NULL, and a stopped or idle
    # account (NULL) then costs no entry in them when it is written
    *(Index(f"ix_accounts_{name}", name, postgresql_where=text(f"{name} IS NOT NULL"),
            sqlite_where=text(f"{name} IS NOT NULL")) for name in ("depletes_at", "reminder_due_at", "reload_at")),
    # migration 0010: when the account last changed (GET /accounts?since=, DESIGN §5): the writer's transaction
    # id on PostgreSQL, a counter on SQLite; set by the database at every insert and revision change
    Column("changed_seq", BigInteger, nullable=False, server_default="0"),
    Index("ix_accounts_partner_changed_seq", "partner", "changed_seq"),
    # migration 0011: each account field's last change, JSON {field: [revision, client_id]}: what update_account's
    # base_revision is checked against (DESIGN §5, edit-conflict)
    Column("edited", Text, nullable=False, server_default="{}"),
)

#: One row: this database's random `epoch` (a cursor of another server or database is answered in full) and, on
#: SQLite, the last change number handed out (PostgreSQL numbers by transaction id). Migration 0010.
change_counter = Table(
    "change_counter", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("epoch", String(32), nullable=False),
)

pbxs = Table(
    "pbxs", metadata,
    Column("account_id", String(36), ForeignKey("accounts.id"), primary_key=True),
    Column("pbx_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("serial", String(100), nullable=False),
    Column("platform", String(20), nullable=False),
    Column("hardware_model", String(100), nullable=True),
    Column("firmware", String(20), nullable=False),
    Column("mode", String(10), nullable=False),
    Column("revision", Integer, nullable=False),
)

licenses = Table(
    "licenses", metadata,
    Column("account_id", String(36), primary_key=True),
    Column("pbx_id", String(64), primary_key=True),
    Column("ref", String(40), primary_key=True),
    Column("qty", Integer, CheckConstraint("qty > 0", name="qty_positive"), nullable=False),
    Column("monthly_milli", BigInteger, nullable=False),  # the unit price it was rated at (R23)
    Column("price_version", String(64), nullable=False),
    ForeignKeyConstraint(["account_id", "pbx_id"], ["pbxs.account_id", "pbxs.pbx_id"]),
)

#: Append-only (R25): rows are inserted, never updated or deleted.
#: No foreign key to accounts (migration 0013), like history and customer_mails: every line is written in the
#: transaction that holds its account row, and accounts are never deleted (a deleted account keeps its row); the
#: key's check cost PostgreSQL one query per line written, a fifth of a sweep's stops.
ledger = Table(
    "ledger", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("account_id", String(36), nullable=False),
    Column("kind", String(8), nullable=False),  # credit, charge, forfeit, expiry
    Column("at", BigInteger, nullable=False),
    Column("ticks", BigInteger, CheckConstraint("ticks >= 0", name="ticks_never_negative"), nullable=False),
    Column("pbx_id", String(64)),
    Column("ref", String(40)),
    Column("qty", Integer, nullable=False, default=0),
    Column("period_start", BigInteger),
    Column("period_end", BigInteger),
    Column("seconds", BigInteger, nullable=False, default=0),
    Column("rate", BigInteger, nullable=False, default=0),
    Column("price_version", String(64)),
    Column("key_id", String(20)),
    Column("auto", Boolean, nullable=False, server_default=false()),  # 0004: a credit of automatic reload (R24)
    Index("ix_ledger_account_id", "account_id", "id"),
)

#: Every key used anywhere, one row per key id: redeemed, or held for an account (R24, migration 0004).
#: The primary key decides a race between two redemptions or deposits of one key, not a check-then-insert (R11).
HELD = text("held")
redeemed_keys = Table(
    "redeemed_keys", metadata,
    Column("key_id", String(20), primary_key=True),
    Column("account_id", String(36), nullable=False),
    Column("op_id", String(36), nullable=False),
    Column("amount_milli", BigInteger, nullable=False),
    Column("at", BigInteger, nullable=False),  # redeemed at (by hand or automatically), or deposited at while held
    Column("held", Boolean, nullable=False, server_default=false()),  # deposited, not yet redeemed
    Column("deposited_at", BigInteger, nullable=True),
    Index("ix_redeemed_keys_held", "account_id", "deposited_at", postgresql_where=HELD, sqlite_where=HELD),
)

#: Every op answered, for idempotency: the same op_id gets the same stored result.
ops = Table(
    "ops", metadata,
    Column("op_id", String(36), primary_key=True),
    Column("partner", String(100), nullable=False),
    Column("account_id", String(36)),
    Column("kind", String(20), nullable=False),
    Column("digest", String(64), nullable=False),  # SHA-256 of the op's canonical JSON
    Column("result", Text, nullable=False),  # the signed op-result envelope as JSON
    Column("at", BigInteger, nullable=False),
)

#: Lowered quantities, remembered to detect a reduce-then-restore (R6).
reductions = Table(
    "reductions", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("account_id", String(36), nullable=False),
    Column("pbx_id", String(64), nullable=False),
    Column("ref", String(40), nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("from_qty", Integer, nullable=False),
    Column("to_qty", Integer, nullable=False),
    Column("partner", String(100), nullable=False, server_default=""),  # migration 0002: R6 follows the serial
    Column("serial", String(100), nullable=False, server_default=""),
    Index("ix_reductions_account_pbx_at", "account_id", "pbx_id", "at"),
    Index("ix_reductions_partner_serial_at", "partner", "serial", "at"),
)

#: Each reduce-then-restore accepted on an account (R6); the refusal counts them.
toggle_occurrences = Table(
    "toggle_occurrences", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("account_id", String(36), nullable=False),
    Column("pbx_id", String(64), nullable=False),
    Column("refs", Text, nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("partner", String(100), nullable=False, server_default=""),  # migration 0002
    Column("serial", String(100), nullable=False, server_default=""),
    Index("ix_toggle_occurrences_account_at", "account_id", "at"),
    Index("ix_toggle_occurrences_partner_serial_at", "partner", "serial", "at"),
)

#: Every mail to a customer (R18 stopped/resumed, R19 retention warning, R20 reminders), once each.
#: A stop or resume is written here when it happens (sent_at NULL) and mailed by the sweep; reminders and
#: warnings are written by the sweep as it sends them. The unique key keeps any of them from going twice.
customer_mails = Table(
    "customer_mails", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("account_id", String(36), nullable=False),
    Column("kind", String(16), nullable=False),  # w7..w1, d1 (R20), stopped, resumed (R18), retention (R19)
    Column("about", BigInteger, nullable=False),  # the second it is about: the end, the stop, the resume, the expiry
    Column("created_at", BigInteger, nullable=False),
    Column("sent_at", BigInteger, nullable=True),  # NULL: waiting for the sweep
    Column("contact_email", String(254), nullable=True),  # where it went
    UniqueConstraint("account_id", "kind", "about", name="uq_customer_mails_once"),
    Index("ix_customer_mails_waiting", "account_id", postgresql_where=MAIL_WAITING, sqlite_where=MAIL_WAITING),
)

#: The rental terms the vendor published (R26), versioned; the highest id is the current one.
terms = Table(
    "terms", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("version", String(64), nullable=False, unique=True),
    Column("published_at", BigInteger, nullable=False),
    Column("body", Text, nullable=False),  # {"en": Markdown, "fr": Markdown} as JSON
)

#: The account's history (R25), append-only: every event with its second and the technician whose op made it
#: (NULL for what the server did by itself: a stop found by the sweep, an expiry). params: JSON, plain data.
history = Table(
    "history", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("account_id", String(36), nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("kind", String(32), nullable=False),  # a kind of rental.reasons.EVENTS
    Column("technician", String(200), nullable=True),
    Column("op_id", String(36), nullable=True),
    Column("params", Text, nullable=False),
    # migration 0007: who made it, the API's `by` — "technician", "customer" (R27), NULL for the server itself
    Column("actor", String(16), nullable=True),
    Index("ix_history_account_id", "account_id", "id"),
)
