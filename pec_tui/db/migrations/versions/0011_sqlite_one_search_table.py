"""word search on SQLite: one FTS5 table, a row per mailbox

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02

Migration 0008 indexed addresses (`search_mailbox`, by mailbox) and holder names
(`search_holder`, by holder). A search matching a name then went from the holder's id
through `ix_mailbox_holder` to each of its mailboxes, and the two sets of matches were
merged: for "ann" at a million mailboxes, 24,025 addresses and 11,360 holders (21,031
mailboxes). Here one contentless FTS5 table (`search_words`) holds, for each mailbox, its
address as written and its holder's name folded, so a search is one index query giving
mailbox ids, and a column filter keeps a text with an @ to the addresses. Triggers on
`mailbox` (insert, delete, a new address or holder) and `holder` (a new name) keep it in
step. PostgreSQL keeps `mailbox_search` (0010).
"""

from collections.abc import Sequence

from alembic import op

from pec_tui.db import legacy_search, search_index

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    legacy_search.drop(bind)
    search_index.create(bind)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    search_index.drop(bind)
    legacy_search.create(bind)
