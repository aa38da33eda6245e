"""Time `pec-tui demo --no-ui` seeding a fresh SQLite file, the way a user runs it.

    python bench/seed_bench.py                          # 1,000 then 1,000,000 mailboxes
    python bench/seed_bench.py --mailboxes 1000 --mailboxes 200000

Each size runs `pec-tui demo --mailboxes N --no-ui` as a subprocess into a temporary SQLite
file and prints the wall time, the rows written per second (all tables; mailboxes alone
too) and the peak resident memory of the child processes (the command and the generator process it starts). Sizes run
smallest first, since the peak is the largest child's so far. Not part of the test run.
"""

from __future__ import annotations

import argparse
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

# The requirement for a million mailboxes on SQLite (Foundation issue), in seconds.
TARGET_SECONDS = {1_000_000: 60.0}


def pec_tui_command() -> list[str]:
    """The installed `pec-tui` beside this interpreter, else the same entry point via -c."""
    script = Path(sys.executable).with_name("pec-tui")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from pec_tui.cli import main; main()"]


def seed(mailboxes: int, seed_value: int) -> tuple[float, int, float]:
    """Seconds taken, rows written and peak child RSS (MB) of one `pec-tui demo`."""
    with tempfile.TemporaryDirectory(prefix="pec-seed-bench-") as directory:
        path = Path(directory) / "demo.db"
        command = [
            *pec_tui_command(),
            "--database-url",
            f"sqlite:///{path}",
            "demo",
            "--mailboxes",
            str(mailboxes),
            "--seed",
            str(seed_value),
            "--no-ui",
        ]
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        elapsed = time.perf_counter() - started
        with closing(sqlite3.connect(path)) as connection:
            rows = sum(
                connection.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
                for (table,) in connection.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                )
            )
    # Linux reports kilobytes (macOS bytes).
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    peak_mb = peak_kb / 1024 if sys.platform != "darwin" else peak_kb / 1024 / 1024
    return elapsed, rows, peak_mb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--mailboxes",
        type=int,
        action="append",
        help="How many mailboxes to seed (repeatable; default 1000 and 1000000).",
    )
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    sizes = sorted(args.mailboxes or [1_000, 1_000_000])

    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"{os.cpu_count()} CPUs, load average {load}")
    print(
        f"{'mailboxes':>10} {'seconds':>8} {'rows':>10} {'rows/s':>9} {'mailboxes/s':>12} "
        f"{'peak RSS MB':>12}  target"
    )
    for size in sizes:
        elapsed, rows, peak_mb = seed(size, args.seed)
        target = TARGET_SECONDS.get(size)
        verdict = (
            "" if target is None else f"< {target:.0f} s: {'ok' if elapsed < target else 'MISSED'}"
        )
        print(
            f"{size:>10} {elapsed:>8.1f} {rows:>10,} {rows / elapsed:>9,.0f} "
            f"{size / elapsed:>12,.0f} {peak_mb:>12.0f}  {verdict}"
        )


if __name__ == "__main__":
    main()
