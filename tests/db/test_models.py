"""The schema itself: rows of every main table, and the constraints the services rely on."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from pec_tui.db.models import Holder, Mailbox, OpenRenewal, Order, OrderLine, Payment, Reseller


@pytest.fixture
def book(engine):
    """A reseller, a holder and a mailbox; their ids."""
    with Session(engine) as session:
        reseller = Reseller(name="Rete PEC S.r.l.", vat_number="01234560017", credit_cents=10_000)
        session.add(reseller)
        session.flush()
        holder = Holder(
            reseller_id=reseller.id,
            kind="privato",
            first_name="Mario",
            last_name="Rossi",
            display_name="Mario Rossi",
            codice_fiscale="RSSMRA85T10A562S",
            reference_email="mario.rossi@example.it",
        )
        session.add(holder)
        session.flush()
        mailbox = Mailbox(
            address="mario.rossi@pec.it",
            holder_id=holder.id,
            reseller_id=reseller.id,
            plan="STANDARD",
            expiry=date(2027, 3, 31),
        )
        session.add(mailbox)
        session.commit()
        return reseller.id, holder.id, mailbox.id


def _order(holder_id: int, number: int | None = None) -> Order:
    return Order(type="rinnovo", status="in_attesa", holder_id=holder_id, number=number)


def test_an_order_with_lines_payment_and_open_renewal_round_trips(engine, book):
    reseller_id, holder_id, mailbox_id = book
    with Session(engine) as session:
        order = _order(holder_id, 1_000_000_000)
        order.holder_snapshot = {"display_name": "Mario Rossi", "cf": "RSSMRA85T10A562S"}
        order.net_cents, order.vat_cents, order.gross_cents = 990, 218, 1208
        session.add(order)
        session.flush()
        session.add(
            OrderLine(
                order_id=order.id,
                mailbox_id=mailbox_id,
                address="mario.rossi@pec.it",
                item="STANDARD",
                description="PEC mailbox STANDARD",
                unit_cents=990,
                total_cents=990,
                plan="STANDARD",
            )
        )
        session.add(OpenRenewal(mailbox_id=mailbox_id, order_id=order.id))
        session.add(
            Payment(order_id=order.id, amount_cents=1208, method="bonifico", paid_on=date.today())
        )
        session.commit()
        order_id = order.id

    with Session(engine) as session:
        order = session.get(Order, order_id)
        line = session.exec(select(OrderLine).where(OrderLine.order_id == order_id)).one()
        mailbox = session.get(Mailbox, mailbox_id)
        assert order.number == 1_000_000_000
        assert order.holder_snapshot["cf"] == "RSSMRA85T10A562S"
        assert order.created_at.tzinfo is not None
        assert order.created_at <= datetime.now(UTC)
        assert (line.mailbox_id, line.total_cents) == (mailbox_id, 990)
        assert mailbox.expiry == date(2027, 3, 31)
        assert (mailbox.auto_renew, mailbox.promo, mailbox.version) == (False, False, 1)


def _fails(engine, *rows) -> None:
    """The database accepts every row but the last, which it refuses."""
    for row in rows[:-1]:
        with Session(engine) as session:
            session.add(row)
            session.commit()
    with Session(engine) as session, pytest.raises(IntegrityError):
        session.add(rows[-1])
        session.flush()


def test_a_mailbox_address_exists_once(engine, book):
    _, holder_id, _ = book
    _fails(
        engine,
        Mailbox(
            address="mario.rossi@pec.it", holder_id=holder_id, plan="PRO", expiry=date(2028, 1, 1)
        ),
    )


def test_a_mailbox_needs_an_existing_holder(engine, book):
    _fails(
        engine,
        Mailbox(address="nobody@pec.it", holder_id=999_999, plan="PRO", expiry=date(2028, 1, 1)),
    )


def test_an_order_number_is_unique(engine, book):
    _, holder_id, _ = book
    _fails(engine, _order(holder_id, 1_000_000_001), _order(holder_id, 1_000_000_001))


def test_a_mailbox_has_at_most_one_open_order(engine, book):
    _, holder_id, mailbox_id = book
    with Session(engine) as session:
        first, second = _order(holder_id), _order(holder_id)
        session.add_all([first, second])
        session.commit()
        ids = first.id, second.id
    _fails(
        engine,
        OpenRenewal(mailbox_id=mailbox_id, order_id=ids[0]),
        OpenRenewal(mailbox_id=mailbox_id, order_id=ids[1]),
    )


def test_an_order_is_paid_once(engine, book):
    _, holder_id, _ = book
    with Session(engine) as session:
        order = _order(holder_id)
        session.add(order)
        session.commit()
        order_id = order.id
    payment = {
        "order_id": order_id,
        "amount_cents": 100,
        "method": "carta",
        "paid_on": date.today(),
    }
    _fails(engine, Payment(**payment), Payment(**payment))


def test_a_reseller_partita_iva_is_unique(engine, book):
    _fails(engine, Reseller(name="Copia", vat_number="01234560017"))
