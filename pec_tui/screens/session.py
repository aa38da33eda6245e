"""The start of an operator session: the first administrator on an empty database, or sign-in."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from textual.app import App

from pec_tui.i18n import _
from pec_tui.screens.auth_form import Auth
from pec_tui.screens.first_admin import FirstAdminScreen
from pec_tui.screens.login import LoginScreen
from pec_tui.services.actor import Actor


def start_session(
    app: App[Any],
    auth: Auth,
    signed_in: Callable[[Actor], None],
    demo_accounts: Sequence[str] = (),
) -> None:
    """Ask who is working (creating the first administrator on an empty database), then
    call `signed_in` with the actor. `demo_accounts` are named on the sign-in screen."""

    def done(actor: Actor | None) -> None:
        if actor is None:  # someone else created the first administrator meanwhile
            notice = _("An administrator already exists: sign in.")
            app.push_screen(LoginScreen(auth, notice, demo_accounts), done)
        else:
            signed_in(actor)

    if auth.needs_first_admin():
        app.push_screen(FirstAdminScreen(auth), done)
    else:
        app.push_screen(LoginScreen(auth, demo_accounts=demo_accounts), done)
