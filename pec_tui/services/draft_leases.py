"""Draft leases: a draft is held by the one session working on it.

A session is one running UI (a terminal process, a browser tab, a kiosk customer): its
terminal identity, `Actor.terminal`, is the holder. Starting or resuming a draft takes its
lease for `LeaseTerms.duration`; the open flow renews it (`renew`), and ending the flow
releases it (`release`): kept for later (no holder: a free draft in the drafts list), or
interrupted (the session quits mid-flow: the lease ends at once).

A live lease hides the draft from every other session: it is not listed, not offered, cannot
be resumed, saved, confirmed or discarded there. A lease that ran out (the session died, or
quit mid-flow) makes the draft *interrupted*: it is offered back at sign-in
(`interrupted_drafts`), to the operator who was working on it at once, to colleagues allowed
to see it once `LeaseTerms.colleague_wait` has passed too. An offer closed without resuming
sets the drafts aside (`set_aside`): free drafts, listed, no longer offered. Taking a draft over
(`take_over`) is one conditional UPDATE whose row count says who won: of two sessions racing
for it, one gets it. Kiosk drafts are the kiosk's: never listed or offered to operators.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Engine, Result, and_, false, or_, true
from sqlmodel import Session, col, select

from pec_tui.db.models import Order, utcnow
from pec_tui.domain.draft import DraftSummary, RenewalRefused, Step, draft_preview
from pec_tui.domain.enums import OrderStatus, OrderType
from pec_tui.i18n import _
from pec_tui.services import audit
from pec_tui.services.actor import AccessDenied, Actor
from pec_tui.services.order_queries import load_own_order
from pec_tui.services.scope import audit_denials, scope_orders
from pec_tui.services.transactions import write_session


@dataclass(frozen=True)
class LeaseTerms:
    """How long a lease lasts without renewal, and how long after it ran out a draft is
    offered only to its own operator."""

    duration: timedelta = timedelta(seconds=60)
    colleague_wait: timedelta = timedelta(minutes=5)

    @property
    def renew_every(self) -> float:
        """Seconds between renewals: three chances before the lease runs out."""
        return self.duration.total_seconds() / 3

    @classmethod
    def of_seconds(cls, duration: float, colleague_wait: float) -> LeaseTerms:
        return cls(timedelta(seconds=duration), timedelta(seconds=colleague_wait))


DEFAULT_TERMS = LeaseTerms()


class DraftHeld(RenewalRefused):
    """Another session holds the draft (or took it over from this one)."""


def _utc(moment: datetime) -> datetime:
    # SQLite hands timestamps back without their zone; they were stored in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _rowcount(result: Result[Any]) -> int:
    return cast(CursorResult[Any], result).rowcount


def is_live(order: Order, now: datetime) -> bool:
    """The draft is held by a session whose lease has not run out."""
    return (
        order.lease_holder is not None
        and order.lease_until is not None
        and _utc(order.lease_until) > now
    )


def _held_message(holder: str) -> str:
    return _(
        "This draft is open on terminal {terminal}: it can be taken over once that session ends."
    ).format(terminal=holder)


def grant(order: Order, actor: Actor, terms: LeaseTerms, now: datetime) -> None:
    """Give the lease of `order` (a draft row being written) to the actor's session."""
    order.lease_holder = actor.terminal
    order.lease_until = now + terms.duration if actor.terminal is not None else None


def check_holding(order: Order, actor: Actor, now: datetime) -> None:
    """Refuse to write a draft another session holds, or took over from this one.

    A draft with no holder is free: whoever may see it writes it (and the caller grants the
    lease). A holder other than this session means someone else resumed it.
    """
    holder = order.lease_holder
    if holder is None or holder == actor.terminal:
        return
    if is_live(order, now):
        raise DraftHeld(_held_message(holder))
    raise DraftHeld(
        _(
            "This draft was left unattended and another session may take it over: resume it "
            "from the drafts list."
        )
    )


def check_discard(order: Order, actor: Actor, now: datetime) -> None:
    """Refuse to discard a draft another live session is working on."""
    if order.lease_holder != actor.terminal and is_live(order, now):
        raise DraftHeld(_held_message(order.lease_holder or ""))


def _free_or_mine(actor: Actor, now: datetime) -> ColumnElement[bool]:
    """SQL: the draft's lease is not another session's live one."""
    conditions = [
        col(Order.lease_holder).is_(None),
        col(Order.lease_until).is_(None),
        col(Order.lease_until) <= now,
    ]
    if actor.terminal is not None:
        conditions.append(col(Order.lease_holder) == actor.terminal)
    return or_(*conditions)


def _channel(actor: Actor) -> ColumnElement[bool]:
    """SQL: the drafts of the actor's channel (kiosk drafts for a kiosk customer only)."""
    return col(Order.kiosk).is_(true()) if actor.is_kiosk else col(Order.kiosk).is_(false())


def _summary(order: Order) -> DraftSummary:
    state = order.draft_state or {}
    addresses, count = draft_preview(state)
    return DraftSummary(
        order_id=order.id,
        billed_to=state.get("billed_to", ""),
        addresses=addresses,
        step=Step(state.get("step", Step.PLAN)),
        updated_at=order.updated_at,
        terminal=order.terminal,
        order_type=OrderType(order.type),
        mailbox_count=count,
    )


def _drafts(session: Session, actor: Actor, *conditions: ColumnElement[bool]) -> list[Order]:
    stmt = scope_orders(
        select(Order).where(Order.status == OrderStatus.DRAFT.value, _channel(actor), *conditions),
        actor,
    )
    return list(session.exec(stmt.order_by(col(Order.updated_at).desc())).all())


def listed_drafts(engine: Engine, actor: Actor, now: datetime | None = None) -> list[DraftSummary]:
    """Drafts this actor may resume, newest first: none another live session holds."""
    now = now or utcnow()
    with Session(engine) as session:
        return [_summary(o) for o in _drafts(session, actor, _free_or_mine(actor, now))]


def interrupted_drafts(
    engine: Engine, actor: Actor, terms: LeaseTerms = DEFAULT_TERMS, now: datetime | None = None
) -> list[DraftSummary]:
    """Drafts whose session died or quit mid-flow, to offer back at sign-in: the actor's own
    operator's at once, colleagues' once `terms.colleague_wait` has passed too."""
    now = now or utcnow()
    own = (
        col(Order.operator_id).is_(None)
        if actor.operator_id is None
        else col(Order.operator_id) == actor.operator_id
    )
    with Session(engine) as session:
        orders = _drafts(
            session,
            actor,
            col(Order.lease_holder).is_not(None),
            col(Order.lease_until) <= now,
            or_(own, col(Order.lease_until) <= now - terms.colleague_wait),
        )
        return [_summary(o) for o in orders]


@audit_denials("draft.take_over")
def take_over(
    engine: Engine,
    actor: Actor,
    order_id: int,
    terms: LeaseTerms = DEFAULT_TERMS,
    now: datetime | None = None,
) -> None:
    """Hold draft `order_id` for the actor's session: it is free, its lease ran out, or it is
    already this session's. One conditional UPDATE decides, so of two sessions racing for
    it exactly one gets it; the other is refused with `DraftHeld`."""
    now = now or utcnow()
    with write_session(engine) as session:
        order = load_own_order(session, actor, order_id)
        if order.status != OrderStatus.DRAFT.value:
            raise RenewalRefused(_("This order has already been confirmed or discarded."))
        if order.kiosk != actor.is_kiosk:
            raise AccessDenied(_("This draft was begun at the kiosk and stays there."))
        previous = order.lease_holder
        result = session.execute(
            Order.__table__.update()
            .where(
                col(Order.id) == order_id,
                col(Order.status) == OrderStatus.DRAFT.value,
                _free_or_mine(actor, now),
            )
            .values(
                lease_holder=actor.terminal,
                lease_until=now + terms.duration if actor.terminal is not None else None,
                operator_id=actor.operator_id,
            )
        )
        if _rowcount(result) != 1:
            # Read again: the session that won holds it now.
            holder = session.exec(select(Order.lease_holder).where(Order.id == order_id)).first()
            raise DraftHeld(_held_message(holder or ""))
        if previous is not None and previous != actor.terminal:
            audit.record(session, actor, "draft.take_over", "order", order_id, {"from": previous})


def renew(
    engine: Engine,
    actor: Actor,
    order_id: int,
    terms: LeaseTerms = DEFAULT_TERMS,
    now: datetime | None = None,
) -> bool:
    """Extend this session's lease on `order_id`; False when it no longer holds the draft
    (taken over, confirmed or discarded meanwhile)."""
    if actor.terminal is None:
        return True
    now = now or utcnow()
    with write_session(engine) as session:
        result = session.execute(
            Order.__table__.update()
            .where(
                col(Order.id) == order_id,
                col(Order.status) == OrderStatus.DRAFT.value,
                col(Order.lease_holder) == actor.terminal,
            )
            .values(lease_until=now + terms.duration)
        )
        return _rowcount(result) == 1


def release(
    engine: Engine,
    actor: Actor,
    order_id: int,
    interrupted: bool = False,
    now: datetime | None = None,
) -> None:
    """End this session's lease on `order_id`: a draft kept for later (free, listed, not
    offered), or `interrupted` (offered back at the next sign-in)."""
    if actor.terminal is None:
        return
    values: dict[str, Any] = (
        {"lease_until": now or utcnow()}
        if interrupted
        else {"lease_holder": None, "lease_until": None}
    )
    with write_session(engine) as session:
        session.execute(
            Order.__table__.update()
            .where(
                col(Order.id) == order_id,
                col(Order.status) == OrderStatus.DRAFT.value,
                col(Order.lease_holder) == actor.terminal,
            )
            .values(**values)
        )


def release_session(engine: Engine, terminal: str, now: datetime | None = None) -> int:
    """The session `terminal` ends (its UI quits): the drafts it still holds are interrupted,
    to be offered back at once. How many."""
    now = now or utcnow()
    with write_session(engine) as session:
        result = session.execute(
            Order.__table__.update()
            .where(
                col(Order.status) == OrderStatus.DRAFT.value,
                col(Order.lease_holder) == terminal,
                col(Order.lease_until) > now,
            )
            .values(lease_until=now)
        )
        return _rowcount(result)


def set_aside(
    engine: Engine, actor: Actor, order_ids: Sequence[int], now: datetime | None = None
) -> None:
    """The interrupted drafts `order_ids` were offered and not resumed: they become free
    drafts, still listed, no longer offered (unless another session took one meanwhile)."""
    if not order_ids:
        return
    now = now or utcnow()
    with write_session(engine) as session:
        ids = session.exec(
            scope_orders(
                select(Order.id).where(
                    col(Order.id).in_(list(order_ids)),
                    Order.status == OrderStatus.DRAFT.value,
                    _channel(actor),
                ),
                actor,
            )
        ).all()
        if not ids:
            return
        session.execute(
            Order.__table__.update()
            .where(
                col(Order.id).in_(list(ids)),
                and_(col(Order.lease_holder).is_not(None), col(Order.lease_until) <= now),
            )
            .values(lease_holder=None, lease_until=None)
        )
