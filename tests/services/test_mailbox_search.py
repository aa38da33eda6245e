"""Word search: a text of 3+ characters anywhere in the address or the holder's name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlmodel import Session, select, update

from pec_tui.db import search_index
from pec_tui.db.models import Holder, Mailbox, Reseller
from pec_tui.demo import seeding
from pec_tui.domain.enums import HolderKind, MailboxState, Plan, Role
from pec_tui.services import mailboxes
from pec_tui.services.actor import SYSTEM, Actor
from pec_tui.services.mailboxes import MailboxFilter

TODAY = date(2026, 11, 26)


@dataclass
class Book:
    reseller_a: int
    reseller_b: int
    marino: int
    serra: int
    nicolo: int
    other_serra: int  # reseller B's


def _holder(session: Session, reseller_id: int, name: str) -> int:
    holder = Holder(
        reseller_id=reseller_id,
        kind=HolderKind.COMPANY.value,
        display_name=name,
        reference_email="info@example.it",
    )
    session.add(holder)
    session.flush()
    return holder.id


@pytest.fixture
def book(engine) -> Book:
    with Session(engine) as session:
        a, b = Reseller(name="Alfa"), Reseller(name="Beta")
        session.add_all([a, b])
        session.flush()
        marino = _holder(session, a.id, "Marino Consulting S.r.l.")
        serra = _holder(session, a.id, "Alessandro Serra")
        nicolo = _holder(session, a.id, "Nicolò Bàrbera")
        other = _holder(session, b.id, "Serra Impianti S.p.A.")
        specs = [
            ("amministrazione@marinoconsulting.it", marino, a.id, TODAY + timedelta(days=30)),
            ("fatture@marino.it", marino, a.id, TODAY - timedelta(days=10)),  # Sospesa
            ("a.serra@pec.it", serra, a.id, TODAY + timedelta(days=200)),
            ("studio.legale@pec.it", serra, a.id, TODAY - timedelta(days=200)),  # Cancellata
            ("nicolo.barbera@pec.it", nicolo, a.id, TODAY + timedelta(days=5)),
            ("ufficio@serraimpianti.it", other, b.id, TODAY + timedelta(days=50)),
        ]
        # Filler that matches nothing searched below, so that pages have neighbours.
        for n in range(60):
            specs.append((f"casella{n:03d}@pec.it", marino, a.id, TODAY + timedelta(days=n)))
        session.add_all(
            Mailbox(
                address=address,
                holder_id=holder_id,
                reseller_id=reseller_id,
                plan=Plan.STANDARD.value,
                expiry=expiry,
            )
            for address, holder_id, reseller_id, expiry in specs
        )
        session.commit()
        return Book(a.id, b.id, marino, serra, nicolo, other)


def _reseller(book: Book, which: str = "a") -> Actor:
    reseller_id = book.reseller_a if which == "a" else book.reseller_b
    return Actor(name=f"op-{which}", role=Role.RESELLER, reseller_id=reseller_id)


def _found(engine, actor: Actor, flt: MailboxFilter, limit: int = 4) -> list[str]:
    """Addresses of every row, page by page (keyset), checked against the count."""
    rows = []
    batch = mailboxes.page(engine, actor, flt, TODAY, limit=limit)
    while batch:
        rows.extend(batch)
        cursor = mailboxes.cursor_of(batch[-1], flt.sort)
        batch = mailboxes.page(engine, actor, flt, TODAY, after=cursor, limit=limit)
    assert mailboxes.count(engine, actor, flt, TODAY) == len(rows)
    assert len({row.id for row in rows}) == len(rows)
    return [row.address for row in rows]


def _addresses(engine, holder_id: int) -> set[str]:
    with Session(engine) as session:
        return set(session.exec(select(Mailbox.address).where(Mailbox.holder_id == holder_id)))


def test_a_word_inside_the_holders_name(engine, book):
    actor = _reseller(book)
    assert set(_found(engine, actor, MailboxFilter(search="Consulting"))) == _addresses(
        engine, book.marino
    )
    assert set(_found(engine, actor, MailboxFilter(search="Serra"))) == _addresses(
        engine, book.serra
    )


def test_a_word_inside_the_address(engine, book):
    actor = _reseller(book)
    assert _found(engine, actor, MailboxFilter(search="legale")) == ["studio.legale@pec.it"]
    assert _found(engine, actor, MailboxFilter(search="ella050")) == ["casella050@pec.it"]
    # A match in the address and in the name is listed once.
    assert set(_found(engine, actor, MailboxFilter(search="marino"))) == _addresses(
        engine, book.marino
    )


@pytest.mark.parametrize("search", ["CONSULTING", "consulting", "cOnSuLtInG", "ng S.r"])
def test_any_case(engine, book, search):
    found = _found(engine, _reseller(book), MailboxFilter(search=search))
    assert set(found) == _addresses(engine, book.marino)


@pytest.mark.parametrize("search", ["Nicolo", "nicolò", "NICOLÒ", "barbera", "Bàrbera", "ò Bà"])
def test_any_accents(engine, book, search):
    found = _found(engine, _reseller(book), MailboxFilter(search=search))
    assert found == ["nicolo.barbera@pec.it"]


def test_fold_matches_the_sql_fold(engine, book):
    """Python folds the typed text exactly as the database folds the stored names."""
    with Session(engine) as session:
        holder = session.get(Holder, book.nicolo)
        assert holder is not None
        holder.display_name = search_index.FOLD_FROM
        session.add(holder)
        session.commit()
    assert search_index.fold(search_index.FOLD_FROM) == search_index.FOLD_TO.lower()
    for search in (search_index.FOLD_FROM, search_index.FOLD_TO, search_index.FOLD_TO.upper()):
        found = _found(engine, _reseller(book), MailboxFilter(search=search))
        assert found == ["nicolo.barbera@pec.it"]


def test_combined_with_the_state_filter_and_the_expiry_window(engine, book):
    actor = _reseller(book)
    active = MailboxFilter(search="consulting", state=MailboxState.ACTIVE)
    assert "fatture@marino.it" not in _found(engine, actor, active)
    suspended = MailboxFilter(search="consulting", state=MailboxState.SUSPENDED)
    assert _found(engine, actor, suspended) == ["fatture@marino.it"]
    cancelled = MailboxFilter(search="serra", state=MailboxState.CANCELLED)
    assert _found(engine, actor, cancelled) == ["studio.legale@pec.it"]
    window = MailboxFilter(search="serra", expiring_within_months=3)
    assert _found(engine, actor, window) == []


def test_a_reseller_never_finds_another_resellers_mailboxes(engine, book):
    a, b = _reseller(book, "a"), _reseller(book, "b")
    for search in ("serra", "Serra Impianti", "serraimpianti", "impianti"):
        for sort in ("expiry", "address"):
            flt = MailboxFilter(search=search, sort=sort)
            assert "ufficio@serraimpianti.it" not in _found(engine, a, flt)
    assert _found(engine, b, MailboxFilter(search="serra")) == ["ufficio@serraimpianti.it"]
    assert set(_found(engine, SYSTEM, MailboxFilter(search="serra"))) == _addresses(
        engine, book.serra
    ) | {"ufficio@serraimpianti.it"}


def test_a_renamed_holder_is_found_by_the_new_name_only(engine, book):
    actor = _reseller(book)
    with Session(engine) as session:
        holder = session.get(Holder, book.serra)
        assert holder is not None
        holder.display_name = "Studio Legale Vitàli"
        session.add(holder)
        session.commit()
    assert set(_found(engine, actor, MailboxFilter(search="vitali"))) == _addresses(
        engine, book.serra
    )
    assert _found(engine, actor, MailboxFilter(search="Alessandro")) == []


def test_a_changed_or_deleted_address_is_found_as_it_is_now(engine, book):
    actor = _reseller(book)
    with Session(engine) as session:
        box = session.exec(select(Mailbox).where(Mailbox.address == "a.serra@pec.it")).one()
        box.address = "direzione.generale@pec.it"
        session.add(box)
        gone = session.exec(select(Mailbox).where(Mailbox.address == "casella007@pec.it")).one()
        session.delete(gone)
        session.commit()
    assert _found(engine, actor, MailboxFilter(search="generale")) == ["direzione.generale@pec.it"]
    assert _found(engine, actor, MailboxFilter(search="a.serra")) == []
    assert _found(engine, actor, MailboxFilter(search="casella007")) == []


@pytest.mark.parametrize("sort", ["expiry", "address"])
def test_shorter_than_three_characters_is_the_start_of_an_address(engine, book, sort):
    actor = _reseller(book)
    # "Se" starts no address of reseller A's ("a.serra@" holds it inside; the holder
    # "Alessandro Serra" starts with neither).
    assert _found(engine, actor, MailboxFilter(search="Se", sort=sort)) == []
    # "AM" starts an address, in any case; "Al", the start of "Alessandro Serra", does not
    # find his mailboxes: names are searched from the third character.
    assert _found(engine, actor, MailboxFilter(search="AM", sort=sort)) == [
        "amministrazione@marinoconsulting.it"
    ]
    assert _found(engine, actor, MailboxFilter(search="Al", sort=sort)) == []
    assert set(_found(engine, actor, MailboxFilter(search="Ale", sort=sort))) == _addresses(
        engine, book.serra
    )
    # One character: every address that starts with it, reseller B's left out.
    assert set(_found(engine, actor, MailboxFilter(search="u", sort=sort))) == set()
    assert _found(engine, _reseller(book, "b"), MailboxFilter(search="u", sort=sort)) == [
        "ufficio@serraimpianti.it"
    ]


@pytest.mark.parametrize("strategy", ["scan", "lookup"])
@pytest.mark.parametrize("sort", ["expiry", "address"])
def test_pages_are_the_same_whichever_way_they_are_queried(
    engine, book, monkeypatch, strategy, sort
):
    monkeypatch.setattr(mailboxes, "choose_strategy", lambda *args, **kw: strategy)
    actor = _reseller(book)
    flt = MailboxFilter(search="casella0", sort=sort)
    total = mailboxes.count(engine, actor, flt, TODAY)  # decides the strategy
    assert total == 60
    forward = _found(engine, actor, flt, limit=7)
    key = (lambda a: a) if sort == "address" else None
    if key is not None:
        assert forward == sorted(forward, key=key)
    jumped = mailboxes.page_at_offset(engine, actor, flt, TODAY, 45, 10, total=total)
    assert [row.address for row in jumped] == forward[45:55]
    # A word found in names and in addresses: both arms merged in table order.
    both = MailboxFilter(search="marino", sort=sort)
    rows = _found(engine, actor, both, limit=3)
    assert set(rows) == _addresses(engine, book.marino)


def test_the_demo_seeder_leaves_the_search_index_complete_and_kept(engine):
    seeding.seed_demo(engine, 200, 3, TODAY)
    with Session(engine) as session:
        holder = session.exec(select(Holder).order_by(Holder.id.desc())).first()
        assert holder is not None
        word = max(holder.display_name.split(), key=len)
        expected = set(session.exec(select(Mailbox.address).where(Mailbox.holder_id == holder.id)))
        box = session.exec(select(Mailbox).order_by(Mailbox.id)).first()
        assert box is not None
        box.address = "zzq.nuova@pec.it"
        session.add(box)
        session.commit()
    assert expected <= set(_found(engine, SYSTEM, MailboxFilter(search=word), limit=100))
    assert _found(engine, SYSTEM, MailboxFilter(search="zq.nuov")) == ["zzq.nuova@pec.it"]


def _through_the_source(engine, actor: Actor, flt: MailboxFilter) -> tuple[list[str], int]:
    """Every row as the table reads it (jumps included), and where the list opens."""
    source = mailboxes.MailboxSource(engine, actor, flt, TODAY, page_size=4)
    total = source.count()
    jumped = source.rows(total // 2, total)  # a jump first, then the pages before it
    rows = source.rows(0, total // 2) + jumped
    return [row.address for row in rows], source.first_live_index()


@pytest.mark.parametrize("sort", ["expiry", "address"])
@pytest.mark.parametrize(
    "flt",
    [
        MailboxFilter(search="marino"),
        MailboxFilter(search="serra"),
        MailboxFilter(search="casella0"),
        MailboxFilter(search="pec.it"),
        MailboxFilter(search="serra", state=MailboxState.ACTIVE),
        MailboxFilter(search="casella", expiring_within_months=1),
        MailboxFilter(search="nicolo barbera"),
    ],
    ids=repr,
)
@pytest.mark.parametrize("who", ["system", "reseller"])
def test_the_table_reads_a_word_search_once_and_shows_what_the_queries_find(
    engine, book, monkeypatch, flt, sort, who
):
    actor = SYSTEM if who == "system" else _reseller(book)
    flt = flt.with_(sort=sort)
    expected = _found(engine, actor, flt, limit=5)
    source = mailboxes.MailboxSource(engine, actor, flt, TODAY)
    source.count()
    assert source.jumps_are_cheap  # the matches are held: a jump is a slice
    rows, opens_at = _through_the_source(engine, actor, flt)
    assert rows == expected
    # Held or not, the list opens at the same row: the first one not Cancellata.
    monkeypatch.setattr(mailboxes, "WORD_MATCHES_HELD", 0)
    assert _through_the_source(engine, actor, flt) == (expected, opens_at)
    if sort == "expiry" and flt.state is None and expected:
        cancelled = _found(engine, actor, flt.with_(state=MailboxState.CANCELLED))
        assert opens_at == min(len(cancelled), len(expected) - 1)


def test_renewed_moved_and_transferred_mailboxes_are_found_as_they_are_now(engine, book):
    """What a search filters and sorts on follows every change to the mailbox: a renewal's
    new expiry (one UPDATE of many rows, as a payment writes it), another holder, another
    reseller, a new mailbox (on PostgreSQL `mailbox_search` is kept by statement triggers)."""
    a, b = _reseller(book, "a"), _reseller(book, "b")
    cancelled = MailboxFilter(search="serra", state=MailboxState.CANCELLED)
    assert _found(engine, a, cancelled) == ["studio.legale@pec.it"]
    with Session(engine) as session:
        session.exec(  # type: ignore[call-overload]
            update(Mailbox)
            .where(Mailbox.holder_id == book.serra)
            .values(expiry=TODAY + timedelta(days=400))
        )
        moved = session.exec(select(Mailbox).where(Mailbox.address == "casella001@pec.it")).one()
        moved.holder_id = book.nicolo
        transferred = session.exec(
            select(Mailbox).where(Mailbox.address == "fatture@marino.it")
        ).one()
        transferred.reseller_id = book.reseller_b
        transferred.holder_id = book.other_serra
        session.add_all([moved, transferred])
        session.add(
            Mailbox(
                address="nuova@serraimpianti.it",
                holder_id=book.other_serra,
                reseller_id=book.reseller_b,
                plan=Plan.STANDARD.value,
                expiry=TODAY + timedelta(days=1),
            )
        )
        session.commit()
    for sort in ("expiry", "address"):
        assert _through_the_source(engine, a, cancelled.with_(sort=sort))[0] == []
        renewed = MailboxFilter(search="serra", state=MailboxState.ACTIVE, sort=sort)
        assert set(_through_the_source(engine, a, renewed)[0]) == _addresses(engine, book.serra)
        nicolo = _through_the_source(engine, a, MailboxFilter(search="nicolo", sort=sort))[0]
        assert set(nicolo) == {"nicolo.barbera@pec.it", "casella001@pec.it"}
        beta = _through_the_source(engine, b, MailboxFilter(search="serra", sort=sort))[0]
        assert set(beta) == {
            "ufficio@serraimpianti.it",
            "fatture@marino.it",
            "nuova@serraimpianti.it",
        }
        marino = _through_the_source(engine, a, MailboxFilter(search="marino", sort=sort))[0]
        assert "fatture@marino.it" not in marino
    by_expiry = _through_the_source(engine, b, MailboxFilter(search="serra"))[0]
    assert by_expiry == ["fatture@marino.it", "nuova@serraimpianti.it", "ufficio@serraimpianti.it"]
