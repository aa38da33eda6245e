"""Scadenze e incassi driven with the keyboard: open it with `d`, read the charts, filter a
reseller, drill into a month and renew from the month's mailbox list."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session
from test_flow_renewal import _finish_from_kit
from test_flow_support import wait_for_screen
from test_mailboxes_screen import TODAY, build_book, make_app, settle, table

from pec_tui.db.models import Holder
from pec_tui.domain.enums import Role
from pec_tui.screens.confirmation import ConfirmationScreen
from pec_tui.screens.dashboard import DashboardScreen
from pec_tui.screens.mailboxes import MailboxesScreen
from pec_tui.screens.plan import PlanScreen
from pec_tui.services import dashboard
from pec_tui.services.actor import SYSTEM, Actor
from pec_tui.widgets.bar_chart import BarChart, BarList

SIZE = (120, 32)
DECEMBER = date(2026, 12, 1)


def _lines(widget) -> list[str]:
    if isinstance(widget, BarList):
        return [str(option.prompt).lstrip("▸ ") for option in widget.options]
    return str(widget.render()).splitlines()


def _complete_holder(engine, holder_id: int) -> None:
    """The holder data the renewal flow asks for (the shared book leaves the address out)."""
    with Session(engine) as session:
        holder = session.get(Holder, holder_id)
        assert holder is not None
        holder.codice_fiscale = "RSSMRA85T10A562S"
        holder.street, holder.cap, holder.city, holder.province = (
            "Via Roma 1",
            "00184",
            "Roma",
            "RM",
        )
        session.add(holder)
        session.commit()


async def _open_dashboard(pilot) -> DashboardScreen:
    await settle(pilot)
    await pilot.press("d")
    screen = await wait_for_screen(pilot, DashboardScreen)
    await settle(pilot)
    assert isinstance(screen, DashboardScreen) and screen.figures is not None
    return screen


async def test_d_opens_the_charts_and_enter_lists_the_months_mailboxes_to_renew(sqlite_url):
    app = make_app(sqlite_url)
    book = build_book(app.engine)
    _complete_holder(app.engine, book.holders["Rossi Mario"])
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_dashboard(pilot)
        want = dashboard.load_dashboard(app.engine, SYSTEM, TODAY)
        assert screen.figures == want
        months = _lines(screen.query_one("#dashboard-renewals", BarList))
        assert len(months) == 12
        assert months[0].startswith("Nov 2026") and months[1].startswith("Dec 2026")
        # The highlighted month is marked, for a screen without colour.
        marked = [str(o.prompt) for o in screen.query_one("#dashboard-renewals", BarList).options]
        assert marked[0].startswith("▸ Nov 2026") and marked[1].startswith("  Dec 2026")
        december = want.renewals[1]
        assert december.month == DECEMBER and december.manual > 0
        # The figures are written beside the bars: total, auto, manual.
        assert f"{december.expiring}  " in months[1] and f"  {december.manual}  " in months[1]
        states = _lines(screen.query_one("#dashboard-states", BarChart))
        assert any(line.startswith("Active") and str(want.states.active) in line for line in states)

        await pilot.press("down", "enter")
        listed = await wait_for_screen(pilot, MailboxesScreen)
        await settle(pilot)
        assert isinstance(listed, MailboxesScreen)
        assert listed.filter.expiry_month == DECEMBER
        assert listed.mailbox_count == december.expiring
        rows = table(app).visible_rows()
        assert rows and all(r.expiry.replace(day=1) == DECEMBER for r in rows)
        assert "Expiring in Dec 2026" in str(listed.query_one("#mailboxes-filters").render())

        # `r` renews the mailbox under the cursor, through the whole flow to Conferma.
        addresses = [r.address for r in rows]
        await pilot.press(*["down"] * addresses.index("mario.rossi@pec.it"))
        assert table(app).cursor_row.address == "mario.rossi@pec.it"
        await pilot.press("r")
        await wait_for_screen(pilot, PlanScreen)
        await pilot.press("enter")
        await _finish_from_kit(pilot)
        await pilot.press("enter")
        await wait_for_screen(pilot, MailboxesScreen)
        assert not isinstance(app.screen, ConfirmationScreen)
        assert app.screen is listed

        # Back on the dashboard, the order now waits for payment.
        await pilot.press("escape")
        await wait_for_screen(pilot, DashboardScreen)
        await settle(pilot)
        figures = app.screen.figures
        assert figures is not None
        assert figures.awaiting[0].orders == 1 and figures.awaiting[0].gross > 0


async def test_t_and_r_work_as_usual_in_the_months_list(sqlite_url):
    app = make_app(sqlite_url)
    build_book(app.engine)
    async with app.run_test(size=SIZE) as pilot:
        await _open_dashboard(pilot)
        await pilot.press("down", "down", "enter")
        listed = await wait_for_screen(pilot, MailboxesScreen)
        await settle(pilot)
        assert listed.filter.expiry_month == date(2027, 1, 1)
        await pilot.press("t")
        await settle(pilot)
        assert listed.filter.expiry_month is None and listed.filter.expiring_within_months == 3
        assert listed.selected_count and listed.selected_count > 0
        await pilot.press("r")
        await wait_for_screen(pilot, PlanScreen)


async def test_an_administrator_filters_one_reseller_with_the_keyboard(sqlite_url):
    app = make_app(sqlite_url)
    book = build_book(app.engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_dashboard(pilot)
        everything = screen.figures
        # Focus the filter, open it, choose the first reseller by name ("Altra Rivendita").
        await pilot.press("tab", "enter", "down", "enter")
        await settle(pilot)
        assert screen.reseller_id == book.other_reseller_id
        assert screen.figures == dashboard.load_dashboard(
            app.engine, SYSTEM, TODAY, book.other_reseller_id
        )
        assert screen.figures != everything
        mine = [b for b in book.boxes if b.reseller_id == book.other_reseller_id]
        assert screen.figures.states.total == len(mine)
        # The drill-down keeps the reseller.
        await pilot.press("shift+tab", "down", "enter")
        listed = await wait_for_screen(pilot, MailboxesScreen)
        await settle(pilot)
        assert listed.filter.reseller_id == book.other_reseller_id
        december = [b for b in mine if b.expiry.replace(day=1) == DECEMBER]
        assert listed.mailbox_count == len(december)


async def test_a_reseller_operator_sees_its_own_book_without_a_filter(sqlite_url):
    app = make_app(sqlite_url)
    book = build_book(app.engine)
    app.ctx = app.ctx.as_actor(Actor("op", Role.RESELLER, reseller_id=book.reseller_id))
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_dashboard(pilot)
        assert not screen.query("#dashboard-reseller")
        assert screen.figures.reseller_id == book.reseller_id
        mine = [b for b in book.boxes if b.reseller_id == book.reseller_id]
        assert screen.figures.states.total == len(mine)


async def test_the_dashboard_is_a_command_of_the_palette(sqlite_url):
    app = make_app(sqlite_url)
    build_book(app.engine, mailboxes=20)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Expiries and revenue" in titles
        keys = {b.binding.id for b in app.screen.active_bindings.values()}
        assert "mailboxes.dashboard" in keys
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"expiries and")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for_screen(pilot, DashboardScreen)
