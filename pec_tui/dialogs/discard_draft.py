"""Asks before a renewal draft is thrown away."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from pec_tui.domain.draft import DraftSummary
from pec_tui.i18n import N_, _
from pec_tui.widgets.keys import translate_bindings


class DiscardDraftModal(ModalScreen[bool]):
    """Asks before a draft is thrown away: y discards, n or escape keeps it."""

    CSS_PATH = "../styles/flow.tcss"
    BINDINGS: ClassVar = [
        Binding("y,s", "answer(True)", N_("Discard"), id="drafts.discard.yes"),
        Binding("n,escape", "answer(False)", N_("Keep"), id="drafts.discard.no"),
    ]

    def __init__(self, summary: DraftSummary) -> None:
        super().__init__(classes="flow-modal")
        self.summary = summary
        translate_bindings(self)

    def compose(self) -> ComposeResult:
        summary = self.summary
        with Vertical(classes="modal-box -error"):
            yield Label(_("Discard this draft?"), classes="modal-title")
            yield Static(
                _("The renewal draft for {name} ({addresses}) will be deleted.").format(
                    name=summary.billed_to, addresses=", ".join(summary.addresses[:3])
                ),
                markup=False,
            )
            with Horizontal(classes="modal-buttons"):
                yield Button(_("Discard (y)"), id="yes", variant="error")
                yield Button(_("Keep (n)"), id="no", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")
