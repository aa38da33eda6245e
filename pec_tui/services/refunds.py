"""Refunding a paid order: the renewal taken back, a credit note (TD04) reversing its invoice.

One transaction with the order and its mailboxes locked: every mailbox the order renewed
goes back to the expiry it had before (a purchased one expires on the day it was bought)
and to its previous plan, the order becomes Rimborsato, a reseller's prepaid credit is given
back, and the credit note is numbered in the refund's year and names the invoice in
DatiFattureCollegate. Administrators only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from pec_tui.db.batches import chunked
from pec_tui.db.models import CreditMovement, Invoice, Mailbox, OrderLine, Reseller, utcnow
from pec_tui.domain import fatturapa
from pec_tui.domain.enums import OrderStatus, PaymentMethod
from pec_tui.domain.lifecycle import add_years
from pec_tui.i18n import _
from pec_tui.services import audit, invoices
from pec_tui.services.actor import Actor
from pec_tui.services.order_queries import load_order
from pec_tui.services.payments import PaymentRefused
from pec_tui.services.scope import audit_denials, require_admin
from pec_tui.services.transactions import write_session


@dataclass(frozen=True)
class RefundResult:
    number: int | None
    already_refunded: bool
    mailboxes: tuple[tuple[str, date, date], ...] = ()  # address, expiry before, after
    credit_note: str | None = None
    credit_note_problem: str | None = None

    @property
    def message(self) -> str:
        if self.already_refunded:
            return _("Order no. {number} was already refunded: nothing changed.").format(
                number=self.number
            )
        text = _("Order no. {number} refunded: {count} mailbox(es) taken back.").format(
            number=self.number, count=len(self.mailboxes)
        )
        if self.credit_note is not None and self.credit_note_problem:
            text += " " + _("Credit note {number} is waiting to be corrected: {reason}").format(
                number=self.credit_note, reason=self.credit_note_problem
            )
        elif self.credit_note is not None:
            text += " " + _("Credit note {number} issued.").format(number=self.credit_note)
        return text


def _take_back(session: Session, order_id: int) -> list[tuple[str, date, date]]:
    """Each mailbox of the order back to its expiry and plan before the payment."""
    table = OrderLine.__table__
    lines = session.execute(
        sa_select(table.c.mailbox_id, table.c.years, table.c.plan, table.c.previous_plan)
        .where(table.c.order_id == order_id, table.c.plan.is_not(None))
        .order_by(table.c.id)
    ).all()
    ids = sorted({row[0] for row in lines if row[0] is not None})
    boxes: dict[int, Mailbox] = {}
    for chunk in chunked(ids):
        found = session.exec(
            select(Mailbox)
            .where(col(Mailbox.id).in_(chunk))
            .order_by(col(Mailbox.id))
            .with_for_update()
        ).all()
        boxes.update({box.id: box for box in found})
    taken: list[tuple[str, date, date]] = []
    for mailbox_id, years, _plan, previous_plan in lines:
        box = boxes.get(mailbox_id) if mailbox_id is not None else None
        if box is None:
            continue
        before = box.expiry
        box.expiry = add_years(before, -years)
        if previous_plan:
            box.plan = previous_plan
        box.version += 1
        session.add(box)
        taken.append((box.address, before, box.expiry))
    return taken


def _credit_back(
    session: Session,
    actor: Actor,
    order_id: int,
    reseller_id: int | None,
    gross_cents: int,
    number: int | None,
) -> None:
    if reseller_id is None:
        return
    reseller = session.get(Reseller, reseller_id, with_for_update=True)
    if reseller is None:
        return
    reseller.credit_cents += gross_cents
    reseller.version += 1
    session.add(reseller)
    session.add(
        CreditMovement(
            reseller_id=reseller.id,
            amount_cents=gross_cents,
            balance_after_cents=reseller.credit_cents,
            order_id=order_id,
            operator_id=actor.operator_id,
            note=_("Refund of order no. {number}").format(number=number),
        )
    )


@audit_denials("order.refund")
def refund_order(
    engine: Engine, actor: Actor, ref: int | str, reason: str, today: date | None = None
) -> RefundResult:
    """Refund paid order `ref`: renewal taken back, credit note issued (administrators only).

    Refunding a refunded order changes nothing; an unpaid one is refused (PaymentRefused)."""
    require_admin(actor, action="order.refund")
    today = today or date.today()
    reason = " ".join((reason or "").split())
    if not reason:
        raise PaymentRefused(_("Say why the order is refunded (--reason)."))
    with write_session(engine) as session:
        order = load_order(session, actor, ref, lock=True)
        if order.status == OrderStatus.REFUNDED.value:
            return RefundResult(order.number, already_refunded=True)
        if order.status != OrderStatus.PAID.value:
            raise PaymentRefused(
                _("Order no. {number} is not paid: only a paid order can be refunded.").format(
                    number=order.number
                )
            )
        taken = _take_back(session, order.id)
        now = utcnow()
        order.status = OrderStatus.REFUNDED.value
        order.updated_at = now
        order.version += 1
        session.add(order)
        if order.payment_method == PaymentMethod.PREPAID_CREDIT.value:
            _credit_back(
                session, actor, order.id, order.reseller_id, order.gross_cents, order.number
            )
        invoice = session.exec(
            select(Invoice)
            .where(Invoice.order_id == order.id, Invoice.document_type == fatturapa.INVOICE)
            .with_for_update()
        ).first()
        note = (
            invoices.issue_credit_note(session, actor, invoice, today, reason)
            if invoice is not None
            else None
        )
        audit.record(
            session,
            actor,
            "order.refund",
            "order",
            order.id,
            {
                "number": order.number,
                "reason": reason,
                "credit_note": invoices.label(note.year, note.number) if note else None,
                "mailboxes": [
                    {"address": a, "expiry_before": b.isoformat(), "expiry_after": e.isoformat()}
                    for a, b, e in taken[:100]
                ],
            },
        )
        return RefundResult(
            order.number,
            already_refunded=False,
            mailboxes=tuple(taken),
            credit_note=invoices.label(note.year, note.number) if note else None,
            credit_note_problem=note.reason if note else None,
        )
