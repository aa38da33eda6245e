"""Renewal drafts and confirmation on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from book_builder import add_holder, add_mailbox, add_reseller
from sqlmodel import Session, select

from pec_tui.db.models import (
    AuditEvent,
    Holder,
    Mailbox,
    OpenRenewal,
    Order,
    OrderLine,
    OutboxMessage,
)
from pec_tui.domain.draft import Consents, RenewalRefused, item_problems
from pec_tui.domain.enums import OrderStatus, PaymentMethod, Plan, Role, SignatureKit
from pec_tui.domain.money import to_cents
from pec_tui.domain.pricing import PriceList, quote
from pec_tui.services import orders
from pec_tui.services.actor import SYSTEM, AccessDenied, Actor
from pec_tui.services.placing import Billing, mailbox_facts

TODAY = date(2026, 11, 26)


def _book(engine) -> tuple[int, list[int]]:
    holder = add_holder(engine)
    return holder, [
        add_mailbox(engine, holder, "mario.rossi@pec.it", date(2027, 1, 10), plan="PRO",
                    mailbox_used_mb=300, archive_used_mb=900),
        add_mailbox(engine, holder, "studio.rossi@pec.it", date(2026, 12, 20),
                    mailbox_used_mb=100),
        add_mailbox(engine, holder, "auto.rossi@pec.it", date(2026, 12, 20), auto_renew=True),
    ]  # fmt: skip


def _complete(draft):
    return replace(
        draft,
        payment_method=PaymentMethod.BANK_TRANSFER,
        consents=Consents(True, True, True),
    )


def test_confirm_assigns_number_lines_totals_consents_and_email(engine):
    _, (pro, std, _auto) = _book(engine)
    draft = orders.start_renewal(engine, SYSTEM, [pro, std], TODAY)
    assert [i.address for i in draft.items] == ["mario.rossi@pec.it", "studio.rossi@pec.it"]
    items = tuple(
        replace(i, plan=Plan.PREMIUM, extra_archive_gb=2) if i.mailbox_id == pro else i
        for i in draft.items
    )
    draft = orders.save_draft(
        engine, SYSTEM, replace(_complete(draft), items=items, years=2, kit=SignatureKit.USB_TOKEN)
    )
    assert orders.load_draft(engine, SYSTEM, draft.order_id) == draft

    [confirmed] = orders.confirm_order(
        engine, SYSTEM, draft, TODAY, Billing(iban="IT60X0542811101000000123456")
    )
    expected = quote(PriceList(), [i.choice() for i in items], 2, SignatureKit.USB_TOKEN)
    assert confirmed.quote.gross == expected.gross
    assert confirmed.number == 1_000_000_000
    assert "IT60X0542811101000000123456" in confirmed.payment_instructions
    with Session(engine) as session:
        order = session.get(Order, draft.order_id)
        assert order.status == OrderStatus.AWAITING_PAYMENT.value
        assert order.gross_cents == to_cents(expected.gross)
        assert order.consent_terms_by == "system" and order.consent_privacy_at is not None
        lines = session.exec(select(OrderLine).where(OrderLine.order_id == order.id)).all()
        assert sum(line.total_cents for line in lines) == order.net_cents
        assert {r.mailbox_id for r in session.exec(select(OpenRenewal)).all()} == {pro, std}
        mail = session.exec(select(OutboxMessage)).one()
        assert mail.to_address == "mario.rossi@example.it"
        assert "1000000000" in mail.subject
        # Written in the holder's language (Italian), though this UI speaks English.
        assert mail.subject == "Conferma ordine n. 1000000000"
        assert session.exec(select(AuditEvent).where(AuditEvent.action == "order.confirm")).one()


def test_second_order_on_same_mailbox_is_refused_with_the_first_number(engine):
    _, (pro, std, _auto) = _book(engine)
    first = orders.start_renewal(engine, SYSTEM, [pro], TODAY)
    second = orders.start_renewal(engine, SYSTEM, [pro], TODAY)
    [done] = orders.confirm_order(engine, SYSTEM, _complete(first), TODAY)
    with pytest.raises(RenewalRefused, match=str(done.number)):
        orders.confirm_order(engine, SYSTEM, _complete(second), TODAY)
    with pytest.raises(RenewalRefused, match=str(done.number)):
        orders.start_renewal(engine, SYSTEM, [pro], TODAY)


def _change_mailbox(engine, mailbox_id: int, **values) -> None:
    with Session(engine) as session:
        mailbox = session.get_one(Mailbox, mailbox_id)
        for name, value in values.items():
            setattr(mailbox, name, value)
        session.add(mailbox)
        session.commit()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"auto_renew": True}, "Automatic renewal is on"),
        ({"expiry": date(2026, 1, 10)}, "has been cancelled"),
    ],
)
def test_confirmation_checks_the_mailboxes_again_and_names_the_refused_one(engine, change, reason):
    """The pipeline counts the draft's mailboxes per owner and expiry day; when one no longer
    passes, it is found and named, and nothing is written."""
    _, (pro, std, _auto) = _book(engine)
    draft = _complete(orders.start_renewal(engine, SYSTEM, [pro, std], TODAY))
    _change_mailbox(engine, std, **change)
    with pytest.raises(RenewalRefused, match=f"studio.rossi@pec.it: .*{reason}"):
        orders.confirm_order(engine, SYSTEM, draft, TODAY)
    with Session(engine) as session:
        assert session.exec(select(OpenRenewal)).all() == []
        assert session.exec(select(OrderLine)).all() == []
        assert session.get_one(Order, draft.order_id).status == OrderStatus.DRAFT.value


def test_confirmation_refuses_another_resellers_mailbox_as_missing(engine):
    """A crafted draft naming a mailbox of another reseller is refused as if it were gone."""
    mine, theirs = add_reseller(engine, "Mia Srl"), add_reseller(engine, "Altra Srl")
    my_box = add_mailbox(
        engine, add_holder(engine, reseller_id=mine), "mia@pec.it", date(2027, 1, 10),
        reseller_id=mine,
    )  # fmt: skip
    their_box = add_mailbox(
        engine, add_holder(engine, reseller_id=theirs), "altra@pec.it", date(2027, 1, 10),
        reseller_id=theirs,
    )  # fmt: skip
    actor = Actor(operator_id=None, name="op", role=Role.RESELLER, reseller_id=mine)
    draft = _complete(orders.start_renewal(engine, actor, [my_box], TODAY))
    foreign = orders.start_renewal(engine, SYSTEM, [their_box], TODAY).items[0]
    crafted = replace(draft, items=(*draft.items, foreign))
    with pytest.raises(LookupError, match="altra@pec.it no longer exists"):
        orders.confirm_order(engine, actor, crafted, TODAY)
    [placed] = orders.confirm_order(engine, actor, draft, TODAY)
    with Session(engine) as session:
        order = session.get_one(Order, placed.order_id)
        assert order.reseller_id == mine
        assert [r.mailbox_id for r in session.exec(select(OpenRenewal))] == [my_box]


def test_auto_renew_and_missing_consent_are_refused(engine):
    _, (pro, _std, auto) = _book(engine)
    with pytest.raises(RenewalRefused):
        orders.start_renewal(engine, SYSTEM, [auto], TODAY)
    draft = orders.start_renewal(engine, SYSTEM, [pro], TODAY)
    incomplete = replace(_complete(draft), consents=Consents(True, False, True))
    with pytest.raises(RenewalRefused):
        orders.confirm_order(engine, SYSTEM, incomplete, TODAY)


def test_downgrade_deleting_archive_needs_confirmation(engine):
    _, (pro, _std, _auto) = _book(engine)
    draft = _complete(orders.start_renewal(engine, SYSTEM, [pro], TODAY))
    down = replace(draft, items=(replace(draft.items[0], plan=Plan.STANDARD, extra_archive_gb=0),))
    assert draft.items[0].address in item_problems(down)
    with pytest.raises(RenewalRefused):
        orders.confirm_order(engine, SYSTEM, down, TODAY)
    ok = replace(down, items=(replace(down.items[0], archive_deletion_confirmed=True),))
    assert item_problems(ok) == {}
    orders.confirm_order(engine, SYSTEM, ok, TODAY)


def test_drafts_listed_discarded_and_scoped(engine):
    _, (pro, _std, _auto) = _book(engine)
    draft = orders.start_renewal(engine, SYSTEM, [pro], TODAY)
    assert [d.order_id for d in orders.list_drafts(engine, SYSTEM)] == [draft.order_id]
    stranger = Actor("other", Role.RESELLER, reseller_id=999)
    assert orders.list_drafts(engine, stranger) == []
    with pytest.raises(AccessDenied):
        orders.load_draft(engine, stranger, draft.order_id)
    with pytest.raises(AccessDenied):
        orders.start_renewal(engine, stranger, [pro], TODAY)
    orders.discard_draft(engine, SYSTEM, draft.order_id)
    assert orders.list_drafts(engine, SYSTEM) == []


def test_holder_edit_conflict_is_reported(engine):
    holder_id, (pro, _std, _auto) = _book(engine)
    draft = _complete(orders.start_renewal(engine, SYSTEM, [pro], TODAY))
    with Session(engine) as session:
        holder = session.get(Holder, holder_id)
        holder.phone, holder.version = "061234567", holder.version + 1
        session.add(holder)
        session.commit()
    edited = replace(draft, holder=replace(draft.holder, city="Milano", province="MI", cap="20121"))
    with pytest.raises(RenewalRefused, match="(?i)another terminal|altro terminale"):
        orders.confirm_order(engine, SYSTEM, edited, TODAY)


def test_kiosk_customer_cannot_spend_the_resellers_credit(engine):
    holder_id, (pro, _std, _auto) = _book(engine)
    kiosk = Actor("kiosk:mario.rossi@pec.it", Role.RESELLER, holder_id=holder_id)
    draft = orders.start_renewal(engine, kiosk, [pro], TODAY)
    credit = replace(_complete(draft), payment_method=PaymentMethod.PREPAID_CREDIT)
    with pytest.raises(RenewalRefused, match="(?i)kiosk|chiosco"):
        orders.confirm_order(engine, kiosk, credit, TODAY)
    with Session(engine) as session:
        assert session.get(Order, draft.order_id).status == OrderStatus.DRAFT.value


def test_mailbox_facts_are_python_values_on_both_databases(engine):
    """Read as the driver gives them, the facts still hold dates and booleans."""
    _, (pro, std, auto) = _book(engine)
    with Session(engine) as session:
        facts = {m.id: m for m in mailbox_facts(session, [pro, std, auto, 10**9])}
    assert set(facts) == {pro, std, auto}
    assert facts[pro].expiry == date(2027, 1, 10) and type(facts[pro].expiry) is date
    assert facts[auto].auto_renew is True and facts[pro].auto_renew is False
    assert facts[pro].promo is False
    assert (facts[pro].plan, facts[pro].mailbox_used_mb, facts[pro].archive_used_mb) == (
        "PRO",
        300,
        900,
    )
