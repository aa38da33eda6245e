"""audit trail append-only in the database: triggers refuse UPDATE and DELETE of audit_event

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-01

SQLite: BEFORE UPDATE / BEFORE DELETE triggers raising ABORT. PostgreSQL: a plpgsql function
raising insufficient_privilege, fired before UPDATE or DELETE of each row and before TRUNCATE.
The one legitimate wipe (`demo --reset`) lifts them inside its own transaction
(`pec_tui.db.audit_guard.lifted`).
"""

from collections.abc import Sequence

from alembic import op

from pec_tui.db import audit_guard

revision: str = '0005'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    audit_guard.create(op.get_bind())


def downgrade() -> None:
    audit_guard.drop(op.get_bind(), function=True)
