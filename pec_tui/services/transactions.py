"""Write transactions that lock before they read, on SQLite as on PostgreSQL.

PostgreSQL serialises writers with row locks (`SELECT ... FOR UPDATE`). SQLite ignores
`FOR UPDATE`, and pysqlite starts a transaction only at the first write, so two processes
could both read "unpaid" before either writes. `BEGIN IMMEDIATE` takes SQLite's write lock
first, which makes the read-check-write of a payment or a notice one serialised step.

Several processes on one SQLite file take turns for that lock. SQLite waits for it up to
its busy timeout (`SQLITE_BUSY_TIMEOUT_SECONDS`), polling; should the wait run out, or SQLite
refuse at once (it does in some cases instead of waiting), `write_session` tries again with
growing pauses, up to `WRITE_WAIT_SECONDS` in all, before reporting the database as busy.
Nothing has been done yet at that point, so trying again is always safe.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

# The longest `write_session` waits for SQLite's write lock, all attempts included.
WRITE_WAIT_SECONDS = 180.0
_FIRST_PAUSE = 0.01
_LONGEST_PAUSE = 1.0


def is_busy(exc: OperationalError) -> bool:
    """SQLite's "database is locked" / "database is busy"."""
    text = str(exc.orig if exc.orig is not None else exc).lower()
    return "database is locked" in text or "database is busy" in text


def _begin_immediate(session: Session) -> None:
    deadline = time.monotonic() + WRITE_WAIT_SECONDS
    pause = _FIRST_PAUSE
    while True:
        try:
            session.connection().exec_driver_sql("BEGIN IMMEDIATE")
            return
        except OperationalError as exc:
            if not is_busy(exc) or time.monotonic() + pause > deadline:
                raise
            session.rollback()
        time.sleep(pause * random.uniform(0.5, 1.5))
        pause = min(pause * 2, _LONGEST_PAUSE)


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """A session whose transaction holds the database write lock (SQLite) from its start.

    Committed on success, rolled back on any error. Row locks on PostgreSQL still come
    from `with_for_update` on the rows read.
    """
    with Session(engine, expire_on_commit=False) as session:
        if engine.dialect.name == "sqlite":
            _begin_immediate(session)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
