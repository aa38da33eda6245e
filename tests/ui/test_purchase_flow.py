"""Acquisto from Area clienti: n, the address, the flow's steps with keys, CONFERMA."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select
from test_flow_support import (
    SIZE,
    TODAY,
    add_holder,
    add_mailbox,
    make_app,
    screen_text,
    wait_for_screen,
)
from textual.widgets import Input

from pec_tui.db.models import Holder, Order, OrderLine
from pec_tui.domain.enums import OrderStatus, Plan
from pec_tui.domain.money import to_cents
from pec_tui.domain.pricing import MailboxChoice, quote
from pec_tui.screens.confirmation import ConfirmationScreen
from pec_tui.screens.contract import ContractScreen
from pec_tui.screens.drafts import DraftsScreen
from pec_tui.screens.holder import CustomerAreaScreen
from pec_tui.screens.holder_form import HolderFormScreen
from pec_tui.screens.kit import KitScreen
from pec_tui.screens.order_form import OrderFormScreen
from pec_tui.screens.plan import PlanScreen
from pec_tui.screens.purchase import PurchaseAddressModal
from pec_tui.services.database import open_database
from pec_tui.services.prices import get_price_list


async def _open_address_modal(pilot, holder_id: int) -> PurchaseAddressModal:
    pilot.app.push_screen(CustomerAreaScreen(pilot.app.ctx, holder_id))
    screen = await wait_for_screen(pilot, CustomerAreaScreen)
    for _ in range(100):
        if screen.holder is not None:
            break
        await pilot.pause(0.05)
    await pilot.press("n")
    return await wait_for_screen(pilot, PurchaseAddressModal)


async def test_purchase_from_customer_area(sqlite_url):
    engine = open_database(sqlite_url)
    holder = add_holder(engine)
    app = make_app(sqlite_url, engine)
    async with app.run_test(size=SIZE) as pilot:
        await _open_address_modal(pilot, holder)
        await pilot.press(*"Nuova.Casella@pec.it", "enter")
        await wait_for_screen(pilot, PlanScreen)
        await pilot.press("2", "enter")  # PRO
        await wait_for_screen(pilot, KitScreen)
        await pilot.press("enter")
        form = await wait_for_screen(pilot, HolderFormScreen)
        # The holder's data can be edited during a purchase, as during a renewal.
        form.query_one("#phone", Input).value = "+39 06 1234567"
        await pilot.press("enter")
        await wait_for_screen(pilot, OrderFormScreen)
        await pilot.press("plus", "enter")  # 2 years, bonifico
        await wait_for_screen(pilot, ContractScreen)
        await pilot.press("1", "2", "3", "enter")
        confirmation = await wait_for_screen(pilot, ConfirmationScreen)
        text = screen_text(confirmation)
        with Session(engine) as session:
            order = session.exec(select(Order)).one()
            line = session.exec(select(OrderLine).where(OrderLine.order_id == order.id)).first()
        assert str(order.number) in text
        assert "mailbox is created once the payment is registered" in text
        await pilot.press("enter")
        await wait_for_screen(pilot, CustomerAreaScreen)
    expected = quote(get_price_list(engine), [MailboxChoice("nuova.casella@pec.it", Plan.PRO)], 2)
    assert (order.type, order.status) == ("acquisto", OrderStatus.AWAITING_PAYMENT.value)
    assert order.holder_id == holder and order.years == 2
    assert order.gross_cents == to_cents(expected.gross)
    assert line.address == "nuova.casella@pec.it"
    with Session(engine) as session:
        assert session.get(Holder, holder).phone == "+39 06 1234567"


async def test_a_purchase_survives_the_terminal_closing_and_is_resumed(sqlite_url):
    engine = open_database(sqlite_url)
    holder = add_holder(engine)
    first = make_app(sqlite_url, engine)
    async with first.run_test(size=SIZE) as pilot:
        await _open_address_modal(pilot, holder)
        await pilot.press(*"nuova@pec.it", "enter")
        await wait_for_screen(pilot, PlanScreen)
        await pilot.press("3", "enter")  # PREMIUM
        await wait_for_screen(pilot, KitScreen)
        await pilot.press("enter")
        await wait_for_screen(pilot, HolderFormScreen)
        # The terminal goes away here, in the middle of the purchase.

    with Session(engine) as session:
        [draft] = session.exec(select(Order)).all()
    assert (draft.type, draft.status) == ("acquisto", OrderStatus.DRAFT.value)
    assert draft.draft_state["step"] == "holder"

    second = make_app(sqlite_url, engine)
    async with second.run_test(size=SIZE) as pilot:
        drafts = await wait_for_screen(pilot, DraftsScreen)
        assert "nuova@pec.it" in str(drafts.query_one("#drafts-table").get_row_at(0))
        await pilot.press("enter")
        form = await wait_for_screen(pilot, HolderFormScreen)
        assert form.draft.items[0].plan is Plan.PREMIUM and form.draft.items[0].is_new
        await pilot.press("enter")
        await wait_for_screen(pilot, OrderFormScreen)
        await pilot.press("enter")
        await wait_for_screen(pilot, ContractScreen)
        await pilot.press("1", "2", "3", "enter")
        await wait_for_screen(pilot, ConfirmationScreen)

    with Session(engine) as session:
        [order] = session.exec(select(Order)).all()
        [plan_line] = session.exec(
            select(OrderLine).where(OrderLine.order_id == order.id, OrderLine.plan.is_not(None))
        ).all()
    assert order.id == draft.id and order.status == OrderStatus.AWAITING_PAYMENT.value
    assert (plan_line.address, plan_line.plan, plan_line.mailbox_id) == (
        "nuova@pec.it",
        "PREMIUM",
        None,
    )


async def test_another_holders_cancelled_address_is_refused(sqlite_url):
    engine = open_database(sqlite_url)
    holder = add_holder(engine)
    other = add_holder(
        engine,
        first_name="Anna",
        last_name="Bianchi",
        display_name="Anna Bianchi",
        codice_fiscale="BNCNNA80A41H501X",
        reference_email="anna@example.it",
    )
    add_mailbox(engine, other, "vecchia@pec.it", expiry=TODAY - timedelta(days=91))
    app = make_app(sqlite_url, engine)
    async with app.run_test(size=SIZE) as pilot:
        modal = await _open_address_modal(pilot, holder)
        await pilot.press(*"not-an-address", "enter")
        await pilot.pause(0.2)
        assert "not a valid PEC address" in screen_text(modal)
        await pilot.press(*("backspace" for _ in "not-an-address"))
        await pilot.press(*"vecchia@pec.it", "enter")
        for _ in range(100):
            if "former holder" in str(modal.query_one("#purchase-address-error").render()):
                break
            await pilot.pause(0.05)
        assert "can be bought again only by its former holder" in screen_text(modal)
        assert isinstance(app.screen, PurchaseAddressModal)
        await pilot.press("escape")
        await wait_for_screen(pilot, CustomerAreaScreen)
    with Session(engine) as session:
        assert session.exec(select(Order)).all() == []
