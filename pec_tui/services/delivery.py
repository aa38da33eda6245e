"""Delivering the outbox: to a Maildir under the data directory, or through an SMTP server.

Each message is claimed (queued -> sending) in a transaction of its own, so two flushes never
deliver the same message, then delivered, then marked sent in a transaction of its own right
after delivery. A failed delivery puts it back in the queue with the error and one attempt
more. A message left in `sending` means a flush died between delivery and bookkeeping: it is
not retried by itself (it may have gone out); `requeue` puts it back after a check.
"""

from __future__ import annotations

import email
import email.policy
import mailbox
import smtplib
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import Engine, func, select, update
from sqlmodel import Session, col

from pec_tui.config import Settings
from pec_tui.db.engine import session_scope
from pec_tui.db.models import OutboxMessage, utcnow
from pec_tui.i18n import _

QUEUED = "queued"
SENDING = "sending"
SENT = "sent"
STATUSES = (QUEUED, SENDING, SENT)

SMTP_TIMEOUT_SECONDS = 20
# After this many connection failures in a row the server is taken to be down: stop early.
MAX_CONNECTION_FAILURES = 3
_BATCH = 100


@dataclass
class FlushReport:
    sent: int = 0
    failed: int = 0
    # Still queued when the flush ended (failed ones included).
    remaining: int = 0
    stopped_early: bool = False
    errors: list[str] = field(default_factory=list)
    transport: str = ""


@dataclass(frozen=True)
class OutboxRow:
    id: int
    kind: str
    to_address: str
    subject: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


class DeliveryError(Exception):
    """A message could not be delivered; `connection` when the server itself was unreachable."""

    def __init__(self, message: str, connection: bool = False) -> None:
        super().__init__(message)
        self.connection = connection


def parse_message(text: str) -> EmailMessage:
    return email.message_from_string(text, policy=email.policy.default)  # type: ignore[return-value]


# --- transports ---------------------------------------------------------------------------


class MaildirTransport:
    """Drops each message into a Maildir (`new/`), readable by any mail client."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = f"Maildir {path}"

    @contextmanager
    def open(self) -> Iterator[Callable[[EmailMessage], None]]:
        try:
            box = mailbox.Maildir(self.path, create=True)
        except OSError as exc:
            raise DeliveryError(str(exc), connection=True) from exc

        def deliver(message: EmailMessage) -> None:
            try:
                box.add(message.as_bytes())
            except OSError as exc:
                raise DeliveryError(str(exc), connection=True) from exc

        yield deliver


class SmtpTransport:
    """Sends through an SMTP server: plain, STARTTLS or implicit TLS, with optional login."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.name = f"SMTP {settings.smtp_host}:{settings.smtp_port} ({settings.smtp_security})"
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        try:
            if s.smtp_security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.smtp_host,
                    s.smtp_port,
                    timeout=SMTP_TIMEOUT_SECONDS,
                    context=ssl.create_default_context(),
                )
            else:
                smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=SMTP_TIMEOUT_SECONDS)
                if s.smtp_security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
            if s.smtp_user:
                smtp.login(s.smtp_user, s.smtp_password or "")
            return smtp
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(
                _("cannot reach the SMTP server {server}: {error}").format(
                    server=f"{s.smtp_host}:{s.smtp_port}", error=exc or type(exc).__name__
                ),
                connection=True,
            ) from exc

    @contextmanager
    def open(self) -> Iterator[Callable[[EmailMessage], None]]:
        try:
            yield self._deliver
        finally:
            if self._smtp is not None:
                try:
                    self._smtp.quit()
                except (OSError, smtplib.SMTPException):
                    self._smtp.close()
                self._smtp = None

    def _deliver(self, message: EmailMessage) -> None:
        if self._smtp is None:
            self._smtp = self._connect()
        try:
            refused = self._smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(_("recipient refused: {error}").format(error=exc)) from exc
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._smtp = None
            raise DeliveryError(str(exc) or type(exc).__name__, connection=True) from exc
        except smtplib.SMTPException as exc:
            # The connection may be in any state after an error reply: start afresh next time.
            self._drop()
            raise DeliveryError(str(exc)) from exc
        if refused:
            raise DeliveryError(_("recipient refused: {error}").format(error=refused))

    def _drop(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.close()
            finally:
                self._smtp = None


def transport_for(settings: Settings) -> MaildirTransport | SmtpTransport:
    """SMTP when `smtp_host` is set, else the Maildir under the data directory."""
    if settings.smtp_host:
        return SmtpTransport(settings)
    return MaildirTransport(settings.resolved_maildir())


# --- bookkeeping, each step its own transaction -------------------------------------------


def _claim(engine: Engine, message_id: int) -> bool:
    with session_scope(engine) as session:
        result = session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.id) == message_id, col(OutboxMessage.status) == QUEUED)
            .values(status=SENDING, attempts=OutboxMessage.attempts + 1)
        )
        return result.rowcount == 1


def _mark_sent(engine: Engine, message_id: int) -> None:
    with session_scope(engine) as session:
        session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.id) == message_id)
            .values(status=SENT, sent_at=utcnow(), last_error=None)
        )


def _mark_failed(engine: Engine, message_id: int, error: str) -> None:
    with session_scope(engine) as session:
        session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.id) == message_id)
            .values(status=QUEUED, last_error=error[:2000])
        )


def _queued_ids(engine: Engine, after: int, limit: int) -> list[int]:
    with Session(engine) as session:
        return list(
            session.scalars(
                select(OutboxMessage.id)
                .where(col(OutboxMessage.status) == QUEUED, col(OutboxMessage.id) > after)
                .order_by(col(OutboxMessage.id))
                .limit(limit)
            )
        )


def count_by_status(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        rows = session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        ).all()
    return {status: count for status, count in rows}


def flush_outbox(
    engine: Engine,
    settings: Settings,
    limit: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> FlushReport:
    """Deliver the queued messages, oldest first, each exactly once."""
    transport = transport_for(settings)
    report = FlushReport(transport=transport.name)
    connection_failures = 0
    after = 0
    handled = 0
    with transport.open() as deliver:
        while not report.stopped_early:
            ids = _queued_ids(engine, after, _BATCH)
            if not ids:
                break
            for message_id in ids:
                after = message_id
                if limit is not None and handled >= limit:
                    break
                if not _claim(engine, message_id):
                    continue  # another flush has it
                handled += 1
                with Session(engine) as session:
                    row = session.get(OutboxMessage, message_id)
                    text = row.message
                try:
                    deliver(parse_message(text))
                except DeliveryError as exc:
                    _mark_failed(engine, message_id, str(exc))
                    report.failed += 1
                    report.errors.append(f"#{message_id}: {exc}")
                    connection_failures = connection_failures + 1 if exc.connection else 0
                    if connection_failures >= MAX_CONNECTION_FAILURES:
                        report.stopped_early = True
                        break
                    continue
                except Exception as exc:  # a broken stored message: keep it, say why
                    _mark_failed(engine, message_id, f"{type(exc).__name__}: {exc}")
                    report.failed += 1
                    report.errors.append(f"#{message_id}: {exc}")
                    continue
                _mark_sent(engine, message_id)
                connection_failures = 0
                report.sent += 1
                if progress is not None:
                    progress(report.sent)
            if limit is not None and handled >= limit:
                break
    report.remaining = count_by_status(engine).get(QUEUED, 0)
    return report


def list_outbox(engine: Engine, status: str | None = None, limit: int = 50) -> list[OutboxRow]:
    """The latest messages (optionally of one status), newest first."""
    with Session(engine) as session:
        stmt = select(OutboxMessage)
        if status:
            stmt = stmt.where(col(OutboxMessage.status) == status)
        rows = session.scalars(stmt.order_by(col(OutboxMessage.id).desc()).limit(limit)).all()
        return [
            OutboxRow(
                r.id,
                r.kind,
                r.to_address,
                r.subject,
                r.status,
                r.attempts,
                r.last_error,
                r.created_at,
                r.sent_at,
            )
            for r in rows
        ]


def requeue(engine: Engine, message_ids: list[int]) -> int:
    """Put messages stuck in `sending` (a flush died mid-delivery) back in the queue."""
    with session_scope(engine) as session:
        result = session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.id).in_(message_ids), col(OutboxMessage.status) == SENDING)
            .values(
                status=QUEUED,
                last_error=_("put back in the queue after an interrupted delivery"),
            )
        )
        return result.rowcount
