"""What every step of the renewal (and purchase) flow shares: the step screen and its result.

Each step is a screen that dismisses with a `StepResult` (go on, or go back keeping what was
entered); the flow controller (`screens/flow.py`) walks them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen

from pec_tui.dialogs.leave_flow import LeaveFlowModal
from pec_tui.domain.draft import STEPS, Draft, Step
from pec_tui.domain.pricing import PriceList
from pec_tui.i18n import N_, _, format_money, ngettext
from pec_tui.services.context import Context
from pec_tui.widgets.flow_header import FlowHeader
from pec_tui.widgets.footer import KeysFooter
from pec_tui.widgets.keys import ScreenKeysProvider, translate_bindings


class Direction(Enum):
    NEXT = "next"
    BACK = "back"
    # Escape on the first step, answered in `LeaveFlowModal`: leave the flow, keeping the
    # draft for later or discarding it.
    KEEP = "keep"
    DISCARD = "discard"


@dataclass(frozen=True)
class StepResult:
    """What a step screen hands back: where to go and the draft with what was entered."""

    direction: Direction
    draft: Draft


# Below these sizes the steps take a compact layout (flow.tcss: `.-narrow`, `.-short`): the
# plan picker drops its mailbox list and the cards their feature ticks, the contract's texts
# shrink; what still does not fit scrolls.
NARROW_WIDTH = 100
SHORT_HEIGHT = 32


class FlowStepScreen(Screen[StepResult]):
    """A step of the flow: the flow header on top, the keys in the footer, escape goes back."""

    CSS_PATH = "../styles/flow.tcss"
    COMMANDS: ClassVar = {ScreenKeysProvider}
    STEP: ClassVar[Step]

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width < NARROW_WIDTH, "-narrow")
        self.set_class(event.size.height < SHORT_HEIGHT, "-short")

    BINDINGS: ClassVar = [
        Binding("escape", "back", N_("Back"), id="flow.back", tooltip=N_("Previous step")),
    ]

    def __init__(self, ctx: Context, draft: Draft, prices: PriceList) -> None:
        super().__init__(classes="flow-step")
        self.ctx = ctx
        self.draft = draft
        self.prices = prices
        translate_bindings(self)

    def compose(self) -> ComposeResult:
        yield FlowHeader(self.STEP, self.draft.billed_to, len(self.draft.items))
        yield from self.compose_step()
        yield KeysFooter(compact=True)

    def compose_step(self) -> ComposeResult:
        yield from ()

    def current_draft(self) -> Draft:
        """The draft with whatever the user entered on this step (valid or not)."""
        return self.draft

    def action_back(self) -> None:
        if self.STEP is STEPS[0]:
            # Asked over the step itself: staying costs nothing, the step is still there.
            self.app.push_screen(LeaveFlowModal(), self._leave)
            return
        self.dismiss(StepResult(Direction.BACK, self.current_draft()))

    def _leave(self, choice: str | None) -> None:
        if choice:
            self.dismiss(StepResult(Direction(choice), self.current_draft()))

    def go_next(self, draft: Draft | None = None) -> None:
        self.dismiss(StepResult(Direction.NEXT, draft or self.current_draft()))

    def totals_text(self, draft: Draft) -> str:
        """`Totale: … + IVA   Totale con IVA: …` for `draft`, priced by the domain."""
        q = draft.totals(self.prices)
        years = ngettext("for {years} year", "for {years} years", draft.years).format(
            years=draft.years
        )
        return "{net} [dim]({years})[/]\n{gross}".format(
            net=_("Total: {amount} + VAT").format(amount=f"[b]{format_money(q.net)}[/]"),
            gross=_("Total incl. VAT: {amount}").format(amount=f"[b]{format_money(q.gross)}[/]"),
            years=years,
        )
