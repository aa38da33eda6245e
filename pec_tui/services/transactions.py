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

SQLite keeps no queue of the processes waiting for its lock, so a long job that took the
lock back at once after each transaction would starve them. Each `write_session` waiting
for the lock says so by holding a shared `flock` on a file beside the database (its name +
`WAITERS_SUFFIX`); a long job asks `writers_waiting` after each transaction and pauses only
when someone waits (`services.lifecycle`). Where that file cannot be used (no `flock`, a
read-only folder, a database in memory) the answer is "unknown".

A transaction that writes tens of thousands of rows (a whole book's payment) leaves SQLite's
write-ahead log thousands of pages long. SQLite copies the log into the database in the
commit that takes it past 1,000 pages (its automatic checkpoint), and the person waits for
that copy and its fsync although the work is already safe in the log. `defer_checkpoint`
makes such a transaction's commit leave the copy to a thread started right after it
(`checkpoint_in_background`).
"""

from __future__ import annotations

import logging
import os
import random
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

try:
    import fcntl
except ImportError:  # not on Windows: long jobs fall back to pausing by the clock
    fcntl = None  # type: ignore[assignment]

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

# The longest `write_session` waits for SQLite's write lock, all attempts included.
WRITE_WAIT_SECONDS = 180.0
_FIRST_PAUSE = 0.01
_LONGEST_PAUSE = 1.0
# Where `defer_checkpoint` leaves the connection's own setting, for the end of the session.
_AUTOCHECKPOINT = "pec_tui.wal_autocheckpoint"
# A transaction changing this many rows writes thousands of pages: worth `defer_checkpoint`.
MANY_ROWS = 5_000

log = logging.getLogger(__name__)
# The background checkpoint of each engine (by id) while it runs.
_checkpoints: dict[int, threading.Thread] = {}
_checkpoints_lock = threading.Lock()


def is_busy(exc: OperationalError) -> bool:
    """SQLite's "database is locked" / "database is busy"."""
    text = str(exc.orig if exc.orig is not None else exc).lower()
    return "database is locked" in text or "database is busy" in text


# The file beside a SQLite database on which writers waiting for its lock hold a shared flock.
WAITERS_SUFFIX = "-writers"


def _waiters_file(engine: Engine) -> str | None:
    """The waiting writers' file of a SQLite database in a file; None otherwise."""
    database = engine.url.database
    if (
        fcntl is None
        or engine.dialect.name != "sqlite"
        or not database
        or database == ":memory:"
        or database.startswith("file:")
    ):
        return None
    return database + WAITERS_SUFFIX


@contextmanager
def _waiting_for_the_lock(engine: Engine) -> Iterator[None]:
    """A shared flock on the waiting writers' file while this writer waits for SQLite's lock
    (none where the file cannot be opened: the wait itself is unchanged)."""
    path = _waiters_file(engine)
    descriptor = None
    if path is not None:
        try:
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
            fcntl.flock(descriptor, fcntl.LOCK_SH)
        except OSError:
            if descriptor is not None:
                os.close(descriptor)
            descriptor = None
    try:
        yield
    finally:
        if descriptor is not None:
            os.close(descriptor)  # and the flock with it


def writers_waiting(engine: Engine) -> bool | None:
    """Whether a `write_session` of any process is waiting for this SQLite database's write
    lock now; None when that cannot be known (not SQLite in a file, no `flock`)."""
    path = _waiters_file(engine)
    if path is None:
        return None
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError:
        return None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return None
    finally:
        os.close(descriptor)
    return False


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
            with _waiting_for_the_lock(engine):
                _begin_immediate(session)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            deferred = session.info.pop(_AUTOCHECKPOINT, None)
            if deferred is not None:
                _restore_autocheckpoint(*deferred)
        if deferred is not None:
            checkpoint_in_background(engine)


def _restore_autocheckpoint(dbapi_connection: Any, pages: int) -> None:
    """The connection's own automatic checkpoint again, before the pool hands it out."""
    try:
        dbapi_connection.execute(f"PRAGMA wal_autocheckpoint = {int(pages)}")
    except sqlite3.Error:  # a broken connection: the pool discards it anyway
        log.warning("could not restore SQLite's automatic checkpoint", exc_info=True)


def defer_checkpoint(session: Session, rows: int) -> None:
    """From `MANY_ROWS` rows changed by this `write_session` on, its commit does not copy
    SQLite's log into the database: a thread does it right after the commit
    (`checkpoint_in_background`). Nothing on PostgreSQL, nor for fewer rows."""
    connection = session.connection()
    if rows < MANY_ROWS or connection.dialect.name != "sqlite" or _AUTOCHECKPOINT in session.info:
        return
    pages = connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one()
    connection.exec_driver_sql("PRAGMA wal_autocheckpoint = 0")
    # Put back on the driver's connection itself, whatever state the session ends in.
    session.info[_AUTOCHECKPOINT] = (connection.connection.dbapi_connection, int(pages))


def commit_without_flush(session: Session) -> None:
    """PostgreSQL: the commit of this transaction returns without waiting for its log to
    reach the disk (`synchronous_commit = off` for this transaction alone); nothing on
    SQLite, whose `synchronous = NORMAL` in WAL mode already commits so.

    The commit is as atomic and as visible to everyone as any other; what a crash of the
    server or of the machine can lose is the last few such commits (PostgreSQL's WAL writer
    flushes within three times `wal_writer_delay`, 0.6 s by default): wholly, never a part
    of one. Only for work that a run does again as it was (the lifecycle job's notices,
    recorded in the same transaction as their e-mails), never for money or invoices."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL synchronous_commit = off")


def checkpoint_wal(engine: Engine) -> None:
    """Copy what SQLite's write-ahead log holds into the database now, without waiting for
    anyone (PASSIVE: pages a reader still needs stay for later); nothing on PostgreSQL.

    SQLite does it by itself in the commit that takes the log past 1,000 pages: the renewal
    flow calls this after saving a large draft, while the person reads the next step, so
    that the copy (and its fsync) of the drafts' pages is not added to Conferma's commit."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")


def _checkpoint_quietly(engine: Engine) -> None:
    try:
        checkpoint_wal(engine)
    except Exception:  # only a head start: SQLite checkpoints by itself anyway
        log.exception("checkpointing the database's log")


def checkpoint_in_background(engine: Engine) -> threading.Thread | None:
    """`checkpoint_wal` in a thread of its own, started now, or the one still copying for
    this engine (one at a time is all SQLite runs; the next large commit starts another);
    None on PostgreSQL. Not a daemon: a process that ends meanwhile waits for the copy
    rather than cut it short."""
    if engine.dialect.name != "sqlite":
        return None
    with _checkpoints_lock:
        running = _checkpoints.get(id(engine))
        if running is not None and running.is_alive():
            return running
        thread = threading.Thread(
            target=_checkpoint_quietly, args=(engine,), name="pec-tui checkpoint"
        )
        _checkpoints[id(engine)] = thread
        thread.start()
    return thread
