"""Resellers' prepaid credit: balance, movements and top-ups.

Payments with credit are in `services.payments` (`pay_with_credit`), which debits the
credit in the same transaction that registers the payment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from pec_tui.db.models import CreditMovement, Order, Reseller
from pec_tui.domain.money import from_cents, to_cents
from pec_tui.i18n import _
from pec_tui.services import audit
from pec_tui.services.actor import Actor
from pec_tui.services.scope import audit_denials, check_owned, require_admin, scope_reseller
from pec_tui.services.transactions import write_session


@dataclass(frozen=True)
class CreditBalance:
    reseller_id: int
    reseller_name: str
    balance: Decimal


@dataclass(frozen=True)
class CreditMovementRow:
    at: datetime
    amount: Decimal
    balance_after: Decimal
    order_number: int | None
    note: str | None


def _check_can_see(actor: Actor, reseller_id: int, action: str) -> None:
    check_owned(actor, reseller_id, None, action=action, entity="reseller", entity_id=reseller_id)


def _reseller(session: Session, reseller_id: int, lock: bool = False) -> Reseller:
    reseller = session.get(Reseller, reseller_id, with_for_update=True if lock else None)
    if reseller is None:
        raise LookupError(_("Reseller {id} does not exist.").format(id=reseller_id))
    return reseller


def balances(engine: Engine, actor: Actor) -> list[CreditBalance]:
    """Every reseller's credit the actor may see (its own, or all for back office and admin)."""
    with Session(engine) as session:
        stmt = scope_reseller(
            select(Reseller).order_by(col(Reseller.name), col(Reseller.id)), actor, Reseller.id
        )
        return [CreditBalance(r.id, r.name, from_cents(r.credit_cents)) for r in session.exec(stmt)]


@audit_denials("credit.show")
def balance(engine: Engine, actor: Actor, reseller_id: int) -> CreditBalance:
    _check_can_see(actor, reseller_id, "credit.show")
    with Session(engine) as session:
        reseller = _reseller(session, reseller_id)
        return CreditBalance(reseller.id, reseller.name, from_cents(reseller.credit_cents))


@audit_denials("credit.show")
def movements(
    engine: Engine, actor: Actor, reseller_id: int, limit: int = 20
) -> list[CreditMovementRow]:
    """The latest movements of a reseller's credit, newest first."""
    _check_can_see(actor, reseller_id, "credit.show")
    with Session(engine) as session:
        _reseller(session, reseller_id)
        rows = session.exec(
            select(CreditMovement, Order.number)
            .outerjoin(Order, col(Order.id) == CreditMovement.order_id)
            .where(CreditMovement.reseller_id == reseller_id)
            .order_by(col(CreditMovement.id).desc())
            .limit(limit)
        ).all()
        return [
            CreditMovementRow(
                m.at, from_cents(m.amount_cents), from_cents(m.balance_after_cents), number, m.note
            )
            for m, number in rows
        ]


@audit_denials("credit.topup")
def top_up(
    engine: Engine, actor: Actor, reseller_id: int, amount: Decimal, note: str | None = None
) -> CreditBalance:
    """Add `amount` to a reseller's prepaid credit (administrators only)."""
    require_admin(actor, action="credit.topup")
    if not isinstance(amount, Decimal):
        raise TypeError(f"amount must be a Decimal, not {type(amount).__name__}")
    if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise ValueError(
            _("A top-up must be a positive amount in euros and cents; {amount} was given.").format(
                amount=amount
            )
        )
    with write_session(engine) as session:
        reseller = _reseller(session, reseller_id, lock=True)
        reseller.credit_cents += to_cents(amount)
        reseller.version += 1
        session.add(reseller)
        session.add(
            CreditMovement(
                reseller_id=reseller.id,
                amount_cents=to_cents(amount),
                balance_after_cents=reseller.credit_cents,
                operator_id=actor.operator_id,
                note=note or _("Top-up"),
            )
        )
        audit.record(
            session,
            actor,
            "credit.topup",
            "reseller",
            reseller.id,
            {"amount": str(amount), "balance": str(from_cents(reseller.credit_cents))},
        )
        return CreditBalance(reseller.id, reseller.name, from_cents(reseller.credit_cents))
