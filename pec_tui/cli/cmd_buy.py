"""`pec-tui buy ADDRESS`: a new purchase (Acquisto), also of a cancelled address by its holder."""

from __future__ import annotations

from datetime import date

import click

from pec_tui.cli import options
from pec_tui.cli.group import CliContext, main, pass_ctx
from pec_tui.cli.order_output import echo_confirmed, refusals_as_errors, require_consents
from pec_tui.domain.enums import PaymentMethod, Plan, SignatureKit


@main.command("buy")
@click.argument("address")
@click.option(
    "--holder-id",
    type=options.ID,
    required=True,
    help="The holder (titolare) who buys the mailbox; see `pec-tui mailboxes export`.",
)
@click.option(
    "--plan",
    type=click.Choice([p.value for p in Plan], case_sensitive=False),
    required=True,
    help="STANDARD (1 GB), PRO (2 GB + 3 GB archive) or PREMIUM (2 GB + 8 GB archive).",
)
@click.option(
    "--years",
    type=click.IntRange(1, 5),
    required=True,
    help="For how many years (1-5; 1-2 with --promo); also the automatic renewal frequency.",
)
@click.option(
    "--extra-mailbox-gb",
    type=options.AMOUNT_OF,
    default=0,
    show_default=True,
    help="Extra mailbox GB (STANDARD: at most 1).",
)
@click.option(
    "--extra-archive-gb",
    type=options.AMOUNT_OF,
    default=0,
    show_default=True,
    help="Extra security-archive GB (PRO and PREMIUM only).",
)
@click.option(
    "--kit",
    type=click.Choice([k.value for k in SignatureKit]),
    help="Add a digital-signature kit: smart_card, usb_token or remota.",
)
@click.option("--promo", is_flag=True, help="A promotional product (1-2 years only).")
@options.payment_method("carta, paypal, bonifico, bollettino or credito (reseller prepaid credit).")
@options.auto_renew("Switch Rinnovo automatico on once the purchase is paid.")
@options.consents
@options.text_or_json()
@pass_ctx
@refusals_as_errors
def buy(
    ctx: CliContext,
    address: str,
    holder_id: int,
    plan: str,
    years: int,
    extra_mailbox_gb: int,
    extra_archive_gb: int,
    kit: str | None,
    promo: bool,
    payment_method: str,
    auto_renew: bool,
    accept_terms: bool,
    accept_clauses: bool,
    accept_privacy: bool,
    fmt: str,
) -> None:
    """Order the PEC mailbox ADDRESS for holder --holder-id (Acquisto).

    The mailbox is created when the payment is registered, with its expiry counted from
    that day. An address still in use is refused (renew it instead); a cancelled one may
    be bought again only by its former holder (same codice fiscale or partita IVA).
    """
    from pec_tui.domain.draft import Consents
    from pec_tui.services.placing import Billing
    from pec_tui.services.purchase import PurchaseRequest, place_purchase

    require_consents(accept_terms, accept_clauses, accept_privacy)
    done = place_purchase(
        ctx.engine,
        ctx.actor,
        PurchaseRequest(
            holder_id=holder_id,
            address=address,
            plan=Plan(plan.upper()),
            years=years,
            payment_method=PaymentMethod(payment_method),
            consents=Consents(accept_terms, accept_clauses, accept_privacy),
            extra_mailbox_gb=extra_mailbox_gb,
            extra_archive_gb=extra_archive_gb,
            kit=SignatureKit(kit) if kit else None,
            auto_renew=auto_renew,
            promo=promo,
        ),
        date.today(),
        Billing(ctx.settings.bank_iban, ctx.settings.bank_beneficiary),
    )
    echo_confirmed([done], [address.strip().lower()], years, fmt)
