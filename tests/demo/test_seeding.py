"""Demo seeding: deterministic, realistic, valid for the domain rules, consistent chunk by chunk."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest
from codicefiscale import codicefiscale as python_codicefiscale
from codicefiscale.data import get_municipalities_data
from sqlalchemy import func, select, text
from sqlmodel import Session, SQLModel
from stdnum.it import codicefiscale as stdnum_codicefiscale

from pec_tui.db.engine import make_engine, upgrade
from pec_tui.db.models import (
    AuditEvent,
    Holder,
    Mailbox,
    OpenRenewal,
    Operator,
    Order,
    OrderLine,
    Payment,
    PriceListItem,
    Reseller,
)
from pec_tui.db.models import (
    Counter as CounterRow,
)
from pec_tui.demo import seeding
from pec_tui.demo import vocabulary as demo_vocabulary
from pec_tui.domain.enums import (
    HolderKind,
    MailboxState,
    OrderStatus,
    OrderType,
    Plan,
    PriceItem,
    Role,
    SignatureKit,
)
from pec_tui.domain.lifecycle import expiring_within, state_of
from pec_tui.domain.money import to_cents
from pec_tui.domain.plans import PLANS
from pec_tui.domain.pricing import MailboxChoice, quote
from pec_tui.domain.validation import (
    check_cap,
    check_cig,
    check_codice_fiscale,
    check_cup,
    check_email,
    check_extra_gb,
    check_holder_tax_ids,
    check_pa_office_code,
    check_pec_address,
    check_province,
    check_sdi_code,
    check_years,
)
from pec_tui.services.actor import SYSTEM, AccessDenied, Actor
from pec_tui.services.database import FIRST_ORDER_NUMBER, ORDER_NUMBER_COUNTER
from pec_tui.services.operators import create_demo_operators
from pec_tui.services.prices import get_price_list, set_price

TODAY = date(2026, 11, 26)
SEEDED_TABLES = (
    "reseller",
    "credit_movement",
    "holder",
    "mailbox",
    "orders",
    "order_line",
    "payment",
    "open_renewal",
    "counter",
)


def _dump(engine) -> dict[str, list[tuple]]:
    """Every seeded table's rows, typed by SQLAlchemy, in primary-key order."""
    tables = SQLModel.metadata.tables
    with engine.connect() as connection:
        return {
            name: [
                tuple(row)
                for row in connection.execute(
                    select(tables[name]).order_by(*tables[name].primary_key.columns)
                )
            ]
            for name in SEEDED_TABLES
        }


def _count(engine, model) -> int:
    with Session(engine) as session:
        return session.execute(select(func.count()).select_from(model)).one()[0]


@pytest.fixture
def seeded(engine):
    """1,500 demo mailboxes of seed 42 around TODAY, and what seeding returned."""
    return seeding.seed_demo(engine, 1500, 42, TODAY)


def test_the_same_seed_gives_the_same_rows_whatever_the_chunks_backend_or_process(
    engine, seeded, tmp_path
):
    # Here: one chunk, generated in this process. There: chunks of 400 mailboxes, generated
    # by a second process, always on SQLite.
    other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    upgrade(other)
    again = seeding.seed_demo(other, 1500, 42, TODAY, chunk_size=400)
    assert again == seeded
    assert _dump(other) == _dump(engine)
    other.dispose()


def test_another_seed_gives_other_rows(engine, seeded, tmp_path):
    other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    upgrade(other)
    seeding.seed_demo(other, 1500, 43, TODAY)
    assert _dump(other)["mailbox"] != _dump(engine)["mailbox"]
    other.dispose()


def test_counts_returned_are_the_rows_written(engine, seeded):
    assert seeded.mailboxes == _count(engine, Mailbox) == 1500
    assert seeded.holders == _count(engine, Holder)
    assert seeded.orders == _count(engine, Order)
    assert seeded.resellers == 5
    assert not seeded.interrupted


def test_mailboxes_cover_every_state_plan_and_season(engine, seeded):
    with Session(engine) as session:
        boxes = session.execute(select(Mailbox)).scalars().all()
    states = Counter(state_of(box.expiry, TODAY) for box in boxes)
    assert states[MailboxState.SUSPENDED] > 0
    assert states[MailboxState.CANCELLED] > 0
    assert states[MailboxState.ACTIVE] > len(boxes) / 2
    first, last = expiring_within(TODAY, 3)
    soon = sum(1 for box in boxes if first <= box.expiry <= last)
    assert soon >= 0.15 * len(boxes)
    assert min(box.expiry for box in boxes) >= TODAY - timedelta(days=200)
    assert max(box.expiry for box in boxes) <= TODAY + timedelta(days=3 * 366)

    plans = Counter(box.plan for box in boxes)
    assert set(plans) == {plan.value for plan in Plan}
    assert plans[Plan.STANDARD.value] == max(plans.values())
    assert 0.18 < sum(box.auto_renew for box in boxes) / len(boxes) < 0.32
    assert 0.02 < sum(box.promo for box in boxes) / len(boxes) < 0.09
    near_full = [
        box
        for box in boxes
        if box.mailbox_used_mb
        >= 0.9 * PLANS[Plan(box.plan)].mailbox_capacity_mb(box.extra_mailbox_gb)
    ]
    assert near_full
    assert all(box.address == box.address.lower() for box in boxes)
    assert all(box.reseller_id is not None for box in boxes)
    for box in boxes:
        if box.auto_renew:
            assert box.payment_method is not None


def test_holders_of_every_kind_about_one_for_three_mailboxes(engine, seeded):
    with Session(engine) as session:
        kinds = Counter(session.execute(select(Holder.kind)).scalars().all())
        per_holder = Counter(
            session.execute(select(func.count()).select_from(Mailbox).group_by(Mailbox.holder_id))
            .scalars()
            .all()
        )
        mismatched = session.execute(
            select(func.count())
            .select_from(Mailbox)
            .join(Holder, Holder.id == Mailbox.holder_id)
            .where(Holder.reseller_id != Mailbox.reseller_id)
        ).one()[0]
    assert set(kinds) == {kind.value for kind in HolderKind}
    assert 2.4 <= seeded.mailboxes / seeded.holders <= 3.6
    assert per_holder[1] > 0  # some holders skip the selection step
    assert max(per_holder) >= 10  # and some hold many
    assert mismatched == 0


def test_a_sample_of_holders_and_mailboxes_passes_the_domain_checks(engine, seeded):
    known_places = {m["code"] for m in get_municipalities_data()}
    with Session(engine) as session:
        holders = session.execute(select(Holder).order_by(Holder.id)).scalars().all()[::3]
        boxes = session.execute(select(Mailbox).order_by(Mailbox.id)).scalars().all()[::5]
    assert len({holder.kind for holder in holders}) == len(HolderKind)
    for holder in holders:
        kind = HolderKind(holder.kind)
        cf, piva = check_holder_tax_ids(kind, holder.codice_fiscale, holder.partita_iva)
        assert (cf, piva) == (holder.codice_fiscale, holder.partita_iva)
        if cf and len(cf) == 16:
            assert check_codice_fiscale(cf) == cf
            born = stdnum_codicefiscale.get_birth_date(cf)
            assert (
                TODAY.replace(year=TODAY.year - 86) <= born <= TODAY.replace(year=TODAY.year - 18)
            )
            assert python_codicefiscale.decode(cf)["birthplace"]["code"] in known_places
        assert check_cap(holder.cap) == holder.cap
        assert check_province(holder.province) == holder.province
        assert check_email(holder.reference_email)
        if kind.is_business:
            assert check_sdi_code(holder.sdi_code, holder.billing_pec) == holder.sdi_code
        elif kind is HolderKind.PUBLIC_ADMIN:
            assert check_pa_office_code(holder.pa_office_code) == holder.pa_office_code
            assert check_cig(holder.cig) == holder.cig
            assert check_cup(holder.cup) == holder.cup
            assert holder.split_payment
        else:
            assert holder.sdi_code is None
    for box in boxes:
        assert check_pec_address(box.address) == box.address
        plan = Plan(box.plan)
        check_extra_gb(plan, box.extra_mailbox_gb, box.extra_archive_gb)
        check_years(box.renewal_years, box.promo)
        assert 0 <= box.mailbox_used_mb <= PLANS[plan].mailbox_capacity_mb(box.extra_mailbox_gb)
        assert 0 <= box.archive_used_mb <= PLANS[plan].archive_capacity_mb(box.extra_archive_gb)


def test_tax_codes_are_unique(engine, seeded):
    with Session(engine) as session:
        holders = session.execute(
            select(Holder.kind, Holder.codice_fiscale, Holder.partita_iva)
        ).all()
    personal = [cf for _kind, cf, _piva in holders if cf and len(cf) == 16]
    vat = [piva for _kind, _cf, piva in holders if piva]
    assert len(personal) == len(set(personal))
    assert len(vat) == len(set(vat))


def test_orders_are_numbered_priced_and_paid_consistently(engine, seeded):
    prices = get_price_list(engine)
    with Session(engine) as session:
        orders = session.execute(select(Order).order_by(Order.number)).scalars().all()
        lines = session.execute(select(OrderLine).order_by(OrderLine.id)).scalars().all()
        payments = {p.order_id: p for p in session.execute(select(Payment)).scalars().all()}
        open_renewals = session.execute(select(OpenRenewal)).scalars().all()
        boxes = {box.id: box for box in session.execute(select(Mailbox)).scalars().all()}
        counter = session.get(CounterRow, ORDER_NUMBER_COUNTER)
    numbers = [order.number for order in orders]
    assert numbers == list(range(FIRST_ORDER_NUMBER, FIRST_ORDER_NUMBER + len(orders)))
    assert all(len(str(number)) == 10 for number in numbers)
    assert counter.value == numbers[-1]
    kinds = Counter((order.type, order.status) for order in orders)
    assert kinds[(OrderType.PURCHASE.value, OrderStatus.PAID.value)] > 0
    assert kinds[(OrderType.RENEWAL.value, OrderStatus.PAID.value)] > 0
    assert kinds[(OrderType.RENEWAL.value, OrderStatus.AWAITING_PAYMENT.value)] > 0

    lines_of: dict[int, list[OrderLine]] = {}
    for line in lines:
        lines_of.setdefault(line.order_id, []).append(line)
    plan_items = {PriceItem.for_plan(plan).value for plan in Plan}
    for order in orders:
        order_lines = lines_of[order.id]
        choices = [
            MailboxChoice(
                line.address, Plan(line.plan), line.extra_mailbox_gb, line.extra_archive_gb
            )
            for line in order_lines
            if line.item in plan_items
        ]
        kit = SignatureKit(order.signature_kit) if order.signature_kit else None
        expected = quote(prices, choices, order.years, kit)
        assert (order.net_cents, order.vat_cents, order.gross_cents) == (
            to_cents(expected.net),
            to_cents(expected.vat),
            to_cents(expected.gross),
        )
        assert sum(line.total_cents for line in order_lines) == order.net_cents
        if order.status == OrderStatus.PAID.value:
            assert payments[order.id].amount_cents == order.gross_cents
            assert order.paid_at is not None
        else:
            assert order.id not in payments
        assert order.created_at.date() <= TODAY

    awaiting = {o.id for o in orders if o.status == OrderStatus.AWAITING_PAYMENT.value}
    assert {renewal.order_id for renewal in open_renewals} == awaiting
    for renewal in open_renewals:
        box = boxes[renewal.mailbox_id]
        assert not box.auto_renew
        assert state_of(box.expiry, TODAY) is not MailboxState.CANCELLED
        assert renewal.mailbox_id in {line.mailbox_id for line in lines_of[renewal.order_id]}


def test_seeded_rows_keep_every_foreign_key_and_the_sequences_move_on(engine, seeded):
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA foreign_key_check")).all() == []
            # The bulk-load settings were given back with the connection.
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert connection.execute(text("PRAGMA synchronous")).scalar() != 0
    with Session(engine) as session:
        holder = Holder(kind="privato", display_name="Nuovo", reference_email="n@example.it")
        session.add(holder)
        session.commit()
        assert holder.id == seeded.holders + 1


def test_a_chunked_run_stops_when_asked_with_whole_chunks_committed(engine):
    asked = []
    result = seeding.seed_demo(
        engine,
        3000,
        7,
        TODAY,
        chunk_size=1000,
        progress=lambda done, total: asked.append((done, total)),
        cancelled=lambda: bool(asked),
    )
    assert result.interrupted
    assert len(asked) == 1 and asked[0][1] == 3000
    assert 1000 <= result.mailboxes == asked[0][0] < 3000
    assert _count(engine, Mailbox) == result.mailboxes
    assert _count(engine, Holder) == result.holders
    with Session(engine) as session:
        holders_without_mailbox = session.execute(
            select(func.count())
            .select_from(Holder)
            .where(~Holder.id.in_(select(Mailbox.holder_id)))
        ).one()[0]
        top = session.execute(select(func.max(Order.number))).one()[0]
        counter = session.get(CounterRow, ORDER_NUMBER_COUNTER)
        event = session.execute(select(AuditEvent).where(AuditEvent.action == "demo.seed")).one()[0]
    assert holders_without_mailbox == 0
    assert counter.value == top
    assert event.outcome == "partial"
    assert event.details["mailboxes"] == result.mailboxes


def test_a_database_with_mailboxes_is_refused(engine, seeded):
    with pytest.raises(seeding.DatabaseNotEmpty):
        seeding.seed_demo(engine, 10, 1, TODAY)
    assert _count(engine, Mailbox) == 1500


def test_reset_keeps_prices_counter_and_administrators(engine, seeded):
    set_price(engine, SYSTEM, PriceItem.PRO, Decimal("27.00"))
    made = create_demo_operators(engine, SYSTEM)
    seeding.mark_demo_operators(engine, [c.username for c in made])
    with Session(engine) as session:
        last_number = session.get(CounterRow, ORDER_NUMBER_COUNTER).value

    seeding.reset_demo_data(engine, SYSTEM)

    for model in (Holder, Mailbox, Order, OrderLine, Payment, OpenRenewal):
        assert _count(engine, model) == 0
    with Session(engine) as session:
        kept = session.execute(select(Operator.username).order_by(Operator.id)).scalars().all()
        assert kept == ["admin", "backoffice"]
        assert session.get(PriceListItem, PriceItem.PRO.value).amount_cents == 2700
        assert session.get(CounterRow, ORDER_NUMBER_COUNTER).value == last_number
        assert session.execute(select(AuditEvent.action)).scalars().all() == ["demo.reset"]
    # Seeding again never hands out an order number twice.
    seeding.seed_demo(engine, 200, 42, TODAY)
    with Session(engine) as session:
        assert session.execute(select(func.min(Order.number))).one()[0] == last_number + 1


def _hand_made_operator(session):
    session.add(Operator(username="mario", role=Role.ADMIN.value, password_hash="x"))


def _hand_made_mailbox(session):
    holder = session.execute(select(Holder)).scalars().first()
    session.add(
        Mailbox(
            address="mano@pec.example.it",
            holder_id=holder.id,
            plan=Plan.STANDARD.value,
            expiry=TODAY,
        )
    )


@pytest.mark.parametrize("hand_made", [_hand_made_operator, _hand_made_mailbox])
def test_a_demo_book_with_anything_made_by_hand_is_never_reset(engine, seeded, hand_made):
    with Session(engine) as session:
        hand_made(session)
        session.commit()
    before = _dump(engine)
    with pytest.raises(seeding.NotADemoBook):
        seeding.reset_demo_data(engine, SYSTEM)
    assert _dump(engine) == before
    assert _count(engine, AuditEvent) == 1  # demo.seed, and no demo.reset


def test_a_database_demo_did_not_fill_is_never_reset(engine):
    with Session(engine) as session:
        session.add(Holder(kind="privato", display_name="Vero", reference_email="v@example.it"))
        session.commit()
    with pytest.raises(seeding.NotADemoBook):
        seeding.check_demo_book(engine)
    with pytest.raises(seeding.NotADemoBook):
        seeding.reset_demo_data(engine, SYSTEM)
    assert _count(engine, Holder) == 1


def test_a_reset_book_stays_a_demo_book_and_later_additions_still_count(engine, seeded):
    made = create_demo_operators(engine, SYSTEM)
    seeding.mark_demo_operators(engine, [c.username for c in made])
    seeding.reset_demo_data(engine, SYSTEM)
    seeding.check_demo_book(engine)  # nothing made by hand: a demo book still
    # The ids of deleted reseller operators come back on SQLite: still caught.
    with Session(engine) as session:
        _hand_made_operator(session)
        session.commit()
    with pytest.raises(seeding.NotADemoBook):
        seeding.check_demo_book(engine)


def test_only_administrators_may_reset(engine, seeded):
    reseller = Actor(name="shop", role=Role.RESELLER, reseller_id=1)
    with pytest.raises(AccessDenied):
        seeding.reset_demo_data(engine, reseller)
    assert _count(engine, Mailbox) == 1500


def test_the_vocabulary_names_real_comuni_and_provinces():
    comuni = {m["code"]: m for m in get_municipalities_data() if m["active"]}
    for name, province, code, cap in demo_vocabulary.COMUNI:
        assert comuni[code]["province"] == province, name
        assert check_province(province) == province
        assert check_cap(cap) == cap


def test_only_administrators_may_seed(engine):
    with Session(engine) as session:
        shop = Reseller(name="Shop")
        session.add(shop)
        session.commit()
        reseller = Actor(name="shop", role=Role.RESELLER, reseller_id=shop.id)
    with pytest.raises(AccessDenied):
        seeding.seed_demo(engine, 10, 1, TODAY, actor=reseller)
    assert _count(engine, Mailbox) == 0
    with Session(engine) as session:
        refusal = session.execute(select(AuditEvent)).scalar_one()
    assert (refusal.action, refusal.outcome) == ("demo.seed", "denied")


def test_the_demo_sets_a_valid_issuer(engine):
    from pec_tui.domain import fatturapa
    from pec_tui.services import invoices

    seeding.seed_demo(engine, 10, 1, TODAY)
    issuer = invoices.get_issuer(engine)
    assert issuer is not None and issuer == fatturapa.normalise_issuer(issuer)
    assert issuer.vat_number == seeding.DEMO_ISSUER.vat_number


# PostgreSQL only: SQLite's search table is an FTS5 index, in rowid order.
@pytest.mark.parametrize(
    "db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_the_search_table_is_written_in_mailbox_id_order(engine, seeded):
    """PostgreSQL: `mailbox_search` is filled after the bulk load in id order, as `mailbox`
    is, so that a payment's new expiries fit on their pages as HOT updates (migration
    0012); the join's own order gathered each holder's mailboxes on the same pages."""
    with engine.connect() as connection:
        # The page each row is on, by id: the few rows the seeding updated afterwards (its
        # paid orders) may have moved.
        rows, backwards = connection.execute(
            text(
                "SELECT count(*), count(*) FILTER (WHERE page < before) FROM "
                "(SELECT page, lag(page) OVER (ORDER BY id) AS before FROM "
                "(SELECT id, (ctid::text::point)[0] AS page FROM mailbox_search) p) s"
            )
        ).one()
    assert rows == seeded.mailboxes
    assert backwards <= rows // 100
