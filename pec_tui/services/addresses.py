"""Who may buy a PEC address: a new one, or a cancelled one bought again by its holder.

Checked when a purchase starts, again under a lock when it is placed, and once more when its
payment creates or reactivates the mailbox (`services.payments`).
"""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, col, select

from pec_tui.db.models import Holder, Mailbox, Order, OrderLine
from pec_tui.domain.draft import PurchaseRefused
from pec_tui.domain.enums import MailboxState, OrderStatus, OrderType
from pec_tui.domain.lifecycle import state_of
from pec_tui.i18n import _


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


def open_purchase_number(session: Session, address: str) -> int | None:
    """The number of the purchase order awaiting payment for `address`, if any."""
    return session.exec(
        select(Order.number)
        .join(OrderLine, col(OrderLine.order_id) == Order.id)
        .where(
            OrderLine.address == address,
            Order.type == OrderType.PURCHASE.value,
            Order.status == OrderStatus.AWAITING_PAYMENT.value,
        )
    ).first()


def refuse_if_on_order(session: Session, address: str) -> None:
    other = open_purchase_number(session, address)
    if other is not None:
        raise PurchaseRefused(
            _("{address} already has an open order, no. {number}.").format(
                address=address, number=other
            )
        )
