"""Kiosk welcome: a customer identifies with a PEC address and the holder's tax code.

Each field is checked by the domain validators as it is left; the pair is then checked
against the database in a thread. A refusal shows how long the terminal must wait, counting
down, and the button stays disabled until then.
"""

from __future__ import annotations

import asyncio
import logging
from time import monotonic
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.validation import ValidationResult
from textual.widgets import Button, Input, Label, Static

from pec_tui.domain.validation import check_pec_address
from pec_tui.i18n import N_, _
from pec_tui.screens.dbwork import run_db
from pec_tui.screens.messages import KioskIdentified
from pec_tui.services import kiosk
from pec_tui.services.context import Context
from pec_tui.widgets.footer import KeysFooter
from pec_tui.widgets.keys import translate_bindings
from pec_tui.widgets.validators import DomainValidator, check_tax_code

log = logging.getLogger(__name__)


class KioskWelcomeScreen(Screen[None]):
    CSS_PATH = "../styles/kiosk.tcss"
    AUTO_FOCUS = "#address"
    BINDINGS: ClassVar = [
        # A priority binding moves the focus before the next key is routed: a customer (or a
        # browser) typing ahead after Enter must not land in the address field.
        Binding("enter", "enter", N_("Continue"), id="kiosk.identify", priority=True),
    ]

    def __init__(self, ctx: Context) -> None:
        super().__init__(classes="kiosk")
        self.ctx = ctx
        self._wait_until = 0.0
        self._countdown: Timer | None = None
        translate_bindings(self)

    def compose(self) -> ComposeResult:
        with Vertical(id="kiosk-box"):
            yield Static(_("Renew your PEC mailbox"), classes="kiosk-title")
            yield Static(
                _(
                    "Enter one of your PEC addresses and the codice fiscale or partita IVA "
                    "of its holder, then press Enter."
                ),
                classes="hint",
            )
            yield Label(_("PEC address"), classes="kiosk-label")
            yield Input(
                id="address",
                placeholder="mario.rossi@pec.it",
                max_length=254,
                validators=[DomainValidator(check_pec_address)],
                # Checked when left with something typed (`_blurred`): an empty field, left
                # as the page loses the focus, shows no error before any input.
                validate_on=(),
            )
            yield Label("", id="address-error", classes="error")
            yield Label(_("Holder's codice fiscale or partita IVA"), classes="kiosk-label")
            yield Input(
                id="tax-code",
                placeholder="RSSMRA85T10A562S",
                max_length=20,
                validators=[DomainValidator(check_tax_code)],
                # Checked when left with something typed (`_blurred`): an empty field, left
                # as the page loses the focus, shows no error before any input.
                validate_on=(),
            )
            yield Label("", id="tax-code-error", classes="error")
            yield Button(_("Sign in"), id="identify", variant="primary")
            yield Static("", id="refusal", classes="error")
            yield Static("", id="wait", classes="hint")
        yield KeysFooter()

    def on_mount(self) -> None:
        self._check_pending_wait()

    @property
    def is_blank(self) -> bool:
        """Nothing typed: an idle reset has nothing to clear."""
        return not any(i.value for i in self.query(Input))

    # --- fields -----------------------------------------------------------------------------

    def _show(self, field: Input, result: ValidationResult | None) -> bool:
        message = "" if result is None or result.is_valid else result.failure_descriptions[0]
        self.query_one(f"#{field.id}-error", Label).update(message)
        return not message

    @on(Input.Blurred)
    def _blurred(self, event: Input.Blurred) -> None:
        if event.value:
            self._show(event.input, event.input.validate(event.value))

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        self.query_one(f"#{event.input.id}-error", Label).update("")

    def action_enter(self) -> None:
        # Keys typed before Enter may still wait in the field's queue: whatever reads the
        # field runs after them, in that queue (call_later); the focus moves at once, so
        # keys typed after Enter reach the next field.
        address = self.query_one("#address", Input)
        if self.focused is address:
            self.set_focus(self.query_one("#tax-code", Input))
            address.call_later(self._check_address)
        else:
            (self.focused or self).call_later(self.action_identify)

    def _check_address(self) -> None:
        address = self.query_one("#address", Input)
        if not self._show(address, address.validate(address.value)):
            self.set_focus(address)

    @on(Button.Pressed, "#identify")
    def _pressed(self) -> None:
        self.action_identify()

    # --- identification ---------------------------------------------------------------------

    def action_identify(self) -> None:
        if self._wait_until > monotonic():
            return
        first_invalid = None
        for field in self.query(Input):
            if not self._show(field, field.validate(field.value)) and first_invalid is None:
                first_invalid = field
        if first_invalid is not None:
            first_invalid.focus()
            return
        address = self.query_one("#address", Input).value
        code = check_tax_code(self.query_one("#tax-code", Input).value)
        self._identify(address, code)

    @work(exclusive=True, group="kiosk-identify")
    async def _identify(self, address: str, code: str) -> None:
        box = self.query_one("#kiosk-box")
        box.loading = True
        try:
            identified = await asyncio.to_thread(
                kiosk.identify,
                self.ctx.engine,
                address,
                code,
                self.ctx.settings.terminal,
                customer_terminal=self.ctx.actor.terminal,
            )
        except kiosk.IdentificationRefused as exc:
            self.query_one("#refusal", Static).update(exc.message)
            self.query_one("#tax-code", Input).value = ""
            self._start_wait(exc.retry_after)
            return
        except Exception:
            log.exception("kiosk identification")
            self.query_one("#refusal", Static).update(
                _("The service is not available right now: please ask at the desk.")
            )
            return
        finally:
            box.loading = False
        self.app.post_message(KioskIdentified(identified))

    @work(exclusive=True, group="kiosk-wait")
    async def _check_pending_wait(self) -> None:
        """After a reset or a restart: honour a delay earned by earlier failures."""
        seconds = await run_db(
            self,
            "kiosk: reading the identification delay",
            kiosk.retry_after,
            self.ctx.engine,
            self.ctx.settings.terminal,
            report=lambda message: None,  # no delay known: the customer may try
        )
        if seconds:
            self.query_one("#refusal", Static).update(_("Too many failed attempts."))
            self._start_wait(seconds)

    def _start_wait(self, seconds: float) -> None:
        self._wait_until = monotonic() + seconds
        self.query_one("#identify", Button).disabled = True
        if self._countdown is not None:
            self._countdown.stop()
        self._countdown = self.set_interval(0.5, self._tick)
        self._tick()

    def _tick(self) -> None:
        left = self._wait_until - monotonic()
        wait = self.query_one("#wait", Static)
        if left > 0:
            wait.update(_("You can try again in {seconds} s.").format(seconds=int(left) + 1))
            return
        wait.update("")
        self.query_one("#identify", Button).disabled = False
        if self._countdown is not None:
            self._countdown.stop()
            self._countdown = None
