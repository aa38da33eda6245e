"""A list of any length whose entries are drawn only while on screen (Line API).

Each entry takes `lines_per_entry` lines of markup, asked of `prompt(index)` when the entry
scrolls into view and kept until `refresh_entry`/`refresh_all` says it changed, so a list of
60,000 mailboxes opens as fast as one of ten. Keys belong to the screen (the list follows a
highlighted index); a click selects an entry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.segment import Segment
from rich.text import Text
from textual import events
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

# Entries whose lines are kept (a few screens' worth): the rest are asked for again.
_CACHE_SIZE = 512


class LazyList(ScrollView, can_focus=False):
    DEFAULT_CSS = """
    LazyList {
        height: 1fr;
        color: $foreground;
        background: $surface;
        overflow-x: hidden;
        overflow-y: auto;
    }
    LazyList > .lazy-list--highlight {
        color: $block-cursor-blurred-foreground;
        background: $block-cursor-blurred-background;
    }
    """
    COMPONENT_CLASSES: ClassVar = {"lazy-list--highlight"}

    class Selected(Message):
        """An entry was clicked."""

        def __init__(self, lazy_list: LazyList, index: int) -> None:
            super().__init__()
            self.lazy_list = lazy_list
            self.index = index

        @property
        def control(self) -> LazyList:
            return self.lazy_list

    def __init__(
        self,
        count: int,
        prompt: Callable[[int], str],
        lines_per_entry: int = 1,
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.count = count
        self.prompt = prompt
        self.lines_per_entry = lines_per_entry
        self._highlighted = 0
        self._lines: dict[int, list[Text]] = {}

    # --- what is shown ------------------------------------------------------------------

    @property
    def highlighted(self) -> int:
        return self._highlighted

    @highlighted.setter
    def highlighted(self, index: int) -> None:
        index = max(0, min(index, self.count - 1))
        if index == self._highlighted:
            self.scroll_to_entry(index)
            return
        before, self._highlighted = self._highlighted, index
        self._refresh_entry_lines(before)
        self._refresh_entry_lines(index)
        self.scroll_to_entry(index)

    def scroll_to_entry(self, index: int) -> None:
        if not self.is_mounted:
            return
        region = Region(0, index * self.lines_per_entry, 1, self.lines_per_entry)
        self.scroll_to_region(region, animate=False, force=True, immediate=True)

    def refresh_entry(self, index: int) -> None:
        """Entry `index` changed: its lines are asked for again."""
        self._lines.pop(index, None)
        self._refresh_entry_lines(index)

    def refresh_all(self) -> None:
        self._lines.clear()
        self.refresh()

    def entry_text(self, index: int) -> str:
        """The plain text of entry `index` as shown (its lines joined by newlines)."""
        return "\n".join(line.plain for line in self._entry(index))

    def _refresh_entry_lines(self, index: int) -> None:
        if self.is_mounted:
            top = index * self.lines_per_entry - int(self.scroll_offset.y)
            self.refresh(Region(0, top, self.size.width, self.lines_per_entry))

    def _entry(self, index: int) -> list[Text]:
        lines = self._lines.get(index)
        if lines is None:
            if len(self._lines) >= _CACHE_SIZE:
                self._lines.clear()
            found = list(Text.from_markup(self.prompt(index)).split("\n", allow_blank=True))
            found += [Text() for _ in range(self.lines_per_entry - len(found))]
            lines = self._lines[index] = found[: self.lines_per_entry]
        return lines

    # --- Line API -----------------------------------------------------------------------

    def on_mount(self) -> None:
        self._set_virtual_size()
        self.scroll_to_entry(self._highlighted)

    def on_resize(self, event: events.Resize) -> None:
        self._set_virtual_size()

    def _set_virtual_size(self) -> None:
        self.virtual_size = Size(
            self.scrollable_content_region.width, self.count * self.lines_per_entry
        )

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        line = int(self.scroll_offset.y) + y
        index, row = divmod(line, self.lines_per_entry)
        base = self.rich_style
        if index >= self.count or width <= 0:
            return Strip.blank(width, base)
        style = base
        if index == self._highlighted:
            style = base + self.get_component_rich_style("lazy-list--highlight")
        text = self._entry(index)[row].copy()
        text.truncate(max(0, width - 2), overflow="ellipsis")
        segments = [Segment(" ", style)]
        segments += [
            Segment(s.text, style + s.style if s.style else style)
            for s in text.render(self.app.console)
            if s.text != "\n"
        ]
        return Strip(segments).adjust_cell_length(width, style)

    def on_click(self, event: events.Click) -> None:
        index = (int(self.scroll_offset.y) + event.y) // self.lines_per_entry
        if 0 <= index < self.count:
            event.stop()
            self.post_message(self.Selected(self, index))
