"""Many CLI processes on one SQLite file while the lifecycle job runs: nothing may fail.

    python bench/sqlite_contention.py                       # 100,000 mailboxes, 8 workers
    python bench/sqlite_contention.py --mailboxes 20000 --json

Builds a book (as bench/lifecycle_job.py does: expiries over two years, 30% with automatic
renewal paid with credit) whose day is the real today, then starts `pec-tui lifecycle run`
and, while it runs, WORKERS threads that each start one `pec-tui` process after another:
`renew` of a mailbox of its own (outside the job's windows), then `orders list`, and so on.
Every process is a separate connection to the file, as terminals are. Prints the job's time
and counts, and per command the number of runs, failures, median / p95 / longest time;
exit status 1 when any process failed ("database is locked" or anything else).
Also run, on a smaller book, by tests/services/test_sqlite_contention.py.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import lifecycle_job  # noqa: E402  (the book builder of the lifecycle benchmark)
from sqlalchemy import text  # noqa: E402

from pec_tui.db.engine import make_engine, upgrade  # noqa: E402
from pec_tui.services.database import ensure_reference_data  # noqa: E402

CONSENTS = ("--accept-terms", "--accept-clauses", "--accept-privacy")


@dataclass
class Runs:
    times: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        ordered = sorted(self.times) or [0.0]
        return {
            "runs": len(self.times),
            "failures": len(self.failures),
            "p50_s": round(statistics.median(ordered), 3),
            "p95_s": round(ordered[int(0.95 * (len(ordered) - 1))], 3),
            "max_s": round(ordered[-1], 3),
        }


def _command(url: str) -> list[str]:
    return [sys.executable, "-c", "from pec_tui.cli import main; main()", "--database-url", url]


def build_book(url: str, mailboxes: int, day: date) -> None:
    engine = make_engine(url)
    upgrade(engine)
    ensure_reference_data(engine)
    lifecycle_job.TODAY = day
    lifecycle_job.build(engine, mailboxes)
    with engine.begin() as connection:
        # The builder's holders have only a name; renewals need a complete one.
        connection.execute(
            text(
                "UPDATE holder SET first_name = 'Mario', last_name = 'Rossi', "
                "codice_fiscale = 'RSSMRA85T10A562S', street = 'Via Roma 1', cap = '00184', "
                "city = 'Roma', province = 'RM'"
            )
        )
    engine.dispose()


def renewal_targets(url: str, day: date, count: int) -> list[str]:
    """Mailboxes without automatic renewal expiring after every window of the job."""
    engine = make_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT address FROM mailbox WHERE auto_renew = 0 AND expiry > :after "
                "ORDER BY id LIMIT :count"
            ),
            {"after": date.fromordinal(day.toordinal() + 100).isoformat(), "count": count},
        ).all()
    engine.dispose()
    return [row[0] for row in rows]


def run(url: str, mailboxes: int, workers: int, min_calls: int, build: bool = True) -> dict:
    day = date.today()
    started = time.perf_counter()
    if build:
        build_book(url, mailboxes, day)
    built = time.perf_counter() - started
    env = {**os.environ, "PEC_TUI_SYSTEM": "1", "PEC_TUI_LANG": "en"}
    targets = renewal_targets(url, day, workers * 200)
    runs = {"renew": Runs(), "orders list": Runs()}
    lock = threading.Lock()
    job_done = threading.Event()

    def call(kind: str, *args: str) -> None:
        began = time.perf_counter()
        done = subprocess.run(
            _command(url) + list(args), capture_output=True, text=True, env=env, check=False
        )
        elapsed = time.perf_counter() - began
        with lock:
            runs[kind].times.append(elapsed)
            if done.returncode != 0 or "Traceback" in done.stderr:
                runs[kind].failures.append((done.stderr or done.stdout).strip()[-300:])

    def worker(index: int) -> None:
        mine = targets[index::workers]
        calls = 0
        while (not job_done.is_set() or calls < min_calls) and mine:
            if calls % 2 == 0:
                address = mine.pop(0)
                call("renew", "renew", address, "--years", "1", "--payment-method", "bonifico",
                     *CONSENTS)  # fmt: skip
            else:
                call("orders list", "orders", "list", "--limit", "20")
            calls += 1

    job_started = time.perf_counter()
    job = subprocess.Popen(
        _command(url) + ["lifecycle", "run", "--format", "json", "--no-progress"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    out, err = job.communicate()
    job_seconds = time.perf_counter() - job_started
    job_done.set()
    for thread in threads:
        thread.join()
    report = json.loads(out) if job.returncode == 0 and out.strip() else {}
    return {
        "mailboxes": mailboxes,
        "workers": workers,
        "build_s": round(built, 1),
        "job": {
            "exit_status": job.returncode,
            "seconds": round(job_seconds, 1),
            "error": err.strip()[-500:] if job.returncode else "",
            **{
                key: report.get(key)
                for key in (
                    "reminders",
                    "suspended_notices",
                    "cancelled_notices",
                    "renewal_orders",
                    "examined",
                )
            },
        },
        **{kind: r.summary() for kind, r in runs.items()},
        "failures": [f for r in runs.values() for f in r.failures][:10],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mailboxes", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument(
        "--min-calls", type=int, default=4, help="calls per worker even if the job ends first"
    )
    parser.add_argument("--url", help="a SQLite URL (default: a new temporary file)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    url = args.url or f"sqlite:///{tempfile.mkdtemp()}/contention.db"
    figures = run(url, args.mailboxes, args.workers, args.min_calls)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        job = figures["job"]
        print(
            f"{figures['mailboxes']:,} mailboxes (built in {figures['build_s']} s), "
            f"{figures['workers']} workers"
        )
        print(
            f"lifecycle job: exit {job['exit_status']} in {job['seconds']} s — "
            f"reminders {job['reminders']}, suspended {job['suspended_notices']}, "
            f"cancelled {job['cancelled_notices']}, renewal orders {job['renewal_orders']}"
        )
        for kind in ("renew", "orders list"):
            f = figures[kind]
            print(
                f"{kind:12} {f['runs']:4} runs, {f['failures']} failed, "
                f"p50 {f['p50_s']} s, p95 {f['p95_s']} s, max {f['max_s']} s"
            )
        for failure in figures["failures"]:
            print("FAILED:", failure)
    failed = figures["job"]["exit_status"] != 0 or figures["failures"]
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
