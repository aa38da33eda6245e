"""A draft's totals: counted once per set of items, updated by difference one item at a time,
always what the full quote says."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from pec_tui.domain.draft import Draft, DraftItem, Step, replace_item
from pec_tui.domain.enums import Plan
from pec_tui.domain.pricing import PriceList


def _item(n: int, plan: Plan) -> DraftItem:
    return DraftItem(
        mailbox_id=n,
        address=f"box{n}@pec.it",
        expiry=date(2026, 12, 1),
        promo=False,
        current_plan=plan,
        current_extra_mailbox_gb=0,
        current_extra_archive_gb=0,
        mailbox_used_mb=0,
        archive_used_mb=0,
        plan=plan,
        extra_mailbox_gb=0,
        extra_archive_gb=0,
    )


def _draft(items: tuple[DraftItem, ...]) -> Draft:
    return Draft(
        order_id=1,
        step=Step.PLAN,
        items=items,
        kit=None,
        holder=None,
        billed_to="Rivendita",
        payment_method=None,
        auto_renew=False,
        years=2,
    )


def test_changing_one_item_at_a_time_keeps_the_totals_of_the_full_quote():
    prices = PriceList()
    plans = (Plan.STANDARD, Plan.PRO, Plan.PREMIUM)
    draft = _draft(tuple(_item(n, plans[n % 3]) for n in range(300)))
    assert draft.totals(prices).net == draft.quote(prices).net
    for index, change in (
        (0, {"plan": Plan.PREMIUM, "extra_archive_gb": 3}),
        (150, {"plan": Plan.STANDARD}),
        (0, {"plan": Plan.PRO, "extra_mailbox_gb": 1}),
        (299, {"extra_mailbox_gb": 2}),
    ):
        items = replace_item(draft.items, index, replace(draft.items[index], **change))
        draft = replace(draft, items=items)
        totals, q = draft.totals(prices), draft.quote(prices)
        assert (totals.net, totals.vat, totals.gross) == (q.net, q.vat, q.gross)
        # Counted from scratch, the same.
        recount = _draft(tuple(draft.items))
        assert recount.choice_counts() == +draft.choice_counts()


def test_the_same_items_are_counted_once():
    draft = _draft(tuple(_item(n, Plan.PRO) for n in range(10)))
    counts = draft.choice_counts()
    assert replace(draft, step=Step.KIT, years=3).choice_counts() is counts
