"""Orders as an operator uses them: the list, one order, Registra pagamento, Annulla."""

from __future__ import annotations

import re
from datetime import date, timedelta

from book_builder import add_holder, add_mailbox, add_reseller, confirm_renewal
from sqlmodel import Session, select
from textual.widgets import DataTable, Input, Label, Static

from pec_tui.app import PecApp
from pec_tui.config import Settings
from pec_tui.db.models import Mailbox, Order, Payment, Reseller
from pec_tui.dialogs.confirm_cancel import ConfirmCancelModal
from pec_tui.domain.enums import OrderStatus, Role
from pec_tui.domain.lifecycle import renewed_expiry
from pec_tui.screens.confirmation import OrderLinesScreen
from pec_tui.screens.orders import (
    OrderDetailScreen,
    OrdersScreen,
    PaymentScreen,
)
from pec_tui.services.actor import Actor
from pec_tui.services.database import open_database
from pec_tui.services.order_queries import LINES_LISTED
from pec_tui.widgets.lazy_list import LazyList

TODAY = date(2026, 11, 26)
SIZE = (120, 40)


def _book(engine) -> list[int]:
    holder = add_holder(engine)
    return [
        add_mailbox(engine, holder, "mario.rossi@pec.it", date(2027, 1, 10), plan="PRO"),
        add_mailbox(engine, holder, "studio.rossi@pec.it", date(2026, 12, 20)),
    ]


def _order(engine, mailbox_id: int) -> int:
    return confirm_renewal(engine, [mailbox_id], TODAY).number


def _app(sqlite_url: str):
    engine = open_database(sqlite_url)
    return engine, PecApp(Settings(database_url=sqlite_url), engine, today=lambda: TODAY)


async def _press_settled(app, pilot, key: str) -> None:
    """`key`, then what its workers read shown."""
    await pilot.press(key)
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def _open_order(app, pilot, number: int) -> OrderDetailScreen:
    await _press_settled(app, pilot, "f6")
    assert isinstance(app.screen, OrdersScreen)
    table = app.screen.query_one("#orders-table", DataTable)
    numbers = [table.get_row_at(i)[0] for i in range(table.row_count)]
    assert str(number) in numbers
    table.move_cursor(row=numbers.index(str(number)))
    await _press_settled(app, pilot, "enter")
    assert isinstance(app.screen, OrderDetailScreen)
    return app.screen


async def test_list_detail_and_register_payment(sqlite_url):
    engine, app = _app(sqlite_url)
    pro, _std = _book(engine)
    number = _order(engine, pro)
    async with app.run_test(size=SIZE) as pilot:
        detail = await _open_order(app, pilot, number)
        facts = str(detail.query_one("#order-facts", Static).render())
        assert str(number) in facts and "Awaiting payment" in facts

        await pilot.press("p")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, PaymentScreen)
        amount = form.query_one("#amount", Input)
        gross = amount.value
        amount.value = "1,00"
        form.submit()
        await pilot.pause()
        assert str(form.query_one("#amount-error", Label).render())
        with Session(engine) as session:
            assert session.exec(select(Payment)).first() is None

        amount.value = gross
        form.query_one("#reference", Input).value = "CRO 123"
        form.submit()
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen is detail
        assert "CRO 123" in str(detail.query_one("#order-payment", Static).render())
        assert not detail.check_action("pay", ())

    with Session(engine) as session:
        order = session.exec(select(Order).where(Order.number == number)).one()
        assert order.status == OrderStatus.PAID.value
        mailbox = session.get(Mailbox, pro)
        assert mailbox.expiry == renewed_expiry(date(2027, 1, 10), order.years)


async def test_cancel_an_unpaid_order_after_confirming(sqlite_url):
    engine, app = _app(sqlite_url)
    pro, std = _book(engine)
    _order(engine, pro)
    number = _order(engine, std)
    async with app.run_test(size=SIZE) as pilot:
        detail = await _open_order(app, pilot, number)
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmCancelModal)
        await pilot.press("n")
        await pilot.pause()
        assert app.screen is detail
        with Session(engine) as session:
            order = session.exec(select(Order).where(Order.number == number)).one()
            assert order.status == OrderStatus.AWAITING_PAYMENT.value

        await pilot.press("a")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "Cancelled" in str(detail.query_one("#order-facts", Static).render())
        assert not detail.check_action("cancel_order", ())

    with Session(engine) as session:
        statuses = {o.number: o.status for o in session.exec(select(Order)).all()}
        assert statuses[number] == OrderStatus.CANCELLED.value
        assert OrderStatus.AWAITING_PAYMENT.value in statuses.values()


async def test_a_reseller_pays_with_credit_from_the_order_detail(sqlite_url):
    engine = open_database(sqlite_url)
    shop = add_reseller(engine, credit_cents=10_000)
    holder = add_holder(engine, reseller_id=shop)
    box = add_mailbox(engine, holder, "mario.rossi@pec.it", date(2027, 1, 10), reseller_id=shop)
    number = confirm_renewal(engine, [box], TODAY).number
    reseller = Actor("negozio", Role.RESELLER, operator_id=None, reseller_id=shop)
    app = PecApp(Settings(database_url=sqlite_url), engine, actor=reseller, today=lambda: TODAY)
    async with app.run_test(size=SIZE) as pilot:
        detail = await _open_order(app, pilot, number)
        payment = str(detail.query_one("#order-payment", Static).render())
        assert "Awaiting the provider" in payment
        assert not detail.check_action("pay", ())  # transfers are the provider's to register
        keys = {b.binding.description for b in detail.active_bindings.values()}
        assert "Pay with credit" in keys and "Register payment" not in keys
        await pilot.press("p")
        await pilot.pause()
        assert app.screen is detail

        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmCancelModal)
        await pilot.press("y")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen is detail
        assert "prepaid credit" in str(detail.query_one("#order-payment", Static).render())
        assert not detail.check_action("pay_credit", ())

    with Session(engine) as session:
        order = session.exec(select(Order).where(Order.number == number)).one()
        assert order.status == OrderStatus.PAID.value
        assert session.get(Reseller, shop).credit_cents == 10_000 - order.gross_cents
        assert session.get(Mailbox, box).expiry == renewed_expiry(date(2027, 1, 10), 1)


def _long_book(engine, count: int) -> list[int]:
    """`count` mailboxes of one holder: every third PRO, the rest STANDARD."""
    holder = add_holder(engine)
    return [
        add_mailbox(
            engine,
            holder,
            f"casella{i:03d}@pec.it",
            date(2026, 12, 1) + timedelta(days=i % 20),
            plan="PRO" if i % 3 == 0 else "STANDARD",
        )
        for i in range(count)
    ]


async def test_a_long_order_is_summed_up_by_item_and_l_lists_every_line(sqlite_url):
    engine, app = _app(sqlite_url)
    count = LINES_LISTED + 30
    number = confirm_renewal(engine, _long_book(engine, count), TODAY).number
    async with app.run_test(size=SIZE) as pilot:
        detail = await _open_order(app, pilot, number)
        assert detail.summarised and detail.detail is not None
        assert detail.detail.lines == () and detail.detail.line_count == count
        note = str(detail.query_one("#order-lines-note", Static).render())
        assert str(count) in note and "l" in note
        table = detail.query_one("#order-lines", DataTable)
        rows = [table.get_row_at(i) for i in range(table.row_count)]
        # By item in price-list order: 27 PRO (every third of 80), 53 STANDARD.
        assert [(r[0], r[1]) for r in rows] == [("PEC STANDARD", "53"), ("PEC PRO", "27")]
        await _press_settled(app, pilot, "l")
        assert isinstance(app.screen, OrderLinesScreen)
        every = app.screen.query_one("#order-lines-all", LazyList)
        assert every.count == count
        assert every.entry_text(0).startswith("casella000@pec.it")
        assert every.entry_text(count - 1).startswith(f"casella{count - 1:03d}@pec.it")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, OrderDetailScreen)


async def test_a_short_order_lists_its_lines_and_has_no_full_list(sqlite_url):
    engine, app = _app(sqlite_url)
    pro, _std = _book(engine)
    number = _order(engine, pro)
    async with app.run_test(size=SIZE) as pilot:
        detail = await _open_order(app, pilot, number)
        assert not detail.summarised
        table = detail.query_one("#order-lines", DataTable)
        assert table.get_row_at(0)[0] == "mario.rossi@pec.it"
        assert not detail.check_action("lines", ())


async def test_the_orders_list_fits_80_columns_with_whole_numbers_and_dates(sqlite_url):
    engine, app = _app(sqlite_url)
    pro, _std = _book(engine)
    number = _order(engine, pro)
    async with app.run_test(size=(80, 24)) as pilot:
        await _press_settled(app, pilot, "f6")
        table = app.screen.query_one("#orders-table", DataTable)
        # Each column got its width when it was made: the first frame draws the rows whole,
        # not at the widths of the empty table.
        assert not any(column.auto_width for column in table.columns.values())
        first = table.render_line(1).text
        assert str(number) in first and re.search(r" \d\d/\d\d/\d{4} ", first)
        assert table.max_scroll_x == 0
