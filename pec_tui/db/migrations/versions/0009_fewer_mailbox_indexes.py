"""fewer indexes on mailbox: one expiry index (and one per reseller)

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-02

A payment renews every mailbox of its order in one UPDATE, and a new expiry writes an entry
in each index that holds it (on PostgreSQL in every index of the table: the update cannot be
HOT). Six indexes held the expiry: (expiry, id), the dashboard's covering (expiry,
auto_renew, plan, extra GB), (auto_renew, expiry), and the same three with the reseller in
front. They become two, (expiry, id, auto_renew, plan, extra GB) and the reseller's, which
serve keyset paging, the dashboard, the 3-month selection and the lifecycle job's windows.
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0009'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MERGED = ['expiry', 'id', 'auto_renew', 'plan', 'extra_mailbox_gb', 'extra_archive_gb']
_RENEWAL = ['expiry', 'auto_renew', 'plan', 'extra_mailbox_gb', 'extra_archive_gb']


def upgrade() -> None:
    # Plain statements, not batch mode: SQLite would copy the whole table for it.
    for name in (
        'ix_mailbox_expiry_id',
        'ix_mailbox_reseller_expiry_id',
        'ix_mailbox_expiry_renewal',
        'ix_mailbox_reseller_expiry_renewal',
        'ix_mailbox_autorenew_expiry',
        'ix_mailbox_reseller_autorenew_expiry',
    ):
        op.drop_index(name, table_name='mailbox')
    op.create_index('ix_mailbox_expiry_id', 'mailbox', _MERGED)
    op.create_index('ix_mailbox_reseller_expiry_id', 'mailbox', ['reseller_id', *_MERGED])


def downgrade() -> None:
    op.drop_index('ix_mailbox_reseller_expiry_id', table_name='mailbox')
    op.drop_index('ix_mailbox_expiry_id', table_name='mailbox')
    op.create_index('ix_mailbox_expiry_id', 'mailbox', ['expiry', 'id'])
    op.create_index('ix_mailbox_reseller_expiry_id', 'mailbox', ['reseller_id', 'expiry', 'id'])
    op.create_index('ix_mailbox_autorenew_expiry', 'mailbox', ['auto_renew', 'expiry'])
    op.create_index(
        'ix_mailbox_reseller_autorenew_expiry', 'mailbox', ['reseller_id', 'auto_renew', 'expiry']
    )
    op.create_index('ix_mailbox_expiry_renewal', 'mailbox', _RENEWAL)
    op.create_index('ix_mailbox_reseller_expiry_renewal', 'mailbox', ['reseller_id', *_RENEWAL])
