"""The audit trail is append-only in the database itself: triggers refuse UPDATE and DELETE.

Migration 0005 creates them (SQLite: two triggers raising ABORT; PostgreSQL: one function
raising `insufficient_privilege`, a row trigger for UPDATE and DELETE and a statement
trigger for TRUNCATE), so plain SQL from any client — not only the application's ORM, which
has its own guard in `services.audit` — cannot rewrite or delete what happened.

One operation legitimately empties the trail: `demo --reset`, which wipes a whole demo
database. It goes through `lifted(connection)`, which drops the triggers inside the wipe's
transaction and creates them again before it commits; if the wipe fails, the rollback
restores them with everything else (DDL is transactional on both databases).

A future migration that rebuilds `audit_event` on SQLite (Alembic's batch mode copies the
table) drops its triggers with it: it must call `create(connection)` again afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection

TABLE = "audit_event"
MESSAGE = "audit_event is append-only"

_SQLITE_CREATE = (
    f"CREATE TRIGGER IF NOT EXISTS audit_event_no_update BEFORE UPDATE ON {TABLE} "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}: UPDATE refused'); END",
    f"CREATE TRIGGER IF NOT EXISTS audit_event_no_delete BEFORE DELETE ON {TABLE} "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}: DELETE refused'); END",
)
_SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS audit_event_no_update",
    "DROP TRIGGER IF EXISTS audit_event_no_delete",
)
PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = '{MESSAGE}: ' || TG_OP || ' refused',
        ERRCODE = 'insufficient_privilege';
END
$$
"""
_PG_CREATE = (
    f"CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON {TABLE} "
    "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()",
    f"CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON {TABLE} "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()",
)
_PG_DROP = (
    f"DROP TRIGGER IF EXISTS audit_event_no_change ON {TABLE}",
    f"DROP TRIGGER IF EXISTS audit_event_no_truncate ON {TABLE}",
)


def _is_sqlite(connection: Connection) -> bool:
    return connection.dialect.name == "sqlite"


def create(connection: Connection) -> None:
    """Create the triggers (and on PostgreSQL their function)."""
    if _is_sqlite(connection):
        statements: tuple[str, ...] = _SQLITE_CREATE
    else:
        statements = (PG_FUNCTION, *_PG_CREATE)
    for statement in statements:
        connection.exec_driver_sql(statement)


def drop(connection: Connection, function: bool = False) -> None:
    """Drop the triggers (and with `function`, on PostgreSQL, their function too)."""
    statements = _SQLITE_DROP if _is_sqlite(connection) else _PG_DROP
    for statement in statements:
        connection.exec_driver_sql(statement)
    if function and not _is_sqlite(connection):
        connection.exec_driver_sql("DROP FUNCTION IF EXISTS audit_event_append_only()")


@contextmanager
def lifted(connection: Connection) -> Iterator[None]:
    """Audit rows may be deleted inside the block, in `connection`'s transaction only.

    The caller's transaction must roll back if the block fails (`session_scope` does): the
    rollback brings the triggers back.
    """
    if _is_sqlite(connection) and not connection.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
        # pysqlite does not open a transaction before DDL: open one, so that dropping the
        # triggers commits (or rolls back) with the wipe.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    drop(connection)
    yield
    create(connection)
