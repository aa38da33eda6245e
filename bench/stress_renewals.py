"""Many terminals, one PostgreSQL database: concurrent renewals of a shared pool of mailboxes.

Each of N processes makes M attempts; an attempt is `start_renewal` + `confirm_order` with a
complete draft, on 1–3 mailboxes of one holder. Every `--burst-every`-th attempt is a burst:
all processes meet at a barrier and go for the same holder's mailboxes at the same instant
(a second barrier sits between drafting and confirming). Afterwards the database is checked:
no mailbox in two open orders, order numbers unique, gap-free and increasing per terminal,
every attempt either an order or a clear `RenewalRefused`, counts matching exactly.

    python bench/stress_renewals.py                       # 8 x 200 on 300 mailboxes
    python bench/stress_renewals.py --processes 4 --attempts 50 --json

The server is PEC_TUI_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test)
or --url; the run uses a schema of its own, dropped at the end (`--url sqlite`: a temporary
SQLite file, as `pec-tui serve` shares by default). Exit status 1 on any violation.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import re
import statistics
import sys
import time
import traceback
import uuid
from dataclasses import asdict, dataclass, field, replace
from datetime import date, timedelta
from threading import BrokenBarrierError

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
MAILBOXES_PER_HOLDER = 3
BARRIER_TIMEOUT = 60


@dataclass(frozen=True)
class Attempt:
    worker: int
    index: int
    burst: bool
    mailbox_ids: tuple[int, ...]
    outcome: str  # "created", "refused_at_start", "refused_at_confirm", "error"
    seconds: float
    number: int | None = None
    message: str = ""


@dataclass
class Report:
    processes: int
    attempts_per_process: int
    mailboxes: int
    seconds: float
    attempts: int = 0
    created: int = 0
    refused_at_start: int = 0
    refused_at_confirm: int = 0
    errors: int = 0
    bursts: int = 0
    attempts_per_second: float = 0.0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    orders_in_db: int = 0
    open_renewals_in_db: int = 0
    violations: list[str] = field(default_factory=list)
    error_samples: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations and self.errors == 0


# --- database set-up ------------------------------------------------------------------------


def schema_url(server_url: str, schema: str) -> str:
    """`server_url` with its search_path set to `schema` (any `options` given are replaced)."""
    from sqlalchemy.engine import make_url

    from pec_tui.db.engine import normalise_url

    url = make_url(normalise_url(server_url)).difference_update_query(["options"])
    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False
    )


def create_schema(server_url: str) -> tuple[str, str]:
    """A fresh, migrated schema on the server; returns (its name, a URL that uses it)."""
    from sqlalchemy import text

    from pec_tui.db.engine import make_engine
    from pec_tui.services.database import upgrade_database

    schema = f"stress_{uuid.uuid4().hex[:10]}"
    admin = make_engine(schema_url(server_url, "public"))
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    url = schema_url(server_url, schema)
    upgrade_database(url)  # `pec-tui db upgrade`: a client never creates a shared schema
    return schema, url


def create_sqlite() -> tuple[str, str]:
    """A fresh, migrated SQLite file (the database `pec-tui serve` shares by default)."""
    import tempfile

    from pec_tui.services.database import open_database

    path = os.path.join(tempfile.mkdtemp(prefix="stress_"), "pec.db")
    url = f"sqlite:///{path}"
    open_database(url).dispose()
    return path, url


def drop_schema(server_url: str, schema: str) -> None:
    if server_url.startswith("sqlite"):
        import shutil

        shutil.rmtree(os.path.dirname(schema), ignore_errors=True)
        return
    from sqlalchemy import text

    from pec_tui.db.engine import make_engine

    admin = make_engine(schema_url(server_url, "public"))
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def seed(url: str, holders: int, today: date) -> list[list[int]]:
    """`holders` private holders with 3 renewable mailboxes each; their ids, per holder."""
    from sqlmodel import Session
    from stdnum.it import codicefiscale

    from pec_tui.db.engine import make_engine
    from pec_tui.db.models import Holder, Mailbox
    from pec_tui.domain.enums import HolderKind

    engine = make_engine(url)
    pool: list[list[int]] = []
    with Session(engine) as session:
        rows = []
        for n in range(holders):
            stem = f"RSSMRA85T10A{n % 1000:03d}"
            holder = Holder(
                kind=HolderKind.PRIVATE.value,
                first_name="Mario",
                last_name=f"Rossi {n}",
                display_name=f"Mario Rossi {n}",
                codice_fiscale=stem + codicefiscale.calc_check_digit(stem),
                street="Via Roma 1",
                cap="00184",
                city="Roma",
                province="RM",
                reference_email=f"mario.rossi.{n}@example.it",
            )
            rows.append(holder)
        session.add_all(rows)
        session.flush()
        for n, holder in enumerate(rows):
            boxes = [
                Mailbox(
                    address=f"box{n:04d}.{k}@pec.example.it",
                    holder_id=holder.id,
                    plan="STANDARD" if k else "PRO",
                    expiry=today + timedelta(days=10 + n % 60),
                    mailbox_used_mb=100,
                )
                for k in range(MAILBOXES_PER_HOLDER)
            ]
            session.add_all(boxes)
            session.flush()
            pool.append([b.id for b in boxes])
        session.commit()
    engine.dispose()
    return pool


# --- one terminal ---------------------------------------------------------------------------


def _pick(rng: random.Random, boxes: list[int]) -> list[int]:
    return sorted(rng.sample(boxes, rng.randint(1, len(boxes))))


def terminal(
    worker: int,
    url: str,
    pool: list[list[int]],
    burst_holders: list[list[int]],
    attempts: int,
    burst_every: int,
    seed_value: int,
    barrier,
    results,
) -> None:
    """One process: `attempts` renewals, meeting the others at the barrier for each burst."""
    from pec_tui.db.engine import make_engine
    from pec_tui.domain.draft import Consents, RenewalRefused
    from pec_tui.domain.enums import PaymentMethod
    from pec_tui.services import orders
    from pec_tui.services.actor import SYSTEM

    engine = make_engine(url, pool_size=1, max_overflow=0)
    actor = SYSTEM.on_terminal(f"stress-{worker}")
    rng = random.Random(seed_value * 1000 + worker)
    today = date.today()
    done: list[Attempt] = []

    def meet() -> None:
        barrier.wait(BARRIER_TIMEOUT)

    for index in range(attempts):
        burst_no, in_burst = divmod(index, burst_every)
        burst = in_burst == burst_every - 1 and burst_no < len(burst_holders)
        ids = _pick(rng, burst_holders[burst_no] if burst else rng.choice(pool))
        number, message, outcome = None, "", "error"
        started = time.perf_counter()
        draft = None
        try:
            if burst:
                meet()
            try:
                draft = orders.start_renewal(engine, actor, ids, today)
            except RenewalRefused as exc:
                outcome, message = "refused_at_start", exc.message
            if burst:
                meet()
            if draft is not None:
                complete = replace(
                    draft,
                    payment_method=PaymentMethod.BANK_TRANSFER,
                    consents=Consents(True, True, True),
                )
                try:
                    number = orders.confirm_order(engine, actor, complete, today)[0].number
                    outcome = "created"
                except RenewalRefused as exc:
                    outcome, message = "refused_at_confirm", exc.message
                    orders.discard_draft(engine, actor, draft.order_id)
        except BrokenBarrierError:
            message = "barrier broken: another terminal failed"
        except Exception:
            message = traceback.format_exc()
            barrier.abort()
        done.append(
            Attempt(
                worker,
                index,
                burst,
                tuple(ids),
                outcome,
                time.perf_counter() - started,
                number,
                message,
            )
        )
    engine.dispose()
    results.put([asdict(a) for a in done])


# --- the checks -----------------------------------------------------------------------------

_NUMBER_RE = re.compile(r"\b1\d{9}\b")


def check(url: str, attempts: list[Attempt]) -> tuple[list[str], int, int]:
    """What the database and the attempts must satisfy; returns (violations, orders, opens)."""
    from sqlalchemy import func
    from sqlmodel import Session, col, select

    from pec_tui.db.engine import make_engine
    from pec_tui.db.models import OpenRenewal, Order, OrderLine
    from pec_tui.domain.enums import OrderStatus
    from pec_tui.services.database import FIRST_ORDER_NUMBER

    violations: list[str] = []
    engine = make_engine(url)
    with Session(engine) as session:
        twice = session.exec(
            select(OrderLine.mailbox_id, func.count(func.distinct(OrderLine.order_id)))
            .join(Order, col(Order.id) == OrderLine.order_id)
            .where(Order.status == OrderStatus.AWAITING_PAYMENT.value)
            .where(col(OrderLine.mailbox_id).is_not(None))
            .group_by(OrderLine.mailbox_id)
            .having(func.count(func.distinct(OrderLine.order_id)) > 1)
        ).all()
        if twice:
            violations.append(f"mailboxes in two open orders: {twice[:10]}")
        confirmed = session.exec(
            select(Order.id, Order.number).where(col(Order.number).is_not(None))
        ).all()
        opens = session.exec(select(OpenRenewal.mailbox_id, OpenRenewal.order_id)).all()
        drafts = session.exec(
            select(func.count()).select_from(Order).where(Order.status == OrderStatus.DRAFT.value)
        ).one()
        lines = session.exec(
            select(OrderLine.order_id, OrderLine.mailbox_id)
            .where(col(OrderLine.mailbox_id).is_not(None))
            .distinct()
        ).all()
    engine.dispose()

    numbers = [n for _, n in confirmed]
    if len(numbers) != len(set(numbers)):
        violations.append(f"duplicate order numbers: {len(numbers) - len(set(numbers))}")
    expected = set(range(FIRST_ORDER_NUMBER, FIRST_ORDER_NUMBER + len(numbers)))
    if set(numbers) != expected:
        violations.append("order numbers are not the gap-free run from the first number")
    created = [a for a in attempts if a.outcome == "created"]
    if len(created) != len(confirmed):
        violations.append(
            f"{len(created)} attempts created an order, the database holds {len(confirmed)}"
        )
    if {a.number for a in created} != set(numbers):
        violations.append("the numbers handed to the terminals differ from those stored")
    if drafts:
        violations.append(f"{drafts} drafts left behind")
    order_boxes: dict[int, set[int]] = {}
    for order_id, mailbox_id in lines:
        order_boxes.setdefault(order_id, set()).add(mailbox_id)
    reserved: dict[int, set[int]] = {}
    for mailbox_id, order_id in opens:
        reserved.setdefault(order_id, set()).add(mailbox_id)
    if reserved != order_boxes:
        violations.append("open_renewal rows do not match the mailboxes of the open orders")
    by_number = {n: order_id for order_id, n in confirmed}
    for a in created:
        if order_boxes.get(by_number.get(a.number, -1)) != set(a.mailbox_ids):
            violations.append(f"order {a.number} does not hold the mailboxes {a.mailbox_ids}")
            break
    per_worker: dict[int, list[int]] = {}
    for a in sorted(created, key=lambda a: (a.worker, a.index)):
        per_worker.setdefault(a.worker, []).append(a.number)
    for worker, seq in per_worker.items():
        if seq != sorted(seq) or len(seq) != len(set(seq)):
            violations.append(f"terminal {worker} received decreasing order numbers")
    stored = set(numbers)
    for a in attempts:
        if a.outcome.startswith("refused"):
            cited = {int(n) for n in _NUMBER_RE.findall(a.message)}
            if not a.message.strip() or not cited & stored:
                violations.append(f"unclear refusal (no open order cited): {a.message!r}")
                break
    return violations, len(confirmed), len(opens)


# --- the run --------------------------------------------------------------------------------


def run(
    server_url: str,
    processes: int = 8,
    attempts: int = 200,
    mailboxes: int = 300,
    burst_every: int = 10,
    seed_value: int = 1,
    keep: bool = False,
) -> Report:
    schema, url = create_sqlite() if server_url.startswith("sqlite") else create_schema(server_url)
    try:
        holders = max(2, mailboxes // MAILBOXES_PER_HOLDER)
        pool = seed(url, holders, date.today())
        bursts = attempts // burst_every
        # Burst holders are kept out of the random picks: every burst meets fresh mailboxes.
        burst_count = min(bursts, holders // 2)
        burst_holders, pool = pool[:burst_count], pool[burst_count:]
        ctx = mp.get_context("spawn")
        barrier = ctx.Barrier(processes)
        results = ctx.Queue()
        workers = [
            ctx.Process(
                target=terminal,
                args=(
                    w,
                    url,
                    pool,
                    burst_holders,
                    attempts,
                    burst_every,
                    seed_value,
                    barrier,
                    results,
                ),
            )
            for w in range(processes)
        ]
        started = time.perf_counter()
        for process in workers:
            process.start()
        collected: list[Attempt] = []
        for _ in workers:
            collected.extend(
                Attempt(**{**a, "mailbox_ids": tuple(a["mailbox_ids"])}) for a in results.get()
            )
        for process in workers:
            process.join()
        seconds = time.perf_counter() - started

        report = Report(processes, attempts, holders * MAILBOXES_PER_HOLDER, seconds)
        report.attempts = len(collected)
        report.bursts = burst_count
        for a in collected:
            setattr(report, a.outcome, getattr(report, a.outcome) + 1)
        report.attempts_per_second = round(report.attempts / seconds, 1)
        latencies = sorted(a.seconds * 1000 for a in collected)
        report.p50_ms = round(statistics.median(latencies), 1)
        report.p95_ms = round(latencies[int(0.95 * (len(latencies) - 1))], 1)
        report.error_samples = [a.message for a in collected if a.outcome == "error"][:3]
        if report.attempts != processes * attempts:
            report.violations.append(
                f"{report.attempts} attempts reported, {processes * attempts} made"
            )
        if (
            report.created + report.refused_at_start + report.refused_at_confirm + report.errors
            != report.attempts
        ):
            report.violations.append("outcomes do not add up to the attempts")
        violations, report.orders_in_db, report.open_renewals_in_db = check(url, collected)
        report.violations.extend(violations)
        return report
    finally:
        if not keep:
            drop_schema(server_url, schema)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--url",
        default=os.environ.get("PEC_TUI_TEST_POSTGRES_URL", DEFAULT_URL),
        help="PostgreSQL server, or `sqlite` for a temporary SQLite file",
    )
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--attempts", type=int, default=200, help="per process")
    parser.add_argument("--mailboxes", type=int, default=300)
    parser.add_argument("--burst-every", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the schema for inspection")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    report = run(
        args.url,
        args.processes,
        args.attempts,
        args.mailboxes,
        args.burst_every,
        args.seed,
        args.keep,
    )
    if args.json:
        print(json.dumps(asdict(report)))
    else:
        print(
            f"{report.processes} processes x {report.attempts_per_process} attempts on "
            f"{report.mailboxes} mailboxes ({report.bursts} bursts): {report.seconds:.1f} s, "
            f"{report.attempts_per_second} attempts/s, p50 {report.p50_ms} ms, p95 {report.p95_ms} ms"
        )
        print(
            f"orders {report.created}, refused at start {report.refused_at_start}, "
            f"refused at confirm {report.refused_at_confirm}, errors {report.errors}"
        )
        for sample in report.error_samples:
            print("error:", sample, file=sys.stderr)
        for violation in report.violations:
            print("VIOLATION:", violation, file=sys.stderr)
        print("OK" if report.ok else "FAILED")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
