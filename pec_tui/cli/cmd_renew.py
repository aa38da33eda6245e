"""`pec-tui renew ADDRESS...`: a renewal order placed from a script, exactly as the TUI places it."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import click

from pec_tui.cli import options
from pec_tui.cli.group import CliContext, main, pass_ctx
from pec_tui.cli.order_output import echo_confirmed, refusals_as_errors, require_consents
from pec_tui.domain.enums import PaymentMethod, Plan, SignatureKit


@main.command("renew")
@click.argument("addresses", metavar="ADDRESS...", nargs=-1, required=True)
@click.option(
    "--years",
    type=click.IntRange(1, 5),
    required=True,
    help="Renew for this many years (1-5; 1-2 for promotional mailboxes); also the "
    "frequency of the automatic renewal.",
)
@click.option(
    "--plan",
    type=click.Choice([p.value for p in Plan], case_sensitive=False),
    help="Change every mailbox to this plan (default: keep each one's plan). Moving "
    "PRO/PREMIUM to STANDARD deletes the security archive: add --confirm-archive-deletion.",
)
@click.option(
    "--extra-mailbox-gb",
    type=options.AMOUNT_OF,
    help="Extra mailbox GB for every mailbox (STANDARD: at most 1). Default: keep each "
    "one's current extra space, within what the plan allows.",
)
@click.option(
    "--extra-archive-gb",
    type=options.AMOUNT_OF,
    help="Extra security-archive GB for every mailbox (PRO and PREMIUM only). Default: keep "
    "each one's current extra space, within what the plan allows.",
)
@click.option(
    "--kit",
    type=click.Choice([k.value for k in SignatureKit]),
    help="Add a digital-signature kit to the order: smart_card (smart card + reader), "
    "usb_token or remota (remote signature).",
)
@options.payment_method(
    "carta, paypal, bonifico (bank transfer), bollettino (postal slip) or credito "
    "(reseller prepaid credit: paid at once when the credit covers the total)."
)
@options.auto_renew("Switch Rinnovo automatico on for these mailboxes once the order is paid.")
@options.consents
@click.option(
    "--confirm-archive-deletion",
    is_flag=True,
    help="Confirm that moving to STANDARD deletes every message in the security archive.",
)
@options.text_or_json()
@pass_ctx
@refusals_as_errors
def renew(
    ctx: CliContext,
    addresses: tuple[str, ...],
    years: int,
    plan: str | None,
    extra_mailbox_gb: int | None,
    extra_archive_gb: int | None,
    kit: str | None,
    payment_method: str,
    auto_renew: bool,
    accept_terms: bool,
    accept_clauses: bool,
    accept_privacy: bool,
    confirm_archive_deletion: bool,
    fmt: str,
) -> None:
    """Renew the mailboxes ADDRESS... with one order, as the terminal UI would.

    The order is confirmed (number, lines, totals, consents recorded under the operator's
    name) and the Conferma ordine e-mail is queued; it stays awaiting payment until the
    payment is registered (`pec-tui payments register`), unless paid with prepaid credit.
    Mailboxes with Rinnovo automatico on, cancelled ones and ones with an open order are
    refused with the reason; then nothing is ordered.
    """
    from pec_tui.domain.draft import Consents, DraftItem, RenewalRefused, Step
    from pec_tui.domain.plans import clamp_extra
    from pec_tui.services import orders
    from pec_tui.services.order_queries import mailbox_ids_by_address
    from pec_tui.services.placing import Billing

    require_consents(accept_terms, accept_clauses, accept_privacy)
    engine, actor, today = ctx.engine, ctx.actor, date.today()
    ids = mailbox_ids_by_address(engine, actor, list(addresses))
    draft = orders.start_renewal(engine, actor, ids, today)

    def chosen(item: DraftItem) -> DraftItem:
        target = Plan(plan.upper()) if plan else item.plan
        kept_mb, kept_arch = clamp_extra(target, item.extra_mailbox_gb, item.extra_archive_gb)
        return replace(
            item,
            plan=target,
            extra_mailbox_gb=kept_mb if extra_mailbox_gb is None else extra_mailbox_gb,
            extra_archive_gb=kept_arch if extra_archive_gb is None else extra_archive_gb,
            archive_deletion_confirmed=confirm_archive_deletion,
        )

    draft = replace(
        draft,
        items=tuple(chosen(item) for item in draft.items),
        years=years,
        kit=SignatureKit(kit) if kit else None,
        payment_method=PaymentMethod(payment_method),
        auto_renew=auto_renew,
        consents=Consents(accept_terms, accept_clauses, accept_privacy),
        step=Step.CONTRACT,
    )
    try:
        draft = orders.save_draft(engine, actor, draft)
        done = orders.confirm_order(
            engine,
            actor,
            draft,
            today,
            Billing(ctx.settings.bank_iban, ctx.settings.bank_beneficiary),
        )
    except RenewalRefused:
        # A script that fails leaves no draft behind for someone to stumble on.
        orders.discard_draft(engine, actor, draft.order_id)
        raise
    echo_confirmed(done, [item.address for item in draft.items], draft.years, fmt)
