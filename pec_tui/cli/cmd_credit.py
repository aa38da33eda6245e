"""`pec-tui credit ...`: resellers' prepaid credit."""

from __future__ import annotations

from decimal import Decimal

import click

from pec_tui.cli import options
from pec_tui.cli.group import CliContext, main, pass_ctx
from pec_tui.cli.order_output import Money, echo_json, refusals_as_errors, write_table


@main.group()
def credit() -> None:
    """Resellers' prepaid credit: show balances and movements, top up (administrators)."""


@credit.command("show")
@click.argument("reseller_id", type=options.ID, required=False)
@click.option(
    "--movements",
    type=options.AMOUNT_OF,
    default=10,
    show_default=True,
    help="With RESELLER_ID: how many of the latest movements to list.",
)
@options.text_or_json("text for people, json for scripts (amounts like 30.50).")
@pass_ctx
@refusals_as_errors
def credit_show(ctx: CliContext, reseller_id: int | None, movements: int, fmt: str) -> None:
    """Show the credit of reseller RESELLER_ID with its latest movements, or, without it,
    every balance the operator may see."""
    from pec_tui.i18n import _, format_datetime, format_money
    from pec_tui.services import credit as credit_service

    if reseller_id is None:
        rows = credit_service.balances(ctx.engine, ctx.actor)
        if fmt == "json":
            echo_json(
                [
                    {"reseller_id": b.reseller_id, "name": b.reseller_name, "balance": b.balance}
                    for b in rows
                ]
            )
            return
        write_table(
            (_("Reseller"), _("Name"), _("Credit")),
            [(str(b.reseller_id), b.reseller_name, format_money(b.balance)) for b in rows],
        )
        return
    balance = credit_service.balance(ctx.engine, ctx.actor, reseller_id)
    history = credit_service.movements(ctx.engine, ctx.actor, reseller_id, movements)
    if fmt == "json":
        echo_json(
            {
                "reseller_id": balance.reseller_id,
                "name": balance.reseller_name,
                "balance": balance.balance,
                "movements": [
                    {
                        "at": m.at,
                        "amount": m.amount,
                        "balance_after": m.balance_after,
                        "order_number": m.order_number,
                        "note": m.note,
                    }
                    for m in history
                ],
            }
        )
        return
    click.echo(
        _("{name} (reseller {id}): credit {amount}").format(
            name=balance.reseller_name, id=balance.reseller_id, amount=format_money(balance.balance)
        )
    )
    if history:
        write_table(
            (_("When"), _("Amount"), _("Balance"), _("Order no."), _("Note")),
            [
                (
                    format_datetime(m.at),
                    format_money(m.amount),
                    format_money(m.balance_after),
                    str(m.order_number or ""),
                    m.note or "",
                )
                for m in history
            ],
        )


@credit.command("topup")
@click.argument("reseller_id", type=options.ID)
@click.argument("amount", type=Money())
@click.option("--note", metavar="TEXT", help="Why (bank transfer reference, agreement...).")
@pass_ctx
@refusals_as_errors
def credit_topup(ctx: CliContext, reseller_id: int, amount: Decimal, note: str | None) -> None:
    """Add AMOUNT (e.g. 500,00 or 500.00) to the prepaid credit of reseller RESELLER_ID.

    Administrators only. Orders of that reseller awaiting a credit payment are paid by
    the next lifecycle run, or at once with `pec-tui payments register`.
    """
    from pec_tui.i18n import _, format_money
    from pec_tui.services import credit as credit_service

    try:
        balance = credit_service.top_up(ctx.engine, ctx.actor, reseller_id, amount, note)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="AMOUNT") from exc
    click.echo(
        _("Credit of {name} topped up by {amount}: now {balance}.").format(
            name=balance.reseller_name,
            amount=format_money(amount),
            balance=format_money(balance.balance),
        )
    )
