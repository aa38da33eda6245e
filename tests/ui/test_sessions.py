"""Every session its own terminal: processes, browser tabs and kiosk customers sharing a machine
(and its configured terminal name) are told apart in the audit and in the drafts they hold."""

from __future__ import annotations

import asyncio
import re

from sqlmodel import Session, col, select
from test_flow_support import (
    SIZE,
    TODAY,
    add_holder,
    add_mailbox,
    make_app,
    screen_text,
    wait_for_screen,
)
from textual.widgets import DataTable, Input

from pec_tui.app import PecApp
from pec_tui.config import Settings
from pec_tui.db.models import AuditEvent, Operator, Order
from pec_tui.dialogs.message import MessageModal
from pec_tui.domain.enums import Role
from pec_tui.i18n import _
from pec_tui.kiosk import KioskApp
from pec_tui.screens.confirmation import ConfirmationScreen
from pec_tui.screens.contract import ContractScreen
from pec_tui.screens.drafts import DraftsScreen
from pec_tui.screens.flow import show_drafts
from pec_tui.screens.holder_form import HolderFormScreen
from pec_tui.screens.kiosk_home import KioskHomeScreen
from pec_tui.screens.kiosk_welcome import KioskWelcomeScreen
from pec_tui.screens.kit import KitScreen
from pec_tui.screens.mailboxes import MailboxesScreen
from pec_tui.screens.order_form import OrderFormScreen
from pec_tui.screens.plan import PlanScreen
from pec_tui.services import kiosk
from pec_tui.services.actor import Actor, session_terminal
from pec_tui.services.auth import actor_of
from pec_tui.services.database import open_database

CF = "RSSMRA85T10A562S"


def _events(engine, action: str) -> list[AuditEvent]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(AuditEvent).where(AuditEvent.action == action).order_by(col(AuditEvent.id))
            ).all()
        )


def test_a_session_terminal_is_the_configured_name_and_a_session_id():
    first, second = session_terminal("front-desk"), session_terminal("front-desk")
    assert re.fullmatch(r"front-desk#[0-9a-f]{8}", first)
    assert first != second
    # However long the configured name, the identity fits the database's terminal columns.
    assert len(session_terminal("x" * 300)) == 100


async def test_two_apps_on_one_machine_are_two_terminals_in_the_audit(sqlite_url):
    engine = open_database(sqlite_url)
    holder = add_holder(engine)
    first_box = add_mailbox(engine, holder, "mario.rossi@pec.it")
    second_box = add_mailbox(engine, holder, "studio.rossi@pec.it")
    first, second = make_app(sqlite_url, engine), make_app(sqlite_url, engine)
    assert first.terminal != second.terminal
    assert first.terminal.startswith("test-terminal#") and second.terminal.startswith(
        "test-terminal#"
    )
    for app, mailbox in ((first, first_box), (second, second_box)):
        async with app.run_test(size=SIZE) as pilot:
            assert app.actor.terminal == app.terminal
            app.start_renewal([mailbox])
            await wait_for_screen(pilot, PlanScreen)
    started = _events(engine, "draft.start")
    assert [e.terminal for e in started] == [first.terminal, second.terminal]


async def test_each_kiosk_customer_session_has_its_own_terminal(sqlite_url):
    engine = open_database(sqlite_url)
    add_mailbox(engine, add_holder(engine), "mario.rossi@pec.it")
    app = KioskApp(Settings(terminal="kiosk-hall"), engine, today=lambda: TODAY)
    sessions = []
    async with app.run_test(size=SIZE) as pilot:
        for _customer in range(2):
            welcome = await wait_for_screen(pilot, KioskWelcomeScreen)
            welcome.query_one("#address", Input).value = "mario.rossi@pec.it"
            welcome.query_one("#tax-code", Input).value = CF
            welcome.query_one("#tax-code", Input).focus()
            await pilot.press("enter")
            await wait_for_screen(pilot, KioskHomeScreen)
            sessions.append(app.actor.terminal)
            await pilot.press("escape")  # the customer ends the session
            await wait_for_screen(pilot, KioskWelcomeScreen)
    identified = _events(engine, kiosk.ACTION)
    assert [e.terminal for e in identified] == sessions
    assert sessions[0] != sessions[1] and all(s.startswith("kiosk-hall#") for s in sessions)
    # The throttle of failed attempts stays the kiosk's, whichever session made them.
    assert {e.entity_id for e in identified} == {"kiosk-hall"}


# --- two sessions on one database: who holds a draft, who is offered it ---------------------

# A short lease, so that a session "killed" in a test is taken for dead within seconds (long
# enough that a loaded machine still renews it in time).
LEASE_SECONDS = 4.0


def _operator(engine, username: str, role: Role = Role.BACK_OFFICE) -> Actor:
    with Session(engine) as session:
        row = Operator(username=username, role=role.value, password_hash="-")
        session.add(row)
        session.commit()
        session.refresh(row)
        return actor_of(row)


def _signed_in(
    url: str, engine, actor: Actor, colleague_wait: float = 300.0, lease: float = 60.0
) -> PecApp:
    """An operator's app, signed in as `actor` (as after the sign-in screen)."""
    settings = Settings(
        database_url=url,
        terminal="help-desk",
        draft_lease_seconds=lease,
        draft_colleague_wait_seconds=colleague_wait,
    )
    return PecApp(settings, engine, today=lambda: TODAY, login=True, signed_in=actor)


async def _home(pilot) -> None:
    """Signed in: the mailbox list is up and the check for drafts to offer is over."""
    for _wait in range(200):
        if any(isinstance(s, MailboxesScreen) for s in pilot.app.screen_stack):
            break
        await pilot.pause(0.05)
    else:
        raise AssertionError("the mailbox list did not open")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def _offered(app: PecApp) -> list[str]:
    """The order ids the drafts screen offers after sign-in (none when it did not open)."""
    screen = next((s for s in app.screen_stack if isinstance(s, DraftsScreen)), None)
    if screen is None:
        return []
    table = screen.query_one("#drafts-table", DataTable)
    return [str(table.get_row_at(i)[0]) for i in range(table.row_count)]


async def test_a_draft_is_the_session_s_own_until_it_dies_then_offered_back_once(
    sqlite_url, monkeypatch
):
    engine = open_database(sqlite_url)
    mailbox = add_mailbox(engine, add_holder(engine), "mario.rossi@pec.it")
    anna = _operator(engine, "anna", Role.ADMIN)
    bruno = _operator(engine, "bruno")

    a = _signed_in(sqlite_url, engine, anna, lease=LEASE_SECONDS)
    async with a.run_test(size=SIZE) as pilot_a:
        await _home(pilot_a)
        a.start_renewal([mailbox])
        await wait_for_screen(pilot_a, PlanScreen)
        await pilot_a.press("2", "enter")  # PRO: saved, on to the signature kit
        await wait_for_screen(pilot_a, KitScreen)
        with Session(engine) as session:
            [draft] = session.exec(select(Order)).all()
        assert draft.lease_holder == a.terminal

        # B signs in while A works on it: neither offered nor listed.
        b = _signed_in(sqlite_url, engine, bruno, colleague_wait=0)
        async with b.run_test(size=SIZE) as pilot_b:
            await _home(pilot_b)
            assert _offered(b) == []
            show_drafts(b, b.ctx)
            listed = await wait_for_screen(pilot_b, DraftsScreen)
            await pilot_b.pause(0.3)
            assert "No unfinished renewals" in screen_text(listed)
        assert isinstance(a.screen, KitScreen)
        # A renews its lease while the flow is open.
        for _wait in range(100):
            await pilot_a.pause(0.1)
            with Session(engine) as session:
                renewed = session.get_one(Order, draft.id).lease_until
            if renewed > draft.lease_until:
                break
        else:
            raise AssertionError("the lease was not renewed")
        # A is killed: the process goes without releasing anything.
        monkeypatch.setattr(a, "release_drafts", lambda terminal=None: None)
    await asyncio.sleep(LEASE_SECONDS + 0.3)

    # Anna signs in again: offered her draft, once. Bruno, a colleague, not yet.
    anna_again = _signed_in(sqlite_url, engine, anna)
    bruno_again = _signed_in(sqlite_url, engine, bruno)
    async with (
        anna_again.run_test(size=SIZE) as pilot_c,
        bruno_again.run_test(size=SIZE) as pilot_d,
    ):
        await _home(pilot_c)
        await _home(pilot_d)
        assert _offered(anna_again) == [str(draft.id)]
        assert _offered(bruno_again) == []
        # Both go for it: Bruno from the drafts list, Anna from the offer. One wins.
        show_drafts(bruno_again, bruno_again.ctx)
        await wait_for_screen(pilot_d, DraftsScreen)
        await pilot_d.pause(0.3)
        await pilot_c.press("enter")
        await pilot_d.press("enter")
        kit = await wait_for_screen(pilot_c, KitScreen)
        refused = await wait_for_screen(pilot_d, MessageModal)
        assert anna_again.terminal in screen_text(refused)
        assert kit.draft.items[0].plan.value == "PRO"  # resumed where A left it

        # Nobody else is offered it now: Anna holds it in her new session.
        third = _signed_in(sqlite_url, engine, anna, colleague_wait=0)
        async with third.run_test(size=SIZE) as pilot_e:
            await _home(pilot_e)
            assert _offered(third) == []
    with Session(engine) as session:
        taken = session.exec(select(AuditEvent).where(AuditEvent.action == "draft.take_over")).one()
    assert (taken.actor, taken.terminal, taken.details) == (
        "anna",
        anna_again.terminal,
        {"from": a.terminal},
    )


async def test_a_kiosk_customer_s_abandoned_draft_is_never_offered_to_operators(sqlite_url):
    engine = open_database(sqlite_url)
    add_mailbox(engine, add_holder(engine), "mario.rossi@pec.it")
    anna = _operator(engine, "anna", Role.ADMIN)
    kiosk_app = KioskApp(
        Settings(terminal="kiosk-hall", draft_lease_seconds=LEASE_SECONDS),
        engine,
        today=lambda: TODAY,
    )
    async with kiosk_app.run_test(size=SIZE) as pilot:
        welcome = await wait_for_screen(pilot, KioskWelcomeScreen)
        welcome.query_one("#address", Input).value = "mario.rossi@pec.it"
        welcome.query_one("#tax-code", Input).value = CF
        welcome.query_one("#tax-code", Input).focus()
        await pilot.press("enter")
        await wait_for_screen(pilot, KioskHomeScreen)
        await pilot.pause(0.3)
        await pilot.press("r")
        await wait_for_screen(pilot, PlanScreen)
        customer = kiosk_app.actor.terminal
        kiosk_app.end_session()  # the customer walks away: the idle reset
        await wait_for_screen(pilot, KioskWelcomeScreen)
        await pilot.pause(0.3)
    with Session(engine) as session:
        [draft] = session.exec(select(Order)).all()
    assert draft.kiosk and draft.terminal == customer
    assert draft.lease_until is not None  # released: its lease is over

    desk = _signed_in(sqlite_url, engine, anna, colleague_wait=0)
    async with desk.run_test(size=SIZE) as pilot:
        await _home(pilot)
        assert _offered(desk) == []
        show_drafts(desk, desk.ctx)
        listed = await wait_for_screen(pilot, DraftsScreen)
        await pilot.pause(0.3)
        assert "No unfinished renewals" in screen_text(listed)


async def test_a_confirmed_order_is_not_reported_as_a_draft_taken_over(sqlite_url):
    """The lease is renewed while the flow is open; once CONFERMA is pressed the order is no
    longer a draft, and the renewals that fall during the confirmation or on Conferma must
    not warn that another session took it."""
    engine = open_database(sqlite_url)
    mailbox = add_mailbox(engine, add_holder(engine), "mario.rossi@pec.it")
    anna = _operator(engine, "anna", Role.ADMIN)
    app = _signed_in(sqlite_url, engine, anna, lease=0.3)  # renewed every 0.1 s
    async with app.run_test(size=SIZE) as pilot:
        await _home(pilot)
        app.start_renewal([mailbox])
        for step in (PlanScreen, KitScreen, HolderFormScreen, OrderFormScreen):
            await wait_for_screen(pilot, step)
            await pilot.press("enter")
        await wait_for_screen(pilot, ContractScreen)
        await pilot.press("1", "2", "3", "enter")
        await wait_for_screen(pilot, ConfirmationScreen)
        await pilot.pause(0.8)  # several renewals' worth
        titles = [n.title for n in app._notifications]
        assert _("Draft taken over") not in titles, titles
        with Session(engine) as session:
            [order] = session.exec(select(Order)).all()
        assert order.number is not None and order.lease_holder is None
