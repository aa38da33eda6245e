"""The renewal flow driven end to end with the keyboard, checked in the database afterwards."""

from __future__ import annotations

import gc
from dataclasses import replace
from datetime import date

import pytest
from sqlmodel import Session, select
from test_flow_support import (
    SIZE,
    TODAY,
    add_holder,
    add_mailbox,
    add_reseller,
    make_app,
    screen_text,
    wait_for_screen,
)

from pec_tui.db.models import Holder, Order, OrderLine, OutboxMessage
from pec_tui.dialogs.archive_deletion import ArchiveDeletionModal
from pec_tui.dialogs.message import MessageModal
from pec_tui.domain.draft import Consents
from pec_tui.domain.enums import HolderKind, OrderStatus, PaymentMethod, Plan, SignatureKit
from pec_tui.domain.money import to_cents
from pec_tui.domain.pricing import MailboxChoice, quote
from pec_tui.screens.confirmation import ConfirmationScreen
from pec_tui.screens.contract import ContractScreen
from pec_tui.screens.holder_form import HolderFormScreen
from pec_tui.screens.kit import KitScreen
from pec_tui.screens.order_form import OrderFormScreen
from pec_tui.screens.plan import PlanScreen
from pec_tui.services import orders
from pec_tui.services.actor import SYSTEM
from pec_tui.services.prices import get_price_list


def _order(engine) -> Order:
    with Session(engine) as session:
        return session.exec(select(Order).where(Order.status != OrderStatus.DRAFT.value)).one()


def _lines(engine, order_id: int) -> list[OrderLine]:
    with Session(engine) as session:
        return list(session.exec(select(OrderLine).where(OrderLine.order_id == order_id)).all())


async def _finish_from_kit(pilot) -> ConfirmationScreen:
    """Kit (none) → holder (as is) → order form (defaults) → three ticks → CONFERMA."""
    await wait_for_screen(pilot, KitScreen)
    await pilot.press("enter")
    await wait_for_screen(pilot, HolderFormScreen)
    await pilot.press("enter")
    await wait_for_screen(pilot, OrderFormScreen)
    await pilot.press("enter")
    await wait_for_screen(pilot, ContractScreen)
    await pilot.press("1", "2", "3", "enter")
    return await wait_for_screen(pilot, ConfirmationScreen)


@pytest.mark.usefixtures("italian")  # reads Italian money
async def test_one_mailbox_renews_with_the_defaults(sqlite_url):
    app = make_app(sqlite_url)
    holder = add_holder(app.engine)
    mailbox = add_mailbox(app.engine, holder, "mario.rossi@pec.it")
    async with app.run_test(size=SIZE) as pilot:
        app.start_renewal([mailbox])
        plan = await wait_for_screen(pilot, PlanScreen)
        assert "9,90 €" in screen_text(plan) and "12,08 €" in screen_text(plan)
        await pilot.press("enter")
        confirmation = await _finish_from_kit(pilot)
        text = screen_text(confirmation)
        assert "1000000000" in text
        assert "IT60X0542811101000000123456" in text
        assert "mario.rossi@example.it" in text
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, (ConfirmationScreen, PlanScreen))

    order = _order(app.engine)
    assert order.status == OrderStatus.AWAITING_PAYMENT.value
    assert order.number == 1_000_000_000
    assert order.payment_method == PaymentMethod.BANK_TRANSFER.value
    assert order.years == 1 and not order.auto_renew and order.signature_kit is None
    assert order.gross_cents == 1208
    assert order.consent_terms_at and order.consent_clauses_at and order.consent_privacy_at
    [line] = _lines(app.engine, order.id)
    assert (line.plan, line.previous_plan, line.total_cents) == ("STANDARD", "STANDARD", 990)
    with Session(app.engine) as session:
        mail = session.exec(select(OutboxMessage)).one()
        assert mail.to_address == "mario.rossi@example.it"


@pytest.mark.usefixtures("italian")  # reads Italian money
async def test_several_mailboxes_with_a_plan_change_and_extra_gb(sqlite_url):
    app = make_app(sqlite_url)
    holder = add_holder(app.engine)
    ids = [
        add_mailbox(app.engine, holder, "a.rossi@pec.it"),
        add_mailbox(app.engine, holder, "b.rossi@pec.it"),
        add_mailbox(app.engine, holder, "c.rossi@pec.it", plan="PRO", archive_used_mb=500),
    ]
    async with app.run_test(size=SIZE) as pilot:
        app.start_renewal(ids)
        plan = await wait_for_screen(pilot, PlanScreen)
        # a: STANDARD → PRO with 2 extra archive GB.
        await pilot.press("right", "a", "a")
        # b: STANDARD with extra mailbox GB: STANDARD stops at +1.
        await pilot.press("pagedown", "plus", "plus")
        assert plan.draft.items[0].plan is Plan.PRO
        assert plan.draft.items[0].extra_archive_gb == 2
        assert plan.draft.items[1].extra_mailbox_gb == 1
        live = plan.draft.quote(get_price_list(app.engine))
        assert f"{live.gross:.2f}".replace(".", ",") in screen_text(plan)
        await pilot.press("enter")
        await wait_for_screen(pilot, KitScreen)
        await pilot.press("2", "enter")  # USB token
        await wait_for_screen(pilot, HolderFormScreen)
        await pilot.press("enter")
        await wait_for_screen(pilot, OrderFormScreen)
        await pilot.press("plus", "enter")  # 2 years
        await wait_for_screen(pilot, ContractScreen)
        await pilot.press("1", "2", "3", "enter")
        await wait_for_screen(pilot, ConfirmationScreen)

    expected = quote(
        get_price_list(app.engine),
        [
            MailboxChoice("a.rossi@pec.it", Plan.PRO, 0, 2, ids[0], Plan.STANDARD),
            MailboxChoice("b.rossi@pec.it", Plan.STANDARD, 1, 0, ids[1], Plan.STANDARD),
            MailboxChoice("c.rossi@pec.it", Plan.PRO, 0, 0, ids[2], Plan.PRO),
        ],
        2,
        SignatureKit.USB_TOKEN,
    )
    order = _order(app.engine)
    assert order.gross_cents == to_cents(expected.gross)
    assert order.years == 2 and order.signature_kit == SignatureKit.USB_TOKEN.value
    plan_lines = {line.address: line for line in _lines(app.engine, order.id) if line.plan}
    assert plan_lines["a.rossi@pec.it"].plan == "PRO"
    assert plan_lines["a.rossi@pec.it"].previous_plan == "STANDARD"
    assert plan_lines["a.rossi@pec.it"].extra_archive_gb == 2
    assert plan_lines["b.rossi@pec.it"].extra_mailbox_gb == 1


async def test_mailboxes_of_several_holders_keep_their_plans_with_one_key(sqlite_url):
    app = make_app(sqlite_url)
    reseller = add_reseller(app.engine)
    first = add_holder(app.engine, reseller_id=reseller)
    second = add_holder(
        app.engine,
        reseller_id=reseller,
        first_name="Anna",
        last_name="Bianchi",
        display_name="Anna Bianchi",
        codice_fiscale="BNCNNA80A41H501R",
    )
    ids = [
        add_mailbox(app.engine, first, "mario@pec.it", reseller_id=reseller),
        add_mailbox(app.engine, second, "anna@pec.it", reseller_id=reseller, plan="PREMIUM"),
    ]
    async with app.run_test(size=SIZE) as pilot:
        app.start_renewal(ids)
        await wait_for_screen(pilot, PlanScreen)
        await pilot.press("1")  # anna@ (first by address) to STANDARD ...
        await pilot.press("c")  # ... then "keep the current plans for all" and go on
        await wait_for_screen(pilot, KitScreen)
        await pilot.press("enter")
        holder = await wait_for_screen(pilot, HolderFormScreen)
        assert "Rivenditore Uno S.r.l." in screen_text(holder)
        assert not holder.query("#codice_fiscale")
        await pilot.press("enter")
        await wait_for_screen(pilot, OrderFormScreen)
        await pilot.press("enter")
        await wait_for_screen(pilot, ContractScreen)
        await pilot.press("1", "2", "3", "enter")
        confirmation = await wait_for_screen(pilot, ConfirmationScreen)
        assert "ordini@rivenditore.example.it" in screen_text(confirmation)

    order = _order(app.engine)
    assert order.holder_id is None and order.reseller_id == reseller
    plans = {line.address: line.plan for line in _lines(app.engine, order.id) if line.plan}
    assert plans == {"mario@pec.it": "STANDARD", "anna@pec.it": "PREMIUM"}


async def test_public_administration_with_office_code_and_cig(sqlite_url):
    app = make_app(sqlite_url)
    holder = add_holder(
        app.engine,
        kind=HolderKind.PUBLIC_ADMIN.value,
        first_name=None,
        last_name=None,
        company_name="Comune di Esempio",
        display_name="Comune di Esempio",
        codice_fiscale="80012340016",
        reference_email="protocollo@comune.esempio.it",
    )
    mailbox = add_mailbox(app.engine, holder, "protocollo@pec.comune.esempio.it")
    async with app.run_test(size=SIZE) as pilot:
        app.start_renewal([mailbox])
        await wait_for_screen(pilot, PlanScreen)
        await pilot.press("enter")
        await wait_for_screen(pilot, KitScreen)
        await pilot.press("enter")
        form = await wait_for_screen(pilot, HolderFormScreen)
        # The stored data lacks the office code: the form says so and focuses the field.
        assert form.query_one("#error-pa_office_code").display
        assert not form.query_one("#field-sdi_code").display
        assert form.focused.id == "pa_office_code"
        await pilot.press(*"ufabcd", "tab", *"Z1A2B3C4D5", "tab", "tab", "space", "enter")
        await wait_for_screen(pilot, OrderFormScreen)
        await pilot.press("enter")
        await wait_for_screen(pilot, ContractScreen)
        await pilot.press("1", "2", "3", "enter")
        await wait_for_screen(pilot, ConfirmationScreen)

    with Session(app.engine) as session:
        row = session.get(Holder, holder)
        assert (row.pa_office_code, row.cig, row.cup, row.split_payment) == (
            "UFABCD",
            "Z1A2B3C4D5",
            None,
            True,
        )
    snapshot = _order(app.engine).holder_snapshot
    assert snapshot["pa_office_code"] == "UFABCD" and snapshot["cig"] == "Z1A2B3C4D5"


async def test_pro_to_standard_needs_the_archive_deletion_confirmed(sqlite_url):
    app = make_app(sqlite_url)
    holder = add_holder(app.engine)
    mailbox = add_mailbox(
        app.engine,
        holder,
        "mario.rossi@pec.it",
        plan="PRO",
        mailbox_used_mb=300,
        archive_used_mb=900,
    )
    async with app.run_test(size=SIZE) as pilot:
        app.start_renewal([mailbox])
        plan = await wait_for_screen(pilot, PlanScreen)
        await pilot.press("1")
        assert "deletes every archived message" in screen_text(plan)
        await pilot.press("enter")
        await wait_for_screen(pilot, ArchiveDeletionModal)
        await pilot.press("enter")  # the focused answer is "no"
        await wait_for_screen(pilot, PlanScreen)
        await pilot.press("enter")
        modal = await wait_for_screen(pilot, ArchiveDeletionModal)
        assert "mario.rossi@pec.it" in screen_text(modal)
        await pilot.press("y")
        await _finish_from_kit(pilot)

    order = _order(app.engine)
    [line] = _lines(app.engine, order.id)
    assert (line.plan, line.previous_plan) == ("STANDARD", "PRO")
    [changed] = order.draft_state["changes"].values()
    assert changed["archive_deletion_confirmed"] is True


async def test_a_downgrade_below_the_used_space_is_refused_until_extra_gb(sqlite_url):
    app = make_app(sqlite_url)
    holder = add_holder(app.engine)
    mailbox = add_mailbox(
        app.engine,
        holder,
        "mario.rossi@pec.it",
        plan="PREMIUM",
        mailbox_used_mb=1536,
        archive_used_mb=4000,
    )
    async with app.run_test(size=SIZE) as pilot:
        app.start_renewal([mailbox])
        plan = await wait_for_screen(pilot, PlanScreen)
        await pilot.press("1", "enter")  # STANDARD: 1 GB < 1,5 GB used
        await pilot.pause()
        assert isinstance(app.screen, PlanScreen)
        assert "1,5 GB" in screen_text(plan)
        await pilot.press("2", "enter")  # PRO: the archive holds 3,9 GB > 3 GB
        await pilot.pause()
        assert isinstance(app.screen, PlanScreen)
        assert "extra archive GB" in screen_text(plan)
        await pilot.press("a", "enter")  # one more archive GB: allowed
        await _finish_from_kit(pilot)

    [line] = [line for line in _lines(app.engine, _order(app.engine).id) if line.plan]
    assert (line.plan, line.extra_archive_gb) == ("PRO", 1)


async def test_another_terminal_took_the_mailbox_meanwhile(sqlite_url):
    app = make_app(sqlite_url)
    holder = add_holder(app.engine)
    mailbox = add_mailbox(app.engine, holder, "mario.rossi@pec.it")
    async with app.run_test(size=SIZE) as pilot:
        app.start_renewal([mailbox])
        await wait_for_screen(pilot, PlanScreen)
        await pilot.press("enter")
        await wait_for_screen(pilot, KitScreen)
        await pilot.press("enter")
        await wait_for_screen(pilot, HolderFormScreen)
        await pilot.press("enter")
        await wait_for_screen(pilot, OrderFormScreen)
        await pilot.press("enter")
        await wait_for_screen(pilot, ContractScreen)
        # Another terminal confirms an order on the same mailbox first.
        other = orders.start_renewal(app.engine, SYSTEM, [mailbox], TODAY)
        other = replace(
            other, payment_method=PaymentMethod.CARD, consents=Consents(True, True, True)
        )
        [first] = orders.confirm_order(app.engine, SYSTEM, other, TODAY)
        await pilot.press("1", "2", "3", "enter")
        modal = await wait_for_screen(pilot, MessageModal)
        assert str(first.number) in screen_text(modal)
        assert "already has an open order" in screen_text(modal)
        await pilot.press("enter")
        contract = await wait_for_screen(pilot, ContractScreen)
        assert contract.consents.complete  # nothing the user did is lost


async def test_escape_goes_back_one_step_keeping_the_choices(sqlite_url):
    app = make_app(sqlite_url)
    holder = add_holder(app.engine)
    mailbox = add_mailbox(app.engine, holder, "mario.rossi@pec.it", expiry=date(2026, 12, 1))
    async with app.run_test(size=SIZE) as pilot:
        app.start_renewal([mailbox])
        await wait_for_screen(pilot, PlanScreen)
        await pilot.press("3", "enter")
        await wait_for_screen(pilot, KitScreen)
        await pilot.press("3", "escape")
        plan = await wait_for_screen(pilot, PlanScreen)
        assert plan.draft.items[0].plan is Plan.PREMIUM
        await pilot.press("enter")
        kit = await wait_for_screen(pilot, KitScreen)
        assert kit.draft.kit is SignatureKit.REMOTE
        await pilot.press("enter")
        form = await wait_for_screen(pilot, HolderFormScreen)
        await pilot.click("#phone")
        await pilot.press(*"061234567", "escape")
        await wait_for_screen(pilot, KitScreen)
        await pilot.press("enter")
        form = await wait_for_screen(pilot, HolderFormScreen)
        assert form.query_one("#phone").value == "061234567"


async def test_the_keys_are_in_the_command_palette(sqlite_url):
    app = make_app(sqlite_url)
    holder = add_holder(app.engine)
    mailbox = add_mailbox(app.engine, holder, "mario.rossi@pec.it")
    async with app.run_test(size=SIZE) as pilot:
        app.start_renewal([mailbox])
        plan = await wait_for_screen(pilot, PlanScreen)
        await pilot.press("ctrl+p")
        await pilot.pause(0.3)
        await pilot.press(*"next plan")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert plan.draft.items[0].plan is Plan.PRO


async def test_a_database_error_is_a_message_not_a_traceback(sqlite_url, monkeypatch):
    from sqlalchemy.exc import OperationalError

    import pec_tui.screens.flow as flow

    def database_down(*args, **kwargs):
        raise OperationalError("UPDATE counter", {}, Exception("database is locked"))

    app = make_app(sqlite_url)
    holder = add_holder(app.engine)
    mailbox = add_mailbox(app.engine, holder, "mario.rossi@pec.it")
    async with app.run_test(size=SIZE) as pilot:
        app.start_renewal([mailbox])
        await wait_for_screen(pilot, PlanScreen)
        await pilot.press("enter")
        await wait_for_screen(pilot, KitScreen)
        await pilot.press("enter")
        await wait_for_screen(pilot, HolderFormScreen)
        await pilot.press("enter")
        await wait_for_screen(pilot, OrderFormScreen)
        await pilot.press("enter")
        await wait_for_screen(pilot, ContractScreen)
        monkeypatch.setattr(flow, "confirm_order", database_down)
        await pilot.press("1", "2", "3", "enter")
        modal = await wait_for_screen(pilot, MessageModal)
        assert "database is locked" in screen_text(modal)
        await pilot.press("enter")
        await wait_for_screen(pilot, ContractScreen)
        monkeypatch.undo()
        await pilot.press("enter")
        await wait_for_screen(pilot, ConfirmationScreen)
    assert _order(app.engine).number == 1_000_000_000


async def test_the_mouse_works_too(sqlite_url):
    app = make_app(sqlite_url)
    holder = add_holder(app.engine)
    mailbox = add_mailbox(app.engine, holder, "mario.rossi@pec.it")
    async with app.run_test(size=SIZE) as pilot:
        app.start_renewal([mailbox])
        plan = await wait_for_screen(pilot, PlanScreen)
        # Wait for each click's effect, and out Textual's 0.2 s button "active" effect (a
        # button ignores a second click while it lasts, as a quick double click counts once).
        for target, expected in (
            ("#select", (Plan.PREMIUM, 0)),
            ("#extra-archive #inc", (Plan.PREMIUM, 1)),
            ("#extra-archive #inc", (Plan.PREMIUM, 2)),
            ("#extra-archive #dec", (Plan.PREMIUM, 1)),
        ):
            await pilot.click(f"#plan-premium {target}")
            for _ in range(100):
                await pilot.pause(0.02)
                item = plan.draft.items[0]
                if (item.plan, item.extra_archive_gb) == expected:
                    break
            await pilot.pause(0.3)
        item = plan.draft.items[0]
        assert (item.plan, item.extra_archive_gb) == (Plan.PREMIUM, 1)
        await pilot.click("#proceed")
        await wait_for_screen(pilot, KitScreen)
        await pilot.click("#proceed")
        await wait_for_screen(pilot, HolderFormScreen)
        await pilot.click("#proceed")
        await wait_for_screen(pilot, OrderFormScreen)
        await pilot.click("#proceed")
        await wait_for_screen(pilot, ContractScreen)
        for name in ("terms", "clauses", "privacy"):
            await pilot.click(f"#consent-{name}")
        await pilot.click("#confirm")
        await wait_for_screen(pilot, ConfirmationScreen)
        await pilot.click("#close")
        await pilot.pause(0.3)
        assert not isinstance(app.screen, ConfirmationScreen)
    [line] = [line for line in _lines(app.engine, _order(app.engine).id) if line.plan]
    assert (line.plan, line.extra_archive_gb) == ("PREMIUM", 1)


@pytest.mark.parametrize(("credit_cents", "paid"), [(10_000, True), (500, False)])
async def test_reseller_prepaid_credit(sqlite_url, credit_cents, paid):
    from pec_tui.db.models import Reseller

    app = make_app(sqlite_url)
    reseller = add_reseller(app.engine)
    with Session(app.engine) as session:
        row = session.get(Reseller, reseller)
        row.credit_cents = credit_cents
        session.add(row)
        session.commit()
    holder = add_holder(app.engine, reseller_id=reseller)
    mailbox = add_mailbox(app.engine, holder, "mario.rossi@pec.it", reseller_id=reseller)
    async with app.run_test(size=SIZE) as pilot:
        app.start_renewal([mailbox])
        await wait_for_screen(pilot, PlanScreen)
        await pilot.press("enter")
        await wait_for_screen(pilot, KitScreen)
        await pilot.press("enter")
        await wait_for_screen(pilot, HolderFormScreen)
        await pilot.press("enter")
        await wait_for_screen(pilot, OrderFormScreen)
        await pilot.press("5", "enter")
        await wait_for_screen(pilot, ContractScreen)
        await pilot.press("1", "2", "3", "enter")
        confirmation = await wait_for_screen(pilot, ConfirmationScreen)
        text = screen_text(confirmation)
        assert ("Paid with the reseller's prepaid credit" in text) is paid
        assert ("does not cover this order" in text) is not paid
    order = _order(app.engine)
    assert order.payment_method == PaymentMethod.PREPAID_CREDIT.value
    assert order.status == (OrderStatus.PAID if paid else OrderStatus.AWAITING_PAYMENT).value


async def test_the_flow_thaws_what_it_froze_when_it_ends(sqlite_url):
    """The draft's items and the quote's lines are kept out of the collector's passes while
    the flow runs (`collector.frozen`), and given back when it ends."""
    app = make_app(sqlite_url)
    holder = add_holder(app.engine)
    mailbox = add_mailbox(app.engine, holder, "mario.rossi@pec.it")
    assert gc.get_freeze_count() == 0
    async with app.run_test(size=SIZE) as pilot:
        app.start_renewal([mailbox])
        await wait_for_screen(pilot, PlanScreen)
        assert gc.get_freeze_count() > 0
        await pilot.press("enter")
        await _finish_from_kit(pilot)
        assert gc.get_freeze_count() > 0
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, ConfirmationScreen)
        assert gc.get_freeze_count() == 0


async def test_a_large_draft_has_the_database_log_copied_after_each_save(sqlite_url, monkeypatch):
    """From `MANY_ROWS` mailboxes on, each save of the draft leaves SQLite's log to a
    background checkpoint after its commit (`defer_checkpoint`); below it, never."""
    from pec_tui.services import transactions

    calls: list[object] = []
    monkeypatch.setattr(transactions, "checkpoint_in_background", calls.append)
    app = make_app(sqlite_url)
    holder = add_holder(app.engine)
    boxes = [add_mailbox(app.engine, holder, f"box{n}@pec.it") for n in range(3)]
    async with app.run_test(size=SIZE) as pilot:
        monkeypatch.setattr(transactions, "MANY_ROWS", 4)
        app.start_renewal(boxes)
        await wait_for_screen(pilot, PlanScreen)
        await pilot.press("enter")
        await wait_for_screen(pilot, KitScreen)
        await pilot.pause(0.1)
        assert calls == []
        await pilot.press("escape")
        await wait_for_screen(pilot, PlanScreen)
        monkeypatch.setattr(transactions, "MANY_ROWS", 3)
        await pilot.press("enter")
        await wait_for_screen(pilot, KitScreen)
        for _ in range(50):
            if calls:
                break
            await pilot.pause(0.02)
        assert calls == [app.engine]
