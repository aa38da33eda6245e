"""Snapshots of Scadenze e incassi at 80×24 and 120×32, on a fixed day with deterministic data."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "ui"))

import pytest  # noqa: E402
from sqlmodel import Session  # noqa: E402
from test_mailboxes_screen import TODAY, build_book, make_app, settle  # noqa: E402

from pec_tui import i18n  # noqa: E402
from pec_tui.db.models import Order, Payment  # noqa: E402
from pec_tui.domain.enums import OrderStatus, OrderType  # noqa: E402


def _orders(engine, book) -> None:
    """Orders awaiting payment of every age, and a year of payments, growing month by month."""
    holder = book.holders["Rossi Mario"]
    number = 1_000_000_000
    with Session(engine) as session:

        def add(status: OrderStatus, net_cents: int, day: date) -> Order:
            nonlocal number
            number += 1
            stamp = datetime(day.year, day.month, day.day, 9, tzinfo=UTC)
            order = Order(
                number=number,
                type=OrderType.RENEWAL.value,
                status=status.value,
                holder_id=holder,
                reseller_id=book.reseller_id,
                created_at=stamp,
                confirmed_at=stamp,
                net_cents=net_cents,
                vat_cents=net_cents * 22 // 100,
                gross_cents=net_cents + net_cents * 22 // 100,
            )
            session.add(order)
            session.flush()
            return order

        for days, cents in ((1, 2500), (3, 990), (12, 4000), (25, 990), (45, 2500)):
            add(OrderStatus.AWAITING_PAYMENT, cents, TODAY - timedelta(days=days))
        for k in range(1, 60):
            day = TODAY - timedelta(days=6 * k)
            order = add(OrderStatus.PAID, 990 + (k % 7) * 700, day)
            session.add(
                Payment(
                    order_id=order.id,
                    amount_cents=order.gross_cents,
                    method="bonifico",
                    paid_on=day,
                )
            )
        session.commit()


@pytest.mark.parametrize("size", [(80, 24), (120, 32)], ids=["80x24", "120x32"])
def test_dashboard(snap_compare, sqlite_url, size):
    i18n.set_language("it")
    app = make_app(sqlite_url)
    book = build_book(app.engine, mailboxes=200)
    _orders(app.engine, book)

    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("down")
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
