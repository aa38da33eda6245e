"""Pick the reseller whose book the mailbox list shows (administrators and back office)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from pec_tui.i18n import N_, _
from pec_tui.services.resellers import ResellerChoice
from pec_tui.widgets.keys import translate_bindings

# What the picker returns for "every reseller" (None means: nothing chosen, keep the filter).
EVERY_RESELLER = 0


class ResellerPicker(ModalScreen[int | None]):
    """↑/↓ and Enter choose a reseller (or all of them); Esc leaves the filter as it was."""

    CSS_PATH = "../styles/flow.tcss"
    BINDINGS: ClassVar = [
        Binding("escape", "cancel", N_("Cancel"), id="reseller-picker.cancel"),
    ]

    def __init__(self, choices: list[ResellerChoice], current: int | None) -> None:
        super().__init__(classes="flow-modal")
        self.choices = choices
        self.current = current
        translate_bindings(self)

    def compose(self) -> ComposeResult:
        options = [Option(_("All resellers"), id=str(EVERY_RESELLER))]
        options += [
            Option(_("{name} (no. {id})").format(name=c.name, id=c.id), id=str(c.id))
            for c in self.choices
        ]
        with Vertical(classes="modal-box"):
            yield Label(_("Show the mailboxes of"), classes="modal-title")
            yield OptionList(*options, id="reseller-options")
            yield Static(_("↑/↓ choose, Enter shows, Esc keeps the list as it is."), classes="hint")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.focus()
        if self.current is not None:
            options.highlighted = options.get_option_index(str(self.current))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(int(event.option.id or EVERY_RESELLER))

    def action_cancel(self) -> None:
        self.dismiss(None)
