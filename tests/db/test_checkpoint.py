"""`checkpoint_wal`: SQLite's write-ahead log copied into the database on demand."""

from __future__ import annotations

import struct
from pathlib import Path

from sqlalchemy import make_url, text

from pec_tui.services.database import checkpoint_wal, open_database


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
