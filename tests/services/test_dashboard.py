"""The dashboard's figures against a brute-force count over random small books.

Every figure (expiries per month with auto-renew and value, orders awaiting payment by age,
money paid per month, mailboxes per state) is recomputed here row by row in Python from
the rows the test wrote, for an administrator, an administrator filtering one reseller, a
reseller operator and a back-office operator, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert

from pec_tui.db.models import Holder, Mailbox, Order, Payment, PriceListItem, Reseller
from pec_tui.domain.enums import MailboxState, OrderStatus, Plan, PriceItem, Role
from pec_tui.domain.lifecycle import state_of
from pec_tui.domain.pricing import DEFAULT_PRICES, PriceList
from pec_tui.services import dashboard, mailboxes
from pec_tui.services.actor import AccessDenied, Actor
from pec_tui.services.mailboxes import MailboxFilter, MailboxSource

TODAY = date(2026, 12, 1)
RESELLERS = (1, 2)
ADMIN = Actor("admin", Role.ADMIN, operator_id=None)
BACK_OFFICE = Actor("bo", Role.BACK_OFFICE)


@dataclass(frozen=True)
class Box:
    reseller_id: int | None
    plan: Plan
    expiry: date
    auto_renew: bool
    extra_mailbox_gb: int
    extra_archive_gb: int


@dataclass(frozen=True)
class PlacedOrder:
    reseller_id: int | None
    status: OrderStatus
    created_at: datetime
    confirmed_at: datetime | None
    net_cents: int
    gross_cents: int
    paid_on: date | None  # a payment registered on this day


_resellers = st.sampled_from((None, *RESELLERS))
_days = st.integers(min_value=-500, max_value=500)
_boxes = st.builds(
    Box,
    reseller_id=_resellers,
    plan=st.sampled_from(list(Plan)),
    expiry=_days.map(lambda d: TODAY + timedelta(days=d)),
    auto_renew=st.booleans(),
    extra_mailbox_gb=st.integers(0, 5),
    extra_archive_gb=st.integers(0, 5),
)
_stamps = st.builds(
    lambda days, seconds: (
        datetime.combine(TODAY, time.min, tzinfo=UTC)
        - timedelta(days=days)
        + timedelta(seconds=seconds)
    ),
    st.integers(-2, 60),
    st.integers(0, 86_399),
)


@st.composite
def _orders(draw: st.DrawFn) -> PlacedOrder:
    status = draw(st.sampled_from(list(OrderStatus)))
    created = draw(_stamps)
    confirmed = None if status is OrderStatus.DRAFT else draw(st.one_of(st.none(), _stamps))
    net = draw(st.integers(0, 100_000))
    paid_on = None
    if status is OrderStatus.PAID:
        paid_on = TODAY + timedelta(days=draw(st.integers(-420, 5)))
    return PlacedOrder(
        draw(_resellers), status, created, confirmed, net, net + net * 22 // 100, paid_on
    )


_prices = st.fixed_dictionaries(
    {
        item: st.integers(0, 9_999).map(lambda c: Decimal(c) / 100)
        for item in (PriceItem.STANDARD, PriceItem.PRO, PriceItem.EXTRA_MAILBOX_GB)
    }
)


def _write_book(
    engine, boxes: list[Box], orders: list[PlacedOrder], prices: dict[PriceItem, Decimal]
) -> None:
    with engine.begin() as connection:
        for table in (Payment, Order, Mailbox, Holder, Reseller, PriceListItem):
            connection.execute(delete(table.__table__))
        connection.execute(
            insert(Reseller.__table__),
            [{"id": r, "name": f"Rivendita {r}", "credit_cents": 0} for r in RESELLERS],
        )
        connection.execute(
            insert(Holder.__table__),
            [
                {
                    "id": 1,
                    "kind": "privato",
                    "display_name": "Mario Rossi",
                    "reference_email": "m@example.it",
                    "country": "IT",
                    "split_payment": False,
                    "created_at": datetime.now(UTC),
                    "updated_at": datetime.now(UTC),
                    "version": 1,
                }
            ],
        )
        if prices:
            connection.execute(
                insert(PriceListItem.__table__),
                [
                    {"code": item.value, "amount_cents": int(amount * 100)}
                    for item, amount in prices.items()
                ],
            )
        if boxes:
            connection.execute(
                insert(Mailbox.__table__),
                [
                    {
                        "id": i + 1,
                        "address": f"box{i}@pec.example.it",
                        "holder_id": 1,
                        "reseller_id": box.reseller_id,
                        "plan": box.plan.value,
                        "expiry": box.expiry,
                        "auto_renew": box.auto_renew,
                        "extra_mailbox_gb": box.extra_mailbox_gb,
                        "extra_archive_gb": box.extra_archive_gb,
                    }
                    for i, box in enumerate(boxes)
                ],
            )
        for i, order in enumerate(orders):
            connection.execute(
                insert(Order.__table__).values(
                    id=i + 1,
                    type="rinnovo",
                    status=order.status.value,
                    reseller_id=order.reseller_id,
                    created_at=order.created_at,
                    updated_at=order.created_at,
                    confirmed_at=order.confirmed_at,
                    net_cents=order.net_cents,
                    vat_cents=order.gross_cents - order.net_cents,
                    gross_cents=order.gross_cents,
                )
            )
            if order.paid_on is not None:
                connection.execute(
                    insert(Payment.__table__).values(
                        order_id=i + 1,
                        amount_cents=order.gross_cents,
                        method="bonifico",
                        paid_on=order.paid_on,
                    )
                )


def _month(day: date) -> date:
    return day.replace(day=1)


def _in_book(reseller_id: int | None, book: int | None) -> bool:
    return book is None or reseller_id == book


def _expected(
    boxes: list[Box], orders: list[PlacedOrder], prices: PriceList, book: int | None
) -> dashboard.Dashboard:
    months = []
    year, month = TODAY.year, TODAY.month
    for _ in range(12):
        months.append(date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    renewals = []
    for m in months:
        expiring = [b for b in boxes if _in_book(b.reseller_id, book) and _month(b.expiry) == m]
        renewals.append(
            dashboard.MonthExpiries(
                m,
                sum(1 for b in expiring if b.auto_renew),
                sum(1 for b in expiring if not b.auto_renew),
                sum(
                    (
                        prices.yearly_price(b.plan, b.extra_mailbox_gb, b.extra_archive_gb)
                        for b in expiring
                    ),
                    Decimal("0"),
                ),
            )
        )
    buckets = {key: [0, 0, 0] for key in dashboard.AGE_BUCKETS}
    for order in orders:
        if order.status is not OrderStatus.AWAITING_PAYMENT:
            continue
        if not _in_book(order.reseller_id, book):
            continue
        since = (order.confirmed_at or order.created_at).astimezone(UTC).date()
        age = (TODAY - since).days
        key = "0-7" if age <= 7 else "8-30" if age <= 30 else "31+"
        buckets[key][0] += 1
        buckets[key][1] += order.net_cents
        buckets[key][2] += order.gross_cents
    awaiting = tuple(
        dashboard.AwaitingBucket(key, n, Decimal(net) / 100, Decimal(gross) / 100)
        for key, (n, net, gross) in buckets.items()
    )
    past = []
    year, month = TODAY.year, TODAY.month
    for _ in range(12):
        past.insert(0, date(year, month, 1))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    revenue = []
    for m in past:
        paid = [
            o
            for o in orders
            if o.paid_on is not None
            and _month(o.paid_on) == m
            and o.paid_on <= dashboard.month_end(m)
            and _in_book(o.reseller_id, book)
        ]
        revenue.append(
            dashboard.MonthRevenue(m, len(paid), Decimal(sum(o.gross_cents for o in paid)) / 100)
        )
    states = [state_of(b.expiry, TODAY) for b in boxes if _in_book(b.reseller_id, book)]
    return dashboard.Dashboard(
        TODAY,
        book,
        tuple(renewals),
        awaiting,
        tuple(revenue),
        dashboard.StateCounts(
            states.count(MailboxState.ACTIVE),
            states.count(MailboxState.SUSPENDED),
            states.count(MailboxState.CANCELLED),
        ),
    )


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    boxes=st.lists(_boxes, max_size=40),
    orders=st.lists(_orders(), max_size=15),
    prices=_prices,
    chosen=st.sampled_from(RESELLERS),
)
def test_every_figure_matches_a_brute_force_count(engine, boxes, orders, prices, chosen):
    _write_book(engine, boxes, orders, prices)
    price_list = PriceList({**DEFAULT_PRICES, **prices})
    reseller = Actor("rivenditore", Role.RESELLER, reseller_id=chosen)
    cases = [
        (ADMIN, None, None),
        (ADMIN, chosen, chosen),
        (BACK_OFFICE, chosen, chosen),
        (BACK_OFFICE, None, None),
        (reseller, None, chosen),
        (reseller, chosen, chosen),
    ]
    for actor, filtered, book in cases:
        got = dashboard.load_dashboard(engine, actor, TODAY, reseller_id=filtered)
        want = _expected(boxes, orders, price_list, book)
        assert got.renewals == want.renewals, (actor, filtered)
        assert got.awaiting == want.awaiting, (actor, filtered)
        assert got.revenue == want.revenue, (actor, filtered)
        assert got.states == want.states, (actor, filtered)
        assert got.reseller_id == book
        # The drill-down lists exactly the month's expiring mailboxes, in both sort orders.
        for figure in got.renewals[:3]:
            for sort in ("expiry", "address"):
                flt = MailboxFilter(expiry_month=figure.month, reseller_id=filtered, sort=sort)
                assert mailboxes.count(engine, actor, flt, TODAY) == figure.expiring
                rows = MailboxSource(engine, actor, flt, TODAY).rows(0, 100)
                assert len(rows) == figure.expiring
                assert all(dashboard.month_start(r.expiry) == figure.month for r in rows)


def test_a_reseller_cannot_read_another_resellers_book(engine):
    actor = Actor("rivenditore", Role.RESELLER, reseller_id=1)
    with pytest.raises(AccessDenied):
        dashboard.load_dashboard(engine, actor, TODAY, reseller_id=2)


def test_months_run_across_the_year_end():
    assert dashboard.months_from(date(2026, 11, 30), 3) == [
        date(2026, 11, 1),
        date(2026, 12, 1),
        date(2027, 1, 1),
    ]
    assert dashboard.month_end(date(2028, 2, 1)) == date(2028, 2, 29)
    assert dashboard.month_key(date(2027, 1, 1)) == "2027-01"
    with pytest.raises(ValueError):
        dashboard.renewals_by_month(None, ADMIN, TODAY, 0)  # type: ignore[arg-type]
