"""`pec-tui renew ADDRESS...`: a renewal order placed from a script, exactly as the TUI places it.

The mailboxes are named as arguments, read from a file (`--from-file`, any number of them) or
chosen by the mailbox list's own rule (`--expiring-within 3m`, the `t` key's selection).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, TextIO

import click

from pec_tui.cli import options
from pec_tui.cli.group import CliContext, main, pass_ctx
from pec_tui.cli.order_output import echo_confirmed, refusals_as_errors, require_consents
from pec_tui.domain.enums import PaymentMethod, Plan, SignatureKit
from pec_tui.i18n import _, ngettext

if TYPE_CHECKING:
    from pec_tui.services.mailbox_io import ExpiryWindow

EXIT_INTERRUPTED = 130
# A refusal of a file names at most this many of its bad lines.
NAMED_BAD_LINES = 20
# Below this many mailboxes the order is placed before a progress bar would mean anything.
_PROGRESS_FROM = 1_000


@main.command("renew")
@click.argument("addresses", metavar="[ADDRESS]...", nargs=-1)
@click.option(
    "--from-file",
    "from_file",
    type=options.InputFile(encoding="utf-8-sig"),
    help="Also renew the mailboxes listed in this file, one address per line (- reads "
    "standard input); blank lines and lines starting with # are skipped. Any number of "
    "addresses; a line that is not an address is refused with its number, and nothing is "
    "ordered.",
)
@click.option(
    "--expiring-within",
    "window",
    type=options.Period(),
    help="Also renew every mailbox you may renew that expires from today to the end of this "
    "period, months (3m) or days (90d): the mailbox list's `t` selection. Mailboxes with "
    "Rinnovo automatico on or on an open order are left out, as there.",
)
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
    from_file: TextIO | None,
    window: ExpiryWindow | None,
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

    The mailboxes are those named as ADDRESS arguments, those listed in the --from-file file
    and those --expiring-within selects, together (at least one of the three). Mailboxes of
    several resellers (administrators and back office) make one order per reseller, all
    placed in one transaction: Ctrl-C before the end orders nothing.

    The order is confirmed (number, lines, totals, consents recorded under the operator's
    name) and the Conferma ordine e-mail is queued; it stays awaiting payment until the
    payment is registered (`pec-tui payments register`), unless paid with prepaid credit.
    Mailboxes with Rinnovo automatico on, cancelled ones and ones with an open order are
    refused with the reason (those --expiring-within finds are left out instead); then
    nothing is ordered.
    """
    from pec_tui.domain.draft import Consents, Draft, DraftItem, Step
    from pec_tui.domain.plans import clamp_extra
    from pec_tui.services import orders
    from pec_tui.services.order_queries import mailbox_ids_by_address
    from pec_tui.services.placing import Billing

    require_consents(accept_terms, accept_clauses, accept_privacy)
    engine, actor, today = ctx.engine, ctx.actor, date.today()
    named = list(addresses)
    where: dict[str, str] = {}
    if from_file is not None:
        listed = read_address_file(from_file)
        named += listed
        for address, line in listed.items():
            where.setdefault(address, _("line {number}").format(number=line))
    if not named and window is None:
        raise click.UsageError(
            _("Name the mailboxes to renew: ADDRESS arguments, --from-file or --expiring-within.")
        )
    ids = mailbox_ids_by_address(engine, actor, named, where) if named else []
    if window is not None:
        chosen_ids = _expiring_ids(ctx, window, today)
        seen = set(ids)
        ids += [i for i in chosen_ids if i not in seen]
    if not ids:
        raise click.ClickException(
            _("No mailbox expiring within {period} can be renewed: nothing was ordered.").format(
                period=window_text(window)
            )
            if window is not None
            else _("No mailbox to renew: nothing was ordered.")
        )

    def chosen(item: DraftItem) -> DraftItem:
        target = Plan(plan.upper()) if plan else item.plan
        kept_mb, kept_arch = clamp_extra(target, item.extra_mailbox_gb, item.extra_archive_gb)
        new_mb = kept_mb if extra_mailbox_gb is None else extra_mailbox_gb
        new_arch = kept_arch if extra_archive_gb is None else extra_archive_gb
        if (target, new_mb, new_arch, confirm_archive_deletion) == (
            item.plan,
            item.extra_mailbox_gb,
            item.extra_archive_gb,
            item.archive_deletion_confirmed,
        ):
            return item  # most mailboxes of a long list: no copy
        return replace(
            item,
            plan=target,
            extra_mailbox_gb=new_mb,
            extra_archive_gb=new_arch,
            archive_deletion_confirmed=confirm_archive_deletion,
        )

    def choose(draft: Draft) -> Draft:
        return replace(
            draft,
            items=tuple(chosen(item) for item in draft.items),
            years=years,
            kit=SignatureKit(kit) if kit else None,
            payment_method=PaymentMethod(payment_method),
            auto_renew=auto_renew,
            consents=Consents(accept_terms, accept_clauses, accept_privacy),
            step=Step.CONTRACT,
        )

    billing = Billing(ctx.settings.bank_iban, ctx.settings.bank_beneficiary)
    try:
        with _progress(len(ids)) as advance:
            # One transaction, no draft left behind: a refusal or Ctrl-C orders nothing.
            draft, done = orders.place_renewal(
                engine, actor, ids, today, choose, billing, progress=advance
            )
    except KeyboardInterrupt:
        click.echo(_("Interrupted: nothing was ordered."), err=True)
        click.get_current_context().exit(EXIT_INTERRUPTED)
    echo_confirmed(done, [item.address for item in draft.items], draft.years, fmt)


def window_text(window: ExpiryWindow) -> str:
    return f"{window.amount}{window.unit}"


def _expiring_ids(ctx: CliContext, window: ExpiryWindow, today: date) -> list[int]:
    """The ids the mailbox list's rule selects (`t`): renewable, in the actor's scope."""
    from pec_tui.services.mailboxes import Selection, SelectionRule

    first, last = window.bounds(today)
    return Selection(SelectionRule(first, last)).resolve_ids(ctx.engine, ctx.actor, today)


# One address a line: a local part, @, a domain with a dot; no spaces. The file is checked
# for shape only (a full e-mail syntax check of tens of thousands of lines takes seconds):
# an address-shaped line no mailbox has is refused as missing, with its line number.
_NOT_IN_ADDRESS = r'[^@\s;,:<>()\[\]"]'
_ADDRESS_LINE = re.compile(rf"{_NOT_IN_ADDRESS}+@{_NOT_IN_ADDRESS}+\.{_NOT_IN_ADDRESS}{{2,}}")


def read_address_file(source: TextIO) -> dict[str, int]:
    """The addresses of a file, one a line, each with the number of the line it is first on.

    Blank lines and lines starting with # are skipped; any other line that is not one
    address refuses the whole file, naming the lines (the first `NAMED_BAD_LINES`)."""
    from pec_tui.domain.validation import shown

    found: dict[str, int] = {}
    bad: list[str] = []
    bad_count = 0
    for number, raw in enumerate(source, start=1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        if _ADDRESS_LINE.fullmatch(text) is None:
            bad_count += 1
            if len(bad) < NAMED_BAD_LINES:
                bad.append(_("line {number}: “{text}”").format(number=number, text=shown(text)))
            continue
        found.setdefault(text.lower(), number)
    if bad_count:
        listed = "; ".join(bad)
        if bad_count > len(bad):
            listed += "; " + _("and {count} more").format(count=bad_count - len(bad))
        raise click.ClickException(
            ngettext(
                "{count} line of the file is not a PEC address ({lines}): nothing was ordered.",
                "{count} lines of the file are not PEC addresses ({lines}): nothing was ordered.",
                bad_count,
            ).format(count=bad_count, lines=listed)
        )
    return found


@contextmanager
def _progress(total: int) -> Iterator[Callable[[int], None]]:
    """A progress bar on standard error over the mailboxes ordered (`advance(how_many)`),
    shown for long work only."""
    if total < _PROGRESS_FROM:
        yield lambda _done: None
        return
    label = ngettext("Renewing {count} mailbox", "Renewing {count} mailboxes", total)
    with click.progressbar(length=total, label=label.format(count=total), file=sys.stderr) as bar:
        yield bar.update
