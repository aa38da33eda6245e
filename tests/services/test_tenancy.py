"""Tenancy: a reseller operator trying every action on another reseller's data, through the
services. Everything is refused, and every refusal is in the audit trail (outcome denied).

Where another module does not audit its refusals yet, the audit check is an expected failure
(strict, so it turns red the day the module is fixed and the mark must go).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func
from sqlmodel import Session, select

from pec_tui.db.models import AuditEvent, Holder, Mailbox, Order, Reseller
from pec_tui.domain.draft import Consents
from pec_tui.domain.enums import HolderKind, OrderStatus, PaymentMethod, PriceItem, Role
from pec_tui.services import (
    auth,
    credit,
    holders,
    mailbox_io,
    mailboxes,
    operators,
    order_queries,
    orders,
    payments,
    prices,
    scope,
)
from pec_tui.services.actor import SYSTEM, AccessDenied, Actor
from pec_tui.services.database import ensure_reference_data
from pec_tui.services.holders import holder_data

TODAY = date(2026, 11, 26)


@pytest.fixture(autouse=True)
def _fast_hashing(monkeypatch):
    monkeypatch.setattr(
        auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@dataclass
class World:
    engine: object
    nord: Actor  # operator of reseller Nord
    kiosk: Actor  # a Nord customer at a kiosk
    nord_reseller: int
    sud_reseller: int
    nord_holder: int
    sud_holder: int
    nord_mailbox: int
    sud_mailbox: int  # reserved by `sud_order`
    sud_draft_mailbox: int
    sud_order: int  # awaiting payment
    sud_order_number: int
    sud_draft: int


def _holder(session, reseller_id, name, cf) -> Holder:
    first, last = name.split()
    holder = Holder(
        reseller_id=reseller_id,
        kind=HolderKind.PRIVATE.value,
        first_name=first,
        last_name=last,
        display_name=name,
        codice_fiscale=cf,
        street="Via Roma 1",
        cap="00184",
        city="Roma",
        province="RM",
        reference_email=f"{last.lower()}@example.it",
    )
    session.add(holder)
    session.flush()
    return holder


def _mailbox(session, holder: Holder, address: str) -> Mailbox:
    mailbox = Mailbox(
        address=address,
        holder_id=holder.id,
        reseller_id=holder.reseller_id,
        plan="STANDARD",
        expiry=date(2027, 1, 10),
    )
    session.add(mailbox)
    session.flush()
    return mailbox


def _complete(draft):
    return replace(
        draft, payment_method=PaymentMethod.BANK_TRANSFER, consents=Consents(True, True, True)
    )


@pytest.fixture
def world(engine) -> World:
    ensure_reference_data(engine)
    with Session(engine) as session:
        nord, sud = Reseller(name="Rivendita Nord"), Reseller(name="Rivendita Sud")
        session.add_all([nord, sud])
        session.flush()
        nord_holder = _holder(session, nord.id, "Mario Rossi", "RSSMRA85T10A562S")
        sud_holder = _holder(session, sud.id, "Luigi Bianchi", "BNCLGU80A01H501A")
        nord_box = _mailbox(session, nord_holder, "mario.rossi@pec.it")
        sud_box = _mailbox(session, sud_holder, "luigi.bianchi@pec.it")
        sud_box2 = _mailbox(session, sud_holder, "studio.bianchi@pec.it")
        session.commit()
        ids = (nord.id, sud.id, nord_holder.id, sud_holder.id, nord_box.id, sud_box.id, sud_box2.id)
    nord_id, sud_id, nord_holder_id, sud_holder_id, nord_box_id, sud_box_id, sud_box2_id = ids
    admin = auth.create_first_admin(engine, "boss", "boss-password")
    operators.create_operator(engine, admin, "nord1", "nord-password", Role.RESELLER, nord_id)
    nord_actor = auth.authenticate(engine, "nord1", "nord-password", terminal="desk-nord")
    kiosk = Actor(
        name="kiosk:mario.rossi@pec.it",
        role=Role.RESELLER,
        reseller_id=nord_id,
        holder_id=nord_holder_id,
        terminal="kiosk-1",
    )
    [confirmed] = orders.confirm_order(
        engine, SYSTEM, _complete(orders.start_renewal(engine, SYSTEM, [sud_box_id], TODAY)), TODAY
    )
    draft = orders.start_renewal(engine, SYSTEM, [sud_box2_id], TODAY)
    return World(
        engine,
        nord_actor,
        kiosk,
        nord_id,
        sud_id,
        nord_holder_id,
        sud_holder_id,
        nord_box_id,
        sud_box_id,
        sud_box2_id,
        confirmed.order_id,
        confirmed.number,
        draft.order_id,
    )


def _denials(engine, actor_name: str) -> list[AuditEvent]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(AuditEvent)
                .where(AuditEvent.actor == actor_name, AuditEvent.outcome == "denied")
                .order_by(AuditEvent.id)
            ).all()
        )


def _order_status(engine, order_id: int) -> str:
    with Session(engine) as session:
        return session.get(Order, order_id).status


# Each attempt: what a Nord operator tries on Sud's data. The value says whether the module
# audits its refusals today (False: an expected failure of the audit check, see module doc).
ATTEMPTS = {
    "read mailbox by id": (
        lambda w: mailboxes.get_mailbox(w.engine, w.nord, w.sud_mailbox),
        True,
    ),
    "read holder": (lambda w: holders.get_holder(w.engine, w.nord, w.sud_holder), True),
    "holder's orders": (lambda w: holders.holder_orders(w.engine, w.nord, w.sud_holder), True),
    "holder's mailboxes": (
        lambda w: holders.holder_mailboxes(w.engine, w.nord, w.sud_holder),
        True,
    ),
    "start renewal": (
        lambda w: orders.start_renewal(w.engine, w.nord, [w.sud_draft_mailbox], TODAY),
        True,
    ),
    "load draft": (lambda w: orders.load_draft(w.engine, w.nord, w.sud_draft), True),
    "save draft": (
        lambda w: orders.save_draft(
            w.engine, w.nord, orders.load_draft(w.engine, SYSTEM, w.sud_draft)
        ),
        True,
    ),
    "confirm draft": (
        lambda w: orders.confirm_order(
            w.engine, w.nord, _complete(orders.load_draft(w.engine, SYSTEM, w.sud_draft)), TODAY
        ),
        True,
    ),
    "discard draft": (lambda w: orders.discard_draft(w.engine, w.nord, w.sud_draft), True),
    "read order": (
        lambda w: order_queries.get_order(w.engine, w.nord, w.sud_order_number),
        True,
    ),
    "register payment": (
        lambda w: payments.register_payment(
            w.engine,
            w.nord,
            w.sud_order_number,
            Decimal("12.08"),
            PaymentMethod.BANK_TRANSFER,
            today=TODAY,
        ),
        True,
    ),
    "pay with credit": (
        lambda w: payments.pay_with_credit(w.engine, w.nord, w.sud_order, TODAY),
        True,
    ),
    "cancel order": (
        lambda w: payments.cancel_order(w.engine, w.nord, w.sud_order_number),
        True,
    ),
    "read credit": (lambda w: credit.balance(w.engine, w.nord, w.sud_reseller), True),
    "credit movements": (lambda w: credit.movements(w.engine, w.nord, w.sud_reseller), True),
    "credit top-up": (
        lambda w: credit.top_up(w.engine, w.nord, w.nord_reseller, Decimal("100.00")),
        True,
    ),
    "price change": (
        lambda w: prices.set_price(w.engine, w.nord, PriceItem.STANDARD, Decimal("1.00")),
        True,
    ),
    "list operators": (lambda w: operators.list_operators(w.engine, w.nord), True),
    "issue another's token": (lambda w: auth.issue_token(w.engine, w.nord, "boss"), True),
}


@pytest.mark.parametrize("attempt", list(ATTEMPTS))
def test_other_resellers_data_is_refused(world, attempt):
    call, _audited = ATTEMPTS[attempt]
    with pytest.raises(AccessDenied):
        call(world)
    # Nothing changed on Sud's side.
    assert _order_status(world.engine, world.sud_order) == OrderStatus.AWAITING_PAYMENT.value
    assert _order_status(world.engine, world.sud_draft) == OrderStatus.DRAFT.value
    assert prices.get_price_list(world.engine) == prices.get_price_list(world.engine)


@pytest.mark.parametrize(
    "attempt",
    [name for name in ATTEMPTS],
)
def test_every_refusal_is_audited(world, attempt):
    call, _audited = ATTEMPTS[attempt]
    before = len(_denials(world.engine, "nord1"))
    with pytest.raises(AccessDenied):
        call(world)
    denials = _denials(world.engine, "nord1")
    assert len(denials) == before + 1
    assert denials[-1].terminal == "desk-nord"
    assert denials[-1].reseller_id == world.nord_reseller


def test_lists_and_searches_show_only_the_own_reseller(world):
    engine, nord = world.engine, world.nord
    flt = mailboxes.MailboxFilter()
    assert [r.address for r in mailboxes.page(engine, nord, flt, TODAY)] == ["mario.rossi@pec.it"]
    assert mailboxes.count(engine, nord, flt, TODAY) == 1
    for search in ("luigi.bianchi@pec.it", "luigi", "Bianchi", "BNCLGU80A01H501A"):
        assert mailboxes.page(engine, nord, flt.with_(search=search), TODAY) == []
        assert mailboxes.count(engine, nord, flt.with_(search=search), TODAY) == 0
    assert mailboxes.page(engine, nord, flt.with_(holder_id=world.sud_holder), TODAY) == []
    assert mailboxes.get_mailboxes(engine, nord, [world.sud_mailbox, world.nord_mailbox]) == [
        mailboxes.get_mailbox(engine, nord, world.nord_mailbox)
    ]
    assert order_queries.list_orders(engine, nord) == []
    assert order_queries.list_orders(engine, SYSTEM) != []
    assert orders.list_drafts(engine, nord) == []
    assert [b.reseller_id for b in credit.balances(engine, nord)] == [world.nord_reseller]
    out = io.StringIO()
    assert mailbox_io.export_mailboxes(engine, nord, out, "json") == 1
    assert [row["address"] for row in json.loads(out.getvalue())] == ["mario.rossi@pec.it"]
    assert mailbox_io.count_for_export(engine, nord) == 1


def test_the_own_reseller_data_is_allowed(world):
    engine, nord = world.engine, world.nord
    assert mailboxes.get_mailbox(engine, nord, world.nord_mailbox).address == "mario.rossi@pec.it"
    draft = orders.start_renewal(engine, nord, [world.nord_mailbox], TODAY)
    assert orders.load_draft(engine, nord, draft.order_id) == draft
    assert [d.order_id for d in orders.list_drafts(engine, nord)] == [draft.order_id]


def test_a_kiosk_sees_only_its_holder(world):
    engine, kiosk = world.engine, world.kiosk
    flt = mailboxes.MailboxFilter()
    assert [r.address for r in mailboxes.page(engine, kiosk, flt, TODAY)] == ["mario.rossi@pec.it"]
    with pytest.raises(AccessDenied):
        mailboxes.get_mailbox(engine, kiosk, world.sud_mailbox)
    with pytest.raises(AccessDenied):
        orders.start_renewal(engine, kiosk, [world.sud_draft_mailbox], TODAY)
    with pytest.raises(AccessDenied):
        credit.balance(engine, kiosk, world.nord_reseller)
    assert credit.balances(engine, kiosk) == []


def test_a_draft_cannot_carry_another_resellers_holder(world):
    """The draft comes from the caller: a crafted one must not rewrite Sud's holder."""
    engine, nord = world.engine, world.nord
    draft = orders.start_renewal(engine, nord, [world.nord_mailbox], TODAY)
    with Session(engine) as session:
        foreign = holder_data(session.get(Holder, world.sud_holder))
    crafted = _complete(replace(draft, holder=replace(foreign, city="Milano", province="MI")))
    with pytest.raises(AccessDenied):
        orders.save_draft(engine, nord, crafted)
    with pytest.raises(AccessDenied):
        orders.confirm_order(engine, nord, crafted, TODAY)
    with Session(engine) as session:
        assert session.get(Holder, world.sud_holder).city == "Roma"
    assert [d.action for d in _denials(engine, "nord1")] == ["draft.save", "order.confirm"]
    # The genuine draft still goes through.
    assert orders.confirm_order(engine, nord, _complete(draft), TODAY)[0].number


def test_a_kiosk_cannot_register_a_payment(world):
    engine, kiosk = world.engine, world.kiosk
    draft = orders.start_renewal(engine, kiosk, [world.nord_mailbox], TODAY)
    [confirmed] = orders.confirm_order(engine, kiosk, _complete(draft), TODAY)
    with pytest.raises(AccessDenied):
        payments.register_payment(
            engine, kiosk, confirmed.number, confirmed.quote.gross, "bonifico", today=TODAY
        )


# --- the shared helpers ------------------------------------------------------------------


def test_scope_filters(world):
    engine, nord, kiosk = world.engine, world.nord, world.kiosk

    def ids(stmt):
        with Session(engine) as session:
            return sorted(session.exec(stmt).all())

    assert ids(scope.scope_mailboxes(select(Mailbox.id), nord)) == [world.nord_mailbox]
    assert ids(scope.scope_mailboxes(select(Mailbox.id), kiosk)) == [world.nord_mailbox]
    assert len(ids(scope.scope_mailboxes(select(Mailbox.id), SYSTEM))) == 3
    assert ids(scope.scope_holders(select(Holder.id), nord)) == [world.nord_holder]
    assert ids(scope.scope_orders(select(Order.id), nord)) == []
    assert len(ids(scope.scope_orders(select(Order.id), SYSTEM))) == 2
    reseller_ids = select(Reseller.id)
    assert ids(scope.scope_reseller(reseller_ids, nord, Reseller.id)) == [world.nord_reseller]
    assert ids(scope.scope_reseller(reseller_ids, kiosk, Reseller.id)) == []
    with Session(engine) as session:
        total = session.exec(select(func.count()).select_from(Mailbox)).one()
    assert total == 3


def test_check_owned_and_roles():
    nord = Actor("nord1", Role.RESELLER, operator_id=5, reseller_id=1)
    kiosk = Actor("kiosk", Role.RESELLER, reseller_id=1, holder_id=7)
    scope.check_owned(nord, 1, 99)
    scope.check_owned(kiosk, 1, 7)
    scope.check_owned(SYSTEM, None, None)
    for actor, reseller_id, holder_id in ((nord, 2, 1), (nord, None, 1), (kiosk, 1, 8)):
        with pytest.raises(scope.Denied) as exc:
            scope.check_owned(
                actor, reseller_id, holder_id, action="mailbox.read", entity="mailbox", entity_id=3
            )
        assert (exc.value.action, exc.value.entity, exc.value.entity_id) == (
            "mailbox.read",
            "mailbox",
            3,
        )
    scope.require_role(nord, Role.RESELLER, Role.ADMIN)
    with pytest.raises(AccessDenied):
        scope.require_role(kiosk, Role.RESELLER)
    with pytest.raises(AccessDenied):
        scope.require_admin(nord)
    scope.require_admin(SYSTEM)


def test_audit_denials_records_once_after_the_rollback(world):
    engine, nord = world.engine, world.nord

    @scope.audit_denials("mailbox.touch")
    def inner(engine, actor, mailbox_id):
        from pec_tui.db.engine import session_scope

        with session_scope(engine) as session:
            mailbox = session.get(Mailbox, mailbox_id)
            mailbox.plan = "PREMIUM"  # written, then rolled back by the refusal
            session.add(mailbox)
            session.flush()
            scope.check_owned(
                actor,
                mailbox.reseller_id,
                mailbox.holder_id,
                entity="mailbox",
                entity_id=mailbox_id,
            )

    @scope.audit_denials("outer.action")
    def outer(engine, actor, mailbox_id):
        inner(engine, actor, mailbox_id)

    with pytest.raises(AccessDenied):
        outer(engine, nord, world.sud_mailbox)
    with Session(engine) as session:
        assert session.get(Mailbox, world.sud_mailbox).plan == "STANDARD"
    denials = _denials(engine, "nord1")
    assert [(d.action, d.entity, d.entity_id) for d in denials] == [
        ("mailbox.touch", "mailbox", str(world.sud_mailbox))
    ]
    assert denials[0].details["reason"].strip()


# --- out of scope looks missing -----------------------------------------------------------


def test_another_resellers_records_look_missing_and_the_attempt_is_audited(
    world, db_url, monkeypatch
):
    from click.testing import CliRunner

    from pec_tui.cli import main

    monkeypatch.setenv("PEC_TUI_OPERATOR", "nord1")
    monkeypatch.setenv("PEC_TUI_PASSWORD", "nord-password")
    runner = CliRunner()

    def cli(*args: str):
        return runner.invoke(main, ["--database-url", db_url, *args], catch_exceptions=False)

    def same(a, b, a_ref: str, b_ref: str) -> None:
        assert a.exit_code == b.exit_code == 1
        assert a.output.replace(a_ref, "REF") == b.output.replace(b_ref, "REF")

    theirs = str(world.sud_order_number)
    for command in (("orders", "show"), ("orders", "cancel")):
        same(cli(*command, theirs), cli(*command, "1999999999"), theirs, "1999999999")
    pay = ("payments", "credit")
    same(cli(*pay, theirs), cli(*pay, "1999999999"), theirs, "1999999999")
    renew = ("--years", "1", "--payment-method", "bonifico")
    consents = ("--accept-terms", "--accept-clauses", "--accept-privacy")
    same(
        cli("renew", "luigi.bianchi@pec.it", *renew, *consents),
        cli("renew", "nessuno.mai@pec.it", *renew, *consents),
        "luigi.bianchi@pec.it",
        "nessuno.mai@pec.it",
    )

    asked = [(e.action, e.entity, e.entity_id) for e in _denials(world.engine, "nord1")]
    assert asked == [
        ("order.view", "order", theirs),
        ("order.cancel", "order", theirs),
        ("payment.credit", "order", theirs),
        ("mailbox.lookup", "mailbox", "luigi.bianchi@pec.it"),
    ]
    with pytest.raises(LookupError) as theirs_error:
        order_queries.get_order(world.engine, world.nord, world.sud_order)
    with pytest.raises(LookupError) as missing_error:
        order_queries.get_order(world.engine, world.nord, 999_999)
    assert str(theirs_error.value) == str(missing_error.value).replace(
        "999999", str(world.sud_order)
    )


def test_importing_another_resellers_address_is_refused_as_any_existing_one_and_audited(world):
    from pec_tui.services.mailbox_io import COLUMNS, ImportRejected, import_mailboxes

    def attempt(address: str) -> str:
        row = f"{address},RSSMRA85T10A562S,Mario Rossi,privato,m@example.it,STANDARD,2027-03-31,"
        text = ",".join(COLUMNS) + "\n" + row + "false,0,0,0,0\n"
        with pytest.raises(ImportRejected) as rejected:
            import_mailboxes(world.engine, world.nord, io.StringIO(text))
        return str(rejected.value.problems[0]).replace(address, "ADDRESS")

    assert attempt("luigi.bianchi@pec.it") == attempt("mario.rossi@pec.it")  # Sud's, Nord's
    asked = [(e.action, e.entity_id) for e in _denials(world.engine, "nord1")]
    assert asked == [("mailboxes.import", "luigi.bianchi@pec.it")]
