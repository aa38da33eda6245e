"""Tenancy: what an actor may see and touch, as reusable SQL filters and checks.

A reseller operator (`actor.reseller_id`) sees only its reseller's holders, mailboxes and
orders; a kiosk (`actor.holder_id`) only its holder's. Administrators and back-office
operators without a reseller see everything. Every refusal is audited with outcome "denied":
`check_owned` and `require_role` raise `Denied`, and `audit_denials` (a decorator for service
functions taking `(engine, actor, ...)`) records the refusal in a transaction of its own,
after the failed one has been rolled back, so the record survives the refusal.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import ColumnElement, Engine, Select, and_, false, true
from sqlmodel import col

from pec_tui.db.engine import session_scope
from pec_tui.db.models import Holder, Mailbox, Order
from pec_tui.domain.enums import Role
from pec_tui.i18n import _
from pec_tui.services import audit
from pec_tui.services.actor import AccessDenied, Actor

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S", bound="Select[*tuple[Any, ...]]")


class Denied(AccessDenied):
    """A refusal that knows what was refused, for the audit record."""

    def __init__(
        self,
        message: str,
        action: str | None = None,
        entity: str | None = None,
        entity_id: object = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.action = action
        self.entity = entity
        self.entity_id = entity_id

    def __str__(self) -> str:
        return self.message


class OutOfScope(Denied, LookupError):
    """A record the actor may not see, refused exactly as if it did not exist.

    Its message is the not-found message of what was asked for, and it is a LookupError, so
    the CLI answers with the same text and exit status as for a missing record; it is also
    an AccessDenied, so the refusal is audited (`record_denial`) with what was asked for.
    """


# --- SQL filters -------------------------------------------------------------------------


def _conditions(actor: Actor, reseller_column: Any, holder_column: Any) -> ColumnElement[bool]:
    parts: list[ColumnElement[bool]] = []
    if actor.reseller_id is not None:
        parts.append(col(reseller_column) == actor.reseller_id)
    if actor.holder_id is not None:
        parts.append(col(holder_column) == actor.holder_id)
    return and_(*parts) if parts else true()


def mailbox_condition(actor: Actor) -> ColumnElement[bool]:
    """The WHERE condition selecting the mailboxes `actor` may see."""
    return _conditions(actor, Mailbox.reseller_id, Mailbox.holder_id)


def holder_condition(actor: Actor) -> ColumnElement[bool]:
    return _conditions(actor, Holder.reseller_id, Holder.id)


def order_condition(actor: Actor) -> ColumnElement[bool]:
    return _conditions(actor, Order.reseller_id, Order.holder_id)


def scope_mailboxes(stmt: S, actor: Actor) -> S:
    """`stmt` (selecting from `mailbox`) narrowed to what `actor` may see."""
    return stmt.where(mailbox_condition(actor)) if _narrowed(actor) else stmt


def scope_holders(stmt: S, actor: Actor) -> S:
    return stmt.where(holder_condition(actor)) if _narrowed(actor) else stmt


def scope_orders(stmt: S, actor: Actor) -> S:
    return stmt.where(order_condition(actor)) if _narrowed(actor) else stmt


def scope_reseller(stmt: S, actor: Actor, reseller_column: Any) -> S:
    """For tables that only carry a reseller (credit movements, resellers themselves).

    A kiosk has no business with reseller-level records at all.
    """
    if actor.holder_id is not None:
        return stmt.where(false())
    if actor.reseller_id is not None:
        return stmt.where(col(reseller_column) == actor.reseller_id)
    return stmt


def _narrowed(actor: Actor) -> bool:
    return actor.reseller_id is not None or actor.holder_id is not None


# --- checks on one record ----------------------------------------------------------------


def owns(actor: Actor, reseller_id: int | None, holder_id: int | None) -> bool:
    """May `actor` see a record belonging to this reseller and holder?"""
    if actor.reseller_id is not None and reseller_id != actor.reseller_id:
        return False
    return not (actor.holder_id is not None and holder_id != actor.holder_id)


def check_owned(
    actor: Actor,
    reseller_id: int | None,
    holder_id: int | None,
    *,
    action: str | None = None,
    entity: str | None = None,
    entity_id: object = None,
) -> None:
    """Raise `OutOfScope` unless `actor` may touch a record of this reseller and holder.

    The message is the one a missing record gets (`not_found_message`): a reseller must not
    learn that an id exists in another reseller's book. Wrap the service in `audit_denials`
    (or call `record_denial`) so the refusal is audited with what was asked for.
    """
    if not owns(actor, reseller_id, holder_id):
        raise OutOfScope(not_found_message(entity, entity_id), action, entity, entity_id)


def not_found_message(entity: str | None, entity_id: object) -> str:
    """What a missing record is answered with — and a record out of the actor's scope."""
    return _("There is no {entity} {id}.").format(entity=_entity_label(entity), id=entity_id)


def require_role(actor: Actor, *roles: Role, action: str | None = None) -> None:
    """Raise `Denied` unless `actor` has one of `roles` (a kiosk never has any)."""
    if actor.is_kiosk or actor.role not in roles:
        raise Denied(_("Your role does not allow this operation."), action)


def require_admin(actor: Actor, action: str | None = None) -> None:
    """Administrators only (system included); a reseller-scoped admin is not one."""
    if not actor.is_admin or actor.reseller_id is not None:
        raise Denied(_("Only an administrator may do this."), action)


def _entity_label(entity: str | None) -> str:
    labels = {
        "mailbox": _("mailbox"),
        "holder": _("holder"),
        "order": _("order"),
        "reseller": _("reseller"),
        "payment": _("payment"),
    }
    return labels.get(entity or "", _("record"))


# --- auditing refusals -------------------------------------------------------------------


def record_denial(
    engine: Engine,
    actor: Actor,
    exc: AccessDenied,
    action: str | None = None,
    entity: str | None = None,
    entity_id: object = None,
) -> None:
    """Audit `exc` (once) in a transaction of its own; never hides the refusal itself.

    What `exc` knows (a `Denied`) wins over the `action`, `entity` and `entity_id` given.
    """
    if getattr(exc, "audited", False):
        return
    entity = getattr(exc, "entity", None) or entity
    entity_id = getattr(exc, "entity_id", None) or entity_id
    what = getattr(exc, "action", None) or action or "access"
    try:
        with session_scope(engine) as session:
            audit.record(
                session,
                actor,
                what,
                entity,
                entity_id,
                {"reason": str(exc)},
                outcome="denied",
            )
        exc.audited = True  # type: ignore[attr-defined]
    except Exception:  # the refusal must reach the caller even if the audit write fails
        log.exception("could not audit a refusal of %s to %s", what, actor.name)


@contextmanager
def denials_recorded(engine: Engine, actor: Actor, action: str) -> Iterator[None]:
    """Audit any `AccessDenied` raised inside the block, then let it propagate."""
    try:
        yield
    except AccessDenied as exc:
        record_denial(engine, actor, exc, action)
        raise


def audit_denials(action: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a service `fn(engine, actor, ...)` so that its refusals are audited."""

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            engine = args[0] if args else kwargs["engine"]
            actor = args[1] if len(args) > 1 else kwargs["actor"]
            with denials_recorded(engine, actor, action):  # type: ignore[arg-type]
                return fn(*args, **kwargs)

        return wrapper

    return decorate
