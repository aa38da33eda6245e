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
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple, Protocol

from sqlalchemy import DateTime, literal, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from pec_tui.db.batches import in_ids, insert_plain_rows
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
from pec_tui.domain.pricing import PriceList, Quote
from pec_tui.domain.pricing import quote as price_quote
from pec_tui.domain.validation import ValidationError
from pec_tui.i18n import _, format_money
from pec_tui.services import audit, notifications
from pec_tui.services.actor import AccessDenied, Actor
from pec_tui.services.addresses import existing_mailbox_for_purchase, refuse_if_on_order
from pec_tui.services.database import ORDER_NUMBER_COUNTER
from pec_tui.services.order_lines import ORDER_LINE_COLUMNS, holder_snapshot, order_lines
from pec_tui.services.payments import settle_with_credit
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
        type=order_type.value,
        status=status.value,
        holder_id=holder_id,
        reseller_id=reseller_id,
        operator_id=actor.operator_id,
        terminal=actor.terminal,
        years=years,
        auto_generated=auto_generated,
        kiosk=actor.is_kiosk,
    )
    session.add(order)
    session.flush()
    return order


def next_order_number(session: Session) -> int:
    """The next 10-digit order number; the row lock makes it unique under concurrency."""
    result = session.execute(
        update(Counter)
        .where(col(Counter.name) == ORDER_NUMBER_COUNTER)
        .values(value=Counter.value + 1)
        .returning(col(Counter.value))
    )
    return int(result.scalar_one())


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
    return RenewalRefused(
        _("{address} already has an open order, no. {number}: pay or cancel it first.").format(
            address=by_id[mailbox_id], number=number
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


def mailbox_facts(session: Session, ids: Sequence[int]) -> list[MailboxFacts]:
    """The mailboxes `ids` (those that still exist), in no particular order: one statement
    with the ids as one parameter (`in_ids`), a reseller's whole selection at once."""
    dialect = session.get_bind().dialect.name
    rows = session.execute(
        sa_select(*_FACT_COLUMNS).where(in_ids(Mailbox.__table__.c.id, ids, dialect))
    ).all()  # one fetch of every row, not one call per row
    return list(map(MailboxFacts._make, rows))


def check_mailbox_access(actor: Actor, mailbox: OwnedMailbox) -> None:
    """Another reseller's (or holder's) mailbox is refused as if it did not exist."""
    if not owns(actor, mailbox.reseller_id, mailbox.holder_id):
        raise OutOfScope(
            _("{address} no longer exists.").format(address=mailbox.address),
            None,
            "mailbox",
            mailbox.id,
        )


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
    mailboxes = []
    verdict_of = renewability_on(today)
    for item in draft.items:
        mailbox = found.get(item.mailbox_id) if item.mailbox_id is not None else None
        if mailbox is None:
            raise RenewalRefused(_("{address} no longer exists.").format(address=item.address))
        check_mailbox_access(actor, mailbox)
        # The job renews precisely the mailboxes whose automatic renewal is on.
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


def _problems(draft: Draft, actor: Actor, origin: Origin) -> list[str]:
    problems = draft_problems(draft, check_holder=origin is not Origin.AUTO_RENEWAL)
    if actor.is_kiosk and draft.payment_method is PaymentMethod.PREPAID_CREDIT:
        # The reseller's credit is the reseller's to spend, never a walk-in customer's.
        problems.append(_("The reseller's prepaid credit cannot be used from a kiosk."))
    return problems


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
) -> ConfirmedOrder:
    """Place `draft` as an order awaiting payment (paid at once with enough prepaid credit).

    `order` is the draft's own row, locked by the caller; without it a new row is made. Runs in
    the caller's transaction: RenewalRefused (or AccessDenied, LookupError) leaves it to be
    rolled back; `prices` saves a batch job reading the price list for every order, `facts`
    re-reading mailboxes read in this transaction (`mailbox_facts`); an
    IntegrityError means a mailbox was reserved meanwhile by another order
    (`open_order_conflict` says which).
    """
    problems = _problems(draft, actor, origin)
    if problems:
        refusal = PurchaseRefused if draft.is_purchase else RenewalRefused
        raise refusal("\n".join(problems))
    method = draft.payment_method
    assert method is not None  # draft_problems refuses a draft without one
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
    name, email_to = _recipient(session, draft, holder_row, order)
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


def _reserve(session: Session, order_id: int, expected: int) -> None:
    """One open order per mailbox: an `open_renewal` row for each mailbox the order's plan
    lines name, in one statement; a mailbox already on another order fails the insert
    (IntegrityError), and with it the transaction."""
    lines = OrderLine.__table__
    session.execute(
        OpenRenewal.__table__.insert().from_select(
            ["mailbox_id", "order_id", "created_at"],
            sa_select(lines.c.mailbox_id, literal(order_id), literal(utcnow(), DateTime()))
            .where(lines.c.order_id == order_id)
            .where(lines.c.mailbox_id.is_not(None))
            .where(lines.c.plan.is_not(None))
            # In key order: the primary key's index grows at one end, not all over.
            .order_by(lines.c.mailbox_id),
        )
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
    renewed = _renewal_targets(session, actor, draft, today, origin, facts)
    return [m.id for m in renewed], renewed[0].reseller_id if renewed else None


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
    now = utcnow()
    # A draft across resellers becomes this part's order: its holder and reseller, no other.
    order.holder_id = holder_row.id if holder_row else None
    order.reseller_id = reseller_id
    order.status = OrderStatus.AWAITING_PAYMENT.value
    order.confirmed_at = order.updated_at = now
    order.years = draft.years
    order.payment_method = method.value
    order.auto_renew = draft.auto_renew
    order.signature_kit = draft.kit.value if draft.kit else None
    order.net_cents, order.vat_cents, order.gross_cents = (
        to_cents(q.net),
        to_cents(q.vat),
        to_cents(q.gross),
    )
    order.consent_terms_at = order.consent_clauses_at = order.consent_privacy_at = now
    order.consent_terms_by = order.consent_clauses_by = order.consent_privacy_by = actor.name
    order.holder_snapshot = (
        holder_snapshot(holder_row) if holder_row else {"billed_to": draft.billed_to}
    )
    order.draft_state = draft_to_json(replace(draft, step=Step.DONE))
    # No longer a draft: nobody holds it.
    order.lease_holder = order.lease_until = None


def _audit_confirmation(
    session: Session, actor: Actor, order: Order, draft: Draft, q: Quote, origin: Origin
) -> None:
    audit.record(
        session,
        actor,
        "order.confirm",
        "order",
        order.id,
        {
            "number": order.number,
            "type": draft.order_type.value,
            "origin": origin.value,
            "gross": str(q.gross),
            "consents": {"terms": True, "clauses": True, "privacy": True, "by": actor.name},
            "mailbox_count": len(draft.items),
            # The order lines list them all; the audit keeps the first ones for reading.
            "mailboxes": [i.address for i in draft.items[:AUDIT_ADDRESSES]],
        },
    )


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
        {
            "number": order.number,
            "gross": str(from_cents(order.gross_cents)),
            "balance": str(from_cents(reseller.credit_cents if reseller else 0)),
        },
        outcome="refused",
    )
    return False


def _recipient(
    session: Session, draft: Draft, holder: Holder | None, order: Order
) -> tuple[str, str]:
    """(name, e-mail address) the order's e-mails go to: the holder, else the reseller."""
    if holder is not None:
        return holder.display_name, holder.reference_email or ""
    reseller = session.get(Reseller, order.reseller_id) if order.reseller_id else None
    return draft.billed_to, (reseller.email if reseller and reseller.email else "")
