"""Kiosk home: the identified holder's mailboxes, to select and renew through the renewal flow.

Only this holder's mailboxes are listed (the kiosk actor scopes every query); *Rinnova* is
offered for those with automatic renewal off that are not yet cancelled.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Static

from pec_tui.domain.enums import label
from pec_tui.domain.lifecycle import expiring_within, is_expiring_soon
from pec_tui.domain.records import MailboxRow
from pec_tui.i18n import N_, _, format_date
from pec_tui.screens.dbwork import run_db
from pec_tui.screens.messages import KioskSessionOver, RenewalFlowFinished, StartRenewal
from pec_tui.services import kiosk
from pec_tui.services.context import Context
from pec_tui.widgets.footer import KeysFooter
from pec_tui.widgets.keys import translate_bindings
from pec_tui.widgets.tables import Column, fill_table

# Expiry dates within 90 days stand out (the warning colour of Textual's dark theme).
EXPIRING_STYLE = "bold #ffa62b"


def _kiosk_columns() -> tuple[Column, ...]:
    return (
        Column(" "),
        Column(_("Address"), flexible=True, minimum=16),
        Column(_("Type")),
        Column(_("Expiry date")),
        Column(_("State"), flexible=True),
        Column(_("Used space")),
        Column(_("Automatic renewal")),
    )


class KioskHomeScreen(Screen[None]):
    CSS_PATH = "../styles/kiosk.tcss"
    AUTO_FOCUS = "#kiosk-mailboxes"
    BINDINGS: ClassVar = [
        Binding("r", "renew", N_("Renew"), id="kiosk.renew"),
        Binding("space", "toggle_row", N_("Select"), id="kiosk.select"),
        Binding(
            "a",
            "select_expiring",
            N_("Select those expiring within 3 months"),
            id="kiosk.select_expiring",
        ),
        Binding("escape", "leave", N_("Finish"), id="kiosk.leave"),
    ]

    def __init__(self, ctx: Context, holder_name: str) -> None:
        super().__init__(classes="kiosk")
        self.ctx = ctx
        self.holder_name = holder_name
        self.rows: list[MailboxRow] = []
        self.selected: set[int] = set()
        translate_bindings(self)

    def compose(self) -> ComposeResult:
        with Vertical(id="kiosk-home"):
            yield Static(
                _("PEC mailboxes of {holder}").format(holder=self.holder_name),
                classes="kiosk-title",
                markup=False,
            )
            yield Static(
                _(
                    "Space selects a mailbox, R renews the selected ones (or the highlighted "
                    "one), Esc ends the session."
                ),
                classes="hint",
            )
            table: DataTable[str | Text] = DataTable(id="kiosk-mailboxes", cursor_type="row")
            yield table
            yield Static("", id="kiosk-status", classes="hint")
        yield KeysFooter()

    def on_mount(self) -> None:
        fill_table(self.query_one("#kiosk-mailboxes", DataTable), _kiosk_columns(), [])
        self.reload()

    def on_resize(self) -> None:
        # Once the tables have their new size (`widgets.tables.table_room`).
        self.call_after_refresh(self._fill)

    @property
    def today(self) -> date:
        return self.ctx.today()

    # --- the list ---------------------------------------------------------------------------

    @work(exclusive=True, group="kiosk-mailboxes")
    async def reload(self) -> None:
        rows = await run_db(
            self,
            "kiosk: listing the holder's mailboxes",
            kiosk.holder_mailboxes,
            self.ctx.engine,
            self.ctx.actor,
            self.today,
            # A customer reads no technical detail.
            report=lambda message: self.query_one("#kiosk-status", Static).update(
                _("The mailboxes cannot be read right now: please ask at the desk.")
            ),
        )
        if rows is None:
            return
        self.rows = rows
        self.selected &= {row.id for row in rows if row.renewable(self.today)}
        self._fill()

    def _cells(self, row: MailboxRow) -> list[str | Text]:
        soon = is_expiring_soon(row.expiry, self.today)
        return [
            "✔" if row.id in self.selected else " ",
            Text(row.address),
            row.plan.value,
            Text(format_date(row.expiry), style=EXPIRING_STYLE if soon else ""),
            label(row.state(self.today)),
            f"{row.used_percent} %",
            _("Yes") if row.auto_renew else _("No"),
        ]

    def _fill(self) -> None:
        fill_table(
            self.query_one("#kiosk-mailboxes", DataTable),
            _kiosk_columns(),
            [(str(row.id), self._cells(row)) for row in self.rows],
        )
        self._update_status()
        self.refresh_bindings()

    def _update_status(self) -> None:
        parts = []
        if self.selected:
            parts.append(_("{count} selected").format(count=len(self.selected)))
        if len(self.rows) >= kiosk.MAX_LISTED:
            parts.append(
                _("Only the first {count} mailboxes are shown (soonest expiry first).").format(
                    count=kiosk.MAX_LISTED
                )
            )
        self.query_one("#kiosk-status", Static).update("  ".join(parts))

    def _highlighted(self) -> MailboxRow | None:
        table = self.query_one("#kiosk-mailboxes", DataTable)
        if not self.rows or not 0 <= table.cursor_row < len(self.rows):
            return None
        return self.rows[table.cursor_row]

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self) -> None:
        self.refresh_bindings()

    # --- keys -------------------------------------------------------------------------------

    def _to_renew(self) -> list[int]:
        if self.selected:
            return sorted(self.selected)
        row = self._highlighted()
        return [row.id] if row is not None and row.renewable(self.today) else []

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "renew":
            return bool(self._to_renew())
        if action == "toggle_row":
            row = self._highlighted()
            return row is not None and row.renewable(self.today)
        return True

    def action_toggle_row(self) -> None:
        row = self._highlighted()
        if row is None or not row.renewable(self.today):
            return
        self.selected ^= {row.id}
        table = self.query_one("#kiosk-mailboxes", DataTable)
        table.update_cell(str(row.id), table.ordered_columns[0].key, self._cells(row)[0])
        self._update_status()
        self.refresh_bindings()

    def action_select_expiring(self) -> None:
        first, last = expiring_within(self.today, 3)
        self.selected = {
            row.id for row in self.rows if row.renewable(self.today) and first <= row.expiry <= last
        }
        if not self.selected:
            self.notify(_("None of your mailboxes expires within 3 months."))
        self._fill()

    def action_renew(self) -> None:
        ids = self._to_renew()
        if ids:
            self.app.post_message(StartRenewal(ids))

    def action_leave(self) -> None:
        self.app.post_message(KioskSessionOver())

    @on(RenewalFlowFinished)
    def _flow_finished(self, message: RenewalFlowFinished) -> None:
        message.stop()
        if message.number is not None:
            # The order is placed and its confirmation was read: the next customer's turn.
            self.app.post_message(KioskSessionOver())
        else:
            self.reload()
