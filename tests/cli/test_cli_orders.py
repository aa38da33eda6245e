"""`pec-tui renew` and `pec-tui orders list|show|cancel`, through click's CliRunner."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta

import pytest
from book_builder import add_holder, add_mailbox, get
from click.testing import CliRunner
from sqlmodel import Session, select

from pec_tui.cli import main
from pec_tui.db.models import Mailbox, Order
from pec_tui.domain.enums import OrderStatus

# These tests read Italian money, dates and words: the product's default language.
pytestmark = pytest.mark.usefixtures("italian")

TODAY = date.today()
CONSENTS = ["--accept-terms", "--accept-clauses", "--accept-privacy"]


@pytest.fixture
def cli(engine, db_url):
    runner = CliRunner()

    def invoke(*args: str, ok: bool = True):
        result = runner.invoke(main, ["--database-url", db_url, *args], catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return invoke


@pytest.fixture
def boxes(engine):
    holder = add_holder(engine)
    other = add_holder(engine, ("Anna", "Bianchi"), "anna.bianchi@example.it")
    return {
        "pro": add_mailbox(
            engine,
            holder,
            "mario.rossi@pec.it",
            TODAY + timedelta(days=40),
            plan="PRO",
            archive_used_mb=500,
        ),
        "std": add_mailbox(engine, holder, "studio.rossi@pec.it", TODAY + timedelta(days=20)),
        "auto": add_mailbox(
            engine, holder, "auto.rossi@pec.it", TODAY + timedelta(days=20), auto_renew=True
        ),
        "anna": add_mailbox(engine, other, "anna.bianchi@pec.it", TODAY + timedelta(days=10)),
    }


def test_renew_creates_the_order_as_the_tui_does(cli, engine, boxes):
    result = cli(
        "renew",
        "MARIO.ROSSI@pec.it",
        "studio.rossi@pec.it",
        "--years",
        "2",
        "--extra-mailbox-gb",
        "1",
        "--kit",
        "usb_token",
        "--payment-method",
        "bonifico",
        "--auto-renew",
        *CONSENTS,
        "--format",
        "json",
    )
    data = json.loads(result.output)
    assert data["number"] == 1_000_000_000
    # PRO 25,00 + STANDARD 9,90 + 2 extra GB 3,00, for 2 years, + USB token 69,90.
    assert data["net"] == "151.70" and data["vat"] == "33.37" and data["gross"] == "185.07"
    assert data["mailboxes"] == ["mario.rossi@pec.it", "studio.rossi@pec.it"]
    assert "IT60X0542811101000000123456" in data["payment_instructions"]
    assert data["paid"] is False and data["email_to"] == "mario.rossi@example.it"
    with Session(engine) as session:
        order = session.get(Order, data["order_id"])
        assert order.status == OrderStatus.AWAITING_PAYMENT.value and order.auto_renew
        assert order.consent_terms_by == "system" and order.consent_privacy_at is not None


def test_renew_text_output_and_plan_change(cli, boxes):
    result = cli(
        "renew",
        "mario.rossi@pec.it",
        "--years",
        "1",
        "--plan",
        "premium",
        "--payment-method",
        "carta",
        *CONSENTS,
    )
    assert "1000000000" in result.output and "48,80" in result.output  # 40,00 + 22%


def test_renew_refusals_leave_nothing_behind(cli, engine, boxes):
    missing = cli(
        "renew",
        "studio.rossi@pec.it",
        "--years",
        "1",
        "--payment-method",
        "carta",
        "--accept-terms",
        ok=False,
    )
    assert missing.exit_code == 2 and "--accept-clauses" in missing.output
    unknown = cli(
        "renew", "nobody@pec.it", "--years", "1", "--payment-method", "carta", *CONSENTS, ok=False
    )
    assert unknown.exit_code == 1 and "nobody@pec.it" in unknown.output
    auto = cli(
        "renew",
        "auto.rossi@pec.it",
        "--years",
        "1",
        "--payment-method",
        "carta",
        *CONSENTS,
        ok=False,
    )
    assert auto.exit_code == 1 and "auto.rossi@pec.it" in auto.output
    downgrade = cli(
        "renew",
        "mario.rossi@pec.it",
        "--years",
        "1",
        "--plan",
        "STANDARD",
        "--payment-method",
        "carta",
        *CONSENTS,
        ok=False,
    )
    assert downgrade.exit_code == 1
    with Session(engine) as session:
        assert session.exec(select(Order)).all() == []  # no draft left behind
    cli(
        "renew",
        "mario.rossi@pec.it",
        "--years",
        "1",
        "--plan",
        "STANDARD",
        "--payment-method",
        "carta",
        *CONSENTS,
        "--confirm-archive-deletion",
    )
    again = cli(
        "renew",
        "mario.rossi@pec.it",
        "--years",
        "1",
        "--payment-method",
        "carta",
        *CONSENTS,
        ok=False,
    )
    assert again.exit_code == 1 and "1000000000" in again.output  # the open order


def _place_orders(cli):
    cli("renew", "mario.rossi@pec.it", "--years", "1", "--payment-method", "bonifico", *CONSENTS)
    cli("renew", "anna.bianchi@pec.it", "--years", "1", "--payment-method", "bonifico", *CONSENTS)


def test_orders_list_in_every_format_and_filters(cli, boxes):
    _place_orders(cli)
    table = cli("orders", "list").output
    assert "1000000001" in table.splitlines()[1]  # newest first
    assert "30,50" in table and "Mario Rossi" in table
    rows = list(csv.DictReader(io.StringIO(cli("orders", "list", "--format", "csv").output)))
    assert [r["number"] for r in rows] == ["1000000001", "1000000000"]
    assert rows[1]["gross"] == "30.50" and rows[1]["status"] == "in_attesa"
    data = json.loads(cli("orders", "list", "--format", "json", "--holder", "bianchi").output)
    assert [d["number"] for d in data] == [1000000001]
    assert json.loads(cli("orders", "list", "--format", "json", "--status", "pagato").output) == []
    assert len(json.loads(cli("orders", "list", "--format", "json", "--limit", "1").output)) == 1
    assert json.loads(
        cli("orders", "list", "--format", "json", "--holder", "RSSMRA85T10A562S").output
    )


def test_orders_show_and_cancel(cli, engine, boxes):
    _place_orders(cli)
    text = cli("orders", "show", "1000000000").output
    assert "mario.rossi@pec.it" in text and "30,50" in text and "PEC PRO" in text
    data = json.loads(cli("orders", "show", "1000000000", "--format", "json").output)
    assert data["gross"] == "30.50" and data["payment"] is None
    assert data["lines"][0]["plan"] == "PRO"
    assert cli("orders", "show", "1234567890", ok=False).exit_code == 1
    assert cli("orders", "show", "abc", ok=False).exit_code == 1

    cli("orders", "cancel", "1000000000", "--reason", "cliente ha rinunciato")
    assert "1000000000" in cli("orders", "cancel", "1000000000").output  # nothing changed
    with Session(engine) as session:
        order = session.exec(select(Order).where(Order.number == 1_000_000_000)).one()
        assert order.status == OrderStatus.CANCELLED.value
    # The mailbox is free for a new order.
    cli("renew", "mario.rossi@pec.it", "--years", "1", "--payment-method", "carta", *CONSENTS)
    assert get(engine, Mailbox, boxes["pro"]).expiry == TODAY + timedelta(days=40)


def test_buy_a_new_address_then_pay(cli, engine, boxes):
    with Session(engine) as session:
        holder_id = session.get(Mailbox, boxes["std"]).holder_id
    data = json.loads(
        cli(
            "buy",
            "nuova.casella@pec.it",
            "--holder-id",
            str(holder_id),
            "--plan",
            "pro",
            "--years",
            "1",
            "--payment-method",
            "bonifico",
            *CONSENTS,
            "--format",
            "json",
        ).output
    )
    assert data["gross"] == "30.50" and data["paid"] is False
    refused = cli(
        "buy",
        "studio.rossi@pec.it",
        "--holder-id",
        str(holder_id),
        "--plan",
        "PRO",
        "--years",
        "1",
        "--payment-method",
        "carta",
        *CONSENTS,
        ok=False,
    )
    assert refused.exit_code == 1 and "studio.rossi@pec.it" in refused.output
    paid = cli(
        "payments", "register", str(data["number"]), "--amount", "30,50", "--method", "bonifico"
    ).output
    assert "nuova.casella@pec.it" in paid
    with Session(engine) as session:
        created = session.exec(select(Mailbox).where(Mailbox.address == "nuova.casella@pec.it"))
        assert created.one().expiry > TODAY


def test_orders_csv_defuses_a_holder_name_like_a_formula(cli, engine):
    holder = add_holder(engine, ("=1+1", "@cmd"), "x@example.it")
    add_mailbox(engine, holder, "formula@pec.it", TODAY + timedelta(days=20))
    cli("renew", "formula@pec.it", "--years", "1", "--payment-method", "bonifico", *CONSENTS)
    output = cli("orders", "list", "--format", "csv").output
    (row,) = csv.DictReader(io.StringIO(output))
    assert row["holder"] == "'=1+1 @cmd" and row["gross"] == "12.08"  # a number, not text
