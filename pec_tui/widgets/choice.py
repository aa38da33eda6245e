"""Choice widgets of the flow's steps that leave enter to the screen."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding
from textual.content import Content
from textual.widgets import Checkbox, OptionList

# What a checkbox shows inside its box: a tick, or nothing. Told apart by the glyph, not only
# by a shade that some terminals (and the browser) barely show.
CHECKED = "✔"
UNCHECKED = " "


class ChoiceList(OptionList, inherit_bindings=False):
    """An option list whose highlighted option is the choice; enter is left to the screen."""

    BINDINGS: ClassVar = [
        Binding("down", "cursor_down", show=False),
        Binding("up", "cursor_up", show=False),
        Binding("home", "first", show=False),
        Binding("end", "last", show=False),
    ]


class SpaceCheckbox(Checkbox, inherit_bindings=False):
    """A checkbox toggled by space (or a click): enter stays free to move the flow on.

    A ticked box shows a tick, an empty one nothing (Textual's shows an X in both)."""

    BINDINGS: ClassVar = [Binding("space", "toggle_button", show=False)]

    @property
    def _button(self) -> Content:
        self.BUTTON_INNER = CHECKED if self.value else UNCHECKED
        return super()._button
