"""The Textual application: settings, services, keymap and the first screen."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date

from sqlalchemy import Engine
from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from pec_tui.config import Settings
from pec_tui.domain.enums import Role
from pec_tui.i18n import N_, _
from pec_tui.services.actor import SYSTEM, Actor
from pec_tui.widgets.keys import translate_bindings

# Before sign-in: scoped to reseller and holder 0, which do not exist, so it sees nothing.
NOBODY = Actor(name="", role=Role.BACK_OFFICE, reseller_id=0, holder_id=0)
# App actions that stay available before sign-in and while the terminal is locked.
ALWAYS = frozenset(
    {"quit", "help", "help_quit", "bell", "focus_next", "focus_previous", "hide_help_panel"}
)


class PecApp(App[None]):
    CSS_PATH = "styles/app.tcss"
    TITLE = "pec-tui"

    BINDINGS = [
        Binding("ctrl+q", "quit", N_("Quit"), id="quit", priority=True),
        Binding("f1", "help", N_("Keys"), id="help"),
        Binding("f6", "orders", N_("Orders"), id="orders"),
        Binding("f8", "audit", N_("Audit"), id="audit"),
        Binding("f7", "operators", N_("Operators"), id="operators"),
        Binding("ctrl+l", "lock", N_("Lock"), id="lock"),
    ]

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        actor: Actor | None = None,
        today: Callable[[], date] = date.today,
        login: bool = False,
    ) -> None:
        super().__init__()
        translate_bindings(self)
        self.settings = settings
        self.engine = engine
        self.actor = (actor or SYSTEM).on_terminal(settings.terminal)
        self.today = today
        self.sub_title = _("PEC mailbox management")
        # With `login`, the operator signs in first and the terminal locks when left idle.
        self.login = login
        self.idle_timeout = settings.idle_lock_minutes * 60.0
        self.idle_lock = None
        if login:
            from pec_tui.services.auth import AuthService

            self.actor = NOBODY
            self.auth = AuthService(engine, settings.terminal)

    def on_mount(self) -> None:
        if self.settings.keymap:
            self.set_keymap(self.settings.keymap)
        if self.login:
            from pec_tui.screens.login import start_session

            start_session(self, self.auth, self.begin_session)
        else:
            self.open_home()

    def open_home(self) -> None:
        from pec_tui.screens.mailboxes import MailboxesScreen

        self.push_screen(MailboxesScreen())
        from pec_tui.screens.flow import offer_unfinished_drafts

        offer_unfinished_drafts(self)

    def start_renewal(self, mailbox_ids: list[int]) -> None:
        """Walk the renewal flow for these mailboxes (the steps live in screens/flow.py)."""
        from pec_tui.screens.flow import run_renewal

        run_renewal(self, mailbox_ids=mailbox_ids)

    def resume_draft(self, order_id: int) -> None:
        """Resume a saved renewal draft at the step where it was left."""
        from pec_tui.screens.flow import run_renewal

        run_renewal(self, order_id=order_id)

    # --- operator session: sign-in, idle lock, administration ---------------------------

    def begin_session(self, actor: Actor) -> None:
        from pec_tui.screens.lock import IdleLock

        self.actor = actor.on_terminal(self.settings.terminal)
        title = _("PEC mailbox management")
        self.sub_title = f"{title} — {self.actor.name}"
        if self.idle_timeout > 0:
            self.idle_lock = IdleLock(self, self.auth, self.idle_timeout)
            self.idle_lock.arm(self.actor)
        self.open_home()

    async def on_event(self, event: events.Event) -> None:
        if self.idle_lock is not None and isinstance(event, events.InputEvent):
            self.idle_lock.touch()
        await super().on_event(event)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ALWAYS:
            return True
        if self.actor is NOBODY or (self.idle_lock is not None and self.idle_lock.locked):
            return False
        if action in ("audit", "operators"):
            return self.actor.is_admin and self.actor.reseller_id is None
        if action == "lock":
            return self.idle_lock is not None
        if action == "orders":
            return not self.actor.is_kiosk
        return True

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for action, title, help_text in (
            ("orders", _("Orders"), _("List orders, register payments, cancel unpaid orders")),
            ("audit", _("Audit trail"), _("Who did what, when, from which terminal")),
            ("operators", _("Operators"), _("Add, list and disable operator accounts")),
            ("lock", _("Lock the terminal"), _("Ask the password again before going on")),
        ):
            if self.check_action(action, ()):
                yield SystemCommand(title, help_text, getattr(self, f"action_{action}"))

    def action_orders(self) -> None:
        from pec_tui.screens.orders import OrdersScreen

        self.push_screen(OrdersScreen())

    def action_audit(self) -> None:
        from pec_tui.screens.audit import AuditScreen
        from pec_tui.services.audit_queries import AuditLog

        self.push_screen(AuditScreen(AuditLog(self.engine, self.actor)))

    def action_operators(self) -> None:
        from pec_tui.screens.operators import OperatorsScreen
        from pec_tui.services.operators import OperatorAdmin

        self.push_screen(OperatorsScreen(OperatorAdmin(self.engine, self.actor)))

    def action_lock(self) -> None:
        if self.idle_lock is not None:
            self.idle_lock.lock()

    def action_help(self) -> None:
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()


def run_app(settings: Settings, engine: Engine) -> None:
    PecApp(settings, engine, login=True).run()
