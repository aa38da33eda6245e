"""PostgreSQL: the references of order lines and reservations checked per statement (fk)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03

Confirming the renewal of a reseller's 54,210 mailboxes writes ~67,000 `order_line` rows and
~54,000 `open_renewal` reservations in one transaction. Their four foreign keys
(`order_id` → `orders`, `mailbox_id` → `mailbox`) were checked by PostgreSQL row by row:
a `SELECT ... FOR KEY SHARE` of the parent per new row and per key, which also writes each
locked mailbox row. That was about half of the confirmation on PostgreSQL. Here the four
foreign keys are replaced by statement triggers with transition tables
(`pec_tui.db.reference_checks`): the same references refused, with the same SQLSTATE and
constraint names, checked once per statement.

SQLite keeps its foreign keys (its checks are cheap B-tree lookups): nothing changes there.
The downgrade drops the triggers and creates the foreign keys again.
"""

from collections.abc import Sequence

from alembic import op

from pec_tui.db import reference_checks

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for key in reference_checks.KEYS:
        op.drop_constraint(key.name, key.table, type_="foreignkey")
    reference_checks.create(bind)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    reference_checks.drop(bind)
    for key in reference_checks.KEYS:
        op.create_foreign_key(key.name, key.table, key.parent, [key.column], [key.parent_column])
