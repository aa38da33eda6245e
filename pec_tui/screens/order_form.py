"""Step 4, Modulo Ordine: payment method, Rinnovo automatico, Frequenza di rinnovo (years)."""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Label, OptionList, Static
from textual.widgets.option_list import Option

from pec_tui.domain.draft import Draft, Step
from pec_tui.domain.enums import PaymentMethod, label
from pec_tui.domain.pricing import PriceList
from pec_tui.i18n import N_, _, ngettext
from pec_tui.screens.flow_step import FlowStepScreen
from pec_tui.services.context import Context
from pec_tui.widgets.choice import ChoiceList, SpaceCheckbox
from pec_tui.widgets.gb_stepper import GbStepper

# Payments are registered later, so the safe default is the one that needs nobody's card.
DEFAULT_METHOD = PaymentMethod.BANK_TRANSFER


class OrderFormScreen(FlowStepScreen):
    STEP = Step.ORDER_FORM

    BINDINGS: ClassVar = [
        Binding("plus", "years(1)", N_("+1 year"), id="order.years.more"),
        Binding("minus", "years(-1)", N_("-1 year"), id="order.years.less"),
        Binding("r", "toggle_auto_renew", N_("Automatic renewal"), id="order.auto_renew"),
        Binding("enter", "proceed", N_("Continue"), id="order.proceed"),
        *[
            Binding(
                str(n), f"method({n - 1})", N_("Payment method"), id=f"order.method.{n}", show=False
            )
            for n in range(1, 6)
        ],
    ]

    def __init__(self, ctx: Context, draft: Draft, prices: PriceList) -> None:
        super().__init__(ctx, draft, prices)
        methods = list(PaymentMethod)
        if ctx.actor.is_kiosk:
            # A customer at a kiosk has no reseller credit to spend.
            methods.remove(PaymentMethod.PREPAID_CREDIT)
        self.methods: tuple[PaymentMethod, ...] = tuple(methods)
        years = max(1, min(draft.years, draft.max_years))
        method = draft.payment_method if draft.payment_method in self.methods else DEFAULT_METHOD
        self.draft = replace(draft, years=years, payment_method=method)

    def compose_step(self) -> ComposeResult:
        with Vertical(classes="step-body"):
            yield Label(_("Payment method"), classes="section-title")
            yield ChoiceList(
                *[Option(f"{i + 1}  {label(m)}", id=m.value) for i, m in enumerate(self.methods)],
                id="payment-methods",
            )
            yield Label(_("Automatic renewal"), classes="section-title")
            yield SpaceCheckbox(
                _("Renew automatically at the next expiry (r)"),
                value=self.draft.auto_renew,
                id="auto-renew",
            )
            yield Static(
                _(
                    "With automatic renewal on, a renewal order for the same number of years is "
                    "created 7 days before expiry and paid with the method chosen here."
                ),
                classes="hint",
            )
            yield Label(_("Renewal frequency"), classes="section-title")
            yield GbStepper(
                _("Years (+/-):"),
                value=self.draft.years,
                minimum=1,
                maximum=self.draft.max_years,
                unit=lambda years: ngettext("year", "years", years),
                id="years",
            )
            if self.draft.promo:
                yield Static(
                    _("Promotional mailboxes renew for 1 or 2 years only."), classes="hint"
                )
            with Horizontal(classes="totals-bar"):
                yield Static(id="totals")
                yield Button(_("Continue and complete the order"), id="proceed", variant="success")

    def on_mount(self) -> None:
        self.query_one("#proceed", Button).can_focus = False
        methods = self.query_one("#payment-methods", ChoiceList)
        assert self.draft.payment_method is not None
        methods.highlighted = self.methods.index(self.draft.payment_method)
        methods.focus()
        self._show()

    def _show(self) -> None:
        self.query_one("#years", GbStepper).show(self.draft.years, self.draft.max_years)
        self.query_one("#totals", Static).update(self.totals_text(self.draft))

    # --- changes ------------------------------------------------------------------------

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.draft = replace(self.draft, payment_method=self.methods[event.option_index])

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.draft = replace(self.draft, payment_method=self.methods[event.option_index])

    def on_checkbox_changed(self, event: SpaceCheckbox.Changed) -> None:
        self.draft = replace(self.draft, auto_renew=event.value)

    def on_gb_stepper_stepped(self, event: GbStepper.Stepped) -> None:
        self.action_years(event.delta)

    def action_years(self, delta: int) -> None:
        years = max(1, min(self.draft.years + delta, self.draft.max_years))
        if years == self.draft.years and delta > 0:
            self.notify(
                ngettext(
                    "At most {max} year for these mailboxes.",
                    "At most {max} years for these mailboxes.",
                    self.draft.max_years,
                ).format(max=self.draft.max_years),
                severity="warning",
            )
        self.draft = replace(self.draft, years=years)
        self._show()

    def action_method(self, index: int) -> None:
        if index < len(self.methods):
            self.query_one("#payment-methods", ChoiceList).highlighted = index

    def action_toggle_auto_renew(self) -> None:
        self.query_one("#auto-renew", SpaceCheckbox).toggle()

    def action_proceed(self) -> None:
        self.go_next()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "proceed":
            self.go_next()
