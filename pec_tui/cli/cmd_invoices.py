"""`pec-tui invoices ...`: the issuer's data, the list, one invoice, the XML files."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from pec_tui.cli import options
from pec_tui.cli.group import CliContext, main, pass_ctx
from pec_tui.cli.order_output import (
    Day,
    echo_json,
    enum_label,
    refusals_as_errors,
    write_csv,
    write_table,
)
from pec_tui.domain.enums import InvoiceStatus

if TYPE_CHECKING:
    from pec_tui.domain.fatturapa import Issuer
    from pec_tui.services.invoices import InvoiceView

_CSV_HEADER = (
    "number",
    "type",
    "date",
    "status",
    "order",
    "buyer",
    "net",
    "vat",
    "gross",
    "payment_method",
    "file_name",
    "reason",
)

# Issuer option -> field of `fatturapa.Issuer`.
_ISSUER_OPTIONS = {
    "name": "name",
    "vat": "vat_number",
    "codice_fiscale": "codice_fiscale",
    "regime": "regime_fiscale",
    "street": "street",
    "cap": "cap",
    "city": "city",
    "province": "province",
    "country": "country",
    "rea_office": "rea_office",
    "rea_number": "rea_number",
    "transmitter": "transmitter_code",
    "email": "email",
}


@main.group()
def invoices() -> None:
    """Electronic invoices (FatturaPA): the issuer's data, list, show, export, regenerate."""


@invoices.command("issuer")
@click.option("--name", metavar="TEXT", help="Company name (Denominazione), at most 80 chars.")
@click.option("--vat", metavar="DIGITS", help="Partita IVA (11 digits).")
@click.option("--codice-fiscale", metavar="CODE", help="Codice fiscale of the company.")
@click.option("--regime", metavar="RFnn", help="Regime fiscale, RF01 (ordinario) by default.")
@click.option("--street", metavar="TEXT", help="Address (Indirizzo), at most 60 chars.")
@click.option("--cap", metavar="DIGITS", help="CAP (5 digits).")
@click.option("--city", metavar="TEXT", help="Comune.")
@click.option("--province", metavar="XX", help="Provincia (2 letters).")
@click.option("--country", metavar="XX", help="Nazione (IT by default).")
@click.option("--rea-office", metavar="XX", help="REA: the office's province (optional).")
@click.option("--rea-number", metavar="TEXT", help="REA: the registration number (optional).")
@click.option(
    "--transmitter",
    metavar="CODE",
    help="IdTrasmittente's IdCodice when another party sends the files to SDI (default: the "
    "partita IVA); it names the files IT<code>_<progressivo>.xml.",
)
@click.option("--email", metavar="ADDRESS", help="Contact e-mail printed on the invoice.")
@options.text_or_json()
@pass_ctx
@refusals_as_errors
def invoices_issuer(ctx: CliContext, /, fmt: str, **given: str | None) -> None:
    """Show the issuer (cedente/prestatore) of the invoices; with options, change it.

    Only administrators change it. Options not given keep their value; the first time,
    name, partita IVA, street, CAP, city and province are needed. After a change every
    invoice waiting to be corrected is built again.
    """
    from dataclasses import asdict

    from pec_tui.domain.fatturapa import Issuer
    from pec_tui.i18n import _
    from pec_tui.services import invoices as service

    current = service.get_issuer(ctx.engine)
    changes: dict[str, Any] = {
        _ISSUER_OPTIONS[name]: value.strip()
        for name, value in given.items()
        if value is not None and name in _ISSUER_OPTIONS
    }
    if changes:
        if current is None:
            missing = [
                f"--{option.replace('_', '-')}"
                for option in ("name", "vat", "street", "cap", "city", "province")
                if _ISSUER_OPTIONS[option] not in changes
            ]
            if missing:
                raise click.UsageError(
                    _("The issuer is not set yet: also give {options}.").format(
                        options=", ".join(missing)
                    )
                )
            base = Issuer(
                name="",
                vat_number="",
                codice_fiscale=None,
                street="",
                cap="",
                city="",
                province=None,
            )
        else:
            base = current
        result = service.set_issuer(
            ctx.engine,
            ctx.actor,
            Issuer(**{**asdict(base), **{k: v or None for k, v in changes.items()}}),
        )
        current = result.issuer
        if fmt == "text":
            click.echo(_("Issuer data saved."))
            if result.regenerated:
                click.echo(
                    _("Invoices regenerated: {numbers}.").format(
                        numbers=", ".join(result.regenerated)
                    )
                )
            if result.still_to_fix:
                click.echo(
                    _(
                        "{count} invoice(s) still to be corrected: see `invoices list "
                        "--status da_correggere`."
                    ).format(count=result.still_to_fix)
                )
    if current is None:
        if fmt == "json":
            echo_json(None)
            return
        raise click.ClickException(
            _("The issuer is not set: give its data with `pec-tui invoices issuer --name ...`.")
        )
    if fmt == "json":
        echo_json(asdict(current))
    else:
        _write_issuer(current)


def _write_issuer(issuer: Issuer) -> None:
    from pec_tui.i18n import _

    rows = [
        (_("Company name"), issuer.name),
        (_("Partita IVA"), f"{issuer.country}{issuer.vat_number}"),
        (_("Codice fiscale"), issuer.codice_fiscale or ""),
        (_("Regime fiscale"), issuer.regime_fiscale),
        (
            _("Address"),
            f"{issuer.street}, {issuer.cap} {issuer.city}"
            + (f" ({issuer.province})" if issuer.province else "")
            + f" {issuer.country}",
        ),
        (_("REA"), f"{issuer.rea_office} {issuer.rea_number}" if issuer.rea_number else ""),
        (_("Transmitter"), f"{issuer.transmitter_country}{issuer.transmitter_id}"),
        (_("E-mail"), issuer.email or ""),
    ]
    write_table((_("Issuer"), ""), rows)


@invoices.command("list")
@click.option("--year", type=click.IntRange(2000, 2999), help="Only invoices of this year.")
@click.option(
    "--status",
    type=click.Choice([s.value for s in InvoiceStatus]),
    help="emessa (issued) or da_correggere (waiting for corrected data, with the reason).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("text", "json", "csv")),
    default="text",
    show_default=True,
    help="text for people; csv and json (amounts like 30.50, ISO dates) for scripts.",
)
@pass_ctx
@refusals_as_errors
def invoices_list(ctx: CliContext, year: int | None, status: str | None, fmt: str) -> None:
    """List the invoices and credit notes by number (only those the operator may see)."""
    from pec_tui.services.invoices import list_invoices

    found = list_invoices(ctx.engine, ctx.actor, year, InvoiceStatus(status) if status else None)
    if fmt == "csv":
        write_csv(_CSV_HEADER, (_values(i) for i in found))
    elif fmt == "json":
        echo_json([dict(zip(_CSV_HEADER, _values(i), strict=True)) for i in found])
    else:
        _write_list(found)


def _values(i: InvoiceView) -> tuple[object, ...]:
    return (
        i.number,
        i.document_type,
        i.issued_on,
        i.status,
        i.order_number,
        i.buyer_name,
        i.net,
        i.vat,
        i.gross,
        i.payment_method,
        i.file_name,
        i.reason,
    )


def _write_list(found: Sequence[InvoiceView]) -> None:
    from pec_tui.i18n import _, format_date, format_money

    if not found:
        click.echo(_("No invoices."))
        return
    write_table(
        (
            _("Number"),
            _("Type"),
            _("Date"),
            _("Order no."),
            _("Buyer"),
            _("Total incl. VAT"),
            _("Status"),
        ),
        [
            (
                i.number,
                i.kind,
                format_date(i.issued_on),
                str(i.order_number or ""),
                i.buyer_name,
                format_money(i.gross),
                enum_label(InvoiceStatus, i.status) + (f": {i.reason}" if i.reason else ""),
            )
            for i in found
        ],
    )


@invoices.command("show")
@click.argument("number")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("text", "json", "xml")),
    default="text",
    show_default=True,
    help="text for people, json for scripts, xml for the FatturaPA file itself.",
)
@pass_ctx
@refusals_as_errors
def invoices_show(ctx: CliContext, number: str, fmt: str) -> None:
    """Show invoice NUMBER (number/year, e.g. 12/2026; a plain number means this year)."""
    from pec_tui.i18n import _
    from pec_tui.services.invoices import get_invoice, invoice_text

    invoice = get_invoice(ctx.engine, ctx.actor, number, date.today())
    if fmt == "xml":
        if invoice.xml is None:
            raise click.ClickException(
                _("Invoice {number} has no XML yet: {reason}").format(
                    number=invoice.number, reason=invoice.reason or ""
                )
            )
        click.echo(invoice.xml)
    elif fmt == "json":
        from dataclasses import asdict

        data = asdict(invoice)
        data.pop("xml")
        echo_json(data)
    else:
        for line in invoice_text(invoice):
            click.echo(line)


@invoices.command("export")
@click.argument("numbers", nargs=-1)
@click.option("--all", "all_invoices", is_flag=True, help="Every invoice the operator may see.")
@click.option("--since", type=Day(), help="Every invoice dated this day or later.")
@click.option(
    "--dir",
    "directory",
    type=options.FilePath(file_okay=False, path_type=Path),
    required=True,
    help="Where to write the files (created if missing), named as SDI wants them.",
)
@pass_ctx
@refusals_as_errors
def invoices_export(
    ctx: CliContext,
    numbers: tuple[str, ...],
    all_invoices: bool,
    since: date | None,
    directory: Path,
) -> None:
    """Write the XML of invoices NUMBER... (or --all, or --since DAY) into --dir.

    Invoices waiting to be corrected have no XML yet: they are listed with the reason and
    the exit status is 1."""
    from pec_tui.i18n import _
    from pec_tui.services.invoices import export_invoices

    chosen = sum((bool(numbers), all_invoices, since is not None))
    if chosen != 1:
        raise click.UsageError(_("Give invoice numbers, or --all, or --since DAY (one of them)."))
    result = export_invoices(
        ctx.engine, ctx.actor, directory, numbers, all_invoices, since, date.today()
    )
    for path in result.written:
        click.echo(str(path))
    click.echo(_("{count} file(s) written.").format(count=len(result.written)))
    if result.skipped:
        for number, reason in result.skipped:
            click.echo(
                _("Invoice {number} not exported: {reason}").format(number=number, reason=reason),
                err=True,
            )
        raise SystemExit(1)


@invoices.command("regenerate")
@click.argument("number")
@pass_ctx
@refusals_as_errors
def invoices_regenerate(ctx: CliContext, number: str) -> None:
    """Build invoice NUMBER again from the data as they are now (after fixing the holder's
    data). Only an invoice waiting to be corrected changes; its number and date stay."""
    from pec_tui.i18n import _
    from pec_tui.services.invoices import regenerate

    invoice = regenerate(ctx.engine, ctx.actor, number, date.today())
    if invoice.status is InvoiceStatus.ISSUED:
        click.echo(
            _("Invoice {number} issued: {file}.").format(
                number=invoice.number, file=invoice.file_name
            )
        )
    else:
        raise click.ClickException(
            _("Invoice {number} is still to be corrected: {reason}").format(
                number=invoice.number, reason=invoice.reason
            )
        )
