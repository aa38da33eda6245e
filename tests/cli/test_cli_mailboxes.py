"""`pec-tui mailboxes export|import` through click's CliRunner."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlmodel import Session

from pec_tui.cli import main
from pec_tui.db.models import AuditEvent, Holder, Mailbox
from pec_tui.demo import seeding
from pec_tui.services.mailbox_io import COLUMNS

TODAY = date.today()
HEADER = ",".join(COLUMNS)
PLAN = "STANDARD,2027-03-31,false,0,0,120,0"


@pytest.fixture
def cli(db_url):
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(main, ["--database-url", db_url, "--lang", "en", "mailboxes", *args])

    return invoke


@pytest.fixture
def seeded(engine):
    return seeding.seed_demo(engine, 300, 11, TODAY)


def _counts(engine) -> tuple[int, int, int]:
    with Session(engine) as session:
        return tuple(
            session.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (Mailbox, Holder, AuditEvent)
        )


def test_export_to_standard_output_and_to_a_file(cli, seeded, tmp_path):
    shown = cli("export")
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.splitlines()[0] == HEADER
    assert len(shown.stdout.splitlines()) == 301
    assert "300 mailboxes exported." in shown.stderr

    target = tmp_path / "out" / "mailboxes.csv"
    target.parent.mkdir()
    saved = cli("export", "--output", str(target))
    assert saved.exit_code == 0, saved.output
    assert target.read_text(encoding="utf-8") == shown.stdout
    assert [p.name for p in target.parent.iterdir()] == ["mailboxes.csv"]


def test_export_json_of_the_mailboxes_expiring_within_90_days(cli, engine, seeded):
    result = cli("export", "--format", "json", "--expiring-within", "90d")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    expiries = [date.fromisoformat(row["expiry"]) for row in rows]
    assert rows and expiries == sorted(expiries)
    assert all(TODAY <= day <= TODAY + timedelta(days=90) for day in expiries)
    with Session(engine) as session:
        expected = session.execute(
            select(func.count())
            .select_from(Mailbox)
            .where(Mailbox.expiry.between(TODAY, TODAY + timedelta(days=90)))
        ).scalar_one()
    assert len(rows) == expected


def test_a_bad_period_is_a_clear_usage_error(cli):
    result = cli("export", "--expiring-within", "3 months")
    assert result.exit_code == 2
    assert "Invalid value for '--expiring-within'" in result.stderr
    assert "e.g. 3m or 90d" in result.stderr


def test_import_then_export_gives_the_file_back(cli, tmp_path):
    source = tmp_path / "in.csv"
    source.write_text(
        "\n".join(
            (
                HEADER,
                "mario.rossi@pec.it,RSSMRA85T10A562S,Mario Rossi,privato,mario@example.it," + PLAN,
                "info@acmesrl.it,01234560017,Acme S.r.l.,azienda,info@acme.it,"
                "PRO,2026-12-31,true,2,1,1500,300",
            )
        )
        + "\n",
        encoding="utf-8",
    )
    imported = cli("import", str(source))
    assert imported.exit_code == 0, imported.output
    assert imported.stdout == "Imported 2 mailboxes (2 new holders).\n"
    assert cli("export").stdout == source.read_text(encoding="utf-8")


def test_a_file_with_four_bad_rows_imports_nothing_and_says_why_by_line(cli, engine, tmp_path):
    source = tmp_path / "bad.csv"
    source.write_text(
        "\n".join(
            (
                HEADER,
                "mario.rossi@pec.it,RSSMRA85T10A562S,Mario Rossi,privato,mario@example.it," + PLAN,
                "anna.bianchi@pec.it,BNCNNA80A41H501X,Anna Bianchi,privato,anna@example.it," + PLAN,
                "info@acmesrl.it,01234560017,Acme S.r.l.,azienda,info@acme.it,"
                "GOLD,2026-12-31,true,0,0,10,0",
                "luca.verdi@pec.it,VRDLCU75C12F205W,Luca Verdi,privato,luca@example.it,"
                "PRO,2026-13-45,false,0,0,10,0",
                "Mario.Rossi@PEC.it,RSSMRA85T10A562S,Mario Rossi,privato,mario@example.it," + PLAN,
            )
        )
        + "\n",
        encoding="utf-8",
    )
    before = _counts(engine)

    result = cli("import", str(source))

    assert result.exit_code == 1
    assert result.stdout == ""
    problems = [line for line in result.stderr.splitlines() if line.startswith("line ")]
    assert problems == [
        "line 3: The codice fiscale BNCNNA80A41H501X is not valid: its last character (check "
        "character) does not match the others. Check it for typing errors.",
        "line 4: Unknown plan “GOLD”: expected STANDARD, PRO, PREMIUM.",
        "line 5: “2026-13-45” is not a valid expiry date: expected YYYY-MM-DD, e.g. 2027-03-31.",
        "line 6: The address mario.rossi@pec.it is already on line 2.",
    ]
    assert "Nothing imported: 4 problems to fix." in result.stderr
    assert _counts(engine) == before


def test_a_file_that_is_not_utf8_is_refused_with_advice(cli, tmp_path):
    source = tmp_path / "latin1.csv"
    source.write_bytes(
        (
            HEADER + "\nnicolo@pec.it,RSSMRA85T10A562S,Nicolò Rossi,privato,n@example.it," + PLAN
        ).encode("latin-1")
    )
    result = cli("import", str(source))
    assert result.exit_code == 1
    assert "is not UTF-8 text" in result.stderr


def test_a_spreadsheet_export_with_a_byte_order_mark_imports(cli, engine, tmp_path):
    source = tmp_path / "excel.csv"
    rows = [COLUMNS, ["m@pec.it", "RSSMRA85T10A562S", "Mario Rossi", "privato", "m@example.it",
                      "standard", "2027-03-31", "no", "1", "0", "5", "0"]]  # fmt: skip
    text = io.StringIO()
    csv.writer(text, delimiter=";").writerows(rows)
    source.write_text(text.getvalue(), encoding="utf-8-sig")
    result = cli("import", str(source))
    assert result.exit_code == 0, result.output
    assert _counts(engine)[0] == 1
