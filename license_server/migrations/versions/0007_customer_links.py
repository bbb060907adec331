"""The customer's own page (R27): each account's link generation and when its current link was made; who made
each history event (technician, customer, or the server itself).

The link is derived, never stored (DESIGN §5): only its generation is kept, so renewing it makes every older
link stop at once. Accounts that exist already have had a link since their creation.

Revision ID: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("accounts", sa.Column("customer_link_generation", sa.Integer, nullable=False, server_default="0"))
    op.add_column("accounts", sa.Column("customer_link_at", sa.BigInteger, nullable=True))
    op.execute("UPDATE accounts SET customer_link_at = created_at")
    # the API's `by` (a keyword in SQL, hence the column's name)
    op.add_column("history", sa.Column("actor", sa.String(16), nullable=True))
    op.execute("UPDATE history SET actor = 'technician' WHERE technician IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("history") as batch:
        batch.drop_column("actor")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("customer_link_at")
        batch.drop_column("customer_link_generation")
