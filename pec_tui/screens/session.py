"""The start of an operator session: the first administrator on an empty database, or sign-in."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from textual.app import App

from pec_tui.i18n import _
from pec_tui.screens.auth_form import Auth
from pec_tui.screens.login import LoginScreen
from pec_tui.services.actor import Actor


class SessionStart:
    """Ask who is working (creating the first administrator on an empty database), then
    call `signed_in` with the actor.

    The sign-in form can be shown before the database is open (`sign_in_first`): once it
    is, `ask` replaces it with the first administrator's form on an empty database, or
    names the demo operators on it."""

    def __init__(self, app: App[Any], auth: Auth, signed_in: Callable[[Actor], None]) -> None:
        self.app = app
        self.auth = auth
        self.signed_in = signed_in
        self.demo_accounts: tuple[str, ...] = ()
        self._early: LoginScreen | None = None

    def sign_in_first(self, opened: threading.Event) -> None:
        """The sign-in form at once; its Enter waits for `opened`."""
        self._early = LoginScreen(self.auth, opened=opened)
        self.app.push_screen(self._early, self._done)

    def ask(self, first_admin: bool, demo_accounts: Sequence[str] = ()) -> None:
        """The database is open: `first_admin` when it has no operator yet; `demo_accounts`
        are named on the sign-in form."""
        self.demo_accounts = tuple(demo_accounts)
        early, self._early = self._early, None
        if early is not None and not first_admin:
            early.show_demo_accounts(self.demo_accounts)
            return
        if early is not None and self.app.screen is early:
            self.app.pop_screen()
        if first_admin:
            from pec_tui.screens.first_admin import FirstAdminScreen

            self.app.push_screen(FirstAdminScreen(self.auth), self._done)
        else:
            self.app.push_screen(
                LoginScreen(self.auth, demo_accounts=self.demo_accounts), self._done
            )

    def _done(self, actor: Actor | None) -> None:
        if actor is None:  # someone else created the first administrator meanwhile
            notice = _("An administrator already exists: sign in.")
            self.app.push_screen(LoginScreen(self.auth, notice, self.demo_accounts), self._done)
        else:
            self.signed_in(actor)
