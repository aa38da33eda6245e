"""The daily lifecycle job: reminders, lapse notices, automatic renewals; idempotent per day."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from book_builder import add_holder, add_mailbox, add_reseller, confirm_renewal, get
from sqlmodel import Session, select

from pec_tui.config import load_settings
from pec_tui.db.models import Mailbox, OpenRenewal, Order, OrderLine, OutboxMessage, SentNotice
from pec_tui.domain.enums import OrderStatus, PaymentMethod
from pec_tui.services import credit, delivery, lifecycle, payments
from pec_tui.services.actor import SYSTEM
from pec_tui.services.lifecycle import Notice, run_lifecycle

# These tests read Italian money, dates and words: the product's default language.
pytestmark = pytest.mark.usefixtures("italian")

EXPIRY = date(2027, 3, 31)


def _day(offset: int) -> date:
    return EXPIRY + timedelta(days=offset)


def _mails(engine, kind: str | None = None) -> list[OutboxMessage]:
    with Session(engine) as session:
        stmt = select(OutboxMessage).order_by(OutboxMessage.id)
        if kind:
            stmt = stmt.where(OutboxMessage.kind == kind)
        return list(session.exec(stmt).all())


def _notices(engine) -> list[tuple[int, str, date]]:
    with Session(engine) as session:
        rows = session.exec(select(SentNotice).order_by(SentNotice.id)).all()
        return [(n.mailbox_id, n.kind, n.expiry) for n in rows]


def _body(message: OutboxMessage) -> str:
    return delivery.parse_message(message.message).get_content()


def test_reminders_at_90_30_7_days_once_each(engine):
    holder = add_holder(engine)
    box = add_mailbox(engine, holder, "mario.rossi@pec.it", EXPIRY)
    add_mailbox(
        engine, holder, "auto.rossi@pec.it", EXPIRY, auto_renew=True, payment_method="carta"
    )
    for offset in (-91, -90, -90, -89, -31, -30, -30, -8, -7, -1, 0):
        run_lifecycle(engine, _day(offset))
    reminders = [n for n in _notices(engine) if n[1].startswith("reminder")]
    assert reminders == [
        (box, "reminder_90", EXPIRY),
        (box, "reminder_30", EXPIRY),
        (box, "reminder_7", EXPIRY),
    ]
    mails = _mails(engine, "expiry_reminder")
    assert len(mails) == 3 and {m.to_address for m in mails} == {"mario.rossi@example.it"}
    assert "31/03/2027" in mails[0].subject
    body = _body(mails[-1])
    assert "Mario Rossi" in body and "31/03/2027" in body and "9,90\xa0€" in body


def test_missed_days_catch_up_with_the_most_urgent_reminder_only(engine):
    holder = add_holder(engine)
    box = add_mailbox(engine, holder, "mario.rossi@pec.it", EXPIRY)
    report = run_lifecycle(engine, _day(-20))
    assert report.reminders == 1
    run_lifecycle(engine, _day(-19))
    run_lifecycle(engine, _day(-3))
    assert [n[1] for n in _notices(engine)] == ["reminder_30", "reminder_7"]
    assert all(n[0] == box for n in _notices(engine))


def test_reminder_of_a_mailbox_with_an_open_order_carries_its_payment_instructions(engine):
    holder = add_holder(engine)
    box = add_mailbox(engine, holder, "mario.rossi@pec.it", EXPIRY)
    done = confirm_renewal(engine, [box], _day(-40))
    run_lifecycle(engine, _day(-30))
    body = _body(_mails(engine, "expiry_reminder")[0])
    assert str(done.number) in body and "IT60X0542811101000000123456" in body


def test_suspension_and_cancellation_notices_once(engine):
    holder = add_holder(engine)
    box = add_mailbox(engine, holder, "mario.rossi@pec.it", EXPIRY)
    for offset in (0, 1, 1, 2, 90, 91, 91, 92):
        run_lifecycle(engine, _day(offset))
    lapse = [n for n in _notices(engine) if not n[1].startswith("reminder")]
    assert lapse == [(box, "suspended", EXPIRY), (box, "cancelled", EXPIRY)]
    suspended = _mails(engine, "mailbox_suspended")[0]
    assert "29/06/2027" in _body(suspended)  # last day to renew: 90 days after expiry
    assert "30/06/2027" in _body(_mails(engine, "mailbox_cancelled")[0])


def test_cancellation_notice_catches_up_but_not_for_old_history(engine):
    holder = add_holder(engine)
    add_mailbox(engine, holder, "recent@pec.it", _day(-100))
    add_mailbox(engine, holder, "ancient@pec.it", _day(-400))
    report = run_lifecycle(engine, EXPIRY)
    assert report.cancelled_notices == 1 and report.suspended_notices == 0
    assert ["recent@pec.it" in m.subject for m in _mails(engine)] == [True]


def test_auto_renewal_paid_with_credit(engine):
    reseller = add_reseller(engine, credit_cents=10_000)
    holder = add_holder(engine, reseller_id=reseller)
    box = add_mailbox(
        engine,
        holder,
        "auto.rossi@pec.it",
        EXPIRY,
        plan="PRO",
        extra_mailbox_gb=1,
        auto_renew=True,
        renewal_years=2,
        payment_method="credito",
        reseller_id=reseller,
    )
    assert run_lifecycle(engine, _day(-8)).renewal_orders == 0
    report = run_lifecycle(engine, _day(-7))
    assert (report.renewal_orders, report.paid_with_credit, report.awaiting_payment) == (1, 1, 0)
    mailbox = get(engine, Mailbox, box)
    assert (mailbox.expiry, mailbox.plan, mailbox.extra_mailbox_gb) == (date(2029, 3, 31), "PRO", 1)
    gross = (Decimal("25.00") + Decimal("3.00")) * 2 * Decimal("1.22")
    assert credit.balance(engine, SYSTEM, reseller).balance == Decimal("100.00") - gross
    with Session(engine) as session:
        order = session.exec(select(Order)).one()
        assert order.auto_generated and order.status == OrderStatus.PAID.value
        assert order.number == 1_000_000_000 and order.years == 2
        lines = session.exec(select(OrderLine).where(OrderLine.order_id == order.id)).all()
        assert sorted(line.item for line in lines) == ["EXTRA_MAILBOX_GB", "PRO"]
    assert [m.kind for m in _mails(engine)] == ["renewal_completed"]

    again = run_lifecycle(engine, _day(-7))
    assert not again.changed_anything
    assert len(_mails(engine)) == 1


def test_auto_renewal_without_enough_credit_waits_for_payment_then_retries(engine):
    reseller = add_reseller(engine, credit_cents=100)
    holder = add_holder(engine, reseller_id=reseller)
    box = add_mailbox(
        engine,
        holder,
        "auto.rossi@pec.it",
        EXPIRY,
        auto_renew=True,
        payment_method="credito",
        reseller_id=reseller,
    )
    report = run_lifecycle(engine, _day(-7))
    assert (report.renewal_orders, report.paid_with_credit, report.awaiting_payment) == (1, 0, 1)
    with Session(engine) as session:
        order = session.exec(select(Order)).one()
        assert order.status == OrderStatus.AWAITING_PAYMENT.value
        assert session.get(OpenRenewal, box).order_id == order.id
    mail = _mails(engine, "order_confirmation")[0]
    assert str(order.number) in mail.subject and "12,08\xa0€" in _body(mail)
    assert get(engine, Mailbox, box).expiry == EXPIRY

    assert run_lifecycle(engine, _day(-6)).renewal_orders == 0  # one order per expiry
    credit.top_up(engine, SYSTEM, reseller, Decimal("20.00"))
    assert run_lifecycle(engine, _day(-5)).paid_with_credit == 1
    assert get(engine, Mailbox, box).expiry == date(2028, 3, 31)
    assert run_lifecycle(engine, _day(-5)).paid_with_credit == 0


def test_auto_renewal_by_bank_transfer_sends_instructions_and_respects_cancellation(engine):
    holder = add_holder(engine)
    box = add_mailbox(
        engine, holder, "auto.rossi@pec.it", EXPIRY, auto_renew=True, payment_method="bonifico"
    )
    settings = load_settings(bank_iban="IT02L1234512345123456789012", bank_beneficiary="Prova")
    run_lifecycle(engine, _day(-7), settings=settings)
    with Session(engine) as session:
        order = session.exec(select(Order)).one()
    body = _body(_mails(engine, "order_confirmation")[0])
    assert "IT02L1234512345123456789012" in body and str(order.number) in body
    assert "Mario Rossi" in body

    payments.cancel_order(engine, SYSTEM, order.number)
    run_lifecycle(engine, _day(-6), settings=settings)
    with Session(engine) as session:
        assert len(session.exec(select(Order)).all()) == 1  # not made again for this expiry
    assert get(engine, Mailbox, box).auto_renew


def test_interrupted_run_stops_and_the_next_one_finishes(engine):
    holder = add_holder(engine)
    for i in range(3):
        add_mailbox(engine, holder, f"box{i}@pec.it", EXPIRY)
    seen: list[tuple[int, int]] = []
    report = run_lifecycle(
        engine,
        _day(-90),
        progress=lambda done, total: seen.append((done, total)),
        cancelled=lambda: True,
    )
    assert report.interrupted
    report = run_lifecycle(engine, _day(-90), progress=lambda d, t: seen.append((d, t)))
    assert not report.interrupted and report.reminders == 3
    assert seen[-1] == (3, 3)
    assert run_lifecycle(engine, _day(-90)).reminders == 0


def test_notice_kinds_are_the_stored_values():
    assert {n.value for n in Notice} >= {"reminder_90", "reminder_30", "reminder_7"}
    assert all(len(n.value) <= 24 for n in Notice)
    assert PaymentMethod.PREPAID_CREDIT.value == "credito"


def test_a_page_another_run_noticed_meanwhile_is_read_again_under_the_lock(engine, monkeypatch):
    """The next page is read while this one is written: when another run sent one of its
    notices in between, the page is read again under the write lock and nothing is sent
    twice or skipped."""
    monkeypatch.setattr(lifecycle, "BATCH_SIZE", 3)
    holder = add_holder(engine)
    boxes = [add_mailbox(engine, holder, f"box{i}@pec.it", EXPIRY) for i in range(8)]
    prepared = lifecycle._Run._prepared_page
    calls = []

    def racing(self, window, *args):
        page = prepared(self, window, *args)
        if not calls and window.notice is Notice.REMINDER_30:
            with Session(engine) as other:  # another run sends box1's notice first
                other.add(
                    SentNotice(
                        mailbox_id=boxes[1], kind="reminder_30", expiry=EXPIRY, sent_on=_day(-20)
                    )
                )
                other.commit()
        calls.append(window.notice)
        return page

    monkeypatch.setattr(lifecycle._Run, "_prepared_page", racing)
    report = run_lifecycle(engine, _day(-20))
    assert report.reminders == 7
    assert sorted(n[0] for n in _notices(engine)) == sorted(boxes)
    sent = [m.mailbox_id for m in _mails(engine, "expiry_reminder")]
    assert sorted(sent) == sorted(b for b in boxes if b != boxes[1])
