"""400 simulated days of a small book: the lifecycle job runs every day while customers renew
(or not), and the lifecycle rules hold throughout.

Customers by mailbox group:
  prompt    renew and pay on the day of the 30-day reminder;
  unpaid    confirm an order at the 30-day reminder and never pay it;
  silent    never do anything;
  late      renew and pay 10 days after expiry, while Sospesa;
  auto-rich auto-renew with prepaid credit, reseller with ample credit;
  auto-poor auto-renew with prepaid credit, reseller whose credit runs out;
  auto-bank auto-renew by bank transfer, paid two days after the order is made.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import Decimal

from book_builder import add_holder, add_mailbox, add_reseller, confirm_renewal
from sqlmodel import Session, select

from pec_tui.db.models import (
    Mailbox,
    OpenRenewal,
    Order,
    OrderLine,
    OutboxMessage,
    Payment,
    Reseller,
    SentNotice,
)
from pec_tui.domain.enums import MailboxState, OrderStatus
from pec_tui.domain.lifecycle import add_years, cancelled_from, state_of
from pec_tui.domain.money import from_cents
from pec_tui.services import payments
from pec_tui.services.actor import SYSTEM
from pec_tui.services.lifecycle import run_lifecycle

START = date(2027, 1, 1)
DAYS = 400
PER_GROUP = 30
GROUPS = ("prompt", "unpaid", "silent", "late", "auto-rich", "auto-poor", "auto-bank")
STANDARD_GROSS_CENTS = 1208  # 9,90 € + 22% VAT
POOR_CREDIT_RENEWALS = 12


def _build_book(engine) -> dict[int, str]:
    rich = add_reseller(engine, "Ricca Srl", credit_cents=1_000_000)
    poor = add_reseller(
        engine, "Povera Srl", credit_cents=POOR_CREDIT_RENEWALS * STANDARD_GROSS_CENTS
    )
    group_of: dict[int, str] = {}
    n = 0
    for group in GROUPS:
        reseller = {"auto-rich": rich, "auto-poor": poor}.get(group)
        for i in range(PER_GROUP):
            holder = add_holder(
                engine, (f"Nome{n}", group), f"titolare{n}@example.it", reseller_id=reseller
            )
            # Expiries spread over the simulated period, a few already inside the 90-day window.
            expiry = START + timedelta(days=(n * 37) % (DAYS - 60) - 20 + i % 3)
            fields = {"reseller_id": reseller}
            if group.startswith("auto"):
                fields.update(
                    auto_renew=True,
                    payment_method="bonifico" if group == "auto-bank" else "credito",
                )
            box = add_mailbox(engine, holder, f"box{n}.{group}@pec.it", expiry, **fields)
            group_of[box] = group
            n += 1
    return group_of


def _customers_act(engine, day: date, group_of: dict[int, str], state: dict) -> None:
    with Session(engine) as session:
        boxes = session.exec(select(Mailbox.id, Mailbox.expiry)).all()
        open_orders = dict(
            session.exec(
                select(OpenRenewal.mailbox_id, Order.id)
                .join(Order, Order.id == OpenRenewal.order_id)
                .where(Order.status == OrderStatus.AWAITING_PAYMENT.value)
            ).all()
        )
    for box, expiry in boxes:
        group = group_of[box]
        days_left = (expiry - day).days
        if group in ("prompt", "unpaid") and days_left == 30 and box not in open_orders:
            done = confirm_renewal(engine, [box], day)
            if group == "prompt":
                _pay(engine, done.order_id, day, state)
        elif group == "late" and days_left == -10 and box not in open_orders:
            done = confirm_renewal(engine, [box], day)
            _pay(engine, done.order_id, day, state)
        elif group == "auto-bank" and box in open_orders:
            created = state["seen_open"].setdefault(open_orders[box], day)
            if (day - created).days == 2:
                _pay(engine, open_orders[box], day, state)


def _pay(engine, order_id: int, day: date, state: dict) -> None:
    with Session(engine) as session:
        order = session.get(Order, order_id)
    result = payments.register_payment(
        engine, SYSTEM, order.number, from_cents(order.gross_cents), "bonifico", day, today=day
    )
    assert not result.already_paid
    # Paying twice changes nothing.
    assert payments.register_payment(
        engine, SYSTEM, order.number, from_cents(order.gross_cents), "bonifico", day, today=day
    ).already_paid
    state["payments"] += 1


def test_four_hundred_days_of_lifecycle(sqlite_engine):
    engine = sqlite_engine
    group_of = _build_book(engine)
    with Session(engine) as session:
        initial = {m.id: m.expiry for m in session.exec(select(Mailbox)).all()}
    state = {"payments": 0, "seen_open": {}}
    lapsed_rich: list[tuple[date, int]] = []

    for offset in range(DAYS):
        day = START + timedelta(days=offset)
        report = run_lifecycle(engine, day)
        assert not report.failures and not report.interrupted
        if offset % 7 == 0:
            # Running the job again the same day sends and creates nothing.
            assert not run_lifecycle(engine, day).changed_anything
        _customers_act(engine, day, group_of, state)
        with Session(engine) as session:
            for box, expiry in session.exec(select(Mailbox.id, Mailbox.expiry)).all():
                if (
                    group_of[box] == "auto-rich"
                    and state_of(expiry, day) is not MailboxState.ACTIVE
                ):
                    lapsed_rich.append((day, box))

    with Session(engine) as session:
        final = {m.id: m for m in session.exec(select(Mailbox)).all()}
        notices = session.exec(select(SentNotice)).all()
        outbox = session.exec(select(OutboxMessage)).all()
        paid_years: Counter[int] = Counter()
        for line, _payment in session.exec(
            select(OrderLine, Payment)
            .join(Payment, Payment.order_id == OrderLine.order_id)
            .where(OrderLine.plan.is_not(None))
        ).all():
            paid_years[line.mailbox_id] += line.years
        poor = session.exec(select(Reseller).where(Reseller.name == "Povera Srl")).one()

    end = START + timedelta(days=DAYS - 1)
    by_mailbox: dict[int, list[SentNotice]] = defaultdict(list)
    for notice in notices:
        by_mailbox[notice.mailbox_id].append(notice)

    # Auto-renew mailboxes never lapse while the credit lasts.
    assert lapsed_rich == []

    # Every paid renewal extended its mailbox exactly once, from the old expiry.
    for box, mailbox in final.items():
        assert mailbox.expiry == add_years(initial[box], paid_years[box]), mailbox.address
    assert state["payments"] > 0

    for box, group in group_of.items():
        expiry0 = initial[box]
        kinds = [(n.kind, n.expiry, n.sent_on) for n in by_mailbox[box]]
        # No notice twice (the database enforces it; the e-mails must agree).
        assert len(kinds) == len({(k, e) for k, e, _ in kinds})
        reminders = [(k, e, s) for k, e, s in kinds if k.startswith("reminder")]
        if group.startswith("auto"):
            assert reminders == [], (group, reminders)
        for kind, expiry, sent_on in reminders:
            days = int(kind.split("_")[1])
            if expiry - timedelta(days=days) >= START:
                assert sent_on == expiry - timedelta(days=days)  # on the very day
        if group in ("unpaid", "silent"):
            # Never paid: Sospesa from the day after expiry, Cancellata on day 91.
            assert final[box].expiry == expiry0
            lapse = {k: s for k, e, s in kinds if k in ("suspended", "cancelled")}
            if expiry0 + timedelta(days=1) <= end and expiry0 >= START:
                assert lapse["suspended"] == expiry0 + timedelta(days=1)
                assert state_of(expiry0, expiry0 + timedelta(days=1)) is MailboxState.SUSPENDED
            if cancelled_from(expiry0) <= end:
                assert lapse["cancelled"] == cancelled_from(expiry0)
                assert state_of(expiry0, cancelled_from(expiry0)) is MailboxState.CANCELLED
                assert state_of(expiry0, cancelled_from(expiry0) - timedelta(days=1)) is (
                    MailboxState.SUSPENDED
                )
        if group == "late" and expiry0 + timedelta(days=10) <= end and expiry0 >= START:
            # Suspended once for the old expiry, then renewed from it (not from the payment day).
            assert [e for k, e, _s in kinds if k == "suspended" and e == expiry0] == [expiry0]
            assert paid_years[box] >= 1  # and expiry == add_years(initial, paid years), above

    # Reminders and notices each produced exactly one e-mail.
    kinds_sent = Counter(m.kind for m in outbox)
    assert kinds_sent["expiry_reminder"] == sum(n.kind.startswith("reminder") for n in notices)
    assert kinds_sent["mailbox_suspended"] == sum(n.kind == "suspended" for n in notices)
    assert kinds_sent["mailbox_cancelled"] == sum(n.kind == "cancelled" for n in notices)

    # The poor reseller paid what its credit covered; the rest wait for payment.
    poor_boxes = [b for b, g in group_of.items() if g == "auto-poor"]
    renewed_poor = [b for b in poor_boxes if paid_years[b]]
    assert sum(paid_years[b] for b in poor_boxes) == POOR_CREDIT_RENEWALS
    assert poor.credit_cents == 0 and len(renewed_poor) <= POOR_CREDIT_RENEWALS
    assert kinds_sent["order_confirmation"] > 0

    assert Decimal(poor.credit_cents) == 0
