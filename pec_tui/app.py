"""The Textual application: settings, services, keymap and the first screen."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy import Engine
from textual.app import App
from textual.binding import Binding

from pec_tui.config import Settings
from pec_tui.i18n import _
from pec_tui.services.actor import SYSTEM, Actor


class PecApp(App[None]):
    CSS_PATH = "styles/app.tcss"
    TITLE = "pec-tui"

    BINDINGS = [
        Binding("ctrl+q", "quit", _("Quit"), id="quit", priority=True),
        Binding("f1", "help", _("Keys"), id="help"),
    ]

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        actor: Actor | None = None,
        today: Callable[[], date] = date.today,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.engine = engine
        self.actor = (actor or SYSTEM).on_terminal(settings.terminal)
        self.today = today
        self.sub_title = _("PEC mailbox management")

    def on_mount(self) -> None:
        if self.settings.keymap:
            self.set_keymap(self.settings.keymap)
        from pec_tui.screens.mailboxes import MailboxesScreen

        self.push_screen(MailboxesScreen())

    def action_help(self) -> None:
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()


def run_app(settings: Settings, engine: Engine) -> None:
    PecApp(settings, engine).run()
