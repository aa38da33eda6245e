"""Pricing: exact decimals, VAT half-up on the taxable total, lines = unit × quantity × years."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pec_tui.domain.enums import Plan, PriceItem, SignatureKit
from pec_tui.domain.money import from_cents, round_cents, to_cents, vat_of
from pec_tui.domain.plans import PLANS
from pec_tui.domain.pricing import (
    DEFAULT_PRICES,
    MailboxChoice,
    PriceList,
    choice_key,
    count_choices,
    quote,
    quote_totals,
)


def test_defaults_are_the_spec_price_list():
    assert DEFAULT_PRICES[PriceItem.STANDARD] == Decimal("9.90")
    assert DEFAULT_PRICES[PriceItem.PRO] == Decimal("25.00")
    assert DEFAULT_PRICES[PriceItem.PREMIUM] == Decimal("40.00")
    assert DEFAULT_PRICES[PriceItem.EXTRA_MAILBOX_GB] == Decimal("3.00")
    assert DEFAULT_PRICES[PriceItem.KIT_SMART_CARD] == Decimal("59.90")
    assert DEFAULT_PRICES[PriceItem.KIT_USB_TOKEN] == Decimal("69.90")
    assert DEFAULT_PRICES[PriceItem.KIT_REMOTE] == Decimal("39.90")


def test_one_standard_year():
    q = quote(PriceList(), [MailboxChoice("a@pec.it", Plan.STANDARD)], 1)
    assert (q.net, q.vat, q.gross) == (Decimal("9.90"), Decimal("2.18"), Decimal("12.08"))


def test_lines_multiply_by_years_and_kit_is_one_off():
    q = quote(
        PriceList(),
        [MailboxChoice("a@pec.it", Plan.PRO, extra_mailbox_gb=2, extra_archive_gb=1)],
        3,
        SignatureKit.USB_TOKEN,
    )
    totals = {line.item: line.total for line in q.lines}
    assert totals[PriceItem.PRO] == Decimal("75.00")
    assert totals[PriceItem.EXTRA_MAILBOX_GB] == Decimal("18.00")
    assert totals[PriceItem.EXTRA_ARCHIVE_GB] == Decimal("9.00")
    assert totals[PriceItem.KIT_USB_TOKEN] == Decimal("69.90")
    assert q.net == Decimal("171.90")
    assert q.vat == Decimal("37.82")  # 37.818 rounded half-up


def test_vat_rounds_half_up_on_the_total_not_per_line():
    # 0.25 x 0.22 = 0.055 -> 0.06 half-up (banker's rounding would give 0.06 too; 0.125 -> 0.13)
    assert vat_of(Decimal("0.25")) == Decimal("0.06")
    assert round_cents(Decimal("0.125")) == Decimal("0.13")
    assert round_cents(Decimal("0.135")) == Decimal("0.14")


def test_price_list_refuses_floats_and_negative_prices():
    with pytest.raises(TypeError):
        PriceList({PriceItem.PRO: 25.0})  # type: ignore[dict-item]
    with pytest.raises(ValueError):
        PriceList({PriceItem.PRO: Decimal("-1")})
    with pytest.raises(TypeError):
        to_cents(1.5)  # type: ignore[arg-type]


def test_cents_round_trip():
    assert to_cents(Decimal("1234.56")) == 123456
    assert from_cents(123456) == Decimal("1234.56")


prices = st.decimals(min_value=0, max_value=1000, places=2, allow_nan=False, allow_infinity=False)
plans = st.sampled_from(list(Plan))


@st.composite
def choices(draw):
    plan = draw(plans)
    spec = PLANS[plan]
    return MailboxChoice(
        draw(st.emails()),
        plan,
        draw(st.integers(0, spec.max_extra_mailbox_gb)),
        draw(st.integers(0, spec.max_extra_archive_gb)),
    )


@given(
    price_values=st.fixed_dictionaries({item: prices for item in PriceItem}),
    mailboxes=st.lists(choices(), min_size=1, max_size=20),
    years=st.integers(1, 5),
    kit=st.none() | st.sampled_from(list(SignatureKit)),
)
def test_random_orders_gross_is_net_plus_vat_exactly(price_values, mailboxes, years, kit):
    q = quote(PriceList(price_values), mailboxes, years, kit)
    for value in (q.net, q.vat, q.gross, *(line.total for line in q.lines)):
        assert isinstance(value, Decimal)
    assert q.gross == q.net + q.vat
    assert q.vat == (q.net * Decimal("0.22")).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
    assert q.net == sum(line.unit * line.quantity * line.years for line in q.lines)
    assert to_cents(q.gross) == to_cents(q.net) + to_cents(q.vat)


@given(
    price_values=st.fixed_dictionaries({item: prices for item in PriceItem}),
    mailboxes=st.lists(choices(), min_size=1, max_size=20),
    years=st.integers(1, 5),
    kit=st.none() | st.sampled_from(list(SignatureKit)),
)
def test_totals_by_choice_counts_are_the_quotes_to_the_cent(price_values, mailboxes, years, kit):
    price_list = PriceList(price_values)
    q = quote(price_list, mailboxes, years, kit)
    totals = quote_totals(price_list, count_choices(map(choice_key, mailboxes)), years, kit)
    assert (totals.net, totals.vat, totals.gross) == (q.net, q.vat, q.gross)
