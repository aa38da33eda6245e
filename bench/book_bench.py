"""Whole-book work from the command line, on copies of a prepared book (issue 14).

    python bench/book_bench.py --sqlite /work/books/m1.db [--postgres postgresql://.../book1m]
        [--work-dir /tmp/bench] [--addresses 58000]

For each database it works on fresh copies (a file copy; CREATE DATABASE ... TEMPLATE on
PostgreSQL, which needs nobody connected to the source) and prints, as whole processes:

- baselines of the same run: `python -c 'import pec_tui'` and `pec-tui --help`;
- `pec-tui db upgrade` of each copy when its schema is older than this version's (a copy of
  a book seeded before the last migration), so the figures below do not include it;
- `pec-tui renew --expiring-within 3m` over the whole book as an administrator (every
  reseller: one order each), wall time and peak RSS;
- `pec-tui renew --from-file` of the first N renewable addresses of the biggest reseller
  (one order), then `pec-tui payments register` of that order (every mailbox renewed in one
  transaction), each with its wall time and peak RSS; the payment also as the service call
  alone, in this process.

The load average is printed with the figures. The copies are removed at the end. Not part
of the test run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import bindparam, create_engine, text
from sqlalchemy.engine import make_url

from pec_tui.db.engine import current_revision, head_revision
from pec_tui.domain.money import from_cents
from pec_tui.services import auth, payments
from pec_tui.services.actor import SYSTEM
from pec_tui.services.database import open_database
from pec_tui.services.mailboxes import Selection

CONSENTS = ["--accept-terms", "--accept-clauses", "--accept-privacy"]
PEC_TUI = shutil.which("pec-tui") or "pec-tui"
TIME = "/usr/bin/time"


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_mb: float
    status: int
    output: str


def run(args: Sequence[str], env: dict[str, str] | None = None, stdin: str | None = None) -> Run:
    """A whole process: wall time, and its own peak RSS as /usr/bin/time reports it (a child
    of this process would count this process's memory, copied when it was forked)."""
    with (
        tempfile.TemporaryFile("w+") as given,
        tempfile.TemporaryFile("w+") as out,
        tempfile.NamedTemporaryFile("r") as peak,
    ):
        given.write(stdin or "")
        given.seek(0)
        started = time.perf_counter()
        status = subprocess.run(
            [TIME, "-f", "%M", "-o", peak.name, *args],
            stdin=given,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            check=False,
        ).returncode
        seconds = time.perf_counter() - started
        out.seek(0)
        kib = peak.read().strip().splitlines()[-1]
        return Run(seconds, int(kib) / 1024, status, out.read())


def best_of(args: Sequence[str], times: int = 3) -> Run:
    return min((run(args) for _ in range(times)), key=lambda r: r.seconds)


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


@contextmanager
def sqlite_copy(source: Path, work: Path, name: str) -> Iterator[str]:
    target = work / f"{name}.db"
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{source}{suffix}").exists():
            shutil.copyfile(f"{source}{suffix}", f"{target}{suffix}")
    try:
        yield f"sqlite:///{target}"
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)


@contextmanager
def postgres_copy(source_url: str, name: str) -> Iterator[str]:
    url = make_url(source_url)
    copy = f"{url.database}_{name}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{copy}"'))
        connection.execute(text(f'CREATE DATABASE "{copy}" TEMPLATE "{url.database}"'))
    try:
        yield url.set(database=copy).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)'))
        admin.dispose()


def system_token(url: str) -> str:
    engine = open_database(url, migrate=False)
    try:
        return auth.issue_system_token(engine, SYSTEM)
    finally:
        engine.dispose()


def biggest_resellers_addresses(url: str, count: int, today: date) -> list[str]:
    """The first `count` addresses the mailbox list's rule selects for the reseller with the
    most mailboxes expiring within 3 months, in expiry order (one order)."""
    engine = open_database(url, migrate=False)
    try:
        with engine.connect() as connection:
            reseller = connection.execute(
                text(
                    "SELECT reseller_id FROM mailbox WHERE expiry >= :today "
                    "AND reseller_id IS NOT NULL GROUP BY reseller_id ORDER BY count(*) DESC"
                ),
                {"today": today},
            ).first()
        assert reseller is not None
        ids = Selection.by_rule(today, 12, reseller_id=reseller[0]).resolve_ids(
            engine, SYSTEM, today, limit=count
        )
        found: dict[int, str] = {}
        with engine.connect() as connection:
            for start in range(0, len(ids), 5000):
                chunk = ids[start : start + 5000]
                rows = connection.execute(
                    text("SELECT id, address FROM mailbox WHERE id IN :ids").bindparams(
                        bindparam("ids", expanding=True)
                    ),
                    {"ids": list(chunk)},
                )
                found.update({int(i): str(a) for i, a in rows})
        return [found[i] for i in ids]
    finally:
        engine.dispose()


def order_of(url: str, number_from: int) -> tuple[int, Decimal, int]:
    """The newest order (number, gross, lines) placed after `number_from`."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            number, gross, lines = connection.execute(
                text(
                    "SELECT o.number, o.gross_cents, count(l.id) FROM orders o "
                    "JOIN order_line l ON l.order_id = o.id WHERE o.number > :n "
                    "GROUP BY o.number, o.gross_cents ORDER BY o.number DESC"
                ),
                {"n": number_from},
            ).one()
        return int(number), from_cents(int(gross)), int(lines)
    finally:
        engine.dispose()


def last_number(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT max(number) FROM orders")).scalar() or 0)
    finally:
        engine.dispose()


def show(label: str, result: Run, note: str = "") -> None:
    status = "" if result.status == 0 else f"  EXIT {result.status}: {result.output[-300:]!r}"
    print(
        f"  {label:<52} {result.seconds:7.2f} s  {result.peak_mb:6.0f} MB  "
        f"load {load()}{note}{status}",
        flush=True,
    )


def upgraded(url: str, token: str) -> None:
    """Bring the copy to this version's schema (timed and shown) when it is older."""
    engine = open_database(url, migrate=False)
    try:
        current = current_revision(engine)
    finally:
        engine.dispose()
    if current != head_revision():
        result = run(
            [PEC_TUI, "--database-url", url, "db", "upgrade"], env={"PEC_TUI_TOKEN": token}
        )
        show(f"db upgrade of the copy ({current} -> {head_revision()})", result)


def renew_command(url: str, *mailboxes: str) -> list[str]:
    """`pec-tui renew` of `mailboxes` (its options naming them) on `url`, for one year, by
    bank transfer, the three consents given."""
    return [
        PEC_TUI,
        "--database-url",
        url,
        "renew",
        *mailboxes,
        *("--years", "1", "--payment-method", "bonifico"),
        *CONSENTS,
    ]


def place_order_of_biggest_reseller(url: str, addresses: int) -> tuple[Run, int, Decimal, int]:
    """`renew --from-file -` of the first `addresses` renewable addresses of the biggest
    reseller (one order) on the copy at `url`: the run, and the order's number, gross and
    count of lines."""
    token = system_token(url)
    upgraded(url, token)
    chosen = biggest_resellers_addresses(url, addresses, date.today())
    before = last_number(url)
    result = run(
        renew_command(url, "--from-file", "-"),
        env={"PEC_TUI_TOKEN": token},
        stdin="\n".join(chosen),
    )
    if result.status != 0:
        raise SystemExit(result.output[-2000:])
    return (result, *order_of(url, before))


def bench_database(kind: str, copy: object, addresses: int, work: Path) -> None:
    print(f"\n{kind}", flush=True)
    with copy(f"{kind.lower()}_whole") as url:  # type: ignore[operator]
        token = system_token(url)
        upgraded(url, token)
        result = run(
            renew_command(url, "--expiring-within", "3m"),
            env={"PEC_TUI_TOKEN": token},
        )
        placed = result.output.count("\u2014 ")  # "— reseller" before each order
        show("renew --expiring-within 3m (whole book)", result, f"  ({placed} orders)")
    with copy(f"{kind.lower()}_file") as url:  # type: ignore[operator]
        token = system_token(url)
        upgraded(url, token)
        chosen = biggest_resellers_addresses(url, addresses, date.today())
        listing = work / f"{kind.lower()}_addresses.txt"
        listing.write_text("# bench\n" + "\n".join(chosen) + "\n", encoding="utf-8")
        before = last_number(url)
        result = run(
            renew_command(url, "--from-file", str(listing)),
            env={"PEC_TUI_TOKEN": token},
        )
        show(f"renew --from-file ({len(chosen):,} addresses)", result)
        number, gross, lines = order_of(url, before)
        result = run(
            [
                PEC_TUI,
                "--database-url",
                url,
                "payments",
                "register",
                str(number),
                "--amount",
                str(gross),
                "--method",
                "bonifico",
            ],
            env={"PEC_TUI_TOKEN": token},
        )
        show(f"payments register (order of {lines:,} lines)", result)
        listing.unlink()
    # The service call alone, on a fresh copy with the same order placed again.
    with copy(f"{kind.lower()}_pay") as url:  # type: ignore[operator]
        _result, number, gross, _lines = place_order_of_biggest_reseller(url, addresses)
        engine = open_database(url, migrate=False)
        started = time.perf_counter()
        paid = payments.register_payment(engine, SYSTEM, number, gross, "bonifico")
        seconds = time.perf_counter() - started
        engine.dispose()
        print(
            f"  {'register_payment alone (' + format(len(paid.renewed), ',') + ' mailboxes)':<52}"
            f" {seconds:7.2f} s            load {load()}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sqlite", type=Path, help="a prepared SQLite book (never written)")
    parser.add_argument("--postgres", help="URL of a prepared PostgreSQL book (never written)")
    parser.add_argument("--work-dir", type=Path, default=None)
    parser.add_argument("--addresses", type=int, default=58_000)
    args = parser.parse_args()
    if not args.sqlite and not args.postgres:
        parser.error("give --sqlite FILE and/or --postgres URL")
    if args.work_dir is not None:
        args.work_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="book-bench-", dir=args.work_dir))
    try:
        print(f"baselines (best of 3), load {load()}", flush=True)
        show("python -c 'import pec_tui'", best_of([sys.executable, "-c", "import pec_tui"]))
        show("pec-tui --help", best_of([PEC_TUI, "--help"]))
        if args.sqlite:
            bench_database(
                "SQLite",
                lambda name: sqlite_copy(args.sqlite, work, name),
                args.addresses,
                work,
            )
        if args.postgres:
            bench_database(
                "PostgreSQL",
                lambda name: postgres_copy(args.postgres, name),
                args.addresses,
                work,
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
