"""The Textual application: settings, the screens' context, keymap and the first screen."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Iterable
from datetime import date
from typing import TYPE_CHECKING, Any, Literal, overload

from textual import events, on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.command import CommandPalette
from textual.screen import Screen, ScreenResultCallbackType, ScreenResultType

from pec_tui.domain.enums import Role
from pec_tui.i18n import N_, _
from pec_tui.screens.messages import (
    OpenCustomerArea,
    OpenDashboard,
    OpenDrafts,
    OpenExpiries,
    OpenMailbox,
    OpenMailboxList,
    RenewSelection,
    StartRenewal,
)
from pec_tui.services.actor import SYSTEM, Actor, session_terminal
from pec_tui.widgets.keys import translate_bindings
from pec_tui.widgets.textual_strings import key_display, translate_textual

# The sign-in form is drawn before the database layer and the other screens are imported
# (they take several times longer than Textual itself): they are imported where used, or
# while the operator types (`PecApp.open_in_background`).
if TYPE_CHECKING:
    import asyncio
    from datetime import datetime

    from sqlalchemy import Engine
    from textual.widget import AwaitMount

    from pec_tui.config import Settings
    from pec_tui.screens.auth_form import Auth
    from pec_tui.screens.lock import IdleLock
    from pec_tui.screens.session import SessionStart
    from pec_tui.services.auth import AuthService, SignIn
    from pec_tui.services.context import Context
    from pec_tui.services.mailboxes import Selection

# Loads the settings and opens the database (schema check, reference data): slow, so run in
# a worker thread while the sign-in form is on screen. Raises what it cannot get past.
Opener = Callable[[], "tuple[Settings, Engine]"]
# What the worker imports after opening the database, so that the first screen after the
# sign-in is as quick as when everything was imported before the form.
HOME_MODULES = (
    "pec_tui.screens.mailboxes",
    "pec_tui.screens.flow",
    "pec_tui.screens.lock",
    "pec_tui.services.draft_leases",
)

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
        settings: Settings | None,
        engine: Engine | None,
        actor: Actor | None = None,
        today: Callable[[], date] = date.today,
        login: bool = False,
        signed_in: Actor | None = None,
        opener: Opener | None = None,
    ) -> None:
        """`settings` and `engine` as opened already; or None and None with `opener`, which
        then runs in a worker while the sign-in form is on screen (`launch_app`)."""
        translate_textual()  # before any widget exists: they copy their class's keys
        super().__init__()
        translate_bindings(self)
        # Lines printed when the app has ended after an error no screen handled.
        self._fault_lines: list[str] = []
        self.sub_title = _("PEC mailbox management")
        # With `login`, the operator signs in first and the terminal locks when left idle;
        # `signed_in` skips the sign-in for an actor already authenticated (`pec-tui demo`).
        self.login = login
        self.signed_in = signed_in
        self.idle_lock: IdleLock | None = None
        self._first_actor = actor
        self._today = today
        self._opener = opener
        # Why the database could not be opened (`opener` raised): the app then ends, and
        # `launch_app` raises it for the command line to say in one line, as before the UI.
        self.opening_failure: BaseException | None = None
        # Set once the database is open (or could not be): the sign-in waits for it.
        self.opened = threading.Event()
        self._session: SessionStart | None = None
        # Handed to every screen when it is made; rebuilt when the actor changes.
        self._ctx: Context | None = None
        # This running UI's own terminal identity (the configured name and a session id):
        # what the audit records and what holds the drafts it works on.
        self.terminal = ""
        self.idle_timeout = 0.0
        self.auth: Auth = LateAuth(self.opened)
        if opener is None:
            if settings is None or engine is None:
                raise TypeError("PecApp needs settings and an engine, or an opener")
            self._setup(settings, engine)

    def _setup(self, settings: Settings, engine: Engine) -> None:
        """The settings and the open database: the context, the sign-in service."""
        from pec_tui.services.auth import AuthService
        from pec_tui.services.context import Context

        self.terminal = session_terminal(settings.terminal)
        first = (self._first_actor or SYSTEM).on_terminal(self.terminal)
        self._ctx = Context(engine, first, settings, self._today)
        self.idle_timeout = settings.idle_lock_minutes * 60.0
        service = AuthService(engine, self.terminal)
        if isinstance(self.auth, LateAuth):
            self.auth.resolve(service)
        self.auth = service
        if self.login:
            self._ctx = self._ctx.as_actor(NOBODY)
        self.opened.set()

    @property
    def ctx(self) -> Context:
        if self._ctx is None:
            raise RuntimeError("the database is not open yet")
        return self._ctx

    @ctx.setter
    def ctx(self, ctx: Context) -> None:
        self._ctx = ctx

    @property
    def engine(self) -> Engine:
        return self.ctx.engine

    @property
    def actor(self) -> Actor:
        return NOBODY if self._ctx is None else self._ctx.actor

    def on_mount(self) -> None:
        from pec_tui.screens.session import SessionStart

        if self.login and self.signed_in is None:
            self._session = SessionStart(self, self.auth, self.begin_session)
        if self._opener is not None:
            if self._session is not None:
                self._session.sign_in_first(self.opened)
            # After the form's first frame: the worker competes for the interpreter.
            self.call_after_refresh(self.open_in_background)
            return
        self._start()

    def _start(self) -> None:
        """The database is open: sign-in (or first administrator), or straight to work."""
        if self.ctx.settings.keymap:
            self.set_keymap(self.ctx.settings.keymap)
        if self.login and self.signed_in is not None:
            self.begin_session(self.signed_in)
        elif self._session is not None:
            if self._opener is None:
                from pec_tui.services.operators import demo_operators

                accounts = [o.username for o in demo_operators(self.engine)]
                self._session.ask(self.auth.needs_first_admin(), accounts)
        else:
            self.open_home()

    @work(thread=True, group="open-database")
    def open_in_background(self) -> None:
        """Settings, database (schema check, reference data), who signs in; then the modules
        of the screens that follow, while the operator types."""
        import importlib

        assert self._opener is not None
        try:
            settings, engine = self._opener()
            first_admin, accounts = False, []
            if self._session is not None:
                from pec_tui.services.auth import needs_first_admin
                from pec_tui.services.operators import demo_operators

                first_admin = needs_first_admin(engine)
                accounts = [o.username for o in demo_operators(engine)]
        except BaseException as exc:
            self.opening_failure = exc
            self.opened.set()
            if isinstance(self.auth, LateAuth):
                self.auth.fail()
            self._from_worker(self.exit, return_code=1)
            return
        if not self._from_worker(self._opened, settings, engine, first_admin, accounts):
            engine.dispose()  # the operator quit while it was being opened
            return
        for module in HOME_MODULES:
            importlib.import_module(module)

    def _from_worker(self, callback: Callable[..., object], *args: Any, **kwargs: Any) -> bool:
        """Run `callback` on the UI's thread, unless the UI has ended meanwhile (the operator
        quit while the database was being opened): whether it ran."""
        if not self.is_running:
            return False
        try:
            self.call_from_thread(callback, *args, **kwargs)
        except RuntimeError:
            if self.is_running:  # not "the app is not running": a defect, said as one
                raise
            return False
        return True

    def _opened(
        self, settings: Settings, engine: Engine, first_admin: bool, accounts: list[str]
    ) -> None:
        self._setup(settings, engine)
        if self._session is not None:
            self._session.ask(first_admin, accounts)
        self._start()

    def on_unmount(self) -> None:
        """The UI quits: the drafts this session still holds are offered back at once."""
        if self._ctx is not None:
            self.release_drafts()

    def release_drafts(self, terminal: str | None = None) -> None:
        """End the leases of the drafts session `terminal` (default: this one) still holds."""
        from pec_tui.services.draft_leases import release_session

        terminal = terminal or self.terminal
        try:
            release_session(self.engine, terminal)
        except Exception:  # the leases then run out by themselves
            log.exception("releasing the drafts of %s", terminal)

    def open_home(self) -> None:
        from pec_tui.screens.flow import offer_unfinished_drafts
        from pec_tui.screens.mailboxes import MailboxesScreen

        self.push_screen(MailboxesScreen(self.ctx))
        offer_unfinished_drafts(self, self.ctx)

    def start_renewal(self, mailbox_ids: list[int]) -> None:
        """Walk the renewal flow for these mailboxes (the steps live in screens/flow.py)."""
        from pec_tui.screens.flow import run_renewal

        run_renewal(self, self.ctx, mailbox_ids=mailbox_ids)

    def renew_selection(self, selection: Selection) -> None:
        """Walk the renewal flow for the mailboxes `selection` holds (read when it starts)."""
        from pec_tui.screens.flow import run_renewal

        run_renewal(self, self.ctx, selection=selection)

    def resume_draft(self, order_id: int) -> None:
        """Resume a saved renewal draft at the step where it was left."""
        from pec_tui.screens.flow import run_renewal

        run_renewal(self, self.ctx, order_id=order_id)

    # --- what screens ask for -----------------------------------------------------------------

    @on(StartRenewal)
    def _start_renewal(self, message: StartRenewal) -> None:
        self.start_renewal(message.mailbox_ids)

    @on(RenewSelection)
    def _renew_selection(self, message: RenewSelection) -> None:
        self.renew_selection(message.selection)

    @on(OpenMailbox)
    def _open_mailbox(self, message: OpenMailbox) -> None:
        from pec_tui.screens.mailbox_detail import MailboxDetailScreen

        self.push_screen(MailboxDetailScreen(self.ctx, message.mailbox_id))

    @on(OpenCustomerArea)
    def _open_customer_area(self, message: OpenCustomerArea) -> None:
        from pec_tui.screens.holder import CustomerAreaScreen

        self.push_screen(CustomerAreaScreen(self.ctx, message.holder_id))

    @on(OpenDashboard)
    def _open_dashboard(self, message: OpenDashboard) -> None:
        self.action_dashboard()

    @on(OpenDrafts)
    def _open_drafts(self, message: OpenDrafts) -> None:
        from pec_tui.screens.flow import show_drafts

        show_drafts(self, self.ctx)

    @on(OpenExpiries)
    def _open_expiries(self, message: OpenExpiries) -> None:
        from pec_tui.screens.mailboxes import MailboxesScreen

        self.push_screen(
            MailboxesScreen(self.ctx, expiry_month=message.month, reseller_id=message.reseller_id)
        )

    @on(OpenMailboxList)
    def _open_mailbox_list(self, message: OpenMailboxList) -> None:
        from pec_tui.screens.mailboxes import MailboxesScreen

        self.push_screen(MailboxesScreen(self.ctx, holder_id=message.holder_id))

    # --- operator session: sign-in, idle lock, administration ---------------------------

    def begin_session(self, actor: Actor) -> None:
        self._signed_in(actor)
        title = _("PEC mailbox management")
        self.sub_title = f"{title} — {self.actor.name}"
        if self.idle_timeout > 0:
            from pec_tui.screens.lock import IdleLock

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

    if TYPE_CHECKING:

        @overload
        def push_screen(
            self,
            screen: Screen[ScreenResultType] | str,
            callback: ScreenResultCallbackType[ScreenResultType] | None = None,
            wait_for_dismiss: Literal[False] = False,
            *,
            mode: str | None = None,
        ) -> AwaitMount: ...

        @overload
        def push_screen(
            self,
            screen: Screen[ScreenResultType] | str,
            callback: ScreenResultCallbackType[ScreenResultType] | None = None,
            wait_for_dismiss: Literal[True] = True,
            *,
            mode: str | None = None,
        ) -> asyncio.Future[ScreenResultType]: ...

    def push_screen(
        self,
        screen: Screen[ScreenResultType] | str,
        callback: ScreenResultCallbackType[ScreenResultType] | None = None,
        wait_for_dismiss: bool = False,
        *,
        mode: str | None = None,
    ) -> AwaitMount | asyncio.Future[ScreenResultType]:
        """Textual's push_screen, the screen's widgets speaking the UI language: its module
        may have been imported just now, bringing Textual widget classes with English keys."""
        translate_textual()
        return super().push_screen(  # type: ignore[call-overload,no-any-return]
            screen, callback, wait_for_dismiss, mode=mode
        )

    def get_key_display(self, binding: Binding) -> str:
        """The key as the footer and f1 show it, named in the UI language ("spazio")."""
        return key_display(super().get_key_display(binding))

    def action_command_palette(self) -> None:
        if self.use_command_palette and not isinstance(self.screen, CommandPalette):
            palette = CommandPalette(id="--command-palette", placeholder=_("Search for commands…"))
            self.push_screen(palette)

    def action_orders(self) -> None:
        from pec_tui.screens.orders import OrdersScreen

        self.push_screen(OrdersScreen(self.ctx))

    def action_dashboard(self) -> None:
        from pec_tui.screens.dashboard import DashboardScreen

        if not isinstance(self.screen, DashboardScreen):
            self.push_screen(DashboardScreen(self.ctx))

    def action_audit(self) -> None:
        from pec_tui.screens.audit import AuditScreen
        from pec_tui.services.audit_queries import AuditLog

        self.push_screen(AuditScreen(AuditLog(self.engine, self.actor)))

    def action_outbox(self) -> None:
        from pec_tui.screens.outbox import OutboxScreen

        if not isinstance(self.screen, OutboxScreen):
            self.push_screen(OutboxScreen(self.ctx))

    def action_operators(self) -> None:
        from pec_tui.screens.operators import OperatorsScreen
        from pec_tui.services.operators import OperatorAdmin

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
    """The UI on a database opened already (`pec-tui demo`)."""
    _run(PecApp(settings, engine, login=True, signed_in=signed_in))


def launch_app(opener: Opener) -> None:
    """The UI as `pec-tui` opens it: the sign-in form at once, `opener` meanwhile. What
    stopped `opener` is raised once the UI has closed, to be told in one line."""
    app = PecApp(None, None, login=True, opener=opener)
    _run(app)
    if app.opening_failure is not None:
        raise app.opening_failure


def _run(app: PecApp) -> None:
    app.run()
    if app.opening_failure is None and app.return_code:
        raise SystemExit(app.return_code)


class LateAuth:
    """The sign-in service of an app whose database is still being opened: each call waits
    until it is open (they run in worker threads, as argon2 is slow anyway)."""

    def __init__(self, opened: threading.Event) -> None:
        self._opened = opened
        self._service: AuthService | None = None

    def resolve(self, service: AuthService) -> None:
        self._service = service

    def fail(self) -> None:
        self._service = None

    def _wait(self) -> AuthService:
        self._opened.wait()
        if self._service is None:
            raise RuntimeError(_("The database could not be opened."))
        return self._service

    def needs_first_admin(self) -> bool:
        return self._wait().needs_first_admin()

    def create_first_admin(self, username: str, password: str, full_name: str = "") -> Actor:
        return self._wait().create_first_admin(username, password, full_name)

    def sign_in(self, username: str, password: str) -> SignIn:
        return self._wait().sign_in(username, password)

    def unlock(self, actor: Actor, password: str) -> SignIn:
        return self._wait().unlock(actor, password)

    def lockout_message(self, until: datetime) -> str | None:
        return self._wait().lockout_message(until)

    def check_username(self, username: str) -> str:
        return self._wait().check_username(username)

    def check_password(self, password: str, username: str | None = None) -> None:
        self._wait().check_password(password, username)
