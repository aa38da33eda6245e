"""A message the user must read: a refusal, an error."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from pec_tui.i18n import N_, _
from pec_tui.widgets.keys import translate_bindings


class MessageModal(ModalScreen[None]):
    """A message the user must read (a refusal, an error): enter or escape closes it."""

    CSS_PATH = "../styles/flow.tcss"
    BINDINGS: ClassVar = [
        Binding("escape,enter", "close", N_("Close"), id="flow.message.close"),
    ]

    def __init__(self, title: str, message: str, error: bool = True) -> None:
        super().__init__(classes="flow-modal")
        self.title_text = title
        self.message = message
        self.error = error
        translate_bindings(self)

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box" + (" -error" if self.error else "")):
            yield Label(self.title_text, classes="modal-title")
            with VerticalScroll(classes="modal-body"):
                yield Static(self.message, markup=False, id="message")
            yield Button(_("OK"), id="close", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#close", Button).focus()

    def action_close(self) -> None:
        self.dismiss(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None)
