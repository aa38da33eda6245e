"""Each step refuses bad input with a visible message and does not move on."""

from __future__ import annotations

from sqlmodel import Session, select
from test_flow_support import (
    SIZE,
    add_holder,
    add_mailbox,
    make_app,
    screen_text,
    wait_for_screen,
)
from textual.widgets import Button, Input

from pec_tui.db.models import Holder, Order
from pec_tui.domain.enums import HolderKind, OrderStatus
from pec_tui.screens.confirmation import ConfirmationScreen
from pec_tui.screens.contract import ContractScreen
from pec_tui.screens.holder_form import HolderFormScreen
from pec_tui.screens.kit import KitScreen
from pec_tui.screens.order_form import OrderFormScreen
from pec_tui.screens.plan import PlanScreen


async def _to_holder(pilot, app, mailbox: int) -> HolderFormScreen:
    app.start_renewal([mailbox])
    await wait_for_screen(pilot, PlanScreen)
    await pilot.press("enter")
    await wait_for_screen(pilot, KitScreen)
    await pilot.press("enter")
    return await wait_for_screen(pilot, HolderFormScreen)


async def _retype(pilot, field: str, text: str) -> None:
    await pilot.click(f"#{field}")
    await pilot.press("ctrl+a", "ctrl+k", *text)


def _error(form: HolderFormScreen, field: str) -> str:
    label = form.query_one(f"#error-{field}")
    return str(label.render()) if label.display else ""


async def test_holder_form_shows_the_error_under_the_field_and_stays(sqlite_url):
    app = make_app(sqlite_url)
    holder = add_holder(app.engine)
    mailbox = add_mailbox(app.engine, holder, "mario.rossi@pec.it")
    async with app.run_test(size=SIZE) as pilot:
        form = await _to_holder(pilot, app, mailbox)
        await _retype(pilot, "codice_fiscale", "RSSMRA85T10A562X")
        await _retype(pilot, "cap", "0018")
        await _retype(pilot, "reference_email", "mario.rossi@")
        # Leaving a field checks it at once.
        assert "check character" in _error(form, "codice_fiscale")
        assert "5 digits" in _error(form, "cap")
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is form
        assert "not a valid e-mail address" in _error(form, "reference_email")
        assert form.query_one("#codice_fiscale", Input).has_class("-invalid")
        # Fixing a field clears its message as the user types.
        await _retype(pilot, "codice_fiscale", "rssmra85t10a562s")
        assert _error(form, "codice_fiscale") == ""
        await _retype(pilot, "cap", "00184")
        await _retype(pilot, "reference_email", "mario@example.it")
        await pilot.press("enter")
        await wait_for_screen(pilot, OrderFormScreen)

    with Session(app.engine) as session:
        order = session.exec(select(Order)).one()
        assert order.draft_state["holder"]["codice_fiscale"] == "RSSMRA85T10A562S"


async def test_a_company_needs_its_sdi_code_or_a_pec_address(sqlite_url):
    app = make_app(sqlite_url)
    holder = add_holder(
        app.engine,
        kind=HolderKind.COMPANY.value,
        first_name=None,
        last_name=None,
        company_name="Esempio S.r.l.",
        display_name="Esempio S.r.l.",
        codice_fiscale=None,
        partita_iva="01234560017",
        sdi_code="M5UXCR1",
    )
    mailbox = add_mailbox(app.engine, holder, "amministrazione@pec.esempio.it")
    async with app.run_test(size=SIZE) as pilot:
        form = await _to_holder(pilot, app, mailbox)
        assert form.query_one("#field-sdi_code").display
        assert not form.query_one("#field-first_name").display
        await _retype(pilot, "sdi_code", "0000000")
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is form
        assert "PEC address" in _error(form, "billing_pec")
        await _retype(pilot, "partita_iva", "01234560018")
        await pilot.press("enter")
        await pilot.pause()
        assert "check digit" in _error(form, "partita_iva")
        await _retype(pilot, "partita_iva", "IT01234560017")
        await _retype(pilot, "billing_pec", "fatture@pec.esempio.it")
        await pilot.press("enter")
        await wait_for_screen(pilot, OrderFormScreen)
        await pilot.press("enter")
        await wait_for_screen(pilot, ContractScreen)
        await pilot.press("1", "2", "3", "enter")
        await wait_for_screen(pilot, ConfirmationScreen)

    with Session(app.engine) as session:
        row = session.get(Holder, holder)
        # Stored as the validators normalise it: no IT prefix.
        assert (row.partita_iva, row.sdi_code, row.billing_pec) == (
            "01234560017",
            "0000000",
            "fatture@pec.esempio.it",
        )


async def test_changing_the_holder_type_changes_the_fields(sqlite_url):
    app = make_app(sqlite_url)
    holder = add_holder(app.engine)
    mailbox = add_mailbox(app.engine, holder, "mario.rossi@pec.it")
    async with app.run_test(size=SIZE) as pilot:
        form = await _to_holder(pilot, app, mailbox)
        assert not form.query_one("#billing-fields").display
        form.query_one("#kind").value = HolderKind.PROFESSIONAL.value
        await pilot.pause()
        assert form.query_one("#billing-fields").display
        assert form.query_one("#field-partita_iva").display
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is form
        assert "partita IVA is required" in _error(form, "partita_iva")
        assert "SDI recipient code is required" in _error(form, "sdi_code")


async def test_contract_needs_all_three_ticks(sqlite_url):
    app = make_app(sqlite_url)
    holder = add_holder(app.engine)
    mailbox = add_mailbox(app.engine, holder, "mario.rossi@pec.it")
    async with app.run_test(size=SIZE) as pilot:
        await _to_holder(pilot, app, mailbox)
        await pilot.press("enter")
        await wait_for_screen(pilot, OrderFormScreen)
        await pilot.press("enter")
        contract = await wait_for_screen(pilot, ContractScreen)
        confirm = contract.query_one("#confirm", Button)
        missing = contract.query_one("#consents-missing")
        assert confirm.has_class("-not-ready") and not confirm.disabled
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is contract
        # Pressed too early, CONFERMA names every acceptance still missing.
        said = str(missing.render())
        assert "1. General conditions" in said and "3. Privacy notice" in said
        await pilot.press("1", "3", "enter")
        await pilot.pause(0.2)
        assert app.screen is contract and confirm.has_class("-not-ready")
        said = str(missing.render())
        assert "2. Clauses 1341-1342" in said and "General" not in said
        assert app.focused is contract.query_one("#consent-clauses")
        await pilot.click("#confirm")  # the button says the same
        await pilot.pause(0.2)
        assert app.screen is contract
        await pilot.press("2")
        assert not confirm.has_class("-not-ready") and str(missing.render()) == ""
        await pilot.press("enter")
        await wait_for_screen(pilot, ConfirmationScreen)


async def test_promotional_mailboxes_renew_for_two_years_at_most(sqlite_url):
    app = make_app(sqlite_url)
    holder = add_holder(app.engine)
    mailbox = add_mailbox(app.engine, holder, "mario.rossi@pec.it", promo=True)
    async with app.run_test(size=SIZE) as pilot:
        await _to_holder(pilot, app, mailbox)
        await pilot.press("enter")
        form = await wait_for_screen(pilot, OrderFormScreen)
        await pilot.press("plus", "plus", "plus", "plus")
        assert form.draft.years == 2
        assert "2 years" in screen_text(form)
        await pilot.press("r", "4", "enter")  # auto-renew on, postal slip
        await wait_for_screen(pilot, ContractScreen)
        await pilot.press("1", "2", "3", "enter")
        await wait_for_screen(pilot, ConfirmationScreen)

    with Session(app.engine) as session:
        order = session.exec(select(Order).where(Order.status != OrderStatus.DRAFT.value)).one()
        assert (order.years, order.auto_renew, order.payment_method) == (2, True, "bollettino")


async def test_holder_data_typed_at_once_lands_where_it_was_typed(sqlite_url):
    """A paste, tmux or a scanner delivers Tab, the next field's text and Enter with no pause:
    every character lands in the field it was typed for, and Continue reads them all."""
    from test_login import burst

    app = make_app(sqlite_url)
    holder = add_holder(app.engine)
    mailbox = add_mailbox(app.engine, holder, "mario.rossi@pec.it")
    async with app.run_test(size=SIZE) as pilot:
        form = await _to_holder(pilot, app, mailbox)
        for field in ("street", "cap", "city"):
            form.query_one(f"#{field}", Input).value = ""
        form.query_one("#street", Input).focus()
        await pilot.pause()
        burst(app, "Via Verdi 2\t20121\tMilano\r")
        screen = await wait_for_screen(pilot, OrderFormScreen)
        holder_data = screen.draft.holder
        assert holder_data is not None
        assert (holder_data.street, holder_data.cap, holder_data.city) == (
            "Via Verdi 2",
            "20121",
            "Milano",
        )
