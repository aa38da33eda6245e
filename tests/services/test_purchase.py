"""New purchases: a new address, a cancelled one bought again by its holder only."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from book_builder import add_holder, add_mailbox, add_reseller, get
from sqlmodel import Session, select

from pec_tui.db.models import Holder, Mailbox, OpenRenewal, Order, OutboxMessage
from pec_tui.domain.draft import Consents
from pec_tui.domain.enums import OrderStatus, PaymentMethod, Plan, Role
from pec_tui.domain.lifecycle import add_years
from pec_tui.services import payments
from pec_tui.services.actor import SYSTEM, AccessDenied, Actor
from pec_tui.services.placing import Billing
from pec_tui.services.purchase import PurchaseRefused, PurchaseRequest, place_purchase

TODAY = date(2026, 11, 26)
ALL = Consents(True, True, True)


def _request(holder_id: int, address: str = "nuova@pec.it", **changes) -> PurchaseRequest:
    fields = {
        "holder_id": holder_id,
        "address": address,
        "plan": Plan.PRO,
        "years": 2,
        "payment_method": PaymentMethod.BANK_TRANSFER,
        "consents": ALL,
    }
    return PurchaseRequest(**{**fields, **changes})


def test_new_address_exists_only_once_paid(engine):
    holder = add_holder(engine)
    done = place_purchase(
        engine, SYSTEM, _request(holder, "Nuova@PEC.it"), TODAY, Billing(iban="IT60X")
    )
    assert done.quote.gross == Decimal("61.00") and "IT60X" in done.payment_instructions
    with Session(engine) as session:
        assert session.exec(select(Mailbox)).all() == []
        order = session.get(Order, done.order_id)
        assert (order.type, order.status) == ("acquisto", OrderStatus.AWAITING_PAYMENT.value)
        mail = session.exec(select(OutboxMessage)).one()
        assert mail.kind == "order_confirmation" and str(done.number) in mail.subject
    with pytest.raises(PurchaseRefused, match=str(done.number)):
        place_purchase(engine, SYSTEM, _request(holder), TODAY)

    paid_day = TODAY + timedelta(days=3)
    result = payments.register_payment(
        engine, SYSTEM, done.number, done.quote.gross, "bonifico", TODAY, today=paid_day
    )
    (created,) = result.renewed
    assert created.old_expiry is None and created.new_expiry == add_years(paid_day, 2)
    mailbox = get(engine, Mailbox, created.mailbox_id)
    assert (mailbox.address, mailbox.plan, mailbox.holder_id) == ("nuova@pec.it", "PRO", holder)
    assert payments.register_payment(
        engine, SYSTEM, done.number, done.quote.gross, "bonifico", today=paid_day
    ).already_paid
    with pytest.raises(PurchaseRefused, match="nuova@pec.it"):  # in use: renew it instead
        place_purchase(engine, SYSTEM, _request(holder), paid_day)


def test_cancelled_address_only_for_its_holder(engine):
    holder = add_holder(engine)
    with Session(engine) as session:
        same_person = Holder(**{**session.get(Holder, holder).model_dump(), "id": None})
        same_person.reference_email = "nuovo.indirizzo@example.it"
        session.add(same_person)
        session.commit()
        same_person_id = same_person.id
    stranger = add_holder(engine, ("Anna", "Bianchi"), "anna@example.it")
    with Session(engine) as session:
        session.get(Holder, stranger).codice_fiscale = "BNCNNA80A41H501X"
        session.commit()
    old = add_mailbox(
        engine,
        holder,
        "vecchia@pec.it",
        TODAY - timedelta(days=91),
        plan="PREMIUM",
        mailbox_used_mb=900,
        archive_used_mb=3000,
    )
    add_mailbox(engine, holder, "sospesa@pec.it", TODAY - timedelta(days=90))

    with pytest.raises(PurchaseRefused, match="sospesa@pec.it"):  # Sospesa: renew it instead
        place_purchase(engine, SYSTEM, _request(holder, "sospesa@pec.it"), TODAY)
    with pytest.raises(PurchaseRefused, match="vecchia@pec.it"):  # not its former holder
        place_purchase(engine, SYSTEM, _request(stranger, "vecchia@pec.it"), TODAY)

    done = place_purchase(
        engine,
        SYSTEM,
        _request(same_person_id, "vecchia@pec.it", plan=Plan.STANDARD, years=1),
        TODAY,
    )
    with Session(engine) as session:
        assert session.get(OpenRenewal, old).order_id == done.order_id
    payments.register_payment(engine, SYSTEM, done.number, done.quote.gross, "carta", today=TODAY)
    mailbox = get(engine, Mailbox, old)
    assert mailbox.expiry == add_years(TODAY, 1) and mailbox.holder_id == same_person_id
    assert (mailbox.plan, mailbox.mailbox_used_mb, mailbox.archive_used_mb) == ("STANDARD", 0, 0)
    with Session(engine) as session:
        assert session.exec(select(OpenRenewal)).all() == []


def test_purchase_with_prepaid_credit_and_scoping(engine):
    reseller = add_reseller(engine, credit_cents=10_000)
    holder = add_holder(engine, reseller_id=reseller)
    other = add_reseller(engine, "Altra")
    with pytest.raises(AccessDenied):
        place_purchase(
            engine, Actor("x", Role.RESELLER, reseller_id=other), _request(holder), TODAY
        )
    done = place_purchase(
        engine,
        Actor("r", Role.RESELLER, reseller_id=reseller),
        _request(holder, payment_method=PaymentMethod.PREPAID_CREDIT, years=1),
        TODAY,
    )
    assert done.paid
    with Session(engine) as session:
        mailbox = session.exec(select(Mailbox)).one()
        assert mailbox.reseller_id == reseller and mailbox.expiry == add_years(TODAY, 1)


def test_invalid_requests_are_refused_with_every_reason(engine):
    holder = add_holder(engine)
    with pytest.raises(PurchaseRefused) as refused:
        place_purchase(
            engine,
            SYSTEM,
            _request(
                holder,
                "non un indirizzo",
                plan=Plan.STANDARD,
                extra_archive_gb=1,
                years=9,
                consents=Consents(True, False, True),
            ),
            TODAY,
        )
    assert len(refused.value.message.splitlines()) == 4
