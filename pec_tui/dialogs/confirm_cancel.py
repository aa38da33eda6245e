"""Yes or no before an order is cancelled."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label

from pec_tui.i18n import N_, _
from pec_tui.widgets.footer import KeysFooter
from pec_tui.widgets.keys import translate_bindings


class ConfirmCancelModal(ModalScreen[bool]):
    """Yes or no before an order is cancelled."""

    CSS_PATH = "../styles/orders.tcss"
    BINDINGS: ClassVar = [
        Binding("y", "answer(True)", N_("Yes"), id="order.cancel_yes"),
        Binding("n", "answer(False)", N_("No"), id="order.cancel_no"),
        Binding("escape", "answer(False)", N_("No"), id="order.cancel_escape", show=False),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        translate_bindings(self)
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Label(self.question, markup=False)
            yield Label(_("y = yes, n = no"), classes="confirm-hint")
        yield KeysFooter()

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
