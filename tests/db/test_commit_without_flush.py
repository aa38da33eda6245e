"""`commit_without_flush`: on PostgreSQL that one transaction commits without waiting for the
disk, and the next one waits again; a no-op on SQLite. What it commits is committed."""

from __future__ import annotations

from datetime import UTC, date, datetime

from book_builder import add_holder, add_mailbox
from sqlmodel import Session, select

from pec_tui.db.models import SentNotice
from pec_tui.services.transactions import commit_without_flush, write_session


def _setting(session: Session) -> str | None:
    if session.connection().dialect.name != "postgresql":
        return None
    return str(session.connection().exec_driver_sql("SHOW synchronous_commit").scalar_one())


def test_only_that_transaction_skips_the_flush_and_its_rows_are_committed(engine):
    mailbox_id = add_mailbox(engine, add_holder(engine), "a@pec.it", date(2027, 1, 31))
    postgres = engine.dialect.name == "postgresql"
    with write_session(engine) as session:
        before = _setting(session)
        commit_without_flush(session)
        assert _setting(session) == ("off" if postgres else None)
        session.add(
            SentNotice(
                mailbox_id=mailbox_id,
                kind="reminder_30",
                expiry=date(2027, 1, 31),
                sent_on=date(2026, 12, 3),
                created_at=datetime(2026, 12, 3, tzinfo=UTC),
            )
        )
    assert before == ("on" if postgres else None)
    with write_session(engine) as session:
        # SET LOCAL: the pooled connection's next transaction waits for the disk again.
        assert _setting(session) == before
    with Session(engine) as session:
        assert [n.kind for n in session.exec(select(SentNotice)).all()] == ["reminder_30"]
