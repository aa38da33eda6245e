"""word search on PostgreSQL: `mailbox_search` rewritten in mailbox id order

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03

A payment renews thousands of mailboxes in one UPDATE of `mailbox`, and the statement
trigger then gives each of them its new expiry in `mailbox_search`. No index of that table
holds the expiry, so the new row versions are HOT (no index entry) as long as each fits on
its page: `fillfactor` 85 leaves room for about 12 new versions on a page of 72 rows, the
old ones staying until the transaction ends. The bulk fills (0010, and
`search_index.restore_after_bulk` after the demo seeder) wrote the rows in the order their
join gave them, which gathered a holder's mailboxes on a page: the payment of the 58,000
mailboxes of a 1M book's biggest reseller then updated 10 to 30 rows on each of its pages,
and 16,336 of them (28 %) did not fit. Each of those new versions got its pkey entry and
its trigrams in the GIN index (pending list, then its cleanup): 1.6-2.2 s of the trigger,
against 0.6-0.9 s with the table in id order (as `mailbox` is, and as a table grown one
mailbox at a time is), where 57,615 of the 58,000 were HOT.

Here the table is rewritten in id order (CLUSTER on its primary key: ~15-25 s at a million
rows, its indexes rebuilt); the bulk fill now orders by id. Searches read the same rows.
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    bind.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
    bind.exec_driver_sql("CLUSTER mailbox_search USING mailbox_search_pkey")
    bind.exec_driver_sql("ANALYZE mailbox_search")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    # The rows stay where they are; only the table's mark for a later CLUSTER goes.
    bind.exec_driver_sql("ALTER TABLE mailbox_search SET WITHOUT CLUSTER")
