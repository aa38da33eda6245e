"""`pec-tui orders ...`: list, show, cancel and refund orders."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import click

from pec_tui.cli import options
from pec_tui.cli.group import CliContext, main, pass_ctx
from pec_tui.cli.order_output import (
    FORMATS,
    echo_json,
    enum_label,
    refusals_as_errors,
    write_csv,
    write_table,
)
from pec_tui.domain.enums import OrderStatus, OrderType, PaymentMethod
from pec_tui.domain.records import OrderRow

if TYPE_CHECKING:
    from pec_tui.services.order_queries import OrderDetail

_CSV_HEADER = (
    "number",
    "type",
    "status",
    "date",
    "holder",
    "years",
    "net",
    "vat",
    "gross",
    "payment_method",
)


@main.group()
def orders() -> None:
    """Orders: list them, show one with its lines and payment, cancel an unpaid one, refund a
    paid one."""


@orders.command("list")
@click.option(
    "--status",
    type=click.Choice([s.value for s in OrderStatus]),
    help="Only orders in this state: in_attesa (awaiting payment), pagato (paid), "
    "annullato (cancelled) or bozza (drafts; otherwise never listed).",
)
@click.option(
    "--holder",
    metavar="TEXT",
    help="Only orders of holders whose name contains TEXT (any case), or whose codice "
    "fiscale or partita IVA is TEXT.",
)
@click.option("--limit", type=options.COUNT, help="At most this many orders.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="table for people; csv and json (amounts like 30.50, ISO dates) for scripts.",
)
@pass_ctx
@refusals_as_errors
def orders_list(
    ctx: CliContext, status: str | None, holder: str | None, limit: int | None, fmt: str
) -> None:
    """List orders, newest first (only those the operator may see)."""
    from pec_tui.services.order_queries import iter_orders

    pages = iter_orders(ctx.engine, ctx.actor, OrderStatus(status) if status else None, holder)

    def rows() -> Iterator[OrderRow]:
        count = 0
        for page in pages:
            for row in page:
                if limit is not None and count >= limit:
                    return
                count += 1
                yield row

    if fmt == "csv":
        write_csv(_CSV_HEADER, (_row_values(r) for r in rows()))
    elif fmt == "json":
        echo_json([dict(zip(_CSV_HEADER, _row_values(r), strict=True)) for r in rows()])
    else:
        _write_order_table(rows())


def _row_values(r: OrderRow) -> tuple[object, ...]:
    """One order as the values of `_CSV_HEADER`: for csv and json."""
    return (
        r.number,
        r.type,
        r.status,
        r.created_at.date(),
        r.holder_name,
        r.years,
        r.net,
        r.vat,
        r.gross,
        r.payment_method,
    )


def _write_order_table(rows: Iterator[OrderRow]) -> None:
    from pec_tui.i18n import _, format_date, format_money

    table = [
        (
            str(r.number or "-"),
            enum_label(OrderType, r.type),
            format_date(r.created_at.date()),
            r.holder_name,
            format_money(r.net) + " + " + _("VAT"),
            format_money(r.gross),
            enum_label(OrderStatus, r.status),
        )
        for r in rows
    ]
    if not table:
        click.echo(_("No orders."))
        return
    write_table(
        (
            _("Order no."),
            _("Type"),
            _("Date"),
            _("Holder"),
            _("Total"),
            _("Total incl. VAT"),
            _("Status"),
        ),
        table,
    )


@orders.command("show")
@click.argument("number")
@options.text_or_json()
@pass_ctx
@refusals_as_errors
def orders_show(ctx: CliContext, number: str, fmt: str) -> None:
    """Show order NUMBER (10 digits) with its lines, totals and payment."""
    from pec_tui.services.order_queries import get_order

    detail = get_order(ctx.engine, ctx.actor, number)
    if fmt == "json":
        echo_json(_order_json(detail))
    else:
        _write_order(detail)


def _order_json(detail: OrderDetail) -> dict[str, object]:
    o = detail.order
    return {
        "number": o.number,
        "type": o.type,
        "status": o.status,
        "date": o.created_at,
        "holder": o.holder_name,
        "years": o.years,
        "payment_method": o.payment_method,
        "auto_renew": detail.auto_renew,
        "auto_generated": detail.auto_generated,
        "net": o.net,
        "vat": o.vat,
        "gross": o.gross,
        "lines": [
            {
                "address": line.address,
                "item": line.item,
                "description": line.description,
                "quantity": line.quantity,
                "years": line.years,
                "unit": line.unit,
                "total": line.total,
                "plan": line.plan,
                "previous_plan": line.previous_plan,
            }
            for line in detail.lines
        ],
        "payment": None
        if detail.payment is None
        else {
            "amount": detail.payment.amount,
            "method": detail.payment.method,
            "paid_on": detail.payment.paid_on,
            "reference": detail.payment.reference,
        },
        "paid_at": detail.paid_at,
        "cancelled_at": detail.cancelled_at,
    }


def _write_order(detail: OrderDetail) -> None:
    from pec_tui.i18n import _, format_date, format_datetime, format_money

    o = detail.order
    click.echo(
        _("Order no. {number} — {type} — {status}").format(
            number=o.number or "-",
            type=enum_label(OrderType, o.type),
            status=enum_label(OrderStatus, o.status),
        )
    )
    click.echo(_("Holder: {name}").format(name=o.holder_name))
    click.echo(_("Date: {date}").format(date=format_date(o.created_at.date())))
    click.echo(
        _("Payment method: {method}").format(method=enum_label(PaymentMethod, o.payment_method))
    )
    if detail.auto_generated:
        click.echo(_("Created by the automatic renewal."))
    click.echo("")
    write_table(
        (_("Mailbox"), _("Item"), _("Qty"), _("Years"), _("Unit"), _("Amount")),
        [
            (
                line.address or "",
                line.description,
                str(line.quantity),
                str(line.years),
                format_money(line.unit),
                format_money(line.total),
            )
            for line in detail.lines
        ],
    )
    click.echo("")
    click.echo(_("Total: {amount} + VAT").format(amount=format_money(o.net)))
    click.echo(_("VAT 22%: {amount}").format(amount=format_money(o.vat)))
    click.echo(_("Total incl. VAT: {amount}").format(amount=format_money(o.gross)))
    if detail.payment is not None:
        p = detail.payment
        click.echo(
            _("Paid {amount} by {method} on {date}{reference}.").format(
                amount=format_money(p.amount),
                method=enum_label(PaymentMethod, p.method),
                date=format_date(p.paid_on),
                reference=f" ({p.reference})" if p.reference else "",
            )
        )
    if detail.cancelled_at is not None:
        click.echo(_("Cancelled on {date}.").format(date=format_datetime(detail.cancelled_at)))


@orders.command("cancel")
@click.argument("number")
@click.option(
    "--reason", metavar="TEXT", help="Why the order is cancelled (kept in the audit trail)."
)
@pass_ctx
@refusals_as_errors
def orders_cancel(ctx: CliContext, number: str, reason: str | None) -> None:
    """Cancel (Annulla) unpaid order NUMBER: its mailboxes may be renewed by another order.

    A paid order cannot be cancelled; cancelling a cancelled order changes nothing.
    """
    from pec_tui.services.payments import cancel_order

    click.echo(cancel_order(ctx.engine, ctx.actor, number, reason).message)


@orders.command("refund")
@click.argument("number")
@click.option(
    "--reason",
    metavar="TEXT",
    required=True,
    help="Why the order is refunded (in the audit trail and the credit note).",
)
@pass_ctx
@refusals_as_errors
def orders_refund(ctx: CliContext, number: str, reason: str) -> None:
    """Refund paid order NUMBER (administrators only).

    Every mailbox the order renewed goes back to its previous expiry and plan, a reseller's
    prepaid credit is given back, and a credit note (TD04) reverses the order's invoice.
    Refunding a refunded order changes nothing.
    """
    from pec_tui.services.refunds import refund_order

    click.echo(refund_order(ctx.engine, ctx.actor, number, reason).message)
