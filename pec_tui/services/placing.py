"""The order pipeline: the one module that creates `Order` rows and places orders.

Every order is a `Draft` placed by `place_order`, whoever asks: a renewal from the flow or the
CLI, a purchase (Acquisto), an automatic renewal of the lifecycle job. In the caller's
transaction it checks the mailboxes, stores the holder data, reserves each mailbox (one open
order per mailbox, held by the `open_renewal` primary key), numbers and prices the order,
writes its lines and consents, records the audit event, queues the Conferma ordine e-mail and
pays with prepaid credit when that is the method and the credit covers it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, NamedTuple, Protocol

from sqlalchemy import ColumnElement, DateTime, Insert, Select, func, insert, literal, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from pec_tui.config import load_settings
from pec_tui.db.batches import DriverDates, driver_rows, in_ids, insert_plain_rows
from pec_tui.db.models import (
    Counter,
    Holder,
    Mailbox,
    OpenRenewal,
    Order,
    OrderLine,
    Reseller,
    utcnow,
)
from pec_tui.domain.draft import (
    Draft,
    PurchaseRefused,
    RenewalRefused,
    Step,
    draft_problems,
    draft_to_json,
)
from pec_tui.domain.enums import OrderStatus, OrderType, PaymentMethod, label
from pec_tui.domain.holder import HolderData, normalise_holder
from pec_tui.domain.lifecycle import renewability_on
from pec_tui.domain.money import from_cents, to_cents
from pec_tui.domain.pricing import MailboxChoice, PriceList, Quote
from pec_tui.domain.pricing import quote as price_quote
from pec_tui.domain.validation import ValidationError
from pec_tui.i18n import _, format_money
from pec_tui.services import audit, notifications, outbox
from pec_tui.services.actor import AccessDenied, Actor
from pec_tui.services.addresses import existing_mailbox_for_purchase, refuse_if_on_order
from pec_tui.services.database import ORDER_NUMBER_COUNTER
from pec_tui.services.mail_render import render_plain
from pec_tui.services.order_lines import ORDER_LINE_COLUMNS, holder_snapshot, order_lines
from pec_tui.services.payments import (
    locked_reseller,
    settle_many_with_credit,
    settle_with_credit,
)
from pec_tui.services.prices import load_price_list
from pec_tui.services.scope import OutOfScope, owns

# The audit event of an order names this many of its mailboxes (the lines hold them all).
AUDIT_ADDRESSES = 100


@dataclass(frozen=True)
class Billing:
    """What the pipeline needs from the settings: where transfers go, who sends the e-mail."""

    iban: str = ""
    beneficiary: str = ""
    mail_from: str | None = None


@dataclass(frozen=True)
class ConfirmedOrder:
    order_id: int
    number: int
    quote: Quote
    payment_method: PaymentMethod
    payment_instructions: str
    email_to: str
    paid: bool
    billed_to: str = ""


# --- order rows --------------------------------------------------------------------------


def new_order(
    session: Session,
    actor: Actor,
    order_type: OrderType,
    holder_id: int | None,
    reseller_id: int | None,
    years: int,
    status: OrderStatus = OrderStatus.DRAFT,
    auto_generated: bool = False,
) -> Order:
    """A new order row (flushed, so it has its id): a draft, or an order being placed."""
    order = Order(
        **_order_values(actor, order_type, holder_id, reseller_id, years, status, auto_generated)
    )
    session.add(order)
    session.flush()
    return order


def _order_values(
    actor: Actor,
    order_type: OrderType,
    holder_id: int | None,
    reseller_id: int | None,
    years: int,
    status: OrderStatus,
    auto_generated: bool,
) -> dict[str, Any]:
    """A new order row's columns (`new_order`, `place_orders`)."""
    return {
        "type": order_type.value,
        "status": status.value,
        "holder_id": holder_id,
        "reseller_id": reseller_id,
        "operator_id": actor.operator_id,
        "terminal": actor.terminal,
        "years": years,
        "auto_generated": auto_generated,
        "kiosk": actor.is_kiosk,
    }


def next_order_number(session: Session) -> int:
    """The next 10-digit order number; the row lock makes it unique under concurrency."""
    return next_order_numbers(session, 1)[0]


def next_order_numbers(session: Session, count: int) -> range:
    """A block of `count` consecutive order numbers, allocated with one update of the counter."""
    result = session.execute(
        update(Counter)
        .where(col(Counter.name) == ORDER_NUMBER_COUNTER)
        .values(value=Counter.value + count)
        .returning(col(Counter.value))
    )
    last = int(result.scalar_one())
    return range(last - count + 1, last + 1)


def payment_instructions(
    method: PaymentMethod, number: int, gross: Decimal, iban: str, beneficiary: str
) -> str:
    amount = format_money(gross)
    if method is PaymentMethod.BANK_TRANSFER:
        return _(
            "Pay {amount} by bank transfer to {beneficiary}, IBAN {iban}, with the order "
            "number {number} as the reason for payment (causale)."
        ).format(amount=amount, beneficiary=beneficiary, iban=iban, number=number)
    if method is PaymentMethod.POSTAL_SLIP:
        return _(
            "Pay {amount} with a postal payment slip to {beneficiary}, writing the order "
            "number {number} as the reason for payment."
        ).format(amount=amount, beneficiary=beneficiary, number=number)
    if method is PaymentMethod.PREPAID_CREDIT:
        return _("{amount} is charged to the reseller's prepaid credit.").format(amount=amount)
    return _(
        "Pay {amount} by {method} from the payment link in the confirmation e-mail "
        "(order {number})."
    ).format(amount=amount, method=label(method), number=number)


def open_order_conflict(session: Session, draft: Draft) -> RenewalRefused | None:
    """The refusal to give when a mailbox of `draft` is already on another open order."""
    by_id = {i.mailbox_id: i.address for i in draft.items if i.mailbox_id is not None}
    if not by_id:
        return None
    dialect = session.get_bind().dialect.name
    rows = session.exec(
        select(OpenRenewal.mailbox_id, Order.number)
        .join(Order, col(Order.id) == OpenRenewal.order_id)
        .where(in_ids(OpenRenewal.__table__.c.mailbox_id, list(by_id), dialect))
        .where(col(OpenRenewal.order_id) != draft.order_id)
        .order_by(col(OpenRenewal.mailbox_id))
    ).first()
    if rows is None:
        return None
    mailbox_id, number = rows
    return _conflict(by_id[mailbox_id], number)


def open_order_conflicts(session: Session, drafts: Sequence[Draft]) -> dict[int, RenewalRefused]:
    """`open_order_conflict` of each of `drafts` (by position) with one query for them all."""
    ids = [i.mailbox_id for d in drafts for i in d.items if i.mailbox_id is not None]
    if not ids:
        return {}
    dialect = session.get_bind().dialect.name
    open_orders = {
        mailbox_id: (order_id, number)
        for mailbox_id, order_id, number in session.exec(
            select(OpenRenewal.mailbox_id, OpenRenewal.order_id, Order.number)
            .join(Order, col(Order.id) == OpenRenewal.order_id)
            .where(in_ids(OpenRenewal.__table__.c.mailbox_id, ids, dialect))
        )
    }
    conflicts = {}
    for index, draft in enumerate(drafts):
        found = sorted(
            (i.mailbox_id, i.address)
            for i in draft.items
            if i.mailbox_id in open_orders and open_orders[i.mailbox_id][0] != draft.order_id
        )
        if found:
            mailbox_id, address = found[0]
            conflicts[index] = _conflict(address, open_orders[mailbox_id][1])
    return conflicts


def _conflict(address: str, number: int | None) -> RenewalRefused:
    return RenewalRefused(
        _("{address} already has an open order, no. {number}: pay or cancel it first.").format(
            address=address, number=number
        )
    )


# --- the pipeline ------------------------------------------------------------------------


class Origin(StrEnum):
    """Who placed the order (kept in the audit event)."""

    OPERATOR = "operator"
    AUTO_RENEWAL = "auto_renewal"


class OwnedMailbox(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def address(self) -> str: ...
    @property
    def holder_id(self) -> int: ...
    @property
    def reseller_id(self) -> int | None: ...


class MailboxFacts(NamedTuple):
    """What ordering a mailbox's renewal needs to know, read as plain rows: a draft may hold
    tens of thousands of mailboxes, too many to load as ORM objects (a tuple each, made
    quicker than a dataclass)."""

    id: int
    address: str
    holder_id: int
    reseller_id: int | None
    expiry: date
    auto_renew: bool
    promo: bool
    plan: str
    extra_mailbox_gb: int
    extra_archive_gb: int
    mailbox_used_mb: int
    archive_used_mb: int
    renewal_years: int
    payment_method: str | None


_FACT_COLUMNS = [Mailbox.__table__.c[name] for name in MailboxFacts._fields]
# `mailbox_facts` makes the 5th to 7th of them Python values (SQLite gives a date as ISO
# text, a boolean as 0 or 1).
assert MailboxFacts._fields[4:7] == ("expiry", "auto_renew", "promo")


def mailbox_facts(session: Session, ids: Sequence[int], lock: bool = False) -> list[MailboxFacts]:
    """The mailboxes `ids` (those that still exist), in no particular order: one statement
    with the ids as one parameter (`in_ids`), a reseller's whole selection at once. `lock`:
    their rows locked for the transaction (in id order, as every writer takes them).

    The rows come as the driver gives them (`driver_rows`): SQLAlchemy's row objects and type
    processing took twice as long as the query for 54,000 mailboxes. A date is made once per
    expiry day (a selection shares a few dozen) and the flags are made booleans."""
    connection = session.connection()
    table = Mailbox.__table__
    query = sa_select(*_FACT_COLUMNS).where(in_ids(table.c.id, ids, connection.dialect.name))
    if lock:
        query = query.order_by(table.c.id).with_for_update()
    rows = driver_rows(connection, query)
    day = DriverDates().__getitem__
    make = MailboxFacts._make
    return [
        make((mailbox_id, address, holder, reseller, day(expiry), bool(auto), bool(promo), *rest))
        for mailbox_id, address, holder, reseller, expiry, auto, promo, *rest in rows
    ]


def check_mailbox_access(actor: Actor, mailbox: OwnedMailbox) -> None:
    """Another reseller's (or holder's) mailbox is refused as if it did not exist."""
    if not owns(actor, mailbox.reseller_id, mailbox.holder_id):
        raise OutOfScope(
            _("{address} no longer exists.").format(address=mailbox.address),
            None,
            "mailbox",
            mailbox.id,
        )


def all_renewable(
    actor: Actor, mailboxes: Sequence[MailboxFacts], today: date, origin: Origin = Origin.OPERATOR
) -> bool:
    """Whether the actor may renew every one of `mailboxes` today (not whether another order
    holds one): checked once per owner and once per expiry day, not per mailbox. When False,
    the per-mailbox checks say which one and why."""
    if not all(owns(actor, r, h) for r, h in {(m.reseller_id, m.holder_id) for m in mailboxes}):
        return False
    verdict_of = renewability_on(today)
    # The job renews precisely the mailboxes whose automatic renewal is on.
    ignore_auto_renew = origin is Origin.AUTO_RENEWAL
    days = {(m.expiry, m.auto_renew and not ignore_auto_renew) for m in mailboxes}
    return all(verdict_of(expiry, auto_renew).allowed for expiry, auto_renew in days)


def refuse_unrenewable(actor: Actor, mailboxes: Sequence[MailboxFacts], today: date) -> None:
    """A renewal is refused if the actor may not renew one of `mailboxes` today: another
    reseller's mailbox as if it did not exist, else the first unrenewable one and why."""
    if all_renewable(actor, mailboxes, today):
        return
    verdict_of = renewability_on(today)
    for mailbox in mailboxes:
        try:
            check_mailbox_access(actor, mailbox)
        except OutOfScope as exc:  # as if missing, like the selection's refusal says
            raise OutOfScope(
                _("Some of the selected mailboxes no longer exist."), None, "mailbox", mailbox.id
            ) from exc
        verdict = verdict_of(mailbox.expiry, mailbox.auto_renew)
        if not verdict.allowed:
            raise RenewalRefused(f"{mailbox.address}: {verdict.reason}")


def _renewal_targets(
    session: Session,
    actor: Actor,
    draft: Draft,
    today: date,
    origin: Origin,
    facts: Mapping[int, MailboxFacts] | None = None,
) -> list[MailboxFacts]:
    if facts is None:
        ids = [i.mailbox_id for i in draft.items if i.mailbox_id is not None]
        facts = {m.id: m for m in mailbox_facts(session, ids)}
    found = facts
    listed = [found.get(i.mailbox_id) if i.mailbox_id is not None else None for i in draft.items]
    present = [m for m in listed if m is not None]
    if len(present) == len(listed) and all_renewable(actor, present, today, origin):
        return present
    # Something is refused: which mailbox first, in the draft's order, and why.
    mailboxes = []
    verdict_of = renewability_on(today)
    for item in draft.items:
        mailbox = found.get(item.mailbox_id) if item.mailbox_id is not None else None
        if mailbox is None:
            raise RenewalRefused(_("{address} no longer exists.").format(address=item.address))
        check_mailbox_access(actor, mailbox)
        auto_renew = mailbox.auto_renew and origin is not Origin.AUTO_RENEWAL
        verdict = verdict_of(mailbox.expiry, auto_renew)
        if not verdict.allowed:
            raise RenewalRefused(f"{mailbox.address}: {verdict.reason}")
        mailboxes.append(mailbox)
    return mailboxes


def _purchase_targets(
    session: Session, actor: Actor, draft: Draft, today: date
) -> tuple[Holder, list[Mailbox]]:
    """The buying holder and the cancelled mailboxes it buys back (new addresses have none)."""
    holder_id = draft.holder.holder_id if draft.holder else None
    holder = session.get(Holder, holder_id) if holder_id is not None else None
    if holder is None:
        raise LookupError(_("The holder no longer exists."))
    if (actor.holder_id is not None and holder.id != actor.holder_id) or (
        actor.reseller_id is not None and holder.reseller_id != actor.reseller_id
    ):
        raise AccessDenied(_("This holder does not belong to you."))
    again = []
    for item in draft.items:
        existing = existing_mailbox_for_purchase(session, holder, item.address, today, lock=True)
        refuse_if_on_order(session, item.address)
        if existing is not None:
            again.append(existing)
    return holder, again


def _apply_holder(session: Session, actor: Actor, data: HolderData) -> Holder:
    """Store the holder data confirmed in the flow, refusing to overwrite another change."""
    holder = session.get(Holder, data.holder_id, with_for_update=True)
    if holder is None:
        raise RenewalRefused(_("The holder no longer exists."))
    if holder.version != data.version:
        raise RenewalRefused(
            _("Another terminal changed this holder's data meanwhile: reload and check it.")
        )
    changed = {}
    for f in fields(HolderData):
        if f.name in ("holder_id", "version"):
            continue
        new = getattr(data, f.name)
        new = new.value if isinstance(new, StrEnum) else new
        if getattr(holder, f.name) != new:
            changed[f.name] = {"old": getattr(holder, f.name), "new": new}
            setattr(holder, f.name, new)
    if changed:
        holder.display_name = data.display_name
        holder.version += 1
        holder.updated_at = utcnow()
        session.add(holder)
        audit.record(session, actor, "holder.update", "holder", holder.id, changed)
    return holder


def _problems(draft: Draft, actor: Actor, origin: Origin, checked: bool = False) -> list[str]:
    problems = (
        [] if checked else draft_problems(draft, check_holder=origin is not Origin.AUTO_RENEWAL)
    )
    if actor.is_kiosk and draft.payment_method is PaymentMethod.PREPAID_CREDIT:
        # The reseller's credit is the reseller's to spend, never a walk-in customer's.
        problems.append(_("The reseller's prepaid credit cannot be used from a kiosk."))
    return problems


def _checked_method(
    draft: Draft, actor: Actor, origin: Origin, checked: bool = False
) -> PaymentMethod:
    """The draft's payment method once `_problems` finds nothing (else its refusal);
    `checked`: the caller found no `draft_problems` in it (or in the draft it is part of)."""
    problems = _problems(draft, actor, origin, checked)
    if problems:
        refusal = PurchaseRefused if draft.is_purchase else RenewalRefused
        raise refusal("\n".join(problems))
    method = draft.payment_method
    assert method is not None  # draft_problems refuses a draft without one
    return method


def place_order(
    session: Session,
    actor: Actor,
    draft: Draft,
    today: date,
    billing: Billing,
    order: Order | None = None,
    origin: Origin = Origin.OPERATOR,
    prices: PriceList | None = None,
    facts: Mapping[int, MailboxFacts] | None = None,
    checked: bool = False,
) -> ConfirmedOrder:
    """Place `draft` as an order awaiting payment (paid at once with enough prepaid credit).

    `order` is the draft's own row, locked by the caller; without it a new row is made. Runs in
    the caller's transaction: RenewalRefused (or AccessDenied, LookupError) leaves it to be
    rolled back; `prices` saves a batch job reading the price list for every order, `facts`
    re-reading mailboxes read in this transaction (`mailbox_facts`); `checked` that the
    caller found no `draft_problems` in the draft, or in the draft it is a part of (a pass
    over tens of thousands of items, not made twice). An IntegrityError means a mailbox was
    reserved meanwhile by another order (`open_order_conflict` says which).
    """
    method = _checked_method(draft, actor, origin, checked)
    if order is not None and order.status != OrderStatus.DRAFT.value:
        raise RenewalRefused(_("This order has already been confirmed or discarded."))

    reserved, reseller_id = _reserved_mailboxes(session, actor, draft, today, origin, facts)
    holder_row = _holder_for(session, actor, draft, origin)
    if order is None:
        order = new_order(
            session,
            actor,
            draft.order_type,
            holder_row.id if holder_row else None,
            reseller_id,
            draft.years,
            OrderStatus.AWAITING_PAYMENT,
            auto_generated=origin is Origin.AUTO_RENEWAL,
        )

    choices = draft.choices()
    q = price_quote(prices or load_price_list(session), choices, draft.years, draft.kit)
    order.number = next_order_number(session)
    _fill_confirmed(order, draft, q, actor, holder_row, reseller_id, method)
    session.add(order)
    # Plain rows in bulk (COPY on PostgreSQL): no ORM objects, no ids read back.
    insert_plain_rows(
        session.connection(),
        OrderLine.__table__,
        ORDER_LINE_COLUMNS,
        order_lines(order.id, q, choices),
    )
    if reserved:
        _reserve(session, order.id, len(reserved))
    _audit_confirmation(session, actor, order, draft, q, origin)
    instructions = payment_instructions(
        method, order.number, q.gross, billing.iban, billing.beneficiary
    )
    paid = method is PaymentMethod.PREPAID_CREDIT and _pay_with_credit(
        session, actor, order, today, billing
    )
    name, email_to = _recipient(session, draft, holder_row, order.reseller_id)
    if not (paid and origin is Origin.AUTO_RENEWAL):
        # An automatic renewal paid at once needs no order e-mail: Rinnovo completato says all.
        notifications.queue_order_confirmation(
            session,
            order,
            q,
            name,
            email_to,
            instructions,
            billing.mail_from,
            auto_renewal=draft.items[0] if origin is Origin.AUTO_RENEWAL else None,
        )
    return ConfirmedOrder(
        order_id=order.id,
        number=order.number,
        quote=q,
        payment_method=method,
        payment_instructions=instructions,
        email_to=email_to,
        paid=paid,
        billed_to=name,
    )


# --- many orders at once -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Checked:
    """A draft of `place_orders` that passed the checks, priced, with its order row to be."""

    index: int
    draft: Draft
    method: PaymentMethod
    quote: Quote
    choices: tuple[MailboxChoice, ...]
    holder: Holder | None
    # The order row's columns (`_order_values`, `_confirmed_values`), its number once given.
    row: dict[str, Any]
    # To be paid with credit, which does not cover it: the reseller's balance.
    credit_short: int | None = None
    # An automatic renewal the reseller's credit pays at once (`settle_many_with_credit`).
    paid: bool = False


def place_orders(
    session: Session,
    actor: Actor,
    drafts: Sequence[Draft],
    today: date,
    billing: Billing,
    prices: PriceList,
    origin: Origin = Origin.AUTO_RENEWAL,
    facts: Mapping[int, MailboxFacts] | None = None,
) -> list[ConfirmedOrder | Exception]:
    """Place many renewal drafts as new orders, each as `place_order` places one, with one
    statement per table for them all (the lifecycle job's automatic renewals).

    Runs in the caller's transaction and applies `place_order`'s checks to each draft
    (`_checked_method`, `_reserved_mailboxes`, `open_order_conflicts` read for all at once):
    a draft refused gets its exception in its place in the result, the others their
    `ConfirmedOrder`. Their numbers are one block (`next_order_numbers`); their orders, lines,
    reservations, audit events (a credit payment refused for want of credit included) and
    e-mails go in with one multi-row INSERT each. Each reseller's credit is read (and
    locked) once: an automatic renewal it covers is paid at once, with the others it covers
    (`payments.settle_many_with_credit`: their payments, invoices numbered in the drafts'
    order, Rinnovo completato e-mails), the credit it spends gone for the next draft. A
    draft paid with credit from another origin, or that buys mailboxes, goes through
    `place_order` itself in a savepoint of its own, in its turn. An IntegrityError of the
    bulk statements (a mailbox reserved meanwhile by another transaction), or a
    PaymentRefused of the payments, leaves the transaction to be rolled back, as
    `place_order`'s does.
    """
    if facts is None:
        ids = [i.mailbox_id for d in drafts for i in d.items if i.mailbox_id is not None]
        facts = {m.id: m for m in mailbox_facts(session, ids)}
    results: list[ConfirmedOrder | Exception | None] = [None] * len(drafts)
    conflicts = open_order_conflicts(session, drafts)
    checked: list[_Checked] = []
    now = utcnow()
    # Each reseller's prepaid credit, read (and locked) once until a payment spends some.
    credit: dict[int | None, int | None] = {}
    for index, draft in enumerate(drafts):
        try:
            if index in conflicts:
                raise conflicts[index]
            method = _checked_method(draft, actor, origin)
            if draft.is_purchase:
                credit.clear()  # it may pay with credit
                results[index] = _place_alone(session, actor, draft, today, billing, origin, prices)
                continue
            _reserved, reseller_id = _reserved_mailboxes(
                session, actor, draft, today, origin, facts
            )
            holder_row = _holder_for(session, actor, draft, origin)
            choices = tuple(draft.choices())
            q = price_quote(prices, choices, draft.years, draft.kit)
            balance = None
            pay = False
            if method is PaymentMethod.PREPAID_CREDIT:
                if reseller_id not in credit:
                    reseller = locked_reseller(session, reseller_id)
                    credit[reseller_id] = reseller.credit_cents if reseller else None
                balance = credit[reseller_id]
                if balance is not None and balance >= to_cents(q.gross):
                    if origin is not Origin.AUTO_RENEWAL:
                        # Paid at once by `place_order`; the credit it spent (if its
                        # savepoint held) is read again for the next.
                        del credit[reseller_id]
                        results[index] = _place_alone(
                            session, actor, draft, today, billing, origin, prices, facts
                        )
                        continue
                    # Paid at once with the batch (`settle_many_with_credit`).
                    credit[reseller_id] = balance - to_cents(q.gross)
                    pay = True
                else:
                    balance = balance or 0
        except Exception as exc:  # refused (or its savepoint failed): the others go on
            results[index] = exc
            continue
        row = _order_values(
            actor,
            draft.order_type,
            holder_row.id if holder_row else None,
            reseller_id,
            draft.years,
            OrderStatus.AWAITING_PAYMENT,
            auto_generated=origin is Origin.AUTO_RENEWAL,
        )
        row.update(_confirmed_values(draft, q, actor, holder_row, reseller_id, method, now))
        checked.append(
            _Checked(
                index, draft, method, q, choices, holder_row, row, None if pay else balance, pay
            )
        )
    if checked:
        _write_orders(session, actor, checked, billing, origin, results, today)
    return [r if r is not None else RuntimeError("not placed") for r in results]


def _place_alone(
    session: Session,
    actor: Actor,
    draft: Draft,
    today: date,
    billing: Billing,
    origin: Origin,
    prices: PriceList,
    facts: Mapping[int, MailboxFacts] | None = None,
) -> ConfirmedOrder:
    """`place_order` for one draft of `place_orders`, in a savepoint of its own."""
    with session.begin_nested():
        return place_order(session, actor, draft, today, billing, None, origin, prices, facts)


def _write_orders(
    session: Session,
    actor: Actor,
    checked: Sequence[_Checked],
    billing: Billing,
    origin: Origin,
    results: list[ConfirmedOrder | Exception | None],
    today: date,
) -> None:
    """`place_orders`' rows of the drafts `checked`: one INSERT per table; then the payments
    of those the credit pays at once, together (`settle_many_with_credit`)."""
    connection = session.connection()
    dialect = connection.dialect.name
    numbers = next_order_numbers(session, len(checked))
    for item, number in zip(checked, numbers, strict=True):
        item.row.update(number=number, created_at=item.row["confirmed_at"])
    session.execute(insert(Order.__table__), [c.row for c in checked])
    orders = Order.__table__.c
    ids = {
        number: order_id
        for number, order_id in session.execute(
            sa_select(orders.number, orders.id).where(
                orders.number.between(numbers[0], numbers[-1])
            )
        )
    }
    placed = [_PlacedOrder.of(ids[c.row["number"]], c.row) for c in checked]
    insert_plain_rows(
        connection,
        OrderLine.__table__,
        ORDER_LINE_COLUMNS,
        [
            row
            for c, order in zip(checked, placed, strict=True)
            for row in order_lines(order.id, c.quote, c.choices)
        ],
    )
    lines = OrderLine.__table__
    session.execute(
        _reservations(
            sa_select(lines.c.mailbox_id, lines.c.order_id, _now_literal()).where(
                in_ids(lines.c.order_id, [order.id for order in placed], dialect)
            )
        )
    )
    audit.record_many(
        session,
        actor,
        "order.confirm",
        "order",
        [
            (order.id, _confirmation_details(actor, order.number, c.draft, c.quote, origin))
            for c, order in zip(checked, placed, strict=True)
        ],
    )
    audit.record_many(
        session,
        actor,
        "payment.credit",
        "order",
        [
            (order.id, _credit_refused_details(order.number, order.gross_cents, c.credit_short))
            for c, order in zip(checked, placed, strict=True)
            if c.credit_short is not None
        ],
        outcome="refused",
    )
    mail_from = billing.mail_from or load_settings().mail_from
    mails = []
    for c, order in zip(checked, placed, strict=True):
        instructions = payment_instructions(
            c.method, order.number, c.quote.gross, billing.iban, billing.beneficiary
        )
        name, email_to = _recipient(session, c.draft, c.holder, order.reseller_id)
        # An automatic renewal paid at once needs no order e-mail: Rinnovo completato says all.
        if email_to and not c.paid:
            subject, body = notifications.order_confirmation_text(
                order,
                c.quote,
                name,
                instructions,
                auto_renewal=c.draft.items[0] if origin is Origin.AUTO_RENEWAL else None,
            )
            mails.append(
                outbox.rendered_row(
                    render_plain(email_to, subject, body, mail_from),
                    "order_confirmation",
                    order_id=order.id,
                )
            )
        results[c.index] = ConfirmedOrder(
            order_id=order.id,
            number=order.number,
            quote=c.quote,
            payment_method=c.method,
            payment_instructions=instructions,
            email_to=email_to,
            paid=c.paid,
            billed_to=name,
        )
    outbox.enqueue_many(session, mails)
    paid = [order.id for c, order in zip(checked, placed, strict=True) if c.paid]
    if paid:
        settle_many_with_credit(session, actor, paid, today, billing.mail_from)


@dataclass(frozen=True)
class _PlacedOrder:
    """An order `place_orders` wrote: its row's columns, read back as attributes (what the
    e-mail and the audit event print of it, as of an `Order`)."""

    id: int
    number: int
    type: str
    reseller_id: int | None
    confirmed_at: datetime
    net_cents: int
    vat_cents: int
    gross_cents: int

    @classmethod
    def of(cls, order_id: int, row: Mapping[str, Any]) -> _PlacedOrder:
        return cls(order_id, *(row[f.name] for f in fields(cls)[1:]))


def _reserve(session: Session, order_id: int, expected: int) -> None:
    """One open order per mailbox: an `open_renewal` row for each mailbox the order's plan
    lines name, in one statement; a mailbox already on another order fails the insert
    (IntegrityError), and with it the transaction."""
    lines = OrderLine.__table__
    session.execute(
        _reservations(
            sa_select(lines.c.mailbox_id, literal(order_id), _now_literal()).where(
                lines.c.order_id == order_id
            )
        )
    )


def _now_literal() -> ColumnElement[datetime]:
    return literal(utcnow(), DateTime())


def _reservations(lines_select: Select[Any]) -> Insert:
    """`open_renewal` rows from the plan lines `lines_select` (mailbox id, order id, time)
    picks: each line naming a mailbox and its plan reserves that mailbox."""
    lines = OrderLine.__table__
    return OpenRenewal.__table__.insert().from_select(
        ["mailbox_id", "order_id", "created_at"],
        lines_select.where(lines.c.mailbox_id.is_not(None))
        .where(lines.c.plan.is_not(None))
        # In key order: the primary key's index grows at one end, not all over.
        .order_by(lines.c.mailbox_id),
    )


def _reserved_mailboxes(
    session: Session,
    actor: Actor,
    draft: Draft,
    today: date,
    origin: Origin,
    facts: Mapping[int, MailboxFacts] | None = None,
) -> tuple[list[int], int | None]:
    """The ids of the mailboxes the order reserves, and the reseller the order belongs to."""
    if draft.is_purchase:
        buyer, again = _purchase_targets(session, actor, draft, today)
        return [m.id for m in again], buyer.reseller_id
    if facts is None:
        checked = _renewal_summary(session, actor, draft, today, origin)
        if checked is not None:
            return checked
    renewed = _renewal_targets(session, actor, draft, today, origin, facts)
    return [m.id for m in renewed], renewed[0].reseller_id if renewed else None


def _renewal_summary(
    session: Session, actor: Actor, draft: Draft, today: date, origin: Origin
) -> tuple[list[int], int | None] | None:
    """`_reserved_mailboxes` of a renewal whose mailboxes all pass `_renewal_targets`' checks,
    from their count per owner, expiry day and auto-renew flag (one grouped query: a few
    dozen rows for a reseller's 54,000 mailboxes, none of them made in Python); None when
    the checks must run mailbox by mailbox, to say which one is refused and why, or which
    of several resellers the order is for."""
    ids = [i.mailbox_id for i in draft.items if i.mailbox_id is not None]
    if not ids or len(ids) != len(draft.items) or len(set(ids)) != len(ids):
        return None
    connection = session.connection()
    m = Mailbox.__table__.c
    # A kiosk holder may renew only its own mailboxes: then the holder counts as well.
    by_holder = actor.holder_id is not None
    keys = [m.expiry, m.auto_renew, m.reseller_id, *([m.holder_id] if by_holder else [])]
    groups = session.execute(
        sa_select(func.count(), *keys)
        .where(in_ids(m.id, ids, connection.dialect.name))
        .group_by(*keys)
    ).all()
    if sum(group[0] for group in groups) != len(ids):
        return None  # one is gone
    resellers = {group[3] for group in groups}
    if len(resellers) != 1:
        return None
    verdict_of = renewability_on(today)
    for _count, expiry, auto_renew, reseller_id, *holder in groups:
        if not owns(actor, reseller_id, holder[0] if by_holder else None):
            return None
        if not verdict_of(expiry, bool(auto_renew) and origin is not Origin.AUTO_RENEWAL).allowed:
            return None
    return ids, resellers.pop()


def _fill_confirmed(
    order: Order,
    draft: Draft,
    q: Quote,
    actor: Actor,
    holder_row: Holder | None,
    reseller_id: int | None,
    method: PaymentMethod,
) -> None:
    """Write the confirmed draft's choices, totals and consents on the order row."""
    for name, value in _confirmed_values(
        draft, q, actor, holder_row, reseller_id, method, utcnow()
    ).items():
        setattr(order, name, value)


def _confirmed_values(
    draft: Draft,
    q: Quote,
    actor: Actor,
    holder_row: Holder | None,
    reseller_id: int | None,
    method: PaymentMethod,
    now: datetime,
) -> dict[str, Any]:
    """The confirmed draft's choices, totals and consents: the columns of its order row."""
    return {
        # A draft across resellers becomes this part's order: its holder and reseller only.
        "holder_id": holder_row.id if holder_row else None,
        "reseller_id": reseller_id,
        "status": OrderStatus.AWAITING_PAYMENT.value,
        "confirmed_at": now,
        "updated_at": now,
        "years": draft.years,
        "payment_method": method.value,
        "auto_renew": draft.auto_renew,
        "signature_kit": draft.kit.value if draft.kit else None,
        "net_cents": to_cents(q.net),
        "vat_cents": to_cents(q.vat),
        "gross_cents": to_cents(q.gross),
        "consent_terms_at": now,
        "consent_clauses_at": now,
        "consent_privacy_at": now,
        "consent_terms_by": actor.name,
        "consent_clauses_by": actor.name,
        "consent_privacy_by": actor.name,
        "holder_snapshot": (
            holder_snapshot(holder_row) if holder_row else {"billed_to": draft.billed_to}
        ),
        "draft_state": draft_to_json(replace(draft, step=Step.DONE)),
        # No longer a draft: nobody holds it.
        "lease_holder": None,
        "lease_until": None,
    }


def _audit_confirmation(
    session: Session, actor: Actor, order: Order, draft: Draft, q: Quote, origin: Origin
) -> None:
    audit.record(
        session,
        actor,
        "order.confirm",
        "order",
        order.id,
        _confirmation_details(actor, order.number, draft, q, origin),
    )


def _confirmation_details(
    actor: Actor, number: int | None, draft: Draft, q: Quote, origin: Origin
) -> dict[str, object]:
    """What the audit event of an order's confirmation says."""
    return {
        "number": number,
        "type": draft.order_type.value,
        "origin": origin.value,
        "gross": str(q.gross),
        "consents": {"terms": True, "clauses": True, "privacy": True, "by": actor.name},
        "mailbox_count": len(draft.items),
        # The order lines list them all; the audit keeps the first ones for reading.
        "mailboxes": [i.address for i in draft.items[:AUDIT_ADDRESSES]],
    }


def _holder_for(session: Session, actor: Actor, draft: Draft, origin: Origin) -> Holder | None:
    if draft.holder is None:
        return None
    if origin is Origin.AUTO_RENEWAL:
        # The job orders for the holder as stored; it never edits the holder's data.
        return session.get(Holder, draft.holder.holder_id)
    try:
        return _apply_holder(session, actor, normalise_holder(draft.holder))
    except ValidationError as exc:
        raise RenewalRefused(exc.message) from exc


def _pay_with_credit(
    session: Session, actor: Actor, order: Order, today: date, billing: Billing
) -> bool:
    """Pay with the reseller's credit in this transaction; False (audited) when it falls short."""
    if settle_with_credit(session, actor, order, today, billing.mail_from) is not None:
        return True
    reseller = session.get(Reseller, order.reseller_id) if order.reseller_id else None
    audit.record(
        session,
        actor,
        "payment.credit",
        "order",
        order.id,
        _credit_refused_details(
            order.number, order.gross_cents, reseller.credit_cents if reseller else 0
        ),
        outcome="refused",
    )
    return False


def _credit_refused_details(
    number: int | None, gross_cents: int, balance_cents: int
) -> dict[str, object]:
    """What the audit event of a credit payment refused for want of credit says."""
    return {
        "number": number,
        "gross": str(from_cents(gross_cents)),
        "balance": str(from_cents(balance_cents)),
    }


def _recipient(
    session: Session, draft: Draft, holder: Holder | None, reseller_id: int | None
) -> tuple[str, str]:
    """(name, e-mail address) the order's e-mails go to: the holder, else the reseller."""
    if holder is not None:
        return holder.display_name, holder.reference_email or ""
    reseller = session.get(Reseller, reseller_id) if reseller_id else None
    return draft.billed_to, (reseller.email if reseller and reseller.email else "")
