"""The daily lifecycle job: automatic renewals, expiry reminders, suspension and cancellation.

Idempotent per day and safe to interrupt: every notice is recorded in `sent_notice` (unique
per mailbox, kind and expiry date) in the transaction that queues its e-mail, and so is each
automatic renewal order, so a second run sends and creates nothing new and an interrupted
run is simply run again. Mailboxes are read in keyset batches over the (expiry, id) index,
inside the windows of dates that matter today, never the whole book at once.

Writes go in batches, one commit each: a page of notices is one multi-row INSERT of its
`sent_notice` rows and one of its e-mails (rendered from their words by `mail_render`, the
same text the email package makes); automatic renewal orders are placed through the
pipeline in its batch form (`place_orders`: `place_order`'s checks for each mailbox, one
INSERT per table for the batch, those the reseller's credit pays at once paid together),
`AUTO_RENEWAL_BATCH` to a transaction, a refused mailbox left out alone. Ctrl-C stops between batches: what was committed is whole.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar, TypeVarTuple

from sqlalchemy import Engine, Select, func, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from pec_tui.config import Settings, load_settings
from pec_tui.db.batches import in_ids, insert_rows
from pec_tui.db.models import (
    Holder,
    Mailbox,
    OpenRenewal,
    Order,
    Reseller,
    SentNotice,
    utcnow,
)
from pec_tui.domain.draft import Consents, Draft, Step
from pec_tui.domain.enums import OrderStatus, PaymentMethod, Plan
from pec_tui.domain.lifecycle import AUTO_RENEW_DAYS_BEFORE, REMINDER_DAYS, SUSPENSION_DAYS
from pec_tui.domain.money import from_cents
from pec_tui.domain.pricing import PriceList
from pec_tui.i18n import _, speaking
from pec_tui.services import audit, notifications, outbox
from pec_tui.services.actor import SYSTEM, Actor
from pec_tui.services.holders import holder_data
from pec_tui.services.mail_render import render_plain
from pec_tui.services.orders import RenewableMailbox, renewal_draft
from pec_tui.services.payments import PaymentRefused, settle_with_credit
from pec_tui.services.placing import (
    Billing,
    ConfirmedOrder,
    MailboxFacts,
    Origin,
    mailbox_facts,
    payment_instructions,
    place_order,
    place_orders,
)
from pec_tui.services.prices import load_price_list
from pec_tui.services.scope import require_admin
from pec_tui.services.transactions import commit_without_flush, write_session, writers_waiting

log = logging.getLogger(__name__)

# Rows per page. Each page of notices is one write transaction: pages of a few hundred keep
# SQLite's write lock held for some tens of milliseconds, so terminals renewing meanwhile wait
# little, and spread the cost of a transaction (its statements, its commit) over many rows.
BATCH_SIZE = 500
# Automatic renewal orders per write transaction, placed together (`place_orders`): a
# fraction of a millisecond each, so a batch holds the write lock for a fraction of a second.
AUTO_RENEWAL_BATCH = 500
# On SQLite, processes waiting for the write lock poll for it (SQLite has no queue), and a
# job that took it back at once would starve them. After each write transaction the job
# asks whether anyone waits (`writers_waiting`): if so it pauses `HANDOVER_SECONDS`, longer
# than the 100 ms SQLite's busy handler sleeps between two looks at the lock at most; if
# nobody does it goes straight on. Where that cannot be known it pauses for a share of the
# time it held the lock.
HANDOVER_SECONDS = 0.12
WRITE_PAUSE_SHARE = 0.25
WRITE_PAUSE_MIN_SECONDS = 0.001
WRITE_PAUSE_MAX_SECONDS = 0.1
# A mailbox cancelled while the job was not running still gets its notice this many days on.
CANCELLED_NOTICE_CATCH_UP_DAYS = 30
JOB_ACTOR = SYSTEM.on_terminal("lifecycle")

_Ts = TypeVarTuple("_Ts")
_T = TypeVar("_T")

ProgressCallback = Callable[[int, int], None]
CancelCheck = Callable[[], bool]


class Notice(StrEnum):
    """`sent_notice.kind`: what was sent (or done) once per mailbox and expiry date."""

    REMINDER_90 = "reminder_90"
    REMINDER_30 = "reminder_30"
    REMINDER_7 = "reminder_7"
    SUSPENDED = "suspended"
    CANCELLED = "cancelled"
    # Not an e-mail: the automatic renewal order for this expiry has been created.
    AUTO_RENEWAL = "auto_renewal"


def reminder_notice(days: int) -> Notice:
    return Notice(f"reminder_{days}")


@dataclass
class LifecycleReport:
    today: date
    reminders: int = 0
    suspended_notices: int = 0
    cancelled_notices: int = 0
    renewal_orders: int = 0
    paid_with_credit: int = 0
    awaiting_payment: int = 0
    examined: int = 0
    interrupted: bool = False
    failures: list[str] = field(default_factory=list)

    @property
    def changed_anything(self) -> bool:
        return any(
            (
                self.reminders,
                self.suspended_notices,
                self.cancelled_notices,
                self.renewal_orders,
                self.paid_with_credit,
            )
        )


@dataclass(frozen=True, slots=True)
class _Row:
    id: int
    address: str
    expiry: date
    plan: str
    extra_mailbox_gb: int
    extra_archive_gb: int
    auto_renew: bool
    renewal_years: int
    payment_method: str | None
    promo: bool
    holder_id: int
    reseller_id: int | None
    holder_name: str
    email: str


_m = Mailbox.__table__.c
_h = Holder.__table__.c
# A page's mailboxes, read by id once the window's walk has chosen them.
_page = Mailbox.__table__.alias("page").c
_PAGE_COLUMNS = (
    _page.id,
    _page.address,
    _page.expiry,
    _page.plan,
    _page.extra_mailbox_gb,
    _page.extra_archive_gb,
    _page.auto_renew,
    _page.renewal_years,
    _page.payment_method,
    _page.promo,
    _page.holder_id,
    _page.reseller_id,
    _h.display_name,
    _h.reference_email,
)


@dataclass(frozen=True)
class _Window:
    """Mailboxes with `start <= expiry <= end` still owed `notice` for their expiry date.

    The "still owed" test is a NOT EXISTS on sent_notice's unique index, so a day's pages
    hold only the mailboxes with something to do, and a second run of the day reads none.
    """

    start: date
    end: date
    notice: Notice
    auto_renew: bool | None = None
    # Only mailboxes with no open order (automatic renewals: the mailbox may have one).
    without_open_order: bool = False

    def where(self, stmt: Select[*_Ts]) -> Select[*_Ts]:
        stmt = stmt.where(
            _m.expiry <= self.end,
            ~select(col(SentNotice.id))
            .where(
                col(SentNotice.mailbox_id) == _m.id,
                col(SentNotice.kind) == self.notice.value,
                col(SentNotice.expiry) == _m.expiry,
            )
            .exists(),
        )
        if self.auto_renew is not None:
            stmt = stmt.where(_m.auto_renew == self.auto_renew)
        if self.without_open_order:
            stmt = stmt.where(
                ~select(col(OpenRenewal.mailbox_id))
                .where(col(OpenRenewal.mailbox_id) == _m.id)
                .exists()
            )
        return stmt

    def page(
        self, session: Session, after: tuple[date, int] | None, size: int = BATCH_SIZE
    ) -> list[_Row]:
        # The window is walked in the covering expiry index alone, each mailbox checked
        # against the notices' index; only the page's own mailboxes are then read, with
        # their holders. Read row by row as the index passed them, the mailboxes of a window
        # that had nearly all its notices already cost PostgreSQL most of a second.
        # Keyset: after the first page only the upper bound, or SQLite rescans from `start`.
        due = self.where(select(_m.id))
        if after is None:
            due = due.where(_m.expiry >= self.start)
        else:
            due = due.where(tuple_(_m.expiry, _m.id) > tuple_(*after))
        due = due.order_by(_m.expiry, _m.id).limit(size)
        stmt = (
            select(*_PAGE_COLUMNS)
            .join(Holder, _h.id == _page.holder_id)
            .where(_page.id.in_(due.scalar_subquery()))
            .order_by(_page.expiry, _page.id)
        )
        return [_Row(*row) for row in session.execute(stmt)]

    def count(self, session: Session) -> int:
        stmt = self.where(select(func.count()).select_from(Mailbox.__table__))
        return session.scalars(stmt.where(_m.expiry >= self.start)).one()


def _shift(day: date, offset: int) -> date:
    """`day` + `offset` days, held within the calendar (a dry run for 9999-12-31 is fine)."""
    try:
        return day + timedelta(days=offset)
    except OverflowError:
        return date.max if offset > 0 else date.min


def _windows(today: date) -> dict[str, _Window]:
    """What the job looks at today; reminders in three windows, one per reminder due."""

    def day(offset: int) -> date:
        return _shift(today, offset)

    windows = {
        # Auto-renew orders from 7 days before expiry; a missed one is still made while Sospesa.
        "auto_renew": _Window(
            day(-SUSPENSION_DAYS),
            day(AUTO_RENEW_DAYS_BEFORE),
            Notice.AUTO_RENEWAL,
            auto_renew=True,
            without_open_order=True,
        ),
        "cancelled": _Window(
            day(-(SUSPENSION_DAYS + 1 + CANCELLED_NOTICE_CATCH_UP_DAYS)),
            day(-(SUSPENSION_DAYS + 1)),
            Notice.CANCELLED,
        ),
        "suspended": _Window(day(-SUSPENSION_DAYS), day(-1), Notice.SUSPENDED),
    }
    # Each reminder covers the days until the next, more urgent one is due (catch-up).
    lower = 0
    for days in sorted(REMINDER_DAYS):
        windows[f"reminder_{days}"] = _Window(
            day(lower), day(days), reminder_notice(days), auto_renew=False
        )
        lower = days + 1
    return windows


def _unpaid_auto_renewals(today: date) -> Select[int]:
    """Automatic renewal orders awaiting a credit payment the credit now covers."""
    return (
        select(col(Order.id))
        .join(Reseller, col(Reseller.id) == Order.reseller_id)
        .where(
            col(Order.status) == OrderStatus.AWAITING_PAYMENT.value,
            col(Order.auto_generated).is_(True),
            col(Order.payment_method) == PaymentMethod.PREPAID_CREDIT.value,
            col(Reseller.credit_cents) >= Order.gross_cents,
            select(col(OpenRenewal.mailbox_id))
            .join(Mailbox, col(Mailbox.id) == OpenRenewal.mailbox_id)
            .where(
                col(OpenRenewal.order_id) == Order.id,
                col(Mailbox.expiry) >= _shift(today, -SUSPENSION_DAYS),
            )
            .exists(),
        )
    )


# A page of a window's mailboxes and the outbox rows of their e-mails.
_PreparedPage = tuple[list[_Row], list[dict[str, object]]]


class _Inline(Executor):
    """An executor that runs what it is given at once, in the caller's thread."""

    def submit(self, fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> Future[_T]:
        future: Future[_T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


class _Run:
    """One run of the job: its date, settings, price list, report and progress."""

    def __init__(
        self,
        engine: Engine,
        today: date,
        settings: Settings,
        actor: Actor,
        progress: ProgressCallback | None,
        cancelled: CancelCheck | None,
    ) -> None:
        self.engine = engine
        self.today = today
        self.settings = settings
        self.actor = actor
        self.report = LifecycleReport(today)
        self._progress = progress
        self._cancelled = cancelled
        self.total = 0
        self._sqlite = engine.dialect.name == "sqlite"
        with Session(engine) as session:
            self.prices: PriceList = load_price_list(session)
        self.billing = Billing(settings.bank_iban, settings.bank_beneficiary, settings.mail_from)
        self._yearly_prices: dict[tuple[str, int, int], Decimal] = {}

    def let_others_write(self, since: float) -> None:
        """After a write transaction begun at `since`: on SQLite, let the lock pass to the
        processes waiting for it before taking it again."""
        if not self._sqlite:
            return
        waiting = writers_waiting(self.engine)
        if waiting:
            time.sleep(HANDOVER_SECONDS)
        elif waiting is None:
            held = time.monotonic() - since
            time.sleep(
                min(max(held * WRITE_PAUSE_SHARE, WRITE_PAUSE_MIN_SECONDS), WRITE_PAUSE_MAX_SECONDS)
            )

    def tick(self, count: int) -> None:
        self.report.examined += count
        if self._progress is not None:
            self._progress(self.report.examined, self.total)

    def stop_requested(self) -> bool:
        if self._cancelled is not None and self._cancelled():
            self.report.interrupted = True
        return self.report.interrupted

    def instructions(self, method: PaymentMethod, number: int, gross_cents: int) -> str:
        return payment_instructions(
            method,
            number,
            from_cents(gross_cents),
            self.settings.bank_iban,
            self.settings.bank_beneficiary,
        )

    # --- automatic renewals -----------------------------------------------------------

    def auto_renewals(self, window: _Window) -> None:
        for rows in self._pages(window, AUTO_RENEWAL_BATCH):
            since = time.monotonic()
            self._auto_renewal_batch(rows, window)
            self.let_others_write(since)
            self.tick(len(rows))
            if self.stop_requested():
                return

    def _auto_renewal_batch(self, rows: list[_Row], window: _Window) -> None:
        """The orders of `rows` in one write transaction, placed together (`place_orders`):
        a mailbox refused (or that another terminal put on an order meanwhile) is left out
        alone. Should the transaction itself fail, each mailbox is tried on its own."""
        placed: list[bool] = []
        failures: list[str] = []
        try:
            with write_session(self.engine) as session:
                due, holders = self._still_due(session, [row.id for row in rows], window)
                mailboxes = list(due.values())
                drafts = [self._auto_renewal_draft(m, holders[m.holder_id]) for m in mailboxes]
                results = place_orders(
                    session,
                    self.actor,
                    drafts,
                    self.today,
                    self.billing,
                    self.prices,
                    Origin.AUTO_RENEWAL,
                    due,
                )
                done = []
                for mailbox, result in zip(mailboxes, results, strict=True):
                    if isinstance(result, ConfirmedOrder):
                        placed.append(result.paid)
                        done.append(mailbox)
                    elif isinstance(result, IntegrityError):
                        log.info("mailbox %s got an open order concurrently", mailbox.id)
                    else:  # one bad mailbox must not stop the others
                        log.error("automatic renewal of %s failed: %s", mailbox.address, result)
                        failures.append(f"{mailbox.address}: {result}")
                self._record_notices(session, Notice.AUTO_RENEWAL, done)
        except Exception:
            log.exception("a batch of automatic renewals failed: placing them one at a time")
            for row in rows:
                self._guarded(row.address, self._create_auto_renewal, row.id, window)
            return
        # Counted once committed.
        self.report.failures += failures
        self.report.renewal_orders += len(placed)
        self.report.paid_with_credit += sum(placed)
        self.report.awaiting_payment += len(placed) - sum(placed)

    def _still_due(
        self, session: Session, ids: list[int], window: _Window
    ) -> tuple[dict[int, MailboxFacts], dict[int, Holder]]:
        """The mailboxes of `ids` still owed their automatic renewal order, locked, checked
        again under the lock (a terminal may have renewed one meanwhile) with one query
        apiece for the batch; and their holders."""
        dialect = self.engine.dialect.name
        mailboxes = mailbox_facts(session, ids, lock=True)
        on_order = set(
            session.scalars(
                select(col(OpenRenewal.mailbox_id)).where(
                    in_ids(OpenRenewal.__table__.c.mailbox_id, ids, dialect)
                )
            )
        )
        noticed: set[tuple[int, date]] = {
            (mailbox_id, expiry)
            for mailbox_id, expiry in session.execute(
                select(col(SentNotice.mailbox_id), col(SentNotice.expiry)).where(
                    # The unique index's order: kind, expiry, mailbox.
                    col(SentNotice.kind) == Notice.AUTO_RENEWAL.value,
                    col(SentNotice.expiry).in_(sorted({m.expiry for m in mailboxes})),
                    in_ids(SentNotice.__table__.c.mailbox_id, ids, dialect),
                )
            )
        }
        # In the page's order (expiry, id), as credit is spent.
        by_id = {m.id: m for m in mailboxes}
        due = {
            m.id: m
            for m in (by_id[i] for i in ids if i in by_id)
            if m.auto_renew
            and window.start <= m.expiry <= window.end
            and m.id not in on_order
            and (m.id, m.expiry) not in noticed
        }
        holder_ids = list({m.holder_id for m in due.values()})
        holders = {}
        if holder_ids:
            holders = {
                h.id: h
                for h in session.scalars(
                    select(Holder).where(in_ids(Holder.__table__.c.id, holder_ids, dialect))
                )
            }
        return due, holders

    def credit_retries(self) -> None:
        """Pay the automatic renewal orders left unpaid for lack of credit, now it suffices."""
        last_id = 0
        while not self.stop_requested():
            with Session(self.engine) as session:
                ids = list(
                    session.scalars(
                        _unpaid_auto_renewals(self.today)
                        .where(col(Order.id) > last_id)
                        .order_by(col(Order.id))
                        .limit(BATCH_SIZE)
                    )
                )
            for order_id in ids:
                since = time.monotonic()
                self._guarded(f"order {order_id}", self._retry_credit, order_id)
                self.let_others_write(since)
            self.tick(len(ids))
            if len(ids) < BATCH_SIZE:
                return
            last_id = ids[-1]

    def _guarded(self, what: str, action: Callable[[*_Ts], None], *args: *_Ts) -> None:
        try:
            action(*args)
        except Exception as exc:  # one bad mailbox must not stop the book's renewals
            log.exception("automatic renewal of %s failed", what)
            self.report.failures.append(f"{what}: {exc}")

    def _retry_credit(self, order_id: int) -> None:
        with write_session(self.engine) as session:
            order = session.get(Order, order_id, with_for_update=True)
            if order is None or order.status != OrderStatus.AWAITING_PAYMENT.value:
                return
            try:
                result = settle_with_credit(
                    session, self.actor, order, self.today, mail_from=self.settings.mail_from
                )
            except PaymentRefused:
                return
        if result is not None and not result.already_paid:
            self.report.paid_with_credit += 1

    def _create_auto_renewal(self, mailbox_id: int, window: _Window) -> None:
        """One mailbox's order in a transaction of its own."""
        try:
            with write_session(self.engine) as session:
                paid = self._auto_renewal_in(session, mailbox_id, window)
        except IntegrityError:
            # Another run or terminal opened an order for this mailbox first: nothing to do.
            log.info("mailbox %s got an open order concurrently", mailbox_id)
            return
        if paid is None:
            return
        # Counted once committed.
        self.report.renewal_orders += 1
        if paid:
            self.report.paid_with_credit += 1
        else:
            self.report.awaiting_payment += 1

    def _auto_renewal_in(self, session: Session, mailbox_id: int, window: _Window) -> bool | None:
        """Place the automatic renewal of `mailbox_id` in `session`: True when paid with
        credit, False when left awaiting payment, None when nothing is due any more."""
        mailbox = session.get(Mailbox, mailbox_id, with_for_update=True)
        # Checked again under the lock: a terminal may have renewed it meanwhile.
        if (
            mailbox is None
            or not mailbox.auto_renew
            or not window.start <= mailbox.expiry <= window.end
            or session.get(OpenRenewal, mailbox_id) is not None
            or session.execute(
                select(col(SentNotice.id)).where(
                    col(SentNotice.mailbox_id) == mailbox_id,
                    col(SentNotice.kind) == Notice.AUTO_RENEWAL.value,
                    col(SentNotice.expiry) == mailbox.expiry,
                )
            ).first()
            is not None
        ):
            return None
        return self._place_auto_renewal(session, mailbox)

    @staticmethod
    def _auto_renewal_draft(mailbox: RenewableMailbox, holder_row: Holder) -> Draft:
        """The draft of `mailbox`'s automatic renewal, ready to be placed."""
        holder = holder_data(holder_row)
        draft = renewal_draft(0, [mailbox], holder, holder.display_name, auto_renew=True)
        return replace(
            draft,
            step=Step.CONTRACT,
            payment_method=draft.payment_method or PaymentMethod.BANK_TRANSFER,
            # Accepted by the holder when the automatic renewal was switched on.
            consents=Consents(terms=True, clauses=True, privacy=True),
        )

    def _place_auto_renewal(self, session: Session, mailbox: Mailbox) -> bool:
        """Order through the pipeline, paid with credit where possible; True when paid."""
        draft = self._auto_renewal_draft(mailbox, session.get_one(Holder, mailbox.holder_id))
        session.add(
            SentNotice(
                mailbox_id=mailbox.id,
                kind=Notice.AUTO_RENEWAL.value,
                expiry=mailbox.expiry,
                sent_on=self.today,
            )
        )
        session.flush()
        placed = place_order(
            session,
            self.actor,
            draft,
            self.today,
            self.billing,
            prices=self.prices,
            origin=Origin.AUTO_RENEWAL,
        )
        return placed.paid

    # --- notices ------------------------------------------------------------------------

    def notices(
        self,
        window: _Window,
        kind: str,
        text: Callable[[_Row, dict[int, tuple[int, str]]], tuple[str, str]],
        with_open_orders: bool = False,
    ) -> int:
        """Send each mailbox of `window` its notice, once; returns how many were sent.

        A page is one write transaction: its `sent_notice` rows and e-mails go in with one
        multi-row INSERT each (COPY on PostgreSQL), the e-mails rendered from their words by
        `mail_render`. On PostgreSQL the next page is read and rendered by a thread while
        this one is written, so that the server works on one page while Python works on the
        next.
        """
        sent = 0
        after: tuple[date, int] | None = None
        prepare = functools.partial(self._prepared_page, window, kind, text, with_open_orders)
        # SQLite works inside this process: a thread would only contend for the interpreter.
        pages = (
            nullcontext(_Inline())
            if self._sqlite
            else ThreadPoolExecutor(max_workers=1, thread_name_prefix="lifecycle-pages")
        )
        with pages as reader:

            def read_after(rows: list[_Row]) -> Future[_PreparedPage] | None:
                """The page after a full page `rows`, read ahead; None after the last."""
                if len(rows) < BATCH_SIZE:
                    return None
                return reader.submit(prepare, (rows[-1].expiry, rows[-1].id))

            ahead: Future[_PreparedPage] | None = reader.submit(prepare, None)
            while ahead is not None and not self.stop_requested():
                since = time.monotonic()
                rows, mails = ahead.result()
                ahead = read_after(rows)
                try:
                    if rows:
                        with write_session(self.engine) as session:
                            self._write_page(session, window.notice, rows, mails)
                except IntegrityError:
                    # A concurrent run sent some of these first: this page again, read under
                    # the write lock, and the next one read after it.
                    if ahead is not None:
                        ahead.result()
                    with write_session(self.engine) as session:
                        rows, mails = prepare(after, session)
                        self._write_page(session, window.notice, rows, mails)
                    ahead = read_after(rows)
                self.let_others_write(since)
                if not rows:
                    break
                sent += len(rows)
                self.tick(len(rows))
                after = (rows[-1].expiry, rows[-1].id)
        return sent

    def _write_page(
        self, session: Session, notice: Notice, rows: list[_Row], mails: list[dict[str, object]]
    ) -> None:
        # A page lost to a crash after its commit is sent again by the next run, e-mails and
        # records together: its commit need not wait for the disk (~11 ms a commit in a
        # profile of the first day on PostgreSQL, 527 pages).
        commit_without_flush(session)
        self._record_notices(session, notice, rows)
        outbox.enqueue_many(session, mails)

    def _prepared_page(
        self,
        window: _Window,
        kind: str,
        text: Callable[[_Row, dict[int, tuple[int, str]]], tuple[str, str]],
        with_open_orders: bool,
        after: tuple[date, int] | None,
        session: Session | None = None,
    ) -> _PreparedPage:
        """The page of `window` after `after` and the outbox rows of its e-mails, read in
        `session` or in a session of its own."""
        if session is None:
            with Session(self.engine) as own:
                return self._prepared_page(window, kind, text, with_open_orders, after, own)
        rows = window.page(session, after, BATCH_SIZE)
        open_orders = (
            self._open_orders(session, [r.id for r in rows]) if with_open_orders and rows else {}
        )
        return rows, self._render(rows, kind, text, open_orders)

    def _record_notices(
        self, session: Session, notice: Notice, rows: Sequence[_Row | MailboxFacts]
    ) -> None:
        """What was sent of `notice` for each mailbox of `rows` (at its expiry), once."""
        if not rows:
            return
        now = utcnow()
        insert_rows(
            session.connection(),
            SentNotice.__table__,
            [
                {
                    "mailbox_id": row.id,
                    "kind": notice.value,
                    "expiry": row.expiry,
                    "sent_on": self.today,
                    "created_at": now,
                }
                for row in rows
            ],
        )

    def _render(
        self,
        rows: list[_Row],
        kind: str,
        text: Callable[[_Row, dict[int, tuple[int, str]]], tuple[str, str]],
        open_orders: dict[int, tuple[int, str]],
    ) -> list[dict[str, object]]:
        """The outbox rows of the page's e-mails (mailboxes whose holder has an address)."""
        mail_from = self.settings.mail_from
        with speaking(notifications.MAIL_LANGUAGE):
            return [
                outbox.rendered_row(
                    render_plain(row.email, *text(row, open_orders), mail_from),
                    kind,
                    mailbox_id=row.id,
                )
                for row in rows
                if row.email
            ]

    def yearly_price(self, row: _Row) -> Decimal:
        key = (row.plan, row.extra_mailbox_gb, row.extra_archive_gb)
        price = self._yearly_prices.get(key)
        if price is None:
            price = self._yearly_prices[key] = self.prices.yearly_price(
                Plan(row.plan), row.extra_mailbox_gb, row.extra_archive_gb
            )
        return price

    def _open_orders(self, session: Session, ids: list[int]) -> dict[int, tuple[int, str]]:
        """Mailbox id -> (number, payment instructions) of its order awaiting payment."""
        rows = session.execute(
            select(
                col(OpenRenewal.mailbox_id),
                col(Order.number),
                col(Order.gross_cents),
                col(Order.payment_method),
            )
            .join(Order, col(Order.id) == OpenRenewal.order_id)
            .where(col(OpenRenewal.mailbox_id).in_(ids))
        ).all()
        result = {}
        with speaking(notifications.MAIL_LANGUAGE):
            for mailbox_id, number, gross_cents, method in rows:
                try:
                    method = PaymentMethod(method)
                except ValueError:
                    method = PaymentMethod.BANK_TRANSFER
                result[mailbox_id] = (number, self.instructions(method, number, gross_cents))
        return result

    def reminder_text(self, row: _Row, open_orders: dict[int, tuple[int, str]]) -> tuple[str, str]:
        return notifications.expiry_reminder_text(
            address=row.address,
            name=row.holder_name,
            expiry=row.expiry,
            today=self.today,
            yearly_price=self.yearly_price(row),
            open_order=open_orders.get(row.id),
        )

    def suspended_text(
        self, row: _Row, _open_orders: dict[int, tuple[int, str]]
    ) -> tuple[str, str]:
        return notifications.suspended_notice_text(
            address=row.address, name=row.holder_name, expiry=row.expiry
        )

    def cancelled_text(
        self, row: _Row, _open_orders: dict[int, tuple[int, str]]
    ) -> tuple[str, str]:
        return notifications.cancelled_notice_text(
            address=row.address, name=row.holder_name, expiry=row.expiry
        )

    def _pages(self, window: _Window, size: int = BATCH_SIZE) -> Iterator[list[_Row]]:
        after: tuple[date, int] | None = None
        while True:
            with Session(self.engine) as session:
                rows = window.page(session, after, size)
            if not rows:
                return
            yield rows
            if len(rows) < size:
                return
            after = (rows[-1].expiry, rows[-1].id)


class LifecycleRefused(ValueError):
    """The job may not run for this day."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def check_day(today: date, real_today: date) -> None:
    """The job acts for the real today or a past day (catching up), never a future one.

    A future day would send reminders and notices early and charge credit for renewals
    not due yet.
    """
    if today > real_today:
        raise LifecycleRefused(
            _(
                "Cannot run the lifecycle job for {day}: it is after today ({today}). "
                "Use --dry-run to see what it would do."
            ).format(day=today.isoformat(), today=real_today.isoformat())
        )


@dataclass(frozen=True)
class LifecyclePreview:
    """What a run for `today` would do, counted without writing anything (at most: a
    mailbox renewed with credit during the run no longer gets a lapse notice)."""

    today: date
    reminders: dict[int, int]
    suspended_notices: int
    cancelled_notices: int
    renewal_orders: int
    credit_retries: int


def _counts(engine: Engine, today: date, windows: dict[str, _Window]) -> tuple[dict[str, int], int]:
    """Mailboxes due in each window, and unpaid automatic renewals credit now covers."""
    with Session(engine) as session:
        counts = {name: window.count(session) for name, window in windows.items()}
        retries = session.execute(
            select(func.count()).select_from(_unpaid_auto_renewals(today).subquery())
        ).scalar_one()
    return counts, retries


def preview_lifecycle(engine: Engine, today: date, actor: Actor = JOB_ACTOR) -> LifecyclePreview:
    """The counts per action of a run for `today` (any day): read-only, queues and charges
    nothing."""
    require_admin(actor, action="lifecycle.run")
    counts, retries = _counts(engine, today, _windows(today))
    return LifecyclePreview(
        today=today,
        reminders={
            days: counts[f"reminder_{days}"] for days in sorted(REMINDER_DAYS, reverse=True)
        },
        suspended_notices=counts["suspended"],
        cancelled_notices=counts["cancelled"],
        renewal_orders=counts["auto_renew"],
        credit_retries=retries,
    )


def run_lifecycle(
    engine: Engine,
    today: date,
    progress: ProgressCallback | None = None,
    cancelled: CancelCheck | None = None,
    settings: Settings | None = None,
    actor: Actor = JOB_ACTOR,
    real_today: date | None = None,
) -> LifecycleReport:
    """Run the daily job for `today`; see the module docstring.

    For administrators and the system only. With `real_today` (the command passes the
    clock's) a `today` after it is refused (`LifecycleRefused`).
    `progress(done, total)` is called after each batch; when `cancelled()` turns true the
    job stops after the batch in hand (report.interrupted) and may simply be run again.
    """
    require_admin(actor, action="lifecycle.run")
    if real_today is not None:
        check_day(today, real_today)
    run = _Run(engine, today, settings or load_settings(), actor, progress, cancelled)
    windows = _windows(today)
    counts, retries = _counts(engine, today, windows)
    run.total = sum(counts.values()) + retries
    # Windows with nothing to do are skipped (a day's second run reads no page at all).
    windows = {name: window for name, window in windows.items() if counts[name]}
    if progress is not None:
        progress(0, run.total)
    report = run.report

    # Renewals first: a mailbox renewed today must not get a reminder for its old expiry.
    if "auto_renew" in windows:
        run.auto_renewals(windows["auto_renew"])
    if retries and not run.stop_requested():
        run.credit_retries()
    if "cancelled" in windows and not run.stop_requested():
        report.cancelled_notices = run.notices(
            windows["cancelled"], "mailbox_cancelled", run.cancelled_text
        )
    if "suspended" in windows and not run.stop_requested():
        report.suspended_notices = run.notices(
            windows["suspended"], "mailbox_suspended", run.suspended_text
        )
    for days in sorted(REMINDER_DAYS):
        window = windows.get(f"reminder_{days}")
        if window is not None and not run.stop_requested():
            report.reminders += run.notices(
                window, "expiry_reminder", run.reminder_text, with_open_orders=True
            )
    with write_session(engine) as session:
        audit.record(
            session,
            actor,
            "lifecycle.run",
            details={
                "today": today.isoformat(),
                "reminders": report.reminders,
                "suspended_notices": report.suspended_notices,
                "cancelled_notices": report.cancelled_notices,
                "renewal_orders": report.renewal_orders,
                "paid_with_credit": report.paid_with_credit,
                "awaiting_payment": report.awaiting_payment,
                "interrupted": report.interrupted,
                "failures": len(report.failures),
            },
            outcome="stopped" if report.interrupted else "ok",
        )
    return report
