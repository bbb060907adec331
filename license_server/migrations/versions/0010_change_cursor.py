"""A partner-wide change cursor for GET /accounts?since= (issue 26, DESIGN §5).

`accounts.changed_seq` is the partner's change counter (`change_counters.seq`) as of the account's last change;
`change_counters.epoch` is a random word per partner and database, so a cursor from another server is not
mistaken for one of ours.

Every insert of an account, and every update that moves its revision (ops, sweeps, expiries: every change of
an account moves its revision, DESIGN §5), takes the next number of its partner's counter. A trigger does it,
so no writer can forget it (the sweep's bulk updates included). Why it never skips a change:

- PostgreSQL: a deferred constraint trigger runs at COMMIT; the counter's row stays locked until that
  commit ends, so numbers are handed out in commit order. A reader reads the counter (C) *before* the
  accounts: every change numbered <= C was committed when C was read, so it is seen; a change committed
  later gets a number > C and is listed next time. (Deferred, the counter lock is taken last: a batch never
  waits for an account row while holding a partner's counter, so no deadlock.)
- SQLite: writers are serialized (BEGIN IMMEDIATE), a reader's transaction sees one snapshot.

Revision ID: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0006"
branch_labels = None
depends_on = None

_SQLITE_BODY = """
BEGIN
  INSERT OR IGNORE INTO change_counters (partner, seq, epoch) VALUES (NEW.partner, 0, lower(hex(randomblob(8))));
  UPDATE change_counters SET seq = seq + 1 WHERE partner = NEW.partner;
  UPDATE accounts SET changed_seq = (SELECT seq FROM change_counters WHERE partner = NEW.partner)
    WHERE id = NEW.id;
END
"""

_PG_FUNCTION = """
CREATE FUNCTION rentdesk_account_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  next_seq bigint;
BEGIN
  UPDATE change_counters SET seq = seq + 1 WHERE partner = NEW.partner RETURNING seq INTO next_seq;
  IF NOT FOUND THEN
    INSERT INTO change_counters (partner, seq, epoch)
      VALUES (NEW.partner, 0, substr(md5(random()::text || clock_timestamp()::text), 1, 16))
      ON CONFLICT (partner) DO NOTHING;
    UPDATE change_counters SET seq = seq + 1 WHERE partner = NEW.partner RETURNING seq INTO next_seq;
  END IF;
  UPDATE accounts SET changed_seq = next_seq WHERE id = NEW.id;
  RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.create_table(
        "change_counters",
        sa.Column("partner", sa.String(100), sa.ForeignKey("partners.name"), primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("epoch", sa.String(32), nullable=False),
    )
    with op.batch_alter_table("accounts") as table:
        table.add_column(sa.Column("changed_seq", sa.BigInteger, nullable=False, server_default="0"))
        table.create_index("ix_accounts_partner_changed_seq", ["partner", "changed_seq"])
    if op.get_bind().dialect.name == "sqlite":
        op.execute("CREATE TRIGGER accounts_inserted AFTER INSERT ON accounts" + _SQLITE_BODY)
        op.execute("CREATE TRIGGER accounts_changed AFTER UPDATE OF revision ON accounts "
                   "WHEN NEW.revision IS NOT OLD.revision" + _SQLITE_BODY)
    else:
        op.execute(_PG_FUNCTION)
        op.execute("CREATE CONSTRAINT TRIGGER accounts_inserted AFTER INSERT ON accounts "
                   "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION rentdesk_account_changed()")
        op.execute("CREATE CONSTRAINT TRIGGER accounts_changed AFTER UPDATE ON accounts "
                   "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (OLD.revision IS DISTINCT FROM NEW.revision) "
                   "EXECUTE FUNCTION rentdesk_account_changed()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER accounts_changed")
        op.execute("DROP TRIGGER accounts_inserted")
    else:
        op.execute("DROP TRIGGER accounts_changed ON accounts")
        op.execute("DROP TRIGGER accounts_inserted ON accounts")
        op.execute("DROP FUNCTION rentdesk_account_changed()")
    with op.batch_alter_table("accounts") as table:
        table.drop_index("ix_accounts_partner_changed_seq")
        table.drop_column("changed_seq")
    op.drop_table("change_counters")
