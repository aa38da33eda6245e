"""Automatic renewal orders placed in bulk (`placing.place_orders`): the same orders, lines,
reservations, e-mails, credit payments and audit events as placing them one at a time; a
mailbox put on an order meanwhile is left out; an interrupted run is finished by the next."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from book_builder import add_holder, add_mailbox, add_reseller, confirm_renewal, set_issuer
from sqlmodel import Session, col, select

from pec_tui.db.models import (
    AuditEvent,
    CreditMovement,
    Holder,
    Invoice,
    Mailbox,
    OpenRenewal,
    Order,
    OrderLine,
    OutboxMessage,
    Payment,
    Reseller,
    SentNotice,
)
from pec_tui.domain.draft import RenewalRefused
from pec_tui.domain.enums import OrderStatus
from pec_tui.services import delivery, lifecycle
from pec_tui.services.lifecycle import JOB_ACTOR, Notice, run_lifecycle
from pec_tui.services.payments import PaymentRefused, settle_many_with_credit
from pec_tui.services.placing import (
    Billing,
    ConfirmedOrder,
    Origin,
    mailbox_facts,
    place_orders,
)
from pec_tui.services.prices import load_price_list
from pec_tui.services.transactions import write_session

pytestmark = pytest.mark.usefixtures("italian")

EXPIRY = date(2027, 3, 31)
DAY = EXPIRY - timedelta(days=7)

# (plan, extra mailbox GB, years, payment method) of each mailbox of a group.
KINDS = [
    ("STANDARD", 0, 1, "bonifico"),
    ("PRO", 1, 2, "bollettino"),
    ("PREMIUM", 0, 1, None),
    ("PRO", 0, 1, "credito"),
    ("STANDARD", 1, 3, "bonifico"),
]


def _group(engine, prefix: str, reseller: int, holder: int, kinds=None) -> list[int]:
    """One automatic-renewal mailbox of `holder` per (plan, extra GB, years, payment) kind."""
    return [
        add_mailbox(
            engine,
            holder,
            f"{prefix}{i}@pec.it",
            EXPIRY,
            plan=plan,
            extra_mailbox_gb=gb,
            renewal_years=years,
            payment_method=method,
            auto_renew=True,
            reseller_id=reseller,
        )
        for i, (plan, gb, years, method) in enumerate(kinds or KINDS)
    ]


def _text(message) -> str:
    body = message.get_body(preferencelist=("plain",))
    return body.get_content() if body is not None else ""


def _what_was_written(engine, boxes: list[int], prefix: str) -> list[dict]:
    """Per mailbox: its order, lines, reservation, notice, e-mails and audit event, with the
    group's addresses and order numbers blanked so two groups compare."""
    found = []
    with Session(engine) as session:
        for box in boxes:
            mailbox = session.get_one(Mailbox, box)
            line = session.exec(select(OrderLine).where(OrderLine.mailbox_id == box)).first()
            assert line is not None
            order = session.get_one(Order, line.order_id)

            def n(value: object, order: Order = order, mailbox: Mailbox = mailbox) -> str:
                text = str(value).replace(mailbox.address, "ADDRESS").replace(prefix, "P")
                # The invoices' numbers follow the order they were issued in.
                text = re.sub(r"_\d{5}\.xml", "_INVOICE.xml", text)
                return text.replace(str(order.number), "NUMBER")

            columns = {
                c: n(getattr(order, c))
                for c in [column.key for column in Order.__table__.c]
                if c not in ("id", "draft_state") and not c.endswith("_at")
            }
            state = dict(order.draft_state or {})
            assert state.pop("mailboxes") == [box]
            columns["draft_state"] = n(state)
            lines = [
                n((x.item, x.description, x.quantity, x.years, x.unit_cents, x.total_cents, x.plan))
                for x in session.exec(
                    select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.id)
                )
            ]
            reserved = session.get(OpenRenewal, box)
            notices = session.exec(
                select(SentNotice.kind, SentNotice.expiry, SentNotice.sent_on).where(
                    SentNotice.mailbox_id == box
                )
            ).all()
            messages = [
                (m, delivery.parse_message(m.message))
                for m in session.exec(
                    select(OutboxMessage).where(
                        (OutboxMessage.order_id == order.id) | (OutboxMessage.mailbox_id == box)
                    )
                )
            ]
            mails = sorted(
                (m.kind, n(m.to_address), n(m.subject), n(p["From"]), n(_text(p)))
                for m, p in messages
            )
            events = sorted(
                (e.action, e.actor, e.terminal, e.outcome, n(e.details))
                for e in session.exec(
                    select(AuditEvent).where(
                        AuditEvent.entity == "order", AuditEvent.entity_id == str(order.id)
                    )
                )
            )
            found.append(
                {
                    "order": columns,
                    "confirmed": order.confirmed_at is not None,
                    "lines": lines,
                    "reserved": reserved is not None and reserved.order_id == order.id,
                    "notices": notices,
                    "mails": mails,
                    "events": events,
                    "expiry": mailbox.expiry,
                }
            )
    return found


def test_bulk_orders_are_those_placed_one_at_a_time(engine, monkeypatch):
    set_issuer(engine)
    reseller = add_reseller(engine, credit_cents=100_000, email="rivendita@example.it")
    holder = add_holder(engine, reseller_id=reseller)
    # A reseller whose credit pays for nothing: its credit orders wait for payment.
    poor = add_reseller(engine, "Povera Srl", credit_cents=500, email="povera@example.it")
    poor_holder = add_holder(engine, reseller_id=poor)
    bulk = _group(engine, "bulk", reseller, holder) + _group(engine, "bulkp", poor, poor_holder)
    report = run_lifecycle(engine, DAY)
    assert (report.renewal_orders, report.paid_with_credit, report.awaiting_payment) == (10, 1, 9)

    # The next group the old way: should a batch fail, the job places each mailbox alone.
    single = _group(engine, "single", reseller, holder) + _group(
        engine, "singlep", poor, poor_holder
    )

    def failing_batch(*_args, **_kwargs):
        raise RuntimeError("the batch fails")

    monkeypatch.setattr(lifecycle, "place_orders", failing_batch)
    report = run_lifecycle(engine, DAY)
    assert (report.renewal_orders, report.paid_with_credit, report.awaiting_payment) == (10, 1, 9)
    assert not report.failures

    written = _what_was_written(engine, bulk, "bulk")
    assert written == _what_was_written(engine, single, "single")
    # What was written, in substance.
    assert [w["reserved"] for w in written] == [True, True, True, False, True] + [True] * 5
    awaiting, paid = OrderStatus.AWAITING_PAYMENT.value, OrderStatus.PAID.value
    assert [w["order"]["status"] for w in written] == [awaiting] * 3 + [paid] + [awaiting] * 6
    assert written[3]["expiry"] == date(2028, 3, 31)  # renewed with credit
    assert written[8]["expiry"] == EXPIRY  # the poor reseller's credit order waits
    assert [e[0] for e in written[8]["events"]] == ["order.confirm", "payment.credit"]
    assert (
        written[8]["events"][1][3] == "refused"
        and "'balance': '5.00'" in written[8]["events"][1][4]
    )
    for w in written:
        assert w["notices"] == [(Notice.AUTO_RENEWAL.value, EXPIRY, DAY)]
        assert w["events"] and w["events"][0][0] == "order.confirm"
    assert [w["mails"][0][0] for w in written] == ["order_confirmation"] * 3 + [
        "renewal_completed"
    ] + ["order_confirmation"] * 6
    assert "NUMBER" in written[0]["mails"][0][2] and "ADDRESS" in written[0]["mails"][0][4]
    with Session(engine) as session:
        numbers = sorted(session.exec(select(Order.number)).all())
    assert numbers == list(range(1_000_000_000, 1_000_000_020))  # a block each, no gaps


def test_a_mailbox_put_on_an_order_meanwhile_is_skipped(engine, monkeypatch):
    holder = add_holder(engine)
    boxes = [
        add_mailbox(engine, holder, f"auto{i}@pec.it", EXPIRY, auto_renew=True) for i in range(3)
    ]
    batch = lifecycle._Run._auto_renewal_batch
    taken: list[int] = []

    def another_terminal_first(run, rows, window):
        # Between the job's page and its write transaction, a terminal renews auto1 (its
        # automatic renewal switched off to do so, and on again for the next years).
        _switch_auto_renew(engine, boxes[1], False)
        taken.append(confirm_renewal(engine, [boxes[1]], DAY).order_id)
        _switch_auto_renew(engine, boxes[1], True)
        return batch(run, rows, window)

    monkeypatch.setattr(lifecycle._Run, "_auto_renewal_batch", another_terminal_first)
    report = run_lifecycle(engine, DAY)
    assert report.renewal_orders == 2 and not report.failures
    with Session(engine) as session:
        reserved = dict(session.exec(select(OpenRenewal.mailbox_id, OpenRenewal.order_id)).all())
        auto = session.exec(select(Order.id).where(Order.auto_generated)).all()
    assert reserved[boxes[1]] == taken[0] and len(reserved) == 3 and len(auto) == 2


def _switch_auto_renew(engine, box: int, on: bool) -> None:
    with Session(engine) as session:
        mailbox = session.get_one(Mailbox, box)
        mailbox.auto_renew = on
        session.add(mailbox)
        session.commit()


def test_place_orders_refuses_a_draft_alone(engine):
    """Checked again in the batch: a mailbox already on an order, or one that is not
    renewable, is refused alone, and the others are placed."""
    holder = add_holder(engine)
    boxes = [
        add_mailbox(engine, holder, f"auto{i}@pec.it", EXPIRY, auto_renew=True) for i in range(3)
    ]
    lapsed = add_mailbox(engine, holder, "gone@pec.it", date(2020, 1, 1), auto_renew=True)
    _switch_auto_renew(engine, boxes[0], False)
    on_order = confirm_renewal(engine, [boxes[0]], DAY)
    _switch_auto_renew(engine, boxes[0], True)
    with Session(engine) as session:
        facts = {m.id: m for m in mailbox_facts(session, [*boxes, lapsed])}
        holder_row = session.get_one(Holder, holder)
        drafts = [
            lifecycle._Run._auto_renewal_draft(facts[i], holder_row) for i in [*boxes, lapsed]
        ]
        results = place_orders(
            session,
            JOB_ACTOR,
            drafts,
            DAY,
            Billing("IT60X0542811101000000123456", "PEC Spa"),
            load_price_list(session),
            Origin.AUTO_RENEWAL,
            facts,
        )
        session.commit()
    assert isinstance(results[0], RenewalRefused)
    assert str(on_order.number) in str(results[0])
    assert isinstance(results[1], ConfirmedOrder) and isinstance(results[2], ConfirmedOrder)
    assert isinstance(results[3], RenewalRefused)
    assert results[2].number == results[1].number + 1
    assert results[1].quote.gross == Decimal("12.08")  # STANDARD, one year, VAT included
    with Session(engine) as session:
        reserved = dict(session.exec(select(OpenRenewal.mailbox_id, OpenRenewal.order_id)).all())
    assert reserved == {
        boxes[0]: on_order.order_id,
        boxes[1]: results[1].order_id,
        boxes[2]: results[2].order_id,
    }


def test_an_interrupted_run_of_renewals_is_finished_by_the_next(engine, monkeypatch):
    monkeypatch.setattr(lifecycle, "AUTO_RENEWAL_BATCH", 2)
    holder = add_holder(engine)
    boxes = [
        add_mailbox(engine, holder, f"auto{i}@pec.it", EXPIRY, auto_renew=True) for i in range(5)
    ]
    ticks: list[int] = []
    report = run_lifecycle(
        engine,
        DAY,
        progress=lambda done, _total: ticks.append(done),
        cancelled=lambda: len(ticks) > 1,  # after the first batch
    )
    assert report.interrupted and report.renewal_orders == 2 and ticks == [0, 2]

    def state() -> tuple[list[int], list[int], list[int | None]]:
        with Session(engine) as session:
            reserved = sorted(session.exec(select(OpenRenewal.mailbox_id)).all())
            noticed = sorted(
                session.exec(
                    select(SentNotice.mailbox_id).where(
                        SentNotice.kind == Notice.AUTO_RENEWAL.value
                    )
                ).all()
            )
            mailed = sorted(
                session.exec(
                    select(OutboxMessage.order_id).where(OutboxMessage.kind == "order_confirmation")
                ).all()
            )
        return reserved, noticed, mailed

    reserved, noticed, mailed = state()
    assert reserved == noticed == boxes[:2] and len(mailed) == 2  # whole batches only

    report = run_lifecycle(engine, DAY)
    assert not report.interrupted and report.renewal_orders == 3
    reserved, noticed, mailed = state()
    assert reserved == noticed == boxes and len(set(mailed)) == 5
    assert not run_lifecycle(engine, DAY).changed_anything
    with Session(engine) as session:
        assert len(session.exec(select(Order)).all()) == 5


# Mailboxes whose orders the reseller's credit pays, in page order, until it runs short: a
# dear one it cannot pay, then a cheaper one it still can.
CREDIT_KINDS = [
    ("PRO", 0, 1),
    ("STANDARD", 0, 1),
    ("PREMIUM", 2, 3),
    ("STANDARD", 0, 1),
    ("PRO", 1, 2),
    ("STANDARD", 0, 1),
]


def _credit_group(engine, prefix: str, reseller: int, holder: int) -> list[int]:
    kinds = [(plan, gb, years, "credito") for plan, gb, years in CREDIT_KINDS]
    return _group(engine, prefix, reseller, holder, kinds)


def _money_written(engine, reseller: int, boxes: list[int]) -> dict:
    """The reseller's credit, its movements, and per mailbox its order's payment and
    invoice (the invoice's number as its place among the group's)."""
    with Session(engine) as session:
        orders = [
            session.get_one(
                Order,
                session.exec(
                    select(OrderLine.order_id).where(OrderLine.mailbox_id == box).distinct()
                ).one(),
            )
            for box in boxes
        ]
        payments = [
            session.exec(
                select(Payment.amount_cents, Payment.method, Payment.paid_on).where(
                    Payment.order_id == order.id
                )
            ).all()
            for order in orders
        ]
        invoices = [
            session.exec(
                select(Invoice.year, Invoice.number, Invoice.status, Invoice.gross_cents).where(
                    Invoice.order_id == order.id
                )
            ).all()
            for order in orders
        ]
        numbers = sorted(i[0][1] for i in invoices if i)
        movements = session.exec(
            select(CreditMovement.amount_cents, CreditMovement.balance_after_cents, Order.number)
            .join(Order, col(Order.id) == CreditMovement.order_id)
            .where(CreditMovement.reseller_id == reseller)
            .order_by(col(CreditMovement.id))
        ).all()
        # Which of the group's mailboxes each movement paid for (the orders paid at once
        # take their numbers before those of a batch left awaiting payment).
        place = {o.number: i for i, o in enumerate(orders)}
        return {
            "credit": session.get_one(Reseller, reseller).credit_cents,
            "gross": [o.gross_cents for o in orders],
            "status": [o.status for o in orders],
            "payments": payments,
            "invoices": [
                [(y, numbers.index(n), s, g) for y, n, s, g in found] for found in invoices
            ],
            "invoice_numbers_gap_free": numbers
            == list(range(numbers[0], numbers[0] + len(numbers)))
            if numbers
            else True,
            "movements": [(a, b, place[n]) for a, b, n in movements],
        }


def test_credit_paid_renewals_in_a_batch_are_those_placed_one_at_a_time(engine, monkeypatch):
    set_issuer(engine)
    # The credit is read once per batch and again after each payment: it must run out where
    # placing the orders one at a time runs out.
    start_credit = 10_000
    bulk_reseller = add_reseller(engine, "Bulk Srl", start_credit, "bulk@example.it")
    bulk_holder = add_holder(engine, reseller_id=bulk_reseller)
    bulk = _credit_group(engine, "bulk", bulk_reseller, bulk_holder)
    report = run_lifecycle(engine, DAY)
    assert not report.failures
    paid_in_bulk = report.paid_with_credit

    single_reseller = add_reseller(engine, "Single Srl", start_credit, "single@example.it")
    single_holder = add_holder(engine, reseller_id=single_reseller)
    single = _credit_group(engine, "single", single_reseller, single_holder)

    def failing_batch(*_args, **_kwargs):
        raise RuntimeError("the batch fails")

    monkeypatch.setattr(lifecycle, "place_orders", failing_batch)
    report = run_lifecycle(engine, DAY)
    assert not report.failures
    assert report.paid_with_credit == paid_in_bulk

    money = _money_written(engine, bulk_reseller, bulk)
    assert money == _money_written(engine, single_reseller, single)

    def written(boxes: list[int], prefix: str) -> list[dict]:
        found = _what_was_written(engine, boxes, prefix)
        for w in found:  # the two groups' holders and resellers differ
            del w["order"]["holder_id"], w["order"]["reseller_id"]
            for key in ("holder_snapshot", "draft_state"):
                w["order"][key] = re.sub(r"'holder_id': \d+", "", w["order"][key])
        return found

    for one, other in zip(written(bulk, "bulk"), written(single, "single"), strict=True):
        assert one == other
    # In page order, each order is paid while the credit left covers it.
    left, statuses = start_credit, []
    for gross in money["gross"]:
        paid = left >= gross
        left -= gross if paid else 0
        statuses.append(OrderStatus.PAID.value if paid else OrderStatus.AWAITING_PAYMENT.value)
    assert money["status"] == statuses
    assert money["credit"] == left
    # The credit ran out on the way, and a cheaper order after a refused one was still paid.
    assert OrderStatus.AWAITING_PAYMENT.value in statuses
    refused = statuses.index(OrderStatus.AWAITING_PAYMENT.value)
    assert OrderStatus.PAID.value in statuses[refused:]
    assert money["invoice_numbers_gap_free"]
    assert [bool(p) for p in money["payments"]] == [s == OrderStatus.PAID.value for s in statuses]


def test_paying_together_is_refused_whole_when_the_credit_falls_short(engine):
    set_issuer(engine)
    reseller = add_reseller(engine, "Povera Srl", 5_000, "povera@example.it")
    holder = add_holder(engine, reseller_id=reseller)
    boxes = _credit_group(engine, "short", reseller, holder)
    # The job pays what 50.00 covers; the rest wait.
    report = run_lifecycle(engine, DAY)
    assert 0 < report.paid_with_credit < len(boxes)
    with Session(engine) as session:
        waiting = session.exec(
            select(Order.id)
            .where(Order.status == OrderStatus.AWAITING_PAYMENT.value)
            .order_by(col(Order.id))
        ).all()
        before = (
            session.get_one(Reseller, reseller).credit_cents,
            len(session.exec(select(Payment)).all()),
            len(session.exec(select(Invoice)).all()),
        )
    assert waiting
    with pytest.raises(PaymentRefused), write_session(engine) as session:
        settle_many_with_credit(session, JOB_ACTOR, waiting, DAY)
    with Session(engine) as session:
        after = (
            session.get_one(Reseller, reseller).credit_cents,
            len(session.exec(select(Payment)).all()),
            len(session.exec(select(Invoice)).all()),
        )
        statuses = set(session.exec(select(Order.status).where(col(Order.id).in_(waiting))).all())
    assert after == before
    assert statuses == {OrderStatus.AWAITING_PAYMENT.value}
