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


def test_sqlite_binds_each_value_as_the_core_insert_does(tmp_path):
    """SQLite's executemany gets what SQLAlchemy's Core INSERT would bind: the stored text of
    dates, aware datetimes, booleans, decimals and JSON documents is the same either way,
    with values of two kinds in one column (1 and True are equal keys of a dict) and NULLs."""
    from decimal import Decimal

    from sqlalchemy import (
        JSON,
        Boolean,
        Column,
        Date,
        DateTime,
        Integer,
        MetaData,
        Numeric,
        String,
        Table,
        create_engine,
    )

    def table(name: str, metadata: MetaData) -> Table:
        return Table(
            name,
            metadata,
            Column("id", Integer, primary_key=True),
            Column("day", Date),
            Column("at", DateTime(timezone=True)),
            Column("flag", Boolean),
            Column("amount", Numeric(10, 2)),
            Column("doc", JSON),
            Column("word", String),
        )

    metadata = MetaData()
    core, bulk = table("core", metadata), table("bulk", metadata)
    rows = [
        {
            "day": date(2027, 1, 31) if i % 3 else None,
            "at": AT if i % 2 else datetime(2026, 12, 3, 9, 0, tzinfo=UTC),
            "flag": (True, False, None)[i % 3],
            "amount": (Decimal("1.50"), 1, None, 2.25)[i % 4],
            "doc": {"i": i % 2, "words": ["a", "è"]} if i % 5 else None,
            "word": f"w{i % 3}",
        }
        for i in range(40)
    ]
    engine = create_engine(f"sqlite:///{tmp_path / 'bind.db'}")
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(core.insert(), rows)
        insert_rows(connection, bulk, rows)
    with engine.connect() as connection:
        stored = [
            connection.exec_driver_sql(
                f"SELECT day, at, flag, amount, doc, word FROM {name} ORDER BY id"
            ).fetchall()
            for name in ("core", "bulk")
        ]
    engine.dispose()
    assert stored[1] == stored[0]
    assert len(stored[1]) == 40
