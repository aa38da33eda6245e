"""CSV cells that a spreadsheet will not run as formulas (the OWASP "CSV injection" rule).

A spreadsheet opening a CSV treats a cell that starts with ``=``, ``+``, ``-``, ``@``, a TAB
or a carriage return as a formula. Every CSV the product writes passes its text cells through
`defuse`, which prefixes such a cell with a single quote; the importer passes every cell it
reads through `restore`, which removes exactly that quote, so an export imports back unchanged.

The two are inverse on every string: a cell is prefixed when, past any single quotes it already
starts with, it begins with a dangerous character — so a text that itself starts with quotes
before a ``=`` gains one more quote on the way out and loses exactly that one on the way in;
any other text is left alone both ways.

`SafeWriter` is the writer all of them use: it defuses the text cells of each row, and quotes
every cell of a row holding a carriage return (the csv module, ending lines with a bare newline,
would leave it bare, and a spreadsheet would start a new, undefused row there).

Numbers are written as they are: a negative amount is a number to the spreadsheet, not a
formula, and defusing it would make it text. Only `str` values are defused (`defuse_value`).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from typing import Any, TextIO

DANGEROUS = frozenset("=+-@\t\r")
QUOTE = "'"


def _needs_quote(text: str) -> bool:
    """Whether `text`, past any leading single quotes, starts with a dangerous character."""
    rest = text.lstrip(QUOTE)
    return bool(rest) and rest[0] in DANGEROUS


def defuse(text: str) -> str:
    """The cell as written: `text` with a single quote in front if a spreadsheet would run it."""
    return QUOTE + text if _needs_quote(text) else text


def restore(cell: str) -> str:
    """The text a cell written by `defuse` stood for: its added quote removed."""
    if cell.startswith(QUOTE) and _needs_quote(cell):
        return cell[1:]
    return cell


def defuse_value(value: Any) -> Any:
    """A row value as a CSV writer gets it: text defused, anything else (numbers) unchanged."""
    return defuse(value) if isinstance(value, str) else value


def is_safe(cell: str) -> bool:
    """Whether a written cell is inert in a spreadsheet (does not start dangerously)."""
    return not cell or cell[0] not in DANGEROUS


class SafeWriter:
    """A CSV writer, lines ended by a newline, whose rows are defused (see the module).

    `convert` turns each value into what is written after text was defused: numbers formatted
    as text by it (a Decimal as "-30.50") stay numbers in the spreadsheet.
    """

    def __init__(self, out: TextIO, convert: Callable[[Any], Any] = lambda value: value) -> None:
        self._convert = convert
        self._minimal = csv.writer(out, lineterminator="\n")
        self._quoted = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)

    def writerow(self, values: Iterable[Any]) -> None:
        cells = [self._convert(defuse_value(value)) for value in values]
        bare_return = any(isinstance(cell, str) and "\r" in cell for cell in cells)
        (self._quoted if bare_return else self._minimal).writerow(cells)
