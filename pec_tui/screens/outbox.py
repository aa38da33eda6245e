"""Posta in uscita (administrators and back office): the e-mails that did not go out.

Opens on the messages refused for good (*failed*, with the server's reason); `s` shows the
queue or everything instead; `r` queues the message under the cursor again (the next
`outbox flush` sends it); f5 reads the list again.
"""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static

from pec_tui.i18n import N_, _, format_datetime, format_number
from pec_tui.screens.dbwork import run_db
from pec_tui.services.context import Context
from pec_tui.services.delivery import FAILED, QUEUED, OutboxRow, outbox_for, retry_for, status_label
from pec_tui.widgets.footer import KeysFooter
from pec_tui.widgets.keys import ScreenKeysProvider, translate_bindings
from pec_tui.widgets.tables import Column, fill_table

# `s` cycles through these: failed first, the queue, everything (None).
STATUSES: tuple[str | None, ...] = (FAILED, QUEUED, None)


def _outbox_columns() -> tuple[Column, ...]:
    return (
        Column(_("No.")),
        Column(_("To"), flexible=True),
        Column(_("Subject"), flexible=True),
        Column(_("Status")),
        Column(_("Attempts")),
        Column(_("Reason")),
        Column(_("Queued")),
    )


class OutboxScreen(Screen[None]):
    COMMANDS: ClassVar = {ScreenKeysProvider}
    BINDINGS: ClassVar = [
        Binding("r", "retry", N_("Send again"), id="outbox.retry"),
        Binding("s", "cycle_status", N_("Status"), id="outbox.status"),
        Binding("f5", "reload", N_("Reload"), id="outbox.reload"),
        Binding("escape", "app.pop_screen", N_("Back"), id="outbox.back"),
    ]

    def __init__(self, ctx: Context) -> None:
        super().__init__()
        self.ctx = ctx
        self.status: str | None = FAILED
        self.rows: list[OutboxRow] = []
        translate_bindings(self)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="outbox-status", markup=False)
        yield DataTable(id="outbox-table", cursor_type="row", zebra_stripes=True)
        yield KeysFooter(compact=True)

    def on_mount(self) -> None:
        self.sub_title = _("Outgoing e-mail")
        table = self.query_one(DataTable)
        fill_table(table, _outbox_columns(), [])
        table.focus()
        self.action_reload()

    @work(exclusive=True, group="outbox-load")
    async def action_reload(self) -> None:
        ctx, status = self.ctx, self.status
        rows = await run_db(
            self, "reading the outbox", lambda: outbox_for(ctx.engine, ctx.actor, status)
        )
        if rows is None:
            return
        self.rows = rows
        self._fill()
        shown = status_label(status) if status else _("all")
        self.query_one("#outbox-status", Static).update(
            _(
                "{n} messages ({status}), newest first. r sends the one under the cursor again."
            ).format(n=format_number(len(rows)), status=shown)
        )

    def on_resize(self) -> None:
        # Once the tables have their new size (`widgets.tables.table_room`).
        self.call_after_refresh(self._fill)

    def _fill(self) -> None:
        fill_table(
            self.query_one(DataTable),
            _outbox_columns(),
            [
                (
                    str(row.id),
                    (
                        str(row.id),
                        row.to_address,
                        row.subject,
                        status_label(row.status),
                        str(row.attempts),
                        row.last_error or "",
                        format_datetime(row.created_at),
                    ),
                )
                for row in self.rows
            ],
        )

    def action_cycle_status(self) -> None:
        self.status = STATUSES[(STATUSES.index(self.status) + 1) % len(STATUSES)]
        self.action_reload()

    @work(exclusive=True, group="outbox-retry")
    async def action_retry(self) -> None:
        table = self.query_one(DataTable)
        if not self.rows or table.cursor_row >= len(self.rows):
            return
        row = self.rows[table.cursor_row]
        ctx = self.ctx
        queued = await run_db(
            self, "queueing the message", lambda: retry_for(ctx.engine, ctx.actor, [row.id])
        )
        if queued is None:
            return
        if queued:
            self.notify(_("Message {id} queued again: the next flush sends it.").format(id=row.id))
        else:
            self.notify(
                _("Message {id} is neither failed nor waiting: nothing to do.").format(id=row.id),
                severity="warning",
            )
        self.action_reload()
