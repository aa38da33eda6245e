"""The self-service kiosk: the same app, locked down for customers at a public terminal.

A customer identifies on the welcome screen and sees only their holder's mailboxes; the
renewal flow is the operators' one, run with a kiosk actor scoped to that holder. There is
no quit key, no command palette and no operator screen. After `kiosk_idle_seconds` without
input, or once an order is confirmed, everything is cleared and the welcome screen returns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from datetime import date
from time import monotonic
from typing import Any

from sqlalchemy import Engine
from textual import events, on
from textual.app import SystemCommand
from textual.screen import Screen

from pec_tui.app import NOBODY, PecApp
from pec_tui.config import Settings
from pec_tui.i18n import _
from pec_tui.screens.kiosk_home import KioskHomeScreen
from pec_tui.screens.kiosk_welcome import KioskWelcomeScreen
from pec_tui.screens.messages import KioskIdentified, KioskSessionOver
from pec_tui.services.actor import session_terminal

# App actions a customer must never reach (quitting, operator screens, the palette).
FORBIDDEN_ACTIONS = frozenset(
    {
        "quit",
        "help_quit",
        "suspend_process",
        "command_palette",
        "change_theme",
        "screenshot",
        "audit",
        "operators",
        "orders",
        "lock",
    }
)


class KioskApp(PecApp):
    ENABLE_COMMAND_PALETTE = False

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        today: Callable[[], date] = date.today,
    ) -> None:
        super().__init__(settings, engine, today=today)
        self.ctx = self.ctx.as_actor(NOBODY.on_terminal(self.terminal))
        self.sub_title = _("PEC mailbox renewal")
        self.idle_seconds = float(settings.kiosk_idle_seconds)
        self._last_input = monotonic()

    def open_home(self) -> None:
        self.push_screen(KioskWelcomeScreen(self.ctx))
        if self.idle_seconds > 0:  # 0 turns the idle reset off (e.g. a supervised terminal)
            self.set_interval(min(1.0, self.idle_seconds / 4), self._check_idle, name="kiosk-idle")

    @on(KioskIdentified)
    def begin_kiosk_session(self, message: KioskIdentified) -> None:
        self.ctx = self.ctx.as_actor(message.identified.actor)
        self._last_input = monotonic()
        # Replaces the welcome screen: what the customer typed does not linger beneath.
        self.switch_screen(KioskHomeScreen(self.ctx, message.identified.holder_name))

    @on(KioskSessionOver)
    def end_session(self) -> None:
        """Forget the customer: every screen goes, the welcome screen comes back.

        The next customer session gets a terminal identity of its own."""
        self.call_later(self._clear, self.terminal)
        self.terminal = session_terminal(self.ctx.settings.terminal)
        self.ctx = self.ctx.as_actor(NOBODY.on_terminal(self.terminal))

    async def _clear(self, ended: str) -> None:
        self.workers.cancel_all()  # the renewal flow, if one is waiting for a step
        # The customer's draft stays the kiosk's: released, never offered to operators.
        await asyncio.to_thread(self.release_drafts, ended)
        self.clear_notifications()
        while len(self.screen_stack) > 2:
            await self.pop_screen()
        await self.switch_screen(KioskWelcomeScreen(self.ctx))
        self._last_input = monotonic()

    def _check_idle(self) -> None:
        if monotonic() - self._last_input < self.idle_seconds:
            return
        self._last_input = monotonic()
        at_rest = (
            len(self.screen_stack) == 2
            and isinstance(self.screen, KioskWelcomeScreen)
            and self.screen.is_blank
        )
        if not at_rest:
            self.end_session()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.InputEvent):
            self._last_input = monotonic()
        await super().on_event(event)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return action not in FORBIDDEN_ACTIONS

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        return ()

    async def action_quit(self) -> None:
        """A kiosk cannot be quit from its keyboard (the browser or the host ends it)."""


def run_kiosk(settings: Settings, engine: Engine) -> None:
    app = KioskApp(settings, engine)
    app.run()
    if app.return_code:
        raise SystemExit(app.return_code)
