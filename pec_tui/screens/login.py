"""Sign-in: the operator's login screen.

Screens never see the database: they get an `auth` handle (`services.auth.AuthService`)
whose calls run in a worker thread, argon2 being deliberately slow.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.timer import Timer
from textual.widgets import Input, Label, Static

from pec_tui.i18n import N_, _
from pec_tui.screens.auth_form import Auth, AuthForm
from pec_tui.widgets.footer import KeysFooter
from pec_tui.widgets.forms import field_block
from pec_tui.widgets.keys import translate_bindings


class LoginScreen(AuthForm):
    """Username and password; errors at the field; a lockout says how many minutes are left."""

    FIELDS = ("username", "password")
    BINDINGS: ClassVar = [
        Binding("enter", "next_or_submit", N_("Sign in"), id="login.submit", priority=True),
    ]

    def __init__(
        self,
        auth: Auth,
        notice: str = "",
        demo_accounts: Sequence[str] = (),
        opened: threading.Event | None = None,
    ) -> None:
        super().__init__()
        translate_bindings(self)
        self.auth = auth
        self.notice = notice
        # On a database `pec-tui demo` filled: the demo operators' names, shown as a hint.
        self.demo_accounts = tuple(demo_accounts)
        # Set once the database is open, when the form is shown before (`pec-tui` starting).
        self.opened = opened
        self._lockout: datetime | None = None
        self._lockout_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="auth-box"):
            yield Static(_("pec-tui — operator sign-in"), classes="auth-title")
            if self.demo_accounts:
                yield self._demo_hint()
            yield from field_block(_("Username"), "username", max_length=64)
            yield from field_block(_("Password"), "password", password=True, max_length=256)
            yield Static(self.notice, id="auth-message")
        yield KeysFooter()

    def _demo_hint(self) -> Static:
        return Static(
            _(
                "Demo database. Operators: {names}. `pec-tui demo --accounts` prints new passwords."
            ).format(names=", ".join(self.demo_accounts)),
            id="demo-accounts",
            classes="auth-hint",
        )

    def on_mount(self) -> None:
        self.query_one("#username", Input).focus()

    def show_demo_accounts(self, names: Sequence[str]) -> None:
        """Name the demo operators, found once the database is open."""
        if names and not self.demo_accounts:
            self.demo_accounts = tuple(names)
            self.query_one("#auth-box").mount(self._demo_hint(), after=".auth-title")

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
        if self.opened is not None and not self.opened.is_set():
            # Typed before the database was open: say what is being waited for.
            self.query_one("#auth-message", Static).update(_("Opening the database…"))
            await asyncio.to_thread(self.opened.wait)
            self.query_one("#auth-message", Static).update(self.notice)
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
