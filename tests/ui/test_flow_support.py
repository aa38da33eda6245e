"""Shared pieces of the renewal-flow UI tests: a book of holders and mailboxes, the app, waits.

(No tests here; the name keeps it beside the flow tests it serves.)
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine
from sqlmodel import Session
from textual.pilot import Pilot
from textual.screen import Screen

from pec_tui.app import PecApp
from pec_tui.config import Settings
from pec_tui.db.models import Holder, Mailbox, Reseller
from pec_tui.domain.enums import HolderKind
from pec_tui.services.database import open_database

TODAY = date(2026, 11, 26)
SIZE = (120, 40)


def make_app(url: str, engine: Engine | None = None) -> PecApp:
    engine = engine or open_database(url)
    return PecApp(Settings(database_url=url, terminal="test-terminal"), engine, today=lambda: TODAY)


def add_reseller(engine: Engine, name: str = "Rivenditore Uno S.r.l.") -> int:
    with Session(engine) as session:
        reseller = Reseller(name=name, email="ordini@rivenditore.example.it")
        session.add(reseller)
        session.commit()
        return reseller.id


def add_holder(engine: Engine, **values) -> int:
    data = dict(
        kind=HolderKind.PRIVATE.value,
        first_name="Mario",
        last_name="Rossi",
        display_name="Mario Rossi",
        codice_fiscale="RSSMRA85T10A562S",
        street="Via Roma 1",
        cap="00184",
        city="Roma",
        province="RM",
        reference_email="mario.rossi@example.it",
    )
    data.update(values)
    with Session(engine) as session:
        holder = Holder(**data)
        session.add(holder)
        session.commit()
        return holder.id


def add_mailbox(engine: Engine, holder_id: int, address: str, **values) -> int:
    data = dict(plan="STANDARD", expiry=date(2026, 12, 20), mailbox_used_mb=100)
    data.update(values)
    with Session(engine) as session:
        mailbox = Mailbox(address=address, holder_id=holder_id, **data)
        session.add(mailbox)
        session.commit()
        return mailbox.id


async def wait_for_screen(pilot: Pilot, screen_type: type[Screen], timeout: float = 10.0) -> Screen:
    """Wait until the app shows `screen_type` (the flow saves drafts in a thread between steps)."""
    waited = 0.0
    while waited < timeout:
        if isinstance(pilot.app.screen, screen_type):
            await pilot.pause()
            return pilot.app.screen
        await pilot.pause(0.05)
        waited += 0.05
    raise AssertionError(
        f"expected {screen_type.__name__}, the app shows {type(pilot.app.screen).__name__}"
    )


def screen_text(screen: Screen) -> str:
    """Everything the static widgets of `screen` show, for asserting on visible messages."""
    from textual.widgets import Label, Static

    parts = []
    for widget in screen.query(Static):
        if isinstance(widget, (Static, Label)) and widget.display:
            parts.append(str(widget.render()))
    return "\n".join(parts).replace("\xa0", " ")
