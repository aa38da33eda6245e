"""The same payment registered at the same moment by several processes: applied once.

The processes meet at a barrier and then register the same order; on PostgreSQL the order
row lock makes them take turns, on SQLite `BEGIN IMMEDIATE` does. A separate test holds the
order's row lock itself while two `pec-tui payments register` processes queue up behind it.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time
from datetime import date, timedelta
from decimal import Decimal

import pytest
from book_builder import add_holder, add_mailbox, confirm_renewal, get
from sqlalchemy import text
from sqlmodel import Session, select

from pec_tui.db.engine import make_engine
from pec_tui.db.models import AuditEvent, Mailbox, Order, OutboxMessage, Payment
from pec_tui.domain.lifecycle import add_years

TODAY = date.today()
PROCESSES = 4
ORDERS = 5


def _register_in_turns(url: str, numbers: list[int], amount: str, barrier, results) -> None:
    """Child process: for each order, wait for the others, then register its payment."""
    from pec_tui.services import payments
    from pec_tui.services.actor import SYSTEM

    engine = make_engine(url)
    for number in numbers:
        barrier.wait(timeout=60)
        try:
            result = payments.register_payment(
                engine, SYSTEM, number, Decimal(amount), "bonifico", today=date.today()
            )
            results.put((number, "already" if result.already_paid else "paid"))
        except Exception as exc:  # reported to the parent, which fails the test
            results.put((number, f"error {type(exc).__name__}: {exc}"))
    engine.dispose()


def _book(engine, count: int) -> tuple[list[int], list[int], list[date]]:
    holder = add_holder(engine)
    boxes, numbers, expiries = [], [], []
    for i in range(count):
        expiry = TODAY + timedelta(days=30 + i)
        box = add_mailbox(engine, holder, f"box{i}@pec.it", expiry, plan="PRO")
        numbers.append(confirm_renewal(engine, [box], TODAY).number)
        boxes.append(box)
        expiries.append(expiry)
    return boxes, numbers, expiries


@pytest.mark.parametrize(
    "db_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_processes_racing_to_register_the_same_payment(engine, db_url):
    boxes, numbers, expiries = _book(engine, ORDERS)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES)
    results = context.Queue()
    workers = [
        context.Process(
            target=_register_in_turns, args=(db_url, numbers, "30.50", barrier, results)
        )
        for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=120) for _ in range(PROCESSES * ORDERS)]
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0

    errors = [o for o in outcomes if o[1].startswith("error")]
    assert errors == []
    for number in numbers:
        assert sorted(o for n, o in outcomes if n == number) == ["already"] * (PROCESSES - 1) + [
            "paid"
        ]
    for box, expiry in zip(boxes, expiries, strict=True):
        mailbox = get(engine, Mailbox, box)
        assert mailbox.expiry == add_years(expiry, 1) and mailbox.version == 2
    with Session(engine) as session:
        assert len(session.exec(select(Payment)).all()) == ORDERS
        completed = session.exec(
            select(OutboxMessage).where(OutboxMessage.kind == "renewal_completed")
        ).all()
        assert len(completed) == ORDERS
        registered = session.exec(
            select(AuditEvent).where(AuditEvent.action == "payment.register")
        ).all()
        assert len(registered) == ORDERS


def _waiting_on_locks(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(
            text(
                "select count(*) from pg_stat_activity "
                "where wait_event_type = 'Lock' and datname = current_database()"
            )
        ).scalar_one()


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_two_cli_processes_queue_behind_the_order_lock(engine, db_url):
    boxes, numbers, expiries = _book(engine, 1)
    command = [
        sys.executable,
        "-c",
        "from pec_tui.cli import main; main()",
        "--database-url",
        db_url,
        "payments",
        "register",
        str(numbers[0]),
        "--amount",
        "30,50",
        "--method",
        "bonifico",
        "--format",
        "json",
    ]
    env = {**os.environ, "PEC_TUI_SYSTEM": "1"}
    blocker = make_engine(db_url)
    try:
        with Session(blocker) as session:
            # Hold the order's row lock: both processes must wait for it, then take turns.
            session.exec(select(Order).where(Order.number == numbers[0]).with_for_update()).one()
            procs = [
                subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
                for _ in range(2)
            ]
            deadline = time.monotonic() + 60
            while _waiting_on_locks(engine) < 2:
                assert time.monotonic() < deadline, "the two processes never queued up"
                assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
                time.sleep(0.1)
            session.rollback()
        outputs = [p.communicate(timeout=60) for p in procs]
    finally:
        blocker.dispose()
    assert [p.returncode for p in procs] == [0, 0], outputs
    flags = sorted('"already_paid": true' in out.decode() for out, _err in outputs)
    assert flags == [False, True]
    mailbox = get(engine, Mailbox, boxes[0])
    assert mailbox.expiry == add_years(expiries[0], 1) and mailbox.version == 2
