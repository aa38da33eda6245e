"""The resellers an operator may choose among (the mailbox list's reseller filter)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from pec_tui.db.models import Reseller
from pec_tui.services.actor import Actor
from pec_tui.services.scope import scope_reseller


@dataclass(frozen=True)
class ResellerChoice:
    id: int
    name: str


def reseller_choices(engine: Engine, actor: Actor) -> list[ResellerChoice]:
    """Every reseller the actor may see, by name (a reseller operator: its own only)."""
    stmt = scope_reseller(
        select(Reseller.id, Reseller.name).order_by(col(Reseller.name), col(Reseller.id)),
        actor,
        Reseller.id,
    )
    with Session(engine) as session:
        return [ResellerChoice(int(i), name) for i, name in session.exec(stmt)]
