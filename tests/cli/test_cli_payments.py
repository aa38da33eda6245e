"""`pec-tui payments register|import`, `credit show|topup`, `lifecycle run` and `outbox ...`."""

from __future__ import annotations

import json
import mailbox
from datetime import date, timedelta
from decimal import Decimal

import pytest
from argon2 import PasswordHasher
from book_builder import add_holder, add_mailbox, add_reseller, get
from click.testing import CliRunner

from pec_tui.cli import main
from pec_tui.db.models import Mailbox, Reseller
from pec_tui.domain.enums import Role
from pec_tui.domain.lifecycle import add_years
from pec_tui.services import auth, credit, operators

TODAY = date.today()
EXPIRY = TODAY + timedelta(days=40)
CONSENTS = ["--accept-terms", "--accept-clauses", "--accept-privacy"]


@pytest.fixture
def cli(engine, db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("PEC_TUI_MAILDIR", str(tmp_path / "Maildir"))
    runner = CliRunner()

    def invoke(*args: str, ok: bool = True):
        result = runner.invoke(main, ["--database-url", db_url, *args], catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return invoke


@pytest.fixture
def order(cli, engine):
    """A PRO mailbox with an order awaiting payment: 25,00 € + IVA = 30,50 €."""
    reseller = add_reseller(engine, credit_cents=2_000)
    holder = add_holder(engine, reseller_id=reseller)
    box = add_mailbox(
        engine, holder, "mario.rossi@pec.it", EXPIRY, plan="PRO", reseller_id=reseller
    )
    cli("renew", "mario.rossi@pec.it", "--years", "1", "--payment-method", "bonifico", *CONSENTS)
    return {"box": box, "reseller": reseller, "number": "1000000000"}


@pytest.mark.parametrize("amount", ["30,50", "30.50", "€ 30,50"])
def test_register_payment_any_decimal_comma_or_point(cli, engine, order, amount):
    result = cli(
        "payments",
        "register",
        order["number"],
        "--amount",
        amount,
        "--method",
        "bonifico",
        "--reference",
        "CRO 0001",
        "--date",
        TODAY.isoformat(),
    )
    assert "1000000000" in result.output and "mario.rossi@pec.it" in result.output
    assert get(engine, Mailbox, order["box"]).expiry == add_years(EXPIRY, 1)
    again = cli(
        "payments",
        "register",
        order["number"],
        "--amount",
        amount,
        "--method",
        "bonifico",
        "--format",
        "json",
    )
    assert json.loads(again.output)["already_paid"] is True
    assert get(engine, Mailbox, order["box"]).expiry == add_years(EXPIRY, 1)


@pytest.mark.usefixtures("italian")  # reads Italian money
def test_register_payment_refusals(cli, engine, order):
    wrong = cli(
        "payments",
        "register",
        order["number"],
        "--amount",
        "30,00",
        "--method",
        "bonifico",
        ok=False,
    )
    assert wrong.exit_code == 1 and "30,50" in wrong.output
    bad = cli(
        "payments",
        "register",
        order["number"],
        "--amount",
        "30,505",
        "--method",
        "bonifico",
        ok=False,
    )
    assert bad.exit_code == 2
    unknown = cli(
        "payments", "register", "1999999999", "--amount", "1", "--method", "carta", ok=False
    )
    assert unknown.exit_code == 1
    assert get(engine, Mailbox, order["box"]).expiry == EXPIRY
    data = json.loads(
        cli(
            "payments",
            "register",
            order["number"],
            "--amount",
            "30.50",
            "--method",
            "carta",
            "--format",
            "json",
        ).output
    )
    assert data["renewed"][0]["old_expiry"] == EXPIRY.isoformat()
    assert data["amount"] == "30.50" and data["already_paid"] is False


def test_import_statement(cli, engine, order, tmp_path):
    statement = tmp_path / "estratto.csv"
    statement.write_text(
        "Data;Importo;Causale\n"
        f"{TODAY:%d/%m/%Y};30,50;Bonifico ordine {order['number']}\n"
        f"{TODAY:%d/%m/%Y};15,00;Senza riferimento\n",
        encoding="cp1252",
    )
    text = cli("payments", "import", str(statement)).output
    assert "1000000000" in text and "Senza riferimento" in text
    data = json.loads(cli("payments", "import", str(statement), "--format", "json").output)
    assert data["counts"]["already_paid"] == 1 and data["counts"]["unmatched"] == 1
    assert get(engine, Mailbox, order["box"]).expiry > EXPIRY
    broken = tmp_path / "broken.csv"
    broken.write_text("a;b\n1;2\n")
    assert cli("payments", "import", str(broken), ok=False).exit_code == 1


def test_import_statement_with_an_unreadable_line_registers_nothing(cli, engine, order, tmp_path):
    statement = tmp_path / "estratto.csv"
    statement.write_text(
        "Data;Importo;Causale\n"
        f"{TODAY:%d/%m/%Y};30,50;Bonifico ordine {order['number']}\n"
        "31/12/9999;15,00;Senza riferimento\n"
        f"{TODAY:%d/%m/%Y};1\x005,00;x\n",
        encoding="utf-8",
    )
    result = cli("payments", "import", str(statement), ok=False)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.splitlines() == [
        "line 3: 9999-12-31 is outside the years 2000 to 2100.",
        "line 4: A value: character 2 is a control or invisible character (U+0000); remove it.",
        "Nothing registered: 2 lines to fix.",
    ]
    assert get(engine, Mailbox, order["box"]).expiry == EXPIRY


@pytest.mark.usefixtures("italian")  # reads Italian money
def test_credit_show_topup_and_renew_with_credit(cli, engine, order):
    shown = cli("credit", "show", str(order["reseller"])).output
    assert "20,00" in shown
    assert "Rivendita Srl" in cli("credit", "show").output
    cli("credit", "topup", str(order["reseller"]), "100,00", "--note", "bonifico 12/2026")
    assert get(engine, Reseller, order["reseller"]).credit_cents == 12_000
    assert cli("credit", "topup", str(order["reseller"]), "-5", ok=False).exit_code == 2
    assert cli("credit", "topup", "999", "5", ok=False).exit_code == 1

    holder = add_holder(
        engine, ("Anna", "Bianchi"), "anna@example.it", reseller_id=order["reseller"]
    )
    add_mailbox(engine, holder, "anna@pec.it", EXPIRY, reseller_id=order["reseller"])
    data = json.loads(
        cli(
            "renew",
            "anna@pec.it",
            "--years",
            "1",
            "--payment-method",
            "credito",
            *CONSENTS,
            "--format",
            "json",
        ).output
    )
    assert data["paid"] is True and data["gross"] == "12.08"
    history = json.loads(cli("credit", "show", str(order["reseller"]), "--format", "json").output)
    assert history["balance"] == "107.92"
    assert [m["amount"] for m in history["movements"]] == ["-12.08", "100.00"]


def test_lifecycle_run_and_outbox(cli, engine, order, tmp_path):
    holder = add_holder(engine, ("Anna", "Bianchi"), "anna@example.it")
    add_mailbox(engine, holder, "anna@pec.it", TODAY + timedelta(days=30))
    first = json.loads(
        cli("lifecycle", "run", "--today", TODAY.isoformat(), "--format", "json").output
    )
    assert first["reminders"] == 2 and first["interrupted"] is False
    again = cli("lifecycle", "run", "--today", TODAY.isoformat()).output
    assert TODAY.isoformat() in again
    assert (
        json.loads(
            cli("lifecycle", "run", "--today", TODAY.isoformat(), "--format", "json").output
        )["reminders"]
        == 0
    )

    listed = json.loads(cli("outbox", "list", "--format", "json").output)
    assert {m["status"] for m in listed} == {"queued"} and len(listed) == 3
    assert "queued 3" in cli("outbox", "list").output
    flushed = json.loads(cli("outbox", "flush", "--format", "json").output)
    assert (flushed["sent"], flushed["failed"], flushed["remaining"]) == (3, 0, 0)
    assert len(mailbox.Maildir(tmp_path / "Maildir", create=False)) == 3
    assert "0" in cli("outbox", "flush").output
    assert cli("outbox", "requeue", "1").exit_code == 0
    assert cli("lifecycle", "run", "--today", "yesterday", ok=False).exit_code == 2


def test_smtp_failure_exit_status(cli, engine, order, monkeypatch):
    monkeypatch.setenv("PEC_TUI_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("PEC_TUI_SMTP_PORT", "1")
    monkeypatch.setenv("PEC_TUI_SMTP_SECURITY", "none")
    result = cli("outbox", "flush", ok=False)
    assert result.exit_code == 1 and "127.0.0.1" in result.output


@pytest.mark.usefixtures("italian")  # reads Italian money and refusals
def test_a_reseller_pays_its_order_with_credit_never_by_transfer(
    cli, engine, order, tmp_path, monkeypatch
):
    monkeypatch.setattr(
        auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    admin = auth.create_first_admin(engine, "boss", "boss-password-1")
    operators.create_operator(
        engine, admin, "negozio", "negozio-password-1", Role.RESELLER, order["reseller"]
    )
    monkeypatch.setenv("PEC_TUI_OPERATOR", "negozio")
    monkeypatch.setenv("PEC_TUI_PASSWORD", "negozio-password-1")
    number = order["number"]

    bank = cli(
        "payments", "register", number, "--amount", "30,50", "--method", "bonifico", ok=False
    )
    assert bank.exit_code == 77 and "credito prepagato" in bank.output
    statement = tmp_path / "estratto.csv"
    statement.write_text(f"Data;Importo;Causale\n{TODAY:%d/%m/%Y};30,50;Ordine {number}\n")
    assert cli("payments", "import", str(statement), ok=False).exit_code == 77
    short = cli("payments", "credit", number, ok=False)
    assert short.exit_code == 1 and "20,00" in short.output and "30,50" in short.output
    assert get(engine, Mailbox, order["box"]).expiry == EXPIRY

    credit.top_up(engine, admin, order["reseller"], Decimal("50.00"))
    paid = cli("payments", "credit", number)
    assert "30,50" in paid.output and "mario.rossi@pec.it" in paid.output
    assert get(engine, Mailbox, order["box"]).expiry > EXPIRY
    assert get(engine, Reseller, order["reseller"]).credit_cents == 7_000 - 3_050
