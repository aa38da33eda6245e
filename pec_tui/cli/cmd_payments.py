"""`pec-tui payments ...`: register a payment, import a bank statement."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import click

from pec_tui.cli import options
from pec_tui.cli.group import CliContext, main, pass_ctx
from pec_tui.cli.order_output import Day, Money, echo_json, echo_lines, refusals_as_errors
from pec_tui.domain.enums import PaymentMethod

if TYPE_CHECKING:
    from pec_tui.services.payments import PaymentResult


@main.group()
def payments() -> None:
    """Payments: register one by hand, or import a bank statement."""


@payments.command("register")
@click.argument("number")
@click.option(
    "--amount",
    type=Money(),
    required=True,
    help="The amount paid, VAT included, exactly as the order's total: 30,50 or 30.50.",
)
@click.option(
    "--method",
    type=click.Choice([m.value for m in PaymentMethod]),
    required=True,
    help="How it was paid: carta (card), paypal, bonifico (bank transfer), bollettino "
    "(postal slip) or credito (reseller prepaid credit).",
)
@click.option(
    "--reference",
    metavar="TEXT",
    help="The payment's reference (CRO/TRN of a transfer, receipt number); at most 140 chars.",
)
@click.option(
    "--date",
    "paid_on",
    type=Day(),
    help="The day the payment was made (default: today); it decides whether a mailbox "
    "was still renewable.",
)
@options.text_or_json()
@pass_ctx
@refusals_as_errors
def payments_register(
    ctx: CliContext,
    number: str,
    amount: Decimal,
    method: str,
    reference: str | None,
    paid_on: date | None,
    fmt: str,
) -> None:
    """Register the payment of order NUMBER and complete its renewal (administration and
    back office: a reseller pays with `payments credit`).

    Every mailbox of the order is extended from its old expiry, the chosen plan and extra
    space apply, and the holder gets the Rinnovo completato e-mail. Registering an order
    that is already paid changes nothing and says so (exit status 0). A different amount,
    a cancelled order or a mailbox already cancelled is refused (exit status 1).
    """
    from pec_tui.services.payments import register_payment

    result = register_payment(
        ctx.engine, ctx.actor, number, amount, method, paid_on, reference, date.today()
    )
    _echo_result(result, fmt)


@payments.command("credit")
@click.argument("number")
@options.text_or_json()
@pass_ctx
@refusals_as_errors
def payments_credit(ctx: CliContext, number: str, fmt: str) -> None:
    """Pay order NUMBER with its reseller's prepaid credit and complete its renewal.

    The way a reseller operator pays its own orders. A credit that does not cover the
    order's total is refused (exit status 1) and the order stays awaiting payment; an order
    already paid changes nothing (exit status 0).
    """
    from pec_tui.services.payments import pay_with_credit

    _echo_result(pay_with_credit(ctx.engine, ctx.actor, number, date.today()), fmt)


def _echo_result(result: PaymentResult, fmt: str) -> None:
    from pec_tui.i18n import _, format_date

    if fmt == "json":
        echo_json(
            {
                "number": result.number,
                "amount": result.amount,
                "method": result.method,
                "paid_on": result.paid_on,
                "already_paid": result.already_paid,
                "invoice": result.invoice,
                "invoice_problem": result.invoice_problem,
                "renewed": [
                    {
                        "address": r.address,
                        "old_expiry": r.old_expiry,
                        "new_expiry": r.new_expiry,
                        "plan": r.plan,
                    }
                    for r in result.renewed
                ],
            }
        )
        return
    click.echo(result.message)
    new_mailbox = _("{address}: {plan}, new mailbox, expiry {new}")
    renewed = _("{address}: {plan}, expiry {old} → {new}")
    echo_lines(
        "  "
        + (
            new_mailbox.format(address=r.address, plan=r.plan, new=format_date(r.new_expiry))
            if r.old_expiry is None
            else renewed.format(
                address=r.address,
                plan=r.plan,
                old=format_date(r.old_expiry),
                new=format_date(r.new_expiry),
            )
        )
        for r in result.renewed
    )


@payments.command("import")
@click.argument(
    "statement", type=options.FilePath(exists=True, dir_okay=False, readable=True, path_type=Path)
)
@options.text_or_json()
@pass_ctx
@refusals_as_errors
def payments_import(ctx: CliContext, statement: Path, fmt: str) -> None:
    """Import a bank statement (CSV) and register the transfers that pay an order.

    \b
    The file needs a header line naming a date column (Data, Data operazione, Date), an
    amount column (Importo, Amount; or Entrate/Avere with Uscite/Dare) and a causale
    column (Causale, Descrizione, Description); ';', ',' or tab separated, UTF-8 or
    Windows-1252. A transfer pays an order when its causale holds the order's 10-digit
    number and its amount equals the order's total: exactly one such unpaid order is
    registered; several are reported as ambiguous, none as unmatched with the reason.
    Importing the same statement again registers nothing twice. All or nothing: a line
    that cannot be read (date, amount, a control character) is printed as `line N:
    reason`, nothing is registered and the exit status is 1.
    """
    from pec_tui.i18n import _, format_date, format_money, ngettext
    from pec_tui.services.statement import Outcome, StatementRejected, decode, import_statement

    try:
        report = import_statement(
            ctx.engine, ctx.actor, decode(statement.read_bytes()), statement.name, date.today()
        )
    except StatementRejected as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        click.echo(
            ngettext(
                "Nothing registered: {count} line to fix.",
                "Nothing registered: {count} lines to fix.",
                len(exc.problems),
            ).format(count=len(exc.problems)),
            err=True,
        )
        raise click.exceptions.Exit(1) from None
    if fmt == "json":
        echo_json(
            {
                "source": report.source,
                "counts": report.counts,
                "lines": [
                    {
                        "line": r.line_no,
                        "outcome": r.outcome,
                        "order_number": r.order_number,
                        "amount": r.amount,
                        "date": r.booked_on,
                        "causale": r.text,
                        "reason": r.reason,
                    }
                    for r in report.results
                ],
            }
        )
        return
    titles = {
        Outcome.MATCHED: _("Registered"),
        Outcome.ALREADY_PAID: _("Already paid"),
        Outcome.AMBIGUOUS: _("Ambiguous (register by hand)"),
        Outcome.UNMATCHED: _("Unmatched"),
        Outcome.SKIPPED: _("Not incoming transfers"),
    }
    for outcome, title in titles.items():
        results = report.of(outcome)
        if not results:
            continue
        click.echo(f"{title}: {len(results)}")
        for r in results:
            what = (
                f"{format_date(r.booked_on)} {format_money(r.amount)} “{r.text}”"
                if r.booked_on and r.amount is not None
                else ""
            )
            click.echo(
                "  "
                + _("line {line}: {what} — {reason}").format(
                    line=r.line_no, what=what, reason=r.reason
                )
            )
    counts = report.counts
    click.echo(
        _(
            "{matched} registered, {already} already paid, {ambiguous} ambiguous, "
            "{unmatched} unmatched, {skipped} skipped."
        ).format(
            matched=counts["matched"],
            already=counts["already_paid"],
            ambiguous=counts["ambiguous"],
            unmatched=counts["unmatched"],
            skipped=counts["skipped"],
        )
    )
