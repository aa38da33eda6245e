"""What an order stores besides its totals: its priced lines and the holder as invoiced.

Written by the order pipeline (`services.placing`); the e-mails print the same descriptions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from pec_tui.db.models import Holder, OrderLine
from pec_tui.domain.money import to_cents
from pec_tui.domain.pricing import MailboxChoice, Quote, QuoteLine, item_description
from pec_tui.services.holders import holder_data


def line_description(line: QuoteLine) -> str:
    """`PEC PRO` for a plan, the item's label for the rest (extra GB, kits)."""
    return item_description(line.item)


def order_lines(
    order_id: int, quote: Quote, choices: Sequence[MailboxChoice]
) -> list[dict[str, Any]]:
    """The quote's lines as `order_line` rows (for one bulk INSERT); a mailbox's plan line
    carries what the mailbox becomes once paid."""
    by_address = {choice.address: choice for choice in choices}
    rows = []
    for line in quote.lines:
        choice = by_address.get(line.address) if line.address else None
        # The mailbox's plan line carries its choice; other lines carry none.
        plan_choice = (
            choice if choice is not None and line.item.value == choice.plan.value else None
        )
        rows.append(
            dict(
                order_id=order_id,
                mailbox_id=line.mailbox_id,
                address=line.address,
                item=line.item.value,
                description=line_description(line),
                quantity=line.quantity,
                years=line.years,
                unit_cents=to_cents(line.unit),
                total_cents=to_cents(line.total),
                plan=plan_choice.plan.value if plan_choice is not None else None,
                previous_plan=(
                    plan_choice.previous_plan.value
                    if plan_choice is not None and plan_choice.previous_plan is not None
                    else None
                ),
                extra_mailbox_gb=plan_choice.extra_mailbox_gb if plan_choice is not None else 0,
                extra_archive_gb=plan_choice.extra_archive_gb if plan_choice is not None else 0,
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
