"""A 60,000-mailbox renewal draft: saved at every step, found again whole after a crash at any
of them, and placed with the right totals and a reservation per mailbox.

Heavy (tens of seconds): it runs in CI like every test, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from book_builder import add_holder, add_reseller
from sqlalchemy import func, insert
from sqlmodel import Session, select

from pec_tui.db.models import Mailbox, OpenRenewal, Order, OrderLine, utcnow
from pec_tui.domain.draft import STEPS, Consents, Draft, Step, replace_item
from pec_tui.domain.enums import OrderStatus, PaymentMethod, Plan, Role
from pec_tui.services import orders
from pec_tui.services.actor import Actor
from pec_tui.services.database import open_database
from pec_tui.services.draft_leases import DraftHeld, take_over
from pec_tui.services.prices import get_price_list

TODAY = date(2026, 11, 26)
COUNT = 60_000


def _book(engine) -> tuple[Actor, list[int]]:
    reseller = add_reseller(engine, "Rete PEC Srl", email="ordini@rete.example.it")
    holders = [
        add_holder(engine, ("Anna", "Bianchi"), "anna@example.it", reseller_id=reseller),
        add_holder(engine, ("Luca", "Verdi"), "luca@example.it", reseller_id=reseller),
    ]
    plans = (Plan.STANDARD, Plan.PRO, Plan.PREMIUM)
    with engine.begin() as connection:
        connection.execute(
            insert(Mailbox.__table__),
            [
                {
                    "address": f"casella{i:05d}@pec.example.it",
                    "holder_id": holders[i % 2],
                    "reseller_id": reseller,
                    "plan": plans[i % 3].value,
                    "expiry": TODAY + timedelta(days=1 + i % 80),
                    "auto_renew": False,
                    "renewal_years": 1,
                    "payment_method": PaymentMethod.BANK_TRANSFER.value,
                    "mailbox_used_mb": 10,
                    "archive_used_mb": 0,
                    "extra_mailbox_gb": i % 2,
                    "extra_archive_gb": 0,
                    "promo": False,
                    "version": 1,
                }
                for i in range(COUNT)
            ],
        )
    with Session(engine) as session:
        ids = list(session.exec(select(Mailbox.id).order_by(Mailbox.id)).all())
    actor = Actor("rivenditore", Role.RESELLER, reseller_id=reseller, terminal="t#1")
    return actor, ids


def _walk(draft: Draft, step: Step) -> Draft:
    """What each step changes, entered on the draft as its screen does."""
    if step is Step.KIT:  # the plan picker moved two mailboxes to PREMIUM with more GB
        items = draft.items
        for index in (0, COUNT - 1):
            items = replace_item(
                items, index, replace(items[index], plan=Plan.PREMIUM, extra_archive_gb=2)
            )
        draft = replace(draft, items=items)
    if step is Step.CONTRACT:  # the order form
        draft = replace(draft, years=2, payment_method=PaymentMethod.BANK_TRANSFER)
    return replace(draft, step=step)


def _crash_and_resume(db_url: str, engine, actor: Actor, draft: Draft) -> tuple[object, Actor]:
    """The terminal is killed (nothing released, nothing kept in memory); the operator signs in
    again on a new session and takes the draft over once its lease ran out."""
    engine.dispose()
    engine = open_database(db_url)
    again = actor.on_terminal(f"{actor.terminal}+")
    with pytest.raises(DraftHeld):
        orders.resume_draft(engine, again, draft.order_id)
    take_over(engine, again, draft.order_id, now=utcnow() + timedelta(minutes=10))
    return engine, again


@pytest.mark.heavy
def test_a_60000_mailbox_renewal_survives_a_crash_at_each_step(db_url):
    engine = open_database(db_url)
    actor, ids = _book(engine)
    draft = orders.start_renewal(engine, actor, ids, TODAY)
    assert len(draft.items) == COUNT and draft.holder is None
    prices = get_price_list(engine)
    for step in STEPS:
        if step is not Step.PLAN:
            draft = _walk(draft, step)
            orders.save_draft(engine, actor, draft)
        engine, actor = _crash_and_resume(db_url, engine, actor, draft)
        [summary] = orders.list_drafts(engine, actor)
        assert (summary.mailbox_count, summary.step) == (COUNT, step)
        found = orders.load_draft(engine, actor, draft.order_id)
        assert found == draft, step
        totals, quote = found.totals(prices), draft.quote(prices)
        assert (totals.net, totals.gross) == (quote.net, quote.gross)
        draft = found

    complete = replace(draft, consents=Consents(True, True, True))
    [placed] = orders.confirm_order(engine, actor, complete, TODAY)
    assert (placed.quote.net, placed.quote.gross) == (totals.net, totals.gross)
    with Session(engine) as session:
        order = session.get_one(Order, draft.order_id)
        assert order.status == OrderStatus.AWAITING_PAYMENT.value
        assert session.exec(select(func.count()).select_from(OpenRenewal)).one() == COUNT
        plan_lines = (
            select(func.count())
            .select_from(OrderLine)
            .where(
                OrderLine.plan.is_not(None)  # type: ignore[union-attr]
            )
        )
        assert session.exec(plan_lines).one() == COUNT
