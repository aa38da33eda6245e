"""The mailbox table: a Line API view over a `MailboxSource`, for a million rows and more.

Only the visible lines are rendered, each from the source's small page cache, so memory and
paint time do not grow with the number of mailboxes. A jump the database answers slowly
(e.g. the scrollbar dragged through a search result) shows placeholder lines at once and
fills them from a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events, work
from textual.binding import Binding
from textual.geometry import Offset, Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from pec_tui.domain.enums import MailboxState, label
from pec_tui.domain.lifecycle import is_expiring_soon
from pec_tui.domain.records import MailboxRow
from pec_tui.i18n import N_, _, format_date, get_language
from pec_tui.services.mailboxes import MailboxSource, Selection
from pec_tui.widgets.keys import translate_bindings

# Column headers (msgids; translated when the layout is made).
COLUMNS: tuple[tuple[str, str], ...] = (
    ("flag", N_("Sel.")),
    ("address", N_("Address")),
    ("holder", N_("Holder")),
    ("plan", N_("Type")),
    ("expiry", N_("Expiry")),
    ("state", N_("State")),
    ("space", N_("Mailbox space")),
    ("auto_renew", N_("Auto-renew")),
)
# Narrowest widths of the fixed columns' content ("[x]", "PREMIUM", "31/12/2026", ...).
_MIN_WIDTHS = {"flag": 3, "plan": 8, "expiry": 10, "state": 10, "space": 5, "auto_renew": 3}
_MIN_ADDRESS, _MIN_HOLDER = 24, 16
_GAP = 1
# Header lines: long headers ("Rinnovo automatico") wrap instead of widening a Sì/No column.
_HEADER_LINES = 2


def _wrap(text: str, width: int) -> list[str]:
    """Words of `text` in lines of at most `width` cells."""
    lines: list[str] = []
    for word in text.split():
        if lines and cell_len(lines[-1]) + 1 + cell_len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def _header_cell(text: str, minimum: int) -> tuple[int, tuple[str, ...]]:
    """The narrowest width >= `minimum` at which `text` wraps into the header lines."""
    width = max(minimum, *(cell_len(word) for word in text.split() or [""]))
    while len(lines := _wrap(text, width)) > _HEADER_LINES:
        width += 1
    # Bottom-aligned, as in a spreadsheet: one-line headers sit just above the rows.
    return width, ("",) * (_HEADER_LINES - len(lines)) + tuple(lines)


@dataclass(frozen=True)
class _Layout:
    """Where each column starts and how wide it is, for one table width."""

    available: int  # the widget's width it was made for
    width: int  # at least `available`; more when the columns need it (scrolls sideways)
    columns: tuple[tuple[str, int, int], ...]  # key, x, width
    header: tuple[tuple[str, ...], ...]  # each header line's text, column by column

    @classmethod
    def make(cls, available: int) -> _Layout:
        headers = {key: _(msgid) for key, msgid in COLUMNS}
        cells = {
            key: _header_cell(headers[key], _MIN_WIDTHS.get(key, 1)) for key, _msgid in COLUMNS
        }
        fixed = {key: cells[key][0] for key in _MIN_WIDTHS}
        gaps = _GAP * (len(COLUMNS) - 1)
        flexible = max(_MIN_ADDRESS + _MIN_HOLDER, available - sum(fixed.values()) - gaps)
        address = max(_MIN_ADDRESS, flexible * 3 // 5)
        widths = {**fixed, "address": address, "holder": flexible - address}
        x, columns = 0, []
        for key, _msgid in COLUMNS:
            columns.append((key, x, widths[key]))
            x += widths[key] + _GAP
        header = tuple(
            tuple(cells[key][1][line] for key, _msgid in COLUMNS) for line in range(_HEADER_LINES)
        )
        return cls(available, max(available, x - _GAP), tuple(columns), header)


@lru_cache(maxsize=4096)
def _date_text(day: date, language: str) -> str:
    """dd/mm/yyyy, cached: Babel formatting costs more than the rest of a row."""
    return format_date(day)


def _fit(text: str, width: int, right: bool = False) -> str:
    """`text` in exactly `width` cells, cut with an ellipsis when too long."""
    if cell_len(text) > width:
        return set_cell_size(text, width - 1) + "…" if width > 1 else set_cell_size(text, width)
    pad = " " * (width - cell_len(text))
    return pad + text if right else text + pad


class MailboxTable(ScrollView, can_focus=True):
    """Mailboxes by position from a `MailboxSource`, a cursor row and a selection flag.

    The first `HEADER_LINES` lines are the column header; it stays put while the rows
    scroll under it.
    """

    HEADER_LINES: ClassVar[int] = _HEADER_LINES

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "mailbox-table--header",
        "mailbox-table--cursor",
        "mailbox-table--selected",
        "mailbox-table--soon",
        "mailbox-table--suspended",
        "mailbox-table--cancelled",
        "mailbox-table--blocked",
        "mailbox-table--placeholder",
    }

    DEFAULT_CSS = """
    MailboxTable {
        background: $surface;
        /* Always there, so the columns' width does not depend on the row count. */
        overflow-y: scroll;
        & > .mailbox-table--header { text-style: bold; background: $panel; color: $foreground; }
        & > .mailbox-table--cursor { background: $block-cursor-blurred-background; }
        &:focus > .mailbox-table--cursor {
            background: $block-cursor-background; color: $block-cursor-foreground;
        }
        & > .mailbox-table--selected { color: $accent; text-style: bold; }
        & > .mailbox-table--soon { color: $warning; text-style: bold; }
        & > .mailbox-table--suspended { color: $warning; }
        & > .mailbox-table--cancelled { color: $error; }
        & > .mailbox-table--blocked { color: $text-muted; }
        & > .mailbox-table--placeholder { color: $text-muted; }
    }
    """

    BINDINGS: ClassVar = [
        Binding("up", "cursor_up", N_("Up"), show=False),
        Binding("down", "cursor_down", N_("Down"), show=False),
        Binding("pageup", "page_up", N_("Page up"), show=False),
        Binding("pagedown", "page_down", N_("Page down"), show=False),
        Binding("home", "first", N_("First"), show=False),
        Binding("end", "last", N_("Last"), show=False),
        Binding("space", "toggle_row", N_("Select"), id="mailbox_table.toggle"),
    ]

    class CursorMoved(Message):
        """The cursor is on another row (`row` is None while it is not loaded yet)."""

        def __init__(self, table: MailboxTable, index: int, row: MailboxRow | None) -> None:
            super().__init__()
            self.table = table
            self.index = index
            self.row = row

        @property
        def control(self) -> MailboxTable:
            return self.table

    class SelectionChanged(Message):
        """Rows were added to or removed from the selection."""

        def __init__(self, table: MailboxTable, selection: Selection) -> None:
            super().__init__()
            self.table = table
            self.selection = selection

        @property
        def control(self) -> MailboxTable:
            return self.table

    class SelectionRefused(Message):
        """The cursor row cannot be renewed, so it cannot be selected; `reason` says why."""

        def __init__(self, table: MailboxTable, row: MailboxRow, reason: str) -> None:
            super().__init__()
            self.table = table
            self.row = row
            self.reason = reason

        @property
        def control(self) -> MailboxTable:
            return self.table

    def __init__(
        self,
        today: date,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        translate_bindings(self)
        self.today = today
        self.source: MailboxSource | None = None
        self.selection = Selection()
        self.cursor_index = 0
        self._layout: _Layout | None = None
        self._styles: dict[str, Style] = {}
        self._loading_wanted = False
        self._paint: tuple[_Layout, int, Offset] | None = None

    # --- data -------------------------------------------------------------------------------

    def set_source(
        self, source: MailboxSource, keep_position: bool = False, start_at: int = 0
    ) -> None:
        """Show `source`'s rows (its count must already be known: call it in a worker).

        `keep_position` keeps the cursor and the scroll where they were (the same list read
        again, e.g. after a renewal); otherwise the new rows show from row `start_at`, which
        gets the cursor and the top line.
        """
        self.source = source
        if keep_position:
            self.cursor_index = max(0, min(self.cursor_index, source.count() - 1))
            self._update_virtual_size()
            self.scroll_to(0, self.scroll_y, animate=False)
        else:
            self.cursor_index = max(0, min(start_at, source.count() - 1))
            self._update_virtual_size()
            self.scroll_to(0, self.cursor_index, animate=False)
        self.refresh()
        self._post_cursor()

    def set_selection(self, selection: Selection) -> None:
        self.selection = selection
        self.refresh()
        self.post_message(self.SelectionChanged(self, selection))

    @property
    def row_count(self) -> int:
        return self.source.count() if self.source is not None else 0

    @property
    def cursor_row(self) -> MailboxRow | None:
        """The mailbox under the cursor (None on an empty table or while it is loading)."""
        if self.source is None or self.row_count == 0:
            return None
        return self._row(self.cursor_index)

    def visible_rows(self) -> list[MailboxRow]:
        """The rows on screen now (loaded ones), top to bottom."""
        if self.source is None:
            return []
        first = round(self.scroll_y)
        return [
            row
            for index in range(first, min(first + self.page_height, self.row_count))
            if (row := self.source.cached(index)) is not None
        ]

    def _row(self, index: int) -> MailboxRow | None:
        source = self.source
        if source is None or not 0 <= index < source.count():
            return None
        if source.fetch_is_cheap(index):
            return source.row(index)
        row = source.cached(index)
        if row is None:
            self._want_rows()
        return row

    # --- cursor and selection -----------------------------------------------------------

    @property
    def page_height(self) -> int:
        """Data lines on screen (below the header)."""
        return max(1, self.size.height - _HEADER_LINES)

    def move_cursor(self, index: int) -> None:
        """Put the cursor on row `index` (clamped) and scroll it into view."""
        count = self.row_count
        index = max(0, min(index, count - 1)) if count else 0
        old = self.cursor_index
        self.cursor_index = index
        top = round(self.scroll_y)
        if index < top:
            self.scroll_to(y=index, animate=False)
        elif index >= top + self.page_height:
            self.scroll_to(y=index - self.page_height + 1, animate=False)
        else:
            self._refresh_row(old)
            self._refresh_row(index)
        if old != index:
            self._post_cursor()

    def _post_cursor(self) -> None:
        self.post_message(self.CursorMoved(self, self.cursor_index, self.cursor_row))

    def _refresh_row(self, index: int) -> None:
        y = index - round(self.scroll_y) + _HEADER_LINES
        if _HEADER_LINES <= y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))

    def action_cursor_up(self) -> None:
        self.move_cursor(self.cursor_index - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self.cursor_index + 1)

    def action_page_up(self) -> None:
        step = self.page_height
        self.scroll_to(y=max(0, self.scroll_y - step), animate=False)
        self.move_cursor(self.cursor_index - step)

    def action_page_down(self) -> None:
        step = self.page_height
        self.scroll_to(y=self.scroll_y + step, animate=False)
        self.move_cursor(self.cursor_index + step)

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(self.row_count - 1)

    def action_toggle_row(self) -> None:
        """Select or deselect the cursor row; only a renewable mailbox can be selected."""
        row = self.cursor_row
        if row is None:
            return
        if not self.selection.contains(row):
            verdict = row.renewability(self.today)
            if not verdict.allowed:
                self.post_message(self.SelectionRefused(self, row, verdict.reason or ""))
                return
        self.selection.toggle(row)
        self._refresh_row(self.cursor_index)
        self.post_message(self.SelectionChanged(self, self.selection))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < _HEADER_LINES or self.source is None:
            return
        index = round(self.scroll_y) + offset.y - _HEADER_LINES
        if index >= self.row_count:
            return
        self.focus()
        self.move_cursor(index)
        flag_width = self._layout_for_width().columns[0][2]
        if offset.x + round(self.scroll_x) < flag_width:
            self.action_toggle_row()

    # --- rendering ----------------------------------------------------------------------

    def on_resize(self) -> None:
        self._layout = None
        self._update_virtual_size()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()

    def on_focus(self) -> None:
        self._styles.clear()
        self._refresh_row(self.cursor_index)

    def on_blur(self) -> None:
        self._styles.clear()
        self._refresh_row(self.cursor_index)

    def _update_virtual_size(self) -> None:
        layout = self._layout_for_width()
        self.virtual_size = Size(layout.width, self.row_count + _HEADER_LINES)

    @property
    def _content_width(self) -> int:
        """Columns left for the rows once the vertical scrollbar is drawn."""
        return self.scrollable_content_region.width

    def _layout_for_width(self) -> _Layout:
        width = self._content_width
        if self._layout is None or self._layout.available != width:
            self._layout = _Layout.make(width)
        return self._layout

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            if name == "base":
                style = self.rich_style
            else:
                style = self.get_component_rich_style(f"mailbox-table--{name}", partial=True)
            self._styles[name] = style
        return style

    def render_lines(self, crop: Region) -> list[Strip]:
        # What every line needs, worked out once per paint instead of once per line.
        self._paint = (self._layout_for_width(), self._content_width, self.scroll_offset)
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        layout, width, (scroll_x, scroll_y) = self._paint or (
            self._layout_for_width(),
            self._content_width,
            self.scroll_offset,
        )
        if y < _HEADER_LINES:
            strip = self._header_strip(layout, y)
        else:
            strip = self._row_strip(layout, scroll_y + y - _HEADER_LINES)
        if scroll_x == 0 and strip.cell_length == width:
            return strip
        return strip.crop_extend(scroll_x, scroll_x + width, self._style("base"))

    def _line(self, layout: _Layout, cells: list[tuple[str, Style]], gap: Style) -> Strip:
        """One line of `layout.width` cells: `cells` in the layout's columns, gaps between."""
        segments: list[Segment] = []
        for (_key, _x, _width), (text, style) in zip(layout.columns, cells, strict=True):
            if segments:
                segments.append(Segment(" " * _GAP, gap))
            segments.append(Segment(text, style))
        # Every cell is already fitted to its column, so the length is known.
        return Strip(segments, layout.width)

    def _header_strip(self, layout: _Layout, line: int) -> Strip:
        style = self._style("base") + self._style("header")
        texts = layout.header[line]
        cells = [
            (_fit(text, width), style)
            for text, (_key, _x, width) in zip(texts, layout.columns, strict=True)
        ]
        return self._line(layout, cells, style)

    def _row_strip(self, layout: _Layout, index: int) -> Strip:
        base = self._style("base")
        if self.source is None or index >= self.row_count:
            text = ""
            if index == 0:
                text = _("Loading…") if self.source is None else _("No mailboxes to show.")
            return Strip([Segment(text, base + self._style("placeholder"))])
        row = self._row(index)
        # The cursor goes on top of the cells' own colours, so that it stays readable.
        cursor = self._style("cursor") if index == self.cursor_index else None
        line = base + cursor if cursor else base
        if row is None:
            placeholder = Strip([Segment("  …", line + self._style("placeholder"))])
            return placeholder.extend_cell_length(layout.width, line)
        values = self._cells(row)
        cells = []
        for key, _x, width in layout.columns:
            text, style = values[key]
            cell = base + style if style else base
            cells.append(
                (_fit(text, width, right=key == "space"), cell + cursor if cursor else cell)
            )
        return self._line(layout, cells, line)

    def _cells(self, row: MailboxRow) -> dict[str, tuple[str, Style | None]]:
        selected = self.selection.contains(row)
        state = row.state(self.today)
        state_style = {
            MailboxState.ACTIVE: None,
            MailboxState.SUSPENDED: self._style("suspended"),
            MailboxState.CANCELLED: self._style("cancelled"),
        }[state]
        soon = is_expiring_soon(row.expiry, self.today)
        flag: tuple[str, Style | None]
        if selected:
            flag = ("[x]", self._style("selected"))
        else:
            # "[-]": this row cannot be selected now (the status line says why).
            flag = ("[ ]", None) if row.renewable(self.today) else ("[-]", self._style("blocked"))
        state_text = label(state)
        if row.open_order is not None and state is not MailboxState.CANCELLED:
            state_text, state_style = _("On order"), self._style("blocked")
        return {
            "flag": flag,
            "address": (row.address, None),
            "holder": (row.holder_name, None),
            "plan": (row.plan.value.title(), None),
            "expiry": (
                _date_text(row.expiry, get_language()),
                self._style("soon") if soon else state_style,
            ),
            "state": (state_text, state_style),
            "space": (f"{row.used_percent}%", None),
            "auto_renew": (_("Yes") if row.auto_renew else _("No"), None),
        }

    # --- rows the database answers slowly ---------------------------------------------

    def _want_rows(self) -> None:
        if not self._loading_wanted:
            self._loading_wanted = True
            self.call_after_refresh(self._load_visible)

    def _load_visible(self) -> None:
        self._loading_wanted = False
        if self.source is not None:
            first = max(0, round(self.scroll_y))
            self._load_rows(self.source, first, first + self.page_height)

    @work(thread=True, exclusive=True, group="mailbox-table-rows")
    def _load_rows(self, source: MailboxSource, start: int, stop: int) -> None:
        source.rows(start, stop)
        self.app.call_from_thread(self._rows_loaded, source)

    def _rows_loaded(self, source: MailboxSource) -> None:
        if source is self.source:
            self.refresh()
            self._post_cursor()
