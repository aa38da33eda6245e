"""The word search: text folding and the indexes that find a word inside a text.

A search finds a mailbox when the text typed appears anywhere in its address or in its
holder's name, whatever the case and the accents ("nicolo" finds "Nicolò"). Both sides are
folded the same way: accented Latin letters become their plain letter (`FOLD_FROM` →
`FOLD_TO`), then lower case.

- SQLite: `search_words` (migration 0011), one contentless FTS5 table with the trigram
  tokenizer, a row per mailbox: its address as written and its holder's name with the
  accents folded (the tokenizer folds the case), kept in step by triggers on `mailbox` and
  `holder`. A search is one FTS5 query giving mailbox ids.
- PostgreSQL: `mailbox_search` (migrations 0010, 0012), one narrow row per mailbox with what a
  search reads (id, reseller, expiry, and the address and holder's name folded in one
  text), a `pg_trgm` GIN index on that text, kept in step by statement triggers on
  `mailbox` and `holder`. `pec_fold` is an IMMUTABLE SQL function (`unaccent` is not
  immutable, so it cannot be used in an index). A search reads no other table: the sort
  key is next to the text.

A trigram index needs at least 3 characters (`MIN_WORD`): shorter searches stay prefix
searches. Bulk loaders (the demo seeder) call `suspend_for_bulk` before their first row and
`restore_after_bulk` at the end, so that a million rows do not pay the index row by row.
Migration 0011 creates SQLite's table with `create`; migration 0010 PostgreSQL's.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

MIN_WORD = 3

# The accented letters of Italian names, and the umlauts, ç and ñ of foreign ones, in both
# cases, with the plain letter each folds to. SQLite folds them with one nested replace()
# each, and its parser takes no more than about 27 nested calls.
FOLD_FROM = "àèéìòóùäöüçñÀÈÉÌÒÓÙÄÖÜÇÑ"
FOLD_TO = "aeeioouaoucnAEEIOOUAOUCN"
_FOLD_TABLE = str.maketrans(FOLD_FROM, FOLD_TO)

# Every SQLite table the FTS5 module makes for the index (Alembic leaves them alone).
SQLITE_TABLE_PREFIX = "search_"
# PostgreSQL (migration 0010): one narrow row per mailbox and a trigram index on its words.
POSTGRES_TABLE = "mailbox_search"
POSTGRES_INDEX = "ix_mailbox_search_words"
# The trigger that adds a new mailbox's row; the others fire on what a bulk load never does.
_POSTGRES_INSERT_TRIGGER = "pec_search_mailbox_ai"

search_table = sa.table(
    POSTGRES_TABLE,
    sa.column("id", sa.Integer),
    sa.column("reseller_id", sa.Integer),
    sa.column("expiry", sa.Date),
    sa.column("words", sa.String),
)
"""What a word search reads on PostgreSQL: the mailbox's id, reseller and expiry, and its
`words`: the address and the holder's name, folded (`fold`), a newline between them."""
WORDS_SEPARATOR = "\n"


def fold(value: str) -> str:
    """`value` as the indexes hold it: accents off, lower case."""
    return value.translate(_FOLD_TABLE).lower()


def fts_phrase(value: str) -> str:
    """An FTS5 query matching `value` (already folded) as one substring."""
    return '"' + value.replace('"', '""') + '"'


def sqlite_fold(expression: str) -> str:
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
# 'rebuild' read them in whatever order an index covering the columns gave, which cost
# 150 s for a million addresses) and 128 MB at a time.
REBUILD_HASHSIZE = 128 * 1024 * 1024
DEFAULT_HASHSIZE = 1024 * 1024

# SQLite (migration 0011): one contentless FTS5 table, a row per mailbox (rowid = its id),
# with the address as written (the tokenizer folds the case; PEC addresses are ASCII, and
# folding a million of them would double the cost of building the index) and the holder's
# name folded. Contentless: a row is deleted by giving back the values it was indexed with,
# which the triggers read from `mailbox` and `holder` as they are before the change.
SQLITE_FTS = "search_words"
_SQLITE_TRIGGERS = ("search_words_ai", "search_words_ad", "search_words_au", "search_words_hu")


def _sqlite_name(holder: str) -> str:
    return sqlite_fold(f"{holder}.display_name")


def _sqlite_rebuild() -> list[str]:
    """Statements indexing every mailbox in one pass."""
    return [
        f"INSERT INTO {SQLITE_FTS}({SQLITE_FTS}, rank) VALUES ('hashsize', {REBUILD_HASHSIZE})",
        f"INSERT INTO {SQLITE_FTS}({SQLITE_FTS}) VALUES ('delete-all')",
        f"INSERT INTO {SQLITE_FTS}(rowid, address, name) "
        f"SELECT m.id, m.address, {_sqlite_name('h')} FROM mailbox m "
        "JOIN holder h ON h.id = m.holder_id ORDER BY m.id",
        f"INSERT INTO {SQLITE_FTS}({SQLITE_FTS}, rank) VALUES ('hashsize', {DEFAULT_HASHSIZE})",
    ]


def _sqlite_triggers() -> list[str]:
    def add(row: str) -> str:
        return (
            f"INSERT INTO {SQLITE_FTS}(rowid, address, name) "
            f"SELECT {row}.id, {row}.address, {_sqlite_name('h')} "
            f"FROM holder h WHERE h.id = {row}.holder_id;"
        )

    def remove(row: str) -> str:
        return (
            f"INSERT INTO {SQLITE_FTS}({SQLITE_FTS}, rowid, address, name) "
            f"SELECT 'delete', {row}.id, {row}.address, {_sqlite_name('h')} "
            f"FROM holder h WHERE h.id = {row}.holder_id;"
        )

    def each_mailbox(holder: str, delete: bool) -> str:
        columns = f"{SQLITE_FTS}, rowid, address, name" if delete else "rowid, address, name"
        command = "'delete', " if delete else ""
        return (
            f"INSERT INTO {SQLITE_FTS}({columns}) "
            f"SELECT {command}m.id, m.address, {_sqlite_name(holder)} "
            f"FROM mailbox m WHERE m.holder_id = {holder}.id;"
        )

    ai, ad, au, hu = _SQLITE_TRIGGERS
    return [
        f"CREATE TRIGGER {ai} AFTER INSERT ON mailbox BEGIN {add('new')} END",
        f"CREATE TRIGGER {ad} AFTER DELETE ON mailbox BEGIN {remove('old')} END",
        f"CREATE TRIGGER {au} AFTER UPDATE OF address, holder_id ON mailbox "
        f"BEGIN {remove('old')} {add('new')} END",
        f"CREATE TRIGGER {hu} AFTER UPDATE OF display_name ON holder BEGIN "
        f"{each_mailbox('old', delete=True)} {each_mailbox('new', delete=False)} END",
    ]


def create(connection: Connection) -> None:
    """Create SQLite's FTS5 table over the rows already there, and its triggers (migration
    0011; on PostgreSQL migration 0010 creates `mailbox_search`)."""
    connection.exec_driver_sql(
        f"CREATE VIRTUAL TABLE {SQLITE_FTS} USING fts5(address, name, content='', "
        "tokenize='trigram')"
    )
    for statement in (*_sqlite_rebuild(), *_sqlite_triggers()):
        connection.exec_driver_sql(statement)


def drop(connection: Connection) -> None:
    """Undo `create` on SQLite."""
    for name in _SQLITE_TRIGGERS:
        connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
    connection.exec_driver_sql(f"DROP TABLE IF EXISTS {SQLITE_FTS}")


# --- Bulk loads -----------------------------------------------------------------------------
#
# They work on a DBAPI cursor, which is what the bulk writers hold. Between the two calls the
# search finds nothing new: the loader's rows are not indexed until `restore_after_bulk`.


def suspend_for_bulk(cursor: Any, dialect: str) -> None:
    """Stop keeping the search indexes row by row (in the loader's first transaction)."""
    if dialect == "sqlite":
        for name in _SQLITE_TRIGGERS:
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
    elif dialect == "postgresql":
        cursor.execute(f"ALTER TABLE mailbox DISABLE TRIGGER {_POSTGRES_INSERT_TRIGGER}")
        cursor.execute(f"DROP INDEX IF EXISTS {POSTGRES_INDEX}")


def restore_after_bulk(cursor: Any, dialect: str) -> None:
    """Index every row in one pass and keep the indexes row by row again.

    Idempotent: also repairs a database whose loader stopped before calling it.
    """
    if dialect == "sqlite":
        cursor.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE ?",
            (SQLITE_TABLE_PREFIX + "%",),
        )
        if cursor.fetchone()[0] == len(_SQLITE_TRIGGERS):
            return
        for name in _SQLITE_TRIGGERS:
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
        for statement in (*_sqlite_rebuild(), *_sqlite_triggers()):
            cursor.execute(statement)
    elif dialect == "postgresql":
        cursor.execute(
            "SELECT t.tgenabled FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname = %s AND c.oid = 'mailbox'::regclass",
            (_POSTGRES_INSERT_TRIGGER,),
        )
        trigger = cursor.fetchone()
        if trigger is None:
            return  # the database was never migrated to 0010
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", (POSTGRES_INDEX,))
        if trigger[0] != "D" and cursor.fetchone()[0]:
            return
        cursor.execute(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n "
            "ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
        )
        ops = '"' + str(cursor.fetchone()[0]).replace('"', '""') + '".gin_trgm_ops'
        cursor.execute(f"DROP INDEX IF EXISTS {POSTGRES_INDEX}")
        # Every row again, in one statement: rows the loader added while the trigger was off.
        # In id order, as `mailbox` (migration 0012): a payment's new expiries are HOT updates
        # only while each page keeps room for them, and the join's own order gathered a
        # holder's mailboxes, often renewed together, on the same pages.
        cursor.execute(f"TRUNCATE {POSTGRES_TABLE}")
        cursor.execute(
            f"INSERT INTO {POSTGRES_TABLE} (id, reseller_id, expiry, words) "
            "SELECT m.id, m.reseller_id, m.expiry, pec_search_words(m.address, h.display_name) "
            "FROM mailbox m JOIN holder h ON h.id = m.holder_id ORDER BY m.id"
        )
        cursor.execute(f"CREATE INDEX {POSTGRES_INDEX} ON {POSTGRES_TABLE} USING gin (words {ops})")
        cursor.execute(f"ALTER TABLE mailbox ENABLE TRIGGER {_POSTGRES_INSERT_TRIGGER}")
        # The planner needs statistics of the folded text, which a bulk load leaves stale.
        cursor.execute(f"ANALYZE {POSTGRES_TABLE}")
        cursor.execute("ANALYZE mailbox")
        cursor.execute("ANALYZE holder")
