"""Idle lock: after some minutes without a key or mouse event the terminal asks the operator's
password again. The screens beneath stay as they were (a half-filled order is not lost) but are
hidden while locked: a terminal left unattended shows no customer data.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from time import monotonic
from typing import Any, ClassVar

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from pec_tui.i18n import N_, _
from pec_tui.screens.auth_form import Auth
from pec_tui.services.actor import Actor
from pec_tui.widgets.footer import KeysFooter
from pec_tui.widgets.keys import translate_bindings


class LockScreen(ModalScreen[Actor]):
    """Asks `actor`'s password; dismissed with the (re-)signed-in actor. No way around it
    but the password or quitting the application."""

    CSS_PATH = "../styles/auth.tcss"
    BINDINGS: ClassVar = [
        Binding("enter", "unlock", N_("Unlock"), id="lock.unlock", priority=True),
    ]

    def __init__(self, auth: Auth, actor: Actor) -> None:
        super().__init__(id="idle-lock")
        translate_bindings(self)
        self.auth = auth
        self.actor = actor

    def compose(self) -> ComposeResult:
        with Vertical(id="auth-box"):
            yield Static(_("Terminal locked"), classes="auth-title")
            yield Static(
                _("Locked after a period without activity. {name}, enter your password.").format(
                    name=self.actor.name
                ),
                classes="auth-hint",
            )
            yield Label(_("Password"), classes="auth-label")
            yield Input(id="password", password=True, max_length=256)
            yield Label("", id="password-error", classes="auth-error")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#password", Input).focus()

    def action_unlock(self) -> None:
        password = self.query_one("#password", Input).value
        if not password:
            self._error(_("Enter your password."))
            return
        self._unlock(password)

    def _error(self, message: str) -> None:
        self.query_one("#password-error", Label).update(message)

    @work(exclusive=True, group="unlock")
    async def _unlock(self, password: str) -> None:
        box = self.query_one("#auth-box")
        box.loading = True
        try:
            answer = await asyncio.to_thread(self.auth.unlock, self.actor, password)
        except Exception as exc:
            self._error(_("Unlock failed: {error}").format(error=exc))
            return
        finally:
            box.loading = False
        if answer.actor is not None:
            self.dismiss(answer.actor)
            return
        self.query_one("#password", Input).value = ""
        self._error(answer.message)


class IdleLock:
    """Watches the time since the last input and pushes `LockScreen` after `timeout` seconds.

    The app calls `touch()` on every input event and `arm(actor)` once someone signed in.
    """

    def __init__(
        self,
        app: App[Any],
        auth: Auth,
        timeout: float,
        unlocked: Callable[[Actor], None] | None = None,
    ) -> None:
        self.app = app
        self.auth = auth
        self.timeout = timeout
        self.unlocked = unlocked
        self.actor: Actor | None = None
        self.locked = False
        self._last_input = monotonic()

    def arm(self, actor: Actor) -> None:
        """Start watching on behalf of `actor` (checks a few times per timeout, at most 1/s)."""
        self.actor = actor
        self.touch()
        self.app.set_interval(min(1.0, max(self.timeout / 4, 0.05)), self.check)

    def touch(self) -> None:
        self._last_input = monotonic()

    @property
    def idle_seconds(self) -> float:
        return monotonic() - self._last_input

    def check(self) -> None:
        if self.actor is not None and not self.locked and self.idle_seconds >= self.timeout:
            self.lock()

    def lock(self) -> None:
        if self.actor is None or self.locked:
            return
        self.locked = True
        self.app.push_screen(LockScreen(self.auth, self.actor), self._done)

    def _done(self, actor: Actor | None) -> None:
        self.locked = False
        self.touch()
        if actor is not None:
            self.actor = actor
            if self.unlocked is not None:
                self.unlocked(actor)
