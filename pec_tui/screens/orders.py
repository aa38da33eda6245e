"""Orders: the list the actor may see (newest first, a page at a time, filtered by status and
holder), one order in detail, and for an order awaiting payment: Registra pagamento (the
provider's administration and back office), Paga con credito (the reseller's prepaid credit)
and Annulla."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Header, Input, Label, Select, Static

from pec_tui.dialogs.confirm_cancel import ConfirmCancelModal
from pec_tui.domain.enums import OrderStatus, OrderType, PaymentMethod, Role, label
from pec_tui.i18n import N_, _, format_date, format_money, format_number, pgettext
from pec_tui.screens.confirmation import (
    OrderLinesScreen,
    line_group_cells,
    line_group_headings,
)
from pec_tui.screens.dbwork import run_db
from pec_tui.services.context import Context
from pec_tui.services.invoices import InvoiceView, export_invoices, invoice_text, order_invoices
from pec_tui.services.order_queries import (
    OrderDetail,
    OrderLineRow,
    get_order,
    iter_orders,
    order_lines,
)
from pec_tui.services.payments import (
    cancel_order,
    parse_money,
    pay_with_credit,
    register_payment,
)
from pec_tui.widgets.footer import KeysFooter
from pec_tui.widgets.forms import FieldErrors, chosen, field_block
from pec_tui.widgets.keys import ScreenKeysProvider, translate_bindings
from pec_tui.widgets.tables import Column, fill_table

PAGE_SIZE = 50
# The status filter cycles through these (None: every confirmed order).
STATUS_CYCLE: tuple[OrderStatus | None, ...] = (
    None,
    OrderStatus.AWAITING_PAYMENT,
    OrderStatus.PAID,
    OrderStatus.CANCELLED,
)
_DAY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")


def parse_paid_on(text: str) -> date:
    """`26/11/2026` or `2026-11-26`; ValueError otherwise."""
    text = text.strip()
    match = _DAY.match(text)
    if match:
        day, month, year = (int(g) for g in match.groups())
        return date(year, month, day)
    return date.fromisoformat(text)


def _label(enum: Any, value: str | None) -> str:
    if not value:
        return ""
    try:
        return label(enum(value))
    except ValueError:
        return value


def _order_columns() -> tuple[Column, ...]:
    return (
        Column(_("Order no.")),
        Column(_("Order type")),
        Column(_("Date")),
        # At 80 columns the holder gives way most (the order's detail names it whole).
        Column(_("Holder"), flexible=True, minimum=7),
        Column(_("Total (euro)")),
        Column(_("Order status"), flexible=True, minimum=10),
    )


def _line_columns() -> tuple[Column, ...]:
    return (
        Column(_("Address"), flexible=True, minimum=20),
        Column(_("Description")),
        Column(_("Qty")),
        Column(_("Years")),
        Column(_("Total")),
    )


def order_line_cells(line: OrderLineRow) -> tuple[str, ...]:
    """A stored line as the full list of a long order's lines shows it (as Conferma's)."""
    return (
        line.address or "—",
        line.description,
        str(line.quantity),
        str(line.years),
        format_money(line.unit),
        format_money(line.total),
    )


def net_plus_vat(net: Decimal) -> str:
    """ "25,00 € + IVA", as the portal shows an order total."""
    return _("{amount} + VAT").format(amount=format_money(net))


class OrdersScreen(Screen[None]):
    CSS_PATH = "../styles/orders.tcss"
    BINDINGS: ClassVar = [
        Binding("escape", "back", N_("Back"), id="orders.back"),
        Binding("ctrl+f", "focus_filters", N_("Filter"), id="orders.filter"),
        Binding("ctrl+s", "cycle_status", N_("Status"), id="orders.status"),
        Binding("pagedown", "older", N_("Older"), id="orders.older", priority=True),
        Binding("pageup", "newer", N_("Newer"), id="orders.newer", priority=True),
        Binding("ctrl+home", "newest", N_("Newest"), id="orders.newest"),
    ]

    def __init__(self, ctx: Context) -> None:
        super().__init__()
        translate_bindings(self)
        self.ctx = ctx
        self.status: OrderStatus | None = None
        self.holder: str = ""
        self.pages: list[list[Any]] = []
        self.page_index = 0
        self.pager: Iterator[list[Any]] | None = None
        self.exhausted = False

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="orders-filters"):
            yield Input(placeholder=_("Holder (name, codice fiscale, partita IVA)"), id="f-holder")
            yield Static("", id="orders-status-filter")
        yield DataTable(id="orders-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="orders-status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.sub_title = _("Orders")
        table = self.query_one(DataTable)
        fill_table(table, _order_columns(), [])
        table.focus()
        self._show_status_filter()
        self.reload()

    # --- filters -----------------------------------------------------------------------

    def _show_status_filter(self) -> None:
        text = label(self.status) if self.status else pgettext("orders filter", "All")
        self.query_one("#orders-status-filter", Static).update(
            _("Status: {status}").format(status=text)
        )

    def action_focus_filters(self) -> None:
        self.query_one("#f-holder", Input).focus()

    def action_cycle_status(self) -> None:
        index = STATUS_CYCLE.index(self.status)
        self.status = STATUS_CYCLE[(index + 1) % len(STATUS_CYCLE)]
        self._show_status_filter()
        self.reload()

    @on(Input.Submitted, "#f-holder")
    def apply_holder(self, event: Input.Submitted) -> None:
        self.holder = event.value.strip()
        self.query_one(DataTable).focus()
        self.reload()

    def reload(self) -> None:
        self.pages = []
        self.page_index = 0
        self.exhausted = False
        self.pager = iter_orders(
            self.ctx.engine, self.ctx.actor, self.status, self.holder or None, PAGE_SIZE
        )
        self._load(0)

    # --- paging ------------------------------------------------------------------------

    def action_older(self) -> None:
        self._load(self.page_index + 1)

    def action_newer(self) -> None:
        if self.page_index > 0:
            self._load(self.page_index - 1)

    def action_newest(self) -> None:
        self._load(0)

    def action_back(self) -> None:
        self.dismiss(None)

    @work(exclusive=True, group="orders-page")
    async def _load(self, index: int) -> None:
        pager = self.pager
        while len(self.pages) <= index and not self.exhausted and pager is not None:
            failed: list[str] = []
            # Refused or out of reach: say it where the rows would be.
            page = await run_db(self, "reading orders", next, pager, None, report=failed.append)
            if failed:
                self.query_one("#orders-status", Static).update(failed[0])
                return
            if pager is not self.pager:  # the filter changed meanwhile
                return
            if page is None:
                self.exhausted = True
            else:
                self.pages.append(page)
        if index > 0 and index >= len(self.pages):
            self.notify(_("No more orders this way."), severity="information")
            return
        self.page_index = index
        self._show()

    def on_resize(self) -> None:
        # Once the table has its new size (`widgets.tables.table_room`).
        self.call_after_refresh(self._show, keep_cursor=True)

    def _show(self, keep_cursor: bool = False) -> None:
        rows = self.pages[self.page_index] if self.page_index < len(self.pages) else []
        fill_table(
            self.query_one(DataTable),
            _order_columns(),
            [
                (
                    str(row.id),
                    (
                        str(row.number or ""),
                        _label(OrderType, row.type),
                        format_date(row.created_at.date()),
                        row.holder_name,
                        net_plus_vat(row.net),
                        _label(OrderStatus, row.status),
                    ),
                )
                for row in rows
            ],
            keep_cursor=keep_cursor,
        )
        self.query_one("#orders-status", Static).update(
            _("Page {page} — {count} orders shown").format(
                page=self.page_index + 1, count=format_number(len(rows))
            )
            if rows
            else _("No orders match the filter.")
        )

    @on(DataTable.RowSelected, "#orders-table")
    def open_order(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.app.push_screen(
                OrderDetailScreen(self.ctx, int(event.row_key.value)), lambda _r: self.reload()
            )


class OrderDetailScreen(Screen[None]):
    CSS_PATH = "../styles/orders.tcss"
    COMMANDS: ClassVar = {ScreenKeysProvider}
    BINDINGS: ClassVar = [
        Binding("escape", "back", N_("Back"), id="order.back"),
        Binding("p", "pay", N_("Register payment"), id="order.pay"),
        Binding("c", "pay_credit", N_("Pay with credit"), id="order.pay_credit"),
        Binding("a", "cancel_order", N_("Cancel order"), id="order.cancel"),
        Binding("x", "export_invoice", N_("Export invoice XML"), id="order.export_invoice"),
        Binding("l", "lines", N_("All lines"), id="order.lines"),
    ]

    def __init__(self, ctx: Context, order_id: int) -> None:
        super().__init__()
        translate_bindings(self)
        self.ctx = ctx
        self.order_id = order_id
        self.detail: OrderDetail | None = None
        self.invoices: list[InvoiceView] = []

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="order-detail"):
            yield Static(_("Loading…"), id="order-facts")
            yield Static("", id="order-lines-note", classes="hint")
            yield DataTable(id="order-lines", cursor_type="row", zebra_stripes=True)
            yield Static("", id="order-totals")
            yield Static("", id="order-payment")
            yield Static("", id="order-invoice")
        yield Static("", id="order-message")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.sub_title = _("Order")
        fill_table(self.query_one("#order-lines", DataTable), _line_columns(), [])
        self.refresh_order()

    @property
    def awaiting_payment(self) -> bool:
        return (
            self.detail is not None
            and self.detail.order.status == OrderStatus.AWAITING_PAYMENT.value
        )

    @property
    def provider_staff(self) -> bool:
        """The provider's administration or back office: they register received payments."""
        actor = self.ctx.actor
        return not actor.is_kiosk and actor.role in (Role.ADMIN, Role.BACK_OFFICE)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "pay":
            return self.awaiting_payment and self.provider_staff
        if action == "pay_credit":
            return (
                self.awaiting_payment
                and not self.ctx.actor.is_kiosk
                and self.detail is not None
                and self.detail.order.reseller_id is not None
            )
        if action == "cancel_order":
            return self.awaiting_payment
        if action == "export_invoice":
            return any(invoice.xml is not None for invoice in self.invoices)
        if action == "lines":
            return self.summarised
        return True

    @property
    def summarised(self) -> bool:
        """Whether the lines are summed up by item (an order too long to list)."""
        return self.detail is not None and len(self.detail.lines) < self.detail.line_count

    def action_lines(self) -> None:
        if self.summarised:
            self._open_lines()

    @work(exclusive=True, group="order-lines")
    async def _open_lines(self) -> None:
        lines = await run_db(
            self,
            "reading the lines of an order",
            order_lines,
            self.ctx.engine,
            self.ctx.actor,
            self.order_id,
            report=self.query_one("#order-message", Static).update,
        )
        if lines is not None and self.detail is not None:
            self.app.push_screen(
                OrderLinesScreen(
                    self.detail.order.number or self.order_id,
                    len(lines),
                    lambda n: order_line_cells(lines[n]),
                )
            )

    @work(exclusive=True, group="order-detail")
    async def refresh_order(self) -> None:
        detail = await run_db(
            self,
            "reading an order",
            lambda: get_order(self.ctx.engine, self.ctx.actor, self.order_id, all_lines=False),
            report=self.query_one("#order-facts", Static).update,
        )
        if detail is None:
            return
        self.detail = detail
        self._show(detail)
        found = await run_db(
            self,
            "reading the invoices of an order",
            order_invoices,
            self.ctx.engine,
            self.ctx.actor,
            self.order_id,
            report=self.query_one("#order-invoice", Static).update,
        )
        self.invoices = found or []
        self._show_invoices()
        self.refresh_bindings()

    def _show_invoices(self) -> None:
        paid = self.detail is not None and self.detail.order.status == OrderStatus.PAID.value
        if not self.invoices and paid:
            # A paid order from before invoices were made here (or the demo book's).
            text = _("No invoice was made here for this order.")
        elif not self.invoices:
            text = _("No invoice yet: the invoice is made when the payment is registered.")
        else:
            text = "\n\n".join("\n".join(invoice_text(i)) for i in self.invoices)
        self.query_one("#order-invoice", Static).update(Text(text))

    def action_export_invoice(self) -> None:
        if any(invoice.xml is not None for invoice in self.invoices):
            self._export()

    @work(exclusive=True, group="order-invoice-export")
    async def _export(self) -> None:
        directory = self.ctx.settings.resolved_invoice_dir()
        result = await run_db(
            self,
            "exporting invoices",
            export_invoices,
            self.ctx.engine,
            self.ctx.actor,
            directory,
            [invoice.number for invoice in self.invoices if invoice.xml is not None],
            report=self._refused,
        )
        if result is None:
            return
        message = _("Invoice XML written: {files}").format(
            files=", ".join(str(path) for path in result.written)
        )
        self.query_one("#order-message", Static).update(Text(message))
        self.notify(message)

    def on_resize(self) -> None:
        self.call_after_refresh(self._fill_lines)

    def _fill_lines(self) -> None:
        """The order's lines; a long order's summed up by item (`l` lists them all)."""
        table = self.query_one("#order-lines", DataTable)
        detail = self.detail
        if detail is not None and self.summarised:
            self.query_one("#order-lines-note", Static).update(
                _("{lines} lines: summed up by item below; l lists every line.").format(
                    lines=format_number(detail.line_count)
                )
            )
            fill_table(
                table,
                [Column(heading) for heading in line_group_headings()],
                [(None, line_group_cells(group)) for group in detail.groups],
            )
            return
        self.query_one("#order-lines-note", Static).update("")
        fill_table(
            table,
            _line_columns(),
            [
                (
                    None,
                    (
                        line.address or "",
                        line.description,
                        str(line.quantity),
                        str(line.years),
                        format_money(line.total),
                    ),
                )
                for line in (detail.lines if detail is not None else ())
            ],
        )

    def _show(self, detail: OrderDetail) -> None:
        order = detail.order
        facts = [
            (_("Order no."), str(order.number or "")),
            (_("Order type"), _label(OrderType, order.type)),
            (_("Order status"), _label(OrderStatus, order.status)),
            (_("Date"), format_date(order.created_at.date())),
            (_("Holder"), order.holder_name),
        ]
        self.query_one("#order-facts", Static).update(
            "\n".join(f"{name}: {value}" for name, value in facts)
        )
        self._fill_lines()
        self.query_one("#order-totals", Static).update(
            _("Taxable: {net}   VAT: {vat}   Total: {gross}").format(
                net=format_money(order.net),
                vat=format_money(order.vat),
                gross=format_money(order.gross),
            )
        )
        payment = detail.payment
        if payment is None and self.awaiting_payment and not self.provider_staff:
            text = _(
                "Awaiting the provider: it registers the payment when the money arrives. "
                "Prepaid credit pays it at once (c)."
            )
        elif payment is None:
            text = _("No payment registered.")
        else:
            text = _("Paid {amount} on {date} by {method}").format(
                amount=format_money(payment.amount),
                date=format_date(payment.paid_on),
                method=_label(PaymentMethod, payment.method),
            )
            if payment.reference:
                text = f"{text} — {payment.reference}"
        self.query_one("#order-payment", Static).update(text)

    def action_back(self) -> None:
        self.dismiss(None)

    def action_pay(self) -> None:
        if self.detail is None or not self.awaiting_payment:
            return

        def done(message: str | None) -> None:
            if message:
                self.query_one("#order-message", Static).update(message)
                self.notify(message)
            self.refresh_order()

        self.app.push_screen(PaymentScreen(self.ctx, self.detail), done)

    def action_pay_credit(self) -> None:
        if self.detail is None or not self.check_action("pay_credit", ()):
            return
        order = self.detail.order

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._pay_credit()

        question = _("Pay order no. {number} ({gross}) with the prepaid credit?").format(
            number=order.number, gross=format_money(order.gross)
        )
        self.app.push_screen(ConfirmCancelModal(question), confirmed)

    @work(exclusive=True, group="order-credit")
    async def _pay_credit(self) -> None:
        result = await run_db(
            self,
            "paying an order with credit",
            pay_with_credit,
            self.ctx.engine,
            self.ctx.actor,
            self.order_id,
            self.ctx.today(),
            report=self._refused,
        )
        if result is None:
            return
        self.query_one("#order-message", Static).update(result.message)
        self.notify(result.message)
        self.refresh_order()

    def action_cancel_order(self) -> None:
        if self.detail is None or not self.awaiting_payment:
            return
        number = self.detail.order.number

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._cancel()

        question = _("Cancel order no. {number}? It can no longer be paid.").format(number=number)
        self.app.push_screen(ConfirmCancelModal(question), confirmed)

    def _refused(self, message: str) -> None:
        self.query_one("#order-message", Static).update(message)
        self.notify(message, severity="error")

    @work(exclusive=True, group="order-cancel")
    async def _cancel(self) -> None:
        result = await run_db(
            self,
            "cancelling an order",
            cancel_order,
            self.ctx.engine,
            self.ctx.actor,
            self.order_id,
            report=self._refused,
        )
        if result is None:
            return
        self.query_one("#order-message", Static).update(result.message)
        self.notify(result.message)
        self.refresh_order()


class PaymentScreen(FieldErrors, ModalScreen[str | None]):
    """Registra pagamento; dismissed with the result message, or None when left."""

    CSS_PATH: ClassVar = ["../styles/auth.tcss", "../styles/orders.tcss"]
    FIELDS = ("amount", "method", "paid_on", "reference")
    BINDINGS: ClassVar = [
        Binding("ctrl+s", "save", N_("Register"), id="payment.save", priority=True),
        Binding("escape", "cancel", N_("Cancel"), id="payment.cancel"),
    ]

    def __init__(self, ctx: Context, detail: OrderDetail) -> None:
        super().__init__()
        translate_bindings(self)
        self.ctx = ctx
        self.detail = detail

    def compose(self) -> ComposeResult:
        order = self.detail.order
        title = _("Register payment")
        with Vertical(id="auth-box"):
            yield Static(f"{title} — {order.number}", classes="auth-title")
            yield Static(
                _("Total due: {gross} VAT included").format(gross=format_money(order.gross)),
                classes="auth-hint",
            )
            amount = format_money(order.gross).replace("€", "").strip()
            yield from field_block(_("Amount"), "amount", value=amount)
            yield Static(_("Payment method"), classes="auth-label")
            methods = [(label(m), m.value) for m in PaymentMethod]
            current = order.payment_method
            yield Select(
                methods,
                value=current if current in {m.value for m in PaymentMethod} else methods[0][1],
                allow_blank=False,
                id="method",
            )
            yield Label("", id="method-error", classes="auth-error")
            yield from field_block(
                _("Payment date (dd/mm/yyyy)"),
                "paid_on",
                value=self.ctx.today().strftime("%d/%m/%Y"),
            )
            yield from field_block(_("Reference"), "reference", max_length=140)
            yield Static("", id="auth-message")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#amount").focus()

    @on(Input.Submitted)
    def _next(self) -> None:
        self.action_next_or_submit()

    def action_save(self) -> None:
        self.submit()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def submit(self) -> None:
        try:
            amount = parse_money(self.value("amount"))
        except ValueError as exc:
            self.show_error("amount", str(exc))
            return
        if amount != self.detail.order.gross:
            self.show_error(
                "amount",
                _("The total of this order is {gross}, VAT included.").format(
                    gross=format_money(self.detail.order.gross)
                ),
            )
            return
        try:
            paid_on = parse_paid_on(self.value("paid_on"))
        except ValueError:
            self.show_error("paid_on", _("Write the day as dd/mm/yyyy."))
            return
        if paid_on > self.ctx.today():
            self.show_error("paid_on", _("The payment date cannot be in the future."))
            return
        method = PaymentMethod(chosen(self.query_one("#method", Select)))
        self.clear_errors()
        self._register(amount, method, paid_on, self.value("reference").strip() or None)

    @work(exclusive=True, group="payment-register")
    async def _register(
        self, amount: Decimal, method: PaymentMethod, paid_on: date, reference: str | None
    ) -> None:
        self.set_busy(True)
        ctx = self.ctx
        try:
            result = await run_db(
                self,
                "registering a payment",
                register_payment,
                ctx.engine,
                ctx.actor,
                self.detail.order.id,
                amount,
                method,
                paid_on,
                reference,
                ctx.today(),
                report=lambda message: self.show_error(None, message),
            )
        finally:
            self.set_busy(False)
        if result is not None:
            self.dismiss(result.message)
