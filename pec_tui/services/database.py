"""Opening the configured database: engine, schema upgrade, reference data."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session

from pec_tui.db.engine import make_engine, upgrade
from pec_tui.db.models import Counter
from pec_tui.services.prices import ensure_defaults

ORDER_NUMBER_COUNTER = "order_number"
# `Counter` rows marking a database that `pec-tui demo` filled: the highest mailbox id it
# wrote, and the highest operator id made for the demo. Ids only grow (SQLite hands out
# max + 1, PostgreSQL its sequence), so a mailbox or operator above them was made otherwise.
DEMO_BOOK_COUNTER = "demo_book"
DEMO_OPERATORS_COUNTER = "demo_operators"
FIRST_ORDER_NUMBER = 1_000_000_000


def ensure_reference_data(engine: Engine) -> None:
    with Session(engine) as session:
        ensure_defaults(session)
        if session.get(Counter, ORDER_NUMBER_COUNTER) is None:
            session.add(Counter(name=ORDER_NUMBER_COUNTER, value=FIRST_ORDER_NUMBER - 1))
        session.commit()


def open_database(url: str, migrate: bool = True) -> Engine:
    """An engine on `url` with the schema at head and the price list in place."""
    engine = make_engine(url)
    if migrate:
        upgrade(engine)
        ensure_reference_data(engine)
    return engine
