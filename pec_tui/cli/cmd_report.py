"""`pec-tui report renewals|revenue`: the renewals dashboard's figures, month by month."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import date

import click

from pec_tui.cli import options
from pec_tui.cli.group import CliContext, main, pass_ctx
from pec_tui.cli.options import F
from pec_tui.cli.order_output import echo_json, refusals_as_errors, write_csv

RENEWALS_HEADER = ("month", "expiring", "auto_renew", "manual", "expected_revenue")
REVENUE_HEADER = ("month", "payments", "paid")


def _months_option(help_text: str) -> Callable[[F], F]:
    return click.option(
        "--months",
        type=click.IntRange(1, 60),
        default=12,
        show_default=True,
        help=help_text,
    )


_reseller_option: Callable[[F], F] = click.option(
    "--reseller",
    "reseller_id",
    type=options.ID,
    metavar="ID",
    help="Only this reseller's book (administrators and back office; a reseller operator "
    "always reads its own).",
)


def _width() -> int:
    return max(60, min(shutil.get_terminal_size((100, 24)).columns, 140))


@main.group()
def report() -> None:
    """Figures of the Scadenze e incassi dashboard, for people and scripts."""


@report.command("renewals")
@_months_option("How many calendar months, from the current one.")
@_reseller_option
@options.report_format
@pass_ctx
@refusals_as_errors
def report_renewals(ctx: CliContext, months: int, reseller_id: int | None, fmt: str) -> None:
    """Mailboxes expiring in each calendar month, with automatic renewal on and off, and
    what they are worth at today's prices (plan and extra GB for one year, VAT excluded).

    `expiring` counts every mailbox whose expiry falls in the month, whatever its state.
    """
    from pec_tui.i18n import _, format_money, format_month, format_number
    from pec_tui.services import dashboard
    from pec_tui.widgets.bars import BarRow, plain_lines

    figures = dashboard.renewals_by_month(ctx.engine, ctx.actor, date.today(), months, reseller_id)
    values = [
        (dashboard.month_key(m.month), m.expiring, m.auto_renew, m.manual, m.expected_revenue)
        for m in figures
    ]
    if fmt == "json":
        echo_json([dict(zip(RENEWALS_HEADER, row, strict=True)) for row in values])
        return
    if fmt == "csv":
        write_csv(RENEWALS_HEADER, values)
        return
    rows = [
        BarRow(
            format_month(m.month),
            (m.auto_renew, m.manual),
            (
                format_number(m.expiring),
                format_number(m.auto_renew),
                format_number(m.manual),
                format_money(m.expected_revenue),
            ),
        )
        for m in figures
    ]
    headers = (_("Total"), _("Auto"), _("Manual"), _("Value"))
    click.echo(_("█ automatic renewal  ▒ manual · yearly value, VAT excluded"))
    for line in plain_lines(rows, headers, _width(), _("Month")):
        click.echo(line)


@report.command("revenue")
@_months_option("How many calendar months, back from the current one (included).")
@_reseller_option
@options.report_format
@pass_ctx
@refusals_as_errors
def report_revenue(ctx: CliContext, months: int, reseller_id: int | None, fmt: str) -> None:
    """Money paid in each calendar month, by the payment's date: how many payments, and
    how much they brought in (VAT included)."""
    from pec_tui.i18n import _, format_money, format_month, format_number
    from pec_tui.services import dashboard
    from pec_tui.widgets.bars import BarRow, plain_lines

    figures = dashboard.revenue_by_month(ctx.engine, ctx.actor, date.today(), months, reseller_id)
    values = [(dashboard.month_key(m.month), m.payments, m.paid) for m in figures]
    if fmt == "json":
        echo_json([dict(zip(REVENUE_HEADER, row, strict=True)) for row in values])
        return
    if fmt == "csv":
        write_csv(REVENUE_HEADER, values)
        return
    rows = [
        BarRow(
            format_month(m.month),
            (m.paid,),
            (format_number(m.payments), format_money(m.paid)),
        )
        for m in figures
    ]
    headers = (_("Payments"), _("Paid"))
    for line in plain_lines(rows, headers, _width(), _("Month")):
        click.echo(line)
