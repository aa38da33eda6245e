"""Who is acting: every service call is made on behalf of an actor and scoped to it."""

from __future__ import annotations

from dataclasses import dataclass, replace

from pec_tui.domain.enums import Role


@dataclass(frozen=True)
class Actor:
    name: str
    role: Role
    operator_id: int | None = None
    # A reseller operator sees only this reseller's holders, mailboxes and orders.
    reseller_id: int | None = None
    # A kiosk customer sees only this holder's mailboxes and orders.
    holder_id: int | None = None
    terminal: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN and self.holder_id is None

    @property
    def is_kiosk(self) -> bool:
        return self.holder_id is not None

    def on_terminal(self, terminal: str | None) -> Actor:
        return replace(self, terminal=terminal)


# Scripts and the lifecycle job run as the system, which sees everything.
SYSTEM = Actor(name="system", role=Role.ADMIN)


class AccessDenied(PermissionError):
    """The actor may not see or touch this record; the attempt is audited."""
