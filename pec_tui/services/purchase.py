"""New purchases (Acquisto) placed in one call, as `pec-tui buy` does.

The TUI walks a purchase draft through the flow (`services.orders.start_purchase`); a script
gives every choice at once. Both are placed by the order pipeline, and the mailbox exists
only once the payment is registered (`services.payments`), its expiry counted from that day.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from pec_tui.domain.draft import Consents, Draft, PurchaseRefused, Step, draft_problems
from pec_tui.domain.enums import OrderType, PaymentMethod, Plan, SignatureKit
from pec_tui.i18n import _
from pec_tui.services.actor import Actor
from pec_tui.services.holders import holder_data
from pec_tui.services.orders import purchase_checks, purchase_item
from pec_tui.services.placing import Billing, ConfirmedOrder, place_order
from pec_tui.services.scope import audit_denials
from pec_tui.services.transactions import write_session


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


@audit_denials("order.confirm")
def place_purchase(
    engine: Engine,
    actor: Actor,
    request: PurchaseRequest,
    today: date,
    billing: Billing | None = None,
) -> ConfirmedOrder:
    """Place a purchase order awaiting payment (paid at once with enough prepaid credit).

    Every problem of the request is reported at once, before the address is looked up."""
    draft = Draft(
        order_id=0,
        step=Step.CONTRACT,
        items=(
            replace(
                purchase_item(request.address.strip().lower(), None),
                plan=Plan(request.plan),
                extra_mailbox_gb=request.extra_mailbox_gb,
                extra_archive_gb=request.extra_archive_gb,
                promo=request.promo,
            ),
        ),
        kit=request.kit,
        holder=None,
        billed_to="",
        payment_method=request.payment_method,
        auto_renew=request.auto_renew,
        years=request.years,
        consents=request.consents,
        order_type=OrderType.PURCHASE,
    )
    problems = draft_problems(draft)
    if problems:
        raise PurchaseRefused("\n".join(problems))
    try:
        with write_session(engine) as session:
            holder, address, existing = purchase_checks(
                session, actor, request.holder_id, request.address, today, "order.confirm"
            )
            data = holder_data(holder)
            (item,) = draft.items
            item = replace(item, address=address, mailbox_id=existing.id if existing else None)
            draft = replace(draft, items=(item,), holder=data, billed_to=data.display_name)
            return place_order(session, actor, draft, today, billing or Billing())
    except IntegrityError as exc:
        raise PurchaseRefused(
            _("{address} already has an open order.").format(address=request.address)
        ) from exc
