"""Every screen of the Italian UI, rendered on the demo book, holds no English word and no
raw code.

The English words are the catalog's own: every word of a source string whose Italian
translation differs, less the words Italian uses too (any word of any translation) and the
words of the book's data (names, addresses). A raw code is an enum's value or member name
that has an underscore (`awaiting_payment`, `KIT_USB_TOKEN`) or an English status
(`queued`). What is read is the screen as exported, line by line, as a person sees it.
"""

from __future__ import annotations

import html
import re
from enum import StrEnum
from pathlib import Path

import pytest
from babel.dates import get_month_names
from babel.messages.pofile import read_po
from sqlmodel import Session, select
from test_flow_support import wait_for_screen
from test_mailboxes_screen import TODAY, make_app, settle, wait_for_modal
from textual.command import CommandPalette
from textual.pilot import Pilot

import pec_tui
from pec_tui.config import Settings
from pec_tui.db.models import Holder, Mailbox, Order, Reseller
from pec_tui.demo import seeding
from pec_tui.domain import enums
from pec_tui.domain.enums import OrderStatus, Role
from pec_tui.screens.confirmation import ConfirmationScreen
from pec_tui.screens.contract import ContractScreen
from pec_tui.screens.dashboard import DashboardScreen
from pec_tui.screens.holder_form import HolderFormScreen
from pec_tui.screens.kit import KitScreen
from pec_tui.screens.mailbox_detail import MailboxDetailScreen
from pec_tui.screens.messages import OpenMailbox
from pec_tui.screens.order_form import OrderFormScreen
from pec_tui.screens.orders import OrderDetailScreen, OrdersScreen
from pec_tui.screens.plan import PlanScreen
from pec_tui.services.actor import Actor
from pec_tui.widgets.textual_strings import BINDING_WORDS, PALETTE_WORDS

CATALOG = Path(pec_tui.__file__).parent / "locale" / "it" / "LC_MESSAGES" / "pec_tui.po"
_WORD = re.compile(r"[A-Za-zÀ-ÿ_]+")
_TEXT = re.compile(r'<text class="terminal-[^"]*" x="([\d.]+)" y="([\d.]+)"[^>]*>([^<]*)</text>')


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text))


def _catalog_words() -> tuple[set[str], set[str]]:
    """(words of the English sources, words of the Italian translations)."""
    with CATALOG.open("rb") as handle:
        catalog = read_po(handle)
    english: set[str] = set()
    italian: set[str] = set()
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strs = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in strs:
            italian |= _words(text)
        for source, text in zip(ids, strs, strict=False):
            if text and text != source:
                english |= _words(re.sub(r"%\(\w+\)s|\{\w+\}", " ", source))
    english |= {w for text in (*BINDING_WORDS, *PALETTE_WORDS) for w in _words(text)}
    # Italian's own words from the locale data: the months as the charts abbreviate them.
    for width in ("abbreviated", "wide"):
        for month in get_month_names(width, locale="it").values():
            italian |= _words(month)
    return english, italian


def _raw_codes() -> set[str]:
    codes: set[str] = set()
    for value in vars(enums).values():
        if isinstance(value, type) and issubclass(value, StrEnum) and value is not StrEnum:
            for member in value:
                if "_" in member.name:
                    codes.add(member.name)
                if "_" in member.value:
                    codes.add(member.value)
    return codes | {"queued", "sending", "sent", "failed", "delivered", "pending", "retry"}


def screen_lines(app) -> list[str]:
    """The screen as a person reads it: one string per terminal line."""
    cells: dict[float, list[tuple[float, str]]] = {}
    for x, y, text in _TEXT.findall(app.export_screenshot()):
        cells.setdefault(float(y), []).append((float(x), html.unescape(text)))
    return [
        "".join(t for _x, t in sorted(line)).replace("\xa0", " ")
        for _y, line in sorted(cells.items())
    ]


class Reader:
    """Checks each screen shown against the English words and the raw codes."""

    def __init__(self, data_words: set[str]) -> None:
        english, italian = _catalog_words()
        # Words both languages write alike are no evidence (Email, PEC, IBAN, Premium…).
        self.english = {w for w in english if len(w) > 2} - italian - data_words
        self.codes = _raw_codes()
        self.seen: list[str] = []

    def check(self, app, where: str) -> list[str]:
        lines = screen_lines(app)
        assert lines, f"{where}: nothing on screen"
        found = [
            f"{where}: {word!r} in {line.strip()!r}"
            for line in lines
            for word in sorted(_words(line))
            if word in self.english or word in self.codes
        ]
        self.seen.append(where)
        return found


def _data_words(engine) -> set[str]:
    """Words of the book and of the configuration: names are not translated."""
    words = _words(Settings().bank_beneficiary)
    with Session(engine) as session:
        for name in session.exec(select(Holder.display_name)):
            words |= _words(name)
        for name in session.exec(select(Reseller.name)):
            words |= _words(name)
        for address in session.exec(select(Mailbox.address)):
            words |= _words(address)
    return words


async def _show(
    pilot: Pilot, kind: type, where: str, reader: Reader, problems: list[str], flow: bool = False
):
    await wait_for_screen(pilot, kind)
    if flow:  # the flow's worker waits for this screen: `settle` would wait for ever
        await pilot.pause(0.5)
    else:
        await settle(pilot)
        await pilot.pause(0.2)
    problems += reader.check(pilot.app, where)


def _first_renewable_order_mailbox(engine) -> tuple[int, int]:
    """(an order awaiting payment, a mailbox on no open order) of the demo book."""
    with Session(engine) as session:
        order = session.exec(
            select(Order.id).where(Order.status == OrderStatus.AWAITING_PAYMENT.value)
        ).first()
        mailbox = session.exec(
            select(Mailbox.id)
            .where(Mailbox.auto_renew == False)  # noqa: E712
            .where(Mailbox.expiry >= TODAY)
            .order_by(Mailbox.expiry)
        ).first()
    assert order is not None and mailbox is not None
    return order, mailbox


@pytest.mark.parametrize("size", [(120, 32), (80, 24)], ids=["120x32", "80x24"])
async def test_every_screen_of_the_italian_ui_is_italian(sqlite_url, italian, size):
    app = make_app(sqlite_url, actor=Actor(name="admin", role=Role.ADMIN, operator_id=None))
    seeding.seed_demo(app.engine, 300, 42, TODAY)
    reader = Reader(_data_words(app.engine))
    order_id, mailbox_id = _first_renewable_order_mailbox(app.engine)
    problems: list[str] = []
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        problems += reader.check(app, "Gestione caselle")
        await pilot.press("f1")
        await pilot.pause(0.3)
        problems += reader.check(app, "Tasti (f1)")
        await pilot.press("f1")
        await pilot.press("ctrl+p")
        await wait_for_modal(pilot, CommandPalette)
        problems += reader.check(app, "Palette")
        await pilot.press("escape")

        app.screen.post_message(OpenMailbox(mailbox_id))
        await _show(pilot, MailboxDetailScreen, "Dettaglio casella", reader, problems)
        await pilot.press("escape")

        app.action_dashboard()
        await _show(pilot, DashboardScreen, "Scadenze e incassi", reader, problems)
        await pilot.press("escape")

        app.action_orders()
        await _show(pilot, OrdersScreen, "Ordini", reader, problems)
        app.push_screen(OrderDetailScreen(app.ctx, order_id))
        await _show(pilot, OrderDetailScreen, "Dettaglio ordine", reader, problems)
        await pilot.press("escape")
        await pilot.press("escape")

        for action, where in (
            ("audit", "Registro"),
            ("operators", "Operatori"),
            ("outbox", "Posta in uscita"),
        ):
            before = app.screen
            getattr(app, f"action_{action}")()
            for _ in range(100):
                if app.screen is not before:
                    break
                await pilot.pause(0.02)
            await settle(pilot)
            problems += reader.check(app, where)
            await pilot.press("escape")
            await settle(pilot)

        app.start_renewal([mailbox_id])
        await _show(pilot, PlanScreen, "Piano", reader, problems, flow=True)
        await pilot.press("enter")
        await _show(pilot, KitScreen, "Kit", reader, problems, flow=True)
        await pilot.press("2", "enter")  # the USB token: its name, not KIT_USB_TOKEN
        await _show(pilot, HolderFormScreen, "Intestatario", reader, problems, flow=True)
        await pilot.press("enter")
        await _show(pilot, OrderFormScreen, "Modulo d'ordine", reader, problems, flow=True)
        await pilot.press("enter")
        await _show(pilot, ContractScreen, "Contratto", reader, problems, flow=True)
        await pilot.press("1", "2", "3", "enter")
        await _show(pilot, ConfirmationScreen, "Conferma", reader, problems, flow=True)
    assert len(reader.seen) >= 15, reader.seen
    assert not problems, "\n".join(problems)


def test_the_reader_finds_english_and_codes():
    """The check can fail: an English label and a raw code are found, Italian is not."""
    reader = Reader(set())

    class Screen:
        def __init__(self, text: str) -> None:
            self.text = text

        def export_screenshot(self) -> str:
            return f'<text class="terminal-r1" x="0" y="20" textLength="9">{self.text}</text>'

    assert reader.check(Screen("Ordini  Rinnovo  Totale"), "it") == []
    assert reader.check(Screen("Orders"), "en")
    assert reader.check(Screen("Kit&#160;KIT_USB_TOKEN"), "code")
    assert reader.check(Screen("stato: queued"), "status")
