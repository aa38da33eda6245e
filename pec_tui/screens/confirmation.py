"""Step 6, Conferma: the order number, its lines and totals, how to pay, where the e-mail went."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, DataTable, Label, Static

from pec_tui.domain.draft import Draft, Step
from pec_tui.domain.enums import OrderType, PaymentMethod, label
from pec_tui.i18n import N_, _, format_money, ngettext
from pec_tui.services.order_lines import line_description
from pec_tui.services.placing import ConfirmedOrder
from pec_tui.widgets.flow_header import FlowHeader
from pec_tui.widgets.footer import KeysFooter
from pec_tui.widgets.keys import ScreenKeysProvider, translate_bindings


class ConfirmationScreen(Screen[None]):
    CSS_PATH = "../styles/flow.tcss"
    COMMANDS: ClassVar = {ScreenKeysProvider}
    BINDINGS: ClassVar = [
        Binding("enter,escape", "close", N_("Back to the mailbox list"), id="confirmation.close"),
    ]

    def __init__(self, draft: Draft, orders: Sequence[ConfirmedOrder]) -> None:
        super().__init__(classes="flow-step")
        self.draft = draft
        self.orders = tuple(orders)
        self.order = self.orders[0]
        translate_bindings(self)

    def compose(self) -> ComposeResult:
        if len(self.orders) > 1:
            yield from self._compose_several()
            return
        order = self.order
        q = order.quote
        yield FlowHeader(Step.DONE, self.draft.billed_to, len(self.draft.items))
        with VerticalScroll(classes="step-body", id="confirmation-body"):
            yield Label(
                _("Order no. {number} confirmed").format(number=order.number),
                id="order-number",
                classes="section-title",
            )
            yield Static(
                _("Paid with the reseller's prepaid credit.")
                if order.paid
                else _("Status: awaiting payment ({method}).").format(
                    method=label(order.payment_method)
                ),
                id="order-status",
            )
            table: DataTable[str] = DataTable(
                id="order-lines", cursor_type="none", zebra_stripes=True
            )
            table.add_columns(
                _("Mailbox"), _("Item"), _("Qty"), _("Years"), _("Unit price"), _("Total")
            )
            for line in q.lines:
                table.add_row(
                    line.address or "—",
                    line_description(line),
                    str(line.quantity),
                    str(line.years),
                    format_money(line.unit),
                    format_money(line.total),
                )
            yield table
            with Vertical(id="order-totals"):
                yield Static(_("Total: {amount} + VAT").format(amount=format_money(q.net)))
                yield Static(_("VAT: {amount}").format(amount=format_money(q.vat)))
                yield Static(
                    _("Total incl. VAT: {amount}").format(amount=f"[b]{format_money(q.gross)}[/]")
                )
            yield Label(_("How to pay"), classes="section-title")
            yield Static(order.payment_instructions, markup=False, id="payment-instructions")
            if order.payment_method is PaymentMethod.PREPAID_CREDIT and not order.paid:
                yield Static(
                    _(
                        "The prepaid credit does not cover this order: it stays awaiting "
                        "payment. Top up the credit or pay it another way."
                    ),
                    classes="error",
                    id="credit-warning",
                )
            yield Static(
                _("An e-mail “Order confirmation” has been sent to {address}.").format(
                    address=order.email_to
                )
                if order.email_to
                else _("No reference e-mail address is on file: no confirmation e-mail was sent."),
                markup=False,
                id="email-notice",
            )
            yield Static(
                _("The mailbox is created once the payment is registered.")
                if self.draft.order_type is OrderType.PURCHASE
                else _("The renewal is complete once the payment is registered."),
                classes="hint",
            )
        with Horizontal(classes="totals-bar"):
            yield Button(_("Back to the mailbox list"), id="close", variant="primary")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#close", Button).focus()

    def action_close(self) -> None:
        self.dismiss(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None)

    def _compose_several(self) -> ComposeResult:
        """A renewal across resellers: every order with its number, whom it bills and its total."""
        yield FlowHeader(Step.DONE, self.draft.billed_to, len(self.draft.items))
        with VerticalScroll(classes="step-body", id="confirmation-body"):
            yield Label(
                ngettext(
                    "{count} order confirmed", "{count} orders confirmed", len(self.orders)
                ).format(count=len(self.orders)),
                id="order-number",
                classes="section-title",
            )
            table: DataTable[str] = DataTable(
                id="orders-placed", cursor_type="none", zebra_stripes=True
            )
            table.add_columns(_("Order no."), _("Billed to"), _("Mailboxes"), _("Total incl. VAT"))
            for order in self.orders:
                mailboxes = sum(1 for line in order.quote.lines if line.address)
                table.add_row(
                    str(order.number),
                    order.billed_to,
                    str(mailboxes),
                    format_money(order.quote.gross),
                )
            yield table
            total = sum((order.quote.gross for order in self.orders), Decimal(0))
            yield Static(
                _("Total incl. VAT: {amount}").format(amount=f"[b]{format_money(total)}[/]"),
                id="order-totals",
            )
            yield Label(_("How to pay"), classes="section-title")
            for order in self.orders:
                yield Static(
                    f"{order.number} — {order.billed_to}: {order.payment_instructions}",
                    markup=False,
                    classes="payment-instructions",
                )
        with Horizontal(classes="totals-bar"):
            yield Button(_("Back to the mailbox list"), id="close", variant="primary")
        yield KeysFooter()
