"""Shared pieces of the order, payment, renewal and credit commands: output and clean errors."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import click

from pec_tui.domain.csv_cells import SafeWriter
from pec_tui.i18n import _

if TYPE_CHECKING:
    from pec_tui.cli.group import CliContext
    from pec_tui.services.placing import ConfirmedOrder

P = ParamSpec("P")
R = TypeVar("R")

FORMATS = ("table", "csv", "json")


def refusals_as_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Business refusals and lookups become a one-line message and exit status 1.

    Access refusals are left to the `main` group (exit status 77).
    """

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from pec_tui.domain.draft import RenewalRefused
        from pec_tui.domain.validation import ValidationError
        from pec_tui.services.invoices import InvoiceRefused
        from pec_tui.services.payments import PaymentRefused
        from pec_tui.services.statement import StatementError

        try:
            return fn(*args, **kwargs)
        except (PaymentRefused, RenewalRefused, ValidationError, InvoiceRefused) as exc:
            raise click.ClickException(getattr(exc, "message", str(exc))) from exc
        except (LookupError, StatementError) as exc:
            raise click.ClickException(exc.args[0] if exc.args else str(exc)) from exc

    return wrapper


def require_staff(ctx: CliContext, action: str) -> None:
    """Book-wide commands (the outbox) are for administrators and back office: they touch
    every reseller's e-mails. Refusals are audited. (The lifecycle job: administrators.)"""
    from pec_tui.domain.enums import Role
    from pec_tui.services import scope

    actor = ctx.actor
    with scope.denials_recorded(ctx.engine, actor, action):
        scope.require_role(actor, Role.ADMIN, Role.BACK_OFFICE, action=action)


class Money(click.ParamType[Decimal, object]):
    """An amount in euros, exactly: 25,00 or 25.00 (never a float)."""

    name = "AMOUNT"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> Decimal:
        if isinstance(value, Decimal):
            return value
        from pec_tui.services.payments import parse_money

        try:
            return parse_money(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class Day(click.ParamType[date, str | date]):
    """A calendar day, YYYY-MM-DD; within 2000-2100 unless `bounded` is False (the lifecycle
    job checks its own days: any day for a dry run, none after today for a real one)."""

    name = "YYYY-MM-DD"

    def __init__(self, bounded: bool = True) -> None:
        self.bounded = bounded

    def convert(
        self, value: str | date, param: click.Parameter | None, ctx: click.Context | None
    ) -> date:
        from pec_tui.domain.validation import ValidationError, parse_day

        if isinstance(value, date):
            return value
        if not self.bounded:
            try:
                return date.fromisoformat(value)
            except ValueError:
                self.fail(
                    _("{value} is not a date in the form YYYY-MM-DD.").format(value=repr(value)),
                    param,
                    ctx,
                )
        try:
            return parse_day(value, "date", param.name if param and param.name else "date")
        except ValidationError as exc:
            self.fail(exc.message, param, ctx)


def plain(value: Any) -> Any:
    """A value as JSON/CSV carry it: decimals as "30.50", dates ISO, enums by value."""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def _json_value(value: Any) -> Any:
    """What JSON cannot carry by itself, as `plain` writes it."""
    if isinstance(value, Decimal | datetime | date):
        return plain(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def echo_json(data: Any) -> None:
    """Print `data` as indented JSON, each piece written as it is encoded: the order of a
    whole book (150,000 lines) is never held as one string, nor as the millions of pieces
    `json.dumps` joins into it."""
    encoder = json.JSONEncoder(ensure_ascii=False, indent=2, default=_json_value)
    pieces: list[str] = []
    for piece in encoder.iterencode(data):
        pieces.append(piece)
        if len(pieces) == 10_000:  # ~100 KB a write
            sys.stdout.write("".join(pieces))
            pieces.clear()
    pieces.append("\n")
    sys.stdout.write("".join(pieces))


def echo_lines(lines: Iterable[str]) -> None:
    """Print `lines`, a thousand to a write: `click.echo` flushes at each call, and 58,000
    calls (a whole order's mailboxes) took a second of system time."""
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) == 1000:
            click.echo("\n".join(batch))
            batch.clear()
    if batch:
        click.echo("\n".join(batch))


def write_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    writer = SafeWriter(sys.stdout, convert=plain)
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)


def write_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Left-aligned columns as wide as their widest cell."""
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=False)]
    for row in (header, *rows):
        click.echo("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=False)).rstrip())


def enum_label(enum: type[StrEnum], value: str | None) -> str:
    """The on-screen label of a stored enum value (the value itself if unknown)."""
    from pec_tui.domain.enums import label

    if not value:
        return ""
    try:
        return label(enum(value))
    except ValueError:
        return value


def require_consents(terms: bool, clauses: bool, privacy: bool) -> None:
    """The three contract ticks, each its own flag, all required (usage error otherwise)."""
    from pec_tui.i18n import _

    missing = [
        flag
        for flag, given in (
            ("--accept-terms", terms),
            ("--accept-clauses", clauses),
            ("--accept-privacy", privacy),
        )
        if not given
    ]
    if missing:
        raise click.UsageError(
            _("The holder must accept each of the contract documents: missing {flags}.").format(
                flags=", ".join(missing)
            )
        )


def _confirmed_json(done: ConfirmedOrder, mailboxes: Sequence[str], years: int) -> dict[str, Any]:

    q = done.quote
    return {
        "number": done.number,
        "order_id": done.order_id,
        "mailboxes": list(mailboxes),
        "years": years,
        "net": q.net,
        "vat": q.vat,
        "gross": q.gross,
        "payment_method": done.payment_method,
        "paid": done.paid,
        "payment_instructions": done.payment_instructions,
        "email_to": done.email_to,
        "lines": [
            {
                "address": line.address,
                "item": line.item,
                "quantity": line.quantity,
                "years": line.years,
                "unit": line.unit,
                "total": line.total,
            }
            for line in q.lines
        ],
    }


def _echo_confirmed_text(done: ConfirmedOrder) -> None:
    from pec_tui.domain.enums import PaymentMethod
    from pec_tui.i18n import _, format_money

    q = done.quote
    click.echo(_("Order no. {number} confirmed.").format(number=done.number))
    click.echo(_("Total: {amount} + VAT").format(amount=format_money(q.net)))
    click.echo(_("Total incl. VAT: {amount}").format(amount=format_money(q.gross)))
    if done.paid:
        click.echo(_("Paid with the reseller's prepaid credit: the order is complete."))
    elif done.payment_method is PaymentMethod.PREPAID_CREDIT:
        click.echo(
            _(
                "The reseller's prepaid credit does not cover {amount}: the order awaits "
                "payment (top up the credit, or register another payment)."
            ).format(amount=format_money(q.gross))
        )
    else:
        click.echo(done.payment_instructions)
    if done.email_to:
        click.echo(_("Confirmation e-mail queued for {address}.").format(address=done.email_to))


def echo_confirmed(
    placed: Sequence[ConfirmedOrder], mailboxes: Sequence[str], years: int, fmt: str
) -> None:
    """Print the confirmed orders (`placing.ConfirmedOrder`): number, totals, how to pay.

    JSON: one object for one order; a list of them when a renewal across resellers made
    one order per reseller."""
    if fmt == "json":

        def own(done: ConfirmedOrder) -> list[str]:
            lines = {line.address for line in done.quote.lines if line.address}
            return [m for m in mailboxes if m in lines]

        objects = [_confirmed_json(done, own(done), years) for done in placed]
        echo_json(objects[0] if len(objects) == 1 else objects)
        return
    for done in placed:
        if len(placed) > 1:
            click.echo(f"— {done.billed_to}")
        _echo_confirmed_text(done)
