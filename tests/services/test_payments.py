"""Registering payments, cancelling orders and paying with prepaid credit (SQLite and PostgreSQL)."""

from __future__ import annotations

import email
import email.policy
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from book_builder import (
    add_holder,
    add_mailbox,
    add_reseller,
    confirm_renewal,
    get,
)
from sqlalchemy import insert
from sqlmodel import Session, col, select

from pec_tui.db.models import (
    AuditEvent,
    CreditMovement,
    Mailbox,
    OpenRenewal,
    Order,
    OutboxMessage,
    Payment,
    Reseller,
)
from pec_tui.domain.draft import Consents
from pec_tui.domain.enums import OrderStatus, PaymentMethod, Plan, Role
from pec_tui.domain.lifecycle import renewed_expiry
from pec_tui.domain.money import from_cents, to_cents
from pec_tui.services import credit, orders, payments
from pec_tui.services.actor import SYSTEM, AccessDenied, Actor
from pec_tui.services.payments import PaymentRefused, parse_money
from pec_tui.services.statement import import_statement

TODAY = date(2026, 11, 26)


@pytest.fixture
def book(engine):
    reseller = add_reseller(engine, credit_cents=10_000)
    holder = add_holder(engine, reseller_id=reseller)
    pro = add_mailbox(
        engine,
        holder,
        "mario.rossi@pec.it",
        date(2027, 1, 10),
        plan="PRO",
        reseller_id=reseller,
        mailbox_used_mb=300,
        archive_used_mb=900,
        extra_archive_gb=1,
    )
    std = add_mailbox(
        engine, holder, "studio.rossi@pec.it", date(2026, 12, 20), reseller_id=reseller
    )
    return {"reseller": reseller, "holder": holder, "pro": pro, "std": std}


def _gross(engine, order_id) -> Decimal:
    return from_cents(get(engine, Order, order_id).gross_cents)


def test_payment_extends_from_old_expiry_applies_choices_once(engine, book):
    done = confirm_renewal(engine, [book["pro"], book["std"]], TODAY, years=2, auto_renew=True)
    result = payments.register_payment(
        engine,
        SYSTEM,
        done.number,
        done.quote.gross,
        PaymentMethod.BANK_TRANSFER,
        TODAY,
        reference="CRO 123",
        today=TODAY,
    )
    assert not result.already_paid
    assert {(r.address, r.old_expiry, r.new_expiry) for r in result.renewed} == {
        ("mario.rossi@pec.it", date(2027, 1, 10), date(2029, 1, 10)),
        ("studio.rossi@pec.it", date(2026, 12, 20), date(2028, 12, 20)),
    }
    pro = get(engine, Mailbox, book["pro"])
    assert (pro.expiry, pro.auto_renew, pro.renewal_years, pro.payment_method, pro.version) == (
        date(2029, 1, 10),
        True,
        2,
        "bonifico",
        2,
    )
    with Session(engine) as session:
        order = session.get(Order, done.order_id)
        assert order.status == OrderStatus.PAID.value and order.paid_at is not None
        assert session.exec(select(OpenRenewal)).all() == []
        payment = session.exec(select(Payment)).one()
        assert (payment.amount_cents, payment.reference) == (order.gross_cents, "CRO 123")
        kinds = [m.kind for m in session.exec(select(OutboxMessage).order_by(OutboxMessage.id))]
        assert kinds == ["order_confirmation", "renewal_completed"]
        mail = session.exec(
            select(OutboxMessage).where(OutboxMessage.kind == "renewal_completed")
        ).one()
        assert mail.to_address == "mario.rossi@example.it"
        assert "10/01/2029" in mail.message and str(done.number) in mail.subject
        assert session.exec(select(AuditEvent).where(AuditEvent.action == "payment.register")).one()

    again = payments.register_payment(
        engine, SYSTEM, done.number, done.quote.gross, "bonifico", TODAY, today=TODAY
    )
    assert again.already_paid and again.renewed == ()
    assert str(done.number) in again.message
    assert get(engine, Mailbox, book["pro"]).expiry == date(2029, 1, 10)
    with Session(engine) as session:
        assert len(session.exec(select(Payment)).all()) == 1
        assert len(session.exec(select(OutboxMessage)).all()) == 2


def test_plan_change_and_downgrade_empty_the_archive(engine, book):
    def to_standard(items):
        return tuple(
            replace(i, plan=Plan.STANDARD, extra_archive_gb=0, archive_deletion_confirmed=True)
            for i in items
        )

    done = confirm_renewal(engine, [book["pro"]], TODAY, items=to_standard)
    payments.register_payment(
        engine, SYSTEM, done.order_id, done.quote.gross, "carta", TODAY, today=TODAY
    )
    pro = get(engine, Mailbox, book["pro"])
    assert (pro.plan, pro.archive_used_mb, pro.extra_archive_gb) == ("STANDARD", 0, 0)
    assert pro.mailbox_used_mb == 300


@pytest.mark.parametrize("amount", ["1.00", "0.01"])
def test_wrong_amount_is_refused_and_nothing_changes(engine, book, amount):
    done = confirm_renewal(engine, [book["std"]], TODAY)
    wrong = done.quote.gross + Decimal(amount)
    with pytest.raises(PaymentRefused, match=str(done.number)):
        payments.register_payment(engine, SYSTEM, done.number, wrong, "bonifico", today=TODAY)
    with pytest.raises(PaymentRefused):
        payments.register_payment(
            engine,
            SYSTEM,
            done.number,
            done.quote.gross + Decimal("0.001"),
            "bonifico",
            today=TODAY,
        )
    assert get(engine, Order, done.order_id).status == OrderStatus.AWAITING_PAYMENT.value
    assert get(engine, Mailbox, book["std"]).expiry == date(2026, 12, 20)


def test_cancelled_order_draft_and_cancelled_mailbox_are_refused(engine, book):
    done = confirm_renewal(engine, [book["std"]], TODAY)
    result = payments.cancel_order(engine, SYSTEM, done.number)
    assert not result.already_cancelled and result.released_mailboxes == 1
    assert payments.cancel_order(engine, SYSTEM, done.number).already_cancelled
    with pytest.raises(PaymentRefused):
        payments.register_payment(
            engine, SYSTEM, done.number, done.quote.gross, "bonifico", today=TODAY
        )
    order = get(engine, Order, done.order_id)
    assert order.status == OrderStatus.CANCELLED.value and order.cancelled_at is not None

    draft = orders.start_renewal(engine, SYSTEM, [book["std"]], TODAY)  # released: renewable
    with pytest.raises(PaymentRefused):
        payments.register_payment(
            engine, SYSTEM, draft.order_id, Decimal("0.00"), "bonifico", today=TODAY
        )
    with pytest.raises(PaymentRefused):
        payments.cancel_order(engine, SYSTEM, draft.order_id)
    orders.discard_draft(engine, SYSTEM, draft.order_id)

    # Confirmed while Sospesa, paid when already Cancellata (91 days after expiry).
    late = confirm_renewal(engine, [book["std"]], date(2027, 3, 1))
    cancelled_day = date(2026, 12, 20) + timedelta(days=91)
    with pytest.raises(PaymentRefused, match="studio.rossi@pec.it"):
        payments.register_payment(
            engine,
            SYSTEM,
            late.number,
            late.quote.gross,
            "bonifico",
            cancelled_day,
            today=cancelled_day,
        )
    # A transfer made on the last day of Sospesa and registered later still counts.
    paid = payments.register_payment(
        engine,
        SYSTEM,
        late.number,
        late.quote.gross,
        "bonifico",
        cancelled_day - timedelta(days=1),
        today=cancelled_day + timedelta(days=3),
    )
    assert paid.renewed[0].new_expiry == date(2027, 12, 20)


def test_paid_order_cannot_be_cancelled_and_future_date_refused(engine, book):
    done = confirm_renewal(engine, [book["std"]], TODAY)
    with pytest.raises(PaymentRefused):
        payments.register_payment(
            engine,
            SYSTEM,
            done.number,
            done.quote.gross,
            "bonifico",
            TODAY + timedelta(days=1),
            today=TODAY,
        )
    payments.register_payment(
        engine, SYSTEM, done.number, done.quote.gross, "bonifico", today=TODAY
    )
    with pytest.raises(PaymentRefused):
        payments.cancel_order(engine, SYSTEM, done.number)


def test_other_resellers_orders_are_out_of_reach_and_audited(engine, book):
    done = confirm_renewal(engine, [book["std"]], TODAY)
    other = add_reseller(engine, "Altra Rivendita")
    stranger = Actor("altro", Role.RESELLER, reseller_id=other)
    with pytest.raises(AccessDenied):
        payments.register_payment(
            engine, stranger, done.number, done.quote.gross, "bonifico", today=TODAY
        )
    with pytest.raises(AccessDenied):
        payments.cancel_order(engine, stranger, done.number)
    owner = Actor("rivendita", Role.RESELLER, reseller_id=book["reseller"])
    back_office = Actor("bo", Role.BACK_OFFICE)
    assert payments.cancel_order(engine, owner, done.number).released_mailboxes == 1
    assert payments.cancel_order(engine, back_office, done.number).already_cancelled
    with Session(engine) as session:
        denied = session.exec(select(AuditEvent).where(AuditEvent.outcome == "denied")).all()
        assert {e.action for e in denied} == {"payment.register", "order.cancel"}
    with pytest.raises(LookupError):
        payments.register_payment(
            engine, SYSTEM, 1_999_999_999, Decimal("1.00"), "bonifico", today=TODAY
        )


def test_prepaid_credit_pays_at_once_when_it_covers_the_total(engine, book):
    done = confirm_renewal(engine, [book["std"]], TODAY, method=PaymentMethod.PREPAID_CREDIT)
    assert done.paid
    gross_cents = get(engine, Order, done.order_id).gross_cents
    assert get(engine, Reseller, book["reseller"]).credit_cents == 10_000 - gross_cents
    assert get(engine, Mailbox, book["std"]).expiry == date(2027, 12, 20)
    with Session(engine) as session:
        movement = session.exec(select(CreditMovement)).one()
        assert (movement.amount_cents, movement.order_id) == (-gross_cents, done.order_id)
        assert session.exec(select(Payment)).one().method == "credito"
    assert payments.pay_with_credit(engine, SYSTEM, done.order_id, TODAY)  # already paid
    assert get(engine, Reseller, book["reseller"]).credit_cents == 10_000 - gross_cents


def test_prepaid_credit_short_leaves_the_order_awaiting_payment(engine, book):
    def premium(items):
        return tuple(replace(i, plan=Plan.PREMIUM, extra_archive_gb=10) for i in items)

    done = confirm_renewal(
        engine, [book["pro"]], TODAY, method=PaymentMethod.PREPAID_CREDIT, items=premium, years=3
    )
    assert not done.paid
    assert get(engine, Order, done.order_id).status == OrderStatus.AWAITING_PAYMENT.value
    assert get(engine, Reseller, book["reseller"]).credit_cents == 10_000
    assert get(engine, Mailbox, book["pro"]).expiry == date(2027, 1, 10)
    with Session(engine) as session:
        assert session.exec(select(CreditMovement)).all() == []
        assert session.exec(select(Payment)).all() == []

    credit.top_up(engine, SYSTEM, book["reseller"], Decimal("500.00"))
    assert payments.pay_with_credit(engine, SYSTEM, done.order_id, TODAY)
    balance = credit.balance(engine, SYSTEM, book["reseller"]).balance
    assert balance == Decimal("600.00") - done.quote.gross
    history = credit.movements(engine, SYSTEM, book["reseller"])
    assert [m.amount for m in history] == [-done.quote.gross, Decimal("500.00")]
    assert history[0].order_number == done.number


def test_credit_top_up_is_for_administrators(engine, book):
    reseller_actor = Actor("rivendita", Role.RESELLER, reseller_id=book["reseller"])
    with pytest.raises(AccessDenied):
        credit.top_up(engine, reseller_actor, book["reseller"], Decimal("10.00"))
    with pytest.raises(ValueError):
        credit.top_up(engine, SYSTEM, book["reseller"], Decimal("-1.00"))
    with pytest.raises(ValueError):
        credit.top_up(engine, SYSTEM, book["reseller"], Decimal("1.005"))
    assert credit.balance(engine, reseller_actor, book["reseller"]).balance == Decimal("100.00")
    with pytest.raises(AccessDenied):
        credit.balance(engine, Actor("x", Role.RESELLER, reseller_id=999), book["reseller"])
    with pytest.raises(AccessDenied):
        credit.balance(
            engine, Actor("kiosk", Role.RESELLER, holder_id=book["holder"]), book["reseller"]
        )
    assert [b.reseller_id for b in credit.balances(engine, reseller_actor)] == [book["reseller"]]


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("25,00", "25.00"),
        ("25.00", "25.00"),
        ("30,5", "30.50"),
        ("1.234,56", "1234.56"),
        ("1,234.56", "1234.56"),
        ("€ 30,50", "30.50"),
        ("30,50\xa0€", "30.50"),
        ("1234", "1234.00"),
        ("1.234.567,00", "1234567.00"),
    ],
)
def test_parse_money_is_exact(text, amount):
    assert parse_money(text) == Decimal(amount)


@pytest.mark.parametrize("text", ["", "abc", "25,001", "1.234", "1,234", "25.0.0", "2,5,0"])
def test_parse_money_refuses_what_it_cannot_read_exactly(text):
    with pytest.raises(ValueError):
        parse_money(text)


@pytest.mark.parametrize("method", ["bonifico", "carta", "bollettino", "paypal", "credito"])
def test_a_reseller_cannot_register_a_payment_it_pays_with_credit(engine, book, method):
    done = confirm_renewal(engine, [book["std"]], TODAY)
    shop = Actor("negozio", Role.RESELLER, reseller_id=book["reseller"])
    with pytest.raises(AccessDenied):
        payments.register_payment(engine, shop, done.number, done.quote.gross, method, today=TODAY)
    with pytest.raises(AccessDenied):
        import_statement(
            engine, shop, f"Data;Importo;Causale\n26/11/2026;1,00;{done.number}\n", today=TODAY
        )
    assert get(engine, Order, done.order_id).status == OrderStatus.AWAITING_PAYMENT.value
    with Session(engine) as session:
        denied = session.exec(select(AuditEvent).where(AuditEvent.outcome == "denied")).all()
        assert [e.action for e in denied] == ["payment.register", "payment.import"]

    result = payments.pay_with_credit(engine, shop, done.number, TODAY)
    assert result.method is PaymentMethod.PREPAID_CREDIT and not result.already_paid
    assert get(engine, Order, done.order_id).status == OrderStatus.PAID.value
    assert get(engine, Reseller, book["reseller"]).credit_cents == 10_000 - to_cents(
        done.quote.gross
    )


def test_a_credit_short_of_the_total_is_refused_and_audited(engine, book):
    done = confirm_renewal(engine, [book["pro"]], TODAY, years=3)
    with Session(engine) as session:
        reseller = session.get(Reseller, book["reseller"])
        reseller.credit_cents = 100
        session.add(reseller)
        session.commit()
    shop = Actor("negozio", Role.RESELLER, reseller_id=book["reseller"])
    with pytest.raises(PaymentRefused) as refused:
        payments.pay_with_credit(engine, shop, done.number, TODAY)
    assert str(done.number) in refused.value.message
    assert get(engine, Order, done.order_id).status == OrderStatus.AWAITING_PAYMENT.value
    with Session(engine) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.outcome == "refused")).one()
        assert event.action == "payment.credit"


# --- a whole book's order: every mailbox renewed by one statement -------------------------


def _many(engine, count: int, expiry_of) -> tuple[int, list[int]]:
    """`count` mailboxes of one reseller's three holders, written in one statement."""
    reseller = add_reseller(engine, "Grande Srl", email="ordini@grande.example.it")
    holders = [add_holder(engine, reseller_id=reseller) for _ in range(3)]
    with Session(engine) as session:
        session.execute(
            insert(Mailbox),
            [
                {
                    "address": f"casella{i:05d}@pec.example.it",
                    "holder_id": holders[i % 3],
                    "reseller_id": reseller,
                    "plan": ("STANDARD", "PRO", "PREMIUM")[i % 3],
                    "extra_archive_gb": 1 if i % 3 else 0,
                    "archive_used_mb": 500 if i % 3 else 0,
                    "expiry": expiry_of(i),
                }
                for i in range(count)
            ],
        )
        session.commit()
        ids = list(session.exec(select(Mailbox.id).order_by(col(Mailbox.id))).all())
    return reseller, ids


def _place(engine, ids, today, years=1, auto_renew=False, items=None):
    def choose(draft):
        return replace(
            draft,
            items=items(draft.items) if items else draft.items,
            years=years,
            auto_renew=auto_renew,
            payment_method=PaymentMethod.BANK_TRANSFER,
            consents=Consents(True, True, True),
        )

    _draft, [placed] = orders.place_renewal(engine, SYSTEM, ids, today, choose)
    return placed


def test_paying_an_order_of_thousands_renews_every_mailbox_at_once(engine):
    count = 3_000
    reseller, ids = _many(engine, count, lambda i: TODAY + timedelta(days=1 + i % 85))
    with Session(engine) as session:
        before = {m.id: (m.expiry, m.version) for m in session.exec(select(Mailbox)).all()}
    # Every tenth PRO/PREMIUM goes down to STANDARD: its archive is switched off.
    down = set(ids[1::10])

    def downgrade(items):
        return tuple(
            replace(i, plan=Plan.STANDARD, extra_archive_gb=0, archive_deletion_confirmed=True)
            if i.mailbox_id in down
            else i
            for i in items
        )

    placed = _place(engine, ids, TODAY, years=2, auto_renew=True, items=downgrade)
    result = payments.register_payment(
        engine, SYSTEM, placed.number, placed.quote.gross, "bonifico", today=TODAY
    )

    assert not result.already_paid and len(result.renewed) == count
    with Session(engine) as session:
        after = {m.id: m for m in session.exec(select(Mailbox)).all()}
        for mailbox_id, (old, version) in before.items():
            mailbox = after[mailbox_id]
            assert mailbox.expiry == renewed_expiry(old, 2)
            assert mailbox.version == version + 1
            assert mailbox.auto_renew and mailbox.renewal_years == 2
            assert mailbox.payment_method == PaymentMethod.BANK_TRANSFER.value
        for mailbox_id in down:
            assert after[mailbox_id].plan == Plan.STANDARD.value
            assert after[mailbox_id].extra_archive_gb == after[mailbox_id].archive_used_mb == 0
        kept = ids[2]  # a PREMIUM kept as it was
        assert after[kept].plan == "PREMIUM" and after[kept].archive_used_mb == 500
        assert session.exec(select(OpenRenewal)).all() == []
        order = session.get(Order, placed.order_id)
        assert order is not None and order.status == OrderStatus.PAID.value
        mails = session.exec(
            select(OutboxMessage).where(OutboxMessage.kind == "renewal_completed")
        ).all()
        events = session.exec(
            select(AuditEvent).where(AuditEvent.action == "payment.register")
        ).all()
    # One e-mail for the order, to the reseller it bills, summing the new expiries up.
    [mail] = mails
    assert mail.to_address == "ordini@grande.example.it"
    assert "casella00001@pec.example.it" not in mail.message
    [event] = events
    assert event.details["mailboxes"] == count
    assert _audited(event) == {
        (r.address, r.old_expiry.isoformat(), r.new_expiry.isoformat(), r.plan)
        for r in result.renewed
    }


def _audited(event) -> set[tuple[str, str | None, str, str]]:
    """(address, old expiry, new expiry, plan) of every mailbox a payment's audit row lists."""
    found = [
        (address, group["old_expiry"], group["new_expiry"], group["plan"])
        for group in event.details["renewed"]
        for address in group["addresses"]
    ]
    assert len(found) == len(set(found)) == event.details["mailboxes"]
    return set(found)


def test_a_long_order_is_invoiced_and_mailed_as_its_lines_one_by_one_would_be(engine):
    """Beyond 100 lines the invoice and the e-mail are summed up in the database: the same
    FatturaPA lines (periods kept only where every mailbox shares one) and the same text as
    the lines read one by one."""
    from pec_tui.db.models import Invoice, OrderLine
    from pec_tui.i18n import speaking
    from pec_tui.services import invoices, notifications
    from pec_tui.services.order_lines import order_line_facts

    count = 150
    # The PRO mailboxes (i % 3 == 1) share an expiry, the others do not.
    reseller, ids = _many(
        engine,
        count,
        lambda i: TODAY + timedelta(days=20 if i % 3 == 1 else 1 + i % 85),
    )
    placed = _place(engine, ids, TODAY, years=2)
    with Session(engine) as session:
        facts = order_line_facts(session, placed.order_id)
        descriptions = {
            line.id: line.description
            for line in session.exec(
                select(OrderLine).where(OrderLine.order_id == placed.order_id)
            ).all()
        }
        periods: dict[int | str, tuple[date, date]] = {}
        for mailbox in session.exec(select(Mailbox)).all():
            periods[mailbox.id] = periods[mailbox.address] = (
                mailbox.expiry,
                renewed_expiry(mailbox.expiry, 2),
            )
    assert len(facts) > invoices.ITEMISED_LINES
    expected = invoices.document_lines(invoices.invoice_lines(facts, descriptions, periods))
    with speaking(notifications.MAIL_LANGUAGE):
        text = notifications.order_lines_text(notifications.quote_of_lines(facts))

    result = payments.register_payment(
        engine, SYSTEM, placed.number, placed.quote.gross, "bonifico", today=TODAY
    )

    assert len(result.renewed) == count
    with Session(engine) as session:
        invoice = session.exec(select(Invoice).where(Invoice.order_id == placed.order_id)).one()
        [mail] = session.exec(
            select(OutboxMessage).where(OutboxMessage.kind == "renewal_completed")
        ).all()
    # Stored summed up: one row per description, price and years.
    assert len(invoice.lines) == len(expected) < 10
    assert invoices.document_lines(invoice.lines) == expected
    # STANDARD, PRO, PREMIUM, extra archive GB: only the PRO mailboxes share a period.
    assert [line.period_start for line in expected] == [
        None,
        TODAY + timedelta(days=20),
        None,
        None,
    ]
    body = email.message_from_string(mail.message, policy=email.policy.default).get_body()
    assert body is not None and text in body.get_content()


def test_a_long_order_with_a_line_of_no_renewed_mailbox_is_read_line_by_line(engine):
    """A line whose mailbox has no plan line in the order finds its period by address: the
    lines are then read one by one, as before."""
    from pec_tui.db.models import Invoice, OrderLine
    from pec_tui.services.order_lines import renewal_lines_summary

    reseller, ids = _many(engine, 120, lambda i: TODAY + timedelta(days=1 + i % 85))
    placed = _place(engine, ids, TODAY)
    with Session(engine) as session:
        old = {
            m.id: m.expiry for m in session.exec(select(Mailbox).where(col(Mailbox.id).in_(ids)))
        }
        assert renewal_lines_summary(session, placed.order_id, old) is not None
        session.add(
            OrderLine(
                order_id=placed.order_id,
                address="casella00001@pec.example.it",
                item="EXTRA_MAILBOX_GB",
                description="GB aggiuntivi casella",
                quantity=0,
                years=1,
                unit_cents=300,
                total_cents=0,
            )
        )
        session.commit()
        assert renewal_lines_summary(session, placed.order_id, old) is None

    payments.register_payment(
        engine, SYSTEM, placed.number, placed.quote.gross, "bonifico", today=TODAY
    )

    with Session(engine) as session:
        invoice = session.exec(select(Invoice).where(Invoice.order_id == placed.order_id)).one()
    # Every line stored, the added one with the period of its address's mailbox.
    assert len(invoice.lines) == 120 + 80 + 1
    added = invoice.lines[-1]
    assert added["mailbox_id"] is None and added["start"] == (TODAY + timedelta(days=2)).isoformat()


def test_a_29_february_expiry_moves_to_28_february_in_a_common_year(engine):
    today = date(2028, 2, 1)
    reseller = add_reseller(engine)
    holder = add_holder(engine, reseller_id=reseller)
    leap = add_mailbox(engine, holder, "bisestile@pec.it", date(2028, 2, 29), reseller_id=reseller)
    plain = add_mailbox(engine, holder, "marzo@pec.it", date(2028, 3, 1), reseller_id=reseller)
    placed = _place(engine, [leap, plain], today)

    payments.register_payment(
        engine, SYSTEM, placed.number, placed.quote.gross, "bonifico", today=today
    )

    assert get(engine, Mailbox, leap).expiry == date(2029, 2, 28)
    assert get(engine, Mailbox, plain).expiry == date(2029, 3, 1)


@pytest.mark.parametrize("years", [1, 4])
def test_29_february_expiries_in_a_long_order_are_renewed_as_one_by_one(engine, years):
    """The UPDATE of a whole order corrects only the expiries on 29 February: to 28
    February in a common year, kept in a leap year; every other day keeps its day."""
    today = date(2028, 2, 1)
    count = 150

    def expiry_of(i: int) -> date:
        return date(2028, 2, 29) if i % 5 == 0 else today + timedelta(days=i % 60)

    _reseller, ids = _many(engine, count, expiry_of)
    placed = _place(engine, ids, today, years=years)

    result = payments.register_payment(
        engine, SYSTEM, placed.number, placed.quote.gross, "bonifico", today=today
    )

    assert len(result.renewed) == count
    with Session(engine) as session:
        stored = {m.id: m.expiry for m in session.exec(select(Mailbox)).all()}
        [event] = session.exec(
            select(AuditEvent).where(AuditEvent.action == "payment.register")
        ).all()
    for i, mailbox_id in enumerate(ids):
        assert stored[mailbox_id] == renewed_expiry(expiry_of(i), years)
    leap_days = {stored[mailbox_id] for i, mailbox_id in enumerate(ids) if i % 5 == 0}
    assert leap_days == {date(2029, 2, 28) if years == 1 else date(2032, 2, 29)}
    assert {(r.mailbox_id, r.new_expiry) for r in result.renewed} == set(stored.items())
    assert _audited(event) == {
        (r.address, r.old_expiry.isoformat(), r.new_expiry.isoformat(), r.plan)
        for r in result.renewed
    }


def test_a_word_search_finds_a_long_orders_mailboxes_by_their_new_expiry(engine):
    """After the payment of a long order, the word search (on PostgreSQL `mailbox_search`,
    kept by the trigger on `mailbox`) filters and sorts on every mailbox's new expiry."""
    from pec_tui.services import mailboxes
    from pec_tui.services.mailboxes import MailboxFilter

    count = 150
    _reseller, ids = _many(engine, count, lambda i: TODAY + timedelta(days=1 + (i * 37) % 85))
    soon = MailboxFilter(search="casella", expiring_within_months=3)
    assert mailboxes.count(engine, SYSTEM, soon, TODAY) == count
    placed = _place(engine, ids, TODAY, years=1)

    result = payments.register_payment(
        engine, SYSTEM, placed.number, placed.quote.gross, "bonifico", today=TODAY
    )

    assert mailboxes.count(engine, SYSTEM, soon, TODAY) == 0
    everything = MailboxFilter(search="casella", sort="expiry")
    rows = mailboxes.page(engine, SYSTEM, everything, TODAY, limit=count + 1)
    new = {r.mailbox_id: r.new_expiry for r in result.renewed}
    assert [row.id for row in rows] == sorted(new, key=lambda i: (new[i], i))
    assert all(row.expiry == new[row.id] for row in rows)
    later = MailboxFilter(search="casella", expiry_month=new[ids[0]].replace(day=1))
    assert mailboxes.count(engine, SYSTEM, later, TODAY) == sum(
        1 for e in new.values() if (e.year, e.month) == (new[ids[0]].year, new[ids[0]].month)
    )
