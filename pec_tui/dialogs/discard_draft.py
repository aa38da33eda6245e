"""Asks before a renewal draft is thrown away."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from pec_tui.domain.draft import DraftSummary
from pec_tui.i18n import N_, _, format_number, ngettext
from pec_tui.widgets.keys import translate_bindings


def discard_text(summary: DraftSummary) -> str:
    """What will be deleted: whose draft, how many mailboxes, the first three of them (a
    renewal of tens of thousands is not mistaken for one of three)."""
    count = max(summary.mailbox_count, len(summary.addresses))
    shown = ", ".join(summary.addresses[:3]) + (", …" if count > 3 else "")
    return ngettext(
        "The renewal draft for {name} ({count} mailbox: {addresses}) will be deleted.",
        "The renewal draft for {name} ({count} mailboxes: {addresses}) will be deleted.",
        count,
    ).format(name=summary.billed_to, count=format_number(count), addresses=shown)


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
            yield Static(discard_text(summary), markup=False, id="discard-text")
            with Horizontal(classes="modal-buttons"):
                yield Button(_("Discard (y)"), id="yes", variant="error")
                yield Button(_("Keep (n)"), id="no", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")
