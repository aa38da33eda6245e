"""The e-mail outbox: every message is stored here first, then delivered by `flush`."""

from __future__ import annotations

from email.message import EmailMessage

from sqlmodel import Session

from pec_tui.db.models import OutboxMessage


def enqueue(
    session: Session,
    message: EmailMessage,
    kind: str,
    order_id: int | None = None,
    mailbox_id: int | None = None,
) -> OutboxMessage:
    """Queue `message` in the same transaction as the change it reports."""
    row = OutboxMessage(
        kind=kind,
        to_address=str(message["To"]),
        subject=str(message["Subject"]),
        message=message.as_string(),
        order_id=order_id,
        mailbox_id=mailbox_id,
    )
    session.add(row)
    return row
