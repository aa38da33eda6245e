"""A new purchase (Acquisto) for a holder: the address, then the flow's own step screens.

The address is asked first (`PurchaseAddressModal`, checked at the field and against the
mailboxes already known). Then the renewal flow walks a purchase draft through the same
steps, the holder's data included, saving it at every step like a renewal's: a terminal
that crashes offers it again. CONFERMA places it through the order pipeline.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from pec_tui.domain.validation import check_pec_address
from pec_tui.i18n import N_, _
from pec_tui.screens.dbwork import run_db
from pec_tui.screens.flow import PurchaseStart, run_renewal
from pec_tui.services.context import Context
from pec_tui.services.orders import check_purchase_address
from pec_tui.widgets.keys import translate_bindings
from pec_tui.widgets.validators import DomainValidator


class PurchaseAddressModal(ModalScreen[str | None]):
    """The PEC address to buy: its syntax at the field, then whether this holder may buy it."""

    CSS_PATH = "../styles/flow.tcss"
    AUTO_FOCUS = "#purchase-address"
    BINDINGS: ClassVar = [
        Binding("escape", "cancel", N_("Cancel"), id="purchase.address.cancel"),
    ]

    def __init__(self, ctx: Context, holder_id: int, holder_name: str) -> None:
        super().__init__(classes="flow-modal")
        self.ctx = ctx
        self.holder_id = holder_id
        self.holder_name = holder_name
        translate_bindings(self)

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box"):
            yield Label(
                _("New mailbox for {holder}").format(holder=self.holder_name),
                classes="modal-title",
                markup=False,
            )
            yield Input(
                placeholder=_("e.g. mario.rossi@pec.example.it"),
                validators=[DomainValidator(check_pec_address)],
                id="purchase-address",
            )
            yield Static("", id="purchase-address-error", classes="error", markup=False)
            yield Static(
                _(
                    "A cancelled address can be bought again only by its former holder "
                    "(same codice fiscale or partita IVA)."
                ),
                classes="hint",
            )
            with Horizontal(classes="modal-buttons"):
                yield Button(_("Continue"), id="purchase-address-ok", variant="primary")
                yield Button(_("Cancel (esc)"), id="purchase-address-cancel")

    def _error(self, message: str) -> None:
        self.query_one("#purchase-address-error", Static).update(message)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.validation_result is not None and not event.validation_result.is_valid:
            self._error("\n".join(event.validation_result.failure_descriptions))
        else:
            self._error("")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "purchase-address-ok":
            self._submit()
        else:
            self.action_cancel()

    def _submit(self) -> None:
        field = self.query_one("#purchase-address", Input)
        result = field.validate(field.value)
        if result is not None and not result.is_valid:
            self._error("\n".join(result.failure_descriptions))
            field.focus()
            return
        self._error(_("Checking the address…"))
        self._check(field.value)

    @work(exclusive=True, group="purchase-address", exit_on_error=False)
    async def _check(self, address: str) -> None:
        ctx = self.ctx
        normalised = await run_db(
            self,
            "checking a purchase address",
            check_purchase_address,
            ctx.engine,
            ctx.actor,
            self.holder_id,
            address,
            ctx.today(),
            report=self._error,
        )
        if normalised is not None:
            self.dismiss(normalised)

    def action_cancel(self) -> None:
        self.dismiss(None)


def run_purchase(app: App[Any], ctx: Context, holder_id: int, address: str) -> None:
    """Walk the flow's steps for `address`, bought by `holder_id`, as a saved draft."""
    run_renewal(app, ctx, purchase=PurchaseStart(holder_id, address))
