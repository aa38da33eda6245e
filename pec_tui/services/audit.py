"""The append-only audit trail: who did what, when, from which terminal."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from pec_tui.db.models import AuditEvent
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
    event = AuditEvent(
        operator_id=actor.operator_id,
        actor=actor.name,
        terminal=actor.terminal,
        action=action,
        entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        reseller_id=actor.reseller_id,
        details=details,
        outcome=outcome,
    )
    session.add(event)
    return event
