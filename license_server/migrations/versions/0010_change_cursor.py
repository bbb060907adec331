"""A change cursor for GET /accounts?since= (issue 26, DESIGN §5).

`accounts.changed_seq` says when the account last changed, in a numbering where a reader can name a point that no
later commit falls behind; `change_counter` (one row) holds this database's random `epoch` (a cursor from another
server or database is not mistaken for ours) and, on SQLite, the counter.

Every insert of an account, and every update that moves its revision (ops, sweeps, expiries: every change of an
account moves its revision, DESIGN §5), is numbered by the database itself, so no writer can forget it (the
sweep's bulk updates included):

- PostgreSQL: the number is the writer's transaction id (`pg_current_xact_id()`, 64 bits, never wraps), as a
  column default on insert and a BEFORE UPDATE trigger. The cursor is the reader's snapshot `xmin` minus one,
  read *before* the accounts: every transaction below xmin has ended, so its changes are seen by the account
  query that follows; a change the reader did not see was made by a transaction still running or started
  later, whose id is >= xmin, so it is listed next time. No counter row is locked or updated (a counter row
  updated by each of a sweep's 10,000 rows in one transaction grows a version chain each update must walk),
  writers never wait on each other for it. A long transaction holds xmin back: the next answer then repeats a
  few accounts, which the app takes as the same revision (never skipped, at worst sent twice).
- SQLite: writers are serialized (BEGIN IMMEDIATE) and a reader's transaction sees one snapshot, so a plain
  counter bumped by a trigger in the writer's transaction is exact.

Revision ID: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0007"
branch_labels = None
depends_on = None

_SQLITE_BODY = """
BEGIN
  UPDATE change_counter SET seq = seq + 1 WHERE id = 1;
  UPDATE accounts SET changed_seq = (SELECT seq FROM change_counter WHERE id = 1) WHERE id = NEW.id;
END
"""

_PG_FUNCTION = """
CREATE FUNCTION rentdesk_account_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.changed_seq := pg_current_xact_id()::text::bigint;
  RETURN NEW;
END $$
"""


def upgrade() -> None:
    op.create_table(
        "change_counter",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("epoch", sa.String(32), nullable=False),
    )
    with op.batch_alter_table("accounts") as table:
        table.add_column(sa.Column("changed_seq", sa.BigInteger, nullable=False, server_default="0"))
        table.create_index("ix_accounts_partner_changed_seq", ["partner", "changed_seq"])
    if op.get_bind().dialect.name == "sqlite":
        op.execute("INSERT INTO change_counter (id, seq, epoch) VALUES (1, 0, lower(hex(randomblob(8))))")
        op.execute("CREATE TRIGGER accounts_inserted AFTER INSERT ON accounts" + _SQLITE_BODY)
        op.execute("CREATE TRIGGER accounts_changed AFTER UPDATE OF revision ON accounts "
                   "WHEN NEW.revision IS NOT OLD.revision" + _SQLITE_BODY)
    else:
        op.execute("INSERT INTO change_counter (id, seq, epoch) "
                   "VALUES (1, 0, substr(md5(random()::text || clock_timestamp()::text), 1, 16))")
        op.execute("UPDATE accounts SET changed_seq = pg_current_xact_id()::text::bigint")
        op.execute("ALTER TABLE accounts ALTER COLUMN changed_seq SET DEFAULT (pg_current_xact_id()::text::bigint)")
        op.execute(_PG_FUNCTION)
        # a bulk writer (the sweep) may set changed_seq itself in its UPDATE: then the trigger is not called at
        # all (a PL/pgSQL call per row cost ~1 s of a 10,000-account sweep); in one transaction the value is the same
        op.execute("CREATE TRIGGER accounts_changed BEFORE UPDATE ON accounts FOR EACH ROW "
                   "WHEN (OLD.revision IS DISTINCT FROM NEW.revision AND OLD.changed_seq = NEW.changed_seq) "
                   "EXECUTE FUNCTION rentdesk_account_changed()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER accounts_changed")
        op.execute("DROP TRIGGER accounts_inserted")
    else:
        op.execute("DROP TRIGGER accounts_changed ON accounts")
        op.execute("DROP FUNCTION rentdesk_account_changed()")
    with op.batch_alter_table("accounts") as table:
        table.drop_index("ix_accounts_partner_changed_seq")
        table.drop_column("changed_seq")
    op.drop_table("change_counter")
