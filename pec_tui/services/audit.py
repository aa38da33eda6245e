"""The append-only audit trail: who did what, when, from which terminal.

The application only ever inserts: changing or deleting an `AuditEvent` raises `AuditTampering`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Delete, Engine, Update, event, insert
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

from pec_tui.db import audit_guard
from pec_tui.db.models import AuditEvent, utcnow
from pec_tui.services.actor import Actor


def record(
    session: Session,
    actor: Actor,
    action: str,
    entity: str | None = None,
    entity_id: object = None,
    details: dict[str, Any] | None = None,
    outcome: str = "ok",
) -> AuditEvent:
    """Add an event to `session` (committed with the change it describes)."""
    event = AuditEvent(**_event_values(actor, action, entity, entity_id, details, outcome))
    session.add(event)
    return event


def record_many(
    session: Session,
    actor: Actor,
    action: str,
    entity: str | None,
    events: Sequence[tuple[object, dict[str, Any] | None]],
    outcome: str = "ok",
) -> None:
    """What `record` adds for each (entity id, details) of `events`, written with one
    multi-row INSERT in the session's transaction (a batch job's thousands of events)."""
    if not events:
        return
    at = utcnow()
    session.execute(
        insert(AuditEvent.__table__),
        [
            _event_values(actor, action, entity, entity_id, details, outcome) | {"at": at}
            for entity_id, details in events
        ],
    )


def _event_values(
    actor: Actor,
    action: str,
    entity: str | None,
    entity_id: object,
    details: dict[str, Any] | None,
    outcome: str,
) -> dict[str, Any]:
    """An event's columns (but its time)."""
    return {
        "operator_id": actor.operator_id,
        "actor": actor.name,
        "terminal": actor.terminal,
        "action": action,
        "entity": entity,
        "entity_id": None if entity_id is None else str(entity_id),
        "reseller_id": actor.reseller_id,
        "details": details,
        "outcome": outcome,
    }


# --- append-only guard -------------------------------------------------------------------


_TABLE = AuditEvent.__tablename__


class AuditTampering(RuntimeError):
    """Something tried to change or delete an audit record: the application only appends."""


@event.listens_for(OrmSession, "before_flush")
def _refuse_changed_events(session: OrmSession, _context: object, _instances: object) -> None:
    for obj in session.deleted:
        if isinstance(obj, AuditEvent):
            raise AuditTampering(f"audit event {obj.id} cannot be deleted")
    for obj in session.dirty:
        if isinstance(obj, AuditEvent) and session.is_modified(obj):
            raise AuditTampering(f"audit event {obj.id} cannot be changed")


@event.listens_for(Engine, "before_execute")
def _refuse_bulk_changes(conn: Connection, clause: object, *_args: object) -> None:
    # Covers `update(AuditEvent)` / `delete(AuditEvent)` from the ORM and Core alike. Raw SQL
    # text is out of reach here: the database's own permissions are the last line.
    table = getattr(clause, "table", None)
    if isinstance(clause, (Update, Delete)) and getattr(table, "name", None) == _TABLE:
        if isinstance(clause, Delete) and conn.info.get(_WIPE):
            return
        raise AuditTampering(
            "audit events cannot be updated or deleted (emptying a whole demo database "
            "goes through audit.wiping_database(connection))"
        )


_WIPE = "pec_tui.wiping_database"


@contextmanager
def wiping_database(connection: Connection) -> Iterator[None]:
    """Let `connection` delete audit events, for emptying a whole (demo) database only.

    Record the wipe itself afterwards (`record(..., "demo.reset")`): the new trail starts
    with who emptied the old one.
    """
    connection.info[_WIPE] = True
    try:
        # The database's own triggers too, inside this transaction (see db/audit_guard.py).
        with audit_guard.lifted(connection):
            yield
    finally:
        # `info` lives as long as the pooled DBAPI connection: never leave the flag behind.
        connection.info.pop(_WIPE, None)
