"""audit trail append-only in the database: triggers refuse UPDATE and DELETE of audit_event;
operator.token_expires_at (script tokens expire)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

SQLite: BEFORE UPDATE / BEFORE DELETE triggers raising ABORT. PostgreSQL: a plpgsql function
raising insufficient_privilege, fired before UPDATE or DELETE of each row and before TRUNCATE.
The one legitimate wipe (`demo --reset`) lifts them inside its own transaction
(`pec_tui.db.audit_guard.lifted`).
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

from pec_tui.db import audit_guard

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    audit_guard.create(op.get_bind())
    with op.batch_alter_table('operator', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('token_expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
    # Tokens issued before expiry existed: 90 days from now, as a new one would get.
    operator = sa.table(
        'operator',
        sa.column('token_hash', sa.String()),
        sa.column('token_expires_at', sqlmodel.sql.sqltypes.UTCDateTime()),
    )
    op.get_bind().execute(
        sa.update(operator)
        .where(operator.c.token_hash.is_not(None))
        .values(token_expires_at=datetime.now(UTC) + timedelta(days=90))
    )


def downgrade() -> None:
    with op.batch_alter_table('operator', schema=None) as batch_op:
        batch_op.drop_column('token_expires_at')
    audit_guard.drop(op.get_bind(), function=True)
