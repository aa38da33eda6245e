"""`new_item`: a DraftItem made quickly is a DraftItem in every respect."""

from __future__ import annotations

import dataclasses
import pickle
from datetime import date

import pytest

from pec_tui.domain.draft import DraftItem, new_item
from pec_tui.domain.enums import Plan

VALUES = (7, "mario.rossi@pec.it", date(2027, 1, 10), True, Plan.PRO, 1, 2, 300, 900)
CHOICE = (Plan.PREMIUM, 3, 4)


@pytest.mark.parametrize("tail", [(), (True,), (True, 11, 12)])
def test_new_item_is_a_draft_item(tail):
    made = new_item(*VALUES, *CHOICE, *tail)
    plain = DraftItem(*VALUES, *CHOICE, *tail)
    assert type(made) is DraftItem and isinstance(made, DraftItem)
    assert made == plain and hash(made) == hash(plain) and repr(made) == repr(plain)
    assert dataclasses.astuple(made) == dataclasses.astuple(plain)
    assert pickle.loads(pickle.dumps(made)) == plain
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.plan = Plan.STANDARD  # type: ignore[misc]
    refusals = []
    for item in (made, plain):  # no other attribute either, refused the same way for both
        with pytest.raises((AttributeError, TypeError)) as refused:
            item.anything = 1  # type: ignore[attr-defined]
        refusals.append(type(refused.value))
    assert refusals[0] is refusals[1]
    changed = dataclasses.replace(made, plan=Plan.STANDARD, extra_archive_gb=0)
    assert type(changed) is DraftItem and changed.plan is Plan.STANDARD
    assert made.plan is Plan.PREMIUM  # unchanged
    assert made.choice_key == (Plan.PREMIUM, 3, 4) and made.order_key == plain.order_key


def test_new_item_takes_keywords_and_defaults_as_draft_item():
    made = new_item(
        mailbox_id=None,
        address="nuova@pec.it",
        expiry=None,
        promo=False,
        current_plan=None,
        current_extra_mailbox_gb=0,
        current_extra_archive_gb=0,
        mailbox_used_mb=0,
        archive_used_mb=0,
        plan=Plan.STANDARD,
        extra_mailbox_gb=0,
        extra_archive_gb=0,
    )
    assert made == DraftItem(
        None, "nuova@pec.it", None, False, None, 0, 0, 0, 0, Plan.STANDARD, 0, 0
    )
    assert made.is_new and made.holder_id is None and not made.archive_deletion_confirmed
