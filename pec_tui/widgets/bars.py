"""Bars made of text, without Textual: the lines `widgets.bar_chart` shows and
`pec-tui report` prints. Each stacked part of a bar has its own glyph (█ then ▒), so the
parts stay apart without colour; the figures are written beside the bar."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from rich.style import Style
from rich.text import Text

# One glyph per stacked part, so the parts stay apart in monochrome.
GLYPHS = ("█", "▒", "░")
GAP = 2  # columns between the bar and each figure


@dataclass(frozen=True)
class BarRow:
    """One bar: its label, the stacked parts (drawn in order), the figures beside it."""

    label: str
    parts: tuple[int | Decimal, ...]
    figures: tuple[str, ...] = ()
    key: str = ""

    @property
    def total(self) -> int | Decimal:
        return sum(self.parts, 0)


@dataclass(frozen=True)
class Layout:
    """Column widths shared by a chart's header and rows."""

    label: int
    bar: int
    figures: tuple[int, ...]
    scale: int | Decimal


def layout(rows: Sequence[BarRow], headers: Sequence[str], width: int) -> Layout:
    label = max((len(r.label) for r in rows), default=0)
    count = max([len(headers)] + [len(r.figures) for r in rows])
    figures = tuple(
        max(
            [len(headers[i]) if i < len(headers) else 0]
            + [len(r.figures[i]) for r in rows if i < len(r.figures)]
        )
        for i in range(count)
    )
    bar = max(4, width - label - 1 - sum(f + GAP for f in figures))
    scale = max((r.total for r in rows), default=0)
    return Layout(label, bar, figures, scale)


def _cells(value: int | Decimal, scale: int | Decimal, width: int) -> int:
    if value <= 0 or scale <= 0:
        return 0
    return max(1, round(Decimal(value) * width / Decimal(scale)))


def bar_line(row: BarRow, shape: Layout, styles: Sequence[Style], figure_style: Style) -> Text:
    """The row as one line: label, the parts of its bar, padding, the figures right-aligned."""
    text = Text(no_wrap=True, overflow="crop")
    text.append(row.label.ljust(shape.label) + " ")
    used = 0
    total_cells = min(shape.bar, _cells(row.total, shape.scale, shape.bar))
    running: int | Decimal = 0
    for index, part in enumerate(row.parts):
        running += part
        # Cells up to the end of this part, so rounding never makes the bar longer.
        end = min(total_cells, _cells(running, shape.scale, shape.bar)) if part > 0 else used
        if end > used:
            text.append(GLYPHS[index % len(GLYPHS)] * (end - used), styles[index % len(styles)])
            used = end
    text.append(" " * (shape.bar - used))
    for figure, width in zip(row.figures, shape.figures, strict=False):
        text.append(" " * GAP + figure.rjust(width), figure_style)
    return text


def header_line(headers: Sequence[str], shape: Layout, title: str = "") -> Text:
    text = Text(no_wrap=True, overflow="crop")
    text.append(title.ljust(shape.label + 1 + shape.bar)[: shape.label + 1 + shape.bar])
    for header, width in zip(headers, shape.figures, strict=False):
        text.append(" " * GAP + header.rjust(width))
    return text


def plain_lines(
    rows: Sequence[BarRow], headers: Sequence[str], width: int, title: str = ""
) -> list[str]:
    """The chart as plain text lines (for a terminal without styles)."""
    shape = layout(rows, headers, width)
    plain = Style()
    lines = [header_line(headers, shape, title).plain.rstrip()]
    lines.extend(bar_line(row, shape, [plain], plain).plain.rstrip() for row in rows)
    return lines
