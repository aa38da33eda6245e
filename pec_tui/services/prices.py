"""The editable price list stored in the database."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Engine
from sqlmodel import Session, select

from pec_tui.db.engine import session_scope
from pec_tui.db.models import PriceListItem, utcnow
from pec_tui.domain.enums import PriceItem
from pec_tui.domain.money import from_cents, to_cents
from pec_tui.domain.pricing import DEFAULT_PRICES, PriceList
from pec_tui.domain.validation import ValidationError
from pec_tui.i18n import _, format_money
from pec_tui.services import audit
from pec_tui.services.actor import Actor
from pec_tui.services.scope import audit_denials, require_admin

# The highest price of one item: far above any real one, and its cents fit an INTEGER.
MAX_PRICE = Decimal("99999.99")


def ensure_defaults(session: Session) -> None:
    """Insert the SPEC defaults for any item the database does not price yet."""
    present = set(session.exec(select(PriceListItem.code)).all())
    for item, amount in DEFAULT_PRICES.items():
        if item.value not in present:
            session.add(PriceListItem(code=item.value, amount_cents=to_cents(amount)))


def load_price_list(session: Session) -> PriceList:
    rows = session.exec(select(PriceListItem)).all()
    prices = dict(DEFAULT_PRICES)
    for row in rows:
        try:
            prices[PriceItem(row.code)] = from_cents(row.amount_cents)
        except ValueError:
            continue  # an item this version does not know
    return PriceList(prices)


def get_price_list(engine: Engine) -> PriceList:
    with Session(engine) as session:
        return load_price_list(session)


@audit_denials("price.set")
def set_price(engine: Engine, actor: Actor, item: PriceItem, amount: Decimal) -> Decimal:
    """Change one price (admins only); returns the old amount."""
    require_admin(actor, "price.set")
    if amount < 0:
        raise ValueError(_("A price cannot be negative."))
    if amount > MAX_PRICE:
        raise ValidationError(
            _("A price is at most {max}; {amount} was given.").format(
                max=format_money(MAX_PRICE), amount=format_money(amount)
            ),
            "amount",
        )
    with session_scope(engine) as session:
        row = session.get(PriceListItem, item.value, with_for_update=True)
        old = from_cents(row.amount_cents) if row else DEFAULT_PRICES[item]
        if row is None:
            row = PriceListItem(code=item.value, amount_cents=0)
        row.amount_cents = to_cents(amount)
        row.updated_at = utcnow()
        row.updated_by = actor.name
        session.add(row)
        audit.record(
            session,
            actor,
            "price.set",
            "price",
            item.value,
            {"old": str(old), "new": str(amount)},
        )
    return old
