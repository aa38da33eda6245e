"""A plan change to STANDARD deletes the security archive: asks first."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from pec_tui.i18n import N_, _, ngettext
from pec_tui.widgets.keys import translate_bindings


class ArchiveDeletionModal(ModalScreen[bool]):
    """PRO/PREMIUM → STANDARD deletes every archived message: the user must say yes."""

    CSS_PATH = "../styles/flow.tcss"
    BINDINGS: ClassVar = [
        Binding("y,s", "answer(True)", N_("Yes, delete the archive"), id="plan.archive.yes"),
        Binding("n,escape", "answer(False)", N_("No, keep the archive"), id="plan.archive.no"),
    ]

    def __init__(self, addresses: list[str]) -> None:
        super().__init__(classes="flow-modal")
        self.addresses = addresses
        translate_bindings(self)

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box -error"):
            yield Label(_("All archived messages will be deleted"), classes="modal-title")
            yield Static(
                _(
                    "Changing to STANDARD switches off the security archive: every message "
                    "archived so far is deleted for good and SMS notices stop. Mailboxes:"
                ),
                markup=False,
            )
            shown = "\n".join(f"  • {a}" for a in self.addresses[:10])
            if len(self.addresses) > 10:
                more = len(self.addresses) - 10
                shown += "\n  " + ngettext("… and {count} more", "… and {count} more", more).format(
                    count=more
                )
            yield Static(shown, markup=False)
            yield Static(
                _("Type y to confirm the deletion, n or escape to keep the archive."),
                classes="hint",
            )
            with Horizontal(classes="modal-buttons"):
                yield Button(_("Yes, delete the archive (y)"), id="yes", variant="error")
                yield Button(_("No, keep the archive (n)"), id="no", variant="primary")

    def on_mount(self) -> None:
        # Enter alone must never delete an archive: the safe answer has the focus.
        self.query_one("#no", Button).focus()

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")
