"""Gestione caselle PEC as an operator uses it: keys, filters, selection, Rinnova.

`build_book` is shared with the Area clienti and snapshot tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Input

from pec_tui.app import PecApp
from pec_tui.config import Settings
from pec_tui.db.models import Holder, Mailbox, OpenRenewal, Order, Reseller
from pec_tui.dialogs.message import MessageModal
from pec_tui.dialogs.reseller_picker import ResellerPicker
from pec_tui.domain.enums import HolderKind, MailboxState, Role
from pec_tui.domain.lifecycle import add_months, renewability
from pec_tui.screens.holder import CustomerAreaScreen
from pec_tui.screens.mailbox_detail import MailboxDetailScreen
from pec_tui.screens.mailboxes import MailboxesScreen
from pec_tui.services import mailboxes
from pec_tui.services.actor import SYSTEM, Actor
from pec_tui.services.database import open_database
from pec_tui.services.mailboxes import MailboxFilter, MailboxSource, Selection
from pec_tui.widgets.mailbox_table import MailboxTable

TODAY = date(2026, 11, 26)
SIZE = (120, 40)
FIRST_NAMES = ("Mario", "Anna", "Luca", "Giulia", "Paolo", "Sara", "Marco", "Elena")
LAST_NAMES = ("Rossi", "Bianchi", "Verdi", "Russo", "Ferrari", "Esposito", "Romano")


@dataclass
class Book:
    reseller_id: int
    other_reseller_id: int
    ids: dict[str, int] = field(default_factory=dict)  # mailbox id by address
    holders: dict[str, int] = field(default_factory=dict)  # holder id by name
    boxes: list[Mailbox] = field(default_factory=list)


def build_book(engine: Engine, mailboxes: int = 300) -> Book:
    """A deterministic book: `mailboxes` spread over 400 days around TODAY, and a few named ones.

    Every 4th mailbox renews automatically; the other reseller owns one in ten.
    """
    with Session(engine) as session:
        mine, other = Reseller(name="Rivendita Uno S.r.l."), Reseller(name="Altra Rivendita")
        session.add_all([mine, other])
        session.flush()
        book = Book(mine.id, other.id)
        holders: list[Holder] = []
        for n in range(20):
            first, last = FIRST_NAMES[n % len(FIRST_NAMES)], LAST_NAMES[n % len(LAST_NAMES)]
            holder = Holder(
                reseller_id=other.id if n == 19 else mine.id,
                kind=HolderKind.PRIVATE.value,
                first_name=first,
                last_name=last,
                display_name=f"{last} {first}",
                codice_fiscale=None,
                reference_email=f"{first.lower()}.{last.lower()}{n}@example.it",
            )
            holders.append(holder)
        session.add_all(holders)
        session.flush()
        book.holders = {h.display_name: h.id for h in holders}

        def add(address: str, holder: Holder, expiry: date, auto: bool, **extra) -> None:
            box = Mailbox(
                address=address,
                holder_id=holder.id,
                reseller_id=holder.reseller_id,
                plan=extra.pop("plan", ("STANDARD", "PRO", "PREMIUM")[len(book.boxes) % 3]),
                expiry=expiry,
                auto_renew=auto,
                mailbox_used_mb=(len(book.boxes) * 53) % 1000,
                **extra,
            )
            book.boxes.append(box)

        # Holder 0 ("Rossi Mario"): one renewable mailbox, one renewing by itself.
        add("mario.rossi@pec.it", holders[0], TODAY + timedelta(days=20), False)
        add("rossi.auto@pec.it", holders[0], TODAY + timedelta(days=10), True)
        # Holder 1 ("Bianchi Anna"): three renewable mailboxes and a cancelled one.
        for k, days in enumerate((5, 60, 200)):
            add(f"anna.bianchi{k}@pec.it", holders[1], TODAY + timedelta(days=days), False)
        add("vecchia.bianchi@pec.it", holders[1], TODAY - timedelta(days=120), False)
        for n in range(mailboxes - len(book.boxes)):
            holder = holders[2 + n % 18]
            expiry = TODAY + timedelta(days=(n * 17) % 400 - 130)
            name = holder.display_name.split()[1].lower()
            add(f"{name}.{n:04d}@pec.example.it", holder, expiry, n % 4 == 0)
        session.add_all(book.boxes)
        session.commit()
        book.ids = {b.address: b.id for b in book.boxes}
        for box in book.boxes:
            session.refresh(box)
        session.expunge_all()
    return book


def make_app(url: str, actor: Actor | None = None) -> PecApp:
    engine = open_database(url)
    return PecApp(
        Settings(database_url=url, terminal="test-terminal"),
        engine,
        actor=actor,
        today=lambda: TODAY,
    )


async def settle(pilot: Pilot) -> None:
    """Let the workers finish and the screen repaint."""
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


async def wait_for_modal(pilot: Pilot, kind: type) -> None:
    """Wait for a modal (`settle` would wait for ever: its worker waits for the modal)."""
    for _ in range(200):
        if isinstance(pilot.app.screen, kind):
            await pilot.pause()
            return
        await pilot.pause(0.02)
    raise AssertionError(f"{kind.__name__} did not open")


def renewals(app: PecApp) -> list[list[int]]:
    """Make `start_renewal` and `renew_selection` record the mailboxes they were asked to
    renew instead of opening the flow (a selection's as the renewal reads them: its ids)."""
    calls: list[list[int]] = []

    def renew_selection(selection: Selection) -> None:
        calls.append(selection.resolve_ids(app.engine, app.actor, TODAY))

    app.start_renewal = calls.append  # type: ignore[method-assign]
    app.renew_selection = renew_selection  # type: ignore[method-assign]
    return calls


def mailbox_screen(app: PecApp) -> MailboxesScreen:
    assert isinstance(app.screen, MailboxesScreen), app.screen
    return app.screen


def table(app: PecApp) -> MailboxTable:
    return app.screen.query_one(MailboxTable)


def status_text(app: PecApp) -> str:
    return str(app.screen.query_one("#mailboxes-status").render())


def visible(book: Book, *, reseller: int | None = None, keep=lambda box: True) -> list[Mailbox]:
    return [
        box for box in book.boxes if (reseller is None or box.reseller_id == reseller) and keep(box)
    ]


@pytest.fixture
def book_url(sqlite_url) -> tuple[Book, str]:
    engine = open_database(sqlite_url)
    book = build_book(engine)
    engine.dispose()
    return book, sqlite_url


async def test_opens_on_the_table_in_expiry_order(book_url):
    book, url = book_url
    app = make_app(url)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = mailbox_screen(app)
        grid = table(app)
        assert grid.has_focus
        assert grid.row_count == len(book.boxes) == screen.mailbox_count
        shown = grid.visible_rows()
        expected = sorted(book.boxes, key=lambda b: (b.expiry, b.id))
        # It opens at the first mailbox that is not Cancellata; those come first in expiry order.
        first = sum(_state(b) is MailboxState.CANCELLED for b in book.boxes)
        assert 0 < first < len(expected)
        assert grid.cursor_index == first == round(grid.scroll_y)
        assert _state(expected[first - 1]) is MailboxState.CANCELLED
        assert _state(grid.cursor_row) is not MailboxState.CANCELLED
        assert [r.id for r in shown] == [b.id for b in expected[first : first + len(shown)]]
        assert len(shown) == grid.page_height == grid.size.height - MailboxTable.HEADER_LINES
        # Home shows them.
        await pilot.press("home")
        assert grid.cursor_index == 0 and grid.cursor_row.id == expected[0].id
        assert "300" in status_text(app)
        # The footer shows the keys.
        keys = {b.binding.id for b in app.screen.active_bindings.values()}
        assert {"mailboxes.search", "mailboxes.renew", "mailboxes.expiring"} <= keys


async def test_cursor_keys_page_and_jump(book_url):
    book, url = book_url
    app = make_app(url)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        grid = table(app)
        expected = sorted(book.boxes, key=lambda b: (b.expiry, b.id))
        await pilot.press("home", "down", "down")
        assert grid.cursor_index == 2 and grid.cursor_row.id == expected[2].id
        await pilot.press("pagedown")
        page = grid.page_height
        assert grid.cursor_index == 2 + page
        await pilot.press("end")
        await settle(pilot)
        assert grid.cursor_row.id == expected[-1].id
        assert grid.visible_rows()[-1].id == expected[-1].id
        await pilot.press("pageup")
        assert grid.cursor_index == len(expected) - 1 - page
        await pilot.press("home")
        assert grid.cursor_index == 0 and grid.scroll_y == 0


async def test_three_month_rule_selects_the_right_count_across_pages(book_url):
    book, url = book_url
    app = make_app(url, Actor("op", Role.RESELLER, reseller_id=book.reseller_id))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        screen, grid = mailbox_screen(app), table(app)
        last_day = add_months(TODAY, 3)
        mine = visible(book, reseller=book.reseller_id)
        in_window = [b for b in mine if TODAY <= b.expiry <= last_day]
        rule = [b for b in in_window if not b.auto_renew]
        assert len(in_window) > grid.size.height  # more than one screenful
        assert screen.filter.expiring_within_months == 3
        assert grid.row_count == len(in_window)
        assert screen.selected_count == len(rule)
        assert f"{len(rule)} " in status_text(app)
        # Every page shows the rule's flags: auto-renewing rows in the window stay unticked.
        seen = 0
        while seen < grid.row_count:
            for row in grid.visible_rows():
                assert grid.selection.contains(row) == (not row.auto_renew)
            seen = round(grid.scroll_y) + grid.page_height
            await pilot.press("pagedown")
            await settle(pilot)
        ids = grid.selection.resolve_ids(app.engine, app.actor, TODAY)
        assert sorted(ids) == sorted(b.id for b in rule)

        # Untick one by hand: the count follows; Rinnova takes exactly the selection.
        calls = renewals(app)
        await pilot.press("home")
        await settle(pilot)
        first = grid.cursor_row
        if first.auto_renew:  # move to a selected row
            while grid.cursor_row.auto_renew:
                await pilot.press("down")
            first = grid.cursor_row
        await pilot.press("space")
        await settle(pilot)
        assert screen.selected_count == len(rule) - 1
        await pilot.press("r")
        await settle(pilot)
        assert len(calls) == 1
        assert sorted(calls[0]) == sorted(b.id for b in rule if b.id != first.id)
        # t again shows every mailbox, and the selection stays.
        await pilot.press("t")
        await settle(pilot)
        assert grid.row_count == len(mine)
        assert screen.selected_count == len(rule) - 1
        await pilot.press("a")
        await settle(pilot)
        assert screen.selected_count == 0 and grid.selection.is_empty


async def test_renew_is_disabled_with_the_reason_on_an_auto_renew_row(book_url):
    book, url = book_url
    app = make_app(url)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        calls = renewals(app)
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        await pilot.press(*"rossi.auto", "enter")
        await settle(pilot)
        screen, grid = mailbox_screen(app), table(app)
        assert grid.has_focus and grid.row_count == 1
        assert grid.cursor_row.address == "rossi.auto@pec.it"
        assert screen.check_action("renew", ()) is None  # shown disabled in the footer
        assert renewability(TODAY, TODAY, True).reason in status_text(app)
        await pilot.press("r")
        await pilot.press("space")  # cannot be selected either
        await settle(pilot)
        assert calls == [] and grid.selection.is_empty

        # A renewable row: r starts the renewal of that mailbox.
        search = app.screen.query_one(Input)
        search.value = "mario.rossi@"
        await pilot.pause(0.4)
        await settle(pilot)
        assert grid.cursor_row.address == "mario.rossi@pec.it"
        assert screen.check_action("renew", ()) is True
        await pilot.press("r")
        assert calls == [[book.ids["mario.rossi@pec.it"]]]


async def test_search_narrows_the_rows(book_url):
    book, url = book_url
    app = make_app(url)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        grid = table(app)
        await pilot.press("ctrl+f", *"Bianchi A", "enter")
        await settle(pilot)
        holder = book.holders["Bianchi Anna"]
        expected = [b for b in book.boxes if b.holder_id == holder]
        assert grid.row_count == len(expected) == 4
        assert {r.id for r in grid.visible_rows()} == {b.id for b in expected}
        # By address prefix, typed in lower case or not.
        await pilot.press("slash", "ctrl+a", "ctrl+k", *"ANNA.BIANCHI", "enter")
        await settle(pilot)
        assert grid.row_count == 3
        # Nothing found: an empty table says so.
        await pilot.press("slash", "ctrl+a", "ctrl+k", *"zzz", "enter")
        await settle(pilot)
        assert grid.row_count == 0 and grid.cursor_row is None
        await pilot.press("slash", "ctrl+a", "ctrl+k", "enter")
        await settle(pilot)
        assert grid.row_count == len(book.boxes)


async def test_search_finds_a_word_inside_a_name_or_an_address(book_url):
    book, url = book_url
    engine = open_database(url)
    with Session(engine) as session:
        added = {}
        for name, address in (
            ("Marino Consulting S.r.l.", "amministrazione@pec.marino.it"),
            ("Alessandro Serra", "studio.legale@pec.it"),
            ("Nicolò Bàrbera", "info@cantinenicolo.it"),
        ):
            holder = Holder(
                reseller_id=book.reseller_id,
                kind=HolderKind.COMPANY.value,
                display_name=name,
                reference_email="info@example.it",
            )
            session.add(holder)
            session.flush()
            box = Mailbox(
                address=address,
                holder_id=holder.id,
                reseller_id=book.reseller_id,
                plan="STANDARD",
                expiry=TODAY + timedelta(days=30),
            )
            session.add(box)
            session.flush()
            added[name] = box.id
        session.commit()
    engine.dispose()
    app = make_app(url)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        grid = table(app)
        for typed, name in (
            ("Consulting", "Marino Consulting S.r.l."),
            ("serra", "Alessandro Serra"),
            ("NICOLO BARBERA", "Nicolò Bàrbera"),
            ("legale", "Alessandro Serra"),  # inside the address
        ):
            await pilot.press("slash", "ctrl+a", "ctrl+k", *typed, "enter")
            await settle(pilot)
            assert grid.row_count == 1, typed
            assert [r.id for r in grid.visible_rows()] == [added[name]]
            assert grid.cursor_row.holder_name == name


async def test_state_filter_and_sort(book_url):
    book, url = book_url
    app = make_app(url)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen, grid = mailbox_screen(app), table(app)
        for state in (MailboxState.ACTIVE, MailboxState.SUSPENDED, MailboxState.CANCELLED, None):
            await pilot.press("f")
            await settle(pilot)
            assert screen.filter.state is state
            expected = [b for b in book.boxes if state is None or _state(b) is state]
            assert grid.row_count == len(expected)
        await pilot.press("s")
        await settle(pilot)
        assert screen.filter.sort == "address"
        by_address = sorted(b.address for b in book.boxes)
        assert [r.address for r in grid.visible_rows()] == by_address[: len(grid.visible_rows())]


def _state(box: Mailbox) -> MailboxState:
    from pec_tui.domain.lifecycle import state_of

    return state_of(box.expiry, TODAY)


async def test_space_refuses_a_cancelled_mailbox_with_the_reason(book_url):
    book, url = book_url
    app = make_app(url)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"vecchia", "enter")
        await settle(pilot)
        await pilot.press("space")
        await settle(pilot)
        grid = table(app)
        assert grid.selection.is_empty
        assert "vecchia.bianchi@pec.it" in status_text(app)


async def test_click_moves_the_cursor_and_ticks_the_flag(book_url):
    book, url = book_url
    app = make_app(url)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        grid = table(app)
        top = grid.cursor_index  # the list opens scrolled to its first live mailbox
        below = MailboxTable.HEADER_LINES
        await pilot.click(MailboxTable, offset=(10, below + 2))  # third row, address column
        assert grid.cursor_index == top + 2
        row = grid.cursor_row
        await pilot.click(MailboxTable, offset=(1, below + 2))  # same row, flag column
        await settle(pilot)
        assert grid.selection.contains(row) == row.renewable(TODAY)


async def test_manage_and_customer_area_open_their_screens(book_url):
    book, url = book_url
    app = make_app(url)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"mario.rossi@", "enter")
        await settle(pilot)
        await pilot.press("g")
        await settle(pilot)
        assert isinstance(app.screen, MailboxDetailScreen)
        text = " ".join(str(label.render()) for label in app.screen.query("Label"))
        assert "mario.rossi@pec.it" in text and "Rossi Mario" in text
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, CustomerAreaScreen)
        assert app.screen.holder.display_name == "Rossi Mario"


async def test_every_key_is_in_the_command_palette(book_url):
    from pec_tui.widgets.keys import ScreenKeysProvider

    book, url = book_url
    app = make_app(url)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert ScreenKeysProvider in type(app.screen).COMMANDS
        provider = ScreenKeysProvider(app.screen)
        names = {name for name, _help, _callback in provider._commands()}
        for binding_id in ("mailboxes.search", "mailboxes.state", "mailboxes.sort"):
            binding = next(
                b.binding for b in app.screen.active_bindings.values() if b.binding.id == binding_id
            )
            assert binding.description in names


async def test_a_reseller_operator_sees_only_its_book(book_url):
    book, url = book_url
    app = make_app(url, Actor("op", Role.RESELLER, reseller_id=book.other_reseller_id))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        grid = table(app)
        theirs = visible(book, reseller=book.other_reseller_id)
        assert grid.row_count == len(theirs) > 0
        assert {r.reseller_id for r in grid.visible_rows()} == {book.other_reseller_id}


class _TableApp(App[None]):
    """The table alone on a source with tiny pages, to see how it fetches."""

    def __init__(self, source: MailboxSource) -> None:
        super().__init__()
        self.source = source

    def compose(self):
        yield MailboxTable(TODAY)

    def on_mount(self) -> None:
        self.query_one(MailboxTable).set_source(self.source)
        self.query_one(MailboxTable).focus()


async def test_a_slow_jump_paints_placeholders_then_fills_them_in(book_url, monkeypatch):
    book, url = book_url
    engine = open_database(url)
    # A search whose matches are too many to hold: jumps read the rows they skip.
    monkeypatch.setattr(mailboxes, "WORD_MATCHES_HELD", 10)
    flt = MailboxFilter(search="russo")
    source = MailboxSource(engine, SYSTEM, flt, TODAY, page_size=5, max_pages=4)
    expected = sorted(
        (
            b
            for b in book.boxes
            if b.address.startswith("russo")
            or b.holder_id in {h for name, h in book.holders.items() if name.startswith("Russo")}
        ),
        key=lambda b: (b.expiry, b.id),
    )
    assert source.count() == len(expected) > 20
    assert not source.jumps_are_cheap
    app = _TableApp(source)
    async with app.run_test(size=(120, 12)) as pilot:
        await settle(pilot)
        grid = app.query_one(MailboxTable)
        rows = grid.page_height
        assert [r.id for r in grid.visible_rows()] == [b.id for b in expected[:rows]]
        await pilot.press("end")
        # The end is not next to anything cached: it comes from a worker, then repaints.
        await settle(pilot)
        assert grid.cursor_row.id == expected[-1].id
        assert [r.id for r in grid.visible_rows()] == [b.id for b in expected[-rows:]]
        assert source.offset_fetches >= 2
        # Walking back up from there goes page by page through the keyset.
        before = source.offset_fetches
        for _ in range(3):
            await pilot.press("pageup")
        await settle(pilot)
        assert source.offset_fetches == before
        first = round(grid.scroll_y)
        assert [r.id for r in grid.visible_rows()] == [b.id for b in expected[first : first + rows]]
    engine.dispose()


def put_on_open_order(url: str, mailbox_ids: list[int], number: int) -> None:
    """An order awaiting payment holding these mailboxes, as another terminal would leave it."""
    engine = open_database(url)
    with Session(engine) as session:
        holder_id = session.get(Mailbox, mailbox_ids[0]).holder_id
        order = Order(type="rinnovo", status="in_attesa", holder_id=holder_id, number=number)
        session.add(order)
        session.flush()
        session.add_all(OpenRenewal(mailbox_id=i, order_id=order.id) for i in mailbox_ids)
        session.commit()
    engine.dispose()


async def test_the_three_month_rule_leaves_out_mailboxes_on_an_open_order_and_says_so(book_url):
    book, url = book_url
    last_day = add_months(TODAY, 3)
    mine = visible(book, reseller=book.reseller_id)
    rule = [b for b in mine if TODAY <= b.expiry <= last_day and not b.auto_renew]
    auto = [b for b in mine if TODAY <= b.expiry <= last_day and b.auto_renew]
    ordered = rule[:3]
    put_on_open_order(url, [b.id for b in ordered], 1_000_000_777)
    app = make_app(url, Actor("op", Role.RESELLER, reseller_id=book.reseller_id))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        calls = renewals(app)
        await pilot.press("t")
        await settle(pilot)
        screen, grid = mailbox_screen(app), table(app)
        assert screen.selected_count == len(rule) - 3
        status = status_text(app)
        assert f"{len(auto) + 3} left out: 3 on an open order, {len(auto)} renewing" in status
        # The rows say so: not selectable, "On order", and the reason under the cursor.
        await pilot.press("home")
        await settle(pilot)
        while grid.cursor_row.id != ordered[0].id:
            await pilot.press("down")
        await settle(pilot)
        line = grid.render_line(grid.cursor_index - round(grid.scroll_y) + 2).text
        assert line.lstrip().startswith("[-]") and "On order" in line
        assert "open order no. 1000000777" in status_text(app)
        await pilot.press("space")
        await settle(pilot)
        assert screen.selected_count == len(rule) - 3  # refused, with the reason
        assert "cannot be selected" in status_text(app)
        await pilot.press("r")
        await settle(pilot)
        assert sorted(calls[0]) == sorted(b.id for b in rule[3:])


async def test_a_selection_wholly_ordered_is_dropped_back_at_the_list(book_url):
    """Back from a renewal, a selection that still holds mailboxes to renew stays; one that
    went wholly into orders is dropped, not shown as "0 selected" and every mailbox left out."""
    book, url = book_url
    last_day = add_months(TODAY, 3)
    mine = visible(book, reseller=book.reseller_id)
    rule = [b for b in mine if TODAY <= b.expiry <= last_day and not b.auto_renew]
    assert len(rule) > 3
    app = make_app(url, Actor("op", Role.RESELLER, reseller_id=book.reseller_id))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = mailbox_screen(app)
        await pilot.press("t")
        await settle(pilot)
        assert screen.selected_count == len(rule)

        async def away_and_back() -> None:
            await pilot.press("g")  # the detail screen, then back: as after a renewal
            await settle(pilot)
            assert isinstance(app.screen, MailboxDetailScreen)
            await pilot.press("escape")
            await settle(pilot)

        put_on_open_order(url, [b.id for b in rule[:3]], 1_000_000_781)
        await away_and_back()
        assert screen.selected_count == len(rule) - 3 and not screen.selection.is_empty
        assert "3 on an open order" in status_text(app)
        put_on_open_order(url, [b.id for b in rule[3:]], 1_000_000_782)
        await away_and_back()
        assert screen.selection.is_empty and table(app).selection.is_empty
        assert screen.selected_count == 0
        assert "left out" not in status_text(app) and "0 selected" in status_text(app)
        # `t` again says why nothing can be selected.
        await pilot.press("t", "t")
        await settle(pilot)
        assert screen.selected_count == 0
        assert f"{len(rule)} on an open order" in status_text(app)


async def test_renew_names_hand_picked_mailboxes_ordered_meanwhile_and_goes_on(book_url):
    book, url = book_url
    mine = visible(book, reseller=book.reseller_id)
    picked = [b for b in mine if b.expiry > TODAY and not b.auto_renew][:3]
    app = make_app(url, Actor("op", Role.RESELLER, reseller_id=book.reseller_id))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        calls = renewals(app)
        grid = table(app)
        for box in picked:
            await pilot.press("home")
            await settle(pilot)
            while grid.cursor_row.id != box.id:
                await pilot.press("down")
            await pilot.press("space")
            await settle(pilot)
        assert mailbox_screen(app).selected_count == 3
        # Another terminal orders the second one before Rinnova.
        put_on_open_order(url, [picked[1].id], 1_000_000_778)
        await pilot.press("r")
        await wait_for_modal(pilot, MessageModal)
        message = str(app.screen.query_one("#message").render())
        assert picked[1].address in message and "open order no. 1000000778" in message
        await pilot.press("enter")
        await settle(pilot)
        assert sorted(calls[0]) == sorted([picked[0].id, picked[2].id])


async def test_back_from_a_renewal_the_cursor_stays_where_it_was(book_url):
    book, url = book_url
    app = make_app(url)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        grid = table(app)
        for _ in range(45):
            await pilot.press("down")
        await settle(pilot)
        here = grid.cursor_row
        scrolled = grid.scroll_y
        assert scrolled > 0
        await pilot.press("g")  # Gestisci opens the detail; coming back reloads the list
        await settle(pilot)
        assert isinstance(app.screen, MailboxDetailScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert grid.cursor_row.id == here.id and grid.scroll_y == scrolled


async def test_down_from_the_search_box_goes_on_to_the_rows(book_url):
    book, url = book_url
    app = make_app(url)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        grid = table(app)
        await pilot.press("slash", *"anna.bianchi")
        assert app.focused is mailbox_screen(app).query_one("#mailboxes-search")
        await pilot.press("down")
        await settle(pilot)
        assert grid.has_focus and grid.row_count == 3
        await pilot.press("down")
        assert grid.cursor_index == 1


async def test_an_administrator_narrows_the_list_to_one_reseller(book_url):
    book, url = book_url
    theirs = visible(book, reseller=book.other_reseller_id)
    app = make_app(url)  # the system administrator
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen, grid = mailbox_screen(app), table(app)
        await pilot.press("v")
        await wait_for_modal(pilot, ResellerPicker)
        # "All resellers", then by name: Altra Rivendita, Rivendita Uno S.r.l.
        await pilot.press("down", "enter")
        await settle(pilot)
        assert screen.filter.reseller_id == book.other_reseller_id
        assert grid.row_count == len(theirs) > 0
        assert "Reseller: Altra Rivendita" in str(screen.query_one("#mailboxes-filters").render())
        # The three-month rule keeps to that reseller.
        await pilot.press("t")
        await settle(pilot)
        last_day = add_months(TODAY, 3)
        rule = [b for b in theirs if TODAY <= b.expiry <= last_day and not b.auto_renew]
        assert screen.selected_count == len(rule)
        # Back to every reseller.
        await pilot.press("v")
        await wait_for_modal(pilot, ResellerPicker)
        await pilot.press("home", "enter")
        await settle(pilot)
        assert screen.filter.reseller_id is None


async def test_a_reseller_operator_has_no_reseller_filter(book_url):
    book, url = book_url
    app = make_app(url, Actor("op", Role.RESELLER, reseller_id=book.reseller_id))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        keys = {b.binding.id for b in app.screen.active_bindings.values() if b.enabled}
        assert "mailboxes.reseller" not in keys
        await pilot.press("v")
        await settle(pilot)
        assert isinstance(app.screen, MailboxesScreen)


@pytest.mark.parametrize("size", [(80, 24), (120, 32)])
async def test_the_footer_keeps_to_one_line_with_renew_keys_and_quit(book_url, size):
    from textual.widgets._footer import FooterKey

    book, url = book_url
    app = make_app(url)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.pause(0.3)
        keys = list(mailbox_screen(app).query(FooterKey))
        shown = {k.action for k in keys}
        assert {"renew", "expiring", "help", "quit"} <= shown, shown
        for key in keys:
            assert key.region.right <= size[0], key.description
        # Overlapping keys would mean a cut one: each starts where the one before ended.
        plain = sorted(
            (k for k in keys if not k.has_class("-command-palette")), key=lambda k: k.region.x
        )
        for before, after in zip(plain, plain[1:], strict=False):
            assert after.region.x >= before.region.right


async def test_at_80_columns_the_reason_is_not_cut(book_url):
    """Why the row under the cursor cannot be renewed is longer than 80 columns with the
    counts before it: below 100 columns the status has two lines, whatever the row."""
    _book, url = book_url
    app = make_app(url)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        status = app.screen.query_one("#mailboxes-status")
        await pilot.press("slash", *"rossi.auto", "enter")
        await settle(pilot)
        reason = renewability(TODAY, TODAY, True).reason
        assert reason is not None and reason in status_text(app)
        assert status.size.height == 2
        lines = [strip.text for strip in status.render_lines(status.region.reset_offset)]
        assert reason.split()[-1] in lines[-1]  # the end of the reason is on screen
        await pilot.resize_terminal(120, 32)
        await settle(pilot)
        assert status.size.height == 1


async def test_renew_opens_the_plan_picker_on_the_selection_read_by_its_rule(book_url):
    """The real flow (not recorded): `t`, one mailbox unticked, `r` opens the plan picker on
    exactly the selected mailboxes, by address, and the draft's audit row names the rule."""
    from pec_tui.db.models import AuditEvent
    from pec_tui.screens.plan import PlanScreen

    book, url = book_url
    mine = visible(book, reseller=book.reseller_id)
    rule = [b for b in mine if TODAY <= b.expiry <= add_months(TODAY, 3) and not b.auto_renew]
    app = make_app(url, Actor("op", Role.RESELLER, reseller_id=book.reseller_id))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        grid = table(app)
        await pilot.press("home")
        await settle(pilot)
        while grid.cursor_row.auto_renew:
            await pilot.press("down")
        unticked = grid.cursor_row
        await pilot.press("space")
        await settle(pilot)
        await pilot.press("r")
        await wait_for_modal(pilot, PlanScreen)
        draft = app.screen.draft
        expected = sorted(b.address for b in rule if b.id != unticked.id)
        assert [i.address for i in draft.items] == expected
        with Session(app.engine) as session:
            started = session.exec(
                select(AuditEvent).where(AuditEvent.entity_id == str(draft.order_id))
            ).one()
        assert started.action == "draft.start" and started.details["count"] == len(expected)
        assert started.details["selection"]["removed"] == [unticked.id]
