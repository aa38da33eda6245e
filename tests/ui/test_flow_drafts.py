"""Drafts survive the terminal going away; they can be resumed or discarded; few keys suffice."""

from __future__ import annotations

from sqlmodel import Session, select
from test_flow_support import (
    SIZE,
    add_holder,
    add_mailbox,
    make_app,
    screen_text,
    wait_for_screen,
)

from pec_tui.db.models import Order, OrderLine
from pec_tui.domain.enums import OrderStatus, Plan, SignatureKit
from pec_tui.screens.confirmation import ConfirmationScreen
from pec_tui.screens.contract import ContractScreen
from pec_tui.screens.drafts import DiscardDraftModal, DraftsScreen
from pec_tui.screens.flow import FlowStepScreen, LeaveFlowModal, show_drafts
from pec_tui.screens.holder_form import HolderScreen
from pec_tui.screens.kit import KitScreen
from pec_tui.screens.order_form import OrderFormScreen
from pec_tui.screens.plan import PlanScreen
from pec_tui.services.database import open_database


def _orders(engine) -> list[Order]:
    with Session(engine) as session:
        return list(session.exec(select(Order)).all())


async def test_a_draft_survives_the_terminal_closing_and_is_resumed(sqlite_url):
    engine = open_database(sqlite_url)
    holder = add_holder(engine)
    mailbox = add_mailbox(engine, holder, "mario.rossi@pec.it")

    first = make_app(sqlite_url, engine)
    async with first.run_test(size=SIZE) as pilot:
        first.start_renewal([mailbox])
        await wait_for_screen(pilot, PlanScreen)
        await pilot.press("2", "enter")  # PRO
        await wait_for_screen(pilot, KitScreen)
        await pilot.press("1", "enter")  # smart card
        await wait_for_screen(pilot, HolderScreen)
        # The terminal goes away here, in the middle of the flow.

    [draft] = _orders(engine)
    assert draft.status == OrderStatus.DRAFT.value and draft.draft_state["step"] == "holder"

    second = make_app(sqlite_url, engine)
    async with second.run_test(size=SIZE) as pilot:
        drafts = await wait_for_screen(pilot, DraftsScreen)
        assert "mario.rossi@pec.it" in str(drafts.query_one("#drafts-table").get_row_at(0))
        await pilot.press("enter")
        form = await wait_for_screen(pilot, HolderScreen)
        assert form.draft.items[0].plan is Plan.PRO
        assert form.draft.kit is SignatureKit.SMART_CARD
        await pilot.press("escape")
        kit = await wait_for_screen(pilot, KitScreen)
        assert kit.query_one("#kit-choices").highlighted == 1
        await pilot.press("enter")
        await wait_for_screen(pilot, HolderScreen)
        await pilot.press("enter")
        await wait_for_screen(pilot, OrderFormScreen)
        await pilot.press("enter")
        await wait_for_screen(pilot, ContractScreen)
        await pilot.press("1", "2", "3", "enter")
        await wait_for_screen(pilot, ConfirmationScreen)

    [order] = _orders(engine)
    assert order.id == draft.id and order.status == OrderStatus.AWAITING_PAYMENT.value
    assert order.signature_kit == SignatureKit.SMART_CARD.value
    with Session(engine) as session:
        plans = session.exec(select(OrderLine.plan).where(OrderLine.plan.is_not(None))).all()
    assert plans == ["PRO"]


async def test_leaving_the_flow_keeps_or_discards_the_draft(sqlite_url):
    app = make_app(sqlite_url)
    holder = add_holder(app.engine)
    mailbox = add_mailbox(app.engine, holder, "mario.rossi@pec.it")
    async with app.run_test(size=SIZE) as pilot:
        app.start_renewal([mailbox])
        await wait_for_screen(pilot, PlanScreen)
        await pilot.press("escape")
        await wait_for_screen(pilot, LeaveFlowModal)
        await pilot.press("escape")  # stay
        await wait_for_screen(pilot, PlanScreen)
        await pilot.press("3", "escape")
        await wait_for_screen(pilot, LeaveFlowModal)
        await pilot.press("k")  # keep the draft
        await pilot.pause(0.3)
        assert not isinstance(app.screen, FlowStepScreen)
        [kept] = _orders(app.engine)
        assert kept.draft_state["items"][0]["plan"] == "PREMIUM"

        show_drafts(app)
        drafts = await wait_for_screen(pilot, DraftsScreen)
        await pilot.pause(0.3)
        assert "mario.rossi@pec.it" in str(drafts.query_one("#drafts-table").get_row_at(0))
        await pilot.press("d")
        await wait_for_screen(pilot, DiscardDraftModal)
        await pilot.press("n")
        await wait_for_screen(pilot, DraftsScreen)
        assert _orders(app.engine)
        await pilot.press("d")
        await wait_for_screen(pilot, DiscardDraftModal)
        await pilot.press("y")
        await wait_for_screen(pilot, DraftsScreen)
        await pilot.pause(0.3)
        assert _orders(app.engine) == []
        assert "No unfinished renewals" in screen_text(drafts)
        await pilot.press("escape")

        app.start_renewal([mailbox])
        await wait_for_screen(pilot, PlanScreen)
        await pilot.press("escape")
        await wait_for_screen(pilot, LeaveFlowModal)
        await pilot.press("d")  # discard straight away
        await pilot.pause(0.3)
        assert _orders(app.engine) == []


async def test_renewing_one_mailbox_with_the_defaults_takes_few_keys(sqlite_url):
    """(h) From the mailbox list: its Rinnova key, then the flow's keys, back to the list."""
    app = make_app(sqlite_url)
    holder = add_holder(app.engine)
    mailbox = add_mailbox(app.engine, holder, "mario.rossi@pec.it")
    keys_on_the_list = 1  # Rinnova on the highlighted mailbox (the mailbox list's key)
    flow_keys = [
        "enter",  # Tipo casella: keep the plan, Prosegui
        "enter",  # Firma digitale: none
        "enter",  # Dati intestatario: confirmed as they are
        "enter",  # Modulo ordine: bank transfer, 1 year
        "1",  # Condizioni generali
        "2",  # Clausole vessatorie
        "3",  # Informativa privacy
        "enter",  # CONFERMA e completa l'ordine
        "enter",  # Conferma: back to the mailbox list
    ]
    steps = [PlanScreen, KitScreen, HolderScreen, OrderFormScreen, ContractScreen]
    async with app.run_test(size=SIZE) as pilot:
        app.start_renewal([mailbox])
        pressed = 0
        for screen_type, keys in zip(
            [*steps, ConfirmationScreen],
            [["enter"], ["enter"], ["enter"], ["enter"], ["1", "2", "3", "enter"], ["enter"]],
            strict=True,
        ):
            await wait_for_screen(pilot, screen_type)
            await pilot.press(*keys)
            pressed += len(keys)
        await pilot.pause(0.3)
        assert not isinstance(app.screen, (FlowStepScreen, ConfirmationScreen))
    assert pressed == len(flow_keys)
    assert keys_on_the_list + pressed <= 12
    [order] = _orders(app.engine)
    assert order.status == OrderStatus.AWAITING_PAYMENT.value
