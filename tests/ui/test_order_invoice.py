"""The order detail shows the invoice of a paid order and exports its XML (key and palette)."""

from __future__ import annotations

from datetime import date

from book_builder import add_holder, add_mailbox, confirm_renewal, set_issuer
from sqlmodel import Session
from textual.widgets import Static

from pec_tui.app import PecApp
from pec_tui.config import Settings
from pec_tui.db.models import Holder
from pec_tui.domain import fatturapa
from pec_tui.services import payments
from pec_tui.services.actor import SYSTEM
from pec_tui.services.database import open_database
from tests.ui.test_orders_screen import SIZE, TODAY, _open_order


def _paid(engine, billing_pec: str | None = None) -> int:
    holder = add_holder(engine)
    if billing_pec:
        with Session(engine) as session:
            row = session.get(Holder, holder)
            row.kind, row.partita_iva = "libero_professionista", "02438750586"
            row.sdi_code, row.billing_pec = "0000000", billing_pec
            session.add(row)
            session.commit()
    box = add_mailbox(engine, holder, "mario.rossi@pec.it", date(2027, 1, 10), plan="PRO")
    done = confirm_renewal(engine, [box], TODAY)
    payments.register_payment(engine, SYSTEM, done.number, done.quote.gross, "carta", TODAY,
                              today=TODAY)  # fmt: skip
    return done.number


def _app(sqlite_url, tmp_path):
    engine = open_database(sqlite_url)
    settings = Settings(database_url=sqlite_url, invoice_dir=tmp_path / "fatture")
    return engine, PecApp(settings, engine, today=lambda: TODAY)


async def test_paid_order_shows_its_invoice_and_exports_the_xml(sqlite_url, tmp_path):
    engine, app = _app(sqlite_url, tmp_path)
    set_issuer(engine)
    number = _paid(engine)
    async with app.run_test(size=SIZE) as pilot:
        detail = await _open_order(app, pilot, number)
        text = str(detail.query_one("#order-invoice", Static).render())
        assert "Invoice 1/2026 of 26/11/2026 — Issued" in text
        assert "Mario Rossi" in text and "PEC PRO - mario.rossi@pec.it" in text
        assert "30.50" in text.replace(",", ".")
        assert detail.check_action("export_invoice", ())
        await pilot.press("x")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        written = tmp_path / "fatture" / "IT01234560017_00001.xml"
        assert written.is_file()
        fatturapa.validate(written.read_bytes())
        assert str(written) in str(detail.query_one("#order-message", Static).render())
        # The command palette offers the same key.
        names = [name for name, _h, _c in _palette_commands(app)]
        assert "Export invoice XML" in names


def _palette_commands(app):
    from pec_tui.widgets.keys import ScreenKeysProvider

    provider = ScreenKeysProvider(app.screen)
    return provider._commands()


async def test_an_invoice_to_correct_shows_why_and_offers_no_export(sqlite_url, tmp_path):
    engine, app = _app(sqlite_url, tmp_path)
    set_issuer(engine)
    number = _paid(engine, billing_pec="mario.rossì@pec.it")
    async with app.run_test(size=SIZE) as pilot:
        detail = await _open_order(app, pilot, number)
        text = str(detail.query_one("#order-invoice", Static).render())
        assert "To be corrected" in text and "To correct:" in text
        assert "PECDestinatario" in text
        assert not detail.check_action("export_invoice", ())
