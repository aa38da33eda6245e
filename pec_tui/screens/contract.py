"""Step 5, Contratto: three explicit acceptances, each with its text, then CONFERMA.

The general conditions, the unfair-terms clauses (artt. 1341-1342 c.c.) and the privacy
notice are ticked one by one; the order is confirmed only when all three are ticked.
"""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Static

from pec_tui.domain.draft import Consents, Draft, Step
from pec_tui.i18n import N_, _
from pec_tui.screens.flow_step import FlowStepScreen
from pec_tui.widgets.choice import SpaceCheckbox

TERMS_TEXT = N_(
    "GENERAL CONDITIONS OF CONTRACT — PEC (certified e-mail) service\n"
    "\n"
    "1. Object. The Provider supplies the Customer with a certified e-mail (PEC) mailbox "
    "under Presidential Decree 68/2005 and the CAD (Legislative Decree 82/2005), with the "
    "features of the plan chosen in the order (mailbox space, security archive, SMS notices).\n"
    "2. Duration and renewal. The service lasts for the years paid for and is renewed from "
    "the previous expiry date. A renewal is complete only when its payment is registered. "
    "With automatic renewal on, a renewal order is issued 7 days before expiry and charged "
    "with the payment method stored.\n"
    "3. Expiry. If the renewal is not paid by the expiry date, the mailbox is suspended for 90 "
    "days: messages can be read but not sent or received. After 90 days the mailbox and its "
    "contents are deleted and the address can only be bought again as a new purchase.\n"
    "4. Price and payment. Prices are those of the price list in force on the order date, VAT "
    "excluded. Extra space is charged per GB and per year; signature kits once.\n"
    "5. Plan changes. Moving from PRO or PREMIUM to STANDARD switches off the security archive "
    "and deletes the messages it holds. A plan smaller than the space already used cannot be "
    "chosen.\n"
    "6. Customer's obligations. The Customer keeps the access credentials secret, uses the "
    "service lawfully and keeps the holder's data true and up to date.\n"
    "7. Liability. The Provider answers for the service levels set by AgID rules; it is not "
    "liable for interruptions caused by the Customer, third-party networks or force majeure.\n"
    "8. Withdrawal. A consumer may withdraw within 14 days of the order (art. 52 of the "
    "Consumer Code) by writing to the Provider's PEC address; the price is refunded for the "
    "part of the service not used.\n"
    "9. Governing law. Italian law applies. For consumers, the court of their residence has "
    "jurisdiction; otherwise the court of the Provider's registered office."
)

CLAUSES_TEXT = N_(
    "SPECIFIC APPROVAL OF CLAUSES — articles 1341 and 1342 of the Italian Civil Code\n"
    "\n"
    "The Customer declares to have read and specifically approves the following clauses of "
    "the General Conditions:\n"
    "- art. 2 (automatic renewal and charging of the stored payment method);\n"
    "- art. 3 (suspension of the mailbox after expiry and deletion of the mailbox and its "
    "contents after 90 days);\n"
    "- art. 5 (deletion of the security archive when changing to the STANDARD plan);\n"
    "- art. 7 (limitation of the Provider's liability);\n"
    "- art. 9 (governing law and competent court)."
)

PRIVACY_TEXT = N_(
    "PRIVACY NOTICE — art. 13 of Regulation (EU) 2016/679 (GDPR)\n"
    "\n"
    "Controller: the Provider, at its registered office. Data processed: the holder's "
    "identification, contact and billing data and the technical logs of the service.\n"
    "Purposes and legal basis: supplying the PEC service and renewing it (performance of the "
    "contract); invoicing and keeping the logs required by PEC rules (legal obligation); "
    "security of the service (legitimate interest).\n"
    "Retention: for the life of the contract and then for the time set by tax law (10 years) "
    "and by PEC rules for the logs (30 months).\n"
    "Recipients: the Provider's staff and processors (hosting, payments, e-invoicing through "
    "the SdI); data is not transferred outside the European Union.\n"
    "Rights: access, rectification, erasure, restriction, portability and objection (artt. "
    "15-22 GDPR), by writing to the Controller; complaints may be lodged with the Garante per "
    "la protezione dei dati personali.\n"
    "Providing the data is necessary to supply the service: without it the order cannot be "
    "completed."
)

CONSENTS: tuple[tuple[str, str, str], ...] = (
    ("terms", N_("I accept the General conditions of contract"), TERMS_TEXT),
    (
        "clauses",
        N_("I specifically approve the clauses under artt. 1341-1342 c.c. (clausole vessatorie)"),
        CLAUSES_TEXT,
    ),
    (
        "privacy",
        N_("I have read the privacy notice (informativa sul trattamento dei dati)"),
        PRIVACY_TEXT,
    ),
)


# The short name of each acceptance: its key's label, and how a missing one is named.
SHORT_NAMES = {
    "terms": N_("General conditions"),
    "clauses": N_("Clauses 1341-1342"),
    "privacy": N_("Privacy notice"),
}


class ContractScreen(FlowStepScreen):
    STEP = Step.CONTRACT

    BINDINGS: ClassVar = [
        *(
            Binding(str(n), f"toggle_consent('{name}')", short, id=f"contract.{name}")
            for n, (name, short) in enumerate(SHORT_NAMES.items(), start=1)
        ),
        Binding("enter", "confirm", N_("Confirm order"), id="contract.confirm"),
    ]

    def compose_step(self) -> ComposeResult:
        consents = self.draft.consents
        with VerticalScroll(classes="step-body", id="contract-body"):
            for number, (name, tick, text) in enumerate(CONSENTS, start=1):
                with Vertical(classes="consent"):
                    yield SpaceCheckbox(
                        f"{number}. {_(tick)}", value=getattr(consents, name), id=f"consent-{name}"
                    )
                    with VerticalScroll(classes="contract-text", id=f"text-{name}"):
                        yield Static(_(text), markup=False)
            yield Static(id="consents-missing", classes="error", markup=False)
            with Horizontal(classes="totals-bar"):
                yield Static(id="totals")
                # Never disabled: pressed too early, it says which acceptances are missing.
                yield Button(_("CONFIRM and complete the order"), id="confirm", variant="success")

    def on_mount(self) -> None:
        self.query_one("#totals", Static).update(self.totals_text(self.draft))
        self.query_one("#consent-terms", SpaceCheckbox).focus()
        self._sync()

    @property
    def consents(self) -> Consents:
        return Consents(
            **{
                name: self.query_one(f"#consent-{name}", SpaceCheckbox).value
                for name, _tick, _text in CONSENTS
            }
        )

    def current_draft(self) -> Draft:
        return replace(self.draft, consents=self.consents)

    def _missing(self) -> list[tuple[int, str]]:
        """The acceptances not ticked yet: their key and name."""
        consents = self.consents
        return [
            (n, name)
            for n, (name, _tick, _text) in enumerate(CONSENTS, start=1)
            if not getattr(consents, name)
        ]

    def _sync(self) -> None:
        ready = not self._missing()
        self.query_one("#confirm", Button).set_class(not ready, "-not-ready")
        if ready:
            self.query_one("#consents-missing", Static).update("")

    def on_checkbox_changed(self, event: SpaceCheckbox.Changed) -> None:
        self._sync()

    def action_toggle_consent(self, name: str) -> None:
        self.query_one(f"#consent-{name}", SpaceCheckbox).toggle()

    def action_confirm(self) -> None:
        missing = self._missing()
        if missing:
            message = _("Still to accept: {consents} (keys {keys}).").format(
                consents="; ".join(f"{n}. {_(SHORT_NAMES[name])}" for n, name in missing),
                keys=", ".join(str(n) for n, _name in missing),
            )
            self.query_one("#consents-missing", Static).update(message)
            self.query_one(f"#consent-{missing[0][1]}", SpaceCheckbox).focus()
            return
        self.go_next()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "confirm":
            self.action_confirm()
