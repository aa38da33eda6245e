"""What every screen is given when it is made: the database, who is working, the settings and
the clock. The application builds it, and builds a new one when the actor changes (sign-in,
unlock, a kiosk customer identified)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date

from sqlalchemy import Engine

from pec_tui.config import Settings
from pec_tui.services.actor import Actor
from pec_tui.services.draft_leases import LeaseTerms


@dataclass(frozen=True)
class Context:
    engine: Engine
    actor: Actor
    settings: Settings
    today: Callable[[], date] = field(default=date.today)

    def as_actor(self, actor: Actor) -> Context:
        """The same context on behalf of `actor`."""
        return replace(self, actor=actor)

    @property
    def lease(self) -> LeaseTerms:
        """How this session holds the drafts it works on (from the settings)."""
        return LeaseTerms.of_seconds(
            self.settings.draft_lease_seconds, self.settings.draft_colleague_wait_seconds
        )
