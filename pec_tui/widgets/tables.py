"""Filling a DataTable whose rows arrive at once (a page of orders, a holder's mailboxes).

A DataTable left to size its columns itself widens them for new rows only when it is next
idle, and does not redraw the lines it has already drawn: a frame drawn in between keeps the
header and the rows at the widths of the empty table (an order number cut to "100017197",
a date to "03/1") until something else changes. `fill_table` gives every column its width
when the column is made, so the first frame is already the right one.

It also fits the table to the room it has: the columns marked flexible (names, free text)
give way first, clipped with an ellipsis, never below `Column.minimum`; what still does not
fit scrolls sideways, as DataTable does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import DataTable

Cell = str | Text


@dataclass(frozen=True)
class Column:
    title: str
    flexible: bool = False
    # How narrow a flexible column may become; by default its title's width, at least 10.
    minimum: int | None = None

    @property
    def narrowest(self) -> int:
        return self.minimum if self.minimum is not None else max(10, cell_len(self.title))


def clip(cell: Cell, width: int) -> Cell:
    """`cell` in `width` columns, an ellipsis marking what was left out."""
    if isinstance(cell, Text):
        if cell.cell_len <= width:
            return cell
        clipped = cell.copy()
        clipped.truncate(width, overflow="ellipsis")
        return clipped
    if cell_len(cell) <= width:
        return cell
    text = Text(cell)
    text.truncate(width, overflow="ellipsis")
    return text.plain


def fit_widths(columns: Sequence[Column], rows: Sequence[Sequence[Cell]], room: int) -> list[int]:
    """Each column as wide as its widest cell; if that is more than `room`, the flexible
    columns share what the others leave."""
    natural = [cell_len(column.title) for column in columns]
    for cells in rows:
        for n, cell in enumerate(cells):
            width = cell.cell_len if isinstance(cell, Text) else cell_len(cell)
            if width > natural[n]:
                natural[n] = width
    flexible = [n for n, column in enumerate(columns) if column.flexible]
    wanted = sum(natural[n] for n in flexible)
    left = room - sum(w for n, w in enumerate(natural) if n not in flexible)
    if wanted <= left:
        return natural
    # Each flexible column first gets its narrowest width (or less, if it needs less), then
    # what is left is shared out evenly, a column that needs less than its share giving the
    # rest to the others: a short name stays whole beside a long list of addresses.
    widths = list(natural)
    for n in flexible:
        widths[n] = min(natural[n], columns[n].narrowest)
    spare = left - sum(widths[n] for n in flexible)
    wanting = [n for n in flexible if widths[n] < natural[n]]
    while spare > 0 and wanting:
        share = max(1, spare // len(wanting))
        for n in sorted(wanting, key=lambda n: natural[n] - widths[n]):
            given = min(natural[n] - widths[n], share, spare)
            widths[n] += given
            spare -= given
        wanting = [n for n in wanting if widths[n] < natural[n]]
    return widths


def table_room(table: DataTable[Any], count: int) -> int:
    """Columns the cells of a `count`-column table may take: its width less each cell's
    padding and a scroll bar; before the first layout, the screen's width less a margin."""
    width = table.size.width or table.app.size.width - 4
    return width - 2 * table.cell_padding * count - 2


def fill_table(
    table: DataTable[Any],
    columns: Sequence[Column],
    rows: Sequence[tuple[str | None, Sequence[Cell]]],
    keep_cursor: bool = True,
) -> None:
    """`table` holding `rows` (key, cells) under `columns`, each column given its width when
    it is made; the cursor stays on its row (`keep_cursor`) or goes back to the first."""
    cursor = table.cursor_row if keep_cursor else 0
    widths = fit_widths(columns, [cells for _key, cells in rows], table_room(table, len(columns)))
    table.clear(columns=True)
    for column, width in zip(columns, widths, strict=True):
        table.add_column(column.title, width=width)
    for key, cells in rows:
        table.add_row(
            *(clip(cell, width) for cell, width in zip(cells, widths, strict=True)), key=key
        )
    if rows and cursor > 0:
        table.move_cursor(row=min(cursor, len(rows) - 1))
