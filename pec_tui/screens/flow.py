"""The renewal flow: one worker walks the steps Plan → Kit → Holder → Order form → Contract → Conferma.

Each step is a screen that dismisses with a `StepResult` (go on, or go back keeping what was
entered). Between steps the draft is saved in a thread, so a terminal that crashes finds it
again at the next start. The pieces every step shares (base screen, modals, the choice list,
the command-palette provider for the screen's keys) live here too.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Checkbox, Footer, Label, LoadingIndicator, OptionList, Static
from textual.worker import WorkerState

from pec_tui.domain.draft import Draft, RenewalRefused, Step
from pec_tui.domain.pricing import PriceList
from pec_tui.i18n import N_, _, format_money, ngettext
from pec_tui.services.actor import AccessDenied
from pec_tui.services.orders import (
    confirm_order,
    discard_draft,
    list_drafts,
    load_draft,
    save_draft,
    start_renewal,
)
from pec_tui.services.placing import Billing, ConfirmedOrder
from pec_tui.services.prices import get_price_list
from pec_tui.widgets.flow_header import FlowHeader
from pec_tui.widgets.keys import ScreenKeysProvider, translate_bindings

if TYPE_CHECKING:
    from pec_tui.app import PecApp

log = logging.getLogger(__name__)

FLOW_GROUP = "renewal-flow"
# The steps a user walks through before the order exists (Conferma follows confirmation).
STEPS: tuple[Step, ...] = (Step.PLAN, Step.KIT, Step.HOLDER, Step.ORDER_FORM, Step.CONTRACT)

T = TypeVar("T")


# --- pieces shared by every step ------------------------------------------------------------


class Direction(Enum):
    NEXT = "next"
    BACK = "back"


@dataclass(frozen=True)
class StepResult:
    """What a step screen hands back: where to go and the draft with what was entered."""

    direction: Direction
    draft: Draft


class ChoiceList(OptionList, inherit_bindings=False):
    """An option list whose highlighted option is the choice; enter is left to the screen."""

    BINDINGS: ClassVar = [
        Binding("down", "cursor_down", show=False),
        Binding("up", "cursor_up", show=False),
        Binding("home", "first", show=False),
        Binding("end", "last", show=False),
    ]


class SpaceCheckbox(Checkbox, inherit_bindings=False):
    """A checkbox toggled by space (or a click): enter stays free to move the flow on."""

    BINDINGS: ClassVar = [Binding("space", "toggle_button", show=False)]


class FlowStepScreen(Screen[StepResult]):
    """A step of the flow: the flow header on top, the keys in the footer, escape goes back."""

    CSS_PATH = "../styles/flow.tcss"
    COMMANDS: ClassVar = {ScreenKeysProvider}
    STEP: ClassVar[Step]
    BINDINGS: ClassVar = [
        Binding("escape", "back", N_("Back"), id="flow.back", tooltip=N_("Previous step")),
    ]

    def __init__(self, draft: Draft, prices: PriceList) -> None:
        super().__init__(classes="flow-step")
        self.draft = draft
        self.prices = prices
        translate_bindings(self)

    def compose(self) -> ComposeResult:
        yield FlowHeader(self.STEP, self.draft.billed_to, len(self.draft.items))
        yield from self.compose_step()
        yield Footer(compact=True)

    def compose_step(self) -> ComposeResult:
        yield from ()

    def current_draft(self) -> Draft:
        """The draft with whatever the user entered on this step (valid or not)."""
        return self.draft

    def action_back(self) -> None:
        self.dismiss(StepResult(Direction.BACK, self.current_draft()))

    def go_next(self, draft: Draft | None = None) -> None:
        self.dismiss(StepResult(Direction.NEXT, draft or self.current_draft()))

    def totals_text(self, draft: Draft) -> str:
        """`Totale: … + IVA   Totale con IVA: …` for `draft`, priced by the domain."""
        q = draft.quote(self.prices)
        years = ngettext("for {years} year", "for {years} years", draft.years).format(
            years=draft.years
        )
        return "{net} [dim]({years})[/]\n{gross}".format(
            net=_("Total: {amount} + VAT").format(amount=f"[b]{format_money(q.net)}[/]"),
            gross=_("Total incl. VAT: {amount}").format(amount=f"[b]{format_money(q.gross)}[/]"),
            years=years,
        )


class MessageModal(ModalScreen[None]):
    """A message the user must read (a refusal, an error): enter or escape closes it."""

    CSS_PATH = "../styles/flow.tcss"
    BINDINGS: ClassVar = [
        Binding("escape,enter", "close", N_("Close"), id="flow.message.close"),
    ]

    def __init__(self, title: str, message: str, error: bool = True) -> None:
        super().__init__(classes="flow-modal")
        self.title_text = title
        self.message = message
        self.error = error
        translate_bindings(self)

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box" + (" -error" if self.error else "")):
            yield Label(self.title_text, classes="modal-title")
            with VerticalScroll(classes="modal-body"):
                yield Static(self.message, markup=False, id="message")
            yield Button(_("OK"), id="close", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#close", Button).focus()

    def action_close(self) -> None:
        self.dismiss(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None)


class LeaveFlowModal(ModalScreen[str | None]):
    """Escape on the first step: keep the draft for later, discard it, or stay."""

    CSS_PATH = "../styles/flow.tcss"
    BINDINGS: ClassVar = [
        Binding("k", "choose('keep')", N_("Keep the draft"), id="flow.leave.keep"),
        Binding("d", "choose('discard')", N_("Discard the draft"), id="flow.leave.discard"),
        Binding("escape", "choose('')", N_("Stay"), id="flow.leave.stay"),
    ]

    def __init__(self) -> None:
        super().__init__(classes="flow-modal")
        translate_bindings(self)

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box"):
            yield Label(_("Leave the renewal?"), classes="modal-title")
            yield Static(
                _(
                    "The choices made so far are saved as a draft: you can resume it later "
                    "from the drafts list, or discard it now."
                )
            )
            with Horizontal(classes="modal-buttons"):
                yield Button(_("Keep the draft (k)"), id="keep", variant="primary")
                yield Button(_("Discard the draft (d)"), id="discard", variant="error")
                yield Button(_("Stay (esc)"), id="stay")

    def on_mount(self) -> None:
        self.query_one("#stay", Button).focus()

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice or None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_choose("" if event.button.id == "stay" else str(event.button.id))


class FlowBackdrop(Screen[None]):
    """Shown under the steps while the draft is saved or the order confirmed."""

    CSS_PATH = "../styles/flow.tcss"

    def compose(self) -> ComposeResult:
        with Vertical(id="backdrop"):
            yield LoadingIndicator()
            yield Label(_("Please wait…"), id="backdrop-status")

    def status(self, text: str) -> None:
        self.query_one("#backdrop-status", Label).update(text)


class RenewalFlowFinished(Message):
    """Posted to the screen under the flow when it ends (e.g. to reload the mailbox list)."""

    def __init__(self, order_id: int | None, number: int | None) -> None:
        super().__init__()
        self.order_id = order_id
        self.number = number


# --- the controller -------------------------------------------------------------------------


_started: weakref.WeakSet[App] = weakref.WeakSet()


def flow_running(app: App) -> bool:
    return any(
        worker.group == FLOW_GROUP and worker.state in (WorkerState.PENDING, WorkerState.RUNNING)
        for worker in app.workers
    )


def run_renewal(
    app: PecApp, mailbox_ids: list[int] | None = None, order_id: int | None = None
) -> None:
    """Start the flow for `mailbox_ids`, or resume the draft `order_id`."""
    if flow_running(app):
        app.notify(_("A renewal is already in progress on this terminal."), severity="warning")
        return
    _started.add(app)
    flow = RenewalFlow(app, mailbox_ids=mailbox_ids, order_id=order_id)
    app.run_worker(flow.run(), name="renewal flow", group=FLOW_GROUP, exit_on_error=False)


class RenewalFlow:
    """Walks the steps of one renewal, saving the draft between them."""

    def __init__(
        self, app: PecApp, mailbox_ids: list[int] | None = None, order_id: int | None = None
    ) -> None:
        self.app = app
        self.mailbox_ids = list(mailbox_ids or [])
        self.order_id = order_id
        self.backdrop = FlowBackdrop()

    # Database work runs in a thread; refusals and errors become a message for the user.

    async def _db(self, title: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except RenewalRefused as exc:
            await self._tell(title, exc.message)
        except (AccessDenied, LookupError) as exc:
            await self._tell(title, str(exc))
        except Exception as exc:  # the database is down, locked, ...: never a traceback
            log.exception("renewal flow: %s", title)
            await self._tell(
                title,
                _("The database did not answer as expected: {error}").format(
                    error=f"{type(exc).__name__}: {exc}"
                ),
            )
        return None

    async def _tell(self, title: str, message: str) -> None:
        await self.app.push_screen_wait(MessageModal(title, message))

    def _status(self, text: str) -> None:
        if self.backdrop.is_mounted:
            self.backdrop.status(text)

    async def run(self) -> None:
        await self.app.push_screen(self.backdrop)
        confirmed: ConfirmedOrder | None = None
        try:
            confirmed = await self._walk()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug must not take the terminal down with the draft
            log.exception("renewal flow failed")
            await self._tell(
                _("The renewal stopped"),
                _("An unexpected error stopped the renewal; the draft is saved. ({error})").format(
                    error=f"{type(exc).__name__}: {exc}"
                ),
            )
        finally:
            if self.app.screen is self.backdrop:
                self.app.pop_screen()
        self.app.screen.post_message(
            RenewalFlowFinished(
                confirmed.order_id if confirmed else self.order_id,
                confirmed.number if confirmed else None,
            )
        )

    async def _open(self) -> tuple[Draft, PriceList] | None:
        self._status(_("Opening the renewal…"))
        if self.order_id is not None:
            draft = await self._db(
                _("The draft cannot be resumed"),
                load_draft,
                self.app.engine,
                self.app.actor,
                self.order_id,
            )
        else:
            draft = await self._db(
                _("The renewal cannot start"),
                start_renewal,
                self.app.engine,
                self.app.actor,
                self.mailbox_ids,
                self.app.today(),
            )
        if draft is None:
            return None
        self.order_id = draft.order_id
        prices = await self._db(_("The price list cannot be read"), get_price_list, self.app.engine)
        if prices is None:
            return None
        return draft, prices

    async def _walk(self) -> ConfirmedOrder | None:
        opened = await self._open()
        if opened is None:
            return None
        draft, prices = opened
        step = draft.step if draft.step in STEPS else Step.PLAN
        while True:
            result: StepResult = await self.app.push_screen_wait(
                step_screen(step, replace(draft, step=step), prices)
            )
            draft = result.draft
            index = STEPS.index(step)
            if result.direction is Direction.BACK:
                if index == 0:
                    if await self._leave(draft):
                        return None
                    continue
                step = STEPS[index - 1]
            elif step is Step.CONTRACT:
                confirmed = await self._confirm(draft)
                if confirmed is None:
                    if await self._still_a_draft(draft):
                        continue  # refused: back to the contract, nothing lost
                    return None
                from pec_tui.screens.confirmation import ConfirmationScreen

                await self.app.push_screen_wait(ConfirmationScreen(draft, confirmed))
                return confirmed
            else:
                step = STEPS[index + 1]
            draft = replace(draft, step=step)
            if not await self._save(draft):
                return None

    async def _save(self, draft: Draft) -> bool:
        """Save the draft; False when the flow cannot go on (the draft is gone or confirmed)."""
        self._status(_("Saving the draft…"))
        try:
            await asyncio.to_thread(save_draft, self.app.engine, self.app.actor, draft)
        except RenewalRefused as exc:
            await self._tell(_("The draft cannot be saved"), exc.message)
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

    async def _leave(self, draft: Draft) -> bool:
        """True when the user leaves the flow (keeping or discarding the draft)."""
        choice = await self.app.push_screen_wait(LeaveFlowModal())
        if choice is None:
            return False
        if choice == "discard":
            await self._db(
                _("The draft cannot be discarded"),
                discard_draft,
                self.app.engine,
                self.app.actor,
                draft.order_id,
            )
            self.app.notify(_("Draft discarded."))
        else:
            await self._save(draft)
            self.app.notify(_("Draft kept: resume it from the drafts list."))
        return True

    async def _still_a_draft(self, draft: Draft) -> bool:
        """False when the order left the draft state meanwhile (confirmed, discarded)."""
        try:
            await asyncio.to_thread(load_draft, self.app.engine, self.app.actor, draft.order_id)
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

    async def _confirm(self, draft: Draft) -> ConfirmedOrder | None:
        self._status(_("Confirming the order…"))
        settings = self.app.settings
        return await self._db(
            _("The order was not confirmed"),
            confirm_order,
            self.app.engine,
            self.app.actor,
            draft,
            self.app.today(),
            Billing(settings.bank_iban, settings.bank_beneficiary, settings.mail_from),
        )


def step_screen(step: Step, draft: Draft, prices: PriceList) -> FlowStepScreen:
    """The screen of `step` (imported here: the step modules import this one)."""
    from pec_tui.screens.contract import ContractScreen
    from pec_tui.screens.holder_form import HolderScreen
    from pec_tui.screens.kit import KitScreen
    from pec_tui.screens.order_form import OrderFormScreen
    from pec_tui.screens.plan import PlanScreen

    screens: dict[Step, type[FlowStepScreen]] = {
        Step.PLAN: PlanScreen,
        Step.KIT: KitScreen,
        Step.HOLDER: HolderScreen,
        Step.ORDER_FORM: OrderFormScreen,
        Step.CONTRACT: ContractScreen,
    }
    return screens[step](draft, prices)


# --- drafts left behind ---------------------------------------------------------------------


def offer_unfinished_drafts(app: PecApp) -> None:
    """At start: if drafts were left (a crash, a power cut), offer them in the drafts screen."""

    async def check() -> None:
        try:
            drafts = await asyncio.to_thread(list_drafts, app.engine, app.actor, app.actor.terminal)
        except Exception:
            log.exception("listing drafts at start")
            return
        if drafts and app not in _started:
            from pec_tui.screens.drafts import DraftsScreen

            app.push_screen(DraftsScreen(drafts, after_crash=True), callback=_resume_chosen(app))

    app.run_worker(check(), name="unfinished drafts", group="drafts-check", exit_on_error=False)


def show_drafts(app: PecApp) -> None:
    """The drafts screen, from anywhere (e.g. a key of the mailbox list)."""
    from pec_tui.screens.drafts import DraftsScreen

    app.push_screen(DraftsScreen(), callback=_resume_chosen(app))


def _resume_chosen(app: PecApp) -> Callable[[int | None], None]:
    def resume(order_id: int | None) -> None:
        if order_id is not None:
            app.resume_draft(order_id)

    return resume
