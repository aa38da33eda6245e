"""What an order stores besides its totals: its priced lines and the holder as invoiced.

Written by the order pipeline (`services.placing`); the e-mails print the same descriptions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from pec_tui.db.models import Holder, OrderLine
from pec_tui.domain.enums import Plan, PriceItem
from pec_tui.domain.money import to_cents
from pec_tui.domain.pricing import MailboxChoice, Quote, QuoteLine, item_description
from pec_tui.services.holders import holder_data


def line_description(line: QuoteLine) -> str:
    """`PEC PRO` for a plan, the item's label for the rest (extra GB, kits)."""
    return item_description(line.item)


# The columns of `order_lines`' rows, in their order.
ORDER_LINE_COLUMNS = (
    "order_id",
    "mailbox_id",
    "address",
    "item",
    "description",
    "quantity",
    "years",
    "unit_cents",
    "total_cents",
    "plan",
    "previous_plan",
    "extra_mailbox_gb",
    "extra_archive_gb",
)


def order_lines(
    order_id: int, quote: Quote, choices: Sequence[MailboxChoice]
) -> list[tuple[Any, ...]]:
    """The quote's lines as `order_line` rows in `ORDER_LINE_COLUMNS` (for one bulk insert);
    a mailbox's plan line carries what the mailbox becomes once paid.

    An order may hold tens of thousands of lines: what is the same for many of them (an
    item's value and description, a price in cents) is worked out once."""
    by_address = {choice.address: choice for choice in choices}
    # What lines of one item, price, quantity and years share: the item's value and
    # description, the unit price and the line's total in cents.
    shared: dict[tuple[PriceItem, Decimal, int, int], tuple[str, str, int, int]] = {}
    plan_values = {plan: plan.value for plan in Plan}
    rows: list[tuple[Any, ...]] = []
    append = rows.append
    for line in quote.lines:
        key = (line.item, line.unit, line.quantity, line.years)
        known = shared.get(key)
        if known is None:
            known = shared[key] = (
                line.item.value,
                line_description(line),
                to_cents(line.unit),
                to_cents(line.total),
            )
        item, description, unit_cents, total_cents = known
        choice = by_address.get(line.address) if line.address else None
        # The mailbox's plan line carries its choice; other lines carry none.
        if choice is not None and item == plan_values[choice.plan]:
            plan: str | None = item
            previous = (
                plan_values[choice.previous_plan] if choice.previous_plan is not None else None
            )
            extra_mailbox_gb, extra_archive_gb = choice.extra_mailbox_gb, choice.extra_archive_gb
        else:
            plan = previous = None
            extra_mailbox_gb = extra_archive_gb = 0
        append(
            (
                order_id,
                line.mailbox_id,
                line.address,
                item,
                description,
                line.quantity,
                line.years,
                unit_cents,
                total_cents,
                plan,
                previous,
                extra_mailbox_gb,
                extra_archive_gb,
            )
        )
    return rows


@dataclass(frozen=True, slots=True)
class LineFacts:
    """An order line read as a plain row (an order may have tens of thousands)."""

    id: int
    mailbox_id: int | None
    address: str | None
    item: str
    quantity: int
    years: int
    unit_cents: int
    total_cents: int
    plan: str | None
    extra_mailbox_gb: int
    extra_archive_gb: int


_LINE_COLUMNS = [OrderLine.__table__.c[f.name] for f in fields(LineFacts)]


def order_line_facts(session: Session, order_id: int) -> list[LineFacts]:
    """The lines of order `order_id`, in the order they were written."""
    table = OrderLine.__table__
    rows = session.execute(
        select(*_LINE_COLUMNS).where(table.c.order_id == order_id).order_by(table.c.id)
    )
    return [LineFacts(*row) for row in rows]


def holder_snapshot(holder: Holder) -> dict[str, Any]:
    """The holder and billing data as confirmed for an order (the invoice must not change)."""
    data = asdict(holder_data(holder))
    data.update(kind=holder.kind, display_name=holder.display_name)
    return data
