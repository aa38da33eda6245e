"""Snapshots of Gestione caselle PEC and Area clienti on a fixed day with deterministic data."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "ui"))

from sqlmodel import Session  # noqa: E402
from test_holder_screen import _add_order  # noqa: E402
from test_mailboxes_screen import SIZE, TODAY, build_book, make_app, settle  # noqa: E402
from textual.widgets import DataTable, Input  # noqa: E402

from pec_tui import i18n  # noqa: E402
from pec_tui.domain.enums import OrderStatus, OrderType  # noqa: E402
from pec_tui.screens.holder import CustomerAreaScreen  # noqa: E402


def _app(url: str):
    app = make_app(url)
    book = build_book(app.engine, mailboxes=120)
    return app, book


async def _still(pilot) -> None:
    await settle(pilot)
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False
    await pilot.pause()


def test_mailbox_table(snap_compare, sqlite_url):
    i18n.set_language("it")
    app, _book = _app(sqlite_url)

    async def run_before(pilot) -> None:
        await _still(pilot)
        await pilot.press("down", "down")
        await _still(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_mailbox_table_with_the_three_month_selection(snap_compare, sqlite_url):
    i18n.set_language("it")
    app, _book = _app(sqlite_url)

    async def run_before(pilot) -> None:
        await _still(pilot)
        await pilot.press("t")
        await _still(pilot)
        await pilot.press("down", "space")  # one ticked off by hand
        await _still(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_area_clienti(snap_compare, sqlite_url):
    i18n.set_language("it")
    app, book = _app(sqlite_url)
    anna = book.holders["Bianchi Anna"]
    with Session(app.engine) as session:
        for number, kind, status, cents, days in (
            (1_000_000_000, OrderType.PURCHASE, OrderStatus.PAID, 2500, 430),
            (1_000_000_012, OrderType.RENEWAL, OrderStatus.PAID, 2500, 65),
            (1_000_000_044, OrderType.RENEWAL, OrderStatus.AWAITING_PAYMENT, 4000, 1),
        ):
            _add_order(session, book, anna, number, kind, status, cents, TODAY - timedelta(days))
        session.commit()

    async def run_before(pilot) -> None:
        await _still(pilot)
        area = CustomerAreaScreen(pilot.app.ctx, book.holders["Bianchi Anna"])
        await pilot.app.push_screen(area)
        # The orders are read in a worker started at mount.
        orders = area.query_one("#holder-orders", DataTable)
        for _ in range(200):
            if orders.row_count == 3:
                break
            await pilot.pause(0.05)
        await _still(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
