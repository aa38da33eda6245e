"""Snapshots of the screens of the renewal flow people look at most: plan picker and contract."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "ui"))

from test_flow_support import (  # noqa: E402
    SIZE,
    add_holder,
    add_mailbox,
    make_app,
    wait_for_screen,
)

from pec_tui import i18n  # noqa: E402
from pec_tui.screens.confirmation import ConfirmationScreen  # noqa: E402
from pec_tui.screens.contract import ContractScreen  # noqa: E402
from pec_tui.screens.holder_form import HolderFormScreen  # noqa: E402
from pec_tui.screens.kit import KitScreen  # noqa: E402
from pec_tui.screens.order_form import OrderFormScreen  # noqa: E402
from pec_tui.screens.plan import PlanScreen  # noqa: E402


def _app_with_two_mailboxes(url: str):
    app = make_app(url)
    holder = add_holder(app.engine)
    ids = [
        add_mailbox(app.engine, holder, "mario.rossi@pec.it", plan="PRO", archive_used_mb=900),
        add_mailbox(app.engine, holder, "studio.rossi@pec.it"),
    ]
    return app, ids


def _open_plan_picker(ids: list[int]):
    async def run_before(pilot) -> None:
        pilot.app.start_renewal(ids)
        await wait_for_screen(pilot, PlanScreen)
        await pilot.press("a", "a")  # 2 extra archive GB on the PRO mailbox: totals move
        await pilot.pause(0.5)  # the mailbox list redraws once the keys stop

    return run_before


def test_plan_picker_in_italian(snap_compare, sqlite_url):
    i18n.set_language("it")
    app, ids = _app_with_two_mailboxes(sqlite_url)
    assert snap_compare(app, terminal_size=SIZE, run_before=_open_plan_picker(ids))


def test_plan_picker_in_english(snap_compare, sqlite_url):
    i18n.set_language("en")
    app, ids = _app_with_two_mailboxes(sqlite_url)
    assert snap_compare(app, terminal_size=SIZE, run_before=_open_plan_picker(ids))


def test_contract_screen(snap_compare, sqlite_url):
    i18n.set_language("it")
    app = make_app(sqlite_url)
    mailbox = add_mailbox(app.engine, add_holder(app.engine), "mario.rossi@pec.it")

    async def run_before(pilot) -> None:
        pilot.app.start_renewal([mailbox])
        for step in (PlanScreen, KitScreen, HolderFormScreen, OrderFormScreen):  # the defaults
            await wait_for_screen(pilot, step)
            await pilot.press("enter")
        await wait_for_screen(pilot, ContractScreen)
        await pilot.press("1", "2")  # two of three ticks: CONFERMA still disabled

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


FLOW = (PlanScreen, KitScreen, HolderFormScreen, OrderFormScreen, ContractScreen)


@pytest.mark.parametrize("size", [(80, 24), (120, 32)], ids=["80x24", "120x32"])
@pytest.mark.parametrize("step", [*FLOW, ConfirmationScreen], ids=lambda s: s.__name__)
def test_every_flow_step_fits(snap_compare, sqlite_url, size, step):
    """Each step of a two-mailbox renewal at the smallest supported terminal and a common one."""
    i18n.set_language("it")
    app, ids = _app_with_two_mailboxes(sqlite_url)

    async def run_before(pilot) -> None:
        pilot.app.start_renewal(ids)
        for screen in FLOW:
            await wait_for_screen(pilot, screen)
            if screen is step:
                break
            if screen is ContractScreen:
                await pilot.press("1", "2", "3")
            await pilot.press("enter")
        else:
            await wait_for_screen(pilot, ConfirmationScreen)
        await pilot.pause(0.5)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
