"""Word search in the mailbox list at 1,000,000 mailboxes, SQLite or PostgreSQL (prints; not a test).

    python bench/search_bench.py                                  # SQLite, seeded once, cached
    python bench/search_bench.py --url postgresql://postgres@127.0.0.1:5432/bench1m
    python bench/search_bench.py --url sqlite:////tmp/pec.db --runs 9

A search is timed as the list runs it when the operator stops typing: a new
`MailboxSource` for the filter, its `count()` (which also picks how the pages are queried)
and the first screenful of rows (`rows(0, 37)`). Each figure is the median of `--runs`
searches in this process, after one untimed search of the same text (the first column
shows that first, cold one). As the system (every mailbox) and as the reseller with the
most mailboxes, in expiry order (the list's) and in address order.

The database must hold a demo book of `--mailboxes` made with `--today 2026-11-26`
(`pec-tui demo --mailboxes 1000000 --no-ui --today 2026-11-26`); without `--url` a SQLite
one is seeded once into the temp directory (shared with bench/table_bench.py).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))

from table_bench import database  # noqa: E402

from pec_tui.db.engine import make_engine  # noqa: E402
from pec_tui.db.models import Mailbox  # noqa: E402
from pec_tui.domain.enums import Role  # noqa: E402
from pec_tui.services.actor import SYSTEM, Actor  # noqa: E402
from pec_tui.services.mailboxes import MailboxFilter, MailboxSource  # noqa: E402

TODAY = date(2026, 11, 26)
SCREENFUL = 37  # rows the table shows on a 120x40 terminal
TARGET_MS = 100
SEARCHES = (
    ("common word (a surname)", "rossi"),
    ("common word in names", "Consulting"),
    ("rare word", "retepecitalia"),
    ("rare address part", "informaticasoccoop2"),
    ("accented word", "Nicolò"),
    ("accents left out", "Universita"),
    ("3 characters", "ann"),
    ("2 characters (prefix)", "ma"),
)


def timed(engine, actor: Actor, flt: MailboxFilter) -> tuple[float, int]:
    started = time.perf_counter()
    source = MailboxSource(engine, actor, flt, TODAY)
    total = source.count()
    source.rows(0, SCREENFUL)
    return (time.perf_counter() - started) * 1000, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="database URL (default: a cached SQLite demo book)")
    parser.add_argument("--mailboxes", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--search", action="append", help="only this text (repeatable)")
    args = parser.parse_args()
    url = args.url or f"sqlite:///{database(args.mailboxes)}"
    engine = make_engine(url)
    with engine.connect() as connection:
        reseller_id, mine = connection.execute(
            select(Mailbox.reseller_id, func.count())
            .group_by(Mailbox.reseller_id)
            .order_by(func.count().desc())
            .limit(1)
        ).one()
    reseller = Actor(name="bench", role=Role.RESELLER, reseller_id=reseller_id)
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"{engine.dialect.name}, {os.cpu_count()} CPUs, load average {load}")
    print(f"reseller {reseller_id} has {mine:,} mailboxes; median of {args.runs} runs, ms")
    header = (
        f"{'search':<26} {'text':<14} {'who':<9} {'sort':<8} {'found':>8} {'cold':>7} {'median':>7}"
    )
    print(header)
    worst = 0.0
    searches = [(label, text) for label, text in SEARCHES if not args.search]
    searches += [("given", text) for text in args.search or ()]
    for label, text in searches:
        for who, actor in (("system", SYSTEM), ("reseller", reseller)):
            for sort in ("expiry", "address"):
                flt = MailboxFilter(search=text, sort=sort)
                cold, found = timed(engine, actor, flt)
                median = statistics.median(timed(engine, actor, flt)[0] for _ in range(args.runs))
                worst = max(worst, median)
                print(
                    f"{label:<26} {text:<14} {who:<9} {sort:<8} {found:>8,} "
                    f"{cold:>7.1f} {median:>7.1f}",
                    flush=True,
                )
    verdict = "ok" if worst <= TARGET_MS else "MISSED"
    print(f"slowest median {worst:.1f} ms; target <= {TARGET_MS} ms: {verdict}")
    engine.dispose()


if __name__ == "__main__":
    main()
