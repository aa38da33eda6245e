"""Hostile files for `mailboxes import` and `payments import`: refused by line, never a crash.

Every refusal leaves the database as it was; a fuzz test feeds random bytes and random cells
on SQLite and PostgreSQL and accepts only two outcomes: imported, or refused with messages.
"""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlmodel import Session

from pec_tui.db.models import AuditEvent, Holder, Mailbox, Payment
from pec_tui.services.actor import SYSTEM
from pec_tui.services.mailbox_io import COLUMNS, ImportRejected, import_mailboxes
from pec_tui.services.statement import StatementError, decode, import_statement

HEADER = ",".join(COLUMNS)
GOOD = {
    "address": "mario.rossi@pec.it",
    "holder_tax_code": "RSSMRA85T10A562S",
    "holder_name": "Mario Rossi",
    "holder_kind": "privato",
    "reference_email": "mario@example.it",
    "plan": "STANDARD",
    "expiry": "2027-03-31",
    "auto_renew": "false",
    "extra_mailbox_gb": "0",
    "extra_archive_gb": "0",
    "mailbox_used_mb": "120",
    "archive_used_mb": "0",
}


def _counts(engine) -> tuple[int, ...]:
    with Session(engine) as session:
        return tuple(
            session.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (Mailbox, Holder, AuditEvent, Payment)
        )


def _row(**changes: str) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow([{**GOOD, **changes}[c] for c in COLUMNS])
    return out.getvalue().removesuffix("\n")


def _refused(engine, text: str) -> list[str]:
    before = _counts(engine)
    with pytest.raises(ImportRejected) as rejected:
        import_mailboxes(engine, SYSTEM, io.StringIO(text))
    assert _counts(engine) == before
    return [str(problem) for problem in rejected.value.problems]


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("mailbox_used_mb", "²", "mailbox_used_mb must be a whole number"),
        ("mailbox_used_mb", "١٢٠", "mailbox_used_mb must be a whole number"),
        ("mailbox_used_mb", "3000000000", "mailbox_used_mb must be at most 2147483647"),
        ("archive_used_mb", "9" * 10, "archive_used_mb must be at most 2147483647"),
        ("archive_used_mb", "9" * 30, "archive_used_mb: at most 10 characters (30 given)"),
        ("extra_mailbox_gb", "18446744073709551616", "at most 10 characters"),
        ("expiry", "9999-12-31", "expiry: 9999-12-31 is outside the years 2000 to 2100"),
        ("expiry", "1999-12-31", "outside the years 2000 to 2100"),
        ("expiry", "٢٠٢٧-03-31", "is not a valid expiry date"),
        ("holder_name", "R" * 81, "holder_name: at most 80 characters (81 given)"),
        ("holder_name", "Mario\x00Rossi", "holder_name: character 6 is a control or invisible"),
        ("holder_name", "Mario\u202eRossi", "(U+202E)"),
        ("holder_name", "Mario\nRossi", "(U+000A)"),
        ("plan", "\x1b[31mPRO", "plan: character 1 is a control or invisible character"),
        ("reference_email", "a" * 250 + "@example.it", "reference_email: at most 254"),
    ],
)
def test_a_hostile_value_is_refused_by_line_and_nothing_changes(engine, column, value, message):
    problems = _refused(
        engine, f"{HEADER}\n{_row(address='ok@pec.it')}\n{_row(**{column: value})}\n"
    )
    assert len(problems) == 1 and problems[0].startswith("line 3: "), problems
    assert message in problems[0], problems


def test_a_duplicate_header_column_is_refused(engine):
    problems = _refused(engine, f"{HEADER},plan\n{_row()},PRO\n")
    assert problems == ["line 1: Columns named more than once: plan; each column must appear once."]


def test_a_field_over_the_csv_limit_is_a_line_numbered_problem(engine):
    huge = "x" * 200_000
    problems = _refused(engine, f"{HEADER}\n{_row()}\n{_row(holder_name=huge)}\n")
    assert problems == [
        "line 3: A value is longer than 131072 characters: this is not a file of mailboxes "
        "(nothing after this line was read)."
    ]


def test_unknown_header_names_are_quoted_safely_and_cut_short(engine):
    [problem] = _refused(engine, HEADER + ",\x1b[2J" + "y" * 500 + "\n")
    assert "\x1b" not in problem and "<U+001B>[2j" in problem and len(problem) < 400


def test_limits_hold_at_their_edge(engine):
    edge = _row(holder_name="R" * 80, mailbox_used_mb="2147483647", expiry="2100-12-31")
    assert import_mailboxes(engine, SYSTEM, io.StringIO(f"{HEADER}\n{edge}\n")).mailboxes == 1


# --- fuzz -------------------------------------------------------------------------------------

_CELL = st.one_of(
    st.sampled_from(
        [
            "",
            "0",
            "-1",
            "²",
            "١٢",
            "2147483648",
            "9" * 25,
            "2027-02-30",
            "9999-12-31",
            "true",
            "PRO",
            "PREMIUM",
            "azienda",
            "01234560017",
            "x@pec.it",
            '"',
            "\x00",
            "\u2028",
            "é" * 90,
        ]
    ),
    st.text(max_size=12),
)


@st.composite
def _files(draw: st.DrawFn) -> bytes:
    """A header (sometimes mangled) and a few rows of good values with random cells mixed in."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=300))
    header = list(COLUMNS)
    if draw(st.booleans()):
        header = draw(st.permutations(header))
    if draw(st.integers(0, 4)) == 0:
        header.append(draw(st.sampled_from(["plan", "colour", "", "address"])))
    lines = [",".join(header)]
    for index in range(draw(st.integers(0, 4))):
        values = {**GOOD, "address": f"box{index}-{draw(st.integers(0, 3))}@pec.it"}
        for column in draw(st.sets(st.sampled_from(COLUMNS), max_size=3)):
            values[column] = draw(_CELL)
        lines.append(",".join(values.get(name, "") for name in header))
    separator = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    return separator.join(lines).encode("utf-8", "surrogatepass")


_FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)


@_FUZZ
@given(data=_files())
def test_fuzz_mailbox_import_imports_or_refuses_with_messages(engine, data):
    before = _counts(engine)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return  # the command refuses such a file before the service (tests/cli)
    try:
        result = import_mailboxes(engine, SYSTEM, io.StringIO(text, newline=""))
    except ImportRejected as rejected:
        assert rejected.problems and all(str(p).startswith("line ") for p in rejected.problems)
        assert _counts(engine) == before
    else:
        assert _counts(engine)[0] == before[0] + result.mailboxes


_STATEMENT_CELL = st.one_of(
    st.sampled_from(
        ["", "05/12/2026", "31/02/2026", "05/12/9999", "12,08", "-3,00", "١٢", "1.234", "\x00"]
    ),
    st.text(max_size=10),
)


@st.composite
def _statements(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        return draw(st.binary(max_size=300))
    header = draw(
        st.sampled_from(
            [
                "Data;Importo;Causale",
                "Date,Description,Credit,Debit",
                "Data;Importo;Importo;Causale",
            ]
        )
    )
    separator = ";" if ";" in header else ","
    width = header.count(separator) + 1
    rows = [
        separator.join(draw(st.lists(_STATEMENT_CELL, min_size=width, max_size=width)))
        for _ in range(draw(st.integers(0, 4)))
    ]
    return "\n".join([header, *rows]).encode("utf-8", "surrogatepass")


@_FUZZ
@given(data=_statements())
def test_fuzz_payments_import_registers_or_refuses_with_messages(engine, data):
    before = _counts(engine)
    try:
        report = import_statement(engine, SYSTEM, decode(data), "fuzz.csv", date(2026, 12, 10))
    except StatementError as refused:
        assert str(refused)
        assert _counts(engine) == before
    else:
        assert all(result.line_no >= 1 for result in report.results)


@settings(_FUZZ, max_examples=8)  # each example opens the database twice: keep it short
@given(data=st.one_of(_files(), _statements()))
def test_fuzz_both_commands_answer_random_files_without_a_traceback(db_url, tmp_path, data):
    from click.testing import CliRunner

    from pec_tui.cli import main

    path = tmp_path / "fuzz.csv"
    path.write_bytes(data)
    for command in (["mailboxes", "import"], ["payments", "import"]):
        result = CliRunner().invoke(main, ["--database-url", db_url, *command, str(path)])
        assert result.exit_code in (0, 1), result.output
        assert "Traceback" not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
