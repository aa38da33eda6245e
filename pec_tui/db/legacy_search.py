"""SQLite's word-search structure as migration 0008 made it, frozen for 0008 and for the
downgrade of 0011 (which replaced it with one table, `search_index.create`).

Two FTS5 tables with the trigram tokenizer: `search_mailbox` (external content: the
addresses as written) and `search_holder` (over a view of the folded holder names), kept in
step by triggers on `mailbox` and `holder`.
"""

from __future__ import annotations

from sqlalchemy import Connection

from pec_tui.db.search_index import DEFAULT_HASHSIZE, REBUILD_HASHSIZE, sqlite_fold

# (FTS table, view of the folded text or None, base table, base column, FTS column).
_SOURCES = (
    ("search_mailbox", None, "mailbox", "address", "address"),
    ("search_holder", "search_holder_text", "holder", "display_name", "name"),
)


def _rebuild(fts: str) -> list[str]:
    _fts, view, table, column, fts_column = next(source for source in _SOURCES if source[0] == fts)
    value = column if view is None else sqlite_fold(column)
    return [
        f"INSERT INTO {fts}({fts}, rank) VALUES ('hashsize', {REBUILD_HASHSIZE})",
        f"INSERT INTO {fts}({fts}) VALUES ('delete-all')",
        f"INSERT INTO {fts}(rowid, {fts_column}) SELECT id, {value} FROM {table} ORDER BY id",
        f"INSERT INTO {fts}({fts}, rank) VALUES ('hashsize', {DEFAULT_HASHSIZE})",
    ]


def _triggers() -> list[str]:
    statements: list[str] = []
    for fts, view, table, column, fts_column in _SOURCES:
        new, old = f"new.{column}", f"old.{column}"
        if view is not None:
            new, old = sqlite_fold(new), sqlite_fold(old)
        insert = f"INSERT INTO {fts}(rowid, {fts_column}) VALUES (new.id, {new});"
        delete = f"INSERT INTO {fts}({fts}, rowid, {fts_column}) VALUES ('delete', old.id, {old});"
        statements += [
            f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN {insert} END",
            f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN {delete} END",
            f"CREATE TRIGGER {fts}_au AFTER UPDATE OF {column} ON {table} "
            f"BEGIN {delete} {insert} END",
        ]
    return statements


def create(connection: Connection) -> None:
    """Create the two FTS5 tables over the rows already there, and their triggers."""
    for fts, view, table, column, fts_column in _SOURCES:
        if view is not None:
            connection.exec_driver_sql(
                f"CREATE VIEW {view} AS SELECT id, {sqlite_fold(column)} AS {fts_column} "
                f"FROM {table}"
            )
        connection.exec_driver_sql(
            f"CREATE VIRTUAL TABLE {fts} USING fts5({fts_column}, content='{view or table}', "
            f"content_rowid='id', tokenize='trigram')"
        )
        for statement in _rebuild(fts):
            connection.exec_driver_sql(statement)
    for statement in _triggers():
        connection.exec_driver_sql(statement)


def drop(connection: Connection) -> None:
    """Undo `create`."""
    for fts, *_ in _SOURCES:
        for when in ("ai", "ad", "au"):
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {fts}_{when}")
    for fts, view, *_ in _SOURCES:
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS {fts}")
        if view is not None:
            connection.exec_driver_sql(f"DROP VIEW IF EXISTS {view}")
