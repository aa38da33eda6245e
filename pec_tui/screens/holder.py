"""Area clienti: a holder's data, orders and mailboxes, and Rinnova caselle."""

from __future__ import annotations

from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Header, Label, Static

from pec_tui.domain.enums import OrderStatus, OrderType, label
from pec_tui.domain.lifecycle import is_expiring_soon
from pec_tui.domain.records import MailboxRow, OrderRow
from pec_tui.i18n import N_, _, format_date, format_money, ngettext
from pec_tui.screens.dbwork import run_db
from pec_tui.screens.messages import OpenMailbox, OpenMailboxList, StartRenewal
from pec_tui.screens.purchase import PurchaseAddressModal, run_purchase
from pec_tui.services.context import Context
from pec_tui.services.holders import HolderInfo, get_holder, holder_mailboxes, holder_orders
from pec_tui.widgets.footer import KeysFooter
from pec_tui.widgets.keys import ScreenKeysProvider, translate_bindings
from pec_tui.widgets.tables import Column, fill_table


def order_total(order: OrderRow) -> str:
    """Totale Euro as the portal shows it: the taxable amount, `25,00 € + IVA`."""
    return _("{amount} + VAT").format(amount=format_money(order.net))


def holder_summary(holder: HolderInfo) -> str:
    """The header lines: name and type, tax codes, contacts, address, e-invoicing."""
    lines = [f"[b]{_escape(holder.display_name)}[/b]  ·  {label(holder.kind)}"]
    codes = []
    if holder.codice_fiscale:
        codes.append(_("Codice fiscale {code}").format(code=holder.codice_fiscale))
    if holder.partita_iva:
        codes.append(_("Partita IVA {code}").format(code=holder.partita_iva))
    codes.append(_("Reference e-mail {email}").format(email=_escape(holder.reference_email)))
    lines.append("  ·  ".join(codes))
    address = " ".join(
        part
        for part in (
            holder.street,
            holder.cap,
            holder.city,
            f"({holder.province})" if holder.province else None,
        )
        if part
    )
    if address:
        lines.append(_escape(address))
    if holder.kind.needs_billing:
        if holder.pa_office_code:
            billing = _("Office code {code}").format(code=holder.pa_office_code)
        elif holder.sdi_code:
            billing = _("SDI code {code}").format(code=holder.sdi_code)
            if holder.billing_pec:
                billing += " · " + _escape(holder.billing_pec)
        else:
            billing = _("no e-invoicing data yet")
        lines.append(_("Billing data: {billing}").format(billing=billing))
    return "\n".join(lines)


def _escape(text: str) -> str:
    return text.replace("[", r"\[")


def _order_columns() -> tuple[Column, ...]:
    return (
        Column(_("Order no.")),
        Column(_("Order type")),
        Column(_("Date")),
        Column(_("Total (EUR)")),
        Column(_("Order status"), flexible=True),
    )


def _mailbox_columns() -> tuple[Column, ...]:
    return (
        # At 80 columns every column stays in sight: the long titles give way too.
        Column(_("Address"), flexible=True, minimum=16),
        Column(_("Type")),
        Column(_("Expiry")),
        Column(_("State"), flexible=True, minimum=8),
        Column(_("Mailbox space"), flexible=True, minimum=7),
        Column(_("Auto-renew"), flexible=True, minimum=8),
    )


class CustomerAreaScreen(Screen[None]):
    """The holder's orders (N. Ordine, Tipo Ordine, Data, Totale Euro, Stato Ordine) and mailboxes."""

    CSS_PATH = "../styles/holder.tcss"
    COMMANDS: ClassVar = {ScreenKeysProvider}
    BINDINGS: ClassVar = [
        Binding("r", "renew", N_("Renew mailboxes"), id="holder.renew"),
        Binding("n", "purchase", N_("New mailbox"), id="holder.purchase"),
        Binding("g", "manage", N_("Manage"), id="holder.manage"),
        Binding("escape", "back", N_("Back"), id="holder.back"),
    ]

    def __init__(self, ctx: Context, holder_id: int) -> None:
        super().__init__()
        self.ctx = ctx
        translate_bindings(self)
        self.holder_id = holder_id
        self.holder: HolderInfo | None = None
        self.orders: list[OrderRow] = []
        self._shown_once = False
        self.mailboxes: list[MailboxRow] = []

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="holder-body"):
            yield Static(_("Loading…"), id="holder-header")
            yield Label(_("Orders"), classes="holder-section")
            yield DataTable(id="holder-orders", cursor_type="row", zebra_stripes=True)
            yield Label(_("Mailboxes"), classes="holder-section")
            yield DataTable(id="holder-mailboxes", cursor_type="row", zebra_stripes=True)
        yield Static(id="holder-status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.sub_title = _("Customer area")
        self._fill_tables()
        self.query_one("#holder-mailboxes", DataTable).focus()
        self._load()

    def on_screen_resume(self) -> None:
        # Back from another screen (a renewal, a mailbox's detail): read again. Not when the
        # screen is first shown (on_mount reads), which read the holder twice and redrew the
        # tables under the first frame.
        if self._shown_once:
            self._load()
        self._shown_once = True

    @work(exclusive=True, group="holder-load")
    async def _load(self) -> None:
        ctx, holder_id = self.ctx, self.holder_id

        def read() -> tuple[HolderInfo, list[OrderRow], list[MailboxRow]]:
            return (
                get_holder(ctx.engine, ctx.actor, holder_id),
                holder_orders(ctx.engine, ctx.actor, holder_id),
                holder_mailboxes(ctx.engine, ctx.actor, holder_id),
            )

        found = await run_db(self, "reading a customer", read, report=self._cannot_show)
        if found is not None:
            self._show(*found)

    def _cannot_show(self, message: str) -> None:
        self.query_one("#holder-header", Static).update(
            _("This customer cannot be shown: {error}").format(error=message)
        )

    def on_resize(self) -> None:
        # Once the tables have their new size (`widgets.tables.table_room`).
        self.call_after_refresh(self._fill_tables)

    def _fill_tables(self) -> None:
        """Both tables from what was read, fitted to the window (`widgets.tables`)."""
        fill_table(
            self.query_one("#holder-orders", DataTable),
            _order_columns(),
            [
                (
                    str(order.id),
                    (
                        str(order.number) if order.number is not None else "—",
                        label(OrderType(order.type)),
                        format_date(order.created_at.date()),
                        order_total(order),
                        label(OrderStatus(order.status)),
                    ),
                )
                for order in self.orders
            ],
        )
        today = self.ctx.today()
        soon = Style(bold=True, color=self.app.current_theme.warning)
        fill_table(
            self.query_one("#holder-mailboxes", DataTable),
            _mailbox_columns(),
            [
                (
                    str(box.id),
                    (
                        Text(box.address),
                        box.plan.value.title(),
                        Text(
                            format_date(box.expiry),
                            style=soon if is_expiring_soon(box.expiry, today) else "",
                        ),
                        label(box.state(today)),
                        f"{box.used_percent}%",
                        _("Yes") if box.auto_renew else _("No"),
                    ),
                )
                for box in self.mailboxes
            ],
        )

    def _show(self, holder: HolderInfo, orders: list[OrderRow], boxes: list[MailboxRow]) -> None:
        self.holder, self.orders, self.mailboxes = holder, orders, boxes
        self.query_one("#holder-header", Static).update(holder_summary(holder))
        self._fill_tables()
        self._show_status()
        self.refresh_bindings()

    def renewable(self) -> list[MailboxRow]:
        """The holder's mailboxes that Rinnova caselle offers (auto-renew off, not cancelled)."""
        today = self.ctx.today()
        return [box for box in self.mailboxes if box.renewable(today)]

    def _show_status(self, notice: str = "") -> None:
        count = len(self.renewable())
        text = ngettext(
            "{n} mailbox can be renewed.", "{n} mailboxes can be renewed.", count
        ).format(n=count)
        if count == 0 and self.mailboxes:
            text = _(
                "No mailbox can be renewed here: automatic renewal is on, or the mailbox "
                "has been cancelled."
            )
        self.query_one("#holder-status", Static).update(f"{text} {notice}".strip())

    def _cursor_mailbox(self) -> MailboxRow | None:
        table = self.query_one("#holder-mailboxes", DataTable)
        if not self.mailboxes or table.row_count == 0:
            return None
        return self.mailboxes[min(table.cursor_row, len(self.mailboxes) - 1)]

    @on(DataTable.RowSelected, "#holder-mailboxes")
    def _mailbox_chosen(self, event: DataTable.RowSelected) -> None:
        self.action_manage()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "renew":
            return bool(self.renewable()) or None
        if action == "purchase":
            return self.holder is not None or None
        if action == "manage":
            return self._cursor_mailbox() is not None or None
        return True

    def action_renew(self) -> None:
        """Rinnova caselle: straight on with the only renewable mailbox, else choose them."""
        renewable = self.renewable()
        if len(renewable) == 1:
            self.app.post_message(StartRenewal([renewable[0].id]))
        elif renewable:
            self.app.post_message(OpenMailboxList(self.holder_id))

    def action_purchase(self) -> None:
        """Acquisto: a new PEC address (or a cancelled one of this holder) for this holder."""
        holder = self.holder
        if holder is None:
            return

        def chosen(address: str | None) -> None:
            if address:
                run_purchase(self.app, self.ctx, self.holder_id, address)

        modal = PurchaseAddressModal(self.ctx, self.holder_id, holder.display_name)
        self.app.push_screen(modal, chosen)

    def action_manage(self) -> None:
        box = self._cursor_mailbox()
        if box is not None:
            self.app.post_message(OpenMailbox(box.id))

    def action_back(self) -> None:
        self.dismiss()
