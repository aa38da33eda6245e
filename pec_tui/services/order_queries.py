"""Reading orders: find one by number, list them page by page, show one with its lines.

Everything is scoped to the actor: a reseller sees its own orders, a kiosk holder its own,
back office and administrators all of them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Engine, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from pec_tui.db.batches import ID_CHUNK, driver_rows
from pec_tui.db.models import Holder, Mailbox, Order, OrderLine, Payment
from pec_tui.domain.enums import OrderStatus
from pec_tui.domain.money import from_cents
from pec_tui.domain.pricing import LineGroup, price_list_position, stored_line_description
from pec_tui.domain.records import OrderRow
from pec_tui.domain.validation import shown
from pec_tui.i18n import _
from pec_tui.services.actor import Actor
from pec_tui.services.database import FIRST_ORDER_NUMBER
from pec_tui.services.scope import (
    OutOfScope,
    audit_denials,
    owns,
    record_denial,
    scope_mailboxes,
    scope_orders,
)

DEFAULT_PAGE_SIZE = 200


def parse_order_ref(ref: int | str) -> int:
    """An order number or id given as text or int; raises LookupError when it is neither."""
    text = str(ref).strip()
    # ASCII digits, and few enough to be a number the database can hold.
    if not (text.isascii() and text.isdigit() and len(text.lstrip("0")) <= 18):
        raise LookupError(
            _("“{ref}” is not an order number: expected 10 digits, e.g. 1000000000.").format(
                ref=shown(text)
            )
        )
    return int(text)


def confirmed_number(order: Order) -> int:
    """The number of an order past its draft: numbers are given on confirmation."""
    if order.number is None:
        raise ValueError(f"order {order.id} is a draft: it has no number yet")
    return order.number


def _missing_order(value: int) -> str:
    if value >= FIRST_ORDER_NUMBER:
        return _("There is no order no. {number}.").format(number=value)
    return _("Order {id} does not exist.").format(id=value)


def find_order_id(session: Session, ref: int | str) -> int:
    """The id of the order `ref` names: a 10-digit number from 1000000000, else an order id."""
    value = parse_order_ref(ref)
    if value >= FIRST_ORDER_NUMBER:
        order_id = session.exec(select(Order.id).where(Order.number == value)).first()
        if order_id is None:
            raise LookupError(_missing_order(value))
        return order_id
    # Not session.get: the caller may lock the row next, and must then read it fresh.
    if session.exec(select(Order.id).where(Order.id == value)).first() is None:
        raise LookupError(_missing_order(value))
    return value


def load_order(session: Session, actor: Actor, ref: int | str, lock: bool = False) -> Order:
    """The order `ref` names, if the actor may see it (locked FOR UPDATE when `lock`).

    Another reseller's (or holder's) order is refused as if it did not exist (`OutOfScope`).
    """
    order_id = find_order_id(session, ref)
    try:
        return load_own_order(session, actor, order_id, lock=lock)
    except OutOfScope as exc:
        raise OutOfScope(_missing_order(parse_order_ref(ref)), None, "order", ref) from exc


def load_own_order(session: Session, actor: Actor, order_id: int, lock: bool = False) -> Order:
    """Order `order_id`, if the actor may see it (locked FOR UPDATE when `lock`)."""
    order = session.get(Order, order_id, with_for_update=lock)
    if order is None:
        raise LookupError(_missing_order(order_id))
    if not owns(actor, order.reseller_id, order.holder_id):
        raise OutOfScope(_missing_order(order_id), None, "order", order_id)
    return order


def _order_row(order: Order, holder_name: str | None) -> OrderRow:
    snapshot = order.holder_snapshot or {}
    return OrderRow(
        id=order.id,
        number=order.number,
        type=order.type,
        status=order.status,
        created_at=order.confirmed_at or order.created_at,
        holder_id=order.holder_id,
        holder_name=holder_name or snapshot.get("display_name") or snapshot.get("billed_to", ""),
        net=from_cents(order.net_cents),
        vat=from_cents(order.vat_cents),
        gross=from_cents(order.gross_cents),
        years=order.years,
        payment_method=order.payment_method,
        reseller_id=order.reseller_id,
    )


def iter_orders(
    engine: Engine,
    actor: Actor,
    status: OrderStatus | None = None,
    holder: str | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> Iterator[list[OrderRow]]:
    """Confirmed orders (drafts only when `status` asks for them), newest first, in pages.

    `holder` matches the holder's name (any part, any case), codice fiscale or partita IVA.
    """
    last_id: int | None = None
    while True:
        with Session(engine) as session:
            stmt = select(Order, Holder.display_name).outerjoin(
                Holder, col(Holder.id) == Order.holder_id
            )
            stmt = scope_orders(stmt, actor)
            if status is not None:
                stmt = stmt.where(Order.status == status.value)
            else:
                stmt = stmt.where(Order.status != OrderStatus.DRAFT.value)
            if holder:
                text = holder.strip()
                stmt = stmt.where(
                    or_(
                        func.lower(Holder.display_name).contains(text.lower(), autoescape=True),
                        col(Holder.codice_fiscale) == text.upper(),
                        col(Holder.partita_iva) == text.upper().removeprefix("IT"),
                    )
                )
            if last_id is not None:
                stmt = stmt.where(col(Order.id) < last_id)
            rows = session.exec(stmt.order_by(col(Order.id).desc()).limit(page_size)).all()
        if not rows:
            return
        yield [_order_row(order, name) for order, name in rows]
        if len(rows) < page_size:
            return
        last_id = rows[-1][0].id


def list_orders(
    engine: Engine,
    actor: Actor,
    status: OrderStatus | None = None,
    holder: str | None = None,
    limit: int | None = None,
) -> list[OrderRow]:
    """The orders `iter_orders` yields, at most `limit` of them."""
    result: list[OrderRow] = []
    for page in iter_orders(engine, actor, status, holder):
        result.extend(page)
        if limit is not None and len(result) >= limit:
            return result[:limit]
    return result


@dataclass(frozen=True)
class OrderLineRow:
    address: str | None
    item: str
    description: str
    quantity: int
    years: int
    unit: Decimal
    total: Decimal
    plan: str | None
    previous_plan: str | None


@dataclass(frozen=True)
class PaymentRow:
    amount: Decimal
    method: str
    paid_on: date
    reference: str | None
    registered_at: datetime


@dataclass(frozen=True)
class OrderDetail:
    order: OrderRow
    # Every line, or none for a long order read without `all_lines` (then see `groups`).
    lines: tuple[OrderLineRow, ...]
    line_count: int
    groups: tuple[LineGroup, ...]
    payment: PaymentRow | None
    auto_renew: bool
    auto_generated: bool
    signature_kit: str | None
    confirmed_at: datetime | None
    paid_at: datetime | None
    cancelled_at: datetime | None


# Up to this many lines an order's detail lists them; beyond, it sums them up by item
# (`OrderDetail.groups`) and `order_lines` reads them all when asked.
LINES_LISTED = 50


def _line_rows(session: Session, order_id: int) -> tuple[OrderLineRow, ...]:
    """The order's lines in the order they were written, as the driver gives them (an
    order may hold tens of thousands: ORM objects took seconds)."""
    t = OrderLine.__table__
    query = (
        sa_select(
            t.c.address,
            t.c.item,
            t.c.description,
            t.c.quantity,
            t.c.years,
            t.c.unit_cents,
            t.c.total_cents,
            t.c.plan,
            t.c.previous_plan,
        )
        .where(t.c.order_id == order_id)
        .order_by(t.c.id)
    )
    # Tens of thousands of lines share a few descriptions: each is worked out once.
    described = functools.cache(stored_line_description)

    return tuple(
        OrderLineRow(
            address=address,
            item=item,
            description=described(item, description),
            quantity=quantity,
            years=years,
            unit=from_cents(unit),
            total=from_cents(total),
            plan=plan,
            previous_plan=previous,
        )
        for address, item, description, quantity, years, unit, total, plan, previous in (
            driver_rows(session.connection(), query)
        )
    )


def _line_groups(session: Session, order_id: int) -> tuple[LineGroup, ...]:
    """The order's lines summed up by item, unit price and years (one GROUP BY), in
    price-list order (plans, extra space, kits) as Conferma shows them."""
    t = OrderLine.__table__
    rows = session.execute(
        sa_select(
            t.c.item,
            func.min(t.c.description),
            t.c.unit_cents,
            t.c.years,
            func.count(),
            func.sum(t.c.quantity),
            func.sum(t.c.total_cents),
        )
        .where(t.c.order_id == order_id)
        .group_by(t.c.item, t.c.unit_cents, t.c.years)
    ).all()

    return tuple(
        LineGroup(
            stored_line_description(item, description),
            int(count),
            int(quantity),
            int(years),
            from_cents(int(unit)),
            from_cents(int(total)),
        )
        for item, description, unit, years, count, quantity, total in sorted(
            rows, key=lambda row: (price_list_position(row[0]), row[3], row[2])
        )
    )


@audit_denials("order.view")
def order_lines(engine: Engine, actor: Actor, ref: int | str) -> tuple[OrderLineRow, ...]:
    """Every line of an order (for the full list of a long one); LookupError or AccessDenied
    otherwise."""
    with Session(engine) as session:
        order = load_order(session, actor, ref)
        return _line_rows(session, order.id)


@audit_denials("order.view")
def get_order(engine: Engine, actor: Actor, ref: int | str, all_lines: bool = True) -> OrderDetail:
    """One order with its lines and payment; LookupError or AccessDenied otherwise.

    With `all_lines` False, an order of more than `LINES_LISTED` lines comes with its lines
    summed up (`groups`) and none listed: what a screen shows of a reseller's whole book."""
    with Session(engine) as session:
        order = load_order(session, actor, ref)
        holder = session.get(Holder, order.holder_id) if order.holder_id else None
        groups = _line_groups(session, order.id)
        line_count = sum(group.lines for group in groups)
        listed = all_lines or line_count <= LINES_LISTED
        lines = _line_rows(session, order.id) if listed else ()
        payment = session.exec(select(Payment).where(Payment.order_id == order.id)).first()
        return OrderDetail(
            order=_order_row(order, holder.display_name if holder else None),
            lines=lines,
            line_count=line_count,
            groups=groups,
            payment=PaymentRow(
                amount=from_cents(payment.amount_cents),
                method=payment.method,
                paid_on=payment.paid_on,
                reference=payment.reference,
                registered_at=payment.registered_at,
            )
            if payment
            else None,
            auto_renew=order.auto_renew,
            auto_generated=order.auto_generated,
            signature_kit=order.signature_kit,
            confirmed_at=order.confirmed_at,
            paid_at=order.paid_at,
            cancelled_at=order.cancelled_at,
        )


ADDRESS_CHUNK = ID_CHUNK
# A refusal names at most this many of the addresses it could not find.
NAMED_MISSING = 20


def mailbox_ids_by_address(
    engine: Engine,
    actor: Actor,
    addresses: list[str],
    where: Mapping[str, str] | None = None,
) -> list[int]:
    """The ids of the mailboxes named (any case), in the order given; LookupError names the
    addresses the actor has no mailbox for (the first `NAMED_MISSING`, each followed by
    `where[address]` when given, e.g. the line of a file it came from)."""
    wanted = list(dict.fromkeys(a.strip().lower() for a in addresses if a.strip()))
    found: dict[str, int] = {}
    with Session(engine) as session:
        # In chunks: any number of addresses, within every database's limit on parameters.
        for start in range(0, len(wanted), ADDRESS_CHUNK):
            chunk = wanted[start : start + ADDRESS_CHUNK]
            found.update(
                session.exec(
                    scope_mailboxes(select(Mailbox.address, Mailbox.id), actor).where(
                        col(Mailbox.address).in_(chunk)
                    )
                ).all()
            )
        missing = [a for a in wanted if a not in found]
        if not missing:
            return [found[a] for a in wanted]
        elsewhere = session.exec(
            select(Mailbox.address).where(col(Mailbox.address).in_(missing[:ADDRESS_CHUNK]))
        ).all()
    named = [f"{a} ({where[a]})" if where and a in where else a for a in missing[:NAMED_MISSING]]
    listed = ", ".join(named)
    if len(missing) > NAMED_MISSING:
        listed += " " + _("and {count} more").format(count=len(missing) - NAMED_MISSING)
    message = _("No such mailbox: {addresses}.").format(addresses=listed)
    if elsewhere:
        # Another reseller's: the same answer as a missing one, but the attempt is audited.
        asked = elsewhere[0][:64] if len(elsewhere) == 1 else None  # the message names all
        exc = OutOfScope(message, "mailbox.lookup", "mailbox", asked)
        record_denial(engine, actor, exc)
        raise exc
    raise LookupError(message)
