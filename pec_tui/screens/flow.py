"""The renewal flow: one worker walks the steps Plan → Kit → Holder → Order form → Contract → Conferma.

Each step is a screen that dismisses with a `StepResult` (see `screens/flow_step.py`). Between
steps the draft is saved in a thread, so a terminal that crashes finds it again at the next
start. Database work goes through `run_db`: refusals and errors become a message to read.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from textual.app import App, ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Label, LoadingIndicator
from textual.worker import WorkerState

from pec_tui import collector
from pec_tui.dialogs.message import MessageModal
from pec_tui.domain.draft import STEPS, Draft, RenewalRefused, Step
from pec_tui.domain.pricing import PriceList
from pec_tui.i18n import _
from pec_tui.screens.confirmation import ConfirmationScreen
from pec_tui.screens.contract import ContractScreen
from pec_tui.screens.dbwork import await_db, error_message, run_db
from pec_tui.screens.drafts import DraftsScreen
from pec_tui.screens.flow_step import Direction, FlowStepScreen, StepResult
from pec_tui.screens.holder_form import HolderFormScreen
from pec_tui.screens.kit import KitScreen
from pec_tui.screens.messages import RenewalFlowFinished
from pec_tui.screens.order_form import OrderFormScreen
from pec_tui.screens.plan import PlanScreen
from pec_tui.services import draft_leases
from pec_tui.services.context import Context
from pec_tui.services.mailboxes import Selection
from pec_tui.services.orders import (
    confirm_order,
    discard_draft,
    load_draft,
    resume_draft,
    save_draft,
    start_purchase,
    start_renewal,
    start_renewal_of_selection,
)
from pec_tui.services.placing import Billing, ConfirmedOrder
from pec_tui.services.prices import get_price_list

log = logging.getLogger(__name__)

T = TypeVar("T")

FLOW_GROUP = "renewal-flow"
# The steps a user walks through before the order exists (Conferma follows confirmation).

STEP_SCREENS: dict[Step, type[FlowStepScreen]] = {
    Step.PLAN: PlanScreen,
    Step.KIT: KitScreen,
    Step.HOLDER: HolderFormScreen,
    Step.ORDER_FORM: OrderFormScreen,
    Step.CONTRACT: ContractScreen,
}


def _kept(fn: Callable[..., T]) -> Callable[..., T]:
    """`fn`, whose result the flow keeps to its end (the draft's items, the order's quote
    lines), with those objects kept out of the garbage collector's passes until the flow
    thaws them (`collector.frozen`): tens of thousands of them, otherwise walked by the next
    collections on the UI thread while the next screen is drawn."""

    def call(*args: Any) -> T:
        with collector.frozen():
            return fn(*args)

    return call


def _opened(fn: Callable[..., Draft]) -> Callable[..., Draft]:
    """`_kept(fn)` for a call that opens a draft, whose totals are then counted in the same
    thread: the steps ask for them (by the items' identity, `Draft.choice_counts`), and the
    UI thread would otherwise go through every item while the plan picker is drawn."""
    kept = _kept(fn)

    def call(*args: Any) -> Draft:
        draft = kept(*args)
        draft.choice_counts()
        draft.promo  # noqa: B018 (remembered for the items, as the counts)
        return draft

    return call


def step_screen(step: Step, ctx: Context, draft: Draft, prices: PriceList) -> FlowStepScreen:
    """The screen of `step`."""
    return STEP_SCREENS[step](ctx, draft, prices)


class FlowBackdrop(Screen[None]):
    """Shown under the steps while the draft is saved or the order confirmed."""

    CSS_PATH = "../styles/flow.tcss"

    def compose(self) -> ComposeResult:
        with Vertical(id="backdrop"):
            yield LoadingIndicator()
            yield Label(_("Please wait…"), id="backdrop-status")

    def status(self, text: str) -> None:
        self.query_one("#backdrop-status", Label).update(text)


# --- the controller -------------------------------------------------------------------------


_started: weakref.WeakSet[App[Any]] = weakref.WeakSet()


def flow_running(app: App[Any]) -> bool:
    return any(
        worker.group == FLOW_GROUP and worker.state in (WorkerState.PENDING, WorkerState.RUNNING)
        for worker in app.workers
    )


@dataclass(frozen=True)
class PurchaseStart:
    """A purchase (Acquisto) to open: the holder who buys and the address, already checked."""

    holder_id: int
    address: str


def run_renewal(
    app: App[Any],
    ctx: Context,
    mailbox_ids: list[int] | None = None,
    order_id: int | None = None,
    purchase: PurchaseStart | None = None,
    selection: Selection | None = None,
) -> None:
    """Start the flow for `mailbox_ids`, the mailboxes of a `selection` or a `purchase`, or
    resume the draft `order_id`.

    A purchase walks the same steps as a renewal and is saved as a draft at each of them."""
    if flow_running(app):
        app.notify(_("A renewal is already in progress on this terminal."), severity="warning")
        return
    _started.add(app)
    flow = RenewalFlow(
        app, ctx, mailbox_ids=mailbox_ids, order_id=order_id, purchase=purchase, selection=selection
    )
    app.run_worker(flow.run(), name="renewal flow", group=FLOW_GROUP, exit_on_error=False)


class RenewalFlow:
    """Walks the steps of one renewal, saving the draft between them."""

    def __init__(
        self,
        app: App[Any],
        ctx: Context,
        mailbox_ids: list[int] | None = None,
        order_id: int | None = None,
        purchase: PurchaseStart | None = None,
        selection: Selection | None = None,
    ) -> None:
        self.app = app
        self.ctx = ctx
        self.mailbox_ids = list(mailbox_ids or [])
        self.order_id = order_id
        self.purchase = purchase
        self.selection = selection
        self.backdrop = FlowBackdrop()
        self.lease_timer: Timer | None = None
        # While the draft is being confirmed, and after, it is no longer held as a draft.
        self._confirming = False

    async def _tell(self, title: str, message: str) -> None:
        await self.app.push_screen_wait(MessageModal(title, message))

    def _status(self, text: str) -> None:
        if self.backdrop.is_mounted:
            self.backdrop.status(text)

    async def run(self) -> None:
        opening = self._begin()
        await self.app.push_screen(self.backdrop)
        confirmed: list[ConfirmedOrder] | None = None
        failed = False
        try:
            confirmed = await self._walk(opening)
        except asyncio.CancelledError:
            raise  # the app quits or the kiosk session ends: the app releases the lease
        except Exception as exc:  # a bug must not take the terminal down with the draft
            failed = True
            log.exception("renewal flow failed")
            await self._tell(
                _("The renewal stopped"),
                _("An unexpected error stopped the renewal; the draft is saved. ({error})").format(
                    error=f"{type(exc).__name__}: {exc}"
                ),
            )
        finally:
            collector.thaw()
            if self.lease_timer is not None:
                self.lease_timer.stop()
            if self.app.screen is self.backdrop:
                self.app.pop_screen()
        await self._release(interrupted=failed)
        self.app.screen.post_message(
            RenewalFlowFinished(
                confirmed[0].order_id if confirmed else self.order_id,
                confirmed[0].number if confirmed else None,
            )
        )

    def _begin(self) -> tuple[str, Awaitable[Draft]]:
        """Begin opening the draft in a thread, at once: it reads the database while the
        backdrop is drawn. What to call a failure, and the work to await."""
        ctx = self.ctx
        fn: Callable[..., Draft]
        if self.order_id is not None:
            title, fn = _("The draft cannot be resumed"), _opened(resume_draft)
            args: tuple[Any, ...] = (self.order_id, ctx.lease)
        elif self.purchase is not None:
            title, fn = _("The purchase cannot start"), start_purchase
            args = (self.purchase.holder_id, self.purchase.address, ctx.today(), ctx.lease)
        elif self.selection is not None:
            title, fn = _("The renewal cannot start"), _opened(start_renewal_of_selection)
            args = (self.selection, ctx.today(), ctx.lease)
        else:
            title, fn = _("The renewal cannot start"), _opened(start_renewal)
            args = (self.mailbox_ids, ctx.today(), ctx.lease)
        return title, asyncio.ensure_future(asyncio.to_thread(fn, ctx.engine, ctx.actor, *args))

    async def _open(self, opening: tuple[str, Awaitable[Draft]]) -> tuple[Draft, PriceList] | None:
        self._status(
            _("Opening the purchase…") if self.purchase is not None else _("Opening the renewal…")
        )
        ctx = self.ctx
        draft = await await_db(self.app, *opening)
        if draft is None:
            return None
        self.order_id = draft.order_id
        # This session holds the draft while the flow is open: renewed well before it ends.
        self.lease_timer = self.app.set_interval(
            ctx.lease.renew_every, self._renew_lease, name="draft lease"
        )
        prices = await run_db(
            self.app, _("The price list cannot be read"), get_price_list, ctx.engine
        )
        if prices is None:
            return None
        return draft, prices

    async def _walk(self, opening: tuple[str, Awaitable[Draft]]) -> list[ConfirmedOrder] | None:
        opened = await self._open(opening)
        if opened is None:
            return None
        draft, prices = opened
        step = draft.step if draft.step in STEPS else Step.PLAN
        while True:
            result: StepResult = await self.app.push_screen_wait(
                step_screen(step, self.ctx, replace(draft, step=step), prices)
            )
            draft = result.draft
            index = STEPS.index(step)
            if result.direction in (Direction.KEEP, Direction.DISCARD):
                await self._leave(draft, result.direction)
                return None
            if result.direction is Direction.BACK:
                step = STEPS[max(index - 1, 0)]
            elif step is Step.CONTRACT:
                self._confirming = True
                confirmed = await self._confirm(draft)
                if confirmed is None:
                    self._confirming = False
                    if await self._still_a_draft(draft):
                        continue  # refused: back to the contract, nothing lost
                    return None
                if self.lease_timer is not None:
                    self.lease_timer.stop()  # an order now: no lease to keep
                await self.app.push_screen_wait(ConfirmationScreen(draft, confirmed))
                return confirmed
            else:
                step = STEPS[index + 1]
            draft = replace(draft, step=step)
            if not await self._save(draft):
                return None

    async def _renew_lease(self) -> None:
        if self.order_id is None or self._confirming:
            return
        try:
            held = await asyncio.to_thread(
                draft_leases.renew, self.ctx.engine, self.ctx.actor, self.order_id, self.ctx.lease
            )
        except Exception:  # the database is down: the next renewal, or saving, says more
            log.exception("renewal flow: renewing the draft's lease")
            return
        if not held and self.lease_timer is not None:
            self.lease_timer.stop()
            self.app.notify(
                _("Another session took this draft over: your changes will not be saved."),
                title=_("Draft taken over"),
                severity="warning",
                timeout=10,
            )

    async def _release(self, interrupted: bool) -> None:
        """The flow ended: the draft is kept for later (or confirmed, or discarded)."""
        if self.order_id is None:
            return
        try:
            await asyncio.to_thread(
                draft_leases.release,
                self.ctx.engine,
                self.ctx.actor,
                self.order_id,
                interrupted,
            )
        except Exception:  # the lease then runs out by itself
            log.exception("renewal flow: releasing the draft")

    async def _save(self, draft: Draft) -> bool:
        """Save the draft; False when the flow cannot go on (the draft is gone or confirmed).

        Only a refusal stops the flow: when the database fails, a notice says the draft was
        not saved and the user goes on.
        """
        self._status(_("Saving the draft…"))
        try:
            await asyncio.to_thread(
                save_draft, self.ctx.engine, self.ctx.actor, draft, self.ctx.lease
            )
        except RenewalRefused as exc:
            await self._tell(_("The draft cannot be saved"), error_message(exc))
            return False
        except Exception as exc:  # keep going: the user sees the draft was not saved
            log.exception("renewal flow: saving the draft")
            self.app.notify(
                _("The draft could not be saved ({error}); you can go on.").format(
                    error=type(exc).__name__
                ),
                title=_("Draft not saved"),
                severity="error",
            )
        return True

    async def _leave(self, draft: Draft, choice: Direction) -> None:
        """The user leaves the flow (`LeaveFlowModal`, asked by the first step), keeping or
        discarding the draft."""
        if choice is Direction.DISCARD:
            await run_db(
                self.app,
                _("The draft cannot be discarded"),
                discard_draft,
                self.ctx.engine,
                self.ctx.actor,
                draft.order_id,
            )
            self.app.notify(_("Draft discarded."))
        else:
            await self._save(draft)
            self.app.notify(
                _("Draft kept: resume it from the drafts list (b in the mailbox list).")
            )

    async def _still_a_draft(self, draft: Draft) -> bool:
        """False when the order left the draft state meanwhile (confirmed, discarded)."""
        try:
            await asyncio.to_thread(load_draft, self.ctx.engine, self.ctx.actor, draft.order_id)
        except (RenewalRefused, LookupError):
            self.app.notify(
                _("Order {id} is no longer a draft: see it in the orders list.").format(
                    id=draft.order_id
                ),
                severity="warning",
            )
            return False
        except Exception:  # unreachable database: let the user try again from the contract
            log.exception("renewal flow: reloading the draft")
        return True

    async def _confirm(self, draft: Draft) -> list[ConfirmedOrder] | None:
        self._status(_("Confirming the order…"))
        ctx = self.ctx
        return await run_db(
            self.app,
            _("The order was not confirmed"),
            _kept(confirm_order),
            ctx.engine,
            ctx.actor,
            draft,
            ctx.today(),
            Billing(ctx.settings.bank_iban, ctx.settings.bank_beneficiary, ctx.settings.mail_from),
        )


# --- drafts left behind ---------------------------------------------------------------------


def offer_unfinished_drafts(app: App[Any], ctx: Context) -> None:
    """At sign-in: drafts whose session died (a crash, a power cut, a closed browser tab) are
    offered in the drafts screen — the operator's own at once, colleagues' after a while.
    Those not resumed there are set aside: still in the drafts list, no longer offered."""

    async def check() -> None:
        drafts = await run_db(
            app,
            "listing drafts at start",
            draft_leases.interrupted_drafts,
            ctx.engine,
            ctx.actor,
            ctx.lease,
            report=lambda message: None,  # nothing to offer: the mailbox list says what is wrong
        )
        if drafts and app not in _started:
            offered = [d.order_id for d in drafts]
            app.push_screen(
                DraftsScreen(ctx, drafts, after_crash=True),
                callback=_resume_chosen(app, ctx, offered),
            )

    app.run_worker(check(), name="unfinished drafts", group="drafts-check", exit_on_error=False)


def show_drafts(app: App[Any], ctx: Context) -> None:
    """The drafts screen, from anywhere (e.g. a key of the mailbox list)."""
    app.push_screen(DraftsScreen(ctx), callback=_resume_chosen(app, ctx))


def _resume_chosen(
    app: App[Any], ctx: Context, offered: list[int] | None = None
) -> Callable[[int | None], None]:
    def resume(order_id: int | None) -> None:
        if offered:
            left = [i for i in offered if i != order_id]
            app.run_worker(
                asyncio.to_thread(draft_leases.set_aside, ctx.engine, ctx.actor, left),
                name="set offered drafts aside",
                exit_on_error=False,
            )
        if order_id is not None:
            run_renewal(app, ctx, order_id=order_id)

    return resume
