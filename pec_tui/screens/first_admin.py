"""First start on an empty database: create the first administrator, who is then signed in."""

from __future__ import annotations

import asyncio
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Static

from pec_tui.domain.validation import ValidationError
from pec_tui.i18n import N_, _
from pec_tui.screens.auth_form import Auth, AuthForm
from pec_tui.widgets.footer import KeysFooter
from pec_tui.widgets.forms import field_block
from pec_tui.widgets.keys import translate_bindings


class FirstAdminScreen(AuthForm):
    """Dismissed with the new administrator, or None if another terminal created one first."""

    FIELDS = ("username", "full_name", "password", "confirm")
    BINDINGS: ClassVar = [
        Binding(
            "enter", "next_or_submit", N_("Create administrator"), id="first_admin.submit",
            priority=True,
        ),
    ]  # fmt: skip

    def __init__(self, auth: Auth) -> None:
        super().__init__()
        translate_bindings(self)
        self.auth = auth

    def compose(self) -> ComposeResult:
        with Vertical(id="auth-box"):
            yield Static(_("pec-tui — first start"), classes="auth-title")
            yield Static(
                _(
                    "The database has no operators yet. Create the administrator account: "
                    "it will manage the other operators."
                ),
                classes="auth-hint",
            )
            yield from field_block(_("Username"), "username", max_length=64)
            yield from field_block(_("Full name"), "full_name", max_length=200)
            yield from field_block(_("Password"), "password", password=True, max_length=256)
            yield from field_block(
                _("Repeat the password"), "confirm", password=True, max_length=256
            )
            yield Static("", id="auth-message")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#username").focus()

    def submit(self) -> None:
        try:
            username = self.auth.check_username(self.value("username"))
            self.auth.check_password(self.value("password"), username)
        except ValidationError as exc:
            self.show_error(exc.field, exc.message)
            return
        if self.value("confirm") != self.value("password"):
            self.show_error("confirm", _("The two passwords differ."))
            return
        self.clear_errors()
        self._create(username, self.value("full_name"), self.value("password"))

    @work(exclusive=True, group="first-admin")
    async def _create(self, username: str, full_name: str, password: str) -> None:
        self.set_busy(True)
        try:
            actor = await asyncio.to_thread(
                self.auth.create_first_admin, username, password, full_name
            )
        except ValidationError as exc:
            self.show_error(exc.field, exc.message)
            return
        except PermissionError:  # another terminal was quicker
            self.dismiss(None)
            return
        except Exception as exc:
            self.show_error(None, _("The administrator was not created: {error}").format(error=exc))
            return
        finally:
            self.set_busy(False)
        self.dismiss(actor)
