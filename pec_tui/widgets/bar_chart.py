"""Horizontal bar charts made of text: a label, a bar, and the figures written beside it.

Readable without colour: each stacked part of a bar has its own glyph (█ then ▒), and every
value is written out beside its bar; colours come from the theme through component classes.
`BarChart` only shows its rows; `BarList` is an `OptionList` whose rows can be highlighted
and chosen with Enter (`OptionList.OptionSelected`). Both redraw their bars to the width
they have, in one pass of plain text (no canvas).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.events import Resize
from textual.widget import Widget
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

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


class BarChart(Widget):
    """Bars to read (not to choose): a header line, then one line per row."""

    DEFAULT_CSS = """
    BarChart {
        height: auto;
    }
    BarChart > .bar-chart--part-0 { color: $accent; }
    BarChart > .bar-chart--part-1 { color: $warning; }
    BarChart > .bar-chart--part-2 { color: $secondary; }
    BarChart > .bar-chart--header { color: $text-muted; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "bar-chart--part-0",
        "bar-chart--part-1",
        "bar-chart--part-2",
        "bar-chart--header",
        "bar-chart--figure",
    }

    def __init__(
        self,
        headers: Sequence[str] = (),
        *,
        title: str = "",
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.headers = tuple(headers)
        self.title = title
        self.rows: tuple[BarRow, ...] = ()

    def set_rows(self, rows: Sequence[BarRow]) -> None:
        self.rows = tuple(rows)
        self.refresh(layout=True)

    def get_content_height(self, container, viewport, width: int) -> int:  # type: ignore[no-untyped-def]
        return len(self.rows) + (1 if self.headers or self.title else 0)

    def render(self) -> Text:
        width = self.content_size.width or self.size.width
        shape = layout(self.rows, self.headers, width)
        styles = [self.get_component_rich_style(f"bar-chart--part-{i}") for i in range(3)]
        figure = self.get_component_rich_style("bar-chart--figure", partial=True)
        lines = []
        if self.headers or self.title:
            header = header_line(self.headers, shape, self.title)
            header.stylize(self.get_component_rich_style("bar-chart--header", partial=True))
            lines.append(header)
        lines.extend(bar_line(row, shape, styles, figure) for row in self.rows)
        return Text("\n", no_wrap=True).join(lines)


class BarList(OptionList):
    """Bars to choose: one option per row, highlighted with the arrows, chosen with Enter."""

    DEFAULT_CSS = """
    BarList {
        height: auto;
        max-height: 100%;
        border: none;
        padding: 0;
    }
    BarList:focus {
        border: none;
    }
    BarList > .bar-chart--part-0 { color: $accent; }
    BarList > .bar-chart--part-1 { color: $warning; }
    BarList > .bar-chart--part-2 { color: $secondary; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = OptionList.COMPONENT_CLASSES | {
        "bar-chart--part-0",
        "bar-chart--part-1",
        "bar-chart--part-2",
        "bar-chart--figure",
    }

    def __init__(
        self,
        headers: Sequence[str] = (),
        *,
        title: str = "",
        header: Static | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.headers = tuple(headers)
        self.title = title
        # Where the column captions go (a line above the list, drawn with the same widths).
        self.header = header
        self.rows: tuple[BarRow, ...] = ()
        self._drawn_width = 0

    @property
    def shape(self) -> Layout:
        # Option lines lose one column on each side to the option padding.
        return layout(self.rows, self.headers, max(10, self.content_size.width - 2))

    def set_rows(self, rows: Sequence[BarRow]) -> None:
        highlighted = self.highlighted
        self.rows = tuple(rows)
        self._draw()
        if self.rows:
            self.highlighted = min(highlighted or 0, len(self.rows) - 1)

    def _draw(self) -> None:
        shape = self.shape
        self._drawn_width = self.content_size.width
        styles = [self.get_component_rich_style(f"bar-chart--part-{i}") for i in range(3)]
        figure = self.get_component_rich_style("bar-chart--figure", partial=True)
        options = [
            Option(bar_line(row, shape, styles, figure), id=row.key or None) for row in self.rows
        ]
        if self.header is not None:
            line = Text(" ") + header_line(self.headers, shape, self.title)
            self.header.update(line)
        highlighted = self.highlighted
        self.set_options(options)
        if options and highlighted is not None:
            self.highlighted = min(highlighted, len(options) - 1)

    def on_resize(self, event: Resize) -> None:
        if self.rows and self.content_size.width != self._drawn_width:
            self._draw()
