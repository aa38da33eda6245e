"""word search: trigram indexes on addresses and holder names

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-01

SQLite: FTS5 tables with the trigram tokenizer over views of the folded text, kept in step
by triggers. PostgreSQL: the pg_trgm extension, an IMMUTABLE `pec_fold(text)` and GIN
indexes on `pec_fold(address)` and `pec_fold(display_name)`. See `pec_tui.db.search_index`.
"""

from collections.abc import Sequence

from alembic import op

from pec_tui.db import search_index

revision: str = '0008'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    search_index.create(op.get_bind())


def downgrade() -> None:
    search_index.drop(op.get_bind())
