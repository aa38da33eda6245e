"""What an order stores besides its totals: its priced lines and the holder as invoiced.

Written by the order pipeline (`services.placing`); the e-mails print the same descriptions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from pec_tui.db.batches import driver_rows
from pec_tui.db.models import Holder, OrderLine
from pec_tui.domain.enums import Plan, PriceItem
from pec_tui.domain.holder import HolderData
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
    """An order's lines summed up, for an order too long to handle line by line (an order
    may hold tens of thousands): each kind of group in the order its first line was
    written."""

    lines: int
    # Distinct addresses over every line.
    mailboxes: int
    by_item: tuple[ItemGroup, ...]
    invoice: tuple[InvoiceGroup, ...]


def renewal_lines_summary(
    session: Session, order_id: int, old_expiries: Mapping[int, date]
) -> LinesSummary | None:
    """The lines of renewal `order_id` summed up, with `old_expiries` (each renewed
    mailbox's expiry before the payment, by id, as the payment read and locked them): an
    invoice group's period runs from its mailboxes' old expiry to the renewed one.

    One read of the lines as the driver gives them, summed up here (`summed_renewal_lines`):
    four GROUP BY statements over the lines joined to their mailboxes took longer."""
    lines = OrderLine.__table__
    rows = driver_rows(
        session.connection(),
        select(*(lines.c[name] for name in SUMMED_COLUMNS))
        .where(lines.c.order_id == order_id)
        .order_by(lines.c.id),
    )
    return summed_renewal_lines(rows, old_expiries)


# The columns of the lines `summed_renewal_lines` sums up, in their order: mailbox_id,
# address, item, description, quantity, years, unit_cents, total_cents, plan.
SUMMED_COLUMNS = ORDER_LINE_COLUMNS[
    ORDER_LINE_COLUMNS.index("mailbox_id") : ORDER_LINE_COLUMNS.index("plan") + 1
]


def summed_renewal_lines(
    rows: Sequence[Sequence[Any]], old_expiries: Mapping[int, date]
) -> LinesSummary | None:
    """A renewal's lines (`SUMMED_COLUMNS`, in the order they were written) summed up: by
    description, price and years for the invoice, by item, price and years for the e-mail,
    each group in the order of its first line.

    None, for the caller to read the lines one by one, unless every line names a mailbox
    with a plan line in the order and every plan line renews for the same years (as the
    order pipeline writes them): a line's period is its mailbox's, found by address
    otherwise (`invoices.invoice_lines`)."""
    covered: set[int] = set()
    plan_years: set[int] = set()
    for mailbox_id, _address, _item, _description, _quantity, years, _unit, _total, plan in rows:
        if plan is not None:
            covered.add(mailbox_id)
            plan_years.add(years)
    if len(plan_years) != 1 or None in covered or any(row[0] not in covered for row in rows):
        return None
    [years] = plan_years
    # (description, unit, years) -> [quantity × years, total, addresses, old expiries]
    invoice: dict[tuple[str, int, int], list[Any]] = {}
    by_item: dict[tuple[str, int, int], int] = {}
    addresses: set[str | None] = set()
    for mailbox_id, address, item, description, quantity, line_years, unit, total, _ in rows:
        group = invoice.get((description, unit, line_years))
        if group is None:
            group = invoice[description, unit, line_years] = [0, 0, set(), set()]
        group[0] += quantity * line_years
        group[1] += total
        group[2].add(address)
        group[3].add(old_expiries[mailbox_id])
        key = (item, line_years, unit)
        by_item[key] = by_item.get(key, 0) + quantity
        addresses.add(address)
    groups = []
    for (description, unit, line_years), (quantity, total, named, olds) in invoice.items():
        old = next(iter(olds)) if len(olds) == 1 else None
        groups.append(
            InvoiceGroup(
                description,
                int(unit),
                int(line_years),
                int(quantity),
                int(total),
                len(named - {None}),  # as COUNT(DISTINCT address): a line may have none
                (old, renewed_expiry(old, years)) if old is not None else None,
            )
        )
    return LinesSummary(
        len(rows),
        len(addresses - {None}),
        tuple(
            ItemGroup(item, int(line_years), int(unit), int(quantity))
            for (item, line_years, unit), quantity in by_item.items()
        ),
        tuple(groups),
    )


_SNAPSHOT_FIELDS = tuple(f.name for f in fields(HolderData))


def holder_snapshot(holder: Holder) -> dict[str, Any]:
    """The holder and billing data as confirmed for an order (the invoice must not change).

    `HolderData` holds only texts, numbers, a flag and its kind: its fields are taken as they
    are, which is what `asdict` gives, without its deep copy of each (the lifecycle job
    snapshots tens of thousands of holders)."""
    data = holder_data(holder)
    snapshot = {name: getattr(data, name) for name in _SNAPSHOT_FIELDS}
    snapshot.update(kind=holder.kind, display_name=holder.display_name)
    return snapshot
