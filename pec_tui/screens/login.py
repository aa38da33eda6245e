"""Sign-in: the login screen, and the start of a session (first administrator or login).

Screens never see the database: they get an `auth` handle (`services.auth.AuthService`)
whose calls run in a worker thread, argon2 being deliberately slow.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar, Protocol

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, Label, Static

from pec_tui.i18n import N_, _
from pec_tui.services.actor import Actor
from pec_tui.widgets.keys import translate_bindings


class SignInAnswer(Protocol):
    actor: Actor | None
    message: str
    field: str
    locked_until: datetime | None


class Auth(Protocol):
    """What the sign-in screens need (implemented by `services.auth.AuthService`)."""

    def needs_first_admin(self) -> bool: ...
    def create_first_admin(self, username: str, password: str, full_name: str = "") -> Actor: ...
    def sign_in(self, username: str, password: str) -> SignInAnswer: ...
    def unlock(self, actor: Actor, password: str) -> SignInAnswer: ...
    def lockout_message(self, until: datetime) -> str | None: ...
    def check_username(self, username: str) -> str: ...
    def check_password(self, password: str, username: str | None = None) -> None: ...


def field_block(label: str, field_id: str, **input_options: Any) -> ComposeResult:
    """A label, its input and the error line beneath it (`#<field_id>-error`)."""
    yield Label(label, classes="auth-label")
    yield Input(id=field_id, **input_options)
    yield Label("", id=f"{field_id}-error", classes="auth-error")


class FieldErrors:
    """For form screens: an error line under each of `FIELDS`, a general `#auth-message`
    line, and Enter moving from field to field (`submit()` on the last one)."""

    FIELDS: ClassVar[tuple[str, ...]] = ()

    def show_error(self: Any, field: str | None, message: str) -> None:
        """Put `message` under `field` (or on the general line) and focus that field."""
        for name in self.FIELDS:
            self.query_one(f"#{name}-error", Label).update(message if name == field else "")
        self.query_one("#auth-message", Static).update("" if field in self.FIELDS else message)
        if field in self.FIELDS:
            self.query_one(f"#{field}").focus()

    def clear_errors(self) -> None:
        self.show_error(None, "")

    def value(self: Any, field: str) -> str:
        return self.query_one(f"#{field}", Input).value

    def action_next_or_submit(self: Any) -> None:
        focused = self.focused
        ids = list(self.FIELDS)
        if focused is not None and focused.id in ids[:-1]:
            self.query_one(f"#{ids[ids.index(focused.id) + 1]}").focus()
        else:
            self.submit()

    def submit(self) -> None:
        raise NotImplementedError

    def set_busy(self: Any, busy: bool) -> None:
        self.query_one("#auth-box").loading = busy


class AuthForm(FieldErrors, Screen[Any]):
    """A small centred form of Inputs only (Enter is theirs: a priority binding)."""

    CSS_PATH = "../styles/auth.tcss"


class LoginScreen(AuthForm):
    """Username and password; errors at the field; a lockout says how many minutes are left."""

    FIELDS = ("username", "password")
    BINDINGS: ClassVar = [
        Binding("enter", "next_or_submit", N_("Sign in"), id="login.submit", priority=True),
    ]

    def __init__(self, auth: Auth, notice: str = "") -> None:
        super().__init__()
        translate_bindings(self)
        self.auth = auth
        self.notice = notice
        self._lockout: datetime | None = None
        self._lockout_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="auth-box"):
            yield Static(_("pec-tui — operator sign-in"), classes="auth-title")
            yield from field_block(_("Username"), "username", max_length=64)
            yield from field_block(_("Password"), "password", password=True, max_length=256)
            yield Static(self.notice, id="auth-message")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#username", Input).focus()

    def submit(self) -> None:
        username = self.value("username").strip()
        if not username:
            self.show_error("username", _("Enter your username."))
            return
        if not self.value("password"):
            self.show_error("password", _("Enter your password."))
            return
        self._sign_in(username, self.value("password"))

    @work(exclusive=True, group="sign-in")
    async def _sign_in(self, username: str, password: str) -> None:
        self.set_busy(True)
        try:
            answer = await asyncio.to_thread(self.auth.sign_in, username, password)
        except Exception as exc:  # the database is out of reach: say so, stay here
            self.show_error(None, _("Sign-in failed: {error}").format(error=exc))
            return
        finally:
            self.set_busy(False)
        if answer.actor is not None:
            self.dismiss(answer.actor)
            return
        self.query_one("#password", Input).value = ""
        self.show_error(answer.field, answer.message)
        self._watch_lockout(answer.locked_until)

    def _watch_lockout(self, until: datetime | None) -> None:
        """Keep the minutes left up to date while the account stays locked."""
        self._lockout = until
        if self._lockout_timer is not None:
            self._lockout_timer.stop()
            self._lockout_timer = None
        if until is not None:
            self._lockout_timer = self.set_interval(15, self._refresh_lockout)

    def _refresh_lockout(self) -> None:
        if self._lockout is None:
            return
        message = self.auth.lockout_message(self._lockout)
        if message is None:
            self._watch_lockout(None)
            message = _("The account is unlocked: you can sign in again.")
        self.query_one("#password-error", Label).update(message)


def start_session(app: App[Any], auth: Auth, signed_in: Callable[[Actor], None]) -> None:
    """Ask who is working (creating the first administrator on an empty database), then
    call `signed_in` with the actor."""
    from pec_tui.screens.first_admin import FirstAdminScreen

    def done(actor: Actor | None) -> None:
        if actor is None:  # someone else created the first administrator meanwhile
            notice = _("An administrator already exists: sign in.")
            app.push_screen(LoginScreen(auth, notice), done)
        else:
            signed_in(actor)

    if auth.needs_first_admin():
        app.push_screen(FirstAdminScreen(auth), done)
    else:
        app.push_screen(LoginScreen(auth), done)
