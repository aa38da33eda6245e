"""One order pipeline: the same renewal placed from the TUI flow, the CLI and the lifecycle job
gives the same lines, totals, consents, audit event and e-mail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from sqlalchemy import Engine
from sqlmodel import Session, select
from test_flow_support import SIZE, wait_for_screen

from pec_tui.app import PecApp
from pec_tui.cli import main
from pec_tui.config import Settings, load_settings
from pec_tui.db.models import AuditEvent, Holder, Mailbox, Order, OrderLine, OutboxMessage
from pec_tui.domain.enums import HolderKind, OrderStatus
from pec_tui.screens.confirmation import ConfirmationScreen
from pec_tui.screens.contract import ContractScreen
from pec_tui.screens.holder_form import HolderFormScreen
from pec_tui.screens.kit import KitScreen
from pec_tui.screens.order_form import OrderFormScreen
from pec_tui.screens.plan import PlanScreen
from pec_tui.services.database import open_database
from pec_tui.services.lifecycle import run_lifecycle

TODAY = date.today()
# The job renews a mailbox whose automatic renewal is on 7 days before it expires.
EXPIRY = TODAY + timedelta(days=7)
IBAN = "IT60X0542811101000000123456"


@dataclass(frozen=True)
class Placed:
    lines: list[tuple[Any, ...]]
    totals: tuple[int, int, int, int, str | None, bool]
    consents: tuple[bool, bool, bool, str | None]
    audit: tuple[str, dict[str, Any]]
    mail: tuple[str, str, str, list[str]]


def _book(url: str, auto_renew: bool) -> Engine:
    engine = open_database(url)
    with Session(engine) as session:
        holder = Holder(
            kind=HolderKind.COMPANY.value,
            company_name="Marino Consulting S.r.l.",
            display_name="Marino Consulting S.r.l.",
            partita_iva="01234560017",
            street="Via Roma 1",
            cap="00184",
            city="Roma",
            province="RM",
            reference_email="amministrazione@marino.example.it",
            sdi_code="M5UXCR1",
        )
        session.add(holder)
        session.flush()
        session.add(
            Mailbox(
                address="ragioneria@marino.pec.it",
                holder_id=holder.id,
                plan="PRO",
                extra_archive_gb=1,
                expiry=EXPIRY,
                auto_renew=auto_renew,
                renewal_years=2,
                payment_method="bonifico",
            )
        )
        session.commit()
    return engine


def _placed(engine: Engine) -> Placed:
    with Session(engine) as session:
        order = session.exec(select(Order).where(Order.status != OrderStatus.DRAFT.value)).one()
        lines = session.exec(
            select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.id)
        ).all()
        event = session.exec(
            select(AuditEvent).where(
                AuditEvent.action == "order.confirm", AuditEvent.entity_id == str(order.id)
            )
        ).one()
        mail = session.exec(select(OutboxMessage).where(OutboxMessage.order_id == order.id)).one()
    details = {k: v for k, v in (event.details or {}).items() if k != "origin"}
    body = mail.message.split("\n\n")
    return Placed(
        lines=[
            (
                line.mailbox_id,
                line.address,
                line.item,
                line.description,
                line.quantity,
                line.years,
                line.unit_cents,
                line.total_cents,
                line.plan,
                line.previous_plan,
                line.extra_mailbox_gb,
                line.extra_archive_gb,
            )
            for line in lines
        ],
        totals=(
            order.net_cents,
            order.vat_cents,
            order.gross_cents,
            order.years,
            order.payment_method,
            order.auto_renew,
        ),
        consents=(
            order.consent_terms_at is not None,
            order.consent_clauses_at is not None,
            order.consent_privacy_at is not None,
            order.consent_terms_by,
        ),
        audit=(event.action, details),
        # Kind, recipient, subject, and the paragraphs with the lines, totals and how to pay.
        mail=(mail.kind, mail.to_address, mail.subject, [p for p in body if "€" in p or IBAN in p]),
    )


async def _through_the_flow(url: str) -> Placed:
    engine = _book(url, auto_renew=False)
    settings = Settings(database_url=url, terminal="desk", bank_iban=IBAN, bank_beneficiary="PEC")
    app = PecApp(settings, engine, today=lambda: TODAY)
    with Session(engine) as session:
        mailbox_id = session.exec(select(Mailbox.id)).one()
    async with app.run_test(size=SIZE) as pilot:
        app.start_renewal([mailbox_id])
        await wait_for_screen(pilot, PlanScreen)
        await pilot.press("enter")
        await wait_for_screen(pilot, KitScreen)
        await pilot.press("enter")  # no kit
        await wait_for_screen(pilot, HolderFormScreen)
        await pilot.press("enter")  # the holder as stored
        await wait_for_screen(pilot, OrderFormScreen)
        await pilot.press("r", "enter")  # Rinnovo automatico on, as the mailbox will have it
        await wait_for_screen(pilot, ContractScreen)
        await pilot.press("1", "2", "3", "enter")
        await wait_for_screen(pilot, ConfirmationScreen)
    return _placed(engine)


def _through_the_cli(url: str, monkeypatch) -> Placed:
    engine = _book(url, auto_renew=False)
    monkeypatch.setenv("PEC_TUI_BANK_IBAN", IBAN)
    monkeypatch.setenv("PEC_TUI_BANK_BENEFICIARY", "PEC")
    result = CliRunner().invoke(
        main,
        [
            "--database-url",
            url,
            "renew",
            "ragioneria@marino.pec.it",
            "--years",
            "2",
            "--payment-method",
            "bonifico",
            "--auto-renew",
            "--accept-terms",
            "--accept-clauses",
            "--accept-privacy",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return _placed(engine)


def _through_the_job(url: str) -> Placed:
    engine = _book(url, auto_renew=True)
    settings = load_settings(bank_iban=IBAN, bank_beneficiary="PEC")
    report = run_lifecycle(engine, TODAY, settings=settings)
    assert report.renewal_orders == 1
    return _placed(engine)


async def test_flow_cli_and_job_place_the_same_order(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("PEC_TUI_CONFIG_DIR", str(tmp_path / "config"))
    flow = await _through_the_flow(f"sqlite:///{tmp_path / 'flow.db'}")
    cli = _through_the_cli(f"sqlite:///{tmp_path / 'cli.db'}", monkeypatch)
    job = _through_the_job(f"sqlite:///{tmp_path / 'job.db'}")

    assert flow.lines and flow.lines == cli.lines == job.lines
    assert flow.totals == cli.totals == job.totals
    assert flow.totals[3:] == (2, "bonifico", True)
    assert flow.consents[:3] == cli.consents[:3] == job.consents[:3] == (True, True, True)
    assert flow.audit == cli.audit == job.audit
    assert flow.mail == cli.mail == job.mail
    assert flow.mail[0] == "order_confirmation" and any(IBAN in p for p in flow.mail[3])
