"""Mailbox table queries on SQLite and PostgreSQL: pages, filters, search, selection, scoping."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from pec_tui.db.models import AuditEvent, Holder, Mailbox, Order, Reseller
from pec_tui.domain.enums import HolderKind, MailboxState, OrderStatus, OrderType, Plan, Role
from pec_tui.domain.lifecycle import add_months, state_of
from pec_tui.domain.records import MailboxRow
from pec_tui.services import holders, mailboxes
from pec_tui.services.actor import SYSTEM, AccessDenied, Actor
from pec_tui.services.mailboxes import MailboxFilter, MailboxSource, Selection

TODAY = date(2026, 11, 26)
IN_3_MONTHS = add_months(TODAY, 3)  # 2027-02-26


@dataclass
class Book:
    reseller_a: int
    reseller_b: int
    rossi: int  # holder ids
    bianchi: int
    verdi: int
    neri: int  # reseller B's
    ids: dict[str, int]  # mailbox id by address


def _holder(session: Session, reseller_id: int, name: str, **fields) -> int:
    holder = Holder(
        reseller_id=reseller_id,
        kind=fields.pop("kind", HolderKind.PRIVATE.value),
        display_name=name,
        reference_email=f"{name.split()[0].lower()}@example.it",
        **fields,
    )
    session.add(holder)
    session.flush()
    return holder.id


def _build_book(engine) -> Book:
    with Session(engine) as session:
        a, b = Reseller(name="Alfa Rivendite"), Reseller(name="Beta Rivendite")
        session.add_all([a, b])
        session.flush()
        rossi = _holder(session, a.id, "Rossi Mario", codice_fiscale="RSSMRA85T10A562S")
        bianchi = _holder(
            session,
            a.id,
            "Bianchi Costruzioni S.r.l.",
            kind=HolderKind.COMPANY.value,
            partita_iva="01234567897",
            codice_fiscale="01234567897",
        )
        verdi = _holder(session, a.id, "VERDI ANNA", codice_fiscale="VRDNNA80A41F205X")
        neri = _holder(session, b.id, "Neri Luca", codice_fiscale="NRILCU75C12H501Y")

        specs: list[tuple[str, int, int, date, bool]] = [
            # address, holder, reseller, expiry, auto_renew
            ("mario.rossi@pec.it", rossi, a.id, TODAY, False),  # rule: first day
            ("studio.rossi@pec.it", rossi, a.id, IN_3_MONTHS, False),  # rule: last day
            ("rossi.archivio@pec.it", rossi, a.id, IN_3_MONTHS + timedelta(days=1), False),
            ("auto.rossi@pec.it", rossi, a.id, TODAY + timedelta(days=10), True),  # auto-renew
            ("sospesa.rossi@pec.it", rossi, a.id, TODAY - timedelta(days=1), False),
            ("ultimo.giorno@pec.it", bianchi, a.id, TODAY - timedelta(days=90), False),
            ("cancellata@pec.it", bianchi, a.id, TODAY - timedelta(days=91), False),
            ("neri.luca@pec.it", neri, b.id, TODAY + timedelta(days=5), False),
            ("verdi.anna@pec.it", verdi, a.id, TODAY + timedelta(days=40), False),
        ]
        # Filler: many mailboxes sharing expiry dates, so that ids break ties across pages.
        for n in range(240):
            holder_id, reseller_id = ((bianchi, a.id), (verdi, a.id), (neri, b.id))[n % 3]
            expiry = TODAY + timedelta(days=(n * 7) % 400 - 150)
            prefix = ("info", "ufficio", "verdi")[n % 3]
            specs.append((f"{prefix}{n:03d}@pec.it", holder_id, reseller_id, expiry, n % 5 == 0))
        boxes = [
            Mailbox(
                address=address,
                holder_id=holder_id,
                reseller_id=reseller_id,
                plan=(Plan.STANDARD, Plan.PRO, Plan.PREMIUM)[i % 3].value,
                expiry=expiry,
                auto_renew=auto,
                mailbox_used_mb=(i * 37) % 1024,
            )
            for i, (address, holder_id, reseller_id, expiry, auto) in enumerate(specs)
        ]
        session.add_all(boxes)
        session.commit()
        return Book(a.id, b.id, rossi, bianchi, verdi, neri, {m.address: m.id for m in boxes})


@pytest.fixture
def book(engine) -> Book:
    return _build_book(engine)


def _reseller(book: Book, which: str = "a") -> Actor:
    reseller_id = book.reseller_a if which == "a" else book.reseller_b
    return Actor(name=f"op-{which}", role=Role.RESELLER, reseller_id=reseller_id)


def _all_rows(engine, actor, flt, limit: int = 7) -> list[MailboxRow]:
    """Every row of the filter by following keyset cursors from the first page."""
    rows: list[MailboxRow] = []
    batch = mailboxes.page(engine, actor, flt, TODAY, limit=limit)
    while batch:
        rows.extend(batch)
        cursor = mailboxes.cursor_of(batch[-1], flt.sort)
        batch = mailboxes.page(engine, actor, flt, TODAY, after=cursor, limit=limit)
    return rows


def _expected(engine, actor: Actor, keep) -> list[tuple]:
    """(sort key, id) of the actor's mailboxes that `keep(mailbox)` accepts, by plain Python."""
    with Session(engine) as session:
        found = session.exec(select(Mailbox)).all()
    return [
        m
        for m in found
        if (actor.reseller_id is None or m.reseller_id == actor.reseller_id)
        and (actor.holder_id is None or m.holder_id == actor.holder_id)
        and keep(m)
    ]


FILTERS = [
    MailboxFilter(),
    MailboxFilter(sort="address"),
    MailboxFilter(state=MailboxState.ACTIVE),
    MailboxFilter(state=MailboxState.SUSPENDED, sort="address"),
    MailboxFilter(state=MailboxState.CANCELLED),
    MailboxFilter(expiring_within_months=3),
    MailboxFilter(search="verdi"),
    MailboxFilter(search="Rossi", sort="address"),
    MailboxFilter(search="info1", state=MailboxState.ACTIVE),
]


@pytest.mark.parametrize("flt", FILTERS, ids=repr)
@pytest.mark.parametrize("who", ["system", "reseller"])
def test_keyset_pages_equal_offset_pages(engine, book, flt, who):
    actor = SYSTEM if who == "system" else _reseller(book)
    total = mailboxes.count(engine, actor, flt, TODAY)
    by_keyset = _all_rows(engine, actor, flt)
    assert len(by_keyset) == total > 0
    for offset in range(0, total, 7):
        forward = mailboxes.page_at_offset(engine, actor, flt, TODAY, offset, 7)
        from_end = mailboxes.page_at_offset(engine, actor, flt, TODAY, offset, 7, total=total)
        assert forward == from_end == by_keyset[offset : offset + 7]
    assert mailboxes.page_at_offset(engine, actor, flt, TODAY, total, 7, total=total) == []
    # Walking backwards from the end by keyset gives the same rows.
    backwards: list[MailboxRow] = []
    batch = mailboxes.page_at_offset(engine, actor, flt, TODAY, total - 5, 5, total=total)
    while batch:
        backwards[:0] = batch
        cursor = mailboxes.cursor_of(batch[0], flt.sort)
        batch = mailboxes.page(engine, actor, flt, TODAY, before=cursor, limit=6)
    assert backwards == by_keyset


@pytest.mark.parametrize("strategy", ["scan", "lookup"])
@pytest.mark.parametrize("sort", ["expiry", "address"])
def test_search_gives_the_same_rows_whichever_way_it_is_queried(
    engine, book, monkeypatch, strategy, sort
):
    monkeypatch.setattr(mailboxes, "choose_strategy", lambda *args, **kw: strategy)
    actor = _reseller(book)
    flt = MailboxFilter(search="rossi", sort=sort)
    total = mailboxes.count(engine, actor, flt, TODAY)  # decides the strategy
    # One row a page: each cursor comes from one arm and is used on both.
    rows = _all_rows(engine, actor, flt, limit=1)
    backwards = mailboxes.page_at_offset(engine, actor, flt, TODAY, total - 1, 1, total=total)
    while len(backwards) < total:
        cursor = mailboxes.cursor_of(backwards[0], sort)
        batch = mailboxes.page(engine, actor, flt, TODAY, before=cursor, limit=1)
        assert batch, "a row was skipped walking backwards"
        backwards[:0] = batch
    assert backwards == rows
    expected = sorted(
        _expected(
            engine, actor, lambda m: m.address.startswith("rossi") or m.holder_id == book.rossi
        ),
        key=lambda m: (m.expiry, m.id) if sort == "expiry" else (m.address, m.id),
    )
    assert [r.id for r in rows] == [m.id for m in expected]


def test_rows_come_in_expiry_then_id_order_with_holder_names(engine, book):
    rows = _all_rows(engine, SYSTEM, MailboxFilter())
    assert [(r.expiry, r.id) for r in rows] == sorted((r.expiry, r.id) for r in rows)
    first = next(r for r in rows if r.address == "mario.rossi@pec.it")
    assert first.holder_name == "Rossi Mario"
    assert first.plan is Plan.STANDARD
    by_address = _all_rows(engine, SYSTEM, MailboxFilter(sort="address"))
    assert [r.address for r in by_address] == sorted(r.address for r in rows)


@pytest.mark.parametrize("state", list(MailboxState))
def test_state_filter_counts_match_the_lifecycle_rule(engine, book, state):
    actor = _reseller(book)
    expected = _expected(engine, actor, lambda m: state_of(m.expiry, TODAY) is state)
    flt = MailboxFilter(state=state)
    assert mailboxes.count(engine, actor, flt, TODAY) == len(expected)
    assert {r.id for r in _all_rows(engine, actor, flt)} == {m.id for m in expected}


def test_state_boundaries(engine, book):
    def ids(state):
        return {r.address for r in _all_rows(engine, SYSTEM, MailboxFilter(state=state))}

    assert "mario.rossi@pec.it" in ids(MailboxState.ACTIVE)  # expiry today: still Attiva
    assert "sospesa.rossi@pec.it" in ids(MailboxState.SUSPENDED)  # expired yesterday
    assert "ultimo.giorno@pec.it" in ids(MailboxState.SUSPENDED)  # 90th day of suspension
    assert "cancellata@pec.it" in ids(MailboxState.CANCELLED)  # 91st day


def test_expiring_within_3_months_is_inclusive_and_combines_with_state(engine, book):
    flt = MailboxFilter(expiring_within_months=3)
    expected = _expected(engine, SYSTEM, lambda m: TODAY <= m.expiry <= IN_3_MONTHS)
    assert mailboxes.count(engine, SYSTEM, flt, TODAY) == len(expected)
    addresses = {r.address for r in _all_rows(engine, SYSTEM, flt)}
    assert {"mario.rossi@pec.it", "studio.rossi@pec.it", "auto.rossi@pec.it"} <= addresses
    assert "rossi.archivio@pec.it" not in addresses
    suspended = flt.with_(state=MailboxState.SUSPENDED)
    assert mailboxes.count(engine, SYSTEM, suspended, TODAY) == 0
    assert mailboxes.page(engine, SYSTEM, suspended, TODAY) == []


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("mario.rossi@pec.it", {"mario.rossi@pec.it"}),  # full address
        ("MARIO.R", {"mario.rossi@pec.it"}),  # address prefix, any case
        ("studio", {"studio.rossi@pec.it"}),
        ("RSSMRA85T10A562S", "rossi"),  # codice fiscale
        ("rssmra85t10a562s", "rossi"),
        ("01234567897", "bianchi"),  # partita IVA
        ("IT01234567897", "bianchi"),
        ("rossi m", "rossi"),  # holder name prefix, lower case
        ("Verdi", "verdi"),  # stored upper case; also matches verdiNNN@ addresses
        ("nessuno", set()),
        ("100%_", set()),  # LIKE wildcards are taken literally
    ],
)
def test_search(engine, book, search, expected):
    actor = _reseller(book)
    flt = MailboxFilter(search=search)
    rows = _all_rows(engine, actor, flt)
    if isinstance(expected, str):
        holder_id = getattr(book, expected)
        want = {m.address for m in _expected(engine, actor, lambda m: m.holder_id == holder_id)}
        if expected == "verdi":
            want |= {
                m.address for m in _expected(engine, actor, lambda m: m.address.startswith("verdi"))
            }
    else:
        want = expected
    assert {r.address for r in rows} == want
    assert len(rows) == len({r.id for r in rows})  # a row matching twice is listed once
    assert mailboxes.count(engine, actor, flt, TODAY) == len(want)


@pytest.mark.parametrize("sort", ["expiry", "address"])
def test_search_without_byte_order_ranges_finds_the_same(engine, book, monkeypatch, sort):
    """Under a PostgreSQL language collation prefixes are matched by LIKE alone."""
    searches = ("mario.", "rossi", "Verdi", "info1", "studio.rossi@pec.it")
    actor = _reseller(book)
    expected = {}
    for search in searches:
        flt = MailboxFilter(search=search, sort=sort)
        expected[search] = (
            mailboxes.count(engine, actor, flt, TODAY),
            _all_rows(engine, actor, flt, 3),
        )
    monkeypatch.setattr(mailboxes, "_ranges_exact", lambda engine: False)
    for search in searches:
        flt = MailboxFilter(search=search, sort=sort)
        found = (mailboxes.count(engine, actor, flt, TODAY), _all_rows(engine, actor, flt, 3))
        assert found == expected[search]
        assert found[0] > 0


def test_reseller_never_sees_another_resellers_mailboxes(engine, book):
    a, b = _reseller(book, "a"), _reseller(book, "b")
    for flt in FILTERS + [MailboxFilter(search="neri"), MailboxFilter(search="NRILCU75C12H501Y")]:
        for row in _all_rows(engine, a, flt):
            assert row.reseller_id == book.reseller_a
        for offset in (0, 50):
            for row in mailboxes.page_at_offset(engine, a, flt, TODAY, offset):
                assert row.reseller_id == book.reseller_a
    assert mailboxes.count(engine, a, MailboxFilter(search="neri.luca@pec.it"), TODAY) == 0
    assert mailboxes.count(engine, a, MailboxFilter(holder_id=book.neri), TODAY) == 0
    total = mailboxes.count(engine, SYSTEM, MailboxFilter(), TODAY)
    assert (
        mailboxes.count(engine, a, MailboxFilter(), TODAY)
        + mailboxes.count(engine, b, MailboxFilter(), TODAY)
        == total
    )

    other = book.ids["neri.luca@pec.it"]
    assert mailboxes.get_mailbox(engine, b, other).address == "neri.luca@pec.it"
    with pytest.raises(AccessDenied):
        mailboxes.get_mailbox(engine, a, other)
    with Session(engine) as session:
        denied = session.exec(select(AuditEvent).where(AuditEvent.outcome == "denied")).all()
    assert any(e.entity == "mailbox" and e.entity_id == str(other) for e in denied)
    with pytest.raises(LookupError):
        mailboxes.get_mailbox(engine, a, 999_999)
    assert [r.id for r in mailboxes.get_mailboxes(engine, a, [other])] == []


def test_kiosk_sees_only_its_holders_mailboxes(engine, book):
    kiosk = Actor(name="kiosk", role=Role.BACK_OFFICE, holder_id=book.rossi)
    rows = _all_rows(engine, kiosk, MailboxFilter())
    assert rows and {r.holder_id for r in rows} == {book.rossi}
    assert mailboxes.count(engine, kiosk, MailboxFilter(search="verdi"), TODAY) == 0
    assert mailboxes.count(engine, kiosk, MailboxFilter(search="studio"), TODAY) == 1
    assert Selection.by_rule(TODAY).count(engine, kiosk, TODAY) == 2


# --- Selection ------------------------------------------------------------------------------


def _rule_expected(engine, actor) -> set[int]:
    return {
        m.id
        for m in _expected(
            engine, actor, lambda m: TODAY <= m.expiry <= IN_3_MONTHS and not m.auto_renew
        )
    }


def test_selection_rule_boundaries(engine, book):
    actor = _reseller(book)
    selection = Selection.by_rule(TODAY)
    expected = _rule_expected(engine, actor)
    assert selection.count(engine, actor, TODAY) == len(expected)
    ids = selection.resolve_ids(engine, actor, TODAY)
    assert set(ids) == expected and len(ids) == len(expected)
    assert book.ids["mario.rossi@pec.it"] in ids  # expiry == today
    assert book.ids["studio.rossi@pec.it"] in ids  # expiry == today + 3 months
    assert book.ids["rossi.archivio@pec.it"] not in ids  # one day later
    assert book.ids["auto.rossi@pec.it"] not in ids  # auto-renew on
    assert book.ids["sospesa.rossi@pec.it"] not in ids  # before today
    assert book.ids["neri.luca@pec.it"] not in ids  # another reseller's
    rows = {r.id: r for r in _all_rows(engine, actor, MailboxFilter())}
    assert {i for i, row in rows.items() if selection.contains(row)} == expected
    # In expiry order, and `limit` takes the first ones.
    expiries = [rows[i].expiry for i in ids]
    assert expiries == sorted(expiries)
    assert selection.resolve_ids(engine, actor, TODAY, limit=3) == ids[:3]


def test_selection_toggles_adjust_the_rule(engine, book):
    actor = _reseller(book)
    rows = {r.address: r for r in _all_rows(engine, actor, MailboxFilter())}
    selection = Selection.by_rule(TODAY)
    base = selection.count(engine, actor, TODAY)

    in_rule, outside = rows["mario.rossi@pec.it"], rows["rossi.archivio@pec.it"]
    suspended, cancelled = rows["sospesa.rossi@pec.it"], rows["cancellata@pec.it"]
    assert selection.toggle(in_rule) is False
    assert selection.toggle(outside) is True
    assert selection.toggle(suspended) is True  # Sospesa can still be renewed
    selection.select(cancelled)  # Cancellata cannot: never counted nor resolved
    assert selection.count(engine, actor, TODAY) == base - 1 + 2
    ids = selection.resolve_ids(engine, actor, TODAY)
    assert in_rule.id not in ids and {outside.id, suspended.id} <= set(ids)
    assert cancelled.id not in ids
    assert not selection.contains(in_rule) and selection.contains(outside)

    selection.toggle(in_rule)
    selection.toggle(outside)
    assert selection.count(engine, actor, TODAY) == base + 1

    selection.clear()
    assert selection.is_empty and selection.count(engine, actor, TODAY) == 0
    assert selection.resolve_ids(engine, actor, TODAY) == []


def test_selection_by_hand_without_rule(engine, book):
    actor = _reseller(book)
    rows = {r.address: r for r in _all_rows(engine, actor, MailboxFilter())}
    selection = Selection()
    assert selection.is_empty
    for address in ("verdi.anna@pec.it", "auto.rossi@pec.it", "studio.rossi@pec.it"):
        selection.toggle(rows[address])
    # The auto-renewing mailbox is not renewable by hand either.
    assert selection.count(engine, actor, TODAY) == 2
    assert selection.resolve_ids(engine, actor, TODAY) == [
        rows["verdi.anna@pec.it"].id,
        rows["studio.rossi@pec.it"].id,
    ]
    # Another reseller's id smuggled into a selection is never resolved.
    other = mailboxes.get_mailbox(engine, SYSTEM, book.ids["neri.luca@pec.it"])
    selection.select(other)
    assert selection.count(engine, actor, TODAY) == 2
    assert other.id not in selection.resolve_ids(engine, actor, TODAY)


def test_selection_rule_for_one_holder(engine, book):
    selection = Selection.by_rule(TODAY, holder_id=book.rossi)
    assert selection.resolve_ids(engine, SYSTEM, TODAY) == [
        book.ids["mario.rossi@pec.it"],
        book.ids["studio.rossi@pec.it"],
    ]


# --- Row source ---------------------------------------------------------------------------


def test_source_serves_rows_by_position_from_a_bounded_cache(engine, book):
    actor = _reseller(book)
    flt = MailboxFilter()
    expected = _all_rows(engine, actor, flt)
    source = MailboxSource(engine, actor, flt, TODAY, page_size=10, max_pages=3)
    assert source.count() == len(expected)
    # Sequential reading goes by keyset from the neighbour page.
    assert source.rows(0, len(expected)) == expected
    assert source.offset_fetches == 1 and source.keyset_fetches > 5
    assert len(list(source.cached_rows())) <= 30
    # A jump goes by offset; then the pages before it come by keyset backwards.
    fresh = MailboxSource(engine, actor, flt, TODAY, page_size=10, max_pages=3)
    end = len(expected)
    assert fresh.rows(end - 5, end) == expected[-5:]
    assert fresh.offset_fetches == 1
    assert fresh.rows(end - 25, end - 5) == expected[-25:-5]
    assert fresh.offset_fetches == 1
    assert fresh.row(end) is None and fresh.row(-1) is None
    assert fresh.row(3) == expected[3]


def test_source_invalidate_reads_changes(engine, book):
    source = MailboxSource(engine, SYSTEM, MailboxFilter(search="studio"), TODAY)
    assert source.count() == 1
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE mailbox SET address = 'studio.bis@pec.it' WHERE address = :a"),
            {"a": "rossi.archivio@pec.it"},
        )
    assert source.count() == 1  # cached
    source.invalidate()
    assert source.count() == 2
    assert {r.address for r in source.rows(0, 2)} == {"studio.rossi@pec.it", "studio.bis@pec.it"}


# --- Holders (Area clienti) ---------------------------------------------------------------


def _order(session: Session, holder_id: int, reseller_id: int, number, status, gross, day):
    from datetime import UTC, datetime

    order = Order(
        number=number,
        type=OrderType.RENEWAL.value if number != 1_000_000_000 else OrderType.PURCHASE.value,
        status=status.value,
        holder_id=holder_id,
        reseller_id=reseller_id,
        created_at=datetime(day.year, day.month, day.day, 10, tzinfo=UTC),
        net_cents=gross,
        vat_cents=gross * 22 // 100,
        gross_cents=gross + gross * 22 // 100,
    )
    session.add(order)


def test_holder_info_orders_and_mailboxes(engine, book):
    with Session(engine) as session:
        _order(
            session,
            book.rossi,
            book.reseller_a,
            1_000_000_000,
            OrderStatus.PAID,
            2500,
            date(2025, 9, 25),
        )
        _order(
            session,
            book.rossi,
            book.reseller_a,
            1_000_000_007,
            OrderStatus.AWAITING_PAYMENT,
            990,
            date(2026, 11, 20),
        )
        _order(
            session, book.rossi, book.reseller_a, None, OrderStatus.DRAFT, 990, date(2026, 11, 21)
        )
        _order(
            session,
            book.neri,
            book.reseller_b,
            1_000_000_003,
            OrderStatus.PAID,
            990,
            date(2026, 1, 2),
        )
        session.commit()
    actor = _reseller(book)
    info = holders.get_holder(engine, actor, book.rossi)
    assert info.display_name == "Rossi Mario" and info.codice_fiscale == "RSSMRA85T10A562S"
    assert info.kind is HolderKind.PRIVATE
    orders = holders.holder_orders(engine, actor, book.rossi)
    assert [o.number for o in orders] == [1_000_000_007, 1_000_000_000]  # newest first, no drafts
    assert str(orders[1].net) == "25.00"
    boxes = holders.holder_mailboxes(engine, actor, book.rossi)
    assert {b.address for b in boxes} == {a for a in book.ids if "rossi" in a}
    assert [b.expiry for b in boxes] == sorted(b.expiry for b in boxes)

    with pytest.raises(AccessDenied):
        holders.get_holder(engine, actor, book.neri)
    with pytest.raises(AccessDenied):
        holders.holder_orders(engine, actor, book.neri)
    with pytest.raises(AccessDenied):
        holders.holder_mailboxes(engine, actor, book.neri)
    with pytest.raises(LookupError):
        holders.get_holder(engine, actor, 987_654)
    kiosk = Actor(name="kiosk", role=Role.BACK_OFFICE, holder_id=book.rossi)
    assert holders.get_holder(engine, kiosk, book.rossi).id == book.rossi
    with pytest.raises(AccessDenied):
        holders.get_holder(engine, kiosk, book.verdi)


# --- a renewal started from the selection itself ------------------------------------------


def _put_on_open_order(engine, mailbox_ids: list[int], number: int) -> None:
    from pec_tui.db.models import OpenRenewal

    with Session(engine) as session:
        holder_id = session.get_one(Mailbox, mailbox_ids[0]).holder_id
        order = Order(
            type=OrderType.RENEWAL.value,
            status=OrderStatus.AWAITING_PAYMENT.value,
            holder_id=holder_id,
            number=number,
        )
        session.add(order)
        session.flush()
        session.add_all(OpenRenewal(mailbox_id=i, order_id=order.id) for i in mailbox_ids)
        session.commit()


def _same_draft(a, b) -> None:
    assert a.items == b.items
    assert (a.holder, a.billed_to, a.payment_method, a.years, a.auto_renew, a.step) == (
        b.holder,
        b.billed_to,
        b.payment_method,
        b.years,
        b.auto_renew,
        b.step,
    )


@pytest.mark.parametrize("who", ["reseller", "administrator"])
def test_a_renewal_of_the_selection_is_the_renewal_of_its_ids(engine, book, who):
    """Read once by the rule (and the ids by hand), the draft is the one its resolved ids
    start: same items in the same order, same billing, frequency and payment method; those
    on an open order, renewing by themselves, cancelled or another reseller's are left out."""
    from pec_tui.services import orders

    actor = _reseller(book) if who == "reseller" else SYSTEM
    _put_on_open_order(engine, [book.ids["ufficio022@pec.it"], book.ids["info024@pec.it"]], 901)
    rows = {r.address: r for r in _all_rows(engine, SYSTEM, MailboxFilter())}
    selection = Selection.by_rule(TODAY)
    selection.toggle(rows["mario.rossi@pec.it"])  # removed by hand
    selection.toggle(rows["rossi.archivio@pec.it"])  # added by hand, outside the rule
    selection.select(rows["cancellata@pec.it"])  # cannot be renewed: left out
    selection.select(rows["neri.luca@pec.it"])  # in the rule's range for the administrator
    ids = selection.resolve_ids(engine, actor, TODAY)
    assert len(ids) > 20
    by_ids = orders.start_renewal(engine, actor, ids, TODAY)
    by_selection = orders.start_renewal_of_selection(engine, actor, selection, TODAY)
    _same_draft(by_selection, by_ids)
    assert by_selection.order_id != by_ids.order_id
    addresses = {i.address for i in by_selection.items}
    assert "rossi.archivio@pec.it" in addresses and "mario.rossi@pec.it" not in addresses
    assert not addresses & {"ufficio022@pec.it", "info024@pec.it", "cancellata@pec.it"}
    assert not addresses & {"auto.rossi@pec.it", "sospesa.rossi@pec.it"}
    assert ("neri.luca@pec.it" in addresses) == (who == "administrator")
    # Loaded back, it is the same draft (the pipeline, the CLI and resuming read it so).
    _same_draft(orders.load_draft(engine, actor, by_selection.order_id), by_selection)


def test_a_renewal_of_an_empty_selection_is_refused(engine, book):
    from pec_tui.domain.draft import RenewalRefused
    from pec_tui.services import orders

    actor = _reseller(book, "b")
    selection = Selection.by_rule(TODAY, holder_id=book.rossi)  # not reseller B's holder
    with pytest.raises(RenewalRefused, match="None of the selected mailboxes"):
        orders.start_renewal_of_selection(engine, actor, selection, TODAY)


def test_the_draft_start_audit_row_names_the_selection_not_every_address(engine, book, monkeypatch):
    from pec_tui.services import orders

    actor = _reseller(book)
    rows = {r.address: r for r in _all_rows(engine, actor, MailboxFilter())}
    selection = Selection.by_rule(TODAY)
    selection.toggle(rows["mario.rossi@pec.it"])
    selection.toggle(rows["rossi.archivio@pec.it"])
    count = selection.count(engine, actor, TODAY)
    monkeypatch.setattr(orders, "AUDIT_ADDRESSES", 5)
    big = orders.start_renewal_of_selection(engine, actor, selection, TODAY)
    ids = selection.resolve_ids(engine, actor, TODAY)
    by_ids = orders.start_renewal(engine, actor, ids, TODAY)
    one = orders.start_renewal(engine, actor, [book.ids["verdi.anna@pec.it"]], TODAY)
    with Session(engine) as session:
        started = {
            e.entity_id: e.details
            for e in session.exec(select(AuditEvent).where(AuditEvent.action == "draft.start"))
        }
    assert started[str(big.order_id)] == {
        "type": "rinnovo",
        "count": count,
        "selection": {
            "rule": {
                "first_expiry": TODAY.isoformat(),
                "last_expiry": IN_3_MONTHS.isoformat(),
                "holder_id": None,
                "reseller_id": None,
            },
            "added": [book.ids["rossi.archivio@pec.it"]],
            "removed": [book.ids["mario.rossi@pec.it"]],
        },
    }
    assert len(big.items) == count > 5
    # Given by id, a long draft names the ids; one mailbox names its address.
    assert started[str(by_ids.order_id)] == {
        "type": "rinnovo",
        "count": count,
        "mailbox_ids": sorted(ids),
    }
    assert started[str(one.order_id)] == {
        "type": "rinnovo",
        "count": 1,
        "mailboxes": ["verdi.anna@pec.it"],
    }


def test_a_renewal_of_mailboxes_picked_by_hand_alone(engine, book):
    from pec_tui.services import orders

    actor = _reseller(book)
    rows = {r.address: r for r in _all_rows(engine, actor, MailboxFilter())}
    selection = Selection()
    for address in ("verdi.anna@pec.it", "auto.rossi@pec.it", "sospesa.rossi@pec.it"):
        selection.toggle(rows[address])
    draft = orders.start_renewal_of_selection(engine, actor, selection, TODAY)
    assert [i.address for i in draft.items] == ["sospesa.rossi@pec.it", "verdi.anna@pec.it"]
    ids = selection.resolve_ids(engine, actor, TODAY)
    _same_draft(draft, orders.start_renewal(engine, actor, ids, TODAY))
