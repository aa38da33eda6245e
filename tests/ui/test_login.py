"""Signing in as a user would: first administrator, login, lockout, idle lock."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlmodel import Session, select
from textual.screen import Screen
from textual.widgets import Input, Label, Static

import pec_tui.app
from pec_tui.app import PecApp
from pec_tui.config import load_settings
from pec_tui.db.models import AuditEvent, Operator
from pec_tui.domain.enums import Role
from pec_tui.screens.first_admin import FirstAdminScreen
from pec_tui.screens.lock import LockScreen
from pec_tui.screens.login import LoginScreen
from pec_tui.services import auth, operators
from pec_tui.services.actor import SYSTEM
from pec_tui.services.database import ensure_reference_data


@pytest.fixture(autouse=True)
def _fast_hashing(monkeypatch):
    """Cheap argon2 parameters: these tests are about the screens, not the hash's cost."""
    monkeypatch.setattr(
        auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


class Home(Screen[None]):
    """Stands in for the mailbox list: these tests are about what comes before it."""


class LoginApp(PecApp):
    CSS_PATH = Path(pec_tui.app.__file__).parent / PecApp.CSS_PATH

    def open_home(self) -> None:
        self.push_screen(Home(id="home"))


def make_app(engine, idle_seconds: float | None = None) -> LoginApp:
    settings = load_settings(database_url="sqlite://", terminal="desk-7")
    app = LoginApp(settings, engine, login=True)
    if idle_seconds is not None:
        app.idle_timeout = idle_seconds
    return app


def add_operator(engine, username="mario", password="password-1", role=Role.BACK_OFFICE):
    ensure_reference_data(engine)
    if auth.needs_first_admin(engine):
        auth.create_first_admin(engine, "boss", "boss-password")
    admin = auth.authenticate(engine, "boss", "boss-password")
    operators.create_operator(engine, admin, username, password, role)


async def type_into(pilot, selector: str, text: str) -> None:
    pilot.app.screen.query_one(selector, Input).focus()
    await pilot.press(*text) if text else None


async def sign_in(pilot, username: str, password: str) -> None:
    screen = pilot.app.screen
    screen.query_one("#username", Input).value = username
    screen.query_one("#password", Input).value = password
    screen.query_one("#password", Input).focus()
    await pilot.press("enter")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def error_at(screen, field: str) -> str:
    return str(screen.query_one(f"#{field}-error", Label).render())


async def test_first_start_creates_the_administrator_and_signs_in(sqlite_engine):
    ensure_reference_data(sqlite_engine)
    app = make_app(sqlite_engine)
    async with app.run_test(size=(100, 40)) as pilot:
        assert isinstance(app.screen, FirstAdminScreen)
        await pilot.press(*"Admin")
        await pilot.press("enter")  # to full name
        assert app.screen.focused.id == "full_name"
        await pilot.press(*"Ada Lovelace", "enter")
        await pilot.press(*"short", "enter")
        await pilot.press(*"other", "enter")
        assert "8" in error_at(app.screen, "password")  # too short, said at the field
        app.screen.query_one("#password", Input).value = "analytical-engine"
        app.screen.query_one("#confirm", Input).value = "analytical-engine"
        await pilot.press("enter", "enter")  # password -> confirm -> create
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen.id == "home"
        assert app.actor.name == "admin" and app.actor.role is Role.ADMIN
        assert app.actor.terminal == app.terminal and app.terminal.startswith("desk-7#")
    with Session(sqlite_engine) as session:
        admin = session.exec(select(Operator)).one()
        assert admin.full_name == "Ada Lovelace"
        assert auth.verify_password(admin.password_hash, "analytical-engine")
        actions = session.exec(select(AuditEvent.action)).all()
        assert actions == ["operator.create", "login"]


async def test_first_admin_form_refuses_different_passwords(sqlite_engine):
    app = make_app(sqlite_engine)
    async with app.run_test(size=(100, 40)) as pilot:
        screen = app.screen
        screen.query_one("#username", Input).value = "admin"
        screen.query_one("#password", Input).value = "analytical-engine"
        screen.query_one("#confirm", Input).value = "analytical-engin"
        screen.query_one("#confirm", Input).focus()
        await pilot.press("enter")
        await pilot.pause()
        assert "differ" in error_at(screen, "confirm")
        assert auth.needs_first_admin(sqlite_engine)


async def test_login_ok_opens_the_home_screen_as_that_operator(sqlite_engine):
    add_operator(sqlite_engine)
    app = make_app(sqlite_engine)
    async with app.run_test(size=(100, 40)) as pilot:
        assert isinstance(app.screen, LoginScreen)
        assert not app.check_action("command_palette", ())  # nothing before sign-in
        await pilot.press(*"mario", "enter", *"password-1", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen.id == "home"
        assert app.actor.name == "mario" and app.actor.operator_id is not None
        assert not app.check_action("audit", ())  # back office: no audit browser
    with Session(sqlite_engine) as session:
        event = session.exec(
            select(AuditEvent).where(AuditEvent.action == "login", AuditEvent.actor == "mario")
        ).one()
        assert event.outcome == "ok" and event.terminal == app.terminal


async def test_wrong_password_is_said_at_the_field(sqlite_engine):
    add_operator(sqlite_engine)
    app = make_app(sqlite_engine)
    async with app.run_test(size=(100, 40)) as pilot:
        await sign_in(pilot, "mario", "wrong-password")
        assert isinstance(app.screen, LoginScreen)
        assert "Wrong username or password" in error_at(app.screen, "password")
        assert app.screen.query_one("#password", Input).value == ""
        await sign_in(pilot, "", "whatever")
        assert "username" in error_at(app.screen, "username")


async def test_lockout_message_tells_the_minutes_left(sqlite_engine):
    add_operator(sqlite_engine)
    app = make_app(sqlite_engine)
    async with app.run_test(size=(100, 40)) as pilot:
        for _ in range(5):
            await sign_in(pilot, "mario", "wrong-password")
        message = error_at(app.screen, "password")
        assert "locked" in message and "15 minutes" in message
        await sign_in(pilot, "mario", "password-1")  # even the right one, while locked
        assert isinstance(app.screen, LoginScreen)
        assert "locked" in error_at(app.screen, "password")


async def test_idle_lock_asks_the_password_and_keeps_the_screen_beneath(sqlite_engine):
    add_operator(sqlite_engine)
    app = make_app(sqlite_engine, idle_seconds=0.3)
    async with app.run_test(size=(100, 40)) as pilot:
        await sign_in(pilot, "mario", "password-1")
        home = app.screen
        assert home.id == "home"
        await pilot.pause(0.6)
        assert isinstance(app.screen, LockScreen)
        assert app.screen_stack[-2] is home
        assert not app.check_action("command_palette", ())  # no way around the lock
        await pilot.press(*"wrong-password", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, LockScreen)
        assert "Wrong" in error_at(app.screen, "password")
        await pilot.press(*"password-1", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen is home
        assert app.check_action("command_palette", ())
    with Session(sqlite_engine) as session:
        outcomes = session.exec(
            select(AuditEvent.outcome).where(AuditEvent.action == "unlock")
        ).all()
        assert outcomes == ["failed", "ok"]


async def test_typing_keeps_the_terminal_unlocked(sqlite_engine):
    add_operator(sqlite_engine)
    app = make_app(sqlite_engine, idle_seconds=0.5)
    async with app.run_test(size=(100, 40)) as pilot:
        await sign_in(pilot, "mario", "password-1")
        for _ in range(6):
            await pilot.pause(0.15)
            await pilot.press("shift")
        assert app.screen.id == "home"


async def test_lock_key_locks_at_once(sqlite_engine):
    add_operator(sqlite_engine)
    app = make_app(sqlite_engine)
    async with app.run_test(size=(100, 40)) as pilot:
        await sign_in(pilot, "mario", "password-1")
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert isinstance(app.screen, LockScreen)


async def test_admin_reaches_audit_and_operators_from_the_palette_commands(sqlite_engine):
    add_operator(sqlite_engine)
    app = make_app(sqlite_engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot, "boss", "boss-password")
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Audit trail" in titles and "Operators" in titles
        await pilot.press("f8")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert type(app.screen).__name__ == "AuditScreen"
        status = str(app.screen.query_one("#audit-status", Static).render())
        assert "Page 1" in status


async def test_app_without_login_acts_as_given(sqlite_engine):
    """Other screens' tests construct PecApp(settings, engine, actor=...) as before."""
    app = LoginApp(load_settings(database_url="sqlite://"), sqlite_engine, actor=SYSTEM)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        assert app.screen.id == "home"
        assert app.idle_lock is None
        assert app.check_action("audit", ())


def test_lockout_minutes_round_up():
    now = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    assert auth.minutes_left(datetime(2026, 11, 26, 10, 14, 1, tzinfo=UTC), now) == 15
    assert auth.minutes_left(datetime(2026, 11, 26, 10, 0, 5, tzinfo=UTC), now) == 1


async def _as_boss(pilot) -> None:
    await sign_in(pilot, "boss", "boss-password")


async def test_audit_browser_pages_and_filters(sqlite_engine):
    add_operator(sqlite_engine)
    from pec_tui.services import audit

    with Session(sqlite_engine) as session:
        for i in range(130):
            audit.record(session, SYSTEM.on_terminal("job"), f"job.step{i % 3}")
        session.commit()
    app = make_app(sqlite_engine)
    async with app.run_test(size=(140, 40)) as pilot:
        await _as_boss(pilot)
        await pilot.press("f8")
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        table = screen.query_one("#audit-table")
        status = lambda: str(screen.query_one("#audit-status", Static).render())  # noqa: E731
        assert table.row_count == 50 and "Page 1" in status()
        newest = screen.rows[0].id
        await pilot.press("pagedown")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "Page 2" in status() and screen.rows[0].id < newest
        await pilot.press("pageup")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "Page 1" in status() and screen.rows[0].id == newest
        await pilot.press("ctrl+f")
        await pilot.press(*"boss")
        screen.query_one("#f-action", Input).value = "login"
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert {(r.actor, r.action) for r in screen.rows} == {("boss", "login")}
        screen.query_one("#f-since", Input).value = "31/02/2026"
        screen.query_one("#f-since", Input).focus()
        await pilot.press("enter")
        await pilot.pause()
        assert "dd/mm/yyyy" in str(screen.query_one("#audit-filter-error", Label).render())
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen.id == "home"


async def test_operators_screen_adds_and_disables(sqlite_engine):
    add_operator(sqlite_engine)
    app = make_app(sqlite_engine)
    async with app.run_test(size=(140, 45)) as pilot:
        await _as_boss(pilot)
        await pilot.press("f7")
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        assert [r.username for r in screen.rows] == ["boss", "mario"]
        await pilot.press("a")
        await pilot.pause()
        form = app.screen
        await pilot.press(*"anna", "enter", *"Anna Verdi", "enter")
        form.query_one("#password", Input).value = "anna-password"
        form.query_one("#confirm", Input).value = "anna-pass"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "differ" in error_at(form, "confirm")
        form.query_one("#confirm", Input).value = "anna-password"
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen is screen
        assert [r.username for r in screen.rows] == ["anna", "boss", "mario"]
        assert screen.selected.username == "anna"
        assert screen.check_action("enable", ()) is False
        await pilot.press("d")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await app.workers.wait_for_complete()
        assert screen.selected.username == "anna" and screen.selected.disabled
        assert screen.check_action("disable", ()) is False
    with pytest.raises(auth.LoginRefused):
        auth.authenticate(sqlite_engine, "anna", "anna-password")


async def test_operators_screen_new_password_lifts_a_lockout(sqlite_engine):
    add_operator(sqlite_engine)
    for _ in range(5):
        with pytest.raises(auth.LoginRefused):
            auth.authenticate(sqlite_engine, "mario", "wrong-password")
    app = make_app(sqlite_engine)
    async with app.run_test(size=(140, 45)) as pilot:
        await _as_boss(pilot)
        await pilot.press("f7")
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        await pilot.press("down")  # mario
        assert screen.selected.username == "mario"
        await pilot.press("p")
        await pilot.pause()
        await pilot.press(*"mario-new-1", "enter", *"mario-new-1", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await app.workers.wait_for_complete()
        assert app.screen is screen
    assert auth.authenticate(sqlite_engine, "mario", "mario-new-1").name == "mario"


def burst(app, keys: str) -> None:
    """Queue every key at once, as a paste, tmux or a barcode scanner delivers them: no key
    waits for the previous one to be handled (the pilot's `press` would wait)."""
    from textual import events

    names = {"\t": ("tab", None), "\r": ("enter", None)}
    for ch in keys:
        key, char = names.get(ch, (ch, ch))
        app.post_message(events.Key(key, char))


async def test_a_sign_in_typed_at_once_lands_where_it_was_typed(engine):
    add_operator(engine)
    async with make_app(engine).run_test() as pilot:
        await pilot.pause()
        burst(pilot.app, "mario\tpassword-1\r")
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert pilot.app.screen.id == "home"
        assert pilot.app.actor.name == "mario"


async def test_the_sign_in_of_a_demo_database_names_the_demo_operators(engine):
    from pec_tui.demo.seeding import mark_demo_operators, seed_demo

    seed_demo(engine, 30, 7)
    made = operators.create_demo_operators(engine, SYSTEM)
    mark_demo_operators(engine, [c.username for c in made])
    async with make_app(engine).run_test() as pilot:
        await pilot.pause()
        hint = str(pilot.app.screen.query_one("#demo-accounts", Static).render())
        assert "admin, backoffice, rivenditore1, rivenditore2" in hint
        assert "pec-tui demo --accounts" in hint


async def test_a_real_database_shows_no_demo_hint(engine):
    add_operator(engine)
    async with make_app(engine).run_test() as pilot:
        await pilot.pause()
        assert not pilot.app.screen.query("#demo-accounts")
