"""A long renewal through the flow: the plan picker's list and Conferma's lines are drawn lazily,
Conferma sums the order up by item and `l` lists every line."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import insert
from sqlmodel import Session, select
from test_flow_support import SIZE, add_holder, make_app, screen_text, wait_for_screen

from pec_tui.db.models import Mailbox, Order, OrderLine
from pec_tui.domain.enums import OrderStatus, Plan
from pec_tui.screens.confirmation import LINES_SHOWN, ConfirmationScreen, OrderLinesScreen
from pec_tui.screens.contract import ContractScreen
from pec_tui.screens.holder_form import HolderFormScreen
from pec_tui.screens.kit import KitScreen
from pec_tui.screens.order_form import OrderFormScreen
from pec_tui.screens.plan import PlanScreen
from pec_tui.widgets.lazy_list import LazyList

COUNT = 400


def _mailboxes(engine, holder: int) -> list[int]:
    with engine.begin() as connection:
        connection.execute(
            insert(Mailbox.__table__),
            [
                {
                    "address": f"casella{i:04d}@pec.it",
                    "holder_id": holder,
                    "plan": "PRO" if i % 4 == 0 else "STANDARD",
                    "expiry": date(2026, 12, 1) + timedelta(days=i % 30),
                    "mailbox_used_mb": 100,
                    "payment_method": "bonifico",
                }
                for i in range(COUNT)
            ],
        )
    with Session(engine) as session:
        return list(session.exec(select(Mailbox.id)).all())


async def test_a_long_renewal_is_listed_lazily_and_summed_up_at_conferma(sqlite_url):
    app = make_app(sqlite_url)
    ids = _mailboxes(app.engine, add_holder(app.engine))
    async with app.run_test(size=SIZE) as pilot:
        app.start_renewal(ids)
        plan = await wait_for_screen(pilot, PlanScreen)
        mailbox_list = plan.query_one("#mailbox-list", LazyList)
        assert mailbox_list.count == COUNT
        # Only what is on screen has been drawn.
        assert len(mailbox_list._lines) < 40
        assert mailbox_list.entry_text(0).startswith("casella0000@pec.it")
        await pilot.press("pagedown", "pagedown", "3")  # the third mailbox becomes PREMIUM
        await pilot.pause()
        assert mailbox_list.highlighted == 2
        assert "PREMIUM" in mailbox_list.entry_text(2)
        assert plan.draft.items[2].plan is Plan.PREMIUM
        net = plan.draft.quote(plan.prices).net
        assert plan.draft.totals(plan.prices).net == net
        await pilot.press("enter")
        await wait_for_screen(pilot, KitScreen)
        await pilot.press("enter")
        await wait_for_screen(pilot, HolderFormScreen)
        await pilot.press("enter")
        await wait_for_screen(pilot, OrderFormScreen)
        await pilot.press("enter")
        await wait_for_screen(pilot, ContractScreen)
        await pilot.press("1", "2", "3", "enter")
        confirmation = await wait_for_screen(pilot, ConfirmationScreen)
        assert confirmation.summarised and len(confirmation.order.quote.lines) > LINES_SHOWN
        text = screen_text(confirmation)
        assert "400" in text and "PEC STANDARD" not in text  # the table holds the items
        summary = confirmation.query_one("#order-lines-summary")
        rows = [summary.get_row_at(i) for i in range(summary.row_count)]
        # In price-list order, not in the order the lines come (casella0000 is PRO).
        assert [(r[0], r[1]) for r in rows] == [
            ("PEC STANDARD", "299"),
            ("PEC PRO", "100"),
            ("PEC PREMIUM", "1"),
        ]
        await pilot.press("l")
        lines = await wait_for_screen(pilot, OrderLinesScreen)
        every = lines.query_one("#order-lines-all", LazyList)
        assert every.count == COUNT
        assert every.entry_text(0).startswith("casella0000@pec.it")
        await pilot.press("end")
        await pilot.pause()
        assert every.highlighted == COUNT - 1
        assert every.entry_text(COUNT - 1).startswith("casella0399@pec.it")
        await pilot.press("escape")
        await wait_for_screen(pilot, ConfirmationScreen)

    with Session(app.engine) as session:
        [order] = session.exec(select(Order)).all()
        assert order.status == OrderStatus.AWAITING_PAYMENT.value
        lines = session.exec(select(OrderLine).where(OrderLine.order_id == order.id)).all()
        assert len(lines) == COUNT
        assert sum(line.total_cents for line in lines) == round(net * 100)
