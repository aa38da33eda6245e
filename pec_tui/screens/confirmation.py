"""Step 6, Conferma: the order number, its lines and totals, how to pay, where the e-mail went.

An order of up to `LINES_SHOWN` lines lists them; a longer one (a reseller's whole book) is
summed up by item — how many mailboxes take each plan and extra GB and what they come to —
and `l` opens every line in a list drawn only where it is on screen.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import ClassVar

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, DataTable, Label, Static

from pec_tui.domain.draft import Draft, Step
from pec_tui.domain.enums import OrderType, PaymentMethod, label
from pec_tui.domain.pricing import LineGroup, QuoteLine, group_lines
from pec_tui.i18n import N_, _, format_money, format_number, ngettext
from pec_tui.services.order_lines import line_description
from pec_tui.services.placing import ConfirmedOrder
from pec_tui.widgets.flow_header import FlowHeader
from pec_tui.widgets.footer import KeysFooter
from pec_tui.widgets.keys import ScreenKeysProvider, translate_bindings
from pec_tui.widgets.lazy_list import LazyList

# Up to this many lines Conferma lists them; beyond, it sums them up by item (`l` lists all).
LINES_SHOWN = 50


def line_cells(line: QuoteLine) -> tuple[str, ...]:
    """A quote line as Conferma's table and its full list of lines show it."""
    return (
        line.address or "—",
        line_description(line),
        str(line.quantity),
        str(line.years),
        format_money(line.unit),
        format_money(line.total),
    )


def line_group_headings() -> tuple[str, ...]:
    return (_("Item"), _("Lines"), _("Qty"), _("Years"), _("Unit price"), _("Total"))


def line_group_cells(group: LineGroup) -> tuple[str, ...]:
    """One group of a long order's summary (Conferma, an order's detail)."""
    return (
        group.description,
        format_number(group.lines),
        format_number(group.quantity),
        str(group.years),
        format_money(group.unit),
        format_money(group.total),
    )


def line_groups_table(groups: Sequence[LineGroup], table_id: str) -> DataTable[str]:
    """A long order summed up by item: the lines, quantity, years, unit price and total of
    each group."""
    table: DataTable[str] = DataTable(id=table_id, cursor_type="none", zebra_stripes=True)
    table.add_columns(*line_group_headings())
    for group in groups:
        table.add_row(*line_group_cells(group))
    return table


class ConfirmationScreen(Screen[None]):
    CSS_PATH = "../styles/flow.tcss"
    COMMANDS: ClassVar = {ScreenKeysProvider}
    BINDINGS: ClassVar = [
        Binding("enter,escape", "close", N_("Back to the mailbox list"), id="confirmation.close"),
        Binding("l", "lines", N_("All lines"), id="confirmation.lines"),
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
            if self.summarised:
                yield from self._compose_summary()
            else:
                table: DataTable[str] = DataTable(
                    id="order-lines", cursor_type="none", zebra_stripes=True
                )
                table.add_columns(
                    _("Mailbox"), _("Item"), _("Qty"), _("Years"), _("Unit price"), _("Total")
                )
                for line in q.lines:
                    table.add_row(*line_cells(line))
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

    @property
    def summarised(self) -> bool:
        """Whether the lines are summed up by item (a long single order)."""
        return len(self.orders) == 1 and len(self.order.quote.lines) > LINES_SHOWN

    def _compose_summary(self) -> ComposeResult:
        lines = self.order.quote.lines
        mailboxes = len({line.mailbox_id or line.address for line in lines if line.address})
        yield Static(
            ngettext(
                "{count} mailbox, {lines} line: summed up by item below; l lists every line.",
                "{count} mailboxes, {lines} lines: summed up by item below; l lists every line.",
                mailboxes,
            ).format(count=format_number(mailboxes), lines=format_number(len(lines))),
            id="lines-summary-note",
            classes="hint",
        )
        yield line_groups_table(group_lines(lines), "order-lines-summary")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "lines":
            return self.summarised
        return True

    def on_mount(self) -> None:
        self.query_one("#close", Button).focus()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_lines(self) -> None:
        if self.summarised:
            lines = self.order.quote.lines
            self.app.push_screen(
                OrderLinesScreen(self.order.number, len(lines), lambda n: line_cells(lines[n]))
            )

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


class OrderLinesScreen(Screen[None]):
    """Every line of a long order, drawn only where it is on screen; escape goes back."""

    CSS_PATH = "../styles/flow.tcss"
    COMMANDS: ClassVar = {ScreenKeysProvider}
    BINDINGS: ClassVar = [
        Binding("escape,l", "close", N_("Back"), id="order_lines.close"),
        Binding("down", "move(1)", N_("Down"), id="order_lines.down", show=False),
        Binding("up", "move(-1)", N_("Up"), id="order_lines.up", show=False),
        Binding("pagedown", "page(1)", N_("Next page"), id="order_lines.pagedown", show=False),
        Binding("pageup", "page(-1)", N_("Previous page"), id="order_lines.pageup", show=False),
        Binding("end", "move(1_000_000_000)", N_("Last line"), id="order_lines.end", show=False),
        Binding(
            "home", "move(-1_000_000_000)", N_("First line"), id="order_lines.home", show=False
        ),
    ]
    # Columns: mailbox, item, qty, years, unit price, total. The mailbox takes what the
    # others leave of the window, from 16 to 34 columns.
    WIDTHS = (34, 22, 4, 4, 12, 12)

    def __init__(
        self, number: int | str, count: int, cells: Callable[[int], Sequence[str]]
    ) -> None:
        """The `count` lines of order `number`; `cells(n)` is the n-th line's cells."""
        super().__init__(classes="flow-step")
        self.number = number
        self.count = count
        self.cells = cells
        self.widths = self.WIDTHS
        translate_bindings(self)

    def compose(self) -> ComposeResult:
        count = self.count
        # What the list's margin and scroll bar leave, less a space between columns.
        room = self.app.size.width - 4 - (len(self.WIDTHS) - 1)
        others = sum(self.WIDTHS[1:])
        self.widths = (max(16, min(self.WIDTHS[0], room - others)), *self.WIDTHS[1:])
        yield Label(
            ngettext(
                "Order no. {number}: {count} line", "Order no. {number}: {count} lines", count
            ).format(number=self.number, count=format_number(count)),
            classes="section-title",
            id="order-lines-title",
        )
        header = self._row(
            (_("Mailbox"), _("Item"), _("Qty"), _("Years"), _("Unit price"), _("Total"))
        )
        yield Static(header, id="order-lines-header", markup=False)
        yield LazyList(count, self._line, id="order-lines-all")
        yield KeysFooter()

    def _row(self, cells: Sequence[str]) -> str:
        out = []
        for i, (cell, width) in enumerate(zip(cells, self.widths, strict=True)):
            cell = cell if len(cell) <= width else cell[: width - 1] + "…"
            out.append(cell.ljust(width) if i < 2 else cell.rjust(width))
        return " ".join(out)

    def _line(self, index: int) -> str:
        return escape(self._row(self.cells(index)))

    @property
    def lazy_list(self) -> LazyList:
        return self.query_one("#order-lines-all", LazyList)

    def action_move(self, delta: int) -> None:
        self.lazy_list.highlighted = self.lazy_list.highlighted + delta

    def action_page(self, delta: int) -> None:
        lazy = self.lazy_list
        lazy.highlighted = lazy.highlighted + delta * max(1, lazy.size.height - 1)

    def action_close(self) -> None:
        self.dismiss(None)
