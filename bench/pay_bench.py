"""`payments.register_payment` alone for a whole-book renewal order (issue 14), repeatably.

    # once: a copy of the book with the order of the biggest reseller's first N renewable
    # addresses placed (`renew --from-file`, as book_bench.py places it)
    python bench/pay_bench.py prepare --sqlite /work/books/m1.db --to /tmp/pay/placed.db
    python bench/pay_bench.py prepare --postgres postgresql://.../book1m_tpl --to NAME_placed

    # each run: a fresh copy of the prepared one (`cp`; CREATE DATABASE ... TEMPLATE), the
    # order read, then the payment timed around the service call alone
    python bench/pay_bench.py pay --sqlite /tmp/pay/placed.db [--runs 3]
    python bench/pay_bench.py pay --postgres postgresql://.../NAME_placed [--runs 3]

Each run prints the wall time, the process's CPU (`time.process_time`; on PostgreSQL the
client's only) and the load average. Run `pay` from each checkout to compare (before and
after alternating, same prepared copy). The copies a run makes are removed at its end.
Not part of the test run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))

from book_bench import (  # noqa: E402
    last_number,
    load,
    order_of,
    place_order_of_biggest_reseller,
)

from pec_tui.services import payments  # noqa: E402
from pec_tui.services.actor import SYSTEM  # noqa: E402
from pec_tui.services.database import open_database  # noqa: E402


def _admin_url(url: str) -> str:
    return make_url(url).set(database="postgres").render_as_string(hide_password=False)


def _pg_copy(source_url: str, name: str) -> str:
    admin = create_engine(_admin_url(source_url), isolation_level="AUTOCOMMIT")
    source = make_url(source_url).database
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            for attempt in range(30):
                try:
                    connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{source}"'))
                    break
                except Exception:
                    if attempt == 29:
                        raise
                    time.sleep(2)
    finally:
        admin.dispose()
    return make_url(source_url).set(database=name).render_as_string(hide_password=False)


def _pg_drop(url: str) -> None:
    admin = create_engine(_admin_url(url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            name = make_url(url).database
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def prepare(url: str, addresses: int) -> None:
    result, number, gross, lines = place_order_of_biggest_reseller(url, addresses)
    print(f"order no. {number}: {lines:,} lines, {gross} (renew took {result.seconds:.1f} s)")


def pay_once(url: str) -> None:
    number, gross, _lines = order_of(url, last_number(url) - 1)
    engine = open_database(url, migrate=False)
    try:
        # The process opened the database and read the order before the clock starts.
        with engine.connect() as connection:
            connection.execute(text("SELECT count(*) FROM orders")).scalar()
        load_before = load()
        started, cpu = time.perf_counter(), time.process_time()
        paid = payments.register_payment(engine, SYSTEM, number, gross, "bonifico")
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        engine.dispose()
    print(
        f"  register_payment ({len(paid.renewed):,} mailboxes) {seconds:6.2f} s wall "
        f"{cpu:6.2f} s CPU  load {load_before} -> {load()}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("prepare", "pay"))
    parser.add_argument("--sqlite", type=Path, help="a SQLite book (prepare) or prepared copy")
    parser.add_argument("--postgres", help="URL of a PostgreSQL book or prepared copy")
    parser.add_argument("--to", help="prepare: the file or database name of the copy")
    parser.add_argument("--addresses", type=int, default=58_000)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    if bool(args.sqlite) == bool(args.postgres):
        parser.error("give one of --sqlite FILE or --postgres URL")
    print(f"code: {Path(payments.__file__).parents[2]}", flush=True)
    if args.command == "prepare":
        if not args.to:
            parser.error("prepare needs --to")
        if args.sqlite:
            shutil.copyfile(args.sqlite, args.to)
            prepare(f"sqlite:///{Path(args.to).resolve()}", args.addresses)
        else:
            prepare(_pg_copy(args.postgres, args.to), args.addresses)
        return
    for _ in range(args.runs):
        if args.sqlite:
            copy = args.sqlite.with_name(f"{args.sqlite.stem}_run{os.getpid()}.db")
            shutil.copyfile(args.sqlite, copy)
            try:
                pay_once(f"sqlite:///{copy.resolve()}")
            finally:
                copy.unlink()
                for suffix in ("-wal", "-shm"):
                    Path(f"{copy}{suffix}").unlink(missing_ok=True)
        else:
            name = f"{make_url(args.postgres).database}_run{os.getpid()}"
            url = _pg_copy(args.postgres, name)
            try:
                pay_once(url)
            finally:
                _pg_drop(url)


if __name__ == "__main__":
    main()
