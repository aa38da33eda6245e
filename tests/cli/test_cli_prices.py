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

# These tests read Italian money, dates and words: the product's default language.
pytestmark = pytest.mark.usefixtures("italian")


@pytest.fixture
def cli(db_url):
    runner = CliRunner()

    def invoke(*args: str, lang: str = "en"):
        return runner.invoke(main, ["--database-url", db_url, "--lang", lang, "prices", *args])

    return invoke


def test_show_lists_every_item_in_italian_money(cli):
    result = cli("show", lang="it")
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
    assert list(lines) == [item.value for item in PriceItem]
    # Babel puts a no-break space between the amount and the euro sign.
    assert "9,90\u00a0€" in lines["STANDARD"]
    assert "59,90\u00a0€" in lines["KIT_SMART_CARD"]


def test_show_in_english_says_how_each_item_is_billed(cli):
    lines = {line.split()[0]: line for line in cli("show").stdout.splitlines()[1:]}
    assert lines["STANDARD"].endswith("€9.90  per year")
    assert lines["KIT_USB_TOKEN"].endswith("€69.90  one-off")


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
