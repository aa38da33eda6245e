"""Time the daily lifecycle job on a large book (SQLite by default).

    python bench/lifecycle_job.py --mailboxes 1000000 [--url sqlite:///...|postgresql://...]
    python bench/lifecycle_job.py --existing URL --today 2026-12-02

Builds the book with plain executemany (expiries spread over two years, 30% with automatic
renewal), then runs the job for one day, again for the same day (nothing to do), and for
the next day, printing the time of each run, its counts and the query plan of the page
query. With --existing it builds nothing and runs on a book already there (a copy of a demo
book: the job writes to it): the first day, the same day again, the next day. Every figure
is printed beside the same run's baseline: a bare `import pec_tui` and `pec-tui --help` in
processes of their own, and the load average. Not part of the test run.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert, select, tuple_

from pec_tui.db.engine import make_engine, upgrade
from pec_tui.db.models import Holder, Mailbox, Reseller
from pec_tui.services.database import ensure_reference_data
from pec_tui.services.lifecycle import BATCH_SIZE, _windows, run_lifecycle

TODAY = date(2027, 1, 1)


def build(engine, mailboxes: int, seed: int = 7) -> None:
    """The book, with Core multi-row INSERTs (SQLite and PostgreSQL alike)."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    holders = max(1, mailboxes // 3)
    with engine.begin() as connection:
        connection.execute(
            insert(Reseller.__table__),
            [
                {
                    "id": 1,
                    "name": "Bench Srl",
                    "credit_cents": 100_000_000,
                    "created_at": now,
                    "version": 1,
                }
            ],
        )
        for start in range(1, holders + 1, 50_000):
            connection.execute(
                insert(Holder.__table__),
                [
                    {
                        "id": i,
                        "reseller_id": 1,
                        "kind": "privato",
                        "display_name": f"Titolare {i}",
                        "country": "IT",
                        "reference_email": f"t{i}@example.it",
                        "split_payment": False,
                        "created_at": now,
                        "updated_at": now,
                        "version": 1,
                    }
                    for i in range(start, min(start + 50_000, holders + 1))
                ],
            )
        rows = []
        for i in range(1, mailboxes + 1):
            auto = rng.random() < 0.3
            rows.append(
                {
                    "id": i,
                    "address": f"box{i}@pec.example.it",
                    "holder_id": rng.randint(1, holders),
                    "reseller_id": 1,
                    "plan": rng.choice(("STANDARD", "PRO", "PREMIUM")),
                    "expiry": TODAY + timedelta(days=rng.randint(-400, 330)),
                    "auto_renew": auto,
                    "renewal_years": 1,
                    "payment_method": "credito" if auto else None,
                    "mailbox_used_mb": 0,
                    "archive_used_mb": 0,
                    "extra_mailbox_gb": 0,
                    "extra_archive_gb": 0,
                    "promo": False,
                    "created_at": now,
                    "version": 1,
                }
            )
            if len(rows) == 50_000:
                connection.execute(insert(Mailbox.__table__), rows)
                rows = []
        if rows:
            connection.execute(insert(Mailbox.__table__), rows)
        if engine.dialect.name == "postgresql":
            for table in ("reseller", "holder", "mailbox"):
                connection.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
        connection.exec_driver_sql("ANALYZE")


def _process_seconds(command: list[str]) -> float:
    """Wall time of a process of its own, the best of three."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        best = min(best, time.perf_counter() - started)
    return best


def baseline() -> str:
    bare = _process_seconds([sys.executable, "-c", "import pec_tui"])
    cli = shutil.which("pec-tui")
    help_time = f", `pec-tui --help` {_process_seconds([cli, '--help']):.2f} s" if cli else ""
    load = os.getloadavg()
    return (
        f"baseline: bare `import pec_tui` {bare:.2f} s{help_time}; "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )


def _run(engine, label: str, day: date) -> None:
    started, cpu = time.perf_counter(), time.process_time()
    report = run_lifecycle(engine, day)
    print(
        f"{label:15} {day} {time.perf_counter() - started:7.2f} s "
        f"(CPU {time.process_time() - cpu:.2f} s)  acted on {report.examined:,}: "
        f"reminders {report.reminders:,}  suspended {report.suspended_notices:,}  "
        f"cancelled {report.cancelled_notices:,}  auto-renewal orders "
        f"{report.renewal_orders:,} (paid {report.paid_with_credit:,})  "
        f"load {os.getloadavg()[0]:.2f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mailboxes", type=int, default=200_000)
    parser.add_argument("--url", help="database URL (default: a new SQLite file)")
    parser.add_argument("--existing", metavar="URL", help="run on this book; build nothing")
    parser.add_argument("--today", type=date.fromisoformat, help="first day (with --existing)")
    args = parser.parse_args()
    print(baseline(), flush=True)
    if args.existing:
        engine = make_engine(args.existing)
        first = args.today or date.today()
        _run(engine, "first day", first)
        _run(engine, "same day again", first)
        _run(engine, "next day", first + timedelta(days=1))
        return
    url = args.url or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    engine = make_engine(url)
    upgrade(engine)
    ensure_reference_data(engine)
    started = time.perf_counter()
    build(engine, args.mailboxes)
    print(f"book of {args.mailboxes:,} mailboxes built in {time.perf_counter() - started:.1f} s")
    window = _windows(TODAY)["reminder_90"]
    if engine.dialect.name == "sqlite":
        # The page query as the job sends it, compiled with its values.
        stmt = window.where(
            select(Mailbox.__table__.c.id).join(Holder, Holder.id == Mailbox.holder_id)
        ).where(tuple_(Mailbox.expiry, Mailbox.id) > tuple_(window.start, 0))
        stmt = stmt.order_by(Mailbox.expiry, Mailbox.id).limit(BATCH_SIZE)
        sql = str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))
        with engine.connect() as connection:
            plan = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql).all()
        print("page query plan:", "; ".join(row[-1] for row in plan))
    _run(engine, "first day", TODAY)
    _run(engine, "same day again", TODAY)
    _run(engine, "next day", TODAY + timedelta(days=1))


if __name__ == "__main__":
    main()
