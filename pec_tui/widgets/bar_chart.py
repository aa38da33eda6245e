"""Horizontal bar charts made of text: a label, a bar, and the figures written beside it.

Readable without colour: each stacked part of a bar has its own glyph (█ then ▒), and every
value is written out beside its bar; colours come from the theme through component classes.
`BarChart` only shows its rows; `BarList` is an `OptionList` whose rows can be highlighted
and chosen with Enter (`OptionList.OptionSelected`). Both redraw their bars to the width
they have, in one pass of plain text (no canvas).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.events import Resize
from textual.widget import Widget
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from pec_tui.widgets.bars import BarRow, Layout, bar_line, header_line, layout

__all__ = ["BarChart", "BarList", "BarRow"]

# Before the highlighted row of a BarList, so that it stands out without colour.
MARK = "▸ "


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
        styles = [
            self.get_component_rich_style(f"bar-chart--part-{i}", partial=True) for i in range(3)
        ]
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
        self._bar_lines: list[Text] = []
        self._marked: int | None = None

    @property
    def shape(self) -> Layout:
        # Option lines lose one column on each side to the option padding, two to the mark.
        return layout(self.rows, self.headers, max(10, self.content_size.width - 2 - len(MARK)))

    def _prompt(self, index: int) -> Text:
        """The row's line behind the mark of the highlighted row (or as many spaces)."""
        mark = MARK if index == self.highlighted else " " * len(MARK)
        return Text(mark) + self._bar_lines[index]

    def set_rows(self, rows: Sequence[BarRow]) -> None:
        highlighted = self.highlighted
        self.rows = tuple(rows)
        self._draw()
        if self.rows:
            self.highlighted = min(highlighted or 0, len(self.rows) - 1)

    def _draw(self) -> None:
        shape = self.shape
        self._drawn_width = self.content_size.width
        styles = [
            self.get_component_rich_style(f"bar-chart--part-{i}", partial=True) for i in range(3)
        ]
        figure = self.get_component_rich_style("bar-chart--figure", partial=True)
        self._bar_lines = [bar_line(row, shape, styles, figure) for row in self.rows]
        self._marked = self.highlighted
        options = [Option(self._prompt(i), id=row.key or None) for i, row in enumerate(self.rows)]
        if self.header is not None:
            line = Text(" " + " " * len(MARK)) + header_line(self.headers, shape, self.title)
            self.header.update(line)
        highlighted = self.highlighted
        self.set_options(options)
        if options and highlighted is not None:
            self.highlighted = min(highlighted, len(options) - 1)

    def watch_highlighted(self, highlighted: int | None) -> None:
        """Move the mark: the highlighted month reads without colour too."""
        super().watch_highlighted(highlighted)
        if not self._bar_lines or self._marked == highlighted:
            return
        previous, self._marked = self._marked, highlighted
        for index in (previous, highlighted):
            if index is not None and index < min(len(self._bar_lines), self.option_count):
                self.replace_option_prompt_at_index(index, self._prompt(index))

    def on_resize(self, event: Resize) -> None:
        if self.rows and self.content_size.width != self._drawn_width:
            self._draw()
