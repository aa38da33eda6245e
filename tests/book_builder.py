"""Small books of mailboxes for the order-lifecycle tests: resellers, holders, mailboxes, orders.

Imported by the tests as `book_builder` (tests/ is on sys.path through its conftest).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from sqlmodel import Session

from pec_tui.db.models import Holder, Mailbox, Reseller
from pec_tui.domain import fatturapa
from pec_tui.domain.draft import Consents
from pec_tui.domain.enums import HolderKind, PaymentMethod
from pec_tui.services import invoices, orders
from pec_tui.services.actor import SYSTEM, Actor
from pec_tui.services.database import ensure_reference_data
from pec_tui.services.placing import Billing, ConfirmedOrder


def add_reseller(engine, name: str = "Rivendita Srl", credit_cents: int = 0, email=None) -> int:
    with Session(engine) as session:
        reseller = Reseller(
            name=name, credit_cents=credit_cents, email=email or "rivendita@example.it"
        )
        session.add(reseller)
        session.commit()
        return reseller.id


def add_holder(
    engine,
    name: tuple[str, str] = ("Mario", "Rossi"),
    email: str = "mario.rossi@example.it",
    reseller_id: int | None = None,
) -> int:
    ensure_reference_data(engine)
    with Session(engine) as session:
        holder = Holder(
            kind=HolderKind.PRIVATE.value,
            reseller_id=reseller_id,
            first_name=name[0],
            last_name=name[1],
            display_name=f"{name[0]} {name[1]}",
            codice_fiscale="RSSMRA85T10A562S",
            street="Via Roma 1",
            cap="00184",
            city="Roma",
            province="RM",
            reference_email=email,
        )
        session.add(holder)
        session.commit()
        return holder.id


def add_mailbox(engine, holder_id: int, address: str, expiry: date, **fields) -> int:
    with Session(engine) as session:
        mailbox = Mailbox(
            address=address,
            holder_id=holder_id,
            plan=fields.pop("plan", "STANDARD"),
            expiry=expiry,
            **fields,
        )
        session.add(mailbox)
        session.commit()
        return mailbox.id


def get(engine, model, key):
    with Session(engine) as session:
        return session.get(model, key)


def confirm_renewal(
    engine,
    mailbox_ids: list[int],
    today: date,
    method: PaymentMethod = PaymentMethod.BANK_TRANSFER,
    actor: Actor = SYSTEM,
    **changes,
) -> ConfirmedOrder:
    """A renewal confirmed the way the TUI does it: draft, choices, consents, confirmation."""
    draft = orders.start_renewal(engine, actor, mailbox_ids, today)
    items = changes.pop("items", None)
    draft = replace(
        draft,
        payment_method=method,
        consents=Consents(True, True, True),
        **({"items": items(draft.items)} if items else {}),
        **changes,
    )
    [confirmed] = orders.confirm_order(
        engine, actor, draft, today, Billing("IT60X0542811101000000123456", "PEC Spa")
    )
    return confirmed


DEMO_ISSUER = fatturapa.Issuer(
    name="PEC Italia S.r.l.",
    vat_number="01234560017",
    codice_fiscale="01234560017",
    street="Via Roma 1",
    cap="00184",
    city="Roma",
    province="RM",
    rea_office="RM",
    rea_number="1234567",
)


def set_issuer(engine, issuer: fatturapa.Issuer = DEMO_ISSUER):
    """The issuer of the invoices, as an administrator sets it."""
    return invoices.set_issuer(engine, SYSTEM, issuer)
