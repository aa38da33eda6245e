"""The self-service kiosk driven as a customer would: identify, list, renew, walk away."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, col, select
from test_flow_support import (
    SIZE,
    TODAY,
    add_holder,
    add_mailbox,
    screen_text,
    wait_for_screen,
)
from textual.command import CommandPalette
from textual.widgets import Button, DataTable, Input

from pec_tui.config import Settings
from pec_tui.db.models import AuditEvent, Order, utcnow
from pec_tui.dialogs.message import MessageModal
from pec_tui.domain.enums import OrderStatus
from pec_tui.domain.validation import ValidationError
from pec_tui.i18n import _, ngettext
from pec_tui.kiosk import KioskApp
from pec_tui.screens.confirmation import ConfirmationScreen
from pec_tui.screens.contract import ContractScreen
from pec_tui.screens.holder_form import HolderFormScreen
from pec_tui.screens.kiosk_home import KioskHomeScreen
from pec_tui.screens.kiosk_welcome import KioskWelcomeScreen
from pec_tui.screens.kit import KitScreen
from pec_tui.screens.order_form import OrderFormScreen
from pec_tui.screens.plan import PlanScreen
from pec_tui.services import kiosk, mailboxes, orders
from pec_tui.services.actor import AccessDenied
from pec_tui.services.database import open_database
from pec_tui.widgets.validators import check_tax_code

CF = "RSSMRA85T10A562S"
OTHER_CF = "VRDGPP80A01H501U"  # well formed, with a valid check character, but not Mario's


@pytest.fixture
def book(sqlite_url):
    """Mario with two mailboxes (one on automatic renewal), Giuseppe with one."""
    engine = open_database(sqlite_url)
    mario = add_holder(engine)
    giuseppe = add_holder(
        engine,
        first_name="Giuseppe",
        last_name="Verdi",
        display_name="Giuseppe Verdi",
        codice_fiscale=OTHER_CF,
        reference_email="g.verdi@example.it",
    )
    boxes = {
        "mario": add_mailbox(engine, mario, "mario.rossi@pec.it"),
        "mario_auto": add_mailbox(engine, mario, "studio.rossi@pec.it", auto_renew=True),
        "giuseppe": add_mailbox(engine, giuseppe, "giuseppe.verdi@pec.it"),
    }
    yield engine, boxes
    engine.dispose()


def make_kiosk(engine, idle_seconds: int = 120) -> KioskApp:
    settings = Settings(terminal="kiosk-test", kiosk_idle_seconds=idle_seconds)
    return KioskApp(settings, engine, today=lambda: TODAY)


async def identify(pilot, address: str, code: str) -> None:
    await wait_for_screen(pilot, KioskWelcomeScreen)
    pilot.app.screen.query_one("#address", Input).value = address
    pilot.app.screen.query_one("#tax-code", Input).value = code
    pilot.app.screen.query_one("#tax-code", Input).focus()
    await pilot.press("enter")


def table_addresses(screen) -> list[str]:
    table = screen.query_one(DataTable)
    return [str(table.get_row_at(i)[1]) for i in range(table.row_count)]


async def wait_until(pilot, condition, timeout: float = 5.0) -> None:
    waited = 0.0
    while not condition():
        if waited >= timeout:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.05)
        waited += 0.05


def test_tax_code_field_accepts_cf_and_partita_iva_and_explains_errors():
    assert check_tax_code(" rssmra85t10a562s ") == CF
    assert check_tax_code("IT 01114601006") == "01114601006"
    assert check_tax_code("80012000826") == "80012000826"  # a public body's numeric CF
    with pytest.raises(ValidationError, match="16"):
        check_tax_code("RSSMRA85")


async def test_holder_sees_only_own_mailboxes_and_renews_through_the_flow(book):
    engine, boxes = book
    app = make_kiosk(engine)
    async with app.run_test(size=SIZE) as pilot:
        await identify(pilot, "Mario.Rossi@pec.it", CF.lower())
        home = await wait_for_screen(pilot, KioskHomeScreen)
        await wait_until(pilot, lambda: home.rows)
        assert app.actor.holder_id is not None and app.actor.name == "kiosk:mario.rossi@pec.it"
        assert sorted(table_addresses(home)) == ["mario.rossi@pec.it", "studio.rossi@pec.it"]
        # Rinnova is not offered for the mailbox on automatic renewal (the second row).
        await pilot.press("down")
        assert home.check_action("renew", ()) is False
        await pilot.press("up")
        assert home.check_action("renew", ()) is True
        await pilot.press("r")
        await wait_for_screen(pilot, PlanScreen)
        await pilot.press("enter")
        for step in (KitScreen, HolderFormScreen, OrderFormScreen):
            await wait_for_screen(pilot, step)
            await pilot.press("enter")
        await wait_for_screen(pilot, ContractScreen)
        await pilot.press("1", "2", "3", "enter")
        confirmation = await wait_for_screen(pilot, ConfirmationScreen)
        assert "1000000000" in screen_text(confirmation)
        await pilot.press("enter")
        # The order is placed: the next customer finds a clean welcome screen.
        welcome = await wait_for_screen(pilot, KioskWelcomeScreen)
        assert welcome.is_blank and app.actor.holder_id == 0
        assert len(app.screen_stack) == 2
    with Session(engine) as session:
        order = session.exec(select(Order).where(col(Order.number).is_not(None))).one()
        assert order.status == OrderStatus.AWAITING_PAYMENT.value
        assert order.consent_terms_by == "kiosk:mario.rossi@pec.it"
        assert order.terminal.startswith("kiosk-test#")


async def test_wrong_tax_code_is_refused_with_a_message_and_a_growing_delay(book):
    engine, _boxes = book
    app = make_kiosk(engine)
    async with app.run_test(size=SIZE) as pilot:
        await identify(pilot, "mario.rossi@pec.it", OTHER_CF)
        welcome = app.screen
        refusal = _("This PEC address and tax code do not match any mailbox.")
        await wait_until(pilot, lambda: refusal in screen_text(welcome))
        text = screen_text(welcome)
        wait = ngettext(
            "Wait {seconds} second before trying again.",
            "Wait {seconds} seconds before trying again.",
            1,
        )
        assert wait.format(seconds=1) in text
        assert welcome.query_one("#identify", Button).disabled
        assert welcome.query_one("#tax-code", Input).value == ""
        assert isinstance(app.screen, KioskWelcomeScreen) and app.actor.holder_id == 0
        # A malformed code never reaches the database: the field explains what is wrong.
        await pilot.pause(1.1)
        await identify(pilot, "mario.rossi@pec.it", "RSSMRA85T10A562")
        await pilot.pause()
        with pytest.raises(ValidationError) as malformed:
            check_tax_code("RSSMRA85T10A562")
        assert malformed.value.message in screen_text(welcome)
    with Session(engine) as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.action == kiosk.ACTION)).all()
    assert [(e.outcome, e.entity_id) for e in events] == [("denied", "kiosk-test")]
    assert CF not in str(events[0].details) and OTHER_CF not in str(events[0].details)


def test_failed_identifications_slow_the_terminal_down_and_a_success_resets(book):
    engine, _boxes = book
    now = utcnow()
    waits = []
    for attempt in range(4):
        moment = now + timedelta(minutes=attempt)
        with pytest.raises(kiosk.IdentificationRefused) as refused:
            kiosk.identify(engine, "mario.rossi@pec.it", OTHER_CF, "t1", moment)
        waits.append(refused.value.retry_after)
    assert waits == [1, 2, 4, 8]
    # Too early: refused without even looking at the credentials, and not counted again.
    with pytest.raises(kiosk.IdentificationRefused, match=_("Too many failed attempts.")):
        kiosk.identify(
            engine, "mario.rossi@pec.it", CF, "t1", now + timedelta(minutes=3, seconds=2)
        )
    assert kiosk.retry_after(engine, "t1", now + timedelta(minutes=3, seconds=2)) == 6
    assert kiosk.retry_after(engine, "another-terminal", now) == 0
    later = now + timedelta(minutes=3, seconds=9)
    assert (
        kiosk.identify(engine, "mario.rossi@pec.it", CF, "t1", later).holder_name == "Mario Rossi"
    )
    with pytest.raises(kiosk.IdentificationRefused) as refused:
        kiosk.identify(engine, "mario.rossi@pec.it", OTHER_CF, "t1", later)
    assert refused.value.retry_after == 1
    assert kiosk.delay_after(30) == kiosk.MAX_DELAY_SECONDS


async def test_idle_timeout_clears_everything(book):
    engine, _boxes = book
    app = make_kiosk(engine)
    async with app.run_test(size=SIZE) as pilot:
        await identify(pilot, "mario.rossi@pec.it", CF)
        home = await wait_for_screen(pilot, KioskHomeScreen)
        await wait_until(pilot, lambda: home.rows)
        await pilot.press("r")
        await wait_for_screen(pilot, PlanScreen)
        # Nobody touches the kiosk (a tiny timeout from here on, however slow the machine
        # was to open the flow): the flow, the list and the customer go.
        app.idle_seconds = 0.5
        welcome = await wait_for_screen(pilot, KioskWelcomeScreen, timeout=5)
        assert welcome is not home and welcome.is_blank
        assert len(app.screen_stack) == 2 and app.actor.holder_id == 0
        assert not [w for w in app.workers if not w.is_finished]
        # A half-typed identification is cleared too.
        welcome.query_one("#address", Input).value = "mario"
        await wait_until(pilot, lambda: app.screen is not welcome, timeout=5)
        assert isinstance(app.screen, KioskWelcomeScreen) and app.screen.is_blank


async def test_no_quit_key_and_no_command_palette(book):
    engine, _boxes = book
    app = make_kiosk(engine)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_screen(pilot, KioskWelcomeScreen)
        for key in ("ctrl+q", "ctrl+c", "ctrl+p", "f7", "f8", "ctrl+l"):
            await pilot.press(key)
        await pilot.pause()
        assert app.is_running and app.return_code is None
        assert isinstance(app.screen, KioskWelcomeScreen)
        assert not app.query(CommandPalette)
        assert list(app.get_system_commands(app.screen)) == []
        await app.run_action("quit")
        await pilot.pause()
        assert app.is_running


async def test_another_holders_mailbox_is_refused_by_id(book):
    engine, boxes = book
    app = make_kiosk(engine)
    async with app.run_test(size=SIZE) as pilot:
        await identify(pilot, "mario.rossi@pec.it", CF)
        await wait_for_screen(pilot, KioskHomeScreen)
        actor = app.actor
        # However the id arrives, the services answer for Mario's holder only.
        app.start_renewal([boxes["giuseppe"]])
        modal = await wait_for_screen(pilot, MessageModal)
        # The same answer as for a mailbox that does not exist.
        assert _("Some of the selected mailboxes no longer exist.") in screen_text(modal)
    with pytest.raises(AccessDenied):
        orders.start_renewal(engine, actor, [boxes["mario"], boxes["giuseppe"]], TODAY)
    with pytest.raises(AccessDenied):
        mailboxes.get_mailbox(engine, actor, boxes["giuseppe"])
    assert mailboxes.get_mailboxes(engine, actor, [boxes["giuseppe"]]) == []
    with Session(engine) as session:
        assert session.exec(select(Order)).all() == []
