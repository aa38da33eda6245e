"""Time the daily lifecycle job on a large book (SQLite by default).

    python bench/lifecycle_job.py --mailboxes 1000000 [--url sqlite:///...]

Builds the book with plain executemany (expiries spread over two years, 30% with automatic
renewal), then runs the job for one day, again for the same day (nothing to do), and for
the next day, printing the time of each run, its counts and the query plan of the page
query. Not part of the test run.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select, tuple_

from pec_tui.db.engine import make_engine, upgrade
from pec_tui.db.models import Holder, Mailbox
from pec_tui.services.database import ensure_reference_data
from pec_tui.services.lifecycle import BATCH_SIZE, _windows, run_lifecycle

TODAY = date(2027, 1, 1)


def build(engine, mailboxes: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    now = datetime.now(UTC).isoformat()
    holders = max(1, mailboxes // 3)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO reseller (id, name, credit_cents, created_at, version) "
            "VALUES (1, 'Bench Srl', 100000000, ?, 1)",
            (now,),
        )
        connection.exec_driver_sql(
            "INSERT INTO holder (id, reseller_id, kind, display_name, country, reference_email, "
            "split_payment, created_at, updated_at, version) VALUES (?, 1, 'privato', ?, 'IT', ?, "
            "0, ?, ?, 1)",
            [(i, f"Titolare {i}", f"t{i}@example.it", now, now) for i in range(1, holders + 1)],
        )
        rows = []
        for i in range(1, mailboxes + 1):
            auto = rng.random() < 0.3
            rows.append(
                (
                    i,
                    f"box{i}@pec.example.it",
                    rng.randint(1, holders),
                    rng.choice(("STANDARD", "PRO", "PREMIUM")),
                    (TODAY + timedelta(days=rng.randint(-400, 330))).isoformat(),
                    int(auto),
                    "credito" if auto else None,
                    now,
                )
            )
            if len(rows) == 50_000:
                _insert_mailboxes(connection, rows)
                rows = []
        if rows:
            _insert_mailboxes(connection, rows)
        connection.exec_driver_sql("ANALYZE")


def _insert_mailboxes(connection, rows) -> None:
    connection.exec_driver_sql(
        "INSERT INTO mailbox (id, address, holder_id, reseller_id, plan, expiry, auto_renew, "
        "renewal_years, payment_method, mailbox_used_mb, archive_used_mb, extra_mailbox_gb, "
        "extra_archive_gb, promo, created_at, version) VALUES (?, ?, ?, 1, ?, ?, ?, 1, ?, 0, 0, "
        "0, 0, 0, ?, 1)",
        rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mailboxes", type=int, default=200_000)
    parser.add_argument("--url", help="database URL (default: a new SQLite file)")
    args = parser.parse_args()
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
    for label, day in (
        ("first run", TODAY),
        ("same day again", TODAY),
        ("next day", TODAY + timedelta(days=1)),
    ):
        started = time.perf_counter()
        report = run_lifecycle(engine, day)
        print(
            f"{label:15} {time.perf_counter() - started:6.2f} s  examined {report.examined:,}  "
            f"reminders {report.reminders:,}  suspended {report.suspended_notices:,}  "
            f"cancelled {report.cancelled_notices:,}  auto-renewal orders "
            f"{report.renewal_orders:,} (paid {report.paid_with_credit:,})"
        )


if __name__ == "__main__":
    main()
