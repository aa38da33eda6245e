"""Kiosk identification: a customer proves who they are with a PEC address and the holder's tax code.

Every attempt is audited against the terminal. Failed attempts slow the next one down
(1 s, 2 s, 4 s, ... up to 5 minutes); the delay is derived from that audit trail, so it holds
for every process serving the terminal (one per browser tab under `pec-tui serve`) and
survives a restart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from pec_tui.db.engine import session_scope
from pec_tui.db.models import AuditEvent, Holder, Mailbox, utcnow
from pec_tui.domain.enums import Role
from pec_tui.domain.records import MailboxRow
from pec_tui.i18n import _, ngettext
from pec_tui.services import audit, mailboxes
from pec_tui.services.actor import Actor

ACTION = "kiosk.identify"
ENTITY = "kiosk_terminal"
BASE_DELAY_SECONDS = 1
MAX_DELAY_SECONDS = 300
# Failures older than this (or before a success) no longer count towards the delay.
FAILURE_MEMORY = timedelta(minutes=15)
# A kiosk lists at most this many of the holder's mailboxes (soonest expiry first).
MAX_LISTED = 500


@dataclass(frozen=True)
class Identified:
    actor: Actor
    holder_name: str


class IdentificationRefused(Exception):
    """Wrong credentials or too many attempts; `retry_after` seconds until the next try."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


def delay_after(failures: int) -> int:
    """Seconds a terminal must wait after `failures` consecutive failed identifications."""
    if failures <= 0:
        return 0
    # Doubling with each failure: BASE_DELAY_SECONDS * 2 ** (failures - 1), capped.
    return min(MAX_DELAY_SECONDS, BASE_DELAY_SECONDS << min(failures - 1, 30))


def normalise_tax_code(value: str) -> str:
    """Upper case without blanks; an `IT` prefix before the 11 digits of a partita IVA dropped."""
    code = "".join(value.split()).upper()
    if len(code) == 13 and code.startswith("IT") and code[2:].isdigit():
        code = code[2:]
    return code


def _utc(moment: datetime) -> datetime:
    # SQLite hands timestamps back without their zone; they were stored in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _terminal_key(terminal: str | None) -> str:
    return (terminal or "")[:64]


def _recent_failures(
    session: Session, terminal: str | None, now: datetime
) -> tuple[int, datetime | None]:
    """Consecutive failures on `terminal` still remembered, and when the last one happened."""
    events = session.exec(
        select(AuditEvent.outcome, AuditEvent.at)
        .where(
            AuditEvent.entity == ENTITY,
            AuditEvent.entity_id == _terminal_key(terminal),
            AuditEvent.action == ACTION,
            col(AuditEvent.at) >= now - FAILURE_MEMORY,
        )
        .order_by(col(AuditEvent.id).desc())
        .limit(64)
    ).all()
    failures, last = 0, None
    for outcome, at in events:
        if outcome == "ok":
            break
        failures += 1
        last = last or _utc(at)
    return failures, last


def _wait(failures: int, last: datetime | None, now: datetime) -> float:
    if last is None:
        return 0.0
    return max(0.0, (last + timedelta(seconds=delay_after(failures)) - now).total_seconds())


def retry_after(engine: Engine, terminal: str | None, now: datetime | None = None) -> float:
    """Seconds before `terminal` may try to identify again (0 when it may now)."""
    now = now or utcnow()
    with session_scope(engine) as session:
        return _wait(*_recent_failures(session, terminal, now), now)


def _wait_message(seconds: float) -> str:
    whole = max(1, math.ceil(seconds))
    return ngettext(
        "Wait {seconds} second before trying again.",
        "Wait {seconds} seconds before trying again.",
        whole,
    ).format(seconds=whole)


def identify(
    engine: Engine,
    address: str,
    tax_code: str,
    terminal: str | None,
    now: datetime | None = None,
    customer_terminal: str | None = None,
) -> Identified:
    """The kiosk actor of the holder of `address`, if `tax_code` is that holder's CF or P.IVA.

    Raises `IdentificationRefused` (audited) when they do not match or the terminal must
    still wait; the message never tells which of the two values was wrong. `terminal` is the
    kiosk's configured name, which failures slow down whichever session made them;
    `customer_terminal` is the terminal identity of this customer session (default:
    `terminal`), which the audit records and the customer acts from.
    """
    customer_terminal = customer_terminal or terminal
    now = now or utcnow()
    address = address.strip().lower()
    code = normalise_tax_code(tax_code)
    with session_scope(engine) as session:
        failures, last = _recent_failures(session, terminal, now)
        wait = _wait(failures, last, now)
        if wait > 0:
            raise IdentificationRefused(
                _("Too many failed attempts.") + " " + _wait_message(wait), wait
            )
        found = session.exec(
            select(Mailbox.reseller_id, Holder)
            .join(Holder, col(Holder.id) == Mailbox.holder_id)
            .where(Mailbox.address == address)
        ).first()
        if found is not None and code and code in (found[1].codice_fiscale, found[1].partita_iva):
            reseller_id, holder = found
            actor = Actor(
                name=f"kiosk:{address}"[:100],
                # The role is irrelevant: holder_id scopes every service call to the holder.
                role=Role.RESELLER,
                reseller_id=reseller_id,
                holder_id=holder.id,
                terminal=customer_terminal,
            )
            event = audit.record(
                session, actor, ACTION, ENTITY, _terminal_key(terminal), {"address": address}
            )
            event.at = now
            return Identified(actor, holder.display_name)
        failures += 1
        anonymous = Actor(name="kiosk", role=Role.RESELLER, terminal=customer_terminal)
        event = audit.record(
            session,
            anonymous,
            ACTION,
            ENTITY,
            _terminal_key(terminal),
            {"address": address[:254], "failures": failures},
            outcome="denied",
        )
        event.at = now
    delay = delay_after(failures)
    raise IdentificationRefused(
        _("This PEC address and tax code do not match any mailbox.") + " " + _wait_message(delay),
        delay,
    )


def holder_mailboxes(engine: Engine, actor: Actor, today: date) -> list[MailboxRow]:
    """The identified holder's mailboxes, soonest expiry first (at most `MAX_LISTED`)."""
    if actor.holder_id is None:
        raise ValueError("a kiosk listing needs an identified holder")
    flt = mailboxes.MailboxFilter(holder_id=actor.holder_id)
    return mailboxes.page(engine, actor, flt, today, limit=MAX_LISTED)
