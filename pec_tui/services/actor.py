"""Who is acting: every service call is made on behalf of an actor and scoped to it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace

from pec_tui.domain.enums import Role

# The longest terminal name the database keeps (audit events, orders, draft leases).
TERMINAL_MAX = 100
# Hex digits of a session id: enough that two sessions never share one by chance, since a
# draft's lease is held by the session's terminal identity.
SESSION_ID_DIGITS = 8


def session_terminal(name: str) -> str:
    """The terminal identity of one running UI: the configured name and a new session id.

    Every terminal process, browser tab under `pec-tui serve` and kiosk customer session has
    its own ("front-desk#3f9a02c1"), so the audit tells them apart and a draft is held by
    the one session working on it, even when they share a machine and its name.
    """
    session_id = secrets.token_hex(SESSION_ID_DIGITS // 2)
    return f"{name[: TERMINAL_MAX - SESSION_ID_DIGITS - 1]}#{session_id}"


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
