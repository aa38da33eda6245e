"""Lifecycle: state boundaries at expiry and expiry + 90 days, renewals from the old expiry."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from pec_tui.domain.enums import MailboxState
from pec_tui.domain.lifecycle import (
    add_years,
    cancelled_from,
    expiring_within,
    expiry_bounds_for_state,
    is_expiring_soon,
    renewability,
    renewed_expiry,
    state_of,
)

dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31))


def test_boundaries_by_example():
    expiry = date(2026, 3, 31)
    assert state_of(expiry, expiry) is MailboxState.ACTIVE
    assert state_of(expiry, expiry + timedelta(days=1)) is MailboxState.SUSPENDED
    assert state_of(expiry, expiry + timedelta(days=90)) is MailboxState.SUSPENDED
    assert state_of(expiry, expiry + timedelta(days=91)) is MailboxState.CANCELLED
    assert cancelled_from(expiry) == expiry + timedelta(days=91)


@given(expiry=dates, offset=st.integers(-2000, 2000))
def test_state_boundaries_for_random_dates(expiry, offset):
    today = expiry + timedelta(days=offset)
    state = state_of(expiry, today)
    if offset <= 0:
        assert state is MailboxState.ACTIVE
    elif offset <= 90:
        assert state is MailboxState.SUSPENDED
    else:
        assert state is MailboxState.CANCELLED
    low, high = expiry_bounds_for_state(state, today)
    assert (low is None or low <= expiry) and (high is None or expiry <= high)


@given(expiry=dates, today=dates)
def test_state_ranges_partition_every_expiry(expiry, today):
    matches = [
        s
        for s in MailboxState
        if (lambda lo, hi: (lo is None or lo <= expiry) and (hi is None or expiry <= hi))(
            *expiry_bounds_for_state(s, today)
        )
    ]
    assert matches == [state_of(expiry, today)]


def test_leap_day_renews_to_28_february():
    assert add_years(date(2028, 2, 29), 1) == date(2029, 2, 28)
    assert add_years(date(2028, 2, 29), 4) == date(2032, 2, 29)


@given(expiry=dates, years=st.integers(1, 5))
def test_renewal_counts_from_the_old_expiry(expiry, years):
    new = renewed_expiry(expiry, years)
    assert new.year == expiry.year + years
    assert new.month == expiry.month
    assert new.day == expiry.day or (expiry.month, expiry.day, new.day) == (2, 29, 28)


def test_expiring_within_three_months_and_highlight():
    today = date(2026, 11, 30)
    assert expiring_within(today, 3) == (today, date(2027, 2, 28))
    assert is_expiring_soon(today + timedelta(days=90), today)
    assert not is_expiring_soon(today + timedelta(days=91), today)
    assert not is_expiring_soon(today - timedelta(days=1), today)


def test_renewability():
    today = date(2026, 11, 26)
    assert renewability(today, today, auto_renew=False).allowed
    assert renewability(today - timedelta(days=90), today, auto_renew=False).allowed
    cancelled = renewability(today - timedelta(days=91), today, auto_renew=False)
    assert not cancelled.allowed and cancelled.reason
    auto = renewability(today, today, auto_renew=True)
    assert not auto.allowed and auto.reason
