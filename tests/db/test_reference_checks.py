"""The references of order lines and reservations: foreign keys on SQLite, statement triggers
on PostgreSQL (migration 0014, `pec_tui.db.reference_checks`). The same rows are refused on
both; on PostgreSQL with the foreign key's SQLSTATE and name, whichever way they are written."""

from __future__ import annotations

import threading
import time
from datetime import date

import psycopg
import pytest
from book_builder import add_holder, add_mailbox
from sqlalchemy import inspect, text
from sqlalchemy.exc import DatabaseError, IntegrityError
from sqlmodel import Session

from pec_tui.db import reference_checks
from pec_tui.db.batches import insert_plain_rows
from pec_tui.db.engine import make_engine
from pec_tui.db.models import OpenRenewal, Order, OrderLine

LINE_COLUMNS = (
    "order_id",
    "mailbox_id",
    "item",
    "description",
    "quantity",
    "years",
    "unit_cents",
    "total_cents",
    "extra_mailbox_gb",
    "extra_archive_gb",
)
LINE = (
    "INSERT INTO order_line (order_id, mailbox_id, item, description, quantity, years,"
    " unit_cents, total_cents, extra_mailbox_gb, extra_archive_gb)"
    " VALUES (:order, :mailbox, 'rinnovo', 'x', 1, 1, 100, 100, 0, 0)"
)
RESERVATION = (
    "INSERT INTO open_renewal (mailbox_id, order_id, created_at)"
    " VALUES (:mailbox, :order, CURRENT_TIMESTAMP)"
)
MISSING = 999_999
# PostgreSQL only: the `db_url` fixture given its PostgreSQL parameter alone.
ON_POSTGRES = pytest.mark.parametrize(
    "db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


@pytest.fixture
def book(db_url):
    """(engine, order id, two mailbox ids) on an emptied database."""
    engine = make_engine(db_url)
    holder = add_holder(engine)
    boxes = [add_mailbox(engine, holder, f"box{i}@pec.it", date(2027, 1, 1 + i)) for i in range(2)]
    with Session(engine) as session:
        order = Order(type="rinnovo", status="Confermato")
        session.add(order)
        session.commit()
        order_id = order.id
    yield engine, order_id, boxes
    engine.dispose()


def _is_postgres(engine) -> bool:
    return engine.dialect.name == "postgresql"


def _refused(engine, constraint: str):
    """The refusal expected: an IntegrityError; on PostgreSQL SQLSTATE 23503 naming the
    constraint as PostgreSQL's own foreign key did (psycopg's own error from a COPY, which
    goes past SQLAlchemy, as it did with the foreign keys)."""
    match = f'{constraint}"' if _is_postgres(engine) else "FOREIGN KEY"
    return pytest.raises((IntegrityError, psycopg.IntegrityError), match=match)


def _sqlstate(excinfo) -> str | None:
    error = getattr(excinfo.value, "orig", excinfo.value)
    return getattr(error, "sqlstate", None)


def _count(engine, table: str) -> int:
    with engine.connect() as connection:
        return connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def test_the_declared_keys_are_the_ones_the_triggers_replace(book):
    engine, _order, _boxes = book
    declared = {
        (table.name, fk.parent.name, fk.column.table.name)
        for table in (OrderLine.__table__, OpenRenewal.__table__)
        for fk in table.foreign_keys
    }
    assert declared == {(k.table, k.column, k.parent) for k in reference_checks.KEYS}
    found = {
        (table, fk["constrained_columns"][0], fk["referred_table"])
        for table in reference_checks.CHILDREN
        for fk in inspect(engine).get_foreign_keys(table)
    }
    # SQLite keeps the foreign keys; on PostgreSQL triggers stand in for them.
    assert found == (set() if _is_postgres(engine) else declared)


@pytest.mark.parametrize(
    ("statement", "order_ok", "constraint"),
    [
        (LINE, True, "order_line_mailbox_id_fkey"),
        (LINE, False, "order_line_order_id_fkey"),
        (RESERVATION, True, "open_renewal_mailbox_id_fkey"),
        (RESERVATION, False, "open_renewal_order_id_fkey"),
    ],
)
def test_a_row_naming_a_missing_parent_is_refused(book, statement, order_ok, constraint):
    engine, order, boxes = book
    params = (
        {"order": order, "mailbox": MISSING}
        if order_ok
        else {"order": MISSING, "mailbox": boxes[0]}
    )
    with _refused(engine, constraint) as excinfo, engine.begin() as connection:
        connection.execute(text(statement), {"order": order, "mailbox": boxes[1]})
        connection.execute(text(statement), params)
    if _is_postgres(engine):
        assert _sqlstate(excinfo) == "23503"
        missing = MISSING
        column = "mailbox_id" if order_ok else "order_id"
        parent = "mailbox" if order_ok else "orders"
        assert f'Key ({column})=({missing}) is not present in table "{parent}".' in str(
            excinfo.value
        )
    with engine.begin() as connection:  # the same rows with their parents are taken
        connection.execute(text(statement), {"order": order, "mailbox": boxes[0]})
        if statement == LINE:
            connection.execute(text(statement), {"order": order, "mailbox": None})


def test_an_update_to_a_missing_mailbox_is_refused(book):
    engine, order, boxes = book
    with engine.begin() as connection:
        connection.execute(text(LINE), {"order": order, "mailbox": None})
        connection.execute(text(RESERVATION), {"order": order, "mailbox": boxes[0]})
    with _refused(engine, "order_line_mailbox_id_fkey"), engine.begin() as connection:
        connection.execute(text("UPDATE order_line SET mailbox_id = :m"), {"m": MISSING})
    with _refused(engine, "open_renewal_order_id_fkey"), engine.begin() as connection:
        connection.execute(text("UPDATE open_renewal SET order_id = :o"), {"o": MISSING})
    with engine.begin() as connection:  # as the payment of a new mailbox does
        connection.execute(text("UPDATE order_line SET mailbox_id = :m"), {"m": boxes[1]})


def test_lines_copied_in_bulk_are_checked(book):
    """`insert_plain_rows` (COPY on PostgreSQL) of many lines, one of them dangling."""
    engine, order, boxes = book
    rows = [(order, boxes[i % 2], "rinnovo", "x", 1, 1, 100, 100, 0, 0) for i in range(2_000)]
    table = OrderLine.__table__
    with _refused(engine, "order_line_mailbox_id_fkey") as excinfo, engine.begin() as connection:
        insert_plain_rows(
            connection, table, LINE_COLUMNS, [*rows, (order, MISSING, "r", "x", 1, 1, 1, 1, 0, 0)]
        )
    if _is_postgres(engine):
        assert _sqlstate(excinfo) == "23503"
    with _refused(engine, "order_line_order_id_fkey"), engine.begin() as connection:
        insert_plain_rows(
            connection, table, LINE_COLUMNS, [(MISSING, boxes[0], "r", "x", 1, 1, 1, 1, 0, 0)]
        )
    assert _count(engine, "order_line") == 0
    with engine.begin() as connection:
        insert_plain_rows(connection, table, LINE_COLUMNS, rows)
    assert _count(engine, "order_line") == 2_000


def test_a_referenced_mailbox_or_order_cannot_go(book):
    engine, order, boxes = book
    with engine.begin() as connection:
        connection.execute(text(LINE), {"order": order, "mailbox": boxes[0]})
        connection.execute(text(RESERVATION), {"order": order, "mailbox": boxes[1]})
    with _refused(engine, "order_line_mailbox_id_fkey"), engine.begin() as connection:
        connection.execute(text("DELETE FROM mailbox WHERE id = :m"), {"m": boxes[0]})
    with _refused(engine, "_mailbox_id_fkey"), engine.begin() as connection:
        connection.execute(text("DELETE FROM mailbox"))
    with _refused(engine, "order_line_mailbox_id_fkey"), engine.begin() as connection:
        connection.execute(
            text("UPDATE mailbox SET id = :n WHERE id = :m"), {"n": MISSING, "m": boxes[0]}
        )
    with _refused(engine, "_order_id_fkey"), engine.begin() as connection:
        connection.execute(text("DELETE FROM orders"))
    with _refused(engine, "_order_id_fkey"), engine.begin() as connection:
        connection.execute(text("UPDATE orders SET id = :n"), {"n": MISSING})
    assert _count(engine, "mailbox") == 2
    with engine.begin() as connection:  # children first, as the demo wipe does
        connection.execute(text("DELETE FROM open_renewal"))
        connection.execute(text("DELETE FROM mailbox WHERE id = :m"), {"m": boxes[1]})
        connection.execute(text("DELETE FROM order_line"))
        connection.execute(text("UPDATE orders SET id = :n"), {"n": MISSING})  # nothing names it
        connection.execute(text("DELETE FROM mailbox"))
        connection.execute(text("DELETE FROM orders"))
    assert _count(engine, "mailbox") == 0


@ON_POSTGRES
def test_postgres_truncate_of_a_referenced_table_alone_is_refused(book):
    engine, order, boxes = book
    with engine.begin() as connection:
        connection.execute(text(LINE), {"order": order, "mailbox": boxes[0]})
    for table in ("mailbox", "orders"):
        with pytest.raises(IntegrityError, match="cannot truncate"), engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {table} CASCADE"))
    with engine.begin() as connection:  # together with the lines that name them
        connection.execute(text("TRUNCATE order_line, open_renewal, mailbox, orders CASCADE"))
    assert _count(engine, "mailbox") == 0


@ON_POSTGRES
def test_postgres_deletes_of_a_parent_need_read_committed(book):
    """Under a transaction snapshot the check could miss lines committed meanwhile."""
    engine, _order, boxes = book
    for isolation in ("REPEATABLE READ", "SERIALIZABLE"):
        with (
            pytest.raises(DatabaseError, match="READ COMMITTED transactions only"),
            engine.connect().execution_options(isolation_level=isolation) as connection,
        ):
            connection.execute(text("DELETE FROM mailbox WHERE id = :m"), {"m": boxes[0]})
    assert _count(engine, "mailbox") == 2


@ON_POSTGRES
def test_postgres_a_mailbox_deleted_while_a_line_is_written_is_refused(book):
    """The line's transaction holds `order_line`; the deletion waits for it to commit, then
    sees its line and is refused (as the foreign key's row lock made it wait)."""
    engine, order, boxes = book
    outcome: list[BaseException | None] = []

    def delete() -> None:
        try:
            with engine.begin() as connection:
                connection.execute(text("DELETE FROM mailbox WHERE id = :m"), {"m": boxes[0]})
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    with engine.begin() as writer:
        writer.execute(text(LINE), {"order": order, "mailbox": boxes[0]})
        deleter = threading.Thread(target=delete)
        deleter.start()
        time.sleep(0.5)
        assert outcome == []  # still waiting for the line's transaction
    deleter.join(10)
    assert len(outcome) == 1
    assert isinstance(outcome[0], IntegrityError)
    assert "order_line_mailbox_id_fkey" in str(outcome[0])
    assert _count(engine, "mailbox") == 2
