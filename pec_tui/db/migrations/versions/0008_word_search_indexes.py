"""word search: trigram indexes on addresses and holder names

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-01

SQLite: FTS5 tables with the trigram tokenizer over views of the folded text, kept in step
by triggers (`pec_tui.db.legacy_search`; migration 0011 replaces them). PostgreSQL:
the pg_trgm extension, an IMMUTABLE `pec_fold(text)` and GIN indexes on `pec_fold(address)`
and `pec_fold(display_name)`, written out here as they were: migration 0010 moves them to a
table of their own.
"""

from collections.abc import Sequence

from alembic import op

from pec_tui.db import legacy_search, search_index

revision: str = '0008'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FOLD_FUNCTION = f"""
CREATE OR REPLACE FUNCTION pec_fold(value text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT lower(translate(value, '{search_index.FOLD_FROM}', '{search_index.FOLD_TO}')) $$
"""
_INDEXES = (
    ("ix_search_mailbox_address", "mailbox", "address"),
    ("ix_search_holder_name", "holder", "display_name"),
)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        legacy_search.create(bind)
        return
    # In `public`, not in whichever schema comes first on the search path: an extension
    # belongs to the whole database, and dropping that schema would take it along.
    bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")
    bind.exec_driver_sql(_FOLD_FUNCTION)
    schema = bind.exec_driver_sql(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n "
        "ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
    ).scalar_one()
    ops = '"' + str(schema).replace('"', '""') + '".gin_trgm_ops'
    for name, table, column in _INDEXES:
        bind.exec_driver_sql(f"CREATE INDEX {name} ON {table} USING gin (pec_fold({column}) {ops})")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        legacy_search.drop(bind)
        return
    for name, _table, _column in _INDEXES:
        bind.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
    # The extension stays: other schemas of the database may use it.
    bind.exec_driver_sql("DROP FUNCTION IF EXISTS pec_fold(text)")
