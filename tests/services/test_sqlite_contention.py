"""SQLite shared by several processes: WAL, short write locks, waiting instead of failing."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from pec_tui.config import load_settings
from pec_tui.db import engine as engine_module
from pec_tui.db.engine import make_engine
from pec_tui.services import lifecycle, transactions
from pec_tui.services.lifecycle import JOB_ACTOR
from pec_tui.services.transactions import write_session, writers_waiting

BENCH = Path(__file__).resolve().parents[2] / "bench" / "sqlite_contention.py"


def test_file_databases_use_wal(sqlite_engine):
    with sqlite_engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        timeout = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
    assert timeout == engine_module.SQLITE_BUSY_TIMEOUT_SECONDS * 1000


def test_in_memory_databases_still_work():
    engine = make_engine("sqlite://")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "memory"
    engine.dispose()


def _hold_write_lock(path: str, seconds: float, holding: threading.Event) -> None:
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    holding.set()
    time.sleep(seconds)
    other.execute("COMMIT")
    other.close()


def test_write_session_waits_past_the_busy_timeout_instead_of_failing(sqlite_url, monkeypatch):
    # SQLite alone would give up after 0.2 s; the lock is held for 1.5 s.
    monkeypatch.setattr(engine_module, "SQLITE_BUSY_TIMEOUT_SECONDS", 0.2)
    engine = make_engine(sqlite_url)
    holding = threading.Event()
    holder = threading.Thread(
        target=_hold_write_lock, args=(sqlite_url.removeprefix("sqlite:///"), 1.5, holding)
    )
    holder.start()
    try:
        holding.wait(5)
        started = time.monotonic()
        with write_session(engine) as session:
            session.execute(text("INSERT INTO counter (name, value) VALUES ('waited', 1)"))
        waited = time.monotonic() - started
    finally:
        holder.join()
    assert 1.0 < waited < 10
    with engine.connect() as connection:
        assert (
            connection.exec_driver_sql("SELECT value FROM counter WHERE name = 'waited'").scalar()
            == 1
        )
    engine.dispose()


def test_write_session_gives_up_after_its_total_wait(sqlite_url, monkeypatch):
    monkeypatch.setattr(engine_module, "SQLITE_BUSY_TIMEOUT_SECONDS", 0.05)
    monkeypatch.setattr(transactions, "WRITE_WAIT_SECONDS", 0.3)
    engine = make_engine(sqlite_url)
    holding = threading.Event()
    holder = threading.Thread(
        target=_hold_write_lock, args=(sqlite_url.removeprefix("sqlite:///"), 1.5, holding)
    )
    holder.start()
    try:
        holding.wait(5)
        with pytest.raises(OperationalError, match="locked"), write_session(engine):
            pass
    finally:
        holder.join()
    engine.dispose()


def test_a_writer_waiting_for_the_lock_is_seen_by_another_process(sqlite_url):
    """`writers_waiting` is false with nobody waiting, true while a `write_session` waits
    for the lock another connection holds, false again once that writer has it."""
    engine = make_engine(sqlite_url)
    job = make_engine(sqlite_url)
    assert writers_waiting(job) is False
    holding = threading.Event()
    holder = threading.Thread(
        target=_hold_write_lock, args=(sqlite_url.removeprefix("sqlite:///"), 1.0, holding)
    )
    holder.start()
    written = threading.Event()

    def write() -> None:
        with write_session(engine) as session:
            session.execute(text("INSERT INTO counter (name, value) VALUES ('after', 1)"))
            assert writers_waiting(job) is False  # it holds the lock: it waits no more
        written.set()

    writer = threading.Thread(target=write)
    try:
        holding.wait(5)
        writer.start()
        deadline = time.monotonic() + 0.8
        seen = False
        while not seen and time.monotonic() < deadline:
            seen = bool(writers_waiting(job))
            time.sleep(0.01)
        assert seen
    finally:
        holder.join()
        writer.join()
    assert written.is_set()
    assert writers_waiting(job) is False
    assert writers_waiting(make_engine("sqlite://")) is None
    engine.dispose()
    job.dispose()


@pytest.mark.parametrize(("waiting", "pauses"), [(False, []), (True, [0.12]), (None, [0.001])])
def test_the_lifecycle_job_pauses_only_for_a_waiting_writer(
    sqlite_engine, monkeypatch, waiting, pauses
):
    monkeypatch.setattr(lifecycle, "writers_waiting", lambda engine: waiting)
    slept: list[float] = []
    monkeypatch.setattr(lifecycle.time, "sleep", slept.append)
    run = lifecycle._Run(sqlite_engine, date(2026, 12, 2), load_settings(), JOB_ACTOR, None, None)
    run.let_others_write(time.monotonic())
    assert slept == pytest.approx(pauses, abs=0.002)


@pytest.mark.stress
def test_lifecycle_job_while_eight_processes_renew_and_list(tmp_path):
    """The lifecycle job over 5,000 mailboxes while 8 processes run `renew` and `orders
    list` one after another: no process fails (bench/sqlite_contention.py, smaller)."""
    url = f"sqlite:///{tmp_path / 'contention.db'}"
    done = subprocess.run(
        [sys.executable, str(BENCH), "--mailboxes", "5000", "--workers", "8", "--min-calls",
         "2", "--url", url, "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    figures = json.loads(done.stdout)
    assert figures["job"]["exit_status"] == 0
    assert figures["job"]["reminders"] > 300 and figures["job"]["renewal_orders"] > 100
    assert figures["renew"]["runs"] >= 8 and figures["orders list"]["runs"] >= 8
    assert figures["renew"]["failures"] == figures["orders list"]["failures"] == 0
