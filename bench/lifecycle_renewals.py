"""Time only the automatic renewals of the daily job (its first window) on a copy of a book.

    cp /work/books/m1.db /tmp/x/copy.db
    python bench/lifecycle_renewals.py sqlite:////tmp/x/copy.db [--today 2026-12-02] [--profile FILE]

Runs the job's automatic-renewal window for that day (what `lifecycle run` does first: the
orders, and the payments the resellers' credit makes at once) and prints its wall and CPU
time and the counts; with --profile, a cProfile of it in FILE. The copy is written to. Not
part of the test run.
"""

from __future__ import annotations

import argparse
import cProfile
import time
from datetime import date

from pec_tui.config import load_settings
from pec_tui.db.engine import make_engine
from pec_tui.services import lifecycle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--today", default="2026-12-02")
    parser.add_argument("--profile")
    args = parser.parse_args()
    today = date.fromisoformat(args.today)
    engine = make_engine(args.url)
    run = lifecycle._Run(engine, today, load_settings(), lifecycle.JOB_ACTOR, None, None)
    window = lifecycle._windows(today)["auto_renew"]
    profile = cProfile.Profile() if args.profile else None
    wall, cpu = time.monotonic(), time.process_time()
    if profile is not None:
        profile.enable()
    run.auto_renewals(window)
    if profile is not None:
        profile.disable()
        profile.dump_stats(args.profile)
    report = run.report
    print(
        f"automatic renewals {today}: {time.monotonic() - wall:.1f} s wall, "
        f"CPU {time.process_time() - cpu:.1f} s; {report.renewal_orders:,} orders, "
        f"{report.paid_with_credit:,} paid with credit, failures {len(report.failures)}"
    )


if __name__ == "__main__":
    main()
