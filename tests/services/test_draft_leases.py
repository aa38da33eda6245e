"""Draft leases on SQLite and PostgreSQL: a draft is held by the session working on it, offered
back when that session dies (its own operator first, then colleagues), taken over atomically."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import date, timedelta

import pytest
from book_builder import add_holder, add_mailbox
from sqlmodel import Session, select

from pec_tui.db.models import AuditEvent, Operator, Order, Reseller, utcnow
from pec_tui.domain.draft import Consents
from pec_tui.domain.enums import OrderStatus, PaymentMethod, Role
from pec_tui.services import draft_leases, orders
from pec_tui.services.actor import AccessDenied, Actor
from pec_tui.services.draft_leases import DraftHeld, LeaseTerms

TODAY = date(2026, 11, 26)
TERMS = LeaseTerms(duration=timedelta(seconds=60), colleague_wait=timedelta(minutes=5))


def _operator(engine, username: str, role: Role = Role.BACK_OFFICE, reseller_id=None) -> Actor:
    with Session(engine) as session:
        row = Operator(
            username=username, role=role.value, reseller_id=reseller_id, password_hash="-"
        )
        session.add(row)
        session.commit()
        return Actor(
            name=username,
            role=role,
            operator_id=row.id,
            reseller_id=reseller_id,
            terminal=f"desk#{username}",
        )


def _reseller(engine, name: str) -> int:
    with Session(engine) as session:
        row = Reseller(name=name)
        session.add(row)
        session.commit()
        return row.id


def _session(actor: Actor, suffix: str) -> Actor:
    """The same operator signed in on another terminal session."""
    return actor.on_terminal(f"{actor.terminal}-{suffix}")


def _complete(draft):
    return replace(
        draft, payment_method=PaymentMethod.BANK_TRANSFER, consents=Consents(True, True, True)
    )


def _ids(summaries) -> list[int]:
    return [s.order_id for s in summaries]


def _order(engine, order_id: int) -> Order:
    with Session(engine) as session:
        return session.get_one(Order, order_id)


@pytest.fixture
def team(engine):
    """Anna and Bruno (back office), a reseller's operator, one mailbox to renew."""
    reseller = _reseller(engine, "Rivenditore Uno")
    holder = add_holder(engine, reseller_id=reseller)
    mailbox = add_mailbox(
        engine, holder, "mario.rossi@pec.it", date(2026, 12, 20), reseller_id=reseller
    )
    other = _reseller(engine, "Rivenditore Due")
    return {
        "anna": _operator(engine, "anna"),
        "bruno": _operator(engine, "bruno"),
        "own_reseller": _operator(engine, "uno", Role.RESELLER, reseller),
        "other_reseller": _operator(engine, "due", Role.RESELLER, other),
        "mailbox": mailbox,
        "holder": holder,
    }


def test_a_held_draft_is_neither_listed_nor_offered_to_other_sessions(engine, team):
    anna, bruno = team["anna"], team["bruno"]
    now = utcnow()
    draft = orders.start_renewal(engine, anna, [team["mailbox"]], TODAY, TERMS)
    order = _order(engine, draft.order_id)
    assert order.lease_holder == anna.terminal and order.kiosk is False
    assert _ids(draft_leases.listed_drafts(engine, anna, now)) == [draft.order_id]
    for other in (bruno, _session(anna, "tab2")):
        assert draft_leases.listed_drafts(engine, other, now) == []
        assert draft_leases.interrupted_drafts(engine, other, TERMS, now) == []
        # Nor can it be resumed, written or thrown away there.
        with pytest.raises(DraftHeld, match="desk#anna"):
            draft_leases.take_over(engine, other, draft.order_id, TERMS, now)
        with pytest.raises(DraftHeld):
            orders.save_draft(engine, other, draft, TERMS)
        with pytest.raises(DraftHeld):
            orders.discard_draft(engine, other, draft.order_id)
    # The lease is renewed while the flow is open: still held a minute and a half later.
    assert draft_leases.renew(engine, anna, draft.order_id, TERMS, now + timedelta(seconds=50))
    later = now + timedelta(seconds=90)
    assert draft_leases.interrupted_drafts(engine, bruno, TERMS, later) == []
    assert draft_leases.listed_drafts(engine, bruno, later) == []


def test_an_expired_draft_goes_back_to_its_operator_first_then_to_colleagues(engine, team):
    anna, bruno = team["anna"], team["bruno"]
    start = utcnow()
    draft = orders.start_renewal(engine, anna, [team["mailbox"]], TODAY, TERMS)
    # Anna's session dies: nobody renews the lease.
    died = start + TERMS.duration + timedelta(seconds=1)
    anna_again = _session(anna, "next-day")
    assert _ids(draft_leases.interrupted_drafts(engine, anna_again, TERMS, died)) == [
        draft.order_id
    ]
    assert draft_leases.interrupted_drafts(engine, bruno, TERMS, died) == []
    # Listed for everybody who may see it, though: it is nobody's live work.
    assert _ids(draft_leases.listed_drafts(engine, bruno, died)) == [draft.order_id]
    # After the colleagues' wait it is offered to those who may see the holder, no one else.
    waited = died + TERMS.colleague_wait
    assert _ids(draft_leases.interrupted_drafts(engine, bruno, TERMS, waited)) == [draft.order_id]
    assert _ids(draft_leases.interrupted_drafts(engine, team["own_reseller"], TERMS, waited)) == [
        draft.order_id
    ]
    assert draft_leases.interrupted_drafts(engine, team["other_reseller"], TERMS, waited) == []

    # Bruno takes it over: his now, offered to nobody, and Anna's old session cannot write it.
    draft_leases.take_over(engine, bruno, draft.order_id, TERMS, waited)
    taken = _order(engine, draft.order_id)
    assert (taken.lease_holder, taken.operator_id) == (bruno.terminal, bruno.operator_id)
    for anyone in (anna_again, bruno, team["own_reseller"]):
        assert draft_leases.interrupted_drafts(engine, anyone, TERMS, waited) == []
    assert not draft_leases.renew(engine, anna, draft.order_id, TERMS, waited)
    with pytest.raises(DraftHeld):
        orders.save_draft(engine, anna, draft, TERMS)
    with pytest.raises(DraftHeld):
        orders.confirm_order(engine, anna, _complete(draft), TODAY)
    with Session(engine) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "draft.take_over")).one()
    assert (event.actor, event.terminal, event.details) == (
        "bruno",
        bruno.terminal,
        {"from": anna.terminal},
    )


def _race(engine, racers: list[Actor], order_id: int, at) -> dict[str, str]:
    """All `racers` try to take the draft over at the same moment: what each one got."""
    barrier = threading.Barrier(len(racers))
    outcomes: dict[str, str] = {}

    def race(actor: Actor) -> None:
        barrier.wait(timeout=30)
        try:
            draft_leases.take_over(engine, actor, order_id, TERMS, at)
            outcomes[actor.terminal] = "won"
        except DraftHeld:
            outcomes[actor.terminal] = "refused"
        except Exception as exc:  # reported in the caller's assertion
            outcomes[actor.terminal] = f"error {type(exc).__name__}: {exc}"

    threads = [threading.Thread(target=race, args=(actor,)) for actor in racers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_two_sessions_racing_to_take_a_draft_over_one_wins(engine, team):
    anna = team["anna"]
    racers = [_session(anna, str(i)) for i in range(4)]
    for _round in range(3):
        draft = orders.start_renewal(engine, anna, [team["mailbox"]], TODAY, TERMS)
        expired = utcnow() + TERMS.duration + timedelta(seconds=1)
        outcomes = _race(engine, racers, draft.order_id, expired)
        winners = [t for t, outcome in outcomes.items() if outcome == "won"]
        assert len(winners) == 1, outcomes
        assert sorted(outcomes.values()) == ["refused"] * (len(racers) - 1) + ["won"]
        assert _order(engine, draft.order_id).lease_holder == winners[0]
        orders.discard_draft(engine, racers[0].on_terminal(winners[0]), draft.order_id)


def test_releasing_keeps_or_interrupts_and_an_offer_is_made_once(engine, team):
    anna = team["anna"]
    now = utcnow()
    kept = orders.start_renewal(engine, anna, [team["mailbox"]], TODAY, TERMS)
    # Left with "keep the draft": free, listed, not offered as interrupted.
    draft_leases.release(engine, anna, kept.order_id, now=now)
    assert _order(engine, kept.order_id).lease_holder is None
    assert draft_leases.interrupted_drafts(engine, _session(anna, "2"), TERMS, now) == []
    assert _ids(draft_leases.listed_drafts(engine, team["bruno"], now)) == [kept.order_id]

    # Resumed, then the app quits mid-flow: offered back at once.
    draft_leases.take_over(engine, anna, kept.order_id, TERMS, now)
    assert draft_leases.release_session(engine, anna.terminal, now) == 1
    assert draft_leases.release_session(engine, anna.terminal, now) == 0
    later = now + timedelta(seconds=1)
    assert _ids(draft_leases.interrupted_drafts(engine, _session(anna, "2"), TERMS, later)) == [
        kept.order_id
    ]
    # The offer is closed without resuming: set aside, not offered again, still listed.
    draft_leases.set_aside(engine, _session(anna, "2"), [kept.order_id], later)
    assert draft_leases.interrupted_drafts(engine, _session(anna, "3"), TERMS, later) == []
    assert _ids(draft_leases.listed_drafts(engine, _session(anna, "3"), later)) == [kept.order_id]


def test_confirmation_ends_the_lease(engine, team):
    anna = team["anna"]
    draft = orders.start_renewal(engine, anna, [team["mailbox"]], TODAY, TERMS)
    draft = _complete(draft)
    orders.save_draft(engine, anna, draft, TERMS)
    orders.confirm_order(engine, anna, draft, TODAY)
    order = _order(engine, draft.order_id)
    assert order.status == OrderStatus.AWAITING_PAYMENT.value
    assert (order.lease_holder, order.lease_until) == (None, None)
    assert not draft_leases.renew(engine, anna, draft.order_id, TERMS)


def test_kiosk_drafts_are_never_offered_to_operators(engine, team):
    kiosk = Actor(
        name="kiosk:mario.rossi@pec.it",
        role=Role.RESELLER,
        reseller_id=_order_reseller(engine, team["holder"]),
        holder_id=team["holder"],
        terminal="kiosk#c1",
    )
    draft = orders.start_renewal(engine, kiosk, [team["mailbox"]], TODAY, TERMS)
    assert _order(engine, draft.order_id).kiosk is True
    draft_leases.release_session(engine, kiosk.terminal)
    much_later = utcnow() + timedelta(days=1)
    for operator in (team["anna"], team["bruno"], team["own_reseller"]):
        assert draft_leases.interrupted_drafts(engine, operator, TERMS, much_later) == []
        assert draft_leases.listed_drafts(engine, operator, much_later) == []
        with pytest.raises(AccessDenied):
            draft_leases.take_over(engine, operator, draft.order_id, TERMS, much_later)


def _order_reseller(engine, holder_id: int) -> int | None:
    from pec_tui.db.models import Holder

    with Session(engine) as session:
        return session.get_one(Holder, holder_id).reseller_id
