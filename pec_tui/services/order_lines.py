"""What an order stores besides its totals: its priced lines and the holder as invoiced.

Written by the order pipeline (`services.placing`); the e-mails print the same descriptions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from pec_tui.db.models import Holder, Mailbox, OrderLine
from pec_tui.domain.enums import Plan, PriceItem
from pec_tui.domain.lifecycle import renewed_expiry
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


def order_line_count(session: Session, order_id: int) -> int:
    table = OrderLine.__table__
    return int(
        session.execute(
            select(func.count()).select_from(table).where(table.c.order_id == order_id)
        ).scalar_one()
    )


@dataclass(frozen=True, slots=True)
class ItemGroup:
    """The lines of one item, price and duration, as a long order's e-mail sums them up."""

    item: str
    years: int
    unit_cents: int
    # The lines' quantities summed.
    quantity: int


@dataclass(frozen=True, slots=True)
class InvoiceGroup:
    """The lines of one description, price and duration, as a long order's invoice sums
    them up: quantities (× years) and totals summed, how many mailboxes they cover, and the
    period when every line has one and it is the same for all."""

    description: str
    unit_cents: int
    years: int
    quantity: int
    total_cents: int
    mailboxes: int
    period: tuple[date, date] | None


@dataclass(frozen=True)
class LinesSummary:
    """An order's lines summed up in the database, for an order too long to read line by
    line (an order may hold tens of thousands): each kind of group in the order its first
    line was written."""

    lines: int
    # Distinct addresses over every line.
    mailboxes: int
    by_item: tuple[ItemGroup, ...]
    invoice: tuple[InvoiceGroup, ...]


def renewal_lines_summary(session: Session, order_id: int) -> LinesSummary | None:
    """The lines of renewal `order_id` summed up, read BEFORE its mailboxes are renewed: an
    invoice group's period runs from its mailboxes' old expiry to the renewed one.

    None, for the caller to read the lines one by one, unless every line names a mailbox
    with a plan line in the order and every plan line renews for the same years (as the
    order pipeline writes them): a line's period is its mailbox's, found by address
    otherwise (`invoices.invoice_lines`)."""
    lines, mailbox = OrderLine.__table__, Mailbox.__table__
    of_order = lines.c.order_id == order_id
    uncovered = (
        select(lines.c.mailbox_id)
        .where(of_order)
        .group_by(lines.c.mailbox_id)
        .having(func.count(lines.c.plan) == 0)
    ).subquery()
    plan_years = session.execute(
        select(
            select(func.count()).select_from(uncovered).scalar_subquery(),
            func.min(lines.c.years),
            func.max(lines.c.years),
        ).where(of_order, lines.c.plan.is_not(None))
    ).one()
    if plan_years[0] or plan_years[1] is None or plan_years[1] != plan_years[2]:
        return None
    years = int(plan_years[1])
    invoice_rows = session.execute(
        select(
            lines.c.description,
            lines.c.unit_cents,
            lines.c.years,
            func.sum(lines.c.quantity * lines.c.years),
            func.sum(lines.c.total_cents),
            func.count(lines.c.address.distinct()),
            func.count(),
            func.min(mailbox.c.expiry),
            func.max(mailbox.c.expiry),
        )
        .join(mailbox, mailbox.c.id == lines.c.mailbox_id)
        .where(of_order)
        .group_by(lines.c.description, lines.c.unit_cents, lines.c.years)
        .order_by(func.min(lines.c.id))
    ).all()
    invoice: list[InvoiceGroup] = []
    count = 0
    for description, unit, line_years, quantity, total, addresses, n, first, last in invoice_rows:
        count += n
        # min() and max() of a date column come back as text on SQLite.
        old, last = _as_date(first), _as_date(last)
        invoice.append(
            InvoiceGroup(
                description,
                unit,
                line_years,
                int(quantity),
                int(total),
                addresses,
                (old, renewed_expiry(old, years)) if old is not None and old == last else None,
            )
        )
    by_item = tuple(
        ItemGroup(item, line_years, unit, int(quantity))
        for item, line_years, unit, quantity in session.execute(
            select(lines.c.item, lines.c.years, lines.c.unit_cents, func.sum(lines.c.quantity))
            .where(of_order)
            .group_by(lines.c.item, lines.c.years, lines.c.unit_cents)
            .order_by(func.min(lines.c.id))
        )
    )
    mailboxes = session.execute(
        select(func.count(lines.c.address.distinct())).where(of_order)
    ).scalar_one()
    return LinesSummary(count, int(mailboxes), by_item, tuple(invoice))


def _as_date(value: date | str | None) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value


def holder_snapshot(holder: Holder) -> dict[str, Any]:
    """The holder and billing data as confirmed for an order (the invoice must not change)."""
    data = asdict(holder_data(holder))
    data.update(kind=holder.kind, display_name=holder.display_name)
    return data
