"""Area clienti: the holder's orders and mailboxes, and Rinnova caselle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session
from test_mailboxes_screen import (
    SIZE,
    TODAY,
    build_book,
    make_app,
    renewals,
    settle,
)
from textual.widgets import DataTable

from pec_tui.db.models import Holder, Mailbox, Order
from pec_tui.domain.enums import HolderKind, OrderStatus, OrderType, Role
from pec_tui.i18n import _
from pec_tui.screens.holder import CustomerAreaScreen
from pec_tui.screens.mailbox_detail import MailboxDetailScreen
from pec_tui.screens.mailboxes import MailboxesScreen
from pec_tui.services.actor import Actor
from pec_tui.services.database import open_database
from pec_tui.widgets.mailbox_table import MailboxTable

# These tests read Italian money, dates and words: the product's default language.
pytestmark = pytest.mark.usefixtures("italian")


def _add_order(session: Session, book, holder_id: int, number, kind, status, net_cents, day):
    session.add(
        Order(
            number=number,
            type=kind.value,
            status=status.value,
            holder_id=holder_id,
            reseller_id=book.reseller_id,
            created_at=datetime(day.year, day.month, day.day, 9, tzinfo=UTC),
            confirmed_at=datetime(day.year, day.month, day.day, 9, tzinfo=UTC),
            net_cents=net_cents,
            vat_cents=net_cents * 22 // 100,
            gross_cents=net_cents + net_cents * 22 // 100,
        )
    )


@pytest.fixture
def book_url(sqlite_url):
    engine = open_database(sqlite_url)
    book = build_book(engine, mailboxes=60)
    rossi = book.holders["Rossi Mario"]
    with Session(engine) as session:
        _add_order(
            session,
            book,
            rossi,
            1_000_000_000,
            OrderType.PURCHASE,
            OrderStatus.PAID,
            2500,
            TODAY - timedelta(days=430),
        )
        _add_order(
            session,
            book,
            rossi,
            1_000_000_041,
            OrderType.RENEWAL,
            OrderStatus.AWAITING_PAYMENT,
            990,
            TODAY - timedelta(days=2),
        )
        session.commit()
    engine.dispose()
    return book, sqlite_url


async def _open_area(pilot, holder_id: int) -> CustomerAreaScreen:
    pilot.app.push_screen(CustomerAreaScreen(pilot.app.ctx, holder_id))
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, CustomerAreaScreen)
    return screen


def _cells(table: DataTable) -> list[list[str]]:
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


async def test_area_clienti_lists_orders_newest_first_and_mailboxes(book_url):
    book, url = book_url
    app = make_app(url)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = await _open_area(pilot, book.holders["Rossi Mario"])
        header = str(screen.query_one("#holder-header").render())
        assert "Rossi Mario" in header
        orders = _cells(screen.query_one("#holder-orders", DataTable))
        assert [row[0] for row in orders] == ["1000000041", "1000000000"]
        assert orders[1][2] == (TODAY - timedelta(days=430)).strftime("%d/%m/%Y")
        assert orders[1][3].startswith("25,00\xa0€") and orders[0][3].startswith("9,90\xa0€")
        boxes = _cells(screen.query_one("#holder-mailboxes", DataTable))
        assert [row[0] for row in boxes] == ["rossi.auto@pec.it", "mario.rossi@pec.it"]


async def test_rinnova_caselle_goes_straight_on_with_the_only_renewable_mailbox(book_url):
    book, url = book_url
    app = make_app(url)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        calls = renewals(app)
        screen = await _open_area(pilot, book.holders["Rossi Mario"])
        assert len(screen.renewable()) == 1  # the other one renews by itself
        await pilot.press("r")
        assert calls == [[book.ids["mario.rossi@pec.it"]]]
        assert app.screen is screen  # no selection step


async def test_rinnova_caselle_with_several_mailboxes_asks_which(book_url):
    book, url = book_url
    app = make_app(url)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        calls = renewals(app)
        holder = book.holders["Bianchi Anna"]
        await _open_area(pilot, holder)
        await pilot.press("r")
        await settle(pilot)
        choose = app.screen
        assert isinstance(choose, MailboxesScreen) and choose.filter.holder_id == holder
        grid = choose.query_one(MailboxTable)
        assert grid.row_count == 4  # three renewable, one cancelled
        # The cancelled one comes first (oldest expiry): the list opens just after it.
        assert grid.cursor_index == 1
        await pilot.press("space", "down", "space")
        await settle(pilot)
        assert choose.selected_count == 2
        await pilot.press("r")
        await settle(pilot)
        assert calls == [[book.ids["anna.bianchi0@pec.it"], book.ids["anna.bianchi1@pec.it"]]]
        await pilot.press("a", "escape")
        await settle(pilot)
        assert isinstance(app.screen, CustomerAreaScreen)


async def test_rinnova_caselle_is_disabled_when_nothing_can_be_renewed(book_url):
    book, url = book_url
    app = make_app(url)
    engine = app.engine
    with Session(engine) as session:
        holder = Holder(
            reseller_id=book.reseller_id,
            kind=HolderKind.COMPANY.value,
            display_name="Automatica S.p.A.",
            partita_iva="01234567897",
            reference_email="amministrazione@automatica.example.it",
        )
        session.add(holder)
        session.flush()
        session.add(
            Mailbox(
                address="pec@automatica.example.it",
                holder_id=holder.id,
                reseller_id=book.reseller_id,
                plan="PRO",
                expiry=TODAY + timedelta(days=30),
                auto_renew=True,
            )
        )
        session.commit()
        holder_id = holder.id
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        calls = renewals(app)
        screen = await _open_area(pilot, holder_id)
        assert screen.check_action("renew", ()) is None
        assert "Partita IVA 01234567897" in str(screen.query_one("#holder-header").render())
        await pilot.press("r")
        assert calls == []
        # Gestisci on the mailbox row opens its detail.
        await pilot.press("g")
        await settle(pilot)
        assert isinstance(app.screen, MailboxDetailScreen)
        assert app.screen.check_action("renew", ()) is None


async def test_another_resellers_customer_is_not_shown(book_url):
    book, url = book_url
    app = make_app(url, Actor("op", Role.RESELLER, reseller_id=book.reseller_id))
    other = book.holders["Esposito Giulia"]  # the other reseller's customer
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = await _open_area(pilot, other)
        assert screen.holder is None
        refusal = _("This customer cannot be shown: {error}").split("{error}")[0]
        assert str(screen.query_one("#holder-header").render()).startswith(refusal)
