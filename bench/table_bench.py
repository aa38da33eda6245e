"""Mailbox table figures at 1,000 / 100,000 / 1,000,000 mailboxes on SQLite (prints; not a test).

    python bench/table_bench.py                 # 1k and 1M, DataTable at 1k and 100k
    python bench/table_bench.py --sizes 1000 100000 --runs 3

What is measured, each a median over `--runs` whole processes:

* first rows — from starting `python` until the table's first row is on the terminal. The
  app runs in a pseudo-terminal (120x40) exactly as in a real one; this script reads the
  escape sequences it writes into a `pyte` screen and stops the clock when the first
  mailbox's address appears. The same for Textual's `DataTable` loading every row.
* inside the app (also in the pseudo-terminal): a key posted to the app as the terminal
  driver posts it, until the next frame has been written out — for ↓, PgDn, End and `t`
  (the 3-month filter: until the filtered rows are on screen; the selection count comes
  in a worker afterwards and is timed to its status line). `pilot.press` is not used: it
  adds ~84 ms of idle polling (PERFORMANCE.md).
* peak memory — the app process's maximum resident set size after all the keys above.

Databases are seeded once with `pec-tui demo` and cached in the temp directory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from terminal import median_of, run_until

from pec_tui.domain.lifecycle import SUSPENSION_DAYS

TODAY = date(2026, 11, 26)
CACHE = Path(tempfile.gettempdir()) / "pec-tui-bench"
MINIMAL_TEXT = "minimal-app-ready"
DATATABLE_LIMIT = 100_000  # beyond this DataTable takes minutes: extrapolated instead


# --- the databases ------------------------------------------------------------------------


def database(mailboxes: int) -> Path:
    """A SQLite file with `mailboxes` demo mailboxes (seeded once, then reused)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"mailboxes-{mailboxes}.db"
    if path.exists() and _count(path) == mailboxes:
        return path
    print(f"seeding {mailboxes:,} mailboxes into {path} (once) ...", flush=True)
    # A new file: the demo then runs as the system (no operators yet), no token needed.
    for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        stale.unlink(missing_ok=True)
    subprocess.run(
        [
            str(Path(sys.executable).parent / "pec-tui"),
            "--database-url",
            f"sqlite:///{path}",
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
    )
    return path


def _count(path: Path) -> int:
    try:
        with sqlite3.connect(path) as connection:
            return connection.execute("SELECT count(*) FROM mailbox").fetchone()[0]
    except sqlite3.Error:
        return -1


def _first_address(path: Path) -> str:
    """The first row the list opens on: the first mailbox not yet Cancellata (a prepared
    book of an earlier day holds Cancellata ones before it)."""
    cancelled_before = (TODAY - timedelta(days=SUSPENSION_DAYS)).isoformat()
    with sqlite3.connect(path) as connection:
        return connection.execute(
            "SELECT address FROM mailbox WHERE expiry >= ? ORDER BY expiry, id LIMIT 1",
            (cancelled_before,),
        ).fetchone()[0]


def first_rows(path: Path | None, kind: str) -> tuple[float, int]:
    """Seconds from process start until the first mailbox is on the terminal; max RSS."""
    # The start of the first address: a narrow column may cut the rest with an ellipsis.
    text = MINIMAL_TEXT if path is None else _first_address(path)[:20]
    return run_until(
        [sys.executable, __file__, "--child", kind, str(path or "")],
        lambda lines: any(text in line for line in lines),
        timeout=900 if kind == "datatable" else 60,
    )


def in_app(path: Path, child: str = "keys") -> dict:
    """The key timings, measured by the child itself and left in a JSON file."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "result.json"
        _, rss = run_until(
            [sys.executable, __file__, "--child", child, str(path), str(out), repr(time.time())],
            lambda _lines: out.exists(),
            timeout=120,
        )
        result = json.loads(out.read_text())
    result["max_rss_kb"] = rss
    return result


# --- the children -------------------------------------------------------------------------


def child_minimal(_path: str = "") -> None:
    """The anchor: a minimal Textual app that shows one line (PERFORMANCE.md: ~0.41 s)."""
    from textual.app import App, ComposeResult
    from textual.widgets import Static

    class Minimal(App[None]):
        def compose(self) -> ComposeResult:
            yield Static(MINIMAL_TEXT)

    Minimal().run()


def child_app(path: str) -> None:
    """pec-tui's mailbox screen on `path`, as the real program opens it (without sign-in)."""
    from pec_tui.app import PecApp
    from pec_tui.config import Settings
    from pec_tui.services.database import open_database

    url = f"sqlite:///{path}"
    PecApp(Settings(database_url=url), open_database(url), today=lambda: TODAY).run()


def _datatable_app(path: str):
    """Textual's DataTable with every mailbox loaded, the way a naive screen would do it."""
    from textual.app import App, ComposeResult
    from textual.widgets import DataTable, Footer, Header

    class DataTableApp(App[None]):
        def compose(self) -> ComposeResult:
            yield Header()
            yield DataTable()
            yield Footer()

        def on_mount(self) -> None:
            with sqlite3.connect(path) as connection:
                rows = connection.execute(
                    "SELECT '[ ]', m.address, h.display_name, m.plan, m.expiry, "
                    "m.mailbox_used_mb, CASE m.auto_renew WHEN 1 THEN 'Sì' ELSE 'No' END "
                    "FROM mailbox m JOIN holder h ON h.id = m.holder_id "
                    f"ORDER BY m.expiry, m.id LIMIT {DATATABLE_LIMIT}"
                ).fetchall()
            table = self.query_one(DataTable)
            table.add_columns("Sel.", "Indirizzo", "Titolare", "Tipo", "Scadenza", "MB", "Auto")
            table.add_rows(rows)

    return DataTableApp()


def child_datatable(path: str) -> None:
    _datatable_app(path).run()


class _KeyTimer:
    """Posts keys to `app` as the terminal driver does; times each to its written frame."""

    def __init__(self, app) -> None:
        self.app = app
        self.frame = asyncio.Event()
        display = app._display

        def timed_display(screen, renderable) -> None:
            display(screen, renderable)
            if renderable is not None:
                self.frame.set()

        app._display = timed_display

    async def next_frame(self) -> None:
        self.frame.clear()
        await self.frame.wait()

    async def key(self, name: str, character: str | None = None) -> float:
        """Milliseconds from posting the key to the end of writing the next frame."""
        from textual import events

        self.frame.clear()
        started = time.perf_counter()
        self.app.post_message(events.Key(name, character))
        await self.frame.wait()
        return (time.perf_counter() - started) * 1000

    async def median(self, name: str, times: int) -> float:
        return statistics.median([await self.key(name) for _ in range(times)])

    async def until(self, condition, started: float) -> float:
        """Milliseconds from `started` to the first frame after `condition()` holds."""
        while not condition():
            await self.next_frame()
        return (time.perf_counter() - started) * 1000


def _run_measuring(app, scenario) -> None:
    async def run() -> None:
        measuring = asyncio.ensure_future(scenario())
        await app.run_async()
        measuring.cancel()

    asyncio.run(run())


def _write_result(out: str, result: dict) -> None:
    import resource

    result["max_rss_kb_inside"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    Path(out + ".tmp").write_text(json.dumps(result))
    Path(out + ".tmp").rename(out)


def child_datatable_keys(path: str, out: str, _spawned: str = "") -> None:
    """↓ and PgDn in Textual's DataTable, timed the same way (the yardstick for ours)."""
    from textual.widgets import DataTable

    app = _datatable_app(path)
    timer = _KeyTimer(app)

    async def scenario() -> None:
        while (
            not app.is_running or not app.query(DataTable) or not app.query_one(DataTable).row_count
        ):
            await asyncio.sleep(0.01)
        app.query_one(DataTable).focus()
        await asyncio.sleep(0.5)
        result = {
            "down_ms": await timer.median("down", 20),
            "pagedown_ms": await timer.median("pagedown", 10),
        }
        _write_result(out, result)

    _run_measuring(app, scenario)


def child_keys(path: str, out: str, spawned: str) -> None:
    """pec-tui's mailbox screen, then keys posted as the terminal driver posts them.

    Also splits the start-up: `spawned` is the parent's clock when it started this process.
    """
    started = float(spawned)
    split: dict[str, float] = {}

    def stamp(name: str) -> None:
        split[name] = (time.time() - started) * 1000

    stamp("python_started_ms")  # interpreter and this script, before any import
    from textual import events
    from textual.app import ScreenStackError

    from pec_tui.app import PecApp
    from pec_tui.config import Settings
    from pec_tui.screens.mailboxes import MailboxesScreen
    from pec_tui.services.database import open_database
    from pec_tui.widgets.mailbox_table import MailboxTable

    stamp("imported_ms")
    url = f"sqlite:///{path}"
    engine = open_database(url)
    stamp("database_open_ms")  # schema check (Alembic) and reference data
    app = PecApp(Settings(database_url=url), engine, today=lambda: TODAY)
    timer = _KeyTimer(app)
    mounted = MailboxesScreen.on_mount

    def on_mount(screen) -> None:
        stamp("screen_mounted_ms")
        mounted(screen)

    MailboxesScreen.on_mount = on_mount  # type: ignore[method-assign]

    def home_screen() -> MailboxesScreen | None:
        try:
            screen = app.screen
        except ScreenStackError:
            return None
        return screen if isinstance(screen, MailboxesScreen) else None

    async def scenario() -> None:
        while (screen := home_screen()) is None or not screen.mailbox_count:
            await asyncio.sleep(0.01)
        table = screen.query_one(MailboxTable)
        while not table.visible_rows():
            await timer.next_frame()
        await timer.next_frame()
        stamp("rows_on_screen_ms")
        await asyncio.sleep(0.3)
        result: dict = {"rows": table.row_count, **split}
        result["down_ms"] = await timer.median("down", 20)
        result["pagedown_ms"] = await timer.median("pagedown", 10)
        result["end_ms"] = await timer.key("end")
        await asyncio.sleep(0.1)
        result["end_rows_shown"] = bool(table.visible_rows())
        await timer.key("home")
        await asyncio.sleep(0.3)
        started = time.perf_counter()
        app.post_message(events.Key("t", "t"))
        result["filter_3_months_ms"] = await timer.until(
            lambda: (
                table.source is not None
                and table.source.filter.expiring_within_months == 3
                and bool(table.visible_rows())
            ),
            started,
        )
        result["filtered_rows"] = table.row_count
        result["selection_count_ms"] = await timer.until(
            lambda: screen.selected_count is not None, started
        )
        result["selected"] = screen.selected_count
        await asyncio.sleep(0.3)
        result["pagedown_filtered_ms"] = await timer.median("pagedown", 10)
        _write_result(out, result)

    _run_measuring(app, scenario)


# --- the report ---------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[1_000, 1_000_000])
    parser.add_argument("--datatable-sizes", type=int, nargs="*", default=[1_000, 100_000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--child", choices=["minimal", "app", "datatable", "keys", "datatable-keys"]
    )
    parser.add_argument("path", nargs="*")
    args = parser.parse_args()
    if args.child:
        children = {
            "minimal": child_minimal,
            "app": child_app,
            "datatable": child_datatable,
            "keys": child_keys,
            "datatable-keys": child_datatable_keys,
        }
        children[args.child](*args.path)
        return

    print(f"mailbox table bench — median of {args.runs} whole processes, 120x40 pty, SQLite")
    print(f"load average before: {' '.join(f'{n:.1f}' for n in os.getloadavg())}")
    seconds, rss = median_of(args.runs, lambda: first_rows(None, "minimal"))
    print(
        f"{'anchor':>9}  minimal Textual app  first frame {seconds * 1000:5.0f} ms   peak {rss:4.0f} MB"
    )
    for size in args.sizes:
        path = database(size)
        seconds, rss = median_of(args.runs, lambda p=path: first_rows(p, "app"))
        print(f"{size:>9,}  MailboxTable  first rows {seconds * 1000:7.0f} ms   peak {rss:5.0f} MB")
        keys = [in_app(path) for _ in range(args.runs)]

        def med(name: str, runs=keys) -> float:
            return statistics.median(run[name] for run in runs)

        print(
            f"{'':>9}  keys  ↓ {med('down_ms'):.1f} ms   PgDn {med('pagedown_ms'):.1f} ms   "
            f"End {med('end_ms'):.1f} ms   PgDn in 3-month view {med('pagedown_filtered_ms'):.1f} ms"
        )
        print(
            f"{'':>9}  3-month filter: rows on screen {med('filter_3_months_ms'):.1f} ms "
            f"({keys[0]['filtered_rows']:,} rows), selection count "
            f"{med('selection_count_ms'):.0f} ms ({keys[0]['selected']:,} selected)"
        )
        print(f"{'':>9}  peak memory after the keys {med('max_rss_kb') / 1024:.0f} MB")
        print(
            f"{'':>9}  start-up split (from spawn): python {med('python_started_ms'):.0f} ms, "
            f"imports done {med('imported_ms'):.0f} ms, database open "
            f"{med('database_open_ms'):.0f} ms, screen mounted {med('screen_mounted_ms'):.0f} ms,"
            f" rows on screen {med('rows_on_screen_ms'):.0f} ms"
        )
    for size in args.datatable_sizes:
        path = database(size)
        seconds, rss = median_of(args.runs, lambda p=path: first_rows(p, "datatable"))
        print(f"{size:>9,}  DataTable     first rows {seconds * 1000:7.0f} ms   peak {rss:5.0f} MB")
        if size <= 1_000:
            keys = [in_app(path, "datatable-keys") for _ in range(args.runs)]
            down = statistics.median(run["down_ms"] for run in keys)
            pagedown = statistics.median(run["pagedown_ms"] for run in keys)
            print(f"{'':>9}  keys  ↓ {down:.1f} ms   PgDn {pagedown:.1f} ms")
    print(f"load average after: {' '.join(f'{n:.1f}' for n in os.getloadavg())}")


if __name__ == "__main__":
    main()
