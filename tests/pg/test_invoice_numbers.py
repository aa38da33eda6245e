"""Invoice numbers under concurrency: 8 processes paying at once take every number of the
year exactly once, with no hole; the same order paid by all of them gets one invoice."""

from __future__ import annotations

import multiprocessing
from datetime import date, timedelta
from decimal import Decimal

import pytest
from book_builder import add_holder, add_mailbox, confirm_renewal, set_issuer
from sqlmodel import Session, select

from pec_tui.db.engine import make_engine
from pec_tui.db.models import Invoice, Payment

TODAY = date.today()
PROCESSES = 8
ORDERS_EACH = 2


def _pay_in_turns(url: str, numbers: list[int], shared: int, barrier, results) -> None:
    """Child process: pay its own orders, each after meeting the others, then the shared one."""
    from pec_tui.services import payments
    from pec_tui.services.actor import SYSTEM

    engine = make_engine(url)
    for number in [*numbers, shared]:
        barrier.wait(timeout=120)
        try:
            result = payments.register_payment(
                engine, SYSTEM, number, Decimal("30.50"), "carta", today=date.today()
            )
            results.put((number, result.invoice, result.already_paid))
        except Exception as exc:  # reported to the parent, which fails the test
            results.put((number, f"error {type(exc).__name__}: {exc}", None))
    engine.dispose()


@pytest.mark.parametrize(
    "db_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_eight_processes_paying_at_once_number_without_gaps(engine, db_url):
    set_issuer(engine)
    holder = add_holder(engine)
    numbers = []
    for i in range(PROCESSES * ORDERS_EACH + 1):
        box = add_mailbox(
            engine, holder, f"box{i}@pec.it", TODAY + timedelta(days=30 + i), plan="PRO"
        )
        numbers.append(confirm_renewal(engine, [box], TODAY).number)
    shared = numbers.pop()
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES)
    results = context.Queue()
    workers = [
        context.Process(
            target=_pay_in_turns,
            args=(db_url, numbers[p::PROCESSES], shared, barrier, results),
        )
        for p in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=300) for _ in range(PROCESSES * (ORDERS_EACH + 1))]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert [o for o in outcomes if str(o[1]).startswith("error")] == []
    assert sorted(o[2] for o in outcomes if o[0] == shared) == [False] + [True] * (PROCESSES - 1)

    total = PROCESSES * ORDERS_EACH + 1
    with Session(engine) as session:
        found = session.exec(select(Invoice).order_by(Invoice.number)).all()
        assert [i.number for i in found] == list(range(1, total + 1))
        assert {i.year for i in found} == {TODAY.year}
        assert {i.status for i in found} == {"emessa"}
        assert len({i.order_id for i in found}) == total
        assert len({i.file_name for i in found}) == total
        assert len(session.exec(select(Payment)).all()) == total
    fresh = {o[1] for o in outcomes if o[2] is False}
    assert fresh == {f"{n}/{TODAY.year}" for n in range(1, total + 1)}
