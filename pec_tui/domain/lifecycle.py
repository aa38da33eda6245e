"""Mailbox lifecycle: state derived from expiry and today, renewal eligibility, new expiry."""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

from pec_tui.domain.enums import MailboxState

SUSPENSION_DAYS = 90
EXPIRING_SOON_DAYS = 90
REMINDER_DAYS = (90, 30, 7)
AUTO_RENEW_DAYS_BEFORE = 7


def state_of(expiry: date, today: date) -> MailboxState:
    """Attiva through the expiry day, Sospesa for the next 90 days, Cancellata after."""
    if today <= expiry:
        return MailboxState.ACTIVE
    if today <= expiry + timedelta(days=SUSPENSION_DAYS):
        return MailboxState.SUSPENDED
    return MailboxState.CANCELLED


def cancelled_from(expiry: date) -> date:
    return expiry + timedelta(days=SUSPENSION_DAYS + 1)


def expiry_bounds_for_state(state: MailboxState, today: date) -> tuple[date | None, date | None]:
    """The inclusive expiry range of mailboxes in `state` today (for indexed filtering)."""
    if state is MailboxState.ACTIVE:
        return today, None
    if state is MailboxState.SUSPENDED:
        return today - timedelta(days=SUSPENSION_DAYS), today - timedelta(days=1)
    return None, today - timedelta(days=SUSPENSION_DAYS + 1)


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def add_years(day: date, years: int) -> date:
    """Same day `years` later; 29 February becomes 28 February in a common year."""
    return add_months(day, 12 * years)


def renewed_expiry(old_expiry: date, years: int) -> date:
    """A renewal counts from the old expiry, never from today."""
    return add_years(old_expiry, years)


def expiring_within(today: date, months: int = 3) -> tuple[date, date]:
    """The inclusive expiry range of 'scadono entro N mesi'."""
    return today, add_months(today, months)


def is_expiring_soon(expiry: date, today: date) -> bool:
    """Highlight rule of the mailbox table: expiry within the next 90 days."""
    return today <= expiry <= today + timedelta(days=EXPIRING_SOON_DAYS)


@dataclass(frozen=True)
class Renewability:
    allowed: bool
    reason: str | None = None


def renewability(
    expiry: date, today: date, auto_renew: bool, open_order: int | None = None
) -> Renewability:
    """Rinnova is offered only with auto-renew off, before the mailbox is Cancellata and while
    no open order (number `open_order`, awaiting payment) holds it."""
    from pec_tui.i18n import _

    if state_of(expiry, today) is MailboxState.CANCELLED:
        return Renewability(
            False, _("The mailbox has been cancelled: only a new purchase is possible.")
        )
    if auto_renew:
        return Renewability(False, _("Automatic renewal is on: the mailbox renews by itself."))
    if open_order is not None:
        return Renewability(
            False,
            _("It is on open order no. {number}: pay or cancel that order first.").format(
                number=open_order
            ),
        )
    return Renewability(True)


def renewability_on(today: date) -> Callable[[date, bool], Renewability]:
    """`renewability` on `today` without an open order, worked out once per expiry day and
    auto-renew flag: the tens of thousands of mailboxes of a bulk renewal share a few dozen."""

    @cache
    def verdict(expiry: date, auto_renew: bool) -> Renewability:
        return renewability(expiry, today, auto_renew)

    return verdict
