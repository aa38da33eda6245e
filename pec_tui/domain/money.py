"""Exact money: Decimal euros in the rules, integer cents in the database."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
VAT_RATE = Decimal("0.22")


def round_cents(amount: Decimal) -> Decimal:
    """Round half-up to the cent, the way invoices round."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def vat_of(net: Decimal, rate: Decimal = VAT_RATE) -> Decimal:
    return round_cents(net * rate)


def to_cents(amount: Decimal) -> int:
    if not isinstance(amount, Decimal):
        raise TypeError(f"money must be a Decimal, not {type(amount).__name__}")
    return int(round_cents(amount) * 100)


def from_cents(cents: int) -> Decimal:
    if not isinstance(cents, int) or isinstance(cents, bool):
        raise TypeError(f"cents must be an int, not {type(cents).__name__}")
    return (Decimal(cents) / 100).quantize(CENT)
