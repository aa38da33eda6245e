"""Where the user is in the renewal flow: the numbered steps, the current one highlighted."""

from __future__ import annotations

from typing import Any

from textual.markup import escape
from textual.widgets import Static

from pec_tui.i18n import N_, _, format_number, ngettext

# The steps of the portal's "Rinnovo Standard", in order, by the value of `services.orders.Step`.
FLOW_STEPS: tuple[tuple[str, str], ...] = (
    ("plan", N_("Mailbox type")),
    ("kit", N_("Digital signature")),
    ("holder", N_("Holder")),
    ("order_form", N_("Order form")),
    ("contract", N_("Contract")),
    ("done", N_("Confirmation")),
)


def step_title(step: str) -> str:
    """The translated title of `step` (a `Step` value)."""
    return _(dict(FLOW_STEPS)[str(step)])


class FlowHeader(Static):
    """`1 Tipo casella › 2 Firma digitale › …` with the current step highlighted, and who pays."""

    DEFAULT_CSS = """
    FlowHeader {
        height: auto;
        padding: 0 1;
        background: $boost;
        border-bottom: solid $primary;
    }
    """

    def __init__(self, current: str, billed_to: str = "", count: int = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.current = str(current)
        self.billed_to = billed_to
        self.count = count

    def on_mount(self) -> None:
        self.update(self.render_steps())

    def render_steps(self) -> str:
        parts = []
        keys = [key for key, _title in FLOW_STEPS]
        current_index = keys.index(self.current) if self.current in keys else -1
        for index, (_key, title) in enumerate(FLOW_STEPS):
            text = f"{index + 1} {escape(_(title))}"
            if index == current_index:
                parts.append(f"[b $text on $accent] {text} [/]")
            elif index < current_index:
                parts.append(f"[$success]{text}[/]")
            else:
                parts.append(f"[dim]{text}[/]")
        line = " › ".join(parts)
        if self.billed_to:
            who = _("Renewal for {name}").format(name=self.billed_to)
            if self.count > 1:
                who += " — " + ngettext("{count} mailbox", "{count} mailboxes", self.count).format(
                    count=format_number(self.count)
                )
            line += "\n" + f"[b]{escape(who)}[/]"
        return line
