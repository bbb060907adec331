"""The licenses' primary key carries each line's values on PostgreSQL (issue 27, the sweep).

A stop by the sweep writes one final charge line per rented line (R18, R25): its quantity, unit price and price
version. PostgreSQL found each due account's lines through `licenses_pkey` and then read them from the table: two
pages per stop, the second a random heap page (about 10,000 of the 19,400 pages the ledger's insert read for
10,000 stops, `docs/benchmarks.md` §30). With `INCLUDE (qty, monthly_milli, price_version)` the key's index holds
them too, and the same probe answers from the index alone (an index-only scan: the table is read only for pages
changed since the last vacuum). An account's load (`store.load_many`) reads no other column of licenses, so its
join can be answered the same way.

Nothing else changes: the same key, the same uniqueness, the same foreign key to pbxs, no new index to keep up. A
change of a line's quantity or price now writes an entry in the key's index (the update is no longer HOT), as
adding or removing a line always did.

The index is built before the old one goes (`ADD CONSTRAINT ... USING INDEX` renames it to `licenses_pkey`); the
build holds a SHARE lock on licenses (writes wait, reads go on): a few seconds for a million lines.

SQLite has no INCLUDE: its table is left as it is, and models.py names the columns with `postgresql_include`.

Revision ID: 0014
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

KEY = "account_id, pbx_id, ref"
VALUES = "qty, monthly_milli, price_version"


def _rebuild(include: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute(f"CREATE UNIQUE INDEX licenses_pkey_new ON licenses ({KEY}){include}")
    op.execute("ALTER TABLE licenses DROP CONSTRAINT licenses_pkey, "
               "ADD CONSTRAINT licenses_pkey PRIMARY KEY USING INDEX licenses_pkey_new")


def upgrade() -> None:
    _rebuild(f" INCLUDE ({VALUES})")


def downgrade() -> None:
    _rebuild("")
