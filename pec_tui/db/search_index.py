"""The word search: text folding and the indexes that find a word inside a text.

A search finds a mailbox when the text typed appears anywhere in its address or in its
holder's name, whatever the case and the accents ("nicolo" finds "Nicolò"). Both sides are
folded the same way: accented Latin letters become their plain letter (`FOLD_FROM` →
`FOLD_TO`), then lower case.

- SQLite: two FTS5 tables with the trigram tokenizer (`search_mailbox`, `search_holder`),
  external content read from two views of the folded text, kept in step by triggers on
  `mailbox` and `holder`. The tokenizer folds the case; the views fold the accents.
- PostgreSQL: `pg_trgm` GIN indexes on `pec_fold(column)`, an IMMUTABLE SQL function
  (`unaccent` is not immutable, so it cannot be used in an index).

A trigram index needs at least 3 characters (`MIN_WORD`): shorter searches stay prefix
searches. Bulk loaders (the demo seeder) call `suspend_for_bulk` before their first row and
`restore_after_bulk` at the end, so that a million rows do not pay the index row by row.
Migration 0008 creates everything here with `create`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

MIN_WORD = 3

# The accented letters of Italian names, and the umlauts, ç and ñ of foreign ones, in both
# cases, with the plain letter each folds to. SQLite folds them with one nested replace()
# each, and its parser takes no more than about 27 nested calls.
FOLD_FROM = "àèéìòóùäöüçñÀÈÉÌÒÓÙÄÖÜÇÑ"
FOLD_TO = "aeeioouaoucnAEEIOOUAOUCN"
_FOLD_TABLE = str.maketrans(FOLD_FROM, FOLD_TO)

MAILBOX_FTS = "search_mailbox"
HOLDER_FTS = "search_holder"
# Every SQLite table the FTS5 module makes for the two indexes (Alembic leaves them alone).
SQLITE_TABLE_PREFIX = "search_"
POSTGRES_INDEXES = ("ix_search_mailbox_address", "ix_search_holder_name")

# (FTS table, view of the folded text or None, base table, base column, FTS column).
# Addresses are indexed as written: PEC addresses are ASCII, and folding a million of them
# would double the cost of building the index.
_SOURCES = (
    (MAILBOX_FTS, None, "mailbox", "address", "address"),
    (HOLDER_FTS, "search_holder_text", "holder", "display_name", "name"),
)


def fold(value: str) -> str:
    """`value` as the indexes hold it: accents off, lower case."""
    return value.translate(_FOLD_TABLE).lower()


def fts_phrase(value: str) -> str:
    """An FTS5 query matching `value` (already folded) as one substring."""
    return '"' + value.replace('"', '""') + '"'


def _sqlite_fold(expression: str) -> str:
    """SQL folding the accents of `expression` on SQLite (the tokenizer folds the case).

    Text of printable ASCII alone, most names, skips the replaces (a third of the time it
    takes to index the holders of a million-mailbox book).
    """
    folded = expression
    for accented, plain in zip(FOLD_FROM, FOLD_TO, strict=True):
        folded = f"replace({folded}, '{accented}', '{plain}')"
    return f"CASE WHEN {expression} GLOB '*[^ -~]*' THEN {folded} ELSE {expression} END"


# FTS5 writes out its pending terms whenever they outgrow `hashsize` (1 MB by default), or
# when a rowid comes lower than the one before: the rows go in id order (FTS5's own
# 'rebuild' reads them in whatever order an index covering the columns gives, which cost
# 150 s for a million addresses) and 128 MB at a time.
_REBUILD_HASHSIZE = 128 * 1024 * 1024
_DEFAULT_HASHSIZE = 1024 * 1024


def _sqlite_rebuild(fts: str) -> list[str]:
    """Statements indexing every row of `fts`'s content in one pass."""
    _fts, view, table, column, fts_column = next(source for source in _SOURCES if source[0] == fts)
    value = column if view is None else _sqlite_fold(column)
    return [
        f"INSERT INTO {fts}({fts}, rank) VALUES ('hashsize', {_REBUILD_HASHSIZE})",
        f"INSERT INTO {fts}({fts}) VALUES ('delete-all')",
        f"INSERT INTO {fts}(rowid, {fts_column}) SELECT id, {value} FROM {table} ORDER BY id",
        f"INSERT INTO {fts}({fts}, rank) VALUES ('hashsize', {_DEFAULT_HASHSIZE})",
    ]


def _sqlite_triggers() -> list[str]:
    statements: list[str] = []
    for fts, view, table, column, fts_column in _SOURCES:
        new, old = f"new.{column}", f"old.{column}"
        if view is not None:
            new, old = _sqlite_fold(new), _sqlite_fold(old)
        insert = f"INSERT INTO {fts}(rowid, {fts_column}) VALUES (new.id, {new});"
        delete = f"INSERT INTO {fts}({fts}, rowid, {fts_column}) VALUES ('delete', old.id, {old});"
        statements += [
            f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN {insert} END",
            f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN {delete} END",
            f"CREATE TRIGGER {fts}_au AFTER UPDATE OF {column} ON {table} "
            f"BEGIN {delete} {insert} END",
        ]
    return statements


def _sqlite_trigger_names() -> list[str]:
    return [f"{fts}_{when}" for fts, *_ in _SOURCES for when in ("ai", "ad", "au")]


_PG_FOLD_FUNCTION = f"""
CREATE OR REPLACE FUNCTION pec_fold(value text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT lower(translate(value, '{FOLD_FROM}', '{FOLD_TO}')) $$
"""


def _trgm_schema(connection: Connection) -> str:
    schema = connection.execute(
        text(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n "
            "ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
        )
    ).scalar_one()
    return str(schema)


def _postgres_indexes(connection: Connection, if_not_exists: bool = False) -> list[str]:
    quote = connection.dialect.identifier_preparer.quote
    ops = f"{quote(_trgm_schema(connection))}.gin_trgm_ops"
    exists = "IF NOT EXISTS " if if_not_exists else ""
    return [
        f"CREATE INDEX {exists}{name} ON {table} USING gin (pec_fold({column}) {ops})"
        for name, (_fts, _view, table, column, _c) in zip(POSTGRES_INDEXES, _SOURCES, strict=True)
    ]


def create(connection: Connection) -> None:
    """Create the search indexes over the rows already there (migration 0008)."""
    if connection.dialect.name == "sqlite":
        for fts, view, table, column, fts_column in _SOURCES:
            if view is not None:
                connection.exec_driver_sql(
                    f"CREATE VIEW {view} AS SELECT id, {_sqlite_fold(column)} AS {fts_column} "
                    f"FROM {table}"
                )
            connection.exec_driver_sql(
                f"CREATE VIRTUAL TABLE {fts} USING fts5({fts_column}, content='{view or table}', "
                f"content_rowid='id', tokenize='trigram')"
            )
            for statement in _sqlite_rebuild(fts):
                connection.exec_driver_sql(statement)
        for statement in _sqlite_triggers():
            connection.exec_driver_sql(statement)
    elif connection.dialect.name == "postgresql":
        # In `public`, not in whichever schema comes first on the search path: an extension
        # belongs to the whole database, and dropping that schema would take it along.
        connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")
        connection.exec_driver_sql(_PG_FOLD_FUNCTION)
        for statement in _postgres_indexes(connection):
            connection.exec_driver_sql(statement)


def drop(connection: Connection) -> None:
    """Undo `create` (the extension stays: other schemas of the database may use it)."""
    if connection.dialect.name == "sqlite":
        for name in _sqlite_trigger_names():
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        for fts, view, *_ in _SOURCES:
            connection.exec_driver_sql(f"DROP TABLE IF EXISTS {fts}")
            if view is not None:
                connection.exec_driver_sql(f"DROP VIEW IF EXISTS {view}")
    elif connection.dialect.name == "postgresql":
        for name in POSTGRES_INDEXES:
            connection.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
        connection.exec_driver_sql("DROP FUNCTION IF EXISTS pec_fold(text)")


# --- Bulk loads -----------------------------------------------------------------------------
#
# They work on a DBAPI cursor, which is what the bulk writers hold. Between the two calls the
# search finds nothing new: the loader's rows are not indexed until `restore_after_bulk`.


def suspend_for_bulk(cursor: Any, dialect: str) -> None:
    """Stop keeping the search indexes row by row (in the loader's first transaction)."""
    if dialect == "sqlite":
        for name in _sqlite_trigger_names():
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
    elif dialect == "postgresql":
        for name in POSTGRES_INDEXES:
            cursor.execute(f"DROP INDEX IF EXISTS {name}")


def restore_after_bulk(cursor: Any, dialect: str) -> None:
    """Index every row in one pass and keep the indexes row by row again.

    Idempotent: also repairs a database whose loader stopped before calling it.
    """
    if dialect == "sqlite":
        cursor.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE ?",
            (SQLITE_TABLE_PREFIX + "%",),
        )
        if cursor.fetchone()[0] == len(_sqlite_trigger_names()):
            return
        for name in _sqlite_trigger_names():
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
        for fts, *_ in _SOURCES:
            for statement in _sqlite_rebuild(fts):
                cursor.execute(statement)
        for statement in _sqlite_triggers():
            cursor.execute(statement)
    elif dialect == "postgresql":
        cursor.execute(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n "
            "ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
        )
        found = cursor.fetchone()
        if found is None:
            return  # the database was never migrated to 0008
        ops = '"' + str(found[0]).replace('"', '""') + '".gin_trgm_ops'
        for name, (_fts, _view, table, column, _c) in zip(POSTGRES_INDEXES, _SOURCES, strict=True):
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin (pec_fold({column}) {ops})"
            )
            # The planner needs statistics of the folded text, which a bulk load leaves stale.
            cursor.execute(f"ANALYZE {table}")
