"""The e-mail outbox: every message is stored here first, then delivered by `flush`."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

from sqlmodel import Session

from pec_tui.db.models import OutboxMessage


def _domain_of(sender: str | None) -> str:
    address = (sender or "").rsplit("<", 1)[-1].rstrip(">").strip()
    domain = address.rpartition("@")[2]
    return domain or "pec-tui.local"


def enqueue(
    session: Session,
    message: EmailMessage,
    kind: str,
    order_id: int | None = None,
    mailbox_id: int | None = None,
) -> OutboxMessage:
    """Queue `message` in the same transaction as the change it reports.

    Its Message-ID is fixed here, once: every delivery attempt sends the stored text, so a
    message delivered twice (a flush killed at the wrong moment) is recognisably the same.
    """
    if message["Message-ID"] is None:
        message["Message-ID"] = make_msgid(domain=_domain_of(message["From"]))
    row = OutboxMessage(
        kind=kind,
        to_address=str(message["To"]),
        subject=str(message["Subject"]),
        message=message.as_string(),
        message_id=str(message["Message-ID"]).strip()[:250],
        order_id=order_id,
        mailbox_id=mailbox_id,
    )
    session.add(row)
    return row
