"""The e-mail outbox: every message is stored here first, then delivered by `flush`."""

from __future__ import annotations

from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import make_msgid

from sqlmodel import Session

from pec_tui.db.batches import insert_rows
from pec_tui.db.models import OutboxMessage, utcnow
from pec_tui.services.mail_render import RenderedMail


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
    rendered = RenderedMail(
        str(message["To"]),
        str(message["Subject"]),
        message.as_string(),
        str(message["Message-ID"]).strip()[:250],
    )
    return enqueue_rendered(session, rendered, kind, order_id, mailbox_id)


def rendered_row(
    rendered: RenderedMail, kind: str, order_id: int | None = None, mailbox_id: int | None = None
) -> dict[str, object]:
    """The outbox row of a message `mail_render` made, for `enqueue_many`."""
    return {
        "kind": kind,
        "to_address": rendered.to_address,
        "subject": rendered.subject,
        "message": rendered.message,
        "message_id": rendered.message_id,
        "order_id": order_id,
        "mailbox_id": mailbox_id,
    }


def enqueue_rendered(
    session: Session,
    rendered: RenderedMail,
    kind: str,
    order_id: int | None = None,
    mailbox_id: int | None = None,
) -> OutboxMessage:
    """`enqueue` of a message `mail_render` made: its `rendered_row` as an ORM row."""
    row = OutboxMessage.model_validate(rendered_row(rendered, kind, order_id, mailbox_id))
    session.add(row)
    return row


def enqueue_many(session: Session, rows: Sequence[dict[str, object]]) -> None:
    """Queue many rendered messages (`rendered_row`) with one multi-row INSERT, in the
    session's transaction: what `enqueue` does for each, without an ORM object apiece."""
    if not rows:
        return
    now = utcnow()
    # `insert_rows` (COPY on PostgreSQL, the driver's executemany on SQLite): the ORM's bulk
    # insert costs as much again per row.
    insert_rows(
        session.connection(),
        OutboxMessage.__table__,
        [{**row, "status": "queued", "attempts": 0, "created_at": now} for row in rows],
    )
