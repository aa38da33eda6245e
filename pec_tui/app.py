"""The Textual application: settings, the screens' context, keymap and the first screen."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from sqlalchemy import Engine
from textual import events, on
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.command import CommandPalette
from textual.screen import Screen

from pec_tui.config import Settings
from pec_tui.domain.enums import Role
from pec_tui.i18n import N_, _
from pec_tui.screens.audit import AuditScreen
from pec_tui.screens.dashboard import DashboardScreen
from pec_tui.screens.flow import offer_unfinished_drafts, run_renewal
from pec_tui.screens.holder import CustomerAreaScreen
from pec_tui.screens.lock import IdleLock
from pec_tui.screens.mailbox_detail import MailboxDetailScreen
from pec_tui.screens.mailboxes import MailboxesScreen
from pec_tui.screens.messages import (
    OpenCustomerArea,
    OpenDashboard,
    OpenExpiries,
    OpenMailbox,
    OpenMailboxList,
    StartRenewal,
)
from pec_tui.screens.operators import OperatorsScreen
from pec_tui.screens.orders import OrdersScreen
from pec_tui.screens.outbox import OutboxScreen
from pec_tui.screens.session import start_session
from pec_tui.services.actor import SYSTEM, Actor, session_terminal
from pec_tui.services.audit_queries import AuditLog
from pec_tui.services.auth import AuthService
from pec_tui.services.context import Context
from pec_tui.services.draft_leases import release_session
from pec_tui.services.operators import OperatorAdmin, demo_operators
from pec_tui.widgets.keys import translate_bindings
from pec_tui.widgets.textual_strings import key_display, translate_textual

log = logging.getLogger(__name__)

# Before sign-in: scoped to reseller and holder 0, which do not exist, so it sees nothing.
NOBODY = Actor(name="", role=Role.BACK_OFFICE, reseller_id=0, holder_id=0)
# App actions that stay available before sign-in and while the terminal is locked.
ALWAYS = frozenset(
    {"quit", "help", "help_quit", "bell", "focus_next", "focus_previous", "hide_help_panel"}
)
COMMANDS = (
    (
        "dashboard",
        N_("Expiries and revenue"),
        N_("Mailboxes expiring month by month, orders awaiting payment, money paid"),
    ),
    ("orders", N_("Orders"), N_("List orders, register payments, cancel unpaid orders")),
    ("audit", N_("Audit trail"), N_("Who did what, when, from which terminal")),
    (
        "outbox",
        N_("Outgoing e-mail"),
        N_("E-mails refused by the server, with the reason; send again"),
    ),
    ("operators", N_("Operators"), N_("Add, list and disable operator accounts")),
    ("lock", N_("Lock the terminal"), N_("Ask the password again before going on")),
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
        Binding("f9", "outbox", N_("Outbox"), id="outbox"),
        Binding("ctrl+l", "lock", N_("Lock"), id="lock"),
    ]

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        actor: Actor | None = None,
        today: Callable[[], date] = date.today,
        login: bool = False,
        signed_in: Actor | None = None,
    ) -> None:
        translate_textual()  # before any widget exists: they copy their class's keys
        super().__init__()
        translate_bindings(self)
        # Lines printed when the app has ended after an error no screen handled.
        self._fault_lines: list[str] = []
        # This running UI's own terminal identity (the configured name and a session id):
        # what the audit records and what holds the drafts it works on.
        self.terminal = session_terminal(settings.terminal)
        # Handed to every screen when it is made; rebuilt when the actor changes.
        self.ctx = Context(engine, (actor or SYSTEM).on_terminal(self.terminal), settings, today)
        self.sub_title = _("PEC mailbox management")
        # With `login`, the operator signs in first and the terminal locks when left idle;
        # `signed_in` skips the sign-in for an actor already authenticated (`pec-tui demo`).
        self.login = login
        self.signed_in = signed_in
        self.idle_timeout = settings.idle_lock_minutes * 60.0
        self.idle_lock: IdleLock | None = None
        self.auth = AuthService(engine, self.terminal)
        if login:
            self.ctx = self.ctx.as_actor(NOBODY)

    @property
    def engine(self) -> Engine:
        return self.ctx.engine

    @property
    def actor(self) -> Actor:
        return self.ctx.actor

    def on_mount(self) -> None:
        if self.ctx.settings.keymap:
            self.set_keymap(self.ctx.settings.keymap)
        if self.login and self.signed_in is not None:
            self.begin_session(self.signed_in)
        elif self.login:
            accounts = [o.username for o in demo_operators(self.engine)]
            start_session(self, self.auth, self.begin_session, accounts)
        else:
            self.open_home()

    def on_unmount(self) -> None:
        """The UI quits: the drafts this session still holds are offered back at once."""
        self.release_drafts()

    def release_drafts(self, terminal: str | None = None) -> None:
        """End the leases of the drafts session `terminal` (default: this one) still holds."""
        terminal = terminal or self.terminal
        try:
            release_session(self.engine, terminal)
        except Exception:  # the leases then run out by themselves
            log.exception("releasing the drafts of %s", terminal)

    def open_home(self) -> None:
        self.push_screen(MailboxesScreen(self.ctx))
        offer_unfinished_drafts(self, self.ctx)

    def start_renewal(self, mailbox_ids: list[int]) -> None:
        """Walk the renewal flow for these mailboxes (the steps live in screens/flow.py)."""
        run_renewal(self, self.ctx, mailbox_ids=mailbox_ids)

    def resume_draft(self, order_id: int) -> None:
        """Resume a saved renewal draft at the step where it was left."""
        run_renewal(self, self.ctx, order_id=order_id)

    # --- what screens ask for -----------------------------------------------------------------

    @on(StartRenewal)
    def _start_renewal(self, message: StartRenewal) -> None:
        self.start_renewal(message.mailbox_ids)

    @on(OpenMailbox)
    def _open_mailbox(self, message: OpenMailbox) -> None:
        self.push_screen(MailboxDetailScreen(self.ctx, message.mailbox_id))

    @on(OpenCustomerArea)
    def _open_customer_area(self, message: OpenCustomerArea) -> None:
        self.push_screen(CustomerAreaScreen(self.ctx, message.holder_id))

    @on(OpenDashboard)
    def _open_dashboard(self, message: OpenDashboard) -> None:
        self.action_dashboard()

    @on(OpenExpiries)
    def _open_expiries(self, message: OpenExpiries) -> None:
        self.push_screen(
            MailboxesScreen(self.ctx, expiry_month=message.month, reseller_id=message.reseller_id)
        )

    @on(OpenMailboxList)
    def _open_mailbox_list(self, message: OpenMailboxList) -> None:
        self.push_screen(MailboxesScreen(self.ctx, holder_id=message.holder_id))

    # --- operator session: sign-in, idle lock, administration ---------------------------

    def begin_session(self, actor: Actor) -> None:
        self._signed_in(actor)
        title = _("PEC mailbox management")
        self.sub_title = f"{title} — {self.actor.name}"
        if self.idle_timeout > 0:
            self.idle_lock = IdleLock(self, self.auth, self.idle_timeout, self._signed_in)
            self.idle_lock.arm(self.actor)
        self.open_home()

    def _signed_in(self, actor: Actor) -> None:
        self.ctx = self.ctx.as_actor(actor.on_terminal(self.terminal))

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
        if action == "outbox":  # every reseller's e-mails: administration only
            return self.actor.role in (Role.ADMIN, Role.BACK_OFFICE) and not self.actor.is_kiosk
        if action in ("orders", "dashboard"):
            return not self.actor.is_kiosk
        return True

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        for command in super().get_system_commands(screen):  # Textual's, in English
            yield SystemCommand(
                _(command.title), _(command.help), command.callback, command.discover
            )
        for action, title, help_text in COMMANDS:
            if self.check_action(action, ()):
                yield SystemCommand(_(title), _(help_text), getattr(self, f"action_{action}"))

    def get_key_display(self, binding: Binding) -> str:
        """The key as the footer and f1 show it, named in the UI language ("spazio")."""
        return key_display(super().get_key_display(binding))

    def action_command_palette(self) -> None:
        if self.use_command_palette and not isinstance(self.screen, CommandPalette):
            palette = CommandPalette(id="--command-palette", placeholder=_("Search for commands…"))
            self.push_screen(palette)

    def action_orders(self) -> None:
        self.push_screen(OrdersScreen(self.ctx))

    def action_dashboard(self) -> None:
        if not isinstance(self.screen, DashboardScreen):
            self.push_screen(DashboardScreen(self.ctx))

    def action_audit(self) -> None:
        self.push_screen(AuditScreen(AuditLog(self.engine, self.actor)))

    def action_outbox(self) -> None:
        if not isinstance(self.screen, OutboxScreen):
            self.push_screen(OutboxScreen(self.ctx))

    def action_operators(self) -> None:
        self.push_screen(OperatorsScreen(OperatorAdmin(self.engine, self.actor)))

    def action_lock(self) -> None:
        if self.idle_lock is not None:
            self.idle_lock.lock()

    def _handle_exception(self, error: Exception) -> None:
        """An error no screen handled ends the app with one line, not a traceback dump: what
        to do for a known fault (the database stopped answering), else the log file that now
        holds the traceback (exit status 70). Under the pilot the error is re-raised as usual."""
        from pec_tui.services import faults

        message = faults.explain(error)
        self._return_code = 1
        if message is None:
            log = faults.record_unexpected(error, "pec-tui terminal UI")
            message = faults.unexpected_message(error, log)
            self._return_code = faults.EXIT_UNEXPECTED
        if self._exception is None:
            self._exception = error
            self._exception_event.set()
        self.bell()
        self._fault_lines.append(message)
        self._close_messages_no_wait()

    def _print_error_renderables(self) -> None:
        # Plain lines, never wrapped by the console: the log path stays whole for copying.
        for line in self._fault_lines:
            print(line, file=sys.stderr)
        self._fault_lines.clear()
        super()._print_error_renderables()

    def action_help(self) -> None:
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()


def run_app(settings: Settings, engine: Engine, signed_in: Actor | None = None) -> None:
    app = PecApp(settings, engine, login=True, signed_in=signed_in)
    app.run()
    if app.return_code:
        raise SystemExit(app.return_code)
