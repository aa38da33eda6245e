"""Every session its own terminal: processes, browser tabs and kiosk customers sharing a machine
(and its configured terminal name) are told apart in the audit and in the drafts they hold."""

from __future__ import annotations

import re

from sqlmodel import Session, col, select
from test_flow_support import (
    SIZE,
    TODAY,
    add_holder,
    add_mailbox,
    make_app,
    wait_for_screen,
)
from textual.widgets import Input

from pec_tui.config import Settings
from pec_tui.db.models import AuditEvent
from pec_tui.kiosk import KioskApp
from pec_tui.screens.kiosk_home import KioskHomeScreen
from pec_tui.screens.kiosk_welcome import KioskWelcomeScreen
from pec_tui.screens.plan import PlanScreen
from pec_tui.services import kiosk
from pec_tui.services.actor import session_terminal
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
