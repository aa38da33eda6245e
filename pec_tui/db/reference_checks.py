"""On PostgreSQL the references of order lines and reservations are checked per statement.

Confirming a reseller's renewal writes tens of thousands of `order_line` rows (COPY) and as
many `open_renewal` reservations. With foreign keys, PostgreSQL checks each new row by
itself (`SELECT 1 FROM mailbox WHERE id = $1 FOR KEY SHARE`, once per row and per key): for
~67,000 lines and ~54,000 reservations that was most of the confirmation's time, and each
KEY SHARE lock writes the mailbox row it locks. Migration 0014 replaces these four foreign
keys (`KEYS`) by statement triggers with transition tables: the rows a statement wrote are
checked at once, one anti-join per key, and a dangling reference is refused as the foreign
key refused it (SQLSTATE 23503 `foreign_key_violation`, the constraint's name, PostgreSQL's
message and detail).

What enforces what (PostgreSQL only; SQLite keeps its foreign keys, and the models declare
them, so `alembic check` leaves exactly these four out on PostgreSQL):

- INSERT (COPY included) or UPDATE of `order_line` / `open_renewal`: every non-null
  `order_id` and `mailbox_id` of the new rows must exist. The orders they name (one per
  statement in practice) are locked FOR KEY SHARE, as the foreign key locked them; the
  mailboxes are not (that lock is what cost), except outside READ COMMITTED, where the lock
  is what turns a concurrent deletion into a serialization failure.
- DELETE from, or a change of the `id` of, `mailbox` or `orders`: refused while an
  `order_line` or `open_renewal` row still names a removed id. For `mailbox`, which
  inserters do not lock, the check first takes `order_line` and `open_renewal` in SHARE mode:
  it waits for the transactions writing lines or reservations and keeps new ones out until
  it ends, then looks with a fresh snapshot; so such a deletion must run in READ COMMITTED
  (under a transaction snapshot it could miss lines committed meanwhile) and is refused
  otherwise. For `orders`, the inserters' row lock does the same as the foreign key's.
  The product deletes orders (a discarded draft) but never mailboxes.
- TRUNCATE of `mailbox` or `orders`: refused if, once the statement's tables are emptied,
  a line or reservation still exists (TRUNCATE of both sides together passes).
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import Connection


class Key(NamedTuple):
    """A reference checked by triggers on PostgreSQL, named as its foreign key was."""

    table: str
    column: str
    parent: str
    parent_column: str

    @property
    def name(self) -> str:
        return f"{self.table}_{self.column}_fkey"


KEYS = (
    Key("order_line", "order_id", "orders", "id"),
    Key("order_line", "mailbox_id", "mailbox", "id"),
    Key("open_renewal", "order_id", "orders", "id"),
    Key("open_renewal", "mailbox_id", "mailbox", "id"),
)
CHILDREN = ("order_line", "open_renewal")
PARENTS = ("orders", "mailbox")
# Parents whose rows the inserting statement does not lock (see the module's text).
_UNLOCKED_PARENTS = ("mailbox",)


def checked_by_triggers(table: str, columns: list[str], parent: str) -> bool:
    """Whether the foreign key of `table`(`columns`) → `parent` is one of `KEYS`."""
    return any((key.table, [key.column], key.parent) == (table, columns, parent) for key in KEYS)


_READ_COMMITTED = "current_setting('transaction_isolation') = 'read committed'"


def _violation(table: str, key: Key) -> str:
    return (
        f"        RAISE EXCEPTION USING\n"
        f"            ERRCODE = 'foreign_key_violation',\n"
        f"            MESSAGE = 'insert or update on table \"{table}\" violates foreign key'\n"
        f"                || ' constraint \"{key.name}\"',\n"
        f"            DETAIL = 'Key ({key.column})=(' || missing || ') is not present in'\n"
        f"                || ' table \"{key.parent}\".',\n"
        f"            SCHEMA = TG_TABLE_SCHEMA, TABLE = '{table}', COLUMN = '{key.column}',\n"
        f"            CONSTRAINT = '{key.name}';\n"
    )


def _child_function(table: str) -> str:
    checks = []
    for key in (k for k in KEYS if k.table == table):
        parent, column = f"{key.parent} p", f"p.{key.parent_column}"
        if key.parent in _UNLOCKED_PARENTS:
            # Tens of thousands of distinct parents: one anti-join of the new rows.
            checks.append(
                f"    IF NOT {_READ_COMMITTED} THEN\n"
                f"        PERFORM 1 FROM {parent}\n"
                f"         WHERE {column} IN (SELECT n.{key.column} FROM new_rows n)\n"
                f"           FOR KEY SHARE OF p;\n"
                f"    END IF;\n"
                f"    SELECT n.{key.column} INTO missing FROM new_rows n\n"
                f"     WHERE n.{key.column} IS NOT NULL\n"
                f"       AND NOT EXISTS (SELECT 1 FROM {parent} WHERE {column} = n.{key.column})\n"
                f"     LIMIT 1;\n"
                f"    IF FOUND THEN\n{_violation(table, key)}    END IF;\n"
            )
        else:
            # A few distinct parents (one order per statement): looked up once each.
            checks.append(
                f"    SELECT array_agg(DISTINCT n.{key.column}) INTO parents FROM new_rows n\n"
                f"     WHERE n.{key.column} IS NOT NULL;\n"
                f"    PERFORM 1 FROM {parent} WHERE {column} = ANY (parents) FOR KEY SHARE OF p;\n"
                f"    SELECT x INTO missing FROM unnest(parents) x\n"
                f"     WHERE NOT EXISTS (SELECT 1 FROM {parent} WHERE {column} = x)\n"
                f"     LIMIT 1;\n"
                f"    IF FOUND THEN\n{_violation(table, key)}    END IF;\n"
            )
    return (
        f"CREATE OR REPLACE FUNCTION {table}_references_check() RETURNS trigger\n"
        f"LANGUAGE plpgsql AS $$\n"
        f"DECLARE\n"
        f"    missing bigint;\n"
        f"    parents bigint[];\n"
        f"BEGIN\n" + "".join(checks) + "    RETURN NULL;\nEND\n$$"
    )


def _parent_function(parent: str) -> str:
    """One function for the statement triggers (DELETE, `old_rows`; TRUNCATE) and the row
    trigger (a change of the key, `OLD`) of `parent`."""
    keys = [k for k in KEYS if k.parent == parent]
    column = keys[0].parent_column
    prologue = (
        f"    IF TG_OP <> 'TRUNCATE' AND NOT {_READ_COMMITTED} THEN\n"
        f"        RAISE EXCEPTION USING\n"
        f"            ERRCODE = 'feature_not_supported',\n"
        f"            MESSAGE = 'rows of \"{parent}\" are deleted or renumbered in READ COMMITTED'\n"
        f"                || ' transactions only',\n"
        f"            HINT = 'Its references are checked per statement: see'\n"
        f"                || ' pec_tui/db/reference_checks.py.';\n"
        f"    END IF;\n"
    )
    if parent in _UNLOCKED_PARENTS:
        children = ", ".join(dict.fromkeys(k.table for k in keys))
        prologue += f"    IF TG_OP <> 'TRUNCATE' THEN\n        LOCK TABLE {children} IN SHARE MODE;\n    END IF;\n"
    checks = []
    for key in keys:
        violation = (
            f"            RAISE EXCEPTION USING\n"
            f"                ERRCODE = 'foreign_key_violation',\n"
            f"                MESSAGE = 'update or delete on table \"{parent}\" violates foreign'\n"
            f'                    || \' key constraint "{key.name}" on table "{key.table}"\',\n'
            f"                DETAIL = 'Key ({column})=(' || gone || ') is still referenced'\n"
            f"                    || ' from table \"{key.table}\".',\n"
            f"                SCHEMA = TG_TABLE_SCHEMA, TABLE = '{key.table}',\n"
            f"                CONSTRAINT = '{key.name}';\n"
        )
        checks.append(
            f"    IF TG_OP = 'TRUNCATE' THEN\n"
            f"        IF EXISTS (SELECT 1 FROM {key.table} c WHERE c.{key.column} IS NOT NULL) THEN\n"
            f"            RAISE EXCEPTION USING\n"
            f"                ERRCODE = 'foreign_key_violation',\n"
            f"                MESSAGE = 'cannot truncate a table referenced in a foreign key'\n"
            f"                    || ' constraint',\n"
            f'                DETAIL = \'Table "{key.table}" references "{parent}".\',\n'
            f"                HINT = 'Truncate table \"{key.table}\" at the same time.',\n"
            f"                CONSTRAINT = '{key.name}';\n"
            f"        END IF;\n"
            f"    ELSIF TG_LEVEL = 'ROW' THEN\n"
            f"        gone := OLD.{column};\n"
            f"        IF EXISTS (SELECT 1 FROM {key.table} c WHERE c.{key.column} = gone)\n"
            f"           AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.{column} = gone) THEN\n"
            f"{violation}"
            f"        END IF;\n"
            f"    ELSE\n"
            f"        SELECT o.{column} INTO gone FROM old_rows o\n"
            f"         WHERE EXISTS (SELECT 1 FROM {key.table} c WHERE c.{key.column} = o.{column})\n"
            f"         LIMIT 1;\n"
            f"        IF FOUND THEN\n"
            f"{violation}"
            f"        END IF;\n"
            f"    END IF;\n"
        )
    return (
        f"CREATE OR REPLACE FUNCTION {parent}_references_kept() RETURNS trigger\n"
        f"LANGUAGE plpgsql AS $$\n"
        f"DECLARE\n"
        f"    gone bigint;\n"
        f"BEGIN\n" + prologue + "".join(checks) + "    RETURN NULL;\nEND\n$$"
    )


def _triggers() -> list[tuple[str, str, str]]:
    """(trigger name, table, CREATE TRIGGER statement) of every trigger."""
    triggers = []
    for table in CHILDREN:
        for event in ("INSERT", "UPDATE"):
            name = f"{table}_references_{event.lower()}"
            triggers.append(
                (
                    name,
                    table,
                    f"CREATE TRIGGER {name} AFTER {event} ON {table}"
                    " REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT"
                    f" EXECUTE FUNCTION {table}_references_check()",
                )
            )
    for parent in PARENTS:
        function = f"{parent}_references_kept()"
        for name, statement in (
            (
                f"{parent}_references_delete",
                f"AFTER DELETE ON {parent} REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT",
            ),
            (
                f"{parent}_references_renumber",
                f"AFTER UPDATE OF id ON {parent} FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id)",
            ),
            (f"{parent}_references_truncate", f"AFTER TRUNCATE ON {parent} FOR EACH STATEMENT"),
        ):
            triggers.append(
                (name, parent, f"CREATE TRIGGER {name} {statement} EXECUTE FUNCTION {function}")
            )
    return triggers


def create(connection: Connection) -> None:
    """Create the functions and triggers (PostgreSQL)."""
    for table in CHILDREN:
        connection.exec_driver_sql(_child_function(table))
    for parent in PARENTS:
        connection.exec_driver_sql(_parent_function(parent))
    for _name, _table, statement in _triggers():
        connection.exec_driver_sql(statement)


def drop(connection: Connection) -> None:
    """Drop the triggers and their functions (PostgreSQL)."""
    for name, table, _statement in _triggers():
        connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name} ON {table}")
    for table in CHILDREN:
        connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {table}_references_check()")
    for parent in PARENTS:
        connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {parent}_references_kept()")
