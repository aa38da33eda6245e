"""sent_notice: its unique index in the lifecycle job's page order (kind, expiry, mailbox_id)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03

The lifecycle job records its notices a page of 500 mailboxes at a time, the page in
(expiry, id) order and of one kind. The unique index `uq_notice_once` began with
`mailbox_id`, so a page's 500 rows went to as many leaf pages all over the index, and each
page's commit wrote every one of them again (on SQLite into the WAL, then the database):
on the first day of a 1M book (~260,000 notices) hundreds of MB. In (kind, expiry,
mailbox_id) order a page's rows sit together on a few leaves. The same three columns, so
the "once" rule and the job's "already sent?" lookups (all three by equality) are
unchanged; the batch's lookup of automatic renewals already recorded now also names the
expiries.

On SQLite a UNIQUE constraint of the table cannot be dropped: the table is rebuilt (copied;
seconds for a million rows). On PostgreSQL the constraint is dropped and added again.
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('sent_notice', schema=None) as batch_op:
        batch_op.drop_constraint('uq_notice_once', type_='unique')
        batch_op.create_unique_constraint('uq_notice_once', ['kind', 'expiry', 'mailbox_id'])


def downgrade() -> None:
    with op.batch_alter_table('sent_notice', schema=None) as batch_op:
        batch_op.drop_constraint('uq_notice_once', type_='unique')
        batch_op.create_unique_constraint('uq_notice_once', ['mailbox_id', 'kind', 'expiry'])
