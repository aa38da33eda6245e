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
from pec_tui.dialogs.discard_draft import DiscardDraftModal
from pec_tui.dialogs.leave_flow import LeaveFlowModal
from pec_tui.domain.enums import OrderStatus, Plan, SignatureKit
from pec_tui.screens.confirmation import ConfirmationScreen
from pec_tui.screens.contract import ContractScreen
from pec_tui.screens.drafts import DraftsScreen
from pec_tui.screens.flow_step import FlowStepScreen
from pec_tui.screens.holder_form import HolderFormScreen
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
        await wait_for_screen(pilot, HolderFormScreen)
        # The terminal goes away here, in the middle of the flow.

    [draft] = _orders(engine)
    assert draft.status == OrderStatus.DRAFT.value and draft.draft_state["step"] == "holder"

    second = make_app(sqlite_url, engine)
    async with second.run_test(size=SIZE) as pilot:
        drafts = await wait_for_screen(pilot, DraftsScreen)
        assert "mario.rossi@pec.it" in str(drafts.query_one("#drafts-table").get_row_at(0))
        await pilot.press("enter")
        form = await wait_for_screen(pilot, HolderFormScreen)
        assert form.draft.items[0].plan is Plan.PRO
        assert form.draft.kit is SignatureKit.SMART_CARD
        await pilot.press("escape")
        kit = await wait_for_screen(pilot, KitScreen)
        assert kit.query_one("#kit-choices").highlighted == 1
        await pilot.press("enter")
        await wait_for_screen(pilot, HolderFormScreen)
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
        plan = await wait_for_screen(pilot, PlanScreen)
        await pilot.press("escape")
        await wait_for_screen(pilot, LeaveFlowModal)
        # Asked over the first step itself, not over an empty backdrop.
        assert app.screen_stack[-2] is plan
        await pilot.press("escape")  # stay: the very same step, nothing opened again
        assert await wait_for_screen(pilot, PlanScreen) is plan
        await pilot.press("3", "escape")
        await wait_for_screen(pilot, LeaveFlowModal)
        await pilot.press("k")  # keep the draft
        await pilot.pause(0.3)
        assert not isinstance(app.screen, FlowStepScreen)
        [kept] = _orders(app.engine)
        # The draft keeps what was changed: the mailbox's new plan.
        [changed] = kept.draft_state["changes"].values()
        assert changed["plan"] == "PREMIUM"

        await pilot.press("b")  # the mailbox list's key for the drafts
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
    """(h) From launch: the mailbox list's Rinnova key, the flow's keys, back to the list."""
    from pec_tui.screens.mailboxes import MailboxesScreen

    app = make_app(sqlite_url)
    holder = add_holder(app.engine)
    add_mailbox(app.engine, holder, "mario.rossi@pec.it")
    keys_per_screen = [
        (MailboxesScreen, ["r"]),  # Rinnova on the highlighted mailbox
        (PlanScreen, ["enter"]),  # Tipo casella: keep the plan, Prosegui
        (KitScreen, ["enter"]),  # Firma digitale: none
        (HolderFormScreen, ["enter"]),  # Dati intestatario: confirmed as they are
        (OrderFormScreen, ["enter"]),  # Modulo ordine: bank transfer, 1 year
        (ContractScreen, ["1", "2", "3", "enter"]),  # three ticks, CONFERMA
        (ConfirmationScreen, ["enter"]),  # back to the mailbox list
    ]
    pressed = 0
    async with app.run_test(size=SIZE) as pilot:
        for screen_type, keys in keys_per_screen:
            screen = await wait_for_screen(pilot, screen_type)
            if screen_type is MailboxesScreen:
                while screen.table.cursor_row is None:  # the first page loads in a thread
                    await pilot.pause(0.05)
            await pilot.press(*keys)
            pressed += len(keys)
        await wait_for_screen(pilot, MailboxesScreen)
    assert pressed == 10
    [order] = _orders(app.engine)
    assert order.status == OrderStatus.AWAITING_PAYMENT.value


async def test_the_discard_dialog_says_how_many_mailboxes_the_draft_holds(italian):
    """A whole-book draft is not mistaken for the three addresses the dialog names."""
    from datetime import UTC, datetime

    from textual.app import App

    from pec_tui.domain.draft import DraftSummary, Step

    def summary(addresses: tuple[str, ...], count: int) -> DraftSummary:
        return DraftSummary(
            order_id=7,
            billed_to="Rete PEC Italia S.r.l.",
            addresses=addresses,
            step=Step.PLAN,
            updated_at=datetime(2026, 12, 3, tzinfo=UTC),
            mailbox_count=count,
        )

    big = summary(("a@pec.it", "b@pec.it", "c@pec.it"), 51_059)
    one = summary(("a@pec.it",), 1)
    app: App[None] = App()
    async with app.run_test() as pilot:
        for draft, expected in (
            (big, "(51.059 caselle: a@pec.it, b@pec.it, c@pec.it, …) sarà eliminata."),
            (one, "(1 casella: a@pec.it) sarà eliminata."),
        ):
            app.push_screen(DiscardDraftModal(draft))
            await pilot.pause()
            text = str(app.screen.query_one("#discard-text").render())
            assert "La bozza di rinnovo per Rete PEC Italia S.r.l." in text
            assert expected in text
            await pilot.press("n")
            await pilot.pause()
