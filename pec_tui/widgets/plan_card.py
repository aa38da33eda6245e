"""One column of the plan picker: a PEC plan's space, features, extra-GB steppers and price."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Button, Label

from pec_tui.domain.enums import Plan
from pec_tui.domain.plans import PLANS
from pec_tui.i18n import _, format_money
from pec_tui.widgets.gb_stepper import GbStepper

EXTRA_MAILBOX = "mailbox"
EXTRA_ARCHIVE = "archive"


@dataclass(frozen=True)
class PlanCardData:
    """What a card shows; `price` is the plan's yearly price with the extras shown."""

    plan: Plan
    price: Decimal
    is_current: bool
    is_selected: bool
    extra_mailbox_gb: int = 0
    extra_archive_gb: int = 0


def _tick(yes: bool) -> str:
    return "[$success]✓[/]" if yes else "[$text-muted]✗[/]"


def _classes(data: PlanCardData) -> dict[str, bool]:
    """Which of the card's classes `data` gives it."""
    return {"-current": data.is_current, "-selected": data.is_selected}


def _price_text(data: PlanCardData) -> str:
    return _("{amount} + VAT / year").format(amount=format_money(data.price))


def _select_label(data: PlanCardData) -> str:
    return _("SELECTED") if data.is_selected else _("SELECT")


def _select_variant(data: PlanCardData) -> Literal["primary", "default"]:
    return "primary" if data.is_selected else "default"


class PlanCard(Vertical):
    DEFAULT_CSS = """
    PlanCard {
        width: 1fr;
        height: auto;
        border: round $panel-lighten-2;
        padding: 0 1;
        margin: 0 0 0 1;
    }
    PlanCard.-selected {
        border: heavy $accent;
        background: $boost;
    }
    PlanCard > .plan-name {
        text-style: bold;
        width: 1fr;
        content-align: center middle;
    }
    PlanCard > .plan-total {
        text-style: bold;
        color: $accent;
        width: 1fr;
        content-align: center middle;
    }
    PlanCard > .plan-space {
        color: $text-muted;
        width: 1fr;
        content-align: center middle;
        margin-bottom: 1;
    }
    PlanCard > .plan-price {
        margin-top: 1;
        text-style: bold;
    }
    PlanCard > .plan-current {
        color: $success;
        text-style: bold;
        height: 1;
    }
    PlanCard > Button {
        width: 1fr;
    }
    PlanCard > Label {
        width: 1fr;
    }
    PlanCard > .stepper-title {
        color: $text-muted;
    }
    PlanCard > #extra-mailbox-title {
        margin-top: 1;
    }
    """

    class Selected(Message):
        """The user clicked the card or its SELEZIONA button."""

        def __init__(self, plan: Plan) -> None:
            super().__init__()
            self.plan = plan

    class ExtraStepped(Message):
        """The user clicked a stepper of this card: `which` is EXTRA_MAILBOX or EXTRA_ARCHIVE."""

        def __init__(self, plan: Plan, which: str, delta: int) -> None:
            super().__init__()
            self.plan = plan
            self.which = which
            self.delta = delta

    def __init__(self, data: PlanCardData, *, id: str | None = None) -> None:
        # Composed as `data` shows it: each change of a class or of a button's state once
        # mounted restyles the card again (a dozen times for the three cards, 0.1-0.2 s).
        super().__init__(
            id=id or f"plan-{data.plan.value.lower()}",
            classes=" ".join(name for name, on in _classes(data).items() if on),
        )
        self.data = data
        self.spec = PLANS[data.plan]

    def compose(self) -> ComposeResult:
        s = self.spec
        yield Label(s.plan.value, classes="plan-name")
        yield Label(f"{s.total_gb} GB", classes="plan-total")
        if s.has_archive:
            space = _("{mailbox} GB mailbox + {archive} GB archive").format(
                mailbox=s.mailbox_gb, archive=s.archive_gb
            )
        else:
            space = _("{mailbox} GB mailbox space").format(mailbox=s.mailbox_gb)
        yield Label(space, classes="plan-space")
        # Strings outside f-strings: the catalog extractor does not look inside them.
        features = (
            (s.has_mobile_app, _("PEC mobile app")),
            (s.has_antivirus and s.has_antispam, _("Antivirus and antispam")),
            (s.has_archive, _("Security archive")),
            (s.has_sms, _("SMS notification")),
        )
        for present, name in features:
            yield Label(f"{_tick(present)} {name}", classes="plan-feature")
        data = self.data
        yield Label(_("Extra mailbox space"), classes="stepper-title", id="extra-mailbox-title")
        yield GbStepper(
            "", data.extra_mailbox_gb, maximum=s.max_extra_mailbox_gb, id="extra-mailbox"
        )
        if s.has_archive:
            yield Label(_("Extra archive space"), classes="stepper-title")
            yield GbStepper(
                "", data.extra_archive_gb, maximum=s.max_extra_archive_gb, id="extra-archive"
            )
        yield Label(_price_text(data), classes="plan-price")
        current = Label(_("Your current mailbox"), classes="plan-current")
        current.display = data.is_current
        yield current
        select = Button(
            _select_label(data), id="select", compact=True, variant=_select_variant(data)
        )
        select.can_focus = False  # keyboard users choose with the screen's keys
        select.display = not data.is_current
        yield select

    def show(self, data: PlanCardData) -> None:
        """Redraw the card for `data` (plain values computed by the screen)."""
        if data == self.data:
            return  # every key redraws the three cards: skip the ones that did not change
        self.data = data
        self.update_classes(_classes(data))  # one restyle of the card for both, if any
        self.query_one("#extra-mailbox", GbStepper).show(data.extra_mailbox_gb)
        if self.spec.has_archive:
            self.query_one("#extra-archive", GbStepper).show(data.extra_archive_gb)
        self.query_one(".plan-price", Label).update(_price_text(data))
        self.query_one(".plan-current", Label).display = data.is_current
        select = self.query_one("#select", Button)
        select.display = not data.is_current
        select.label = _select_label(data)
        select.variant = _select_variant(data)

    def on_click(self, event: events.Click) -> None:
        self.post_message(self.Selected(self.data.plan))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "select":
            event.stop()
            self.post_message(self.Selected(self.data.plan))

    def on_gb_stepper_stepped(self, event: GbStepper.Stepped) -> None:
        event.stop()
        which = EXTRA_MAILBOX if event.stepper.id == "extra-mailbox" else EXTRA_ARCHIVE
        self.post_message(self.ExtraStepped(self.data.plan, which, event.delta))
