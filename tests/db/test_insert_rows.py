"""`insert_rows`: many rows in one go (COPY on PostgreSQL), with their types, and a duplicate
refused as SQLAlchemy's IntegrityError, on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from book_builder import add_holder, add_mailbox
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from pec_tui.db.batches import insert_rows
from pec_tui.db.models import OutboxMessage, SentNotice

AT = datetime(2026, 12, 3, 15, 4, 5, 678_000, tzinfo=UTC)


def test_rows_go_in_with_their_dates_times_and_nulls(engine):
    mailbox_id = add_mailbox(engine, add_holder(engine), "a@pec.it", date(2027, 1, 31))
    notices = [
        {
            "mailbox_id": mailbox_id,
            "kind": kind,
            "expiry": date(2027, 1, 31),
            "sent_on": date(2026, 12, 3),
            "created_at": AT,
        }
        for kind in ("reminder_30", "reminder_7")
    ]
    mails = [
        {
            "kind": "expiry_reminder",
            "to_address": "t@x.it",
            "subject": "Scade il 31/01/2027 — è ora",
            "message": "righe\ncon a capo\te tab\\ e barre",
            "message_id": "<1@x>",
            "order_id": None,
            "mailbox_id": mailbox_id,
            "status": "queued",
            "attempts": 0,
            "created_at": AT,
        }
    ]
    with Session(engine) as session:
        insert_rows(session.connection(), SentNotice.__table__, notices)
        insert_rows(session.connection(), OutboxMessage.__table__, mails)
        insert_rows(session.connection(), OutboxMessage.__table__, [])
        session.commit()
    with Session(engine) as session:
        stored = session.exec(select(SentNotice).order_by(col(SentNotice.id))).all()
        assert [(n.kind, n.expiry, n.sent_on) for n in stored] == [
            ("reminder_30", date(2027, 1, 31), date(2026, 12, 3)),
            ("reminder_7", date(2027, 1, 31), date(2026, 12, 3)),
        ]
        assert stored[0].created_at.replace(tzinfo=UTC) == AT
        mail = session.exec(select(OutboxMessage)).one()
        assert (mail.subject, mail.message, mail.order_id) == (
            mails[0]["subject"],
            mails[0]["message"],
            None,
        )


def test_a_duplicate_is_refused_as_an_integrity_error(engine):
    mailbox_id = add_mailbox(engine, add_holder(engine), "a@pec.it", date(2027, 1, 31))
    row = {
        "mailbox_id": mailbox_id,
        "kind": "reminder_30",
        "expiry": date(2027, 1, 31),
        "sent_on": date(2026, 12, 3),
        "created_at": AT,
    }
    with Session(engine) as session:
        insert_rows(session.connection(), SentNotice.__table__, [row])
        session.commit()
    with Session(engine) as session, pytest.raises(IntegrityError):
        insert_rows(session.connection(), SentNotice.__table__, [row])
