"""An administrator renews mailboxes of two resellers and a direct customer in one pass."""

from __future__ import annotations

from sqlmodel import Session, col, select
from test_flow_support import (
    SIZE,
    add_holder,
    add_mailbox,
    add_reseller,
    make_app,
    screen_text,
    wait_for_screen,
)

from pec_tui.db.models import Holder, Order
from pec_tui.domain.enums import OrderStatus
from pec_tui.screens.confirmation import ConfirmationScreen
from pec_tui.screens.contract import ContractScreen
from pec_tui.screens.holder_form import HolderFormScreen
from pec_tui.screens.kit import KitScreen
from pec_tui.screens.order_form import OrderFormScreen
from pec_tui.screens.plan import PlanScreen


def _holder(engine, reseller_id: int | None, first: str, cf: str) -> int:
    holder = add_holder(
        engine,
        first_name=first,
        display_name=f"{first} Rossi",
        codice_fiscale=cf,
        reference_email=f"{first.lower()}@example.it",
    )
    with Session(engine) as session:
        row = session.get_one(Holder, holder)
        row.reseller_id = reseller_id
        session.add(row)
        session.commit()
    return holder


async def test_admin_renews_across_resellers_and_sees_every_order(sqlite_url):
    app = make_app(sqlite_url)
    engine = app.engine
    nord = add_reseller(engine, "Nord S.r.l.")
    sud = add_reseller(engine, "Sud S.r.l.")
    ids = [
        add_mailbox(engine, _holder(engine, nord, "Anna", "RSSNNA80A41H501L"), "anna@pec.it",
                    reseller_id=nord),
        add_mailbox(engine, _holder(engine, sud, "Luca", "RSSLCU80A01H501K"), "luca@pec.it",
                    reseller_id=sud),
        add_mailbox(engine, _holder(engine, None, "Sara", "RSSSRA80A41H501E"), "sara@pec.it"),
    ]  # fmt: skip
    async with app.run_test(size=SIZE) as pilot:
        app.start_renewal(ids)
        await wait_for_screen(pilot, PlanScreen)
        await pilot.press("enter")
        await wait_for_screen(pilot, KitScreen)
        await pilot.press("enter")
        holder = await wait_for_screen(pilot, HolderFormScreen)
        assert "3 orders" in screen_text(holder)
        await pilot.press("enter")
        await wait_for_screen(pilot, OrderFormScreen)
        await pilot.press("enter")
        await wait_for_screen(pilot, ContractScreen)
        await pilot.press("1", "2", "3", "enter")
        confirmation = await wait_for_screen(pilot, ConfirmationScreen)
        text = screen_text(confirmation)
        with Session(engine) as session:
            placed = session.exec(select(Order).order_by(col(Order.number))).all()
        assert [o.status for o in placed] == [OrderStatus.AWAITING_PAYMENT.value] * 3
        for order in placed:
            assert str(order.number) in text
        assert "Nord S.r.l." in text and "Sud S.r.l." in text and "Sara Rossi" in text
