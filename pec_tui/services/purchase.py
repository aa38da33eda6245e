"""New purchases (Acquisto): a new PEC address, or a cancelled one bought again by its holder.

The order is priced and confirmed like a renewal; the mailbox exists only once the payment is
registered (`services.payments`), with its expiry counted from that day. A Cancellata address
may be bought again only by the same holder (same codice fiscale or partita IVA).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from pec_tui.db.models import Holder, Mailbox, OpenRenewal, Order, OrderLine, utcnow
from pec_tui.domain import validation
from pec_tui.domain.enums import (
    MailboxState,
    OrderStatus,
    OrderType,
    PaymentMethod,
    Plan,
    SignatureKit,
)
from pec_tui.domain.lifecycle import state_of
from pec_tui.domain.money import to_cents
from pec_tui.domain.pricing import MailboxChoice, quote
from pec_tui.domain.validation import ValidationError
from pec_tui.i18n import _
from pec_tui.services import audit, notifications
from pec_tui.services.actor import Actor
from pec_tui.services.order_lines import holder_snapshot, order_lines
from pec_tui.services.orders import (
    ConfirmedOrder,
    Consents,
    RenewalRefused,
    next_order_number,
    payment_instructions,
)
from pec_tui.services.prices import load_price_list
from pec_tui.services.scope import audit_denials, check_owned
from pec_tui.services.transactions import write_session


class PurchaseRefused(RenewalRefused):
    """The purchase cannot be placed or completed; `message` says why."""


@dataclass(frozen=True)
class PurchaseRequest:
    holder_id: int
    address: str
    plan: Plan
    years: int
    payment_method: PaymentMethod
    consents: Consents
    extra_mailbox_gb: int = 0
    extra_archive_gb: int = 0
    kit: SignatureKit | None = None
    auto_renew: bool = False
    promo: bool = False


def same_holder(a: Holder, b: Holder) -> bool:
    """The same person or company: same codice fiscale or same partita IVA."""
    return a.id == b.id or bool(
        (a.codice_fiscale and a.codice_fiscale == b.codice_fiscale)
        or (a.partita_iva and a.partita_iva == b.partita_iva)
    )


def existing_mailbox_for_purchase(
    session: Session, holder: Holder, address: str, today: date, lock: bool = False
) -> Mailbox | None:
    """The cancelled mailbox `holder` buys again, or None for a new address.

    Refused while the address is in use (Attiva or Sospesa: renew it instead) or when it
    was another holder's.
    """
    stmt = select(Mailbox).where(Mailbox.address == address)
    if lock:
        stmt = stmt.with_for_update()
    mailbox = session.exec(stmt).first()
    if mailbox is None:
        return None
    if state_of(mailbox.expiry, today) is not MailboxState.CANCELLED:
        raise PurchaseRefused(
            _("{address} is still in use: renew it instead of buying it.").format(address=address)
        )
    owner = session.get(Holder, mailbox.holder_id)
    if owner is None or not same_holder(owner, holder):
        raise PurchaseRefused(
            _(
                "{address} was cancelled and can be bought again only by its former holder "
                "(same codice fiscale or partita IVA)."
            ).format(address=address)
        )
    return mailbox


@audit_denials("purchase.check")
def check_purchase_address(
    engine: Engine, actor: Actor, holder_id: int, address: str, today: date
) -> str:
    """`address` normalised, if `holder_id` may buy it; PurchaseRefused says why not.

    A check before the purchase flow starts: `place_purchase` checks again under a lock.
    """
    try:
        address = validation.check_pec_address(address).lower()
    except ValidationError as exc:
        raise PurchaseRefused(exc.message) from exc
    with Session(engine) as session:
        holder = session.get(Holder, holder_id)
        if holder is None:
            raise LookupError(_("The holder no longer exists."))
        check_owned(
            actor,
            holder.reseller_id,
            holder.id,
            action="purchase.check",
            entity="holder",
            entity_id=holder.id,
        )
        existing_mailbox_for_purchase(session, holder, address, today)
        other = _open_purchase_number(session, address)
    if other is not None:
        raise PurchaseRefused(
            _("{address} already has an open order, no. {number}.").format(
                address=address, number=other
            )
        )
    return address


def _problems(request: PurchaseRequest) -> list[str]:
    problems = []
    for check, args in (
        (validation.check_pec_address, (request.address,)),
        (validation.check_years, (request.years, request.promo)),
        (
            validation.check_extra_gb,
            (request.plan, request.extra_mailbox_gb, request.extra_archive_gb),
        ),
    ):
        try:
            check(*args)
        except ValidationError as exc:
            problems.append(exc.message)
    if not request.consents.complete:
        problems.append(
            _(
                "The general conditions, the unfair-terms clauses and the privacy notice must "
                "each be accepted."
            )
        )
    return problems


def _open_purchase_number(session: Session, address: str) -> int | None:
    return session.exec(
        select(Order.number)
        .join(OrderLine, col(OrderLine.order_id) == Order.id)
        .where(
            OrderLine.address == address,
            Order.type == OrderType.PURCHASE.value,
            Order.status == OrderStatus.AWAITING_PAYMENT.value,
        )
    ).first()


@audit_denials("purchase.place")
def place_purchase(
    engine: Engine,
    actor: Actor,
    request: PurchaseRequest,
    today: date,
    iban: str = "",
    beneficiary: str = "",
) -> ConfirmedOrder:
    """Confirm a purchase order awaiting payment (paid at once with enough prepaid credit)."""
    problems = _problems(request)
    if problems:
        raise PurchaseRefused("\n".join(problems))
    address = validation.check_pec_address(request.address).lower()
    plan = Plan(request.plan)
    try:
        with write_session(engine) as session:
            holder = session.get(Holder, request.holder_id)
            if holder is None:
                raise LookupError(_("The holder no longer exists."))
            check_owned(
                actor,
                holder.reseller_id,
                holder.id,
                action="purchase.place",
                entity="holder",
                entity_id=holder.id,
            )
            existing = existing_mailbox_for_purchase(session, holder, address, today, lock=True)
            other = _open_purchase_number(session, address)
            if other is not None:
                raise PurchaseRefused(
                    _("{address} already has an open order, no. {number}.").format(
                        address=address, number=other
                    )
                )
            choice = MailboxChoice(
                address,
                plan,
                request.extra_mailbox_gb,
                request.extra_archive_gb,
                existing.id if existing else None,
                None,
            )
            q = quote(load_price_list(session), [choice], request.years, request.kit)
            now = utcnow()
            order = Order(
                type=OrderType.PURCHASE.value,
                status=OrderStatus.AWAITING_PAYMENT.value,
                holder_id=holder.id,
                reseller_id=holder.reseller_id,
                operator_id=actor.operator_id,
                terminal=actor.terminal,
                confirmed_at=now,
                years=request.years,
                payment_method=request.payment_method.value,
                auto_renew=request.auto_renew,
                signature_kit=request.kit.value if request.kit else None,
                net_cents=to_cents(q.net),
                vat_cents=to_cents(q.vat),
                gross_cents=to_cents(q.gross),
                holder_snapshot=holder_snapshot(holder),
            )
            order.consent_terms_at = order.consent_clauses_at = order.consent_privacy_at = now
            order.consent_terms_by = order.consent_clauses_by = order.consent_privacy_by = (
                actor.name
            )
            session.add(order)
            session.flush()
            if existing is not None:
                # A cancelled mailbox bought again: reserved like a renewal.
                session.add(OpenRenewal(mailbox_id=existing.id, order_id=order.id))
                session.flush()
            order.number = next_order_number(session)
            session.add_all(order_lines(order.id, q, [choice]))
            instructions = payment_instructions(
                request.payment_method, order.number, q.gross, iban, beneficiary
            )
            notifications.queue_order_confirmation_to(
                session, order, q, holder.display_name, holder.reference_email, instructions
            )
            audit.record(
                session,
                actor,
                "purchase.place",
                "order",
                order.id,
                {
                    "number": order.number,
                    "address": address,
                    "plan": plan.value,
                    "years": request.years,
                    "gross": str(q.gross),
                    "again": existing is not None,
                },
            )
            order_id, number = order.id, order.number
    except IntegrityError as exc:
        raise PurchaseRefused(
            _("{address} already has an open order.").format(address=address)
        ) from exc
    paid = False
    if request.payment_method is PaymentMethod.PREPAID_CREDIT:
        from pec_tui.services.payments import pay_with_credit

        paid = pay_with_credit(engine, actor, order_id, today)
    return ConfirmedOrder(
        order_id=order_id,
        number=number,
        quote=q,
        payment_method=request.payment_method,
        payment_instructions=instructions,
        email_to=holder.reference_email,
        paid=paid,
    )
