"""Gestisci: every fact about one mailbox, with Rinnova and the holder's Area clienti."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Header, Label, Static

from pec_tui.domain.enums import MailboxState, PaymentMethod, label
from pec_tui.domain.lifecycle import is_expiring_soon, renewability
from pec_tui.domain.plans import MB_PER_GB, PLANS
from pec_tui.domain.records import MailboxRow
from pec_tui.i18n import N_, _, format_date, format_number, ngettext
from pec_tui.screens.dbwork import run_db
from pec_tui.screens.messages import OpenCustomerArea, StartRenewal
from pec_tui.services.context import Context
from pec_tui.services.holders import HolderInfo, get_holder
from pec_tui.services.mailboxes import get_mailbox
from pec_tui.widgets.footer import KeysFooter
from pec_tui.widgets.keys import ScreenKeysProvider, translate_bindings


def _size(mb: int) -> str:
    """Megabytes as the portal shows space: whole GB when exact, else MB."""
    if mb and mb % MB_PER_GB == 0:
        return _("{n} GB").format(n=format_number(mb // MB_PER_GB))
    return _("{n} MB").format(n=format_number(mb))


def plan_summary(row: MailboxRow) -> str:
    """'PRO — 5 GB: 2 GB mailbox + 3 GB security archive'."""
    spec = PLANS[row.plan]
    if spec.has_archive:
        space = _("{total} GB: {mailbox} GB mailbox + {archive} GB security archive").format(
            total=spec.total_gb, mailbox=spec.mailbox_gb, archive=spec.archive_gb
        )
    else:
        space = _("{total} GB mailbox").format(total=spec.total_gb)
    return f"{row.plan.value} — {space}"


def usage(used_mb: int, capacity_mb: int) -> str:
    """'300 MB of 2 GB (15%)'."""
    percent = min(100, round(100 * used_mb / capacity_mb)) if capacity_mb else 0
    return _("{used} of {capacity} ({percent}%)").format(
        used=_size(used_mb), capacity=_size(capacity_mb), percent=percent
    )


class MailboxDetailScreen(Screen[None]):
    """One mailbox: plan and space, extras, usage, expiry and state, auto-renew, holder."""

    CSS_PATH = "../styles/mailboxes.tcss"
    COMMANDS: ClassVar = {ScreenKeysProvider}
    BINDINGS: ClassVar = [
        Binding("r", "renew", N_("Renew"), id="mailbox_detail.renew"),
        Binding("c", "customer_area", N_("Customer area"), id="mailbox_detail.customer_area"),
        Binding("escape", "back", N_("Back"), id="mailbox_detail.back"),
    ]

    def __init__(self, ctx: Context, mailbox_id: int) -> None:
        super().__init__()
        self.ctx = ctx
        translate_bindings(self)
        self.mailbox_id = mailbox_id
        self.mailbox: MailboxRow | None = None
        self.holder: HolderInfo | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="detail-body"):
            yield Static(_("Loading…"), id="detail-facts")
        yield Static(id="detail-status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.sub_title = _("Manage mailbox")
        self._load()

    def on_screen_resume(self) -> None:
        if self.mailbox is not None:
            self._load()

    @work(exclusive=True, group="mailbox-detail")
    async def _load(self) -> None:
        ctx, mailbox_id = self.ctx, self.mailbox_id

        def read() -> tuple[MailboxRow, HolderInfo]:
            mailbox = get_mailbox(ctx.engine, ctx.actor, mailbox_id)
            return mailbox, get_holder(ctx.engine, ctx.actor, mailbox.holder_id)

        found = await run_db(self, "reading a mailbox", read, report=self._cannot_show)
        if found is not None:
            self._show(*found)

    def _cannot_show(self, message: str) -> None:
        self.query_one("#detail-facts", Static).update(
            _("This mailbox cannot be shown: {error}").format(error=message)
        )

    def _show(self, mailbox: MailboxRow, holder: HolderInfo) -> None:
        self.mailbox, self.holder = mailbox, holder
        body = self.query_one("#detail-body", VerticalScroll)
        body.remove_children()
        body.mount_all(list(self._facts(mailbox, holder)))
        verdict = renewability(mailbox.expiry, self.ctx.today(), mailbox.auto_renew)
        status = (
            _("Renew is available: press r.")
            if verdict.allowed
            else _("Renew is not available: {reason}").format(reason=verdict.reason)
        )
        self.query_one("#detail-status", Static).update(status)
        self.refresh_bindings()

    def _facts(self, m: MailboxRow, holder: HolderInfo) -> Iterator[Widget]:
        today = self.ctx.today()
        spec = PLANS[m.plan]
        state = m.state(today)
        expiry_class = "soon" if is_expiring_soon(m.expiry, today) else ""
        state_class = {MailboxState.SUSPENDED: "suspended", MailboxState.CANCELLED: "cancelled"}
        payment = (
            label(PaymentMethod(m.payment_method)) if m.payment_method else _("not chosen yet")
        )
        sections = (
            (
                _("Mailbox"),
                [
                    (_("Address"), m.address, ""),
                    (_("Type"), plan_summary(m), ""),
                    (
                        _("Extra space"),
                        _("+{mailbox} GB mailbox, +{archive} GB security archive").format(
                            mailbox=m.extra_mailbox_gb, archive=m.extra_archive_gb
                        )
                        if spec.has_archive
                        else _("+{mailbox} GB mailbox").format(mailbox=m.extra_mailbox_gb),
                        "",
                    ),
                    (
                        _("Mailbox space"),
                        usage(m.mailbox_used_mb, spec.mailbox_capacity_mb(m.extra_mailbox_gb)),
                        "",
                    ),
                    (
                        _("Security archive"),
                        usage(m.archive_used_mb, spec.archive_capacity_mb(m.extra_archive_gb))
                        if spec.has_archive
                        else _("not included in this plan"),
                        "",
                    ),
                    (_("Promotional product"), _("Yes") if m.promo else _("No"), ""),
                ],
            ),
            (
                _("Expiry and renewal"),
                [
                    (_("Expiry"), format_date(m.expiry), expiry_class),
                    (_("State"), label(state), state_class.get(state, "")),
                    (_("Auto-renew"), _("Yes") if m.auto_renew else _("No"), ""),
                    (
                        _("Renewal frequency"),
                        ngettext("{n} year", "{n} years", m.renewal_years).format(
                            n=m.renewal_years
                        ),
                        "",
                    ),
                    (_("Payment method"), payment, ""),
                ],
            ),
            (
                _("Holder"),
                [
                    (_("Name"), holder.display_name, ""),
                    (_("Holder type"), label(holder.kind), ""),
                    (_("Codice fiscale"), holder.codice_fiscale or "—", ""),
                    (_("Partita IVA"), holder.partita_iva or "—", ""),
                    (_("Reference e-mail"), holder.reference_email, ""),
                ],
            ),
        )
        for title, facts in sections:
            yield Label(title, classes="detail-section", markup=False)
            yield Grid(
                *(
                    widget
                    for name, value, css in facts
                    for widget in (
                        Label(name, classes="detail-label", markup=False),
                        Label(value, classes=css or "detail-value", markup=False),
                    )
                ),
                classes="detail-grid",
            )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "renew":
            m = self.mailbox
            if m is None:
                return None
            return renewability(m.expiry, self.ctx.today(), m.auto_renew).allowed or None
        if action == "customer_area":
            return self.mailbox is not None or None
        return True

    def action_renew(self) -> None:
        if self.mailbox is not None:
            self.app.post_message(StartRenewal([self.mailbox.id]))

    def action_customer_area(self) -> None:
        if self.mailbox is not None:
            self.app.post_message(OpenCustomerArea(self.mailbox.holder_id))

    def action_back(self) -> None:
        self.dismiss()
