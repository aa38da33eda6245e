"""The audit trail browser (administrators): filter by operator, action, outcome and days;
one page of events at a time, newest first, fetched by keyset (the table only grows)."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any, ClassVar, Protocol

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Header, Input, Label, Select, Static

from pec_tui.i18n import N_, _, format_datetime, format_number
from pec_tui.screens.dbwork import run_db
from pec_tui.widgets.footer import KeysFooter
from pec_tui.widgets.keys import translate_bindings
from pec_tui.widgets.tables import Column, fill_table

OUTCOMES = ("ok", "failed", "locked", "denied")
_DAY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")


class AuditLog(Protocol):
    """Implemented by `services.audit_queries.AuditLog`."""

    def count(self, flt: Any) -> int: ...
    def page(
        self, flt: Any, before_id: int | None = None, after_id: int | None = None
    ) -> list[Any]: ...
    def make_filter(
        self,
        since: date | None = None,
        until: date | None = None,
        actor: str | None = None,
        action: str | None = None,
        outcome: str | None = None,
    ) -> Any: ...


def parse_day(text: str) -> date | None:
    """`25/09/2026` (as shown) or `2026-09-25`; None when blank; ValueError otherwise."""
    text = text.strip()
    if not text:
        return None
    match = _DAY.match(text)
    if match:
        day, month, year = (int(g) for g in match.groups())
        return date(year, month, day)
    return date.fromisoformat(text)


def details_text(details: dict[str, Any] | None, width: int = 90) -> str:
    if not details:
        return ""
    text = ", ".join(
        f"{key}={value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)}"
        for key, value in details.items()
    )
    return text if len(text) <= width else text[: width - 1] + "…"


def _audit_columns() -> tuple[Column, ...]:
    return (
        Column(_("When")),
        Column(_("Operator")),
        Column(_("Terminal"), flexible=True),
        Column(_("Action")),
        Column(_("Record")),
        Column(_("Outcome")),
        Column(_("Details")),
    )


class AuditScreen(Screen[None]):
    CSS_PATH = "../styles/auth.tcss"
    BINDINGS: ClassVar = [
        Binding("escape", "back", N_("Back"), id="audit.back"),
        Binding("ctrl+f", "focus_filters", N_("Filter"), id="audit.filter"),
        Binding("pagedown", "older", N_("Older"), id="audit.older", priority=True),
        Binding("pageup", "newer", N_("Newer"), id="audit.newer", priority=True),
        Binding("ctrl+home", "newest", N_("Newest"), id="audit.newest"),
    ]

    def __init__(self, log: AuditLog) -> None:
        super().__init__()
        translate_bindings(self)
        self.audit_log = log
        self.audit_filter: Any = log.make_filter()
        self.rows: list[Any] = []
        self.page_number = 1
        self.total: int | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="audit-filters"):
            yield Input(placeholder=_("Operator"), id="f-actor")
            yield Input(placeholder=_("Action"), id="f-action")
            yield Select([(o, o) for o in OUTCOMES], prompt=_("Any outcome"), id="f-outcome")
            yield Input(placeholder=_("From (dd/mm/yyyy)"), id="f-since")
            yield Input(placeholder=_("To (dd/mm/yyyy)"), id="f-until")
        yield Label("", id="audit-filter-error", classes="auth-error")
        yield DataTable(id="audit-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="audit-status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.sub_title = _("Audit trail")
        table = self.query_one(DataTable)
        fill_table(table, _audit_columns(), [])
        table.focus()
        self._load()

    # --- filters -----------------------------------------------------------------------

    def action_focus_filters(self) -> None:
        self.query_one("#f-actor", Input).focus()

    @on(Input.Submitted)
    @on(Select.Changed)
    def apply_filters(self) -> None:
        error = self.query_one("#audit-filter-error", Label)
        fields = {}
        for name in ("since", "until"):
            try:
                fields[name] = parse_day(self.query_one(f"#f-{name}", Input).value)
            except ValueError:
                error.update(_("Write the day as dd/mm/yyyy."))
                self.query_one(f"#f-{name}", Input).focus()
                return
        error.update("")
        outcome = self.query_one("#f-outcome", Select).value
        self.audit_filter = self.audit_log.make_filter(
            since=fields["since"],
            until=fields["until"],
            actor=self.query_one("#f-actor", Input).value.strip() or None,
            action=self.query_one("#f-action", Input).value.strip() or None,
            outcome=outcome if isinstance(outcome, str) else None,
        )
        self.page_number = 1
        self.total = None
        self._load()

    # --- paging ------------------------------------------------------------------------

    def action_older(self) -> None:
        if self.rows:
            self._load(before_id=self.rows[-1].id, step=1)

    def action_newer(self) -> None:
        if self.rows and self.page_number > 1:
            self._load(after_id=self.rows[0].id, step=-1)

    def action_newest(self) -> None:
        self.page_number = 1
        self._load()

    def action_back(self) -> None:
        self.dismiss(None)

    @work(exclusive=True, group="audit-page")
    async def _load(
        self, before_id: int | None = None, after_id: int | None = None, step: int = 0
    ) -> None:
        flt = self.audit_filter
        log, total = self.audit_log, self.total

        def read() -> tuple[list[Any], int]:
            rows = log.page(flt, before_id, after_id)
            return rows, log.count(flt) if total is None else total

        # Refused or out of reach: say it where the rows would be.
        report = self.query_one("#audit-status", Static).update
        found = await run_db(self, "reading the audit trail", read, report=report)
        if found is None:
            return
        rows, self.total = found
        if not rows and step:
            self.notify(_("No more events this way."), severity="information")
            return
        self.page_number += step
        self.rows = rows
        self._show()

    def on_resize(self) -> None:
        # Once the table has its new size (`widgets.tables.table_room`).
        self.call_after_refresh(self._show, keep_cursor=True)

    def _show(self, keep_cursor: bool = False) -> None:
        fill_table(
            self.query_one(DataTable),
            _audit_columns(),
            [
                (
                    str(row.id),
                    (
                        format_datetime(row.at.astimezone()),
                        row.actor,
                        row.terminal or "",
                        row.action,
                        f"{row.entity} {row.entity_id}" if row.entity_id else row.entity or "",
                        row.outcome,
                        details_text(row.details),
                    ),
                )
                for row in self.rows
            ],
            keep_cursor=keep_cursor,
        )
        self.query_one("#audit-status", Static).update(
            _("Page {page} — {count} events shown of {total}").format(
                page=self.page_number,
                count=len(self.rows),
                total=format_number(self.total or 0),
            )
            if self.rows
            else _("No events match the filter.")
        )
