"""Step 1, the plan picker: confirm or change each mailbox's plan and buy extra GB.

Three columns STANDARD / PRO / PREMIUM as on the portal, the totals below updated live.
With several mailboxes each keeps its own plan; a list on the left moves between them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.markup import escape
from textual.widgets import Button, Label, Static

from pec_tui.dialogs.archive_deletion import ArchiveDeletionModal
from pec_tui.domain.draft import Draft, DraftItem, Step, item_problems, replace_item
from pec_tui.domain.enums import OrderType, Plan
from pec_tui.domain.plan_change import mb_to_gb_text
from pec_tui.domain.plans import PLANS, clamp_extra
from pec_tui.domain.pricing import PriceList
from pec_tui.i18n import N_, _, format_date
from pec_tui.screens.flow_step import FlowStepScreen
from pec_tui.services.context import Context
from pec_tui.widgets.lazy_list import LazyList
from pec_tui.widgets.plan_card import EXTRA_ARCHIVE, PlanCard, PlanCardData

PLAN_ORDER: tuple[Plan, ...] = (Plan.STANDARD, Plan.PRO, Plan.PREMIUM)

PLAN_KEYS = Binding.Group(N_("Plan"), compact=True)
MAILBOX_KEYS = Binding.Group(N_("Mailbox GB"), compact=True)
ARCHIVE_KEYS = Binding.Group(N_("Archive GB"), compact=True)
LIST_KEYS = Binding.Group(N_("Mailbox"))
# Columns an address has in the side list of mailboxes (`#plan-mailboxes` in flow.tcss is 30
# wide: its padding, the option's and a scroll bar take the rest).
SIDE_LIST_COLUMNS = 24


def fit_address(address: str, width: int = SIDE_LIST_COLUMNS) -> str:
    """`address` on one line of `width` columns: whole, or shortened in the middle with its
    domain kept ("amministr…@pec.example.it"), never folded onto a second line mid-word."""
    if len(address) <= width:
        return address
    local, at, domain = address.rpartition("@")
    keep = width - len(domain) - 2
    if at and keep >= 4:
        return f"{local[:keep]}…@{domain}"
    return address[: width - 1] + "…"


def _changed(item: DraftItem) -> bool:
    """Whether the draft changes `item`'s plan or extra GB (or confirmed losing its archive)."""
    return (
        item.plan is not (item.current_plan or item.plan)
        or item.extra_mailbox_gb != item.current_extra_mailbox_gb
        or item.extra_archive_gb != item.current_extra_archive_gb
        or item.archive_deletion_confirmed
    )


class PlanScreen(FlowStepScreen):
    STEP = Step.PLAN

    BINDINGS: ClassVar = [
        Binding("enter", "proceed", N_("Continue"), id="plan.proceed"),
        Binding(
            "left", "change_plan(-1)", N_("Previous plan"), id="plan.previous", group=PLAN_KEYS
        ),
        Binding("right", "change_plan(1)", N_("Next plan"), id="plan.next", group=PLAN_KEYS),
        Binding("1", "choose_plan('STANDARD')", "STANDARD", id="plan.standard", show=False),
        Binding("2", "choose_plan('PRO')", "PRO", id="plan.pro", show=False),
        Binding("3", "choose_plan('PREMIUM')", "PREMIUM", id="plan.premium", show=False),
        Binding(
            "plus",
            "extra('mailbox', 1)",
            N_("+1 GB mailbox"),
            id="plan.mailbox.more",
            group=MAILBOX_KEYS,
        ),
        Binding(
            "minus",
            "extra('mailbox', -1)",
            N_("-1 GB mailbox"),
            id="plan.mailbox.less",
            group=MAILBOX_KEYS,
        ),
        Binding(
            "m", "extra('mailbox', 1)", N_("+1 GB mailbox"), id="plan.mailbox.more.alt", show=False
        ),
        Binding(
            "M", "extra('mailbox', -1)", N_("-1 GB mailbox"), id="plan.mailbox.less.alt", show=False
        ),
        Binding(
            "a",
            "extra('archive', 1)",
            N_("+1 GB archive"),
            id="plan.archive.more",
            group=ARCHIVE_KEYS,
        ),
        Binding(
            "A",
            "extra('archive', -1)",
            N_("-1 GB archive"),
            id="plan.archive.less",
            group=ARCHIVE_KEYS,
        ),
        Binding(
            "pagedown", "mailbox(1)", N_("Next mailbox"), id="plan.mailbox.next", group=LIST_KEYS
        ),
        Binding(
            "pageup",
            "mailbox(-1)",
            N_("Previous mailbox"),
            id="plan.mailbox.previous",
            group=LIST_KEYS,
        ),
        Binding("down", "mailbox(1)", N_("Next mailbox"), id="plan.mailbox.next.alt", show=False),
        Binding(
            "up", "mailbox(-1)", N_("Previous mailbox"), id="plan.mailbox.previous.alt", show=False
        ),
        Binding(
            "c",
            "keep_all",
            N_("Keep all plans"),
            id="plan.keep_all",
            tooltip=N_("Confirm the current plans of every mailbox and continue"),
        ),
    ]

    def __init__(self, ctx: Context, draft: Draft, prices: PriceList) -> None:
        super().__init__(ctx, draft, prices)
        self.index = 0

    # --- layout -------------------------------------------------------------------------

    def compose_step(self) -> ComposeResult:
        with Horizontal(id="plan-body"):
            if len(self.draft.items) > 1:
                with Vertical(id="plan-mailboxes"):
                    yield Label(_("Mailboxes (pgup/pgdn)"), classes="section-title")
                    # Only the lines on screen are drawn: tens of thousands of mailboxes
                    # open as fast as a few. Keys belong to the screen (enter proceeds); the
                    # list follows pgup/pgdn.
                    yield LazyList(
                        len(self.draft.items),
                        lambda index: self._item_prompt(self.draft.items[index]),
                        lines_per_entry=2,
                        id="mailbox-list",
                    )
            with Vertical(id="plan-main"):
                # Scrolls in a short terminal: the keys' effects are brought into view.
                plan_scroll = VerticalScroll(id="plan-scroll")
                plan_scroll.can_focus = False
                with plan_scroll:
                    yield Static(id="mailbox-info")
                    with Horizontal(id="plan-cards"):
                        for plan in PLAN_ORDER:
                            yield PlanCard(self._card_data(plan))
                    yield Static(id="plan-problem")
                    yield Static(
                        _(
                            "Every mailbox has antivirus and antispam; only PRO and PREMIUM add "
                            "the security archive and SMS notices of unread PEC messages."
                        ),
                        classes="hint",
                    )
                with Horizontal(classes="totals-bar"):
                    yield Static(id="totals")
                    proceed = Button(
                        _("Continue and complete the order"), id="proceed", variant="success"
                    )
                    proceed.can_focus = False
                    yield proceed

    def on_mount(self) -> None:
        self.refresh_all()

    def _bring_into_view(self, which: str) -> None:
        """After a key changed a card, scroll so that the stepper and the price show."""
        card = self.query_one(f"#plan-{self.item.plan.value.lower()}", PlanCard)
        steppers = card.query(f"#extra-{which}")

        def scroll() -> None:
            card.query_one(".plan-price").scroll_visible(animate=False)
            if steppers:
                steppers.first().scroll_visible(animate=False)

        self.call_after_refresh(scroll)

    # --- what is shown ------------------------------------------------------------------

    @property
    def purchase(self) -> bool:
        """A new mailbox (Acquisto): no current plan, nothing used, nothing to lose."""
        return self.draft.order_type is OrderType.PURCHASE

    @property
    def item(self) -> DraftItem:
        return self.draft.items[self.index]

    def _card_data(self, plan: Plan) -> PlanCardData:
        item = self.item
        selected = item.plan is plan
        mailbox_gb = item.extra_mailbox_gb if selected else 0
        archive_gb = item.extra_archive_gb if selected else 0
        return PlanCardData(
            plan=plan,
            price=self.prices.yearly_price(plan, mailbox_gb, archive_gb),
            is_current=item.current_plan is plan and not self.purchase,
            is_selected=selected,
            extra_mailbox_gb=mailbox_gb,
            extra_archive_gb=archive_gb,
        )

    def _item_prompt(self, item: DraftItem) -> str:
        extras = ""
        if item.extra_mailbox_gb or item.extra_archive_gb:
            extras = f" +{item.extra_mailbox_gb}/+{item.extra_archive_gb} GB"
        was = item.current_plan
        change = "" if was is None or item.plan is was else f" ({was.value} →)"
        # One item at a time: a list of hundreds of mailboxes stays quick to redraw.
        problem = " ⚠" if item_problems(replace(self.draft, items=(item,))) else ""
        address = escape(fit_address(item.address))
        return f"{address}\n  {change}{item.plan.value}{extras}{problem}"

    def refresh_all(self, every_mailbox: bool = False) -> None:
        """Redraw for the current mailbox (and every mailbox's line in the list if asked)."""
        item = self.item
        for plan in PLAN_ORDER:
            self.query_one(f"#plan-{plan.value.lower()}", PlanCard).show(self._card_data(plan))
        if self.purchase or item.current_plan is None:
            self.query_one("#mailbox-info", Static).update(
                _("New mailbox {address}: choose its plan").format(
                    address=f"[b]{escape(item.address)}[/]"
                )
            )
            self.query_one("#plan-problem", Static).update("")
            self.query_one("#totals", Static).update(self.totals_text(self.draft))
            return
        spec = PLANS[item.current_plan]
        self.query_one("#mailbox-info", Static).update(
            _("{address} — {plan}, expires {expiry} — uses {used} GB of mailbox{archive}").format(
                address=f"[b]{escape(item.address)}[/]",
                plan=item.current_plan.value,
                expiry=format_date(item.expiry) if item.expiry is not None else "—",
                used=mb_to_gb_text(item.mailbox_used_mb),
                archive=_(", {used} GB of archive").format(used=mb_to_gb_text(item.archive_used_mb))
                if spec.has_archive
                else "",
            )
        )
        change = item.change()
        problem = self.query_one("#plan-problem", Static)
        problem.set_class(not change.allowed, "error")
        problem.set_class(change.allowed and change.deletes_archive, "warning")
        if not change.allowed:
            problem.update("⚠ " + (change.reason or ""))
        elif change.deletes_archive:
            problem.update(
                _("Archive deletion confirmed for this mailbox.")
                if item.archive_deletion_confirmed
                else _(
                    "Changing to STANDARD deletes every archived message: you will be asked "
                    "to confirm."
                )
            )
        elif change.is_upgrade:
            problem.update(_("Upgrade: more space, nothing is lost."))
        else:
            problem.update("")
        self.query_one("#totals", Static).update(self.totals_text(self.draft))
        if len(self.draft.items) > 1:
            mailbox_list = self.query_one("#mailbox-list", LazyList)
            if every_mailbox:
                mailbox_list.refresh_all()
            else:
                mailbox_list.refresh_entry(self.index)
            mailbox_list.highlighted = self.index

    # --- changing the draft -------------------------------------------------------------

    def _update_item(self, item: DraftItem) -> None:
        # The totals are updated by difference (`replace_item`), not counted again.
        self.draft = replace(self.draft, items=replace_item(self.draft.items, self.index, item))
        self.refresh_all()

    def _set_plan(self, plan: Plan) -> None:
        item = self.item
        if item.plan is plan:
            return
        mailbox_gb, archive_gb = clamp_extra(plan, item.extra_mailbox_gb, item.extra_archive_gb)
        self._update_item(
            replace(
                item,
                plan=plan,
                extra_mailbox_gb=mailbox_gb,
                extra_archive_gb=archive_gb,
                archive_deletion_confirmed=False,
            )
        )

    def _step_extra(self, which: str, delta: int) -> None:
        item = self.item
        spec = PLANS[item.plan]
        if which == EXTRA_ARCHIVE:
            if not spec.has_archive:
                self.notify(
                    _("{plan} has no security archive: choose PRO or PREMIUM.").format(
                        plan=item.plan.value
                    ),
                    severity="warning",
                )
                return
            value = max(0, min(item.extra_archive_gb + delta, spec.max_extra_archive_gb))
            self._update_item(replace(item, extra_archive_gb=value))
        else:
            value = max(0, min(item.extra_mailbox_gb + delta, spec.max_extra_mailbox_gb))
            if value == item.extra_mailbox_gb and delta > 0:
                self.notify(
                    _("{plan} allows at most {max} extra GB of mailbox space.").format(
                        plan=item.plan.value, max=spec.max_extra_mailbox_gb
                    ),
                    severity="warning",
                )
                return
            self._update_item(replace(item, extra_mailbox_gb=value))

    # --- actions ------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("mailbox", "keep_all"):
            return len(self.draft.items) > 1
        if action == "extra" and parameters and parameters[0] == EXTRA_ARCHIVE:
            return True if PLANS[self.item.plan].has_archive else None
        return True

    def action_change_plan(self, delta: int) -> None:
        index = PLAN_ORDER.index(self.item.plan)
        self._set_plan(PLAN_ORDER[max(0, min(index + delta, len(PLAN_ORDER) - 1))])
        self.refresh_bindings()
        self._bring_into_view("mailbox")

    def action_choose_plan(self, plan: str) -> None:
        self._set_plan(Plan(plan))
        self.refresh_bindings()

    def action_extra(self, which: str, delta: int) -> None:
        self._step_extra(which, delta)
        self._bring_into_view(which)

    def action_mailbox(self, delta: int) -> None:
        self.index = max(0, min(self.index + delta, len(self.draft.items) - 1))
        self.refresh_all()
        self.refresh_bindings()

    def action_keep_all(self) -> None:
        """Conferma piani attuali per tutte: every mailbox keeps its plan and extra GB."""
        self.draft = replace(
            self.draft,
            items=tuple(
                item
                if not _changed(item)
                else replace(
                    item,
                    plan=item.current_plan or item.plan,
                    extra_mailbox_gb=item.current_extra_mailbox_gb,
                    extra_archive_gb=item.current_extra_archive_gb,
                    archive_deletion_confirmed=False,
                )
                for item in self.draft.items
            ),
        )
        self.refresh_all(every_mailbox=True)
        self.action_proceed()

    def action_proceed(self) -> None:
        problems = item_problems(self.draft)
        for index, item in enumerate(self.draft.items):
            if item.address not in problems:
                continue
            change = item.change()
            if not (change.allowed and change.deletes_archive):
                self.index = index
                self.refresh_all()
                self.notify(
                    problems[item.address],
                    title=_("{address} cannot be renewed like this").format(address=item.address),
                    severity="error",
                )
                return
        # Only a changed plan can delete an archive: the others are not evaluated again.
        to_confirm = [
            item.address
            for item in self.draft.items
            if _changed(item)
            and item.change().deletes_archive
            and not item.archive_deletion_confirmed
        ]
        if to_confirm:
            self.app.push_screen(ArchiveDeletionModal(to_confirm), callback=self._archive_answer)
            return
        self.go_next()

    def _archive_answer(self, yes: bool | None) -> None:
        if not yes:
            self.notify(_("The archive is kept: choose PRO or PREMIUM to go on."))
            return
        self.draft = replace(
            self.draft,
            items=tuple(
                replace(item, archive_deletion_confirmed=True)
                if _changed(item) and item.change().deletes_archive
                else item
                for item in self.draft.items
            ),
        )
        self.refresh_all()
        self.go_next()

    # --- mouse ----------------------------------------------------------------------------

    def on_plan_card_selected(self, event: PlanCard.Selected) -> None:
        self._set_plan(event.plan)
        self.refresh_bindings()

    def on_plan_card_extra_stepped(self, event: PlanCard.ExtraStepped) -> None:
        self._set_plan(event.plan)
        self._step_extra(event.which, event.delta)

    def on_lazy_list_selected(self, event: LazyList.Selected) -> None:
        event.stop()
        self.index = event.index
        self.refresh_all()
        self.refresh_bindings()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "proceed":
            self.action_proceed()
