"""`pec-tui prices show|set`: the price list (EUR, VAT excluded) as stored in the database."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import click

from pec_tui.cli.group import CliContext, main, pass_ctx
from pec_tui.domain.enums import Plan, PriceItem, SignatureKit, label
from pec_tui.domain.pricing import YEARLY_ITEMS
from pec_tui.i18n import _, format_money

# Digits, then at most two decimals after a point or a comma; no thousands separators,
# so that "1.234" can never be read as one thousand by one reader and 1.23 by another.
_AMOUNT_RE = re.compile(r"([0-9]{1,12})(?:[.,]([0-9]{1,2}))?")


class _Amount(click.ParamType[Decimal, str | Decimal]):
    """An exact amount in euros: `9.90` or `9,90` (never through a float)."""

    name = "AMOUNT"

    def convert(
        self, value: str | Decimal, param: click.Parameter | None, ctx: click.Context | None
    ) -> Decimal:
        if isinstance(value, Decimal):
            return value
        text = value.replace("€", "").strip()
        match = _AMOUNT_RE.fullmatch(text)
        if match is None:
            self.fail(
                _(
                    "“{value}” is not an amount: write euros with at most two decimals after "
                    "a point or a comma, without thousands separators (e.g. 9.90 or 9,90)."
                ).format(value=value),
                param,
                ctx,
            )
        whole, cents = match.groups()
        return Decimal(f"{whole}.{(cents or '').ljust(2, '0')}")


def _description(item: PriceItem) -> str:
    if item.value in Plan.__members__:
        return _("PEC mailbox {plan}").format(plan=item.value)
    kits = {PriceItem.for_kit(kit): kit for kit in SignatureKit}
    if item in kits:
        return _("Digital signature kit: {kit}").format(kit=label(kits[item]))
    return label(item)


def _billed(item: PriceItem) -> str:
    return _("per year") if item in YEARLY_ITEMS else _("one-off")


@main.group()
def prices() -> None:
    """The price list: what each item costs, VAT excluded."""


@prices.command("show")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@pass_ctx
def prices_show(ctx: CliContext, fmt: str) -> None:
    """Show every price (JSON amounts are exact decimal strings, in euros)."""
    from pec_tui.services.prices import get_price_list

    price_list = get_price_list(ctx.engine)
    if fmt == "json":
        items = [
            {
                "item": item.value,
                "description": _description(item),
                "amount": str(price_list[item]),
                "per_year": item in YEARLY_ITEMS,
            }
            for item in PriceItem
        ]
        click.echo(json.dumps(items, ensure_ascii=False, indent=2))
        return
    header = (_("Item"), _("Description"), _("Price, VAT excluded"), _("Billed"))
    rows = [
        (item.value, _description(item), format_money(price_list[item]), _billed(item))
        for item in PriceItem
    ]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        cells = [
            cell.rjust(width) if i == 2 else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        click.echo("  ".join(cells).rstrip())


@prices.command("set")
@click.argument(
    "item",
    metavar="ITEM",
    type=click.Choice([item.value for item in PriceItem], case_sensitive=False),
)
@click.argument("amount", type=_Amount())
@pass_ctx
def prices_set(ctx: CliContext, item: str, amount: Decimal) -> None:
    """Change the price of ITEM to AMOUNT euros, VAT excluded (administrators).

    ITEM is a code of `prices show` (any case): STANDARD, PRO, PREMIUM, EXTRA_MAILBOX_GB,
    EXTRA_ARCHIVE_GB, KIT_SMART_CARD, KIT_USB_TOKEN, KIT_REMOTE.
    """
    from pec_tui.domain.validation import ValidationError
    from pec_tui.services.prices import set_price

    price_item = PriceItem(item)
    try:
        old = set_price(ctx.engine, ctx.actor, price_item, amount)
    except ValidationError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(
        _("{item}: {old} → {new} + VAT ({billed}).").format(
            item=price_item.value,
            old=format_money(old),
            new=format_money(amount),
            billed=_billed(price_item),
        )
    )
