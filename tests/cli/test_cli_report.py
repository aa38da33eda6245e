"""`pec-tui report renewals|revenue`: the dashboard's figures as text bars, JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta

import pytest
from book_builder import add_holder, add_mailbox, add_reseller
from click.testing import CliRunner

from pec_tui.cli import EXIT_REFUSED, main
from pec_tui.domain.enums import Role
from pec_tui.services import dashboard
from pec_tui.services.actor import SYSTEM
from pec_tui.services.operators import OperatorAdmin

TODAY = date.today()
CONSENTS = ["--accept-terms", "--accept-clauses", "--accept-privacy"]


def _next_month(months: int) -> date:
    return dashboard.months_from(TODAY, months + 1)[months]


@pytest.fixture
def cli(engine, db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("PEC_TUI_MAILDIR", str(tmp_path / "Maildir"))
    runner = CliRunner()

    def invoke(*args: str, code: int = 0):
        result = runner.invoke(main, ["--database-url", db_url, *args], catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result

    return invoke


@pytest.fixture
def book(engine):
    """Two resellers: next month 3 mailboxes of the first (one auto-renews), 1 of the other."""
    first, other = add_reseller(engine, "Prima"), add_reseller(engine, "Seconda")
    holder = add_holder(engine, reseller_id=first)
    stranger = add_holder(engine, ("Anna", "Bianchi"), "anna@example.it", reseller_id=other)
    month = _next_month(1)
    add_mailbox(engine, holder, "a@pec.it", month, reseller_id=first, plan="STANDARD")
    add_mailbox(
        engine, holder, "b@pec.it", month + timedelta(days=5), reseller_id=first, plan="PRO"
    )
    add_mailbox(
        engine,
        holder,
        "c@pec.it",
        dashboard.month_end(month),
        reseller_id=first,
        plan="PREMIUM",
        auto_renew=True,
        extra_mailbox_gb=2,
    )
    add_mailbox(engine, stranger, "d@pec.it", month, reseller_id=other)
    return {"first": first, "other": other, "month": month}


def test_renewals_json_rows_are_exactly_the_documented_ones(cli, book):
    rows = json.loads(cli("report", "renewals", "--format", "json").output)
    assert len(rows) == 12
    assert rows[0]["month"] == f"{TODAY.year:04d}-{TODAY.month:02d}"
    assert all(
        set(r) == {"month", "expiring", "auto_renew", "manual", "expected_revenue"} for r in rows
    )
    second = rows[1]
    # 9.90 + 25.00 + 40.00 + 2 × 3.00 (STANDARD, PRO, PREMIUM with 2 GB) + 9.90 (the other's)
    assert second == {
        "month": dashboard.month_key(book["month"]),
        "expiring": 4,
        "auto_renew": 1,
        "manual": 3,
        "expected_revenue": "90.80",
    }
    assert sum(r["expiring"] for r in rows) == 4


def test_renewals_of_one_reseller_csv_and_months(cli, book):
    out = cli(
        "report", "renewals", "--months", "3", "--reseller", str(book["first"]), "--format", "csv"
    ).output
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["month", "expiring", "auto_renew", "manual", "expected_revenue"]
    assert len(rows) == 1 + 3
    assert rows[2] == [dashboard.month_key(book["month"]), "3", "1", "2", "80.90"]


def test_renewals_text_draws_the_bars(cli, book):
    out = cli("report", "renewals").output
    lines = out.splitlines()
    assert "automatic renewal" in lines[0]
    label = book["month"].strftime("%b %Y")
    [line] = [line for line in lines if line.startswith(label)]
    assert "█" in line and "▒" in line  # auto-renew part, then the manual part
    assert line.rstrip().endswith("€90.80")
    assert " 4 " in line


def test_a_reseller_operator_reads_only_its_own_book(engine, db_url, book):
    admin = OperatorAdmin(engine, SYSTEM)
    admin.create("riv", "una-password-lunga", Role.RESELLER, book["first"])
    as_reseller = ["--operator", "riv"]
    env_result = CliRunner(env={"PEC_TUI_PASSWORD": "una-password-lunga"})
    url = db_url
    result = env_result.invoke(
        main, ["--database-url", url, *as_reseller, "report", "renewals", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert rows[1]["expiring"] == 3
    refused = env_result.invoke(
        main,
        [
            "--database-url",
            url,
            *as_reseller,
            "report",
            "revenue",
            "--reseller",
            str(book["other"]),
        ],
    )
    assert refused.exit_code == EXIT_REFUSED
    assert "Traceback" not in refused.output and "own book" in refused.output


def test_revenue_counts_a_payment_in_its_month(cli, engine, book, monkeypatch):
    monkeypatch.setenv("PEC_TUI_SYSTEM", "1")
    cli("renew", "a@pec.it", "--years", "1", "--payment-method", "bonifico", *CONSENTS)
    cli("payments", "register", "1000000000", "--amount", "12.08", "--method", "bonifico")
    rows = json.loads(cli("report", "revenue", "--months", "2", "--format", "json").output)
    assert rows == [
        {
            "month": dashboard.month_key(dashboard.months_from(TODAY, 1)[0] - timedelta(days=1)),
            "payments": 0,
            "paid": "0.00",
        },
        {
            "month": dashboard.month_key(TODAY),
            "payments": 1,
            "paid": "12.08",
        },
    ]
    text = cli("report", "revenue", "--months", "2").output.splitlines()
    assert text[-1].startswith(TODAY.strftime("%b %Y")) and "█" in text[-1]
    assert text[-1].rstrip().endswith("€12.08")
    bad = cli("report", "revenue", "--months", "0", code=2)
    assert "Traceback" not in bad.output
