"""`pec-tui prices show|set` through click's CliRunner."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlmodel import Session

from pec_tui.cli import main
from pec_tui.db.models import AuditEvent
from pec_tui.domain.enums import PriceItem
from pec_tui.services.prices import get_price_list


@pytest.fixture
def cli(db_url):
    runner = CliRunner()

    def invoke(*args: str, lang: str = "it"):
        return runner.invoke(main, ["--database-url", db_url, "--lang", lang, "prices", *args])

    return invoke


def test_show_lists_every_item_in_italian_money(cli):
    result = cli("show")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1 + len(PriceItem)
    standard = next(line for line in lines if line.startswith("STANDARD "))
    # Babel puts a no-break space between the amount and the euro sign.
    assert standard.split()[-4:] == ["9,90", "€", "per", "year"]
    assert any("59,90\u00a0€" in line and "one-off" in line for line in lines)


def test_show_in_english(cli):
    assert "€9.90" in cli("show", lang="en").stdout


def test_show_as_json_has_exact_amounts(cli):
    items = json.loads(cli("show", "--format", "json").stdout)
    assert {item["item"]: item["amount"] for item in items}["PRO"] == "25.00"
    assert {item["item"]: item["per_year"] for item in items}["KIT_USB_TOKEN"] is False


@pytest.mark.parametrize(
    ("item", "amount", "stored"),
    [
        ("standard", "9,95", Decimal("9.95")),
        ("PRO", "27.5", Decimal("27.50")),
        ("Kit_Remote", "35", Decimal("35.00")),
        ("EXTRA_ARCHIVE_GB", "2,5 €", Decimal("2.50")),
    ],
)
def test_set_takes_the_item_in_any_case_and_the_amount_with_point_or_comma(
    cli, engine, item, amount, stored
):
    result = cli("set", item, amount)
    assert result.exit_code == 0, result.output
    code = item.upper()
    assert get_price_list(engine)[PriceItem(code)] == stored
    assert result.stdout.startswith(f"{code}: ")
    with Session(engine) as session:
        event = session.execute(select(AuditEvent)).scalar_one()
    assert (event.action, event.entity_id, event.details["new"]) == ("price.set", code, str(stored))


@pytest.mark.parametrize("amount", ["9.999", "1.234,56", "-1", "nove", "9,", ""])
def test_set_refuses_an_amount_it_cannot_read_exactly(cli, engine, amount):
    result = cli("set", "STANDARD", "--", amount)
    assert result.exit_code == 2
    assert "is not an amount" in result.stderr
    assert get_price_list(engine)[PriceItem.STANDARD] == Decimal("9.90")


def test_set_refuses_an_unknown_item(cli):
    result = cli("set", "GOLD", "1")
    assert result.exit_code == 2
    assert "Invalid value for 'ITEM'" in result.stderr
