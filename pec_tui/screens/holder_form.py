"""Step 3, Dati Intestatario: confirm or edit the holder and the e-invoicing data.

The holder kind decides which fields show. Each field is checked by the domain validators
(through `validate_holder`) when the user leaves it, and again, all together, on Continue.
With mailboxes of several holders there is no form: a summary says who is billed.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Label, Select, Static

from pec_tui.domain.draft import Draft, Step
from pec_tui.domain.enums import HolderKind, label
from pec_tui.domain.holder import (
    HOLDER_FIELDS,
    HolderData,
    HolderField,
    holder_field,
    normalise_holder,
    validate_holder,
)
from pec_tui.domain.pricing import PriceList
from pec_tui.i18n import N_, _, format_number, ngettext
from pec_tui.screens.flow_step import FlowStepScreen
from pec_tui.services.context import Context
from pec_tui.widgets.choice import SpaceCheckbox
from pec_tui.widgets.forms import FAST_FOCUS_BINDINGS, chosen, submit_after_typed_keys

# The fields and which holder kinds have them: the one table in `domain.holder`.
FIELDS = HOLDER_FIELDS
FIELD_NAMES = tuple(spec.name for spec in FIELDS)


class HolderFormScreen(FlowStepScreen):
    STEP = Step.HOLDER

    BINDINGS: ClassVar = [
        # Priority, so that enter continues from any field; an open Select keeps its enter.
        Binding("enter", "proceed", N_("Continue"), id="holder.proceed", priority=True),
        *FAST_FOCUS_BINDINGS,
    ]

    def __init__(self, ctx: Context, draft: Draft, prices: PriceList) -> None:
        super().__init__(ctx, draft, prices)
        self.touched: set[str] = set()

    # --- layout -------------------------------------------------------------------------

    def compose_step(self) -> ComposeResult:
        holder = self.draft.holder
        with VerticalScroll(classes="step-body", id="holder-body"):
            if holder is None:
                yield from self._compose_summary()
            else:
                yield Label(_("Holder data"), classes="section-title")
                with Horizontal(id="kind-row"):
                    yield Label(_("Holder type"), classes="field-label")
                    yield Select(
                        [(label(kind), kind.value) for kind in HolderKind],
                        value=holder.kind.value,
                        allow_blank=False,
                        id="kind",
                    )
                with Grid(classes="form-grid", id="holder-fields"):
                    for spec in FIELDS:
                        if not spec.billing:
                            yield from self._compose_field(spec, holder)
                yield Label(
                    _("Billing data (e-invoice)"), classes="section-title", id="billing-title"
                )
                with Grid(classes="form-grid", id="billing-fields"):
                    for spec in FIELDS:
                        if spec.billing:
                            yield from self._compose_field(spec, holder)
                    with Vertical(classes="field", id="field-split_payment"):
                        yield SpaceCheckbox(
                            _("Split payment (scissione dei pagamenti)"),
                            value=holder.split_payment,
                            id="split_payment",
                        )
            yield Static(id="form-error", classes="error")
        with Horizontal(classes="totals-bar"):
            yield Static(
                _("Enter or Continue checks every field; escape goes back keeping what you typed."),
                classes="hint",
            )
            yield Button(_("Continue and complete the order"), id="proceed", variant="success")

    def _compose_field(self, spec: HolderField, holder: HolderData) -> ComposeResult:
        with Vertical(classes="field", id=f"field-{spec.name}"):
            yield Label(_(spec.label), classes="field-label")
            yield Input(
                value=getattr(holder, spec.name) or "",
                placeholder=spec.placeholder,
                # Not cut at the limit: a longer value is refused at the field, with why.
                id=spec.name,
            )
            yield Label("", classes="field-error", id=f"error-{spec.name}")

    def _compose_summary(self) -> ComposeResult:
        yield Label(_("Who is billed"), classes="section-title")
        addresses = [item.address for item in self.draft.items]
        yield Static(
            ngettext(
                "The selected mailbox belongs to several holders: the order is billed to {name}.",
                "The {count} selected mailboxes belong to several holders: the order is billed "
                "to {name}, with the billing data of its account.",
                len(addresses),
            ).format(count=format_number(len(addresses)), name=self.draft.billed_to),
            markup=False,
        )
        shown = addresses[:15]
        more = len(addresses) - len(shown)
        text = "\n".join(f"  • {a}" for a in shown)
        if more:
            text += "\n  " + ngettext("… and {count} more", "… and {count} more", more).format(
                count=more
            )
        yield Static(text, markup=False, id="holder-summary")

    def on_mount(self) -> None:
        if self.draft.holder is None:
            self.query_one("#proceed", Button).focus()
            return
        self._show_kind_fields()
        errors = validate_holder(self.current_holder())
        if errors:
            # Stored data that no longer passes (e.g. no SDI code yet): say so at once.
            self.touched.update(FIELD_NAMES)
            self._show_errors(errors)
            self._focus_field(next(iter(errors)))
        else:
            self.query_one("#proceed", Button).focus()

    # --- reading and checking the form --------------------------------------------------

    @property
    def kind(self) -> HolderKind:
        return HolderKind(chosen(self.query_one("#kind", Select)))

    def current_holder(self) -> HolderData:
        """The holder as typed, fields of other holder types included (kept for going back)."""
        assert self.draft.holder is not None
        # Any: `replace` cannot tell these keys are only the optional text fields.
        values: dict[str, Any] = {
            spec.name: (self.query_one(f"#{spec.name}", Input).value.strip() or None)
            for spec in FIELDS
        }
        return replace(
            self.draft.holder,
            kind=self.kind,
            split_payment=self.query_one("#split_payment", SpaceCheckbox).value,
            **values,
        )

    def current_draft(self) -> Draft:
        if self.draft.holder is None:
            return self.draft
        return replace(self.draft, holder=self.current_holder())

    def _show_kind_fields(self) -> None:
        kind = self.kind
        for spec in FIELDS:
            self.query_one(f"#field-{spec.name}").display = spec.applies_to(kind)
        self.query_one("#field-split_payment").display = kind is HolderKind.PUBLIC_ADMIN
        self.query_one("#field-company_name Label.field-label", Label).update(
            _("Administration name")
            if kind is HolderKind.PUBLIC_ADMIN
            else _(holder_field("company_name").label)
        )
        billing = kind.needs_billing
        self.query_one("#billing-title").display = billing
        self.query_one("#billing-fields").display = billing

    def _show_errors(self, errors: dict[str, str]) -> None:
        kind = self.kind
        for spec in FIELDS:
            message = errors.get(spec.name) if spec.name in self.touched else None
            if not spec.applies_to(kind):
                message = None
            error = self.query_one(f"#error-{spec.name}", Label)
            error.update(message or "")
            error.display = bool(message)
            self.query_one(f"#{spec.name}", Input).set_class(bool(message), "-invalid")
        shown = {name for name in errors if name in FIELD_NAMES}
        others = [message for name, message in errors.items() if name not in shown]
        form_error = self.query_one("#form-error", Static)
        form_error.update("\n".join(others))
        form_error.display = bool(others) and self.touched >= set(FIELD_NAMES)

    def _check(self) -> dict[str, str]:
        errors = validate_holder(self.current_holder())
        self._show_errors(errors)
        return errors

    def _focus_field(self, name: str) -> None:
        if name in FIELD_NAMES:
            field = self.query_one(f"#{name}", Input)
            field.focus()
            field.scroll_visible()

    # --- events -------------------------------------------------------------------------

    def on_input_blurred(self, event: Input.Blurred) -> None:
        if event.input.id in FIELD_NAMES:
            self.touched.add(event.input.id)
            self._check()

    def on_input_changed(self, event: Input.Changed) -> None:
        # Once a field shows an error, re-check as the user types so it clears when fixed.
        if event.input.id in self.touched:
            self._check()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_proceed()

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "kind" and self.draft.holder is not None:
            self._show_kind_fields()
            self._check()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "proceed":
            self.action_proceed()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "proceed":
            focused = self.focused
            while focused is not None and focused is not self:
                if isinstance(focused, Select):
                    return False
                focused = focused.parent  # type: ignore[assignment]
        return True

    def action_proceed(self) -> None:
        submit_after_typed_keys(self, self._proceed)

    def _proceed(self) -> None:
        if self.draft.holder is None:
            self.go_next()
            return
        self.touched.update(FIELD_NAMES)
        errors = self._check()
        if errors:
            self._focus_field(next((n for n in FIELD_NAMES if n in errors), ""))
            self.notify(
                ngettext(
                    "{count} field needs attention: see the message under it.",
                    "{count} fields need attention: see the message under each.",
                    len(errors),
                ).format(count=len(errors)),
                title=_("Holder data not valid"),
                severity="error",
            )
            return
        self.go_next(replace(self.draft, holder=normalise_holder(self.current_holder())))
