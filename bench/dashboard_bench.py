"""Scadenze e incassi at 1,000,000 mailboxes, SQLite and PostgreSQL (prints; not a test).

    python bench/dashboard_bench.py                                  # SQLite (seeded once)
    python bench/dashboard_bench.py --postgres postgresql://postgres@127.0.0.1/bench
    python bench/dashboard_bench.py --sqlite /path/to/1m.db --postgres URL --runs 7

For each book — every reseller's (an administrator), the largest reseller's chosen in the
administrator's filter, a reseller operator's own — each figure of services/dashboard.py is
timed on its own (median of `--runs`, after one warm-up run), then the whole dashboard as
the screen reads it (`load_dashboard`, one connection). Then, in the app (headless,
120x32), the time from the `d` key to the charts on screen: the key is posted as the
terminal driver posts it and the clock stops at the first frame drawn after the figures
arrived (pilot.press is not used: it adds idle polling).

Databases come from `pec-tui demo --mailboxes N --today 2026-12-01` (SQLite ~70 s, PostgreSQL
~200 s at 1M), seeded once: the SQLite file is cached in the temp directory, a PostgreSQL
database that already holds N mailboxes is reused. Both are brought to the latest migration
(migration 0004 adds the dashboard's covering indexes) and PostgreSQL is vacuumed and
analysed once, as autovacuum would after a bulk load.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from functools import partial
from pathlib import Path

from sqlalchemy import text

from pec_tui.db.engine import make_engine, upgrade
from pec_tui.domain.enums import Role
from pec_tui.services import dashboard
from pec_tui.services.actor import SYSTEM, Actor

TODAY = date(2026, 12, 1)
CACHE = Path(tempfile.gettempdir()) / "pec-tui-bench"
TARGET_MS = 300.0
SCREEN_TARGET_MS = 1000.0


def _seed(url: str, mailboxes: int) -> None:
    print(f"seeding {mailboxes:,} mailboxes into {url} (once) ...", flush=True)
    subprocess.run(
        [
            str(Path(sys.executable).parent / "pec-tui"),
            "--database-url",
            url,
            "demo",
            "--mailboxes",
            str(mailboxes),
            "--no-ui",
            "--today",
            TODAY.isoformat(),
            "--seed",
            "42",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "PEC_TUI_SYSTEM": "1"},
    )


def _count(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM mailbox")).scalar_one())
    except Exception:  # no schema yet
        return 0
    finally:
        engine.dispose()


def prepare(url: str, mailboxes: int) -> None:
    if _count(url) != mailboxes:
        _seed(url, mailboxes)
    engine = make_engine(url)
    upgrade(engine)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    engine.dispose()


def _median_ms(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm: the first run reads the pages from disk into the cache
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def largest_reseller(url: str) -> int:
    engine = make_engine(url)
    with engine.connect() as connection:
        reseller = connection.execute(
            text(
                "SELECT reseller_id FROM mailbox WHERE reseller_id IS NOT NULL "
                "GROUP BY reseller_id ORDER BY count(*) DESC LIMIT 1"
            )
        ).scalar_one()
    engine.dispose()
    return int(reseller)


def figures(url: str, runs: int) -> list[tuple[str, str, float]]:
    """(book, figure, median ms) for every figure and book."""
    engine = make_engine(url)
    biggest = largest_reseller(url)
    books: list[tuple[str, Actor, int | None]] = [
        ("every reseller (admin)", SYSTEM, None),
        (f"reseller {biggest} (admin's filter)", SYSTEM, biggest),
        (
            f"reseller {biggest} (its operator)",
            Actor("op", Role.RESELLER, reseller_id=biggest),
            None,
        ),
    ]
    results = []
    for book, actor, reseller in books:
        for name, fn in dashboard.FIGURES.items():
            ms = _median_ms(partial(fn, engine, actor, TODAY, reseller_id=reseller), runs)
            results.append((book, name, ms))
        whole = partial(dashboard.load_dashboard, engine, actor, TODAY, reseller)
        results.append((book, "whole dashboard, one after another", _median_ms(whole, runs)))
    engine.dispose()
    return results


async def _screen_once(url: str) -> tuple[float, float, float, float]:
    """Milliseconds from `d` to the expiries chart on screen and to all four charts: wall
    clock, then the CPU time the app process used meanwhile (all its threads).

    On a busy machine the wall clock mostly measures waiting for a core; the CPU time is
    what the same work costs on an idle one (for SQLite, where the queries run in the app's
    own threads; PostgreSQL's share runs in the server's processes and is not counted)."""
    from textual import events

    from pec_tui.app import PecApp
    from pec_tui.config import Settings
    from pec_tui.screens.dashboard import DashboardScreen
    from pec_tui.screens.mailboxes import MailboxesScreen
    from pec_tui.services.database import open_database

    app = PecApp(Settings(database_url=url), open_database(url), today=lambda: TODAY)
    async with app.run_test(size=(120, 32)) as pilot:
        while not (isinstance(app.screen, MailboxesScreen) and app.screen.mailbox_count):
            await pilot.pause(0.05)
        await app.workers.wait_for_complete()
        first: list[tuple[float, float]] = []
        every: list[tuple[float, float]] = []
        original = app._display

        def timed_display(screen, renderable) -> None:  # type: ignore[no-untyped-def]
            original(screen, renderable)
            if renderable is None or not isinstance(screen, DashboardScreen):
                return
            if not first and screen.query_one("#dashboard-renewals").option_count:
                first.append((time.perf_counter(), time.process_time()))
            if not every and screen.figures is not None:
                every.append((time.perf_counter(), time.process_time()))

        app._display = timed_display  # type: ignore[method-assign]
        started, cpu = time.perf_counter(), time.process_time()
        app.post_message(events.Key("d", "d"))
        deadline = started + 60
        while not every and time.perf_counter() < deadline:
            await asyncio.sleep(0.005)
        if not every:
            raise RuntimeError("the dashboard was not drawn within 60 s")
        return (
            (first[0][0] - started) * 1000,
            (every[0][0] - started) * 1000,
            (first[0][1] - cpu) * 1000,
            (every[0][1] - cpu) * 1000,
        )


def on_screen(url: str, runs: int) -> list[float]:
    asyncio.run(_screen_once(url))  # warm
    times = [asyncio.run(_screen_once(url)) for _ in range(runs)]
    return [statistics.median(t[i] for t in times) for i in range(4)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mailboxes", type=int, default=1_000_000)
    parser.add_argument("--sqlite", help="SQLite file (default: cached in the temp directory)")
    parser.add_argument("--postgres", help="PostgreSQL URL (skipped when not given)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--screen-runs", type=int, default=3)
    args = parser.parse_args()

    CACHE.mkdir(parents=True, exist_ok=True)
    path = Path(args.sqlite) if args.sqlite else CACHE / f"dashboard-{args.mailboxes}.db"
    urls = [("SQLite", f"sqlite:///{path}")]
    if args.postgres:
        urls.append(("PostgreSQL", args.postgres))
    for name, url in urls:
        prepare(url, args.mailboxes)
        print(f"\n## {name}, {args.mailboxes:,} mailboxes, today {TODAY}")
        print(f"load average {os.getloadavg()[0]:.1f}")
        print(f"| book | figure | median ms (target ≤ {TARGET_MS:.0f}) |")
        print("|---|---|---|")
        for book, figure, ms in figures(url, args.runs):
            flag = "" if figure.startswith("whole") or ms <= TARGET_MS else " **over**"
            print(f"| {book} | {figure} | {ms:.0f}{flag} |", flush=True)
        first, every, first_cpu, every_cpu = on_screen(url, args.screen_runs)
        target = f"(target ≤ {SCREEN_TARGET_MS:.0f})"
        print(f"| app, 120x32 | `d` → expiries chart on screen | {first:.0f} {target} |")
        print(f"| app, 120x32 | `d` → all four charts on screen | {every:.0f} |")
        print(f"| app, 120x32 | … app CPU time until the expiries chart | {first_cpu:.0f} |")
        print(f"| app, 120x32 | … app CPU time until all four | {every_cpu:.0f} |", flush=True)
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
