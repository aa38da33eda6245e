"""Step 2, Firma Digitale: optionally add a digital-signature kit (one-off price) to the order."""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Label, OptionList, Static
from textual.widgets.option_list import Option

from pec_tui.domain.draft import Step
from pec_tui.domain.enums import PriceItem, SignatureKit, label
from pec_tui.i18n import N_, _, format_money
from pec_tui.screens.flow_step import FlowStepScreen
from pec_tui.widgets.choice import ChoiceList

NO_KIT = "none"
KIT_CHOICES: tuple[str, ...] = (NO_KIT, *(kit.value for kit in SignatureKit))


class KitScreen(FlowStepScreen):
    STEP = Step.KIT

    BINDINGS: ClassVar = [
        Binding("0", "choose(0)", N_("No kit"), id="kit.none"),
        Binding("1", "choose(1)", N_("Smart card"), id="kit.smart_card", show=False),
        Binding("2", "choose(2)", N_("USB token"), id="kit.usb_token", show=False),
        Binding("3", "choose(3)", N_("Remote signature"), id="kit.remote", show=False),
        Binding("enter", "proceed", N_("Continue"), id="kit.proceed"),
    ]

    def compose_step(self) -> ComposeResult:
        with Vertical(classes="step-body"):
            yield Label(_("Add a digital signature kit to your order"), classes="section-title")
            yield Static(
                _(
                    "A qualified digital signature lets the holder sign documents with legal "
                    "value. It is optional and paid once, not every year."
                ),
                classes="hint",
            )
            yield ChoiceList(
                *[
                    Option(self._prompt(i, choice), id=choice)
                    for i, choice in enumerate(KIT_CHOICES)
                ],
                id="kit-choices",
            )
            with Horizontal(classes="totals-bar"):
                yield Static(id="totals")
                yield Button(_("Continue"), id="proceed", variant="success")

    def _prompt(self, index: int, choice: str) -> str:
        if choice == NO_KIT:
            none = _("No digital signature kit")
            return f"{index}  {none}"
        kit = SignatureKit(choice)
        price = format_money(self.prices[PriceItem.for_kit(kit)])
        return f"{index}  {label(kit)} — " + _("{amount} + VAT, one-off").format(amount=price)

    def on_mount(self) -> None:
        self.query_one("#proceed", Button).can_focus = False
        choices = self.query_one("#kit-choices", ChoiceList)
        current = self.draft.kit.value if self.draft.kit else NO_KIT
        choices.highlighted = KIT_CHOICES.index(current)
        choices.focus()
        self._show_totals()

    def _show_totals(self) -> None:
        self.query_one("#totals", Static).update(self.totals_text(self.draft))

    def _set_choice(self, index: int) -> None:
        choice = KIT_CHOICES[index]
        kit = None if choice == NO_KIT else SignatureKit(choice)
        if kit != self.draft.kit:
            self.draft = replace(self.draft, kit=kit)
            self._show_totals()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._set_choice(event.option_index)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self._set_choice(event.option_index)

    def action_choose(self, index: int) -> None:
        self.query_one("#kit-choices", ChoiceList).highlighted = index

    def action_proceed(self) -> None:
        self.go_next()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "proceed":
            self.go_next()
