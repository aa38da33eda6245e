"""Posta in uscita: administrators and back office see the e-mails refused for good, with the
server's reason, and send one again; a reseller operator has no such screen."""

from __future__ import annotations

from sqlmodel import Session, select
from test_mailboxes_screen import TODAY, book_url, make_app, settle  # noqa: F401
from textual.widgets import DataTable

from pec_tui.db.models import AuditEvent, OutboxMessage
from pec_tui.domain.enums import Role
from pec_tui.screens.outbox import OutboxScreen
from pec_tui.services.actor import Actor
from pec_tui.services.database import open_database


def _refused_message(url: str) -> int:
    engine = open_database(url)
    with Session(engine) as session:
        for n, status in enumerate(("failed", "sent")):
            session.add(
                OutboxMessage(
                    kind="order_confirmation",
                    to_address=f"cliente{n}@example.it",
                    subject=f"Conferma ordine n. 100000000{n}",
                    message="Subject: x\n\nx",
                    status=status,
                    attempts=1,
                    last_error="550 5.1.1 mailbox unavailable" if status == "failed" else None,
                )
            )
        session.commit()
        failed = session.exec(select(OutboxMessage).where(OutboxMessage.status == "failed")).one()
        engine.dispose()
        return failed.id


async def test_an_administrator_sees_a_refused_e_mail_and_sends_it_again(book_url):  # noqa: F811
    book, url = book_url
    message_id = _refused_message(url)
    app = make_app(url)
    async with app.run_test(size=(120, 32)) as pilot:
        await settle(pilot)
        await pilot.press("f9")
        await settle(pilot)
        assert isinstance(app.screen, OutboxScreen)
        table = app.screen.query_one(DataTable)
        assert table.row_count == 1  # the failed one only, at first
        row = table.get_row_at(0)
        assert row[0] == str(message_id) and "550 5.1.1 mailbox unavailable" in row
        await pilot.press("r")
        await settle(pilot)
        assert table.row_count == 0  # no longer failed
        await pilot.press("s")  # the queue
        await settle(pilot)
        assert [table.get_row_at(0)[0]] == [str(message_id)]
    engine = open_database(url)
    with Session(engine) as session:
        assert session.get(OutboxMessage, message_id).status == "queued"
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "outbox.retry")).one()
        assert event.details["messages"] == [message_id]
    engine.dispose()


async def test_a_reseller_operator_has_no_outbox(book_url):  # noqa: F811
    book, url = book_url
    _refused_message(url)
    app = make_app(url, Actor("op", Role.RESELLER, reseller_id=book.reseller_id))
    async with app.run_test(size=(120, 32)) as pilot:
        await settle(pilot)
        await pilot.press("f9")
        await settle(pilot)
        assert not isinstance(app.screen, OutboxScreen)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Outgoing e-mail" not in titles
