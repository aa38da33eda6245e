"""Reading the audit trail (administrators only): filtered pages, newest first, and exports.

The table only grows, so nothing here loads it whole: pages are fetched by keyset on the id
(which grows with time), exports stream in batches.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, TextIO

from sqlalchemy import ColumnElement, Engine, func, or_
from sqlmodel import Session, col, select

from pec_tui.db.models import AuditEvent
from pec_tui.domain.csv_cells import SafeWriter
from pec_tui.services.actor import Actor
from pec_tui.services.scope import audit_denials, require_admin

PAGE_SIZE = 50
EXPORT_BATCH = 1000
EXPORT_FIELDS = (
    "id",
    "at",
    "actor",
    "operator_id",
    "terminal",
    "action",
    "entity",
    "entity_id",
    "reseller_id",
    "outcome",
    "details",
)


@dataclass(frozen=True)
class AuditFilter:
    """`since` inclusive, `until` exclusive; `action` matches itself and its sub-actions
    (`operator` matches `operator.create`); `actor` is an operator's username."""

    since: datetime | None = None
    until: datetime | None = None
    actor: str | None = None
    action: str | None = None
    outcome: str | None = None


@dataclass(frozen=True, slots=True)
class AuditRow:
    id: int
    at: datetime
    actor: str
    operator_id: int | None
    terminal: str | None
    action: str
    entity: str | None
    entity_id: str | None
    reseller_id: int | None
    outcome: str
    details: dict[str, Any] | None


def day_start(day: date) -> datetime:
    """Midnight at the start of `day` in this machine's time zone (what the operator means)."""
    return datetime.combine(day, time.min).astimezone()


def day_end(day: date) -> datetime:
    """Exclusive upper bound covering the whole of `day`."""
    return day_start(day + timedelta(days=1))


def _conditions(flt: AuditFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if flt.since is not None:
        where.append(col(AuditEvent.at) >= flt.since)
    if flt.until is not None:
        where.append(col(AuditEvent.at) < flt.until)
    if flt.actor:
        where.append(col(AuditEvent.actor) == flt.actor.strip().lower())
    if flt.action:
        action = flt.action.strip()
        escaped = action.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(
            or_(
                col(AuditEvent.action) == action,
                col(AuditEvent.action).like(escaped + ".%", escape="\\"),
            )
        )
    if flt.outcome:
        where.append(col(AuditEvent.outcome) == flt.outcome.strip())
    return where


def _row(event: AuditEvent) -> AuditRow:
    return AuditRow(**{name: getattr(event, name) for name in AuditRow.__slots__})


@audit_denials("audit.read")
def count(engine: Engine, actor: Actor, flt: AuditFilter) -> int:
    require_admin(actor, "audit.read")
    with Session(engine) as session:
        stmt = select(func.count()).select_from(AuditEvent).where(*_conditions(flt))
        return session.exec(stmt).one()


@audit_denials("audit.read")
def page(
    engine: Engine,
    actor: Actor,
    flt: AuditFilter,
    before_id: int | None = None,
    after_id: int | None = None,
    limit: int = PAGE_SIZE,
) -> list[AuditRow]:
    """Up to `limit` events, newest first: the first page, the one older than `before_id`
    (next page) or the one newer than `after_id` (previous page)."""
    require_admin(actor, "audit.read")
    where = _conditions(flt)
    with Session(engine) as session:
        stmt = select(AuditEvent).where(*where)
        if after_id is not None:
            stmt = stmt.where(col(AuditEvent.id) > after_id).order_by(col(AuditEvent.id))
            rows = session.exec(stmt.limit(limit)).all()
            return [_row(e) for e in reversed(rows)]
        if before_id is not None:
            stmt = stmt.where(col(AuditEvent.id) < before_id)
        rows = session.exec(stmt.order_by(col(AuditEvent.id).desc()).limit(limit)).all()
        return [_row(e) for e in rows]


@audit_denials("audit.read")
def actions(engine: Engine, actor: Actor) -> list[str]:
    """The distinct actions recorded so far (for the filter's suggestions)."""
    require_admin(actor, "audit.read")
    with Session(engine) as session:
        return list(
            session.exec(select(AuditEvent.action).distinct().order_by(AuditEvent.action)).all()
        )


@audit_denials("audit.export")
def iter_events(
    engine: Engine, actor: Actor, flt: AuditFilter, batch: int = EXPORT_BATCH
) -> Iterator[AuditRow]:
    """Every matching event, oldest first, fetched `batch` at a time (admins only).

    The permission is checked now, not at the first `next()`.
    """
    require_admin(actor, "audit.export")
    return _stream(engine, _conditions(flt), batch)


def _stream(engine: Engine, where: list[ColumnElement[bool]], batch: int) -> Iterator[AuditRow]:
    last_id = 0
    while True:
        with Session(engine) as session:
            rows = session.exec(
                select(AuditEvent)
                .where(*where, col(AuditEvent.id) > last_id)
                .order_by(col(AuditEvent.id))
                .limit(batch)
            ).all()
            chunk = [_row(e) for e in rows]
        yield from chunk
        if len(chunk) < batch:
            return
        last_id = chunk[-1].id


def _plain(row: AuditRow) -> dict[str, Any]:
    data = asdict(row)
    data["at"] = row.at.isoformat()
    return data


def write_csv(rows: Iterable[AuditRow], out: TextIO) -> int:
    """CSV with a header line; `details` as a JSON object. Returns the number of events."""
    writer = SafeWriter(out)
    writer.writerow(EXPORT_FIELDS)
    n = 0
    for row in rows:
        data = _plain(row)
        data["details"] = (
            json.dumps(row.details, ensure_ascii=False, sort_keys=True) if row.details else ""
        )
        writer.writerow(data[name] for name in EXPORT_FIELDS)
        n += 1
    return n


def write_json(rows: Iterable[AuditRow], out: TextIO) -> int:
    """A JSON array, written as it streams (never held whole). Returns the number of events."""
    out.write("[")
    n = 0
    for row in rows:
        out.write(",\n" if n else "\n")
        out.write(json.dumps(_plain(row), ensure_ascii=False, sort_keys=True, default=str))
        n += 1
    out.write("\n]\n" if n else "]\n")
    return n


@dataclass
class AuditLog:
    """The audit screen's handle: one database, one acting administrator."""

    engine: Engine
    actor: Actor

    def count(self, flt: AuditFilter) -> int:
        return count(self.engine, self.actor, flt)

    def page(
        self, flt: AuditFilter, before_id: int | None = None, after_id: int | None = None
    ) -> list[AuditRow]:
        return page(self.engine, self.actor, flt, before_id, after_id)

    def actions(self) -> list[str]:
        return actions(self.engine, self.actor)

    @staticmethod
    def make_filter(
        since: date | None = None,
        until: date | None = None,
        actor: str | None = None,
        action: str | None = None,
        outcome: str | None = None,
    ) -> AuditFilter:
        """A filter from what the screen's fields hold: whole days, local time."""
        return AuditFilter(
            since=day_start(since) if since else None,
            until=day_end(until) if until else None,
            actor=actor or None,
            action=action or None,
            outcome=outcome or None,
        )
