"""What the served UI showed badly in a browser, checked at the browser's terminal sizes: the
button of Dati Intestatario under the footer, the drafts table cut, the kiosk's empty field in
error, consent boxes alike, addresses folded mid-word (the browser test sees them drawn)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from test_flow_support import TODAY, add_holder, add_mailbox, make_app, wait_for_screen
from textual.app import App, ComposeResult
from textual.widgets import Button, DataTable, Footer, Input, Label

from pec_tui.config import Settings
from pec_tui.domain.draft import DraftSummary, Step
from pec_tui.kiosk import KioskApp
from pec_tui.screens.drafts import DraftsScreen
from pec_tui.screens.holder_form import HolderFormScreen
from pec_tui.screens.kiosk_welcome import KioskWelcomeScreen
from pec_tui.screens.kit import KitScreen
from pec_tui.screens.plan import SIDE_LIST_COLUMNS, PlanScreen, fit_address
from pec_tui.services.database import open_database
from pec_tui.widgets.choice import CHECKED, UNCHECKED, SpaceCheckbox
from pec_tui.widgets.tables import Column, clip, fit_widths

# The terminal a browser window gives `pec-tui serve`: 1280×800 and 1024×600.
BROWSER_SIZES = [(142, 44), (113, 33)]
LONG = "amministrazione.condominio.via.roma@pec.example.it"


def test_an_address_is_shortened_in_the_middle_never_folded():
    assert fit_address("mario.rossi@pec.it") == "mario.rossi@pec.it"
    short = fit_address(LONG)
    assert len(short) == SIDE_LIST_COLUMNS and short.endswith("…@pec.example.it")
    assert short.startswith("amminist")
    # A domain too long to keep whole: the end goes instead.
    assert fit_address("ab@" + "x" * 40 + ".it", 20) == "ab@" + "x" * 16 + "…"


def test_draft_columns_share_the_room_and_keep_the_date_whole():
    headings = ("Draft", "Billed to", "Mailboxes", "Step", "Last saved")
    columns = [Column(h, flexible=h in ("Billed to", "Mailboxes")) for h in headings]
    row = (
        "12",
        "Condominio Via Roma 1 Milano",
        f"5: {LONG}, {LONG}, …",
        "Holder",
        "01/12/2026 23:45",
    )
    widths = fit_widths(columns, [row], 90)
    assert sum(widths) <= 90
    assert widths[0] == 5 and widths[3] == 6 and widths[4] == len("01/12/2026 23:45")
    assert clip(row[2], widths[2]).endswith("…") and len(clip(row[2], widths[2])) == widths[2]
    # With room enough, nothing is cut.
    assert fit_widths(columns, [row], 200) == [
        max(len(h), len(c)) for h, c in zip(headings, row, strict=True)
    ]


@pytest.mark.parametrize("size", BROWSER_SIZES)
async def test_the_drafts_table_fits_the_window(sqlite_url, size):
    app = make_app(sqlite_url)
    drafts = [
        DraftSummary(
            order_id=7,
            billed_to="Condominio Via Roma 1 Milano",
            addresses=(LONG, "studio.associato.rossi.bianchi@pec.example.it"),
            step=Step.HOLDER,
            updated_at=datetime(2026, 12, 1, 22, 45, tzinfo=UTC),
            mailbox_count=5,
        )
    ]
    async with app.run_test(size=size) as pilot:
        app.push_screen(DraftsScreen(app.ctx, drafts))
        screen = await wait_for_screen(pilot, DraftsScreen)
        await pilot.pause()
        table = screen.query_one("#drafts-table", DataTable)
        used = sum(c.get_render_width(table) for c in table.columns.values())
        assert used <= table.scrollable_content_region.width
        assert table.max_scroll_x == 0
        last = str(table.get_row_at(0)[-1])
        assert len(last) == len("01/12/2026 23:45") and "…" not in last
        # Cut to the room there is, the cell still says how many mailboxes the draft holds.
        assert str(table.get_row_at(0)[2]).startswith("5: amministrazione")


@pytest.mark.parametrize("size", BROWSER_SIZES)
async def test_the_continue_button_of_dati_intestatario_is_above_the_footer(sqlite_url, size):
    engine = open_database(sqlite_url)
    mailbox = add_mailbox(engine, add_holder(engine), "mario.rossi@pec.it")
    app = make_app(sqlite_url, engine)
    async with app.run_test(size=size) as pilot:
        app.start_renewal([mailbox])
        await wait_for_screen(pilot, PlanScreen)
        await pilot.press("enter")
        await wait_for_screen(pilot, KitScreen)
        await pilot.press("enter")
        form = await wait_for_screen(pilot, HolderFormScreen)
        await pilot.pause()
        button = form.query_one("#proceed", Button)
        footer = form.query_one(Footer)
        assert button.region.height == 3
        assert button.region.bottom <= footer.region.y


class _Boxes(App[None]):
    def compose(self) -> ComposeResult:
        yield SpaceCheckbox("ticked", value=True, id="ticked")
        yield SpaceCheckbox("empty", id="empty")


async def test_a_ticked_box_and_an_empty_one_differ_by_their_glyph():
    app = _Boxes()
    async with app.run_test() as pilot:
        ticked = app.query_one("#ticked", SpaceCheckbox)
        empty = app.query_one("#empty", SpaceCheckbox)
        assert f"▐{CHECKED}▌" in ticked.render().plain
        assert f"▐{UNCHECKED}▌" in empty.render().plain
        empty.focus()
        await pilot.press("space")
        assert f"▐{CHECKED}▌" in empty.render().plain


async def test_the_kiosk_shows_no_error_on_an_empty_field_it_leaves(sqlite_url):
    engine = open_database(sqlite_url)
    app = KioskApp(Settings(terminal="hall"), engine, today=lambda: TODAY)
    async with app.run_test(size=BROWSER_SIZES[1]) as pilot:
        welcome = await wait_for_screen(pilot, KioskWelcomeScreen)
        address = welcome.query_one("#address", Input)
        assert address.has_focus
        await pilot.press("tab")  # left empty (as when the browser page loses the focus)
        await pilot.pause()
        assert not address.has_class("-invalid")
        assert str(welcome.query_one("#address-error", Label).render()) == ""
        address.focus()
        await pilot.press(*"not-an-address", "tab")
        await pilot.pause()
        assert address.has_class("-invalid")
        assert str(welcome.query_one("#address-error", Label).render()) != ""
