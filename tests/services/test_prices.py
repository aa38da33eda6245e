"""The editable price list: defaults, changes by administrators only, each change audited."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlmodel import Session

from pec_tui.db.models import AuditEvent, PriceListItem
from pec_tui.domain.enums import PriceItem, Role
from pec_tui.domain.pricing import DEFAULT_PRICES
from pec_tui.services.actor import SYSTEM, AccessDenied, Actor
from pec_tui.services.database import ensure_reference_data
from pec_tui.services.prices import get_price_list, set_price


def test_a_new_database_has_the_default_prices(engine):
    ensure_reference_data(engine)
    prices = get_price_list(engine)
    assert {item: prices[item] for item in PriceItem} == DEFAULT_PRICES
    assert prices[PriceItem.STANDARD] == Decimal("9.90")


def test_setting_a_price_stores_exact_cents_and_audits_old_and_new(engine):
    ensure_reference_data(engine)
    old = set_price(engine, SYSTEM, PriceItem.PRO, Decimal("27.50"))
    assert old == Decimal("25.00")
    assert get_price_list(engine)[PriceItem.PRO] == Decimal("27.50")
    with Session(engine) as session:
        row = session.get(PriceListItem, "PRO")
        event = session.execute(select(AuditEvent)).scalar_one()
    assert (row.amount_cents, row.updated_by) == (2750, "system")
    assert (event.action, event.entity, event.entity_id) == ("price.set", "price", "PRO")
    assert event.details == {"old": "25.00", "new": "27.50"}


def test_a_missing_row_is_created_from_the_default(engine):
    # No ensure_reference_data: the price list table is empty.
    assert set_price(engine, SYSTEM, PriceItem.KIT_REMOTE, Decimal("35")) == Decimal("39.90")
    assert get_price_list(engine)[PriceItem.KIT_REMOTE] == Decimal("35.00")


def test_a_negative_price_is_refused(engine):
    ensure_reference_data(engine)
    with pytest.raises(ValueError, match="negative"):
        set_price(engine, SYSTEM, PriceItem.STANDARD, Decimal("-1"))
    assert get_price_list(engine)[PriceItem.STANDARD] == Decimal("9.90")


def test_only_administrators_change_prices(engine):
    ensure_reference_data(engine)
    reseller = Actor(name="shop", role=Role.RESELLER, reseller_id=1)
    with pytest.raises(AccessDenied):
        set_price(engine, reseller, PriceItem.STANDARD, Decimal("1.00"))
    assert get_price_list(engine)[PriceItem.STANDARD] == Decimal("9.90")
