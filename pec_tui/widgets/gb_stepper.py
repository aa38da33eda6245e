"""`- n Gb +`: a bounded whole-number stepper for extra space (and years).

The stepper does not change its own value: a click posts `GbStepper.Stepped` and the screen,
which owns the draft, decides the new value and calls `show`. Keys live on the screen.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Button, Label

from pec_tui.i18n import _


class GbStepper(Horizontal):
    DEFAULT_CSS = """
    GbStepper {
        height: 1;
        width: auto;
    }
    GbStepper > .stepper-label {
        width: auto;
        padding-right: 1;
    }
    GbStepper > .stepper-value {
        width: auto;
        min-width: 7;
        content-align: center middle;
        text-style: bold;
    }
    GbStepper > Button {
        min-width: 3;
        width: 3;
    }
    """

    class Stepped(Message):
        """The user clicked `-` (delta -1) or `+` (delta +1)."""

        def __init__(self, stepper: GbStepper, delta: int) -> None:
            super().__init__()
            self.stepper = stepper
            self.delta = delta

        @property
        def control(self) -> GbStepper:
            return self.stepper

    def __init__(
        self,
        label: str,
        value: int = 0,
        minimum: int = 0,
        maximum: int = 0,
        unit: str | Callable[[int], str] | None = None,
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.label = label
        self.value = value
        self.minimum = minimum
        self.maximum = maximum
        self.unit = unit if unit is not None else _("GB")

    def compose(self) -> ComposeResult:
        # Enabled or not from the start: changed once mounted, each restyles the button.
        dec = Button("-", id="dec", compact=True, disabled=self.value <= self.minimum)
        inc = Button("+", id="inc", compact=True, disabled=self.value >= self.maximum)
        # Keyboard users step with the screen's keys; the buttons are for the mouse.
        dec.can_focus = inc.can_focus = False
        if self.label:
            yield Label(self.label, classes="stepper-label")
        yield dec
        yield Label(self._value_text(), classes="stepper-value")
        yield inc

    def _value_text(self) -> str:
        unit = self.unit(self.value) if callable(self.unit) else self.unit
        return f"{self.value} {unit}"

    def _sync_buttons(self) -> None:
        self.query_one("#dec", Button).disabled = self.value <= self.minimum
        self.query_one("#inc", Button).disabled = self.value >= self.maximum

    def show(self, value: int, maximum: int | None = None) -> None:
        """Display `value` (and a new upper bound)."""
        self.value = value
        if maximum is not None:
            self.maximum = maximum
        if self.is_mounted:
            self.query_one(".stepper-value", Label).update(self._value_text())
            self._sync_buttons()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.Stepped(self, -1 if event.button.id == "dec" else 1))
