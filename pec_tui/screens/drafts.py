"""The renewal drafts left unfinished (a crash, a closed terminal): resume or discard them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, DataTable, Footer, Label, Static

from pec_tui.domain.draft import DraftSummary
from pec_tui.i18n import N_, _, format_datetime
from pec_tui.screens.flow import MessageModal
from pec_tui.services.orders import discard_draft, list_drafts
from pec_tui.widgets.flow_header import step_title
from pec_tui.widgets.keys import ScreenKeysProvider, translate_bindings


def _local(moment: datetime) -> datetime:
    """Stored in UTC (SQLite hands it back without a zone): shown in the terminal's time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone()


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
            yield Static(
                _("The renewal draft for {name} ({addresses}) will be deleted.").format(
                    name=summary.billed_to, addresses=", ".join(summary.addresses[:3])
                ),
                markup=False,
            )
            with Horizontal(classes="modal-buttons"):
                yield Button(_("Discard (y)"), id="yes", variant="error")
                yield Button(_("Keep (n)"), id="no", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class DraftsScreen(Screen[int | None]):
    """Dismisses with the order id of the draft to resume, or None."""

    CSS_PATH = "../styles/flow.tcss"
    COMMANDS: ClassVar = {ScreenKeysProvider}
    BINDINGS: ClassVar = [
        Binding("enter", "resume", N_("Resume"), id="drafts.resume", priority=True),
        Binding("d,delete", "discard", N_("Discard"), id="drafts.discard"),
        Binding("f5", "reload", N_("Reload"), id="drafts.reload"),
        Binding("escape", "close", N_("Close"), id="drafts.close"),
    ]

    def __init__(self, drafts: list[DraftSummary] | None = None, after_crash: bool = False) -> None:
        super().__init__(classes="flow-step")
        self.drafts: list[DraftSummary] = list(drafts or [])
        self.after_crash = after_crash
        self._loaded = drafts is not None
        translate_bindings(self)

    def compose(self) -> ComposeResult:
        with Vertical(classes="step-body", id="drafts-body"):
            yield Label(_("Unfinished renewals"), classes="section-title")
            yield Static(
                _(
                    "These renewals were left before confirmation (the terminal was closed or "
                    "crashed). Resume one with enter, discard it with d."
                )
                if self.after_crash
                else _("Renewals started and not yet confirmed: enter resumes, d discards."),
                classes="hint",
            )
            yield DataTable(id="drafts-table", cursor_type="row", zebra_stripes=True)
            yield Static("", id="drafts-empty", classes="hint")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#drafts-table", DataTable)
        table.add_columns(_("Draft"), _("Billed to"), _("Mailboxes"), _("Step"), _("Last saved"))
        if self._loaded:
            self._fill()
        else:
            self.load()
        table.focus()

    def _fill(self) -> None:
        table = self.query_one("#drafts-table", DataTable)
        table.clear()
        for summary in self.drafts:
            addresses = ", ".join(summary.addresses[:2])
            if len(summary.addresses) > 2:
                addresses += f" (+{len(summary.addresses) - 2})"
            table.add_row(
                str(summary.order_id),
                summary.billed_to,
                addresses,
                step_title(summary.step),
                format_datetime(_local(summary.updated_at)),
                key=str(summary.order_id),
            )
        self.query_one("#drafts-empty", Static).update(
            "" if self.drafts else _("No unfinished renewals.")
        )
        self.refresh_bindings()

    @work(exclusive=True, group="drafts")
    async def load(self) -> None:
        try:
            self.drafts = await asyncio.to_thread(list_drafts, self.app.engine, self.app.actor)
        except Exception as exc:  # the database is down: say it, keep the screen usable
            self.notify(
                _("The drafts cannot be read: {error}").format(error=type(exc).__name__),
                severity="error",
            )
            return
        self._fill()

    def _selected(self) -> DraftSummary | None:
        table = self.query_one("#drafts-table", DataTable)
        if not self.drafts or table.cursor_row is None:
            return None
        index = table.cursor_row
        return self.drafts[index] if 0 <= index < len(self.drafts) else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("resume", "discard") and self.is_mounted:
            return self._selected() is not None
        return True

    def action_resume(self) -> None:
        summary = self._selected()
        if summary is not None:
            self.dismiss(summary.order_id)

    def action_close(self) -> None:
        self.dismiss(None)

    def action_reload(self) -> None:
        self.load()

    @work(exclusive=True, group="drafts")
    async def action_discard(self) -> None:
        summary = self._selected()
        if summary is None:
            return
        if not await self.app.push_screen_wait(DiscardDraftModal(summary)):
            return
        try:
            await asyncio.to_thread(
                discard_draft, self.app.engine, self.app.actor, summary.order_id
            )
        except Exception as exc:
            message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            await self.app.push_screen_wait(
                MessageModal(_("The draft cannot be discarded"), message)
            )
        else:
            self.notify(_("Draft {id} discarded.").format(id=summary.order_id))
        self.load()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_resume()
