"""The renewal drafts left unfinished (a crash, a closed terminal): resume or discard them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Label, Static

from pec_tui.dialogs.discard_draft import DiscardDraftModal
from pec_tui.domain.draft import DraftSummary
from pec_tui.i18n import N_, _, format_datetime, format_number
from pec_tui.screens.dbwork import run_db
from pec_tui.services.context import Context
from pec_tui.services.orders import discard_draft, list_drafts
from pec_tui.widgets.flow_header import step_title
from pec_tui.widgets.footer import KeysFooter
from pec_tui.widgets.keys import ScreenKeysProvider, translate_bindings
from pec_tui.widgets.tables import Column, fill_table


def _local(moment: datetime) -> datetime:
    """Stored in UTC (SQLite hands it back without a zone): shown in the terminal's time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone()


def _draft_columns() -> tuple[Column, ...]:
    """The columns; Billed to and Mailboxes give way when the window is narrow."""
    return (
        Column(_("Draft")),
        Column(_("Billed to"), flexible=True),
        Column(_("Mailboxes"), flexible=True),
        Column(_("Step")),
        Column(_("Last saved")),
    )


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

    def __init__(
        self, ctx: Context, drafts: list[DraftSummary] | None = None, after_crash: bool = False
    ) -> None:
        super().__init__(classes="flow-step")
        self.ctx = ctx
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
        yield KeysFooter()

    def on_mount(self) -> None:
        self._fill()  # the headings at once; the rows too, unless they are still to be read
        if not self._loaded:
            self.load()
        self.query_one("#drafts-table", DataTable).focus()

    def on_resize(self) -> None:
        # Once the tables have their new size (`widgets.tables.table_room`).
        self.call_after_refresh(self._fill)

    def _rows(self) -> list[tuple[str, ...]]:
        rows: list[tuple[str, ...]] = []
        for summary in self.drafts:
            addresses = ", ".join(summary.addresses[:2])
            if summary.mailbox_count > 2:
                # The count first: a narrow column cuts the addresses, not how many there are.
                count = format_number(summary.mailbox_count)
                addresses = f"{count}: {addresses}, …"
            rows.append(
                (
                    str(summary.order_id),
                    summary.billed_to,
                    addresses,
                    step_title(summary.step),
                    format_datetime(_local(summary.updated_at)),
                )
            )
        return rows

    def _fill(self) -> None:
        fill_table(
            self.query_one("#drafts-table", DataTable),
            _draft_columns(),
            [
                (str(summary.order_id), row)
                for summary, row in zip(self.drafts, self._rows(), strict=True)
            ],
        )
        self.query_one("#drafts-empty", Static).update(
            "" if self.drafts else _("No unfinished renewals.")
        )
        self.refresh_bindings()

    @work(exclusive=True, group="drafts")
    async def load(self) -> None:
        drafts = await run_db(
            self,
            "listing the drafts",
            list_drafts,
            self.ctx.engine,
            self.ctx.actor,
            # The database is down: say it, keep the screen usable.
            report=lambda message: self.notify(
                _("The drafts cannot be read: {error}").format(error=message), severity="error"
            ),
        )
        if drafts is None:
            return
        self.drafts = drafts
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
        ctx = self.ctx

        def discard() -> bool:
            discard_draft(ctx.engine, ctx.actor, summary.order_id)
            return True

        if await run_db(self, _("The draft cannot be discarded"), discard):
            self.notify(_("Draft {id} discarded.").format(id=summary.order_id))
        self.load()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_resume()
