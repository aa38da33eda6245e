"""Operators administration (administrators): list, add, disable and enable accounts, set a
new password (which also lifts a lockout)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from functools import partial
from typing import Any, ClassVar, Protocol

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Header, Input, Label, Select, Static

from pec_tui.domain.enums import Role, label
from pec_tui.domain.validation import ValidationError
from pec_tui.i18n import N_, _, format_datetime, pgettext
from pec_tui.screens.dbwork import run_db
from pec_tui.widgets.footer import KeysFooter
from pec_tui.widgets.forms import FieldErrors, chosen, field_block
from pec_tui.widgets.keys import translate_bindings
from pec_tui.widgets.tables import Column, fill_table


class OperatorAdmin(Protocol):
    """Implemented by `services.operators.OperatorAdmin`."""

    def list(self) -> Sequence[Any]: ...
    def create(
        self,
        username: str,
        password: str,
        role: Role,
        reseller_id: int | None = None,
        full_name: str = "",
    ) -> Any: ...
    def disable(self, username: str) -> bool: ...
    def change_password(self, username: str, new_password: str) -> None: ...
    def enable(self, username: str) -> bool: ...
    def now(self) -> datetime: ...
    def check_username(self, username: str) -> str: ...
    def check_password(self, password: str, username: str | None = None) -> None: ...


class AddOperatorScreen(FieldErrors, ModalScreen[Any]):
    """The new operator's data; dismissed with the created operator or None."""

    CSS_PATH = "../styles/auth.tcss"
    FIELDS = ("username", "full_name", "role", "reseller_id", "password", "confirm")
    BINDINGS: ClassVar = [
        Binding("ctrl+s", "save", N_("Create"), id="operators.save", priority=True),
        Binding("escape", "cancel", N_("Cancel"), id="operators.cancel"),
    ]

    def __init__(self, admin: OperatorAdmin) -> None:
        super().__init__()
        translate_bindings(self)
        self.admin = admin

    def compose(self) -> ComposeResult:
        with Vertical(id="auth-box"):
            yield Static(_("New operator"), classes="auth-title")
            yield from field_block(_("Username"), "username", max_length=64)
            yield from field_block(_("Full name"), "full_name", max_length=200)
            yield Static(_("Role"), classes="auth-label")
            yield Select(
                [(label(role), role.value) for role in Role],
                value=Role.BACK_OFFICE.value,
                allow_blank=False,
                id="role",
            )
            yield Label("", id="role-error", classes="auth-error")
            yield from field_block(
                _("Reseller number (reseller operators only)"),
                "reseller_id",
                type="integer",
                max_length=10,
            )
            yield from field_block(_("Password"), "password", password=True, max_length=256)
            yield from field_block(
                _("Repeat the password"), "confirm", password=True, max_length=256
            )
            yield Static("", id="auth-message")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#username").focus()

    @on(Input.Submitted)
    def _next(self) -> None:
        self.action_next_or_submit()

    def action_save(self) -> None:
        self.submit()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def submit(self) -> None:
        role = Role(chosen(self.query_one("#role", Select)))
        reseller_text = self.value("reseller_id").strip()
        try:
            username = self.admin.check_username(self.value("username"))
            self.admin.check_password(self.value("password"), username)
        except ValidationError as exc:
            self.show_error(exc.field, exc.message)
            return
        if self.value("confirm") != self.value("password"):
            self.show_error("confirm", _("The two passwords differ."))
            return
        self.clear_errors()
        self._create(
            username,
            self.value("password"),
            role,
            int(reseller_text) if reseller_text else None,
            self.value("full_name"),
        )

    @work(exclusive=True, group="operator-create")
    async def _create(
        self, username: str, password: str, role: Role, reseller_id: int | None, full_name: str
    ) -> None:
        self.set_busy(True)
        try:
            row = await asyncio.to_thread(
                self.admin.create, username, password, role, reseller_id, full_name
            )
        except ValidationError as exc:
            self.show_error(exc.field, exc.message)
            return
        except Exception as exc:  # refused, or the database is out of reach
            self.show_error(None, str(exc))
            return
        finally:
            self.set_busy(False)
        self.dismiss(row)


class PasswordResetScreen(FieldErrors, ModalScreen[bool]):
    """A new password for an operator (also lifts a lockout); dismissed with True when set."""

    CSS_PATH = "../styles/auth.tcss"
    FIELDS = ("password", "confirm")
    BINDINGS: ClassVar = [
        Binding("enter", "next_or_submit", N_("Set password"), id="operators.password_set",
                priority=True),
        Binding("escape", "cancel", N_("Cancel"), id="operators.password_cancel"),
    ]  # fmt: skip

    def __init__(self, admin: OperatorAdmin, username: str) -> None:
        super().__init__()
        translate_bindings(self)
        self.admin = admin
        self.username = username

    def compose(self) -> ComposeResult:
        with Vertical(id="auth-box"):
            yield Static(
                _("New password for {name}").format(name=self.username), classes="auth-title"
            )
            yield from field_block(_("Password"), "password", password=True, max_length=256)
            yield from field_block(
                _("Repeat the password"), "confirm", password=True, max_length=256
            )
            yield Static("", id="auth-message")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#password").focus()

    def action_cancel(self) -> None:
        self.dismiss(False)

    def submit(self) -> None:
        try:
            self.admin.check_password(self.value("password"), self.username)
        except ValidationError as exc:
            self.show_error("password", exc.message)
            return
        if self.value("confirm") != self.value("password"):
            self.show_error("confirm", _("The two passwords differ."))
            return
        self.clear_errors()
        self._set(self.value("password"))

    @work(exclusive=True, group="operator-password")
    async def _set(self, password: str) -> None:
        self.set_busy(True)
        admin, username = self.admin, self.username

        def change() -> bool:
            admin.change_password(username, password)
            return True

        try:
            done = await run_db(
                self,
                "changing a password",
                change,
                report=lambda message: self.show_error(None, message),
            )
        finally:
            self.set_busy(False)
        if done:
            self.dismiss(True)


def _operator_columns() -> tuple[Column, ...]:
    return (
        Column(_("Username")),
        Column(_("Full name"), flexible=True),
        Column(_("Role")),
        Column(_("Reseller"), flexible=True),
        Column(_("State")),
        Column(_("Last sign-in")),
        Column(_("Token")),
    )


class OperatorsScreen(Screen[None]):
    CSS_PATH = "../styles/auth.tcss"
    BINDINGS: ClassVar = [
        Binding("escape", "back", N_("Back"), id="operators.back"),
        Binding("a", "add", N_("Add"), id="operators.add"),
        Binding("d", "disable", N_("Disable"), id="operators.disable"),
        Binding("e", "enable", N_("Enable"), id="operators.enable"),
        Binding("p", "password", N_("New password"), id="operators.password"),
        Binding("r", "refresh", N_("Refresh"), id="operators.refresh"),
    ]

    def __init__(self, admin: OperatorAdmin) -> None:
        super().__init__()
        translate_bindings(self)
        self.admin = admin
        self.rows: list[Any] = []
        self._now: datetime | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="operators-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="operators-status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.sub_title = _("Operators")
        table = self.query_one(DataTable)
        fill_table(table, _operator_columns(), [])
        table.focus()
        self.action_refresh()

    def on_resize(self) -> None:
        # Once the tables have their new size (`widgets.tables.table_room`).
        self.call_after_refresh(self._fill)

    def _state(self, row: Any) -> str:
        if row.disabled:
            return _("Disabled")
        if self._now is not None and row.is_locked(self._now):
            return _("Locked")
        return pgettext("operator", "Active")

    def _fill(self) -> None:
        fill_table(
            self.query_one(DataTable),
            _operator_columns(),
            [
                (
                    row.username,
                    (
                        row.username,
                        row.full_name,
                        label(row.role),
                        f"{row.reseller_id} {row.reseller_name or ''}".strip()
                        if row.reseller_id
                        else "",
                        self._state(row),
                        format_datetime(row.last_login_at.astimezone())
                        if row.last_login_at
                        else "",
                        _("yes") if row.has_token else "",
                    ),
                )
                for row in self.rows
            ],
        )

    @property
    def selected(self) -> Any | None:
        table = self.query_one(DataTable)
        if not self.rows or table.cursor_row < 0 or table.cursor_row >= len(self.rows):
            return None
        return self.rows[table.cursor_row]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "password":
            return self.selected is not None
        if action in ("disable", "enable"):
            row = self.selected
            if row is None:
                return None
            return row.disabled if action == "enable" else not row.disabled
        return True

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self.refresh_bindings()

    def action_back(self) -> None:
        self.dismiss(None)

    def action_add(self) -> None:
        def added(row: Any | None) -> None:
            if row is not None:
                self.notify(_("Operator {name} created.").format(name=row.username))
                self.action_refresh(select=row.username)

        self.app.push_screen(AddOperatorScreen(self.admin), added)

    def action_password(self) -> None:
        if (row := self.selected) is None:
            return

        def done(changed: bool | None) -> None:
            if changed:
                self.notify(_("Password of {name} changed.").format(name=row.username))
                self.action_refresh(select=row.username)

        self.app.push_screen(PasswordResetScreen(self.admin, row.username), done)

    def action_disable(self) -> None:
        if (row := self.selected) is not None:
            self._change(row.username, self.admin.disable, _("{name} disabled."))

    def action_enable(self) -> None:
        if (row := self.selected) is not None:
            self._change(row.username, self.admin.enable, _("{name} enabled."))

    @work(exclusive=True, group="operators")
    async def _change(self, username: str, change: Any, done: str) -> None:
        def run() -> bool:
            change(username)
            return True

        # Refused (last administrator, oneself) or out of reach: a notice says so.
        report = partial(self.notify, severity="error")
        if not await run_db(self, "changing an operator", run, report=report):
            return
        self.notify(done.format(name=username))
        self.action_refresh(select=username)

    @work(exclusive=True, group="operators-list")
    async def action_refresh(self, select: str | None = None) -> None:
        admin = self.admin
        found = await run_db(
            self,
            "listing operators",
            lambda: (admin.list(), admin.now()),
            report=self.query_one("#operators-status", Static).update,
        )
        if found is None:
            return
        rows, now = found
        table = self.query_one(DataTable)
        keep = select or (self.selected.username if self.selected else None)
        self.rows = list(rows)
        self._now = now
        self._fill()
        names = [row.username for row in self.rows]
        if keep in names:
            table.move_cursor(row=names.index(keep))
        self.query_one("#operators-status", Static).update(
            _("{n} operators").format(n=len(self.rows))
        )
        self.refresh_bindings()
