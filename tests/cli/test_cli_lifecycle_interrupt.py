"""`pec-tui lifecycle run` in a real process: progress on stderr, Ctrl-C stops it gently."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import date, timedelta

from book_builder import add_holder
from sqlmodel import Session, func, select

from pec_tui.db.models import Mailbox, OutboxMessage, SentNotice

# A past day: the job refuses days after the real today.
TODAY = date(2026, 1, 1)
MAILBOXES = 3000


def _command(url: str, *args: str) -> list[str]:
    return [
        sys.executable,
        "-c",
        "from pec_tui.cli import main; main()",
        "--database-url",
        url,
        "lifecycle",
        "run",
        "--today",
        TODAY.isoformat(),
        *args,
    ]


def test_ctrl_c_stops_after_the_batch_and_a_second_run_finishes(sqlite_engine, sqlite_url):
    holder = add_holder(sqlite_engine)
    with Session(sqlite_engine) as session:
        session.add_all(
            Mailbox(
                address=f"box{i}@pec.it",
                holder_id=holder,
                plan="STANDARD",
                expiry=TODAY + timedelta(days=31 + i % 60),
            )
            for i in range(MAILBOXES)
        )
        session.commit()
    env = {**os.environ, "PEC_TUI_SYSTEM": "1"}
    process = subprocess.Popen(
        _command(sqlite_url, "--progress"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    # Wait for the first batch to be written, then press Ctrl-C.
    deadline = time.monotonic() + 60
    while True:
        with Session(sqlite_engine) as session:
            if session.exec(select(func.count()).select_from(SentNotice)).one() > 0:
                break
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, (out, err)
    assert TODAY.isoformat() in err  # the progress bar's label
    with Session(sqlite_engine) as session:
        sent = session.exec(select(func.count()).select_from(SentNotice)).one()
    assert 0 < sent < MAILBOXES

    done = subprocess.run(
        _command(sqlite_url, "--format", "json"), capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["reminders"] == MAILBOXES - sent
    with Session(sqlite_engine) as session:
        assert session.exec(select(func.count()).select_from(SentNotice)).one() == MAILBOXES
        assert session.exec(select(func.count()).select_from(OutboxMessage)).one() == MAILBOXES
