"""Gestione caselle PEC: the operator's home — find, filter, select and renew mailboxes."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Header, Input, Static

from pec_tui.dialogs.message import MessageModal
from pec_tui.dialogs.reseller_picker import EVERY_RESELLER, ResellerPicker
from pec_tui.domain.enums import MailboxState, label
from pec_tui.i18n import N_, _, format_month, format_number, ngettext
from pec_tui.screens.dbwork import run_db
from pec_tui.screens.messages import (
    OpenCustomerArea,
    OpenDashboard,
    OpenDrafts,
    OpenMailbox,
    RenewSelection,
    StartRenewal,
)
from pec_tui.services.context import Context
from pec_tui.services.mailboxes import LeftOut, MailboxFilter, MailboxSource, Selection
from pec_tui.services.resellers import ResellerChoice, reseller_choices
from pec_tui.widgets.footer import KeysFooter
from pec_tui.widgets.keys import ScreenKeysProvider, translate_bindings
from pec_tui.widgets.mailbox_table import MailboxTable

# Narrower than this, the status line takes two lines (`on_resize`).
NARROW_STATUS = 100
# The state filter cycles through these (None: every state).
STATE_CYCLE: tuple[MailboxState | None, ...] = (
    None,
    MailboxState.ACTIVE,
    MailboxState.SUSPENDED,
    MailboxState.CANCELLED,
)
EXPIRING_MONTHS = 3
# Typing in the search box waits this long for the next key before querying.
SEARCH_DELAY = 0.25
# "Counting mailboxes…" shows only when a filter takes longer than this.
SLOW_LOAD_NOTICE = 0.15
# The footer follows the cursor this long after it stops.
BINDINGS_DELAY = 0.12


class MailboxesScreen(Screen[None]):
    """The mailbox table with search, state filter, sort, selection and the renewal keys.

    With `holder_id` it lists one holder's mailboxes (the selection step of Rinnova caselle).
    """

    CSS_PATH = "../styles/mailboxes.tcss"
    COMMANDS: ClassVar = {ScreenKeysProvider}
    # Most used first: when the footer is narrow, the last ones give way (f1 lists them all).
    BINDINGS: ClassVar = [
        Binding("r", "renew", N_("Renew"), id="mailboxes.renew"),
        Binding(
            "t",
            "expiring",
            N_("Within 3 months"),
            id="mailboxes.expiring",
            tooltip=N_("Select every mailbox that expires within 3 months, and show them"),
        ),
        Binding("slash", "focus_search", N_("Search"), id="mailboxes.search"),
        Binding("ctrl+f", "focus_search", N_("Search"), show=False, id="mailboxes.search_alt"),
        Binding("f", "cycle_state", N_("State"), id="mailboxes.state"),
        Binding("s", "toggle_sort", N_("Sort"), id="mailboxes.sort"),
        Binding("v", "pick_reseller", N_("Reseller"), id="mailboxes.reseller"),
        # Before Gestisci, which gives way first at 120 columns: enter does the same.
        Binding(
            "d",
            "dashboard",
            N_("Expiries"),
            id="mailboxes.dashboard",
            tooltip=N_("Expiries month by month, orders awaiting payment, money paid"),
        ),
        Binding("g", "manage", N_("Manage"), id="mailboxes.manage"),
        Binding("enter", "manage", N_("Manage"), show=False, id="mailboxes.manage_alt"),
        Binding("c", "customer_area", N_("Customer area"), id="mailboxes.customer_area"),
        Binding(
            "b",
            "drafts",
            N_("Drafts"),
            id="mailboxes.drafts",
            tooltip=N_("Renewals started and not yet confirmed: resume or discard them"),
        ),
        Binding("a", "clear_selection", N_("Clear selection"), show=False, id="mailboxes.clear"),
        Binding("escape", "escape", N_("Back"), show=False, id="mailboxes.escape"),
    ]

    def __init__(
        self,
        ctx: Context,
        holder_id: int | None = None,
        expiry_month: date | None = None,
        reseller_id: int | None = None,
    ) -> None:
        super().__init__()
        self.ctx = ctx
        translate_bindings(self)
        self.filter = MailboxFilter(
            holder_id=holder_id, expiry_month=expiry_month, reseller_id=reseller_id
        )
        # Opened over another screen (a holder's list, a month of the dashboard): Esc closes it.
        self.closable = holder_id is not None or expiry_month is not None
        self.selection = Selection()
        self.mailbox_count: int | None = None
        self.selected_count: int | None = 0
        self._notice = ""
        # What `t` left out of its range (on an open order, renewing by itself).
        self._left_out = LeftOut()
        self._search_timer: Timer | None = None
        self._status_text = ""
        self._bindings_state: tuple[bool | None, ...] = ()
        self._bindings_timer: Timer | None = None
        self._selection_count_pending = False
        self._shown_once = False
        # The selection as the screen found it back from a renewal: dropped if nothing in it
        # is left to renew (every mailbox went into the order).
        self._resumed_selection: Selection | None = None
        self._reseller_names: dict[int, str] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="mailboxes-bar"):
            yield Input(
                placeholder=_("Search: address, holder name, codice fiscale or partita IVA"),
                id="mailboxes-search",
            )
            yield Static(id="mailboxes-filters")
        yield MailboxTable(self.ctx.today(), id="mailboxes-table")
        yield Static(id="mailboxes-status", markup=False)
        yield KeysFooter(compact=True)

    def on_mount(self) -> None:
        self.sub_title = _("Manage PEC mailboxes")
        self.table.selection = self.selection
        self.table.focus()
        self._show_filters()
        self._reload()

    def on_screen_resume(self) -> None:
        # Back from a renewal or a detail screen: expiries and auto-renew may have changed.
        if self._shown_once:
            self.table.today = self.ctx.today()
            self._reload(keep_position=True)
            self._resumed_selection = None if self.selection.is_empty else self.selection
            self._count_selection()
        self._shown_once = True

    @property
    def table(self) -> MailboxTable:
        return self.query_one(MailboxTable)

    # --- loading --------------------------------------------------------------------------

    def _reload(self, keep_position: bool = False) -> None:
        """Query the filter's rows in a worker; the table keeps the old ones until they come.

        Nothing is repainted before then (a frame costs as much as the query): the status
        says "counting" only if the count takes long enough to be noticed.
        """
        self.mailbox_count = None
        self._load(self.filter, keep_position)
        self.set_timer(SLOW_LOAD_NOTICE, self._show_status)

    @work(exclusive=True, group="mailboxes-load")
    async def _load(self, flt: MailboxFilter, keep_position: bool = False) -> None:
        ctx, height = self.ctx, max(1, self.table.size.height)

        def prepare() -> tuple[MailboxSource, int]:
            source = MailboxSource(ctx.engine, ctx.actor, flt, ctx.today())
            source.count()
            start = 0 if keep_position else source.first_live_index()
            source.rows(start, start + height)  # the first screenful, warm
            return source, start

        loaded = await run_db(self, "loading the mailboxes", prepare, report=self._db_error)
        if loaded is not None:
            self._show_source(*loaded, keep_position=keep_position)

    def _show_source(self, source: MailboxSource, start: int, keep_position: bool) -> None:
        if source.filter != self.filter:
            return  # a newer filter is on its way
        self.table.today = source.today
        self.table.selection = self.selection
        self.table.set_source(source, keep_position, start_at=start)
        self.mailbox_count = source.count()
        self._show_filters()
        self._show_status()
        if self._selection_count_pending:
            self._selection_count_pending = False
            # After this frame: the count is long and would hold the new rows back.
            self.call_after_refresh(self._count_selection_in_thread, self.selection)

    @work(exclusive=True, group="mailboxes-selection")
    async def _count_selection_in_thread(self, selection: Selection) -> None:
        ctx = self.ctx
        today = ctx.today()

        def count() -> tuple[int, LeftOut]:
            return (
                selection.count(ctx.engine, ctx.actor, today),
                selection.left_out(ctx.engine, ctx.actor, today),
            )

        counted = await run_db(self, "counting the selection", count, report=self._db_error)
        if counted is not None:
            self._show_selected_count(selection, *counted)

    def _count_selection(self) -> None:
        if self.selection.is_empty:
            self.selected_count = 0
            self._left_out = LeftOut()
            self._show_status()
            return
        self.selected_count = None
        self._show_status()
        if self.mailbox_count is None:
            # Rows first: the count waits until the table shows the new filter's rows.
            self._selection_count_pending = True
        else:
            self._count_selection_in_thread(self.selection)

    def _show_selected_count(self, selection: Selection, counted: int, left: LeftOut) -> None:
        resumed, self._resumed_selection = self._resumed_selection, None
        if selection is self.selection and selection is resumed and counted == 0:
            # Ordered, all of it: the list is no longer selecting, rather than showing an
            # empty selection and every mailbox it now leaves out.
            self.action_clear_selection()
            return
        if selection is self.selection:
            self.selected_count = counted
            self._left_out = left
            self._show_status()
            self._sync_bindings()

    def _db_error(self, message: str) -> None:
        self._notice = _("The database could not be read: {error}").format(error=message)
        self._show_status()
        self.notify(self._notice, severity="error", timeout=10)

    # --- status and filters ---------------------------------------------------------------

    def _show_filters(self) -> None:
        flt = self.filter
        state = label(flt.state) if flt.state is not None else _("All")
        sort = _("Expiry") if flt.sort == "expiry" else _("Address")
        parts = [_("State: {state}").format(state=state), _("Sort: {sort}").format(sort=sort)]
        if flt.reseller_id is not None:
            name = self._reseller_names.get(flt.reseller_id, str(flt.reseller_id))
            parts.append(_("Reseller: {name}").format(name=name))
        if flt.expiring_within_months is not None:
            parts.append(_("Expiring within 3 months"))
        if flt.expiry_month is not None:
            month = format_month(flt.expiry_month)
            parts.append(_("Expiring in {month}").format(month=month))
        self.query_one("#mailboxes-filters", Static).update("  ·  ".join(parts))

    def _show_status(self) -> None:
        if self.mailbox_count is None:
            count = _("Counting mailboxes…")
        else:
            count = ngettext("{n} mailbox", "{n} mailboxes", self.mailbox_count).format(
                n=format_number(self.mailbox_count)
            )
        if self.selected_count is None:
            selected = _("counting the selection…")
        else:
            selected = ngettext("{n} selected", "{n} selected", self.selected_count).format(
                n=format_number(self.selected_count)
            )
        parts = [count, selected]
        if self._left_out.total and self.selected_count is not None:
            parts.append(left_out_text(self._left_out))
        if self._notice:
            parts.append(self._notice)
        text = "  ·  ".join(parts)
        if text != self._status_text:  # repainting it costs a frame; cursor moves are many
            self._status_text = text
            self.query_one("#mailboxes-status", Static).update(text, layout=False)

    def on_resize(self, event: events.Resize) -> None:
        # Below 100 columns the status has two lines: the counts and why the row under the
        # cursor cannot be renewed do not fit in one. Decided by the width alone, so the
        # table does not change height as the cursor moves.
        narrow = event.size.width < NARROW_STATUS
        self.query_one("#mailboxes-status", Static).styles.height = 2 if narrow else 1

    def _sync_bindings(self) -> None:
        """Update the footer once the cursor rests, and only if a key's availability changed.

        The footer is rebuilt whole on every change (tens of milliseconds): doing it on each
        arrow key would double the time a key takes to show.
        """
        if self._bindings_timer is None:
            self._bindings_timer = self.set_timer(BINDINGS_DELAY, self._refresh_footer)

    def _refresh_footer(self) -> None:
        self._bindings_timer = None
        state = tuple(self.check_action(a, ()) for a in ("renew", "manage", "customer_area"))
        if state != self._bindings_state:
            self._bindings_state = state
            self.refresh_bindings()

    def _set_filter(self, flt: MailboxFilter) -> None:
        if flt != self.filter:
            self.filter = flt
            self._reload()

    # --- table events -----------------------------------------------------------------------

    @on(MailboxTable.CursorMoved)
    def _cursor_moved(self, event: MailboxTable.CursorMoved) -> None:
        self._notice = self._renew_refusal() or ""
        self._show_status()
        self._sync_bindings()

    @on(MailboxTable.SelectionChanged)
    def _selection_changed(self, event: MailboxTable.SelectionChanged) -> None:
        self._notice = ""
        self._count_selection()
        self._sync_bindings()

    @on(MailboxTable.SelectionRefused)
    def _selection_refused(self, event: MailboxTable.SelectionRefused) -> None:
        self._notice = _("{address} cannot be selected: {reason}").format(
            address=event.row.address, reason=event.reason
        )
        self._show_status()

    # --- search -------------------------------------------------------------------------------

    @on(Input.Changed, "#mailboxes-search")
    def _search_changed(self, event: Input.Changed) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        text = event.value
        self._search_timer = self.set_timer(SEARCH_DELAY, lambda: self._search(text))

    @on(Input.Submitted, "#mailboxes-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        self._on_to_the_rows(event.value)

    def on_key(self, event: events.Key) -> None:
        search = self.query_one("#mailboxes-search", Input)
        if event.key == "down" and search.has_focus:
            event.stop()
            self._on_to_the_rows(search.value)

    def _on_to_the_rows(self, text: str) -> None:
        """↓ or ↵ from the search box: the search typed so far now, without waiting for the
        pause after typing, and on to the rows it finds."""
        if self._search_timer is not None:
            self._search_timer.stop()
        self._search(text)
        self.table.focus()

    def _search(self, text: str) -> None:
        self._set_filter(self.filter.with_(search=text.strip()))

    # --- actions -------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "renew":
            if not self.selection.is_empty:
                return self.selected_count != 0 or None
            return None if self._renew_refusal() is not None else True
        if action in ("manage", "customer_area"):
            return True if self.table.cursor_row is not None else None
        if action == "dashboard":
            return not self.ctx.actor.is_kiosk
        if action == "pick_reseller":
            # A reseller operator and a kiosk see one book already.
            actor = self.ctx.actor
            return (
                actor.reseller_id is None and not actor.is_kiosk and self.filter.holder_id is None
            )
        return True

    def _renew_refusal(self) -> str | None:
        """Why Rinnova is not offered for the cursor row (None when it is); with a selection,
        why the cursor row cannot join it."""
        row = self.table.cursor_row
        if row is None:
            if self.selection.is_empty and self.mailbox_count:
                return _("No mailbox under the cursor.")
            return None
        verdict = row.renewability(self.table.today)
        if verdict.allowed:
            return None
        if not self.selection.is_empty:
            return _("{address} cannot be selected: {reason}").format(
                address=row.address, reason=verdict.reason
            )
        return _("Renew is not available: {reason}").format(reason=verdict.reason)

    def action_focus_search(self) -> None:
        self.query_one("#mailboxes-search", Input).focus()

    def action_escape(self) -> None:
        search = self.query_one("#mailboxes-search", Input)
        if search.has_focus:
            self.table.focus()
        elif not self.selection.is_empty:
            self.action_clear_selection()
        elif self.closable:
            self.dismiss()

    def action_cycle_state(self) -> None:
        index = STATE_CYCLE.index(self.filter.state)
        state = STATE_CYCLE[(index + 1) % len(STATE_CYCLE)]
        self._set_filter(self.filter.with_(state=state, expiring_within_months=None))

    @work(exclusive=True, group="mailboxes-resellers")
    async def action_pick_reseller(self) -> None:
        ctx = self.ctx
        choices = await run_db(
            self,
            "reading the resellers",
            lambda: reseller_choices(ctx.engine, ctx.actor),
            report=self._db_error,
        )
        if choices is None:
            return
        self._remember_names(choices)
        picked = await self.app.push_screen_wait(ResellerPicker(choices, self.filter.reseller_id))
        if picked is None:
            return
        reseller = None if picked == EVERY_RESELLER else picked
        if reseller != self.filter.reseller_id:
            self._set_filter(self.filter.with_(reseller_id=reseller))

    def _remember_names(self, choices: list[ResellerChoice]) -> None:
        self._reseller_names = {c.id: c.name for c in choices}

    def action_toggle_sort(self) -> None:
        sort = "address" if self.filter.sort == "expiry" else "expiry"
        self._set_filter(self.filter.with_(sort=sort))

    def action_expiring(self) -> None:
        """Seleziona tutte le caselle che scadono entro 3 mesi + Applica (again: filter off)."""
        if self.filter.expiring_within_months is not None:
            self._set_filter(self.filter.with_(expiring_within_months=None))
            return
        # The table takes the selection with the filtered rows (one repaint, not two).
        self.selection = Selection.by_rule(
            self.ctx.today(), EXPIRING_MONTHS, self.filter.holder_id, self.filter.reseller_id
        )
        self.selected_count = None
        self._selection_count_pending = True
        search = self.query_one("#mailboxes-search", Input)
        with search.prevent(Input.Changed):
            search.value = ""
        self._set_filter(
            MailboxFilter(
                sort=self.filter.sort,
                expiring_within_months=EXPIRING_MONTHS,
                holder_id=self.filter.holder_id,
                reseller_id=self.filter.reseller_id,
            )
        )

    def action_clear_selection(self) -> None:
        self.selection = Selection()
        self.table.set_selection(self.selection)

    def action_renew(self) -> None:
        if not self.selection.is_empty:
            self._renew_selection(self.selection)
            return
        row = self.table.cursor_row
        if row is not None and row.renewable(self.table.today):
            self.app.post_message(StartRenewal([row.id]))

    @work(exclusive=True, group="mailboxes-renew")
    async def _renew_selection(self, selection: Selection) -> None:
        ctx = self.ctx
        today = ctx.today()
        if self.selected_count == 0:
            self._start_renewal(None)
            return
        # The renewal reads the selection's mailboxes itself, by its rule (not resolved to
        # ids here first): only those added by hand are looked at, for the ones that cannot
        # be renewed any more, named before the renewal goes on without them.
        selection = selection.snapshot()
        blocked: list[tuple[str, str]] | None = []
        if selection.added:
            blocked = await run_db(
                self,
                "resolving the selection",
                selection.blocked,
                ctx.engine,
                ctx.actor,
                today,
                report=self._db_error,
            )
        if blocked is None:
            return
        if blocked:
            # Chosen by hand, then ordered or changed elsewhere: all named at once, the rest
            # goes on to the renewal.
            lines = [f"{address}: {reason}" for address, reason in blocked]
            title = ngettext(
                "{n} selected mailbox cannot be renewed now",
                "{n} selected mailboxes cannot be renewed now",
                len(blocked),
            ).format(n=format_number(len(blocked)))
            await self.app.push_screen_wait(MessageModal(title, "\n".join(lines), error=False))
        self._start_renewal(selection)

    def _start_renewal(self, selection: Selection | None) -> None:
        if selection is None:
            self._notice = _("None of the selected mailboxes can be renewed today.")
            self._show_status()
            return
        self.app.post_message(RenewSelection(selection))

    def action_manage(self) -> None:
        row = self.table.cursor_row
        if row is not None:
            self.app.post_message(OpenMailbox(row.id))

    def action_dashboard(self) -> None:
        self.app.post_message(OpenDashboard())

    def action_drafts(self) -> None:
        self.app.post_message(OpenDrafts())

    def action_customer_area(self) -> None:
        row = self.table.cursor_row
        if row is not None:
            self.app.post_message(OpenCustomerArea(row.holder_id))


def left_out_text(left: LeftOut) -> str:
    """'12 left out: 9 on an open order, 3 renewing automatically' (the non-zero reasons)."""
    reasons = []
    if left.on_order:
        reasons.append(
            ngettext("{n} on an open order", "{n} on an open order", left.on_order).format(
                n=format_number(left.on_order)
            )
        )
    if left.auto_renew:
        reasons.append(
            ngettext(
                "{n} renewing automatically", "{n} renewing automatically", left.auto_renew
            ).format(n=format_number(left.auto_renew))
        )
    return ngettext("{n} left out: {reasons}", "{n} left out: {reasons}", left.total).format(
        n=format_number(left.total), reasons=", ".join(reasons)
    )
