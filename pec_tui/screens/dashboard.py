"""Scadenze e incassi: what expires month by month and what it is worth, what is still unpaid,
what came in, and the book by state — as bar charts.

The figures are four indexed GROUP BY queries (services/dashboard.py), each read in its own
worker (`run_db`) and drawn as soon as it arrives. Enter on a month opens the mailbox list of that month's expiries.
Administrators and back office choose a reseller's book in the filter at the top.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Header, OptionList, Select, Static

from pec_tui.domain.enums import MailboxState, label
from pec_tui.i18n import N_, _, format_money, format_month, format_number
from pec_tui.screens.dbwork import run_db
from pec_tui.screens.messages import OpenExpiries
from pec_tui.services import dashboard
from pec_tui.services.context import Context
from pec_tui.widgets.bar_chart import BarChart, BarList, BarRow
from pec_tui.widgets.footer import KeysFooter
from pec_tui.widgets.keys import ScreenKeysProvider, translate_bindings

# Below this width the four charts stand one under the other.
WIDE = 110
EVERY_RESELLER = "all"
# The figures, each read by its own worker (services/dashboard.FIGURES).
PARTS = ("renewals", "awaiting", "revenue", "states")


def _age_label(key: dashboard.AgeBucketKey) -> str:
    return {
        "0-7": _("0–7 days"),
        "8-30": _("8–30 days"),
        "31+": _("over 30 days"),
    }[key]


def renewal_rows(renewals: Sequence[dashboard.MonthExpiries]) -> list[BarRow]:
    return [
        BarRow(
            format_month(m.month),
            (m.auto_renew, m.manual),
            (
                format_number(m.expiring),
                format_number(m.auto_renew),
                format_number(m.manual),
                format_money(m.expected_revenue),
            ),
            key=dashboard.month_key(m.month),
        )
        for m in renewals
    ]


def awaiting_rows(awaiting: Sequence[dashboard.AwaitingBucket]) -> list[BarRow]:
    return [
        BarRow(
            _age_label(b.key), (b.gross,), (format_number(b.orders), format_money(b.gross)), b.key
        )
        for b in awaiting
    ]


def revenue_rows(revenue: Sequence[dashboard.MonthRevenue]) -> list[BarRow]:
    return [
        BarRow(
            format_month(m.month),
            (m.paid,),
            (format_number(m.payments), format_money(m.paid)),
            dashboard.month_key(m.month),
        )
        for m in revenue
    ]


def state_rows(states: dashboard.StateCounts) -> list[BarRow]:
    return [
        BarRow(label(state), (states.of(state),), (format_number(states.of(state)),))
        for state in MailboxState
    ]


class DashboardScreen(Screen[None]):
    """The renewals dashboard of the actor's book (or of the reseller chosen in the filter)."""

    CSS_PATH = "../styles/dashboard.tcss"
    COMMANDS: ClassVar = {ScreenKeysProvider}
    BINDINGS: ClassVar = [
        Binding("enter", "open_month", N_("Show the month's mailboxes"), id="dashboard.open"),
        Binding("f5", "reload", N_("Refresh"), id="dashboard.reload"),
        Binding("escape", "back", N_("Back"), id="dashboard.back"),
    ]

    def __init__(self, ctx: Context) -> None:
        super().__init__()
        self.ctx = ctx
        translate_bindings(self)
        self.reseller_id: int | None = None
        # Every figure, once all four have arrived; each chart shows as its own arrives.
        self.figures: dashboard.Dashboard | None = None
        self._parts: dict[str, Any] = {}
        self._generation = 0
        self._resellers_loaded = False
        self._shown_once = False

    @property
    def chooses_reseller(self) -> bool:
        """Administrators and back office see every book and may pick one."""
        return self.ctx.actor.reseller_id is None and not self.ctx.actor.is_kiosk

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="dashboard-bar"):
            if self.chooses_reseller:
                yield Select[str](
                    [(_("Every reseller"), EVERY_RESELLER)],
                    value=EVERY_RESELLER,
                    allow_blank=False,
                    id="dashboard-reseller",
                )
            yield Static(id="dashboard-summary", markup=False)
        with VerticalScroll(id="dashboard-body"), Horizontal(id="dashboard-columns"):
            with Vertical(id="dashboard-left", classes="dashboard-column"):
                yield Static(
                    _("Expiring in the next 12 months"), classes="dashboard-title", markup=False
                )
                yield Static(
                    _("█ automatic renewal  ▒ manual · yearly value, VAT excluded"),
                    classes="dashboard-legend",
                    markup=False,
                )
                header = Static(classes="dashboard-header", markup=False)
                yield header
                yield BarList(
                    (_("Total"), _("Auto"), _("Manual"), _("Value")),
                    title=_("Month"),
                    header=header,
                    id="dashboard-renewals",
                )
                yield Static(_("Mailboxes by state today"), classes="dashboard-title")
                yield BarChart((_("Mailboxes"),), id="dashboard-states")
            with Vertical(id="dashboard-right", classes="dashboard-column"):
                yield Static(_("Orders awaiting payment"), classes="dashboard-title")
                yield BarChart(
                    (_("Orders"), _("Amount due")), title=_("Age"), id="dashboard-awaiting"
                )
                yield Static(_("Paid in the last 12 months"), classes="dashboard-title")
                yield BarChart((_("Payments"), _("Paid")), title=_("Month"), id="dashboard-revenue")
        yield Static(id="dashboard-status", markup=False)
        yield KeysFooter(compact=True)

    def on_mount(self) -> None:
        self.sub_title = _("Expiries and revenue")
        self.query_one(BarList).focus()
        self._show_status(_("Reading the figures…"))
        self._load(self.reseller_id)

    def on_screen_resume(self) -> None:
        # Back from the month's mailboxes: renewals may have changed the figures.
        if self._shown_once:
            self._load(self.reseller_id)
        self._shown_once = True

    def on_resize(self, event: Resize) -> None:
        self.query_one("#dashboard-columns").set_class(event.size.width < WIDE, "-narrow")

    # --- loading --------------------------------------------------------------------------

    def _load(self, reseller_id: int | None) -> None:
        """Read the four figures, each in its own worker: each chart shows as soon as its
        figure arrives (the expiries first, the one the screen is opened for)."""
        self._generation += 1
        self._parts = {}
        self.figures = None
        for name in PARTS:
            self.run_worker(
                self._read_part(name, reseller_id, self._generation),
                group=f"dashboard-{name}",
                exclusive=True,
            )
        if self.chooses_reseller and not self._resellers_loaded:
            self.run_worker(self._read_resellers(), group="dashboard-resellers", exclusive=True)

    async def _read_part(self, name: str, reseller_id: int | None, generation: int) -> None:
        ctx = self.ctx
        part = await run_db(
            self,
            "reading the dashboard",
            dashboard.FIGURES[name],
            ctx.engine,
            ctx.actor,
            ctx.today(),
            reseller_id=reseller_id,
            report=self._db_error,
        )
        if part is None or generation != self._generation:
            return  # failed (and said so), or a newer filter is on its way
        self._parts[name] = part
        self._show_part(name, part)
        if len(self._parts) == len(PARTS):
            self.figures = dashboard.Dashboard(
                today=ctx.today(),
                reseller_id=dashboard.book_of(ctx.actor, reseller_id),
                renewals=tuple(self._parts["renewals"]),
                awaiting=tuple(self._parts["awaiting"]),
                revenue=tuple(self._parts["revenue"]),
                states=self._parts["states"],
            )
            self._show_summary(self.figures)
            self._show_status(_("Enter: the mailboxes expiring in the highlighted month"))

    async def _read_resellers(self) -> None:
        ctx = self.ctx
        names = await run_db(
            self,
            "reading the resellers",
            dashboard.resellers,
            ctx.engine,
            ctx.actor,
            report=self._db_error,
        )
        if names is None:
            return
        self._resellers_loaded = True
        select = self.query_one("#dashboard-reseller", Select)
        with select.prevent(Select.Changed):
            select.set_options(
                [(_("Every reseller"), EVERY_RESELLER)] + [(name, str(rid)) for rid, name in names]
            )
            select.value = EVERY_RESELLER if self.reseller_id is None else str(self.reseller_id)

    def _show_part(self, name: str, part: Any) -> None:
        if name == "renewals":
            self.query_one("#dashboard-renewals", BarList).set_rows(renewal_rows(part))
        elif name == "awaiting":
            self.query_one("#dashboard-awaiting", BarChart).set_rows(awaiting_rows(part))
        elif name == "revenue":
            self.query_one("#dashboard-revenue", BarChart).set_rows(revenue_rows(part))
        else:
            self.query_one("#dashboard-states", BarChart).set_rows(state_rows(part))

    def _show_summary(self, figures: dashboard.Dashboard) -> None:
        expiring = sum(m.expiring for m in figures.renewals)
        worth = sum((m.expected_revenue for m in figures.renewals), Decimal(0))
        due = sum((b.gross for b in figures.awaiting), Decimal(0))
        self.query_one("#dashboard-summary", Static).update(
            _("{n} expiring in 12 months, worth {worth} · {due} awaiting payment").format(
                n=format_number(expiring), worth=format_money(worth), due=format_money(due)
            )
        )

    def _show_status(self, text: str) -> None:
        self.query_one("#dashboard-status", Static).update(text)

    def _db_error(self, message: str) -> None:
        text = _("The database could not be read: {error}").format(error=message)
        self._show_status(text)
        self.notify(text, severity="error", timeout=10)

    # --- actions ----------------------------------------------------------------------------

    @on(Select.Changed, "#dashboard-reseller")
    def _reseller_chosen(self, event: Select.Changed) -> None:
        value = event.value
        reseller_id = None if value in (EVERY_RESELLER, Select.BLANK) else int(str(value))
        if reseller_id != self.reseller_id:
            self.reseller_id = reseller_id
            self._show_status(_("Reading the figures…"))
            self._load(reseller_id)

    @on(OptionList.OptionSelected, "#dashboard-renewals")
    def _month_chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._open(event.option_index)

    def action_open_month(self) -> None:
        renewals = self.query_one("#dashboard-renewals", BarList)
        if renewals.highlighted is not None:
            self._open(renewals.highlighted)

    def _open(self, index: int) -> None:
        renewals = self._parts.get("renewals")
        if renewals is None or not 0 <= index < len(renewals):
            return
        month = renewals[index].month
        reseller_id = self.reseller_id if self.chooses_reseller else None
        self.app.post_message(OpenExpiries(month, reseller_id))

    def action_reload(self) -> None:
        self._show_status(_("Reading the figures…"))
        self._load(self.reseller_id)

    def action_back(self) -> None:
        self.dismiss()
