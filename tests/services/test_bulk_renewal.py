"""A renewal across resellers (administrators, back office): one pass, one order per reseller
and one per direct customer, all placed or none."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from book_builder import add_holder, add_mailbox, add_reseller, confirm_renewal
from sqlmodel import Session, col, select

from pec_tui.db.models import Mailbox, OpenRenewal, Order, OrderLine, OutboxMessage
from pec_tui.domain.draft import Consents, RenewalRefused
from pec_tui.domain.enums import OrderStatus, PaymentMethod, Role, SignatureKit
from pec_tui.services import orders
from pec_tui.services.actor import SYSTEM, AccessDenied, Actor
from pec_tui.services.prices import get_price_list

TODAY = date(2026, 11, 26)
EXPIRY = date(2026, 12, 20)


def _book(engine) -> dict[str, list[int]]:
    nord = add_reseller(engine, "Nord Srl", email="ordini@nord.example.it")
    sud = add_reseller(engine, "Sud Srl", email="ordini@sud.example.it")
    anna = add_holder(engine, ("Anna", "Bianchi"), "anna@example.it", reseller_id=nord)
    luca = add_holder(engine, ("Luca", "Verdi"), "luca@example.it", reseller_id=nord)
    sara = add_holder(engine, ("Sara", "Neri"), "sara@example.it", reseller_id=sud)
    direct = add_holder(engine, ("Mario", "Rossi"), "mario@example.it")
    return {
        "nord": [
            add_mailbox(engine, anna, "anna@pec.it", EXPIRY, reseller_id=nord),
            add_mailbox(engine, luca, "luca@pec.it", EXPIRY, reseller_id=nord),
        ],
        "sud": [add_mailbox(engine, sara, "sara@pec.it", EXPIRY, reseller_id=sud)],
        "direct": [add_mailbox(engine, direct, "mario@pec.it", EXPIRY)],
    }


def _complete(draft):
    return replace(
        draft, payment_method=PaymentMethod.BANK_TRANSFER, consents=Consents(True, True, True)
    )


def test_one_pass_places_one_order_per_reseller_and_per_direct_customer(engine):
    book = _book(engine)
    ids = [i for group in book.values() for i in group]
    draft = orders.start_renewal(engine, SYSTEM, ids, TODAY)
    assert draft.holder is None and draft.order_count == 3
    assert draft.billed_to.startswith("3 orders: ")
    placed = orders.confirm_order(engine, SYSTEM, _complete(draft), TODAY)

    assert [p.billed_to for p in placed] == ["Nord Srl", "Sud Srl", "Mario Rossi"]
    assert len({p.number for p in placed}) == 3
    prices = get_price_list(engine)
    # Each order is priced on its own (VAT rounded per order); together they make the whole.
    assert sum(p.quote.net for p in placed) == draft.quote(prices).net
    with Session(engine) as session:
        rows = session.exec(select(Order).order_by(col(Order.number))).all()
        assert [o.status for o in rows] == [OrderStatus.AWAITING_PAYMENT.value] * 3
        assert rows[0].id == draft.order_id  # the draft became the first order
        assert [(o.reseller_id is not None, o.holder_id is not None) for o in rows] == [
            (True, False),
            (True, False),
            (False, True),
        ]
        for order, addresses in zip(
            rows, (["anna@pec.it", "luca@pec.it"], ["sara@pec.it"], ["mario@pec.it"]), strict=True
        ):
            lines = session.exec(select(OrderLine.address).where(OrderLine.order_id == order.id))
            assert sorted(a for a in lines if a) == addresses
        assert len(session.exec(select(OpenRenewal)).all()) == 4
        mails = session.exec(select(OutboxMessage.to_address)).all()
        assert sorted(mails) == [
            "mario@example.it",
            "ordini@nord.example.it",
            "ordini@sud.example.it",
        ]


def test_an_open_order_anywhere_refuses_the_whole_pass(engine):
    book = _book(engine)
    draft = orders.start_renewal(engine, SYSTEM, [i for g in book.values() for i in g], TODAY)
    # Meanwhile a reseller's terminal orders Sara's mailbox.
    confirm_renewal(engine, book["sud"], TODAY)
    with pytest.raises(RenewalRefused, match="sara@pec.it"):
        orders.confirm_order(engine, SYSTEM, _complete(draft), TODAY)
    with Session(engine) as session:
        statuses = session.exec(select(Order.status).order_by(col(Order.id))).all()
    # Nothing of the pass was placed: the draft is still a draft beside the other order.
    assert statuses == [OrderStatus.DRAFT.value, OrderStatus.AWAITING_PAYMENT.value]


def test_a_kit_is_refused_when_the_pass_makes_several_orders(engine):
    book = _book(engine)
    draft = orders.start_renewal(engine, SYSTEM, book["nord"] + book["sud"], TODAY)
    with pytest.raises(RenewalRefused, match="kit"):
        orders.confirm_order(
            engine, SYSTEM, replace(_complete(draft), kit=SignatureKit.USB_TOKEN), TODAY
        )


def test_a_reseller_operator_cannot_reach_another_resellers_mailboxes(engine):
    book = _book(engine)
    with Session(engine) as session:
        nord_id = session.exec(
            select(Mailbox.reseller_id).where(Mailbox.address == "anna@pec.it")
        ).one()
    nord = Actor(name="nord1", role=Role.RESELLER, reseller_id=nord_id)
    with pytest.raises(AccessDenied):
        orders.start_renewal(engine, nord, book["nord"] + book["sud"], TODAY)
