"""Write transactions that lock before they read, on SQLite as on PostgreSQL.

PostgreSQL serialises writers with row locks (`SELECT ... FOR UPDATE`). SQLite ignores
`FOR UPDATE`, and pysqlite starts a transaction only at the first write, so two processes
could both read "unpaid" before either writes. `BEGIN IMMEDIATE` takes SQLite's write lock
first, which makes the read-check-write of a payment or a notice one serialised step.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlmodel import Session


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """A session whose transaction holds the database write lock (SQLite) from its start.

    Committed on success, rolled back on any error. Row locks on PostgreSQL still come
    from `with_for_update` on the rows read.
    """
    with Session(engine, expire_on_commit=False) as session:
        if engine.dialect.name == "sqlite":
            session.connection().exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
