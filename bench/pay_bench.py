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

`--statements` also prints each statement of the payment that took 50 ms or more (the
client's wall time around the driver's execute; COPY is not seen).

PostgreSQL only, `--schema` times the same payment on a copy whose `mailbox` was changed
first (not timed; the copy is dropped after), to see what a schema would give before
writing its migration:

    as-is       the schema as it is (the default)
    fillfactor  `mailbox` rewritten with fillfactor 70 (VACUUM FULL): room on each page
    hot         fillfactor 70 and the two expiry indexes dropped: no index of `mailbox`
                holds a column the payment changes, so each new row version is HOT
    narrow      `hot`, plus a narrow `mailbox_term` (id, reseller, expiry and the covering
                columns, fillfactor 70) with the two expiry indexes, kept by a statement
                trigger as `mailbox_search` is: where the expiry-ordered reads would go
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
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


_COVERING = "expiry, id, auto_renew, plan, extra_mailbox_gb, extra_archive_gb"
_TERM = f"""
CREATE TABLE mailbox_term (
    id integer PRIMARY KEY, reseller_id integer, expiry date NOT NULL,
    auto_renew boolean NOT NULL, plan varchar(10) NOT NULL,
    extra_mailbox_gb integer NOT NULL, extra_archive_gb integer NOT NULL
) WITH (fillfactor = 70);
INSERT INTO mailbox_term
SELECT id, reseller_id, expiry, auto_renew, plan, extra_mailbox_gb, extra_archive_gb
FROM mailbox ORDER BY id;
CREATE INDEX ix_mailbox_term_expiry_id ON mailbox_term ({_COVERING});
CREATE INDEX ix_mailbox_term_reseller_expiry_id ON mailbox_term (reseller_id, {_COVERING});
CREATE FUNCTION bench_term_updated() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $$
BEGIN
    UPDATE mailbox_term t
    SET reseller_id = n.reseller_id, expiry = n.expiry, auto_renew = n.auto_renew,
        plan = n.plan, extra_mailbox_gb = n.extra_mailbox_gb,
        extra_archive_gb = n.extra_archive_gb
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE t.id = n.id
      AND (n.reseller_id, n.expiry, n.auto_renew, n.plan, n.extra_mailbox_gb,
           n.extra_archive_gb)
          IS DISTINCT FROM (o.reseller_id, o.expiry, o.auto_renew, o.plan,
                            o.extra_mailbox_gb, o.extra_archive_gb);
    RETURN NULL;
END $$;
CREATE TRIGGER bench_term_au AFTER UPDATE ON mailbox
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION bench_term_updated();
"""
SCHEMAS: dict[str, tuple[str, ...]] = {
    "as-is": (),
    "fillfactor": ("ALTER TABLE mailbox SET (fillfactor = 70)", "VACUUM FULL mailbox"),
    "hot": (
        "DROP INDEX ix_mailbox_expiry_id",
        "DROP INDEX ix_mailbox_reseller_expiry_id",
        "ALTER TABLE mailbox SET (fillfactor = 70)",
        "VACUUM FULL mailbox",
    ),
}
SCHEMAS["narrow"] = (*SCHEMAS["hot"], _TERM)


def change_schema(url: str, schema: str) -> None:
    """Apply `SCHEMAS[schema]` to the copy at `url`, then analyse it (not timed)."""
    statements = (*SCHEMAS[schema], "VACUUM ANALYZE") if SCHEMAS[schema] else ()
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            for statement in statements:
                connection.exec_driver_sql(statement)
    finally:
        engine.dispose()


def _time_statements(engine: Any, slow: list[tuple[float, str]]) -> None:
    """Record each statement of 50 ms or more in `slow` (seconds, its first words)."""

    def before(conn: Any, _cursor: Any, _statement: str, *_args: Any) -> None:
        conn.info.setdefault("bench_started", []).append(time.perf_counter())

    def after(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seconds = time.perf_counter() - conn.info["bench_started"].pop()
        if seconds >= 0.05:
            slow.append((seconds, " ".join(statement.split())[:90]))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)


def pay_once(url: str, statements: bool = False) -> None:
    number, gross, _lines = order_of(url, last_number(url) - 1)
    engine = open_database(url, migrate=False)
    slow: list[tuple[float, str]] = []
    if statements:
        _time_statements(engine, slow)
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
    for seconds, statement in slow:
        print(f"    {seconds * 1000:7.0f} ms  {statement}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("prepare", "pay"))
    parser.add_argument("--sqlite", type=Path, help="a SQLite book (prepare) or prepared copy")
    parser.add_argument("--postgres", help="URL of a PostgreSQL book or prepared copy")
    parser.add_argument("--to", help="prepare: the file or database name of the copy")
    parser.add_argument("--addresses", type=int, default=58_000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--statements", action="store_true", help="print slow statements")
    parser.add_argument("--schema", choices=tuple(SCHEMAS), default="as-is")
    args = parser.parse_args()
    if bool(args.sqlite) == bool(args.postgres):
        parser.error("give one of --sqlite FILE or --postgres URL")
    if args.schema != "as-is" and not args.postgres:
        parser.error("--schema is for PostgreSQL")
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
                pay_once(f"sqlite:///{copy.resolve()}", args.statements)
            finally:
                copy.unlink()
                for suffix in ("-wal", "-shm"):
                    Path(f"{copy}{suffix}").unlink(missing_ok=True)
        else:
            name = f"{make_url(args.postgres).database}_run{os.getpid()}"
            url = _pg_copy(args.postgres, name)
            try:
                change_schema(url, args.schema)
                pay_once(url, args.statements)
            finally:
                _pg_drop(url)


if __name__ == "__main__":
    main()
