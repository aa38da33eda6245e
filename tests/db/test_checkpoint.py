"""SQLite's write-ahead log copied into the database on demand (`checkpoint_wal`), and after
the commit of a large write rather than in it (`defer_checkpoint`)."""

from __future__ import annotations

import struct
import threading
from pathlib import Path

import pytest
from sqlalchemy import make_url, text

from pec_tui.services import transactions
from pec_tui.services.database import open_database
from pec_tui.services.transactions import (
    MANY_ROWS,
    checkpoint_in_background,
    checkpoint_wal,
    defer_checkpoint,
    write_session,
)


def _log_frames(database: Path) -> tuple[int, int]:
    """(frames in the log, frames already copied into the database), from the shared-memory
    index SQLite keeps beside the log (its header: mxFrame at 16, nBackfill at 96)."""
    index = Path(f"{database}-shm").read_bytes()
    return struct.unpack_from("=I", index, 16)[0], struct.unpack_from("=I", index, 96)[0]


def test_checkpoint_copies_the_log_into_the_database(sqlite_url):
    engine = open_database(sqlite_url)
    database = Path(make_url(sqlite_url).database or "")
    with engine.connect() as connection:
        connection.execute(text("PRAGMA wal_autocheckpoint=0"))
        connection.execute(text("CREATE TABLE scratch (n INTEGER)"))
        connection.execute(text("INSERT INTO scratch VALUES (1), (2), (3)"))
        connection.commit()
        frames, copied = _log_frames(database)
        assert frames > copied
        checkpoint_wal(engine)
        assert _log_frames(database) == (frames, frames)
    engine.dispose()


def _write_pages(session, rows: int) -> None:
    session.connection().exec_driver_sql("CREATE TABLE IF NOT EXISTS scratch (n INTEGER, pad TEXT)")
    session.connection().exec_driver_sql(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
        "INSERT INTO scratch SELECT i, printf('%.2000c', 'x') FROM n",
        (rows,),
    )


@pytest.mark.parametrize("rows", [MANY_ROWS - 1, MANY_ROWS])
def test_a_large_write_leaves_the_log_to_a_checkpoint_after_its_commit(
    sqlite_url, monkeypatch, rows
):
    """A transaction of `MANY_ROWS` rows does not checkpoint at its commit (the log, far past
    SQLite's 1,000 pages, is left whole) but hands the engine to `checkpoint_in_background`,
    and the connection's own automatic checkpoint is back afterwards; a smaller one is
    checkpointed by SQLite at its commit, as ever."""
    engine = open_database(sqlite_url)
    database = Path(make_url(sqlite_url).database or "")
    handed: list[object] = []
    monkeypatch.setattr(transactions, "checkpoint_in_background", handed.append)
    with write_session(engine) as session:
        defer_checkpoint(session, rows)
        _write_pages(session, 3_000)  # about 1,500 pages of 4 KiB
    frames, copied = _log_frames(database)
    assert frames > 1_000
    if rows >= MANY_ROWS:
        assert copied == 0
        assert handed == [engine]
    else:
        assert copied == frames
        assert handed == []
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one() == 1000
    checkpoint_wal(engine)
    assert _log_frames(database) == (frames, frames)
    engine.dispose()


def test_a_refused_large_write_restores_the_automatic_checkpoint(sqlite_url, monkeypatch):
    engine = open_database(sqlite_url)
    handed: list[object] = []
    monkeypatch.setattr(transactions, "checkpoint_in_background", handed.append)
    with pytest.raises(RuntimeError), write_session(engine) as session:
        defer_checkpoint(session, MANY_ROWS)
        raise RuntimeError("refused")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one() == 1000
    engine.dispose()


def test_the_background_checkpoint_copies_the_log(sqlite_url, monkeypatch):
    engine = open_database(sqlite_url)
    database = Path(make_url(sqlite_url).database or "")
    started: list[threading.Thread | None] = []
    monkeypatch.setattr(
        transactions,
        "checkpoint_in_background",
        lambda engine: started.append(checkpoint_in_background(engine)),
    )
    with write_session(engine) as session:
        defer_checkpoint(session, MANY_ROWS)
        _write_pages(session, 3_000)
    [thread] = started
    assert thread is not None
    thread.join(30)
    frames, copied = _log_frames(database)
    assert frames > 1_000 and copied == frames
    engine.dispose()


def test_one_background_checkpoint_at_a_time(sqlite_url, monkeypatch):
    """While an engine's background checkpoint copies, asking for another gives that one;
    once it is done, the next request starts a new one."""
    engine = open_database(sqlite_url)
    release = threading.Event()
    copies: list[object] = []

    def slow_copy(engine):
        copies.append(engine)
        release.wait(10)

    monkeypatch.setattr(transactions, "_checkpoint_quietly", slow_copy)
    first = checkpoint_in_background(engine)
    assert first is not None and checkpoint_in_background(engine) is first
    release.set()
    first.join(10)
    second = checkpoint_in_background(engine)
    assert second is not None and second is not first
    second.join(10)
    assert copies == [engine, engine]
    engine.dispose()
