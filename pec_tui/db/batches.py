"""Working on many rows at once: ids split for `IN (...)` lists, plain rows inserted in bulk,
many rows read as the driver gives them."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Connection,
    Executable,
    Integer,
    Table,
    any_,
    bindparam,
    text,
)
from sqlalchemy import column as sql_column
from sqlalchemy.exc import IntegrityError

# Ids per IN (...) list: within SQLite's limit on bound parameters, and quick to plan.
ID_CHUNK = 5_000


def chunked(ids: Sequence[int], size: int = ID_CHUNK) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def insert_plain_rows(
    connection: Connection, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Insert `rows` (tuples in the order of `columns`) as fast as the database takes them:
    COPY on PostgreSQL, one executemany of the driver on SQLite.

    No SQLAlchemy type processing happens: only for columns of plain integers, strings and
    NULLs (order lines, say), never dates, decimals or booleans."""
    names = ", ".join(f'"{name}"' for name in columns)
    if connection.dialect.name == "postgresql":
        # psycopg's own connection: its cursor copies (the DBAPI has no word for it).
        raw: Any = connection.connection.dbapi_connection
        with (
            raw.cursor() as cursor,
            cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" for _ in columns)
    connection.exec_driver_sql(f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})', list(rows))


def insert_rows(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows` (dicts with the same keys) in one go: COPY on PostgreSQL, where the
    driver's executemany sends and checks each row apart (a third of the lifecycle job's
    time went there); on SQLite one executemany of the driver, each value bound as the
    table's Core INSERT binds it (`_driver_values`).

    Values are what the columns' Python types are (dates, datetimes, booleans): psycopg
    writes them for COPY as it binds them. A column the rows leave out gets the database's
    default (NULL), never the model's Python-side one: give every column that has one. A
    unique or foreign key violation is raised as SQLAlchemy's `IntegrityError`, as the
    INSERT raises it."""
    if not rows:
        return
    columns = list(rows[0])
    if connection.dialect.name != "postgresql":
        values = _driver_values(connection, table, columns, rows)
        insert_plain_rows(connection, table, columns, values)
        return
    names = ", ".join(f'"{name}"' for name in columns)
    raw: Any = connection.connection.dbapi_connection
    statement = f'COPY "{table.name}" ({names}) FROM STDIN'
    try:
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([row[name] for name in columns])
    except raw.IntegrityError as exc:
        raise IntegrityError(statement, None, exc) from exc


def _driver_values(
    connection: Connection, table: Table, columns: Sequence[str], rows: Sequence[dict[str, Any]]
) -> list[tuple[Any, ...]]:
    """`rows` as the driver's tuples, each value through its column type's bind processor
    (on SQLite a date or datetime as SQLAlchemy writes it, a boolean as 0 or 1): what the
    table's Core INSERT binds.

    Column by column, each distinct value processed once: a batch's rows share their
    creation time, a few dozen days and a handful of kinds. SQLAlchemy's executemany runs the
    processors and builds the parameters row by row, which took as long as SQLite's own
    insert of the lifecycle job's 290,000 notices and e-mails."""
    dialect = connection.dialect
    picked = (
        map(itemgetter(*columns), rows)
        if len(columns) > 1
        else ((row[columns[0]],) for row in rows)
    )
    values: list[tuple[Any, ...]] = list(zip(*picked, strict=True))
    for i, name in enumerate(columns):
        process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if process is None:
            continue
        column = values[i]
        kinds = set(map(type, column))
        kinds.discard(type(None))
        try:
            # One kind of value only: 1 and True (or 1.0) are equal keys of a dict.
            done = {value: process(value) for value in set(column)} if len(kinds) == 1 else None
        except TypeError:  # unhashable (a JSON document)
            done = None
        values[i] = tuple(map(done.__getitem__ if done else process, column))
    return list(zip(*values, strict=True))


def driver_rows(connection: Connection, query: Executable) -> list[tuple[Any, ...]]:
    """Every row of `query` as the driver returns it, fetched at once.

    SQLAlchemy fetches a result row by row, builds a `Row` for each and runs its type
    processors: for 30,000 rows of (date, id) on SQLite that took longer than the query
    (each date parsed from its text). Here no type processing happens: a date is ISO text on
    SQLite and a `date` on PostgreSQL (the order is the same), a decimal may be a float."""
    result = connection.execute(query)
    try:
        rows = cast(list[tuple[Any, ...]], result.cursor.fetchall())
    finally:
        result.close()
    return rows


class DriverDates(dict[Any, date]):
    """The `date` of a value as the driver gives it (ISO text on SQLite, a `date` on
    PostgreSQL), made once per distinct value: tens of thousands of rows share a few dozen
    expiry days."""

    def __missing__(self, value: Any) -> date:
        day = self[value] = value if isinstance(value, date) else date.fromisoformat(value)
        return day


# SQLite's page cache while one transaction changes tens of thousands of rows (KiB): with the
# default 2 MB, dirty pages of the table and its indexes spill to the WAL and are written
# again and again.
BULK_CACHE_KIB = 128 * 1024


@contextmanager
def bulk_cache(connection: Connection, kib: int = BULK_CACHE_KIB) -> Iterator[None]:
    """A larger SQLite page cache (`kib`) for a transaction writing many rows (then the usual
    one again); nothing on PostgreSQL. The pages it fills count in the process's memory."""
    if connection.dialect.name != "sqlite":
        yield
        return
    previous = connection.exec_driver_sql("PRAGMA cache_size").scalar_one()
    connection.exec_driver_sql(f"PRAGMA cache_size = -{int(kib)}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size = {int(previous)}")


def in_ids(column: ColumnElement[Any], ids: Sequence[int], dialect: str) -> ColumnElement[bool]:
    """`column IN ids` with the ids as ONE bound parameter (an array on PostgreSQL, a JSON list
    on SQLite): tens of thousands of ids cost neither a statement of as many placeholders to
    compile and parse nor a round trip per chunk."""
    if dialect == "postgresql":
        return column == any_(bindparam("ids", list(ids), type_=ARRAY(Integer)))
    rows = text("SELECT value FROM json_each(:ids)").bindparams(ids=json.dumps(list(ids)))
    return column.in_(rows.columns(sql_column("value", Integer)))
