"""Escape on the first step of the renewal: keep the draft, discard it, or stay."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from pec_tui.i18n import N_, _
from pec_tui.widgets.keys import translate_bindings


class LeaveFlowModal(ModalScreen[str | None]):
    """Escape on the first step: keep the draft for later, discard it, or stay."""

    CSS_PATH = "../styles/flow.tcss"
    BINDINGS: ClassVar = [
        Binding("k", "choose('keep')", N_("Keep the draft"), id="flow.leave.keep"),
        Binding("d", "choose('discard')", N_("Discard the draft"), id="flow.leave.discard"),
        Binding("escape", "choose('')", N_("Stay"), id="flow.leave.stay"),
    ]

    def __init__(self) -> None:
        super().__init__(classes="flow-modal")
        translate_bindings(self)

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box"):
            yield Label(_("Leave the renewal?"), classes="modal-title")
            yield Static(
                _(
                    "The choices made so far are saved as a draft: you can resume it later "
                    "from the drafts list, or discard it now."
                )
            )
            with Horizontal(classes="modal-buttons"):
                yield Button(_("Keep the draft (k)"), id="keep", variant="primary")
                yield Button(_("Discard the draft (d)"), id="discard", variant="error")
                yield Button(_("Stay (esc)"), id="stay")

    def on_mount(self) -> None:
        self.query_one("#stay", Button).focus()

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice or None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_choose("" if event.button.id == "stay" else str(event.button.id))
