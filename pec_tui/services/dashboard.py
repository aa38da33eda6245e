"""Scadenze e incassi: the figures of the renewals dashboard and of `pec-tui report`.

Four figures, each one indexed GROUP BY query whose result is a few hundred rows at most,
however large the book (months are summed up here, from one row per day):

- the next calendar months: mailboxes expiring in each, with rinnovo automatico on and off,
  and what they are worth at today's prices (plan and extra GB for one year, VAT excluded);
- orders awaiting payment by age (0–7, 8–30, over 30 days since confirmation);
- money paid per month over the last months (by the payment's date, VAT included);
- mailboxes per state today (Attiva, Sospesa, Cancellata).

A reseller operator sees its own book; administrators and back office see every reseller's,
or one reseller's when they filter. Nothing here imports Textual.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import ColumnElement, Engine, case, func, select, true
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.sql.operators import custom_op

from pec_tui.db.models import Mailbox, Order, Payment, Reseller
from pec_tui.domain.enums import MailboxState, OrderStatus, Plan, PriceItem
from pec_tui.domain.lifecycle import SUSPENSION_DAYS, add_months
from pec_tui.domain.money import from_cents
from pec_tui.domain.pricing import PriceList
from pec_tui.services.actor import AccessDenied, Actor
from pec_tui.services.prices import get_price_list

DEFAULT_MONTHS = 12
MAX_MONTHS = 60

_m = Mailbox.__table__.c
_o = Order.__table__.c
_p = Payment.__table__.c

AgeBucketKey = Literal["0-7", "8-30", "31+"]
AGE_BUCKETS: tuple[AgeBucketKey, ...] = ("0-7", "8-30", "31+")


@dataclass(frozen=True)
class MonthExpiries:
    """Mailboxes whose expiry falls in `month` (its first day), and what they are worth."""

    month: date
    auto_renew: int
    manual: int
    expected_revenue: Decimal  # one year of plan and extra GB at today's prices, VAT excluded

    @property
    def expiring(self) -> int:
        return self.auto_renew + self.manual


@dataclass(frozen=True)
class AwaitingBucket:
    """Orders awaiting payment confirmed `key` days ago, and the money they wait for."""

    key: AgeBucketKey
    orders: int
    net: Decimal
    gross: Decimal


@dataclass(frozen=True)
class MonthRevenue:
    """Payments with a date in `month`: how many, and the money paid (VAT included)."""

    month: date
    payments: int
    paid: Decimal


@dataclass(frozen=True)
class StateCounts:
    active: int
    suspended: int
    cancelled: int

    def of(self, state: MailboxState) -> int:
        return {
            MailboxState.ACTIVE: self.active,
            MailboxState.SUSPENDED: self.suspended,
            MailboxState.CANCELLED: self.cancelled,
        }[state]

    @property
    def total(self) -> int:
        return self.active + self.suspended + self.cancelled


@dataclass(frozen=True)
class Dashboard:
    """Every figure of the dashboard, for one day and one book."""

    today: date
    reseller_id: int | None
    renewals: tuple[MonthExpiries, ...]
    awaiting: tuple[AwaitingBucket, ...]
    revenue: tuple[MonthRevenue, ...]
    states: StateCounts


# --- months ----------------------------------------------------------------------------------


def month_start(day: date) -> date:
    return day.replace(day=1)


def months_from(first: date, count: int) -> list[date]:
    """The first days of `count` calendar months from the month of `first`."""
    start = month_start(first)
    return [add_months(start, i) for i in range(count)]


def month_end(month: date) -> date:
    """The last day of the month starting on `month`."""
    return add_months(month_start(month), 1) - timedelta(days=1)


def _check_months(months: int) -> None:
    if not 1 <= months <= MAX_MONTHS:
        raise ValueError(f"months must be from 1 to {MAX_MONTHS}")


# --- scope -------------------------------------------------------------------------------------


def book_of(actor: Actor, reseller_id: int | None) -> int | None:
    """Whose book the figures count: the actor's own reseller, or the one an admin chose.

    None means every reseller's (and the direct customers'). A reseller operator asking for
    another reseller's book is refused.
    """
    if actor.reseller_id is not None:
        if reseller_id is not None and reseller_id != actor.reseller_id:
            raise AccessDenied("a reseller operator sees only its own book")
        return actor.reseller_id
    return reseller_id


def _mailbox_scope(actor: Actor, reseller_id: int | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    book = book_of(actor, reseller_id)
    if book is not None:
        conditions.append(_m.reseller_id == book)
    if actor.holder_id is not None:
        conditions.append(_m.holder_id == actor.holder_id)
    return conditions


def _order_scope(actor: Actor, reseller_id: int | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    book = book_of(actor, reseller_id)
    if book is not None:
        conditions.append(_o.reseller_id == book)
    if actor.holder_id is not None:
        conditions.append(_o.holder_id == actor.holder_id)
    return conditions


def resellers(engine: Engine, actor: Actor) -> list[tuple[int, str]]:
    """The resellers an actor may filter the dashboard by: all for admin and back office."""
    r = Reseller.__table__.c
    query = select(r.id, r.name).order_by(r.name, r.id)
    if actor.reseller_id is not None:
        query = query.where(r.id == actor.reseller_id)
    if actor.holder_id is not None:
        return []
    with engine.connect() as connection:
        return [(row[0], row[1]) for row in connection.execute(query)]


# --- the figures -------------------------------------------------------------------------------


def _as_date(value: Any) -> date:
    """A date column's value (a string on SQLite when read through an expression)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def renewals_by_month(
    engine: Engine,
    actor: Actor,
    today: date,
    months: int = DEFAULT_MONTHS,
    reseller_id: int | None = None,
    prices: PriceList | None = None,
    connection: Connection | None = None,
) -> list[MonthExpiries]:
    """Mailboxes expiring in each of `months` calendar months from the current one.

    One GROUP BY expiry over the covering index (expiry, id, auto_renew, plan, extra GB),
    read in order: a row per expiry day with its count, how many renew by themselves, how
    many of each plan and the extra GB, summed into months here.
    """
    _check_months(months)
    starts = months_from(today, months)
    first, last = starts[0], month_end(starts[-1])
    prices = prices if prices is not None else get_price_list(engine)
    plans = list(Plan)

    def how_many(condition: ColumnElement[bool]) -> Any:
        # FILTER, not sum(CASE ...): SQLite evaluates it for half the CPU.
        return func.count().filter(condition)

    query = (
        select(
            _m.expiry,
            func.count(),
            how_many(_m.auto_renew == true()),
            *(how_many(_m.plan == plan.value) for plan in plans),
            func.coalesce(func.sum(_m.extra_mailbox_gb), 0),
            func.coalesce(func.sum(_m.extra_archive_gb), 0),
        )
        .where(_m.expiry >= first, _m.expiry <= last, *_mailbox_scope(actor, reseller_id))
        .group_by(_m.expiry)
    )
    auto = dict.fromkeys(starts, 0)
    manual = dict.fromkeys(starts, 0)
    worth = dict.fromkeys(starts, Decimal("0"))
    plan_prices = [prices[PriceItem.for_plan(plan)] for plan in plans]
    # A plan this version does not know is priced as the dearest.
    dearest = max(plan_prices)
    mailbox_gb, archive_gb = prices[PriceItem.EXTRA_MAILBOX_GB], prices[PriceItem.EXTRA_ARCHIVE_GB]
    for expiry, n, renewing, *by_plan, extra_mb, extra_arch in _rows(engine, connection, query):
        month = month_start(_as_date(expiry))
        auto[month] += int(renewing)
        manual[month] += n - int(renewing)
        known = sum(int(count) for count in by_plan)
        worth[month] += (
            sum(price * int(count) for price, count in zip(plan_prices, by_plan, strict=True))
            + dearest * (n - known)
            + mailbox_gb * int(extra_mb)
            + archive_gb * int(extra_arch)
        )
    return [MonthExpiries(m, auto[m], manual[m], worth[m]) for m in starts]


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def awaiting_by_age(
    engine: Engine,
    actor: Actor,
    today: date,
    reseller_id: int | None = None,
    connection: Connection | None = None,
) -> list[AwaitingBucket]:
    """Orders awaiting payment, by days since confirmation: 0–7, 8–30, over 30.

    The age counts calendar days (UTC) from the confirmation to `today`; an order without a
    confirmation time counts from its creation.
    """
    since = func.coalesce(_o.confirmed_at, _o.created_at)
    bucket = case(
        (since >= _day_start(today - timedelta(days=7)), 0),
        (since >= _day_start(today - timedelta(days=30)), 1),
        else_=2,
    )
    query = (
        select(
            bucket,
            func.count(),
            func.coalesce(func.sum(_o.net_cents), 0),
            func.coalesce(func.sum(_o.gross_cents), 0),
        )
        .where(_o.status == OrderStatus.AWAITING_PAYMENT.value, *_order_scope(actor, reseller_id))
        .group_by(bucket)
    )
    found = {
        int(b): (int(n), int(net), int(gross))
        for b, n, net, gross in _rows(engine, connection, query)
    }
    result = []
    for index, key in enumerate(AGE_BUCKETS):
        n, net, gross = found.get(index, (0, 0, 0))
        result.append(AwaitingBucket(key, n, from_cents(net), from_cents(gross)))
    return result


def revenue_by_month(
    engine: Engine,
    actor: Actor,
    today: date,
    months: int = DEFAULT_MONTHS,
    reseller_id: int | None = None,
    connection: Connection | None = None,
) -> list[MonthRevenue]:
    """Payments dated in each of the last `months` calendar months (the current one last)."""
    _check_months(months)
    starts = months_from(add_months(month_start(today), 1 - months), months)
    first, last = starts[0], month_end(starts[-1])
    query = select(_p.paid_on, func.count(), func.coalesce(func.sum(_p.amount_cents), 0)).where(
        _p.paid_on >= first, _p.paid_on <= last
    )
    scope = _order_scope(actor, reseller_id)
    if scope:
        # The period's payments are walked through `ix_payment_paid_on`, each tested against
        # the book's order ids. SQLite, which has no statistics, would rather look up the
        # payments of each of the book's orders (all of them, of every year): `+order_id`
        # keeps it on the period.
        order_id = _hidden(_p.order_id) if engine.dialect.name == "sqlite" else _p.order_id
        query = query.where(order_id.in_(select(_o.id).where(*scope)))
    count = dict.fromkeys(starts, 0)
    paid = dict.fromkeys(starts, 0)
    for paid_on, n, cents in _rows(engine, connection, query.group_by(_p.paid_on)):
        month = month_start(_as_date(paid_on))
        count[month] += int(n)
        paid[month] += int(cents)
    return [MonthRevenue(m, count[m], from_cents(paid[m])) for m in starts]


def _hidden(column: Any) -> Any:
    """`+column`: the same value, but SQLite will not use an index on it for this term."""
    return UnaryExpression(column, operator=custom_op("+"), type_=column.type)


def states_now(
    engine: Engine,
    actor: Actor,
    today: date,
    reseller_id: int | None = None,
    connection: Connection | None = None,
) -> StateCounts:
    """Mailboxes Attiva, Sospesa and Cancellata today: three counts over expiry ranges."""
    scope = _mailbox_scope(actor, reseller_id)
    suspended_from = today - timedelta(days=SUSPENSION_DAYS)
    ranges = (
        [_m.expiry >= today],
        [_m.expiry >= suspended_from, _m.expiry < today],
        [_m.expiry < suspended_from],
    )
    counts = []
    for conditions in ranges:
        query = select(func.count()).select_from(Mailbox.__table__).where(*conditions, *scope)
        counts.append(int(_rows(engine, connection, query)[0][0]))
    return StateCounts(*counts)


def load_dashboard(
    engine: Engine,
    actor: Actor,
    today: date,
    reseller_id: int | None = None,
    months: int = DEFAULT_MONTHS,
) -> Dashboard:
    """Every figure of the dashboard, read on one connection."""
    book = book_of(actor, reseller_id)
    prices = get_price_list(engine)
    with engine.connect() as connection:
        return Dashboard(
            today=today,
            reseller_id=book,
            renewals=tuple(
                renewals_by_month(engine, actor, today, months, book, prices, connection)
            ),
            awaiting=tuple(awaiting_by_age(engine, actor, today, book, connection)),
            revenue=tuple(revenue_by_month(engine, actor, today, months, book, connection)),
            states=states_now(engine, actor, today, book, connection),
        )


FIGURES: dict[str, Callable[..., object]] = {
    "renewals": renewals_by_month,
    "awaiting": awaiting_by_age,
    "revenue": revenue_by_month,
    "states": states_now,
}


def _rows(engine: Engine, connection: Connection | None, query: Any) -> Sequence[Any]:
    if connection is not None:
        return connection.execute(query).all()
    with engine.connect() as own:
        return own.execute(query).all()


def month_key(month: date) -> str:
    """`YYYY-MM`, the month as the reports write it."""
    return f"{month.year:04d}-{month.month:02d}"
