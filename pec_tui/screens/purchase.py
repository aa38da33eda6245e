"""A new purchase (Acquisto) for a holder: the address, then the flow's own step screens.

The address is asked first (`PurchaseAddressModal`, checked at the field and against the
mailboxes already known). The steps Plan → Kit → Order form → Contract are the renewal's
screens walking a purchase `Draft` that lives in memory only (no draft is saved: nothing
exists until the order is confirmed); CONFERMA places it with `place_purchase`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any, ClassVar

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from pec_tui.domain.draft import Draft, DraftItem, Step
from pec_tui.domain.enums import OrderType, PaymentMethod, Plan
from pec_tui.domain.validation import check_pec_address
from pec_tui.i18n import N_, _
from pec_tui.screens.confirmation import ConfirmationScreen
from pec_tui.screens.dbwork import run_db
from pec_tui.screens.flow import FLOW_GROUP, RenewalFlow, flow_running, step_screen
from pec_tui.screens.flow_step import Direction, StepResult
from pec_tui.services.context import Context
from pec_tui.services.orders import check_purchase_address
from pec_tui.services.placing import Billing, ConfirmedOrder
from pec_tui.services.prices import get_price_list
from pec_tui.services.purchase import PurchaseRequest, place_purchase
from pec_tui.widgets.keys import translate_bindings
from pec_tui.widgets.validators import DomainValidator

# The steps of a purchase: the holder is the one whose Area clienti started it.
PURCHASE_STEPS: tuple[Step, ...] = (Step.PLAN, Step.KIT, Step.ORDER_FORM, Step.CONTRACT)


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


def purchase_draft(address: str, billed_to: str, today: date) -> Draft:
    """An in-memory draft the step screens can walk: one new mailbox, STANDARD, 1 year."""
    item = DraftItem(
        mailbox_id=0,
        address=address,
        expiry=today,
        promo=False,
        current_plan=Plan.STANDARD,
        current_extra_mailbox_gb=0,
        current_extra_archive_gb=0,
        mailbox_used_mb=0,
        archive_used_mb=0,
        plan=Plan.STANDARD,
        extra_mailbox_gb=0,
        extra_archive_gb=0,
    )
    return Draft(
        order_id=0,
        step=Step.PLAN,
        items=(item,),
        kit=None,
        holder=None,
        billed_to=billed_to,
        payment_method=None,
        auto_renew=False,
        years=1,
        order_type=OrderType.PURCHASE,
    )


def purchase_request(holder_id: int, draft: Draft) -> PurchaseRequest:
    """What `place_purchase` needs, from the draft the steps filled in."""
    (item,) = draft.items
    return PurchaseRequest(
        holder_id=holder_id,
        address=item.address,
        plan=item.plan,
        years=draft.years,
        payment_method=draft.payment_method or PaymentMethod.BANK_TRANSFER,
        consents=draft.consents,
        extra_mailbox_gb=item.extra_mailbox_gb,
        extra_archive_gb=item.extra_archive_gb,
        kit=draft.kit,
        auto_renew=draft.auto_renew,
    )


def run_purchase(
    app: App[Any], ctx: Context, holder_id: int, holder_name: str, address: str
) -> None:
    """Walk the purchase steps for `address`, bought by `holder_id`."""
    if flow_running(app):
        app.notify(_("A renewal is already in progress on this terminal."), severity="warning")
        return
    flow = PurchaseFlow(app, ctx, holder_id, purchase_draft(address, holder_name, ctx.today()))
    app.run_worker(flow.run(), name="purchase flow", group=FLOW_GROUP, exit_on_error=False)


class PurchaseFlow(RenewalFlow):
    """The renewal flow's controller walking the purchase steps; nothing saved in between."""

    def __init__(self, app: App[Any], ctx: Context, holder_id: int, draft: Draft) -> None:
        super().__init__(app, ctx)
        self.holder_id = holder_id
        self.draft = draft

    async def _walk(self) -> ConfirmedOrder | None:
        self._status(_("Opening the purchase…"))
        prices = await run_db(
            self.app, _("The price list cannot be read"), get_price_list, self.ctx.engine
        )
        if prices is None:
            return None
        draft, step = self.draft, Step.PLAN
        while True:
            result: StepResult = await self.app.push_screen_wait(
                step_screen(step, self.ctx, replace(draft, step=step), prices)
            )
            draft = result.draft
            index = PURCHASE_STEPS.index(step)
            if result.direction is Direction.BACK:
                if index == 0:
                    self.app.notify(_("Purchase abandoned: nothing was ordered."))
                    return None
                step = PURCHASE_STEPS[index - 1]
            elif step is Step.CONTRACT:
                confirmed = await self._place(draft)
                if confirmed is None:
                    continue  # refused: back to the contract, nothing lost
                await self.app.push_screen_wait(ConfirmationScreen(draft, confirmed))
                return confirmed
            else:
                step = PURCHASE_STEPS[index + 1]

    async def _place(self, draft: Draft) -> ConfirmedOrder | None:
        self._status(_("Confirming the order…"))
        ctx = self.ctx
        return await run_db(
            self.app,
            _("The order was not confirmed"),
            place_purchase,
            ctx.engine,
            ctx.actor,
            purchase_request(self.holder_id, draft),
            ctx.today(),
            Billing(ctx.settings.bank_iban, ctx.settings.bank_beneficiary, ctx.settings.mail_from),
        )
