"""The lifecycle job writes in batches: what a batch writes is committed whole or not at all,
an interruption stops between batches, and one failing automatic renewal is rolled back alone."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from book_builder import add_holder, add_mailbox
from sqlmodel import Session, select

from pec_tui.db.models import OpenRenewal, Order, OutboxMessage, SentNotice
from pec_tui.services import placing
from pec_tui.services.lifecycle import BATCH_SIZE, Notice, run_lifecycle

pytestmark = pytest.mark.usefixtures("italian")

EXPIRY = date(2027, 3, 31)


def _written(engine) -> tuple[list[int], list[int]]:
    """Mailboxes with a reminder recorded, and mailboxes with a reminder e-mail queued."""
    with Session(engine) as session:
        notices = session.exec(
            select(SentNotice.mailbox_id).where(SentNotice.kind == Notice.REMINDER_90.value)
        ).all()
        mails = session.exec(
            select(OutboxMessage.mailbox_id).where(OutboxMessage.kind == "expiry_reminder")
        ).all()
    return sorted(notices), sorted(m for m in mails if m is not None)


def test_an_interrupted_run_keeps_whole_batches_and_the_next_run_sends_the_rest(engine):
    holder = add_holder(engine)
    boxes = [add_mailbox(engine, holder, f"box{i}@pec.it", EXPIRY) for i in range(BATCH_SIZE + 30)]
    batches: list[int] = []

    def after_first_batch() -> bool:
        return bool(batches)

    report = run_lifecycle(
        engine,
        EXPIRY - timedelta(days=90),
        progress=lambda done, _total: batches.append(done) if done else None,
        cancelled=after_first_batch,
    )
    assert report.interrupted and report.reminders == BATCH_SIZE
    notices, mails = _written(engine)
    assert len(notices) == BATCH_SIZE and notices == mails  # each notice with its e-mail

    report = run_lifecycle(engine, EXPIRY - timedelta(days=90))
    assert not report.interrupted and report.reminders == 30
    notices, mails = _written(engine)
    assert notices == mails == sorted(boxes)  # every mailbox once
    assert run_lifecycle(engine, EXPIRY - timedelta(days=90)).reminders == 0


def test_a_failing_automatic_renewal_is_rolled_back_alone(engine, monkeypatch):
    holder = add_holder(engine)
    boxes = [
        add_mailbox(
            engine, holder, f"auto{i}@pec.it", EXPIRY, auto_renew=True, payment_method="bonifico"
        )
        for i in range(3)
    ]
    checked_method = placing._checked_method

    def failing_for_the_second(draft, *args, **kwargs):
        # Whichever way the job places it (with its batch, or alone), the pipeline's checks
        # fail for this mailbox.
        if draft.items[0].mailbox_id == boxes[1]:
            raise RuntimeError("boom")
        return checked_method(draft, *args, **kwargs)

    monkeypatch.setattr(placing, "_checked_method", failing_for_the_second)
    report = run_lifecycle(engine, EXPIRY - timedelta(days=7))
    assert report.renewal_orders == 2 and report.awaiting_payment == 2
    assert report.failures == ["auto1@pec.it: boom"]
    with Session(engine) as session:
        renewed = sorted(session.exec(select(OpenRenewal.mailbox_id)).all())
        recorded = sorted(
            session.exec(
                select(SentNotice.mailbox_id).where(SentNotice.kind == Notice.AUTO_RENEWAL.value)
            ).all()
        )
    assert renewed == recorded == [boxes[0], boxes[2]]

    monkeypatch.setattr(placing, "_checked_method", checked_method)
    assert run_lifecycle(engine, EXPIRY - timedelta(days=7)).renewal_orders == 1
    with Session(engine) as session:
        assert len(session.exec(select(Order)).all()) == 3
