"""Area clienti: one holder's data, orders and mailboxes, as plain records for the screen."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from pec_tui.db.models import Holder, Order
from pec_tui.domain.enums import HolderKind, OrderStatus
from pec_tui.domain.holder import HolderData
from pec_tui.domain.records import MailboxRow, OrderRow
from pec_tui.services import mailboxes
from pec_tui.services.actor import Actor
from pec_tui.services.order_queries import _order_row
from pec_tui.services.scope import audit_denials, check_owned, not_found_message

# A holder's whole mailbox list is shown at once; more than this is a reseller's book, not
# a customer's, and belongs in the mailbox table.
MAX_HOLDER_MAILBOXES = 1_000


@dataclass(frozen=True)
class HolderInfo:
    """The holder (titolare) as the Area clienti header and the renewal flow show it."""

    id: int
    kind: HolderKind
    display_name: str
    first_name: str | None
    last_name: str | None
    company_name: str | None
    codice_fiscale: str | None
    partita_iva: str | None
    reference_email: str
    phone: str | None
    street: str | None
    cap: str | None
    city: str | None
    province: str | None
    country: str
    sdi_code: str | None
    billing_pec: str | None
    pa_office_code: str | None
    cig: str | None
    cup: str | None
    split_payment: bool
    reseller_id: int | None
    version: int

    @property
    def tax_code(self) -> str:
        """The identifier to show beside the name: partita IVA for businesses, else CF."""
        return self.partita_iva or self.codice_fiscale or ""


def _info(holder: Holder) -> HolderInfo:
    return HolderInfo(
        id=holder.id,
        kind=HolderKind(holder.kind),
        display_name=holder.display_name,
        first_name=holder.first_name,
        last_name=holder.last_name,
        company_name=holder.company_name,
        codice_fiscale=holder.codice_fiscale,
        partita_iva=holder.partita_iva,
        reference_email=holder.reference_email,
        phone=holder.phone,
        street=holder.street,
        cap=holder.cap,
        city=holder.city,
        province=holder.province,
        country=holder.country,
        sdi_code=holder.sdi_code,
        billing_pec=holder.billing_pec,
        pa_office_code=holder.pa_office_code,
        cig=holder.cig,
        cup=holder.cup,
        split_payment=holder.split_payment,
        reseller_id=holder.reseller_id,
        version=holder.version,
    )


def _own_holder(session: Session, actor: Actor, holder_id: int, action: str) -> Holder:
    holder = session.get(Holder, holder_id)
    if holder is None:
        raise LookupError(not_found_message("holder", holder_id))
    check_owned(
        actor, holder.reseller_id, holder.id, action=action, entity="holder", entity_id=holder_id
    )
    return holder


@audit_denials("holder.view")
def get_holder(engine: Engine, actor: Actor, holder_id: int) -> HolderInfo:
    """The holder; LookupError if missing, AccessDenied (audited) if not the actor's."""
    with Session(engine) as session:
        return _info(_own_holder(session, actor, holder_id, "holder.view"))


@audit_denials("holder.orders")
def holder_orders(engine: Engine, actor: Actor, holder_id: int) -> list[OrderRow]:
    """The holder's confirmed orders (drafts are not orders yet), newest first."""
    with Session(engine) as session:
        holder = _own_holder(session, actor, holder_id, "holder.orders")
        found = session.exec(
            select(Order)
            .where(Order.holder_id == holder_id, Order.status != OrderStatus.DRAFT.value)
            .order_by(col(Order.created_at).desc(), col(Order.id).desc())
        ).all()
        return [_order_row(order, holder.display_name) for order in found]


@audit_denials("holder.mailboxes")
def holder_mailboxes(engine: Engine, actor: Actor, holder_id: int) -> list[MailboxRow]:
    """The holder's mailboxes, soonest expiry first."""
    with Session(engine) as session:
        _own_holder(session, actor, holder_id, "holder.mailboxes")
    flt = mailboxes.MailboxFilter(holder_id=holder_id)
    # Without a state filter the day plays no part in the query.
    return mailboxes.page(engine, actor, flt, date.today(), limit=MAX_HOLDER_MAILBOXES)


# The fields of `HolderData` read from the stored holder as they are.
_STORED_FIELDS = tuple(f.name for f in fields(HolderData) if f.name not in ("holder_id", "kind"))


def holder_data(holder: Holder) -> HolderData:
    """The stored holder as the flow shows and edits it."""
    return HolderData(
        holder_id=holder.id,
        kind=HolderKind(holder.kind),
        **{name: getattr(holder, name) for name in _STORED_FIELDS},
    )
