"""Delivering the outbox: to a Maildir under the data directory, or through an SMTP server.

Each message is claimed (queued -> sending, with the time of the claim) in a transaction of
its own, so two flushes never deliver the same message, then delivered, then recorded in a
transaction of its own right after delivery:

- delivered: `sent`;
- refused for good (a 5xx reply at any stage: sender, recipient, data; a stored message that
  cannot be read): `failed`, with the reason in `last_error`; `retry` queues it again;
- a temporary failure (a 4xx reply, a refused or dropped connection, a timeout): queued
  again with the error, not tried before `next_attempt_at` — 1 minute after the first
  failure, then 2, 4, 8 … up to an hour. A flush skips the messages not yet due, so one
  bad message never holds back the others.

A message left in `sending` means its flush died between claiming and recording it (it may
have gone out). Once the claim is older than the lease (10 minutes, far longer than any
delivery takes) the next flush sends it again, with the same Message-ID (fixed when it was
queued) so the recipient can recognise a duplicate; `requeue` does the same by hand, and
never for a message whose claim is still live.
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
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Engine, Result, func, or_, select, update
from sqlmodel import Session, col

from pec_tui.config import Settings
from pec_tui.db.engine import session_scope
from pec_tui.db.models import OutboxMessage, utcnow
from pec_tui.domain.enums import Role
from pec_tui.i18n import N_, _
from pec_tui.services import audit
from pec_tui.services.actor import Actor
from pec_tui.services.scope import audit_denials, require_role

QUEUED = "queued"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
STATUSES = (QUEUED, SENDING, SENT, FAILED)
STATUS_LABELS = {
    QUEUED: N_("queued"),
    SENDING: N_("sending"),
    SENT: N_("sent"),
    FAILED: N_("failed"),
}

SMTP_TIMEOUT_SECONDS = 20
# After this many connection failures in a row the server is taken to be down: stop early.
MAX_CONNECTION_FAILURES = 3
# A `sending` claim older than this belongs to a flush that died.
LEASE = timedelta(minutes=10)
FIRST_RETRY_DELAY = timedelta(minutes=1)
MAX_RETRY_DELAY = timedelta(hours=1)
_BATCH = 100


def status_label(status: str) -> str:
    """The translated name of an outbox status, for people."""
    label = STATUS_LABELS.get(status)
    return _(label) if label else status


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th attempt failed temporarily."""
    exponent = min(max(attempts - 1, 0), 16)
    return min(FIRST_RETRY_DELAY * (1 << exponent), MAX_RETRY_DELAY)  # 2**exponent


@dataclass
class FlushReport:
    sent: int = 0
    # Refused for good: now `failed`.
    failed: int = 0
    # Failed temporarily: queued again, tried after a delay.
    deferred: int = 0
    # Still queued when the flush ended (deferred ones included) ...
    remaining: int = 0
    # ... of which not due yet.
    waiting: int = 0
    # `sending` messages of a dead flush taken back (their lease had expired).
    reclaimed: int = 0
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
    next_attempt_at: datetime | None = None
    message_id: str | None = None


class DeliveryError(Exception):
    """A message could not be delivered.

    `permanent` when the server refused it for good (5xx): trying again would not help.
    `connection` when the server itself was unreachable or dropped the connection.
    """

    def __init__(self, message: str, connection: bool = False, permanent: bool = False) -> None:
        super().__init__(message)
        self.connection = connection
        self.permanent = permanent


def parse_message(text: str) -> EmailMessage:
    return email.message_from_string(text, policy=email.policy.default)


def _is_permanent(code: int) -> bool:
    return 500 <= code < 600


def _reply_text(code: int, reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return f"{code} {text}".strip()


# --- transports ---------------------------------------------------------------------------


class MaildirTransport:
    """Drops each message into a Maildir (`new/`), readable by any mail client."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = f"Maildir {path}"

    @contextmanager
    def open(self) -> Iterator[Callable[[EmailMessage], None]]:
        try:
            # The Maildir itself is made by `mailbox`, but not the folders above it (the
            # data directory does not exist when the database lives elsewhere).
            self.path.parent.mkdir(parents=True, exist_ok=True)
            box = mailbox.Maildir(self.path, create=True)
        except OSError as exc:
            raise DeliveryError(
                _("cannot open the Maildir {path}: {error}").format(path=self.path, error=exc),
                connection=True,
            ) from exc

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
        # smtplib's own default: no host means no connection (delivery then fails).
        host = s.smtp_host or ""
        try:
            if s.smtp_security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    host,
                    s.smtp_port,
                    timeout=SMTP_TIMEOUT_SECONDS,
                    context=ssl.create_default_context(),
                )
            else:
                smtp = smtplib.SMTP(host, s.smtp_port, timeout=SMTP_TIMEOUT_SECONDS)
                if s.smtp_security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
            if s.smtp_user:
                smtp.login(s.smtp_user, s.smtp_password or "")
            return smtp
        except (OSError, smtplib.SMTPException) as exc:
            # Whatever the reply, it is about the server or our account, not this message.
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
            # Every recipient refused; smtplib has reset the transaction, the connection is fine.
            raise self._refused(exc.recipients) from exc
        except smtplib.SMTPResponseException as exc:
            # Sender refused, data refused, or any other error reply (SMTPSenderRefused,
            # SMTPDataError, ...): the connection may be in any state, start afresh next time.
            self._drop()
            raise DeliveryError(
                _("the SMTP server answered {reply}").format(
                    reply=_reply_text(exc.smtp_code, exc.smtp_error)
                ),
                connection=exc.smtp_code == 421,
                permanent=_is_permanent(exc.smtp_code),
            ) from exc
        except smtplib.SMTPServerDisconnected as exc:
            self._drop()
            raise DeliveryError(
                _("the SMTP server closed the connection: {error}").format(
                    error=exc or type(exc).__name__
                ),
                connection=True,
            ) from exc
        except smtplib.SMTPException as exc:
            # Refused by smtplib itself (e.g. the server lacks a feature the message needs).
            self._drop()
            raise DeliveryError(str(exc) or type(exc).__name__, permanent=True) from exc
        except OSError as exc:  # timeouts, resets, TLS errors
            self._drop()
            raise DeliveryError(str(exc) or type(exc).__name__, connection=True) from exc
        if refused:
            # Accepted for some recipients, refused for others: it has gone out, say so.
            raise self._refused(refused)

    @staticmethod
    def _refused(recipients: dict[str, tuple[int, bytes]]) -> DeliveryError:
        details = "; ".join(
            f"{address}: {_reply_text(code, reply)}"
            for address, (code, reply) in recipients.items()
        )
        permanent = all(_is_permanent(code) for code, _reply in recipients.values())
        return DeliveryError(
            _("recipient refused: {error}").format(error=details), permanent=permanent
        )

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


@dataclass(frozen=True)
class Claim:
    """A message claimed by this flush; `attempts` (bumped by the claim) identifies the claim."""

    id: int
    attempts: int
    text: str
    message_id: str


def _due(now: datetime) -> ColumnElement[bool]:
    return or_(
        col(OutboxMessage.next_attempt_at).is_(None), col(OutboxMessage.next_attempt_at) <= now
    )


def _lease_expired(now: datetime, lease: timedelta) -> ColumnElement[bool]:
    return or_(col(OutboxMessage.claimed_at).is_(None), col(OutboxMessage.claimed_at) < now - lease)


def _rowcount(result: Result[Any]) -> int:
    """The rows an UPDATE matched (an UPDATE's result is a CursorResult)."""
    return cast(CursorResult[Any], result).rowcount


def _with_message_id(text: str) -> tuple[str, str]:
    """A message queued before Message-IDs were fixed at queueing gets one now, for good."""
    message = parse_message(text)
    if message["Message-ID"] is None:
        message["Message-ID"] = make_msgid(domain="pec-tui.local")
        text = message.as_string()
    return text, str(message["Message-ID"]).strip()


def _claim(engine: Engine, message_id: int, now: datetime | None = None) -> Claim | None:
    """queued and due -> sending; None when another flush has it or it is not due."""
    now = now or utcnow()
    with session_scope(engine) as session:
        result = session.execute(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.id) == message_id,
                col(OutboxMessage.status) == QUEUED,
                _due(now),
            )
            .values(status=SENDING, attempts=OutboxMessage.attempts + 1, claimed_at=now)
        )
        if _rowcount(result) != 1:
            return None
        row = session.get(OutboxMessage, message_id)
        if row is None:  # cannot happen: it was updated just above, in this transaction
            return None
        text, header_id = row.message, row.message_id
        if not header_id:
            try:
                text, header_id = _with_message_id(text)
            except Exception:  # unreadable: delivery will fail it with the reason
                header_id = ""
            else:
                row.message, row.message_id = text, header_id[:250]
        return Claim(message_id, row.attempts, text, header_id)


def _finish(engine: Engine, claim: Claim, **values: Any) -> bool:
    """Record the outcome of `claim`, unless the claim was lost meanwhile (lease expired)."""
    with session_scope(engine) as session:
        result = session.execute(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.id) == claim.id,
                col(OutboxMessage.status) == SENDING,
                col(OutboxMessage.attempts) == claim.attempts,
            )
            .values(**values)
        )
        return _rowcount(result) == 1


def _mark_sent(engine: Engine, claim: Claim, now: datetime) -> None:
    _finish(engine, claim, status=SENT, sent_at=now, last_error=None, next_attempt_at=None)


def _mark_failed(engine: Engine, claim: Claim, error: str) -> None:
    _finish(engine, claim, status=FAILED, last_error=error[:2000], next_attempt_at=None)


def _defer(engine: Engine, claim: Claim, error: str, now: datetime) -> datetime:
    when = now + retry_delay(claim.attempts)
    _finish(engine, claim, status=QUEUED, last_error=error[:2000], next_attempt_at=when)
    return when


def _reclaim_expired(engine: Engine, now: datetime, lease: timedelta) -> int:
    """Queue again the `sending` messages of flushes that died (claim older than the lease)."""
    with session_scope(engine) as session:
        result = session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.status) == SENDING, _lease_expired(now, lease))
            .values(
                status=QUEUED,
                next_attempt_at=None,
                last_error=_("put back in the queue after an interrupted delivery"),
            )
        )
        return _rowcount(result)


def _due_ids(engine: Engine, now: datetime, after: int, limit: int) -> list[int]:
    with Session(engine) as session:
        return list(
            session.scalars(
                select(col(OutboxMessage.id))
                .where(
                    col(OutboxMessage.status) == QUEUED,
                    col(OutboxMessage.id) > after,
                    _due(now),
                )
                .order_by(col(OutboxMessage.id))
                .limit(limit)
            )
        )


def count_by_status(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        rows = session.execute(
            select(col(OutboxMessage.status), func.count()).group_by(col(OutboxMessage.status))
        ).all()
    return {status: count for status, count in rows}


def count_waiting(engine: Engine, now: datetime | None = None) -> int:
    """Queued messages not due yet (waiting after a temporary failure)."""
    now = now or utcnow()
    with Session(engine) as session:
        return session.scalars(
            select(func.count())
            .select_from(OutboxMessage)
            .where(col(OutboxMessage.status) == QUEUED, col(OutboxMessage.next_attempt_at) > now)
        ).one()


def flush_outbox(
    engine: Engine,
    settings: Settings,
    limit: int | None = None,
    progress: Callable[[int], None] | None = None,
    now: datetime | None = None,
    lease: timedelta = LEASE,
) -> FlushReport:
    """Deliver the queued messages that are due, oldest first, each exactly once.

    `now` (default: the clock) and `lease` are for tests and tools that look ahead.
    """
    clock: Callable[[], datetime] = (lambda: now) if now is not None else utcnow
    transport = transport_for(settings)
    report = FlushReport(transport=transport.name)
    report.reclaimed = _reclaim_expired(engine, clock(), lease)
    try:
        with transport.open() as deliver:
            _deliver_due(engine, deliver, clock, limit, progress, report)
    except DeliveryError as exc:  # the transport could not even be opened
        report.stopped_early = True
        report.errors.append(str(exc))
    report.remaining = count_by_status(engine).get(QUEUED, 0)
    report.waiting = count_waiting(engine, clock())
    return report


def _deliver_due(
    engine: Engine,
    deliver: Callable[[EmailMessage], None],
    clock: Callable[[], datetime],
    limit: int | None,
    progress: Callable[[int], None] | None,
    report: FlushReport,
) -> None:
    connection_failures = 0
    after = 0
    handled = 0
    while True:
        ids = _due_ids(engine, clock(), after, _BATCH)
        if not ids:
            return
        for message_id in ids:
            after = message_id
            if limit is not None and handled >= limit:
                return
            claim = _claim(engine, message_id, clock())
            if claim is None:
                continue  # another flush has it
            handled += 1
            try:
                message = parse_message(claim.text)
            except Exception as exc:  # a broken stored message: keep it, say why
                _mark_failed(engine, claim, f"{type(exc).__name__}: {exc}")
                report.failed += 1
                report.errors.append(f"#{message_id}: {exc}")
                continue
            try:
                deliver(message)
            except DeliveryError as exc:
                if exc.permanent:
                    _mark_failed(engine, claim, str(exc))
                    report.failed += 1
                    report.errors.append(f"#{message_id}: {exc}")
                else:
                    _defer(engine, claim, str(exc), clock())
                    report.deferred += 1
                    report.errors.append(f"#{message_id}: {exc}")
                connection_failures = connection_failures + 1 if exc.connection else 0
                if connection_failures >= MAX_CONNECTION_FAILURES:
                    report.stopped_early = True
                    return
                continue
            _mark_sent(engine, claim, clock())
            connection_failures = 0
            report.sent += 1
            if progress is not None:
                progress(report.sent)


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
                r.next_attempt_at,
                r.message_id,
            )
            for r in rows
        ]


def requeue(
    engine: Engine,
    message_ids: list[int],
    now: datetime | None = None,
    lease: timedelta = LEASE,
) -> int:
    """Put messages stuck in `sending` (a flush died mid-delivery) back in the queue.

    Only those whose claim is older than the lease: a message a live flush is delivering
    right now is left alone, or it would go out twice.
    """
    now = now or utcnow()
    with session_scope(engine) as session:
        result = session.execute(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.id).in_(message_ids),
                col(OutboxMessage.status) == SENDING,
                _lease_expired(now, lease),
            )
            .values(
                status=QUEUED,
                next_attempt_at=None,
                last_error=_("put back in the queue after an interrupted delivery"),
            )
        )
        return _rowcount(result)


def retry(engine: Engine, message_ids: list[int]) -> int:
    """Queue failed messages again, and make queued ones waiting after a failure due now."""
    with session_scope(engine) as session:
        result = session.execute(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.id).in_(message_ids),
                col(OutboxMessage.status).in_((FAILED, QUEUED)),
            )
            .values(status=QUEUED, next_attempt_at=None)
        )
        return _rowcount(result)


# --- for people: the outbox seen and retried by administration -------------------------------


@audit_denials("outbox.list")
def outbox_for(
    engine: Engine, actor: Actor, status: str | None = None, limit: int = 200
) -> list[OutboxRow]:
    """The latest messages for administrators and back office (they are every reseller's)."""
    require_role(actor, Role.ADMIN, Role.BACK_OFFICE, action="outbox.list")
    return list_outbox(engine, status, limit)


@audit_denials("outbox.retry")
def retry_for(engine: Engine, actor: Actor, message_ids: list[int]) -> int:
    """`retry` for administrators and back office, audited."""
    require_role(actor, Role.ADMIN, Role.BACK_OFFICE, action="outbox.retry")
    queued = retry(engine, message_ids)
    with session_scope(engine) as session:
        audit.record(
            session,
            actor,
            "outbox.retry",
            "outbox",
            details={"messages": message_ids[:100], "queued": queued},
        )
    return queued
