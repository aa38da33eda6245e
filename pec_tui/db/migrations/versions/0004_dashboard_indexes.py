"""dashboard indexes: expiries per month with their value, orders awaiting payment, payments per day

Revision ID: 0004
Revises: 0008
Create Date: 2026-12-01

Covering indexes for the renewals dashboard (services/dashboard.py): its GROUP BY queries
read them in order and never touch the table rows.
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0004'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RENEWAL_COLUMNS = ['expiry', 'auto_renew', 'plan', 'extra_mailbox_gb', 'extra_archive_gb']


_AWAITING_COLUMNS = [
    'status', 'reseller_id', 'confirmed_at', 'created_at', 'net_cents', 'gross_cents'
]


def upgrade() -> None:
    with op.batch_alter_table('mailbox', schema=None) as batch_op:
        batch_op.create_index('ix_mailbox_expiry_renewal', _RENEWAL_COLUMNS, unique=False)
        batch_op.create_index(
            'ix_mailbox_reseller_expiry_renewal', ['reseller_id', *_RENEWAL_COLUMNS], unique=False
        )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index(
            'ix_orders_status_reseller_confirmed', _AWAITING_COLUMNS, unique=False
        )
        batch_op.create_index('ix_orders_reseller_id', ['reseller_id', 'id'], unique=False)
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.create_index(
            'ix_payment_paid_on', ['paid_on', 'order_id', 'amount_cents'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.drop_index('ix_payment_paid_on')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_reseller_id')
        batch_op.drop_index('ix_orders_status_reseller_confirmed')
    with op.batch_alter_table('mailbox', schema=None) as batch_op:
        batch_op.drop_index('ix_mailbox_reseller_expiry_renewal')
        batch_op.drop_index('ix_mailbox_expiry_renewal')
