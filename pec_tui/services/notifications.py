"""The e-mails the product sends, built with the standard library's `email` package."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import ParamSpec, Protocol, TypeVar

from sqlmodel import Session

from pec_tui.config import load_settings
from pec_tui.db.models import Holder, Order, OrderLine, OutboxMessage, Reseller, utcnow
from pec_tui.domain.draft import DraftItem
from pec_tui.domain.enums import OrderType, PriceItem
from pec_tui.domain.lifecycle import cancelled_from
from pec_tui.domain.money import VAT_RATE, from_cents
from pec_tui.domain.pricing import Quote, QuoteLine, item_description
from pec_tui.i18n import _, format_date, format_money, format_number, ngettext, speaking
from pec_tui.services import outbox
from pec_tui.services.mail_render import render_plain
from pec_tui.services.order_lines import LineFacts, LinesSummary, line_description

# E-mails go out in the holder's language, whatever the operator's UI speaks. Holders carry
# no language of their own yet: every one is written to in Italian.
MAIL_LANGUAGE = "it"
P = ParamSpec("P")
R = TypeVar("R")


def in_mail_language(build: Callable[P, R]) -> Callable[P, R]:
    """Build the e-mail (words, money, dates) in `MAIL_LANGUAGE`."""

    @functools.wraps(build)
    def speaking_the_holders_language(*args: P.args, **kwargs: P.kwargs) -> R:
        with speaking(MAIL_LANGUAGE):
            return build(*args, **kwargs)

    return speaking_the_holders_language


def new_message(to: str, subject: str, body: str, mail_from: str | None = None) -> EmailMessage:
    """A plain-text message; the sender is `mail_from` or the configured one (batch jobs pass
    it, as reading the settings for every message of a run costs more than building it)."""
    message = EmailMessage()
    message["From"] = mail_from or load_settings().mail_from
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="pec-tui.local")
    message.set_content(body)
    return message


# Up to this many lines an e-mail lists each mailbox; a longer order is summed up by item.
ITEMISED_LINES = 30


def order_lines_text(quote: Quote) -> str:
    if len(quote.lines) > ITEMISED_LINES:
        return _summary_lines_text(quote)
    rows = []
    for line in quote.lines:
        target = f"{line.address} — " if line.address else ""
        rows.append(
            f"  {target}{line_description(line)} × {line.quantity} × "
            + ngettext("{years} year", "{years} years", line.years).format(years=line.years)
            + f": {format_money(line.total)}"
        )
    return "\n".join(rows)


def _summary_lines_text(quote: Quote) -> str:
    """One line per item, price and duration, with how many mailboxes it covers."""
    # Grouped by item first (an order may hold tens of thousands of lines).
    by_item: dict[tuple[PriceItem, int, Decimal], int] = {}
    addresses = set()
    for line in quote.lines:
        key = (line.item, line.years, line.unit)
        by_item[key] = line.quantity + by_item.get(key, 0)
        if line.address:
            addresses.add(line.address)
    return _summed_lines_text(
        [(item, years, unit, count) for (item, years, unit), count in by_item.items()],
        len(addresses),
    )


def summary_lines_text(summary: LinesSummary) -> str:
    """`order_lines_text` of a long order from its lines summed up (`LinesSummary`)."""
    return _summed_lines_text(
        [
            (PriceItem(group.item), group.years, from_cents(group.unit_cents), group.quantity)
            for group in summary.by_item
        ],
        summary.mailboxes,
    )


def _summed_lines_text(
    by_item: Sequence[tuple[PriceItem, int, Decimal, int]], mailboxes: int
) -> str:
    """The rows of an order summed up by (item, years, unit price) with their quantities, in
    price-list order; items sharing a description are printed as one row."""
    groups: dict[tuple[str, int, Decimal], tuple[int, Decimal]] = {}
    for item, years, unit, count in sorted(by_item, key=lambda g: (g[0].position, g[1], g[2])):
        row = (item_description(item), years, unit)
        quantity, total = groups.get(row, (0, Decimal(0)))
        groups[row] = (quantity + count, total + unit * count * years)
    rows = [
        ngettext(
            "{count} mailbox; the order lists each of them.",
            "{count} mailboxes; the order lists each of them.",
            mailboxes,
        ).format(count=format_number(mailboxes))
    ]
    for (description, years, _unit), (quantity, total) in groups.items():
        rows.append(
            f"  {description} × {format_number(quantity)} × "
            + ngettext("{years} year", "{years} years", years).format(years=years)
            + f": {format_money(total)}"
        )
    return "\n".join(rows)


def totals_text(net_cents: int, vat_cents: int, gross_cents: int) -> str:
    return "\n".join(
        (
            _("Total: {amount} + VAT").format(amount=format_money(from_cents(net_cents))),
            _("VAT 22%: {amount}").format(amount=format_money(from_cents(vat_cents))),
            _("Total incl. VAT: {amount}").format(amount=format_money(from_cents(gross_cents))),
        )
    )


def queue_order_confirmation(
    session: Session,
    order: Order,
    quote: Quote,
    name: str,
    email_to: str,
    instructions: str,
    mail_from: str | None = None,
    auto_renewal: DraftItem | None = None,
) -> OutboxMessage | None:
    """The Conferma ordine e-mail of `order`, to `name` at `email_to`.

    Every order gets the same e-mail; one the automatic renewal of `auto_renewal` placed
    says so, and what happens to the mailbox if it stays unpaid."""
    if not email_to:
        return None
    subject, body = order_confirmation_text(order, quote, name, instructions, auto_renewal)
    return outbox.enqueue(
        session,
        new_message(email_to, subject, body, mail_from),
        "order_confirmation",
        order.id,
    )


class ConfirmedFigures(Protocol):
    """What the Conferma ordine e-mail prints of its order (an `Order` row has them)."""

    @property
    def number(self) -> int | None: ...
    @property
    def type(self) -> str: ...
    @property
    def confirmed_at(self) -> datetime | None: ...
    @property
    def net_cents(self) -> int: ...
    @property
    def vat_cents(self) -> int: ...
    @property
    def gross_cents(self) -> int: ...


@in_mail_language
def order_confirmation_text(
    order: ConfirmedFigures,
    quote: Quote,
    name: str,
    instructions: str,
    auto_renewal: DraftItem | None = None,
) -> tuple[str, str]:
    """(subject, body) of `order`'s Conferma ordine e-mail (`queue_order_confirmation`; the
    lifecycle job renders many at once)."""
    subject = _("Order confirmation no. {number}").format(number=order.number)
    parts = [_("Dear {name},").format(name=name)]
    confirmed_on = (order.confirmed_at or utcnow()).date()
    if auto_renewal is not None and auto_renewal.expiry is not None:
        parts.append(
            _(
                "the PEC mailbox {address} expires on {date}. Its automatic renewal created "
                "order no. {number}, which could not be paid automatically."
            ).format(
                address=auto_renewal.address,
                date=format_date(auto_renewal.expiry),
                number=order.number,
            )
        )
    else:
        parts.append(
            _("we have received your order no. {number} of {date}.").format(
                number=order.number, date=format_date(confirmed_on)
            )
        )
    parts += [
        order_lines_text(quote),
        totals_text(order.net_cents, order.vat_cents, order.gross_cents),
        instructions,
        _("The purchase is complete only once the payment has been registered.")
        if order.type == OrderType.PURCHASE.value
        else _("The renewal is complete only once the payment has been registered."),
    ]
    if auto_renewal is not None and auto_renewal.expiry is not None:
        parts.append(_state_footer(auto_renewal.expiry))
    return subject, "\n\n".join(parts)


# --- after the order: payment, reminders, lifecycle notices ------------------------------


def quote_of_lines(lines: Sequence[OrderLine | LineFacts], vat_rate: Decimal = VAT_RATE) -> Quote:
    """The stored lines of an order as a Quote, to print them the way the confirmation did."""
    # Items and prices repeat over the lines of a long order: converted once each.
    items: dict[str, PriceItem] = {}
    units: dict[int, Decimal] = {}
    quote_lines = []
    for line in lines:
        item = items.get(line.item) or items.setdefault(line.item, PriceItem(line.item))
        unit = units.get(line.unit_cents)
        if unit is None:
            unit = units[line.unit_cents] = from_cents(line.unit_cents)
        quote_lines.append(
            QuoteLine(item, unit, line.quantity, line.years, line.address, line.mailbox_id)
        )
    return Quote(tuple(quote_lines), vat_rate)


def order_recipient(session: Session, order: Order) -> tuple[str, str]:
    """(name, e-mail address) of whom an order's messages go to: its holder, else its reseller."""
    snapshot = order.holder_snapshot or {}
    if order.holder_id is not None:
        holder = session.get(Holder, order.holder_id)
        if holder is not None:
            return holder.display_name, holder.reference_email
    reseller = session.get(Reseller, order.reseller_id) if order.reseller_id else None
    name = snapshot.get("billed_to") or (reseller.name if reseller else "")
    return name, (reseller.email if reseller and reseller.email else "")


def _lines_text(lines: Sequence[OrderLine | LineFacts] | LinesSummary) -> str:
    if isinstance(lines, LinesSummary):
        # Summed up only beyond what an e-mail itemises.
        assert lines.lines > ITEMISED_LINES
        return summary_lines_text(lines)
    return order_lines_text(quote_of_lines(lines))


def _state_footer(expiry: date) -> str:
    return _(
        "After the expiry date the mailbox is suspended for 90 days (readable, but it cannot "
        "send or receive) and on {date} it is cancelled."
    ).format(date=format_date(cancelled_from(expiry)))


def _new_expiries_text(renewed: Sequence[tuple[str, date]]) -> str:
    """Each mailbox's new expiry, or for a long order how many mailboxes expire on each day."""
    if len(renewed) <= ITEMISED_LINES:
        return "\n".join(f"  {address}: {format_date(expiry)}" for address, expiry in renewed)
    per_day = Counter(expiry for _address, expiry in renewed)
    return "\n".join(
        "  "
        + ngettext("{date}: {count} mailbox", "{date}: {count} mailboxes", count).format(
            date=format_date(day), count=format_number(count)
        )
        for day, count in sorted(per_day.items())
    )


@in_mail_language
def queue_renewal_completed(
    session: Session,
    order: Order,
    lines: Sequence[OrderLine | LineFacts] | LinesSummary,
    renewed: Sequence[tuple[str, date]],
    paid_on: date,
    mail_from: str | None = None,
    attachment: tuple[str, bytes] | None = None,
) -> OutboxMessage | None:
    """The Rinnovo completato e-mail: payment registered, new expiry of every mailbox; with
    the invoice's XML as `attachment` (file name, bytes), the courtesy copy. The lines of a
    long order may come summed up (`LinesSummary`)."""
    name, email_to = order_recipient(session, order)
    if not email_to:
        return None
    purchase = order.type == OrderType.PURCHASE.value
    subject = (
        _("Purchase completed: order no. {number}")
        if purchase
        else _("Renewal completed: order no. {number}")
    ).format(number=order.number)
    parts = [
        _("Dear {name},").format(name=name),
        (
            _(
                "the payment of {amount} for order no. {number} was registered on {date}: "
                "the purchase is complete and the mailbox is active."
            )
            if purchase
            else _(
                "the payment of {amount} for order no. {number} was registered on {date}: "
                "the renewal is complete."
            )
        ).format(
            amount=format_money(from_cents(order.gross_cents)),
            number=order.number,
            date=format_date(paid_on),
        ),
        _lines_text(lines),
        totals_text(order.net_cents, order.vat_cents, order.gross_cents),
        _("New expiry dates:") + "\n" + _new_expiries_text(renewed),
    ]
    if order.auto_renew:
        parts.append(
            _(
                "Automatic renewal is on: an order for {years} year(s) will be created 7 days "
                "before the next expiry."
            ).format(years=order.years)
        )
    if attachment is not None:
        parts.append(
            _(
                "Attached is the courtesy copy of the electronic invoice {file}; the invoice "
                "itself reaches you through the Sistema di Interscambio."
            ).format(file=attachment[0])
        )
    rendered = render_plain(
        email_to,
        subject,
        "\n\n".join(parts),
        mail_from or load_settings().mail_from,
        attachment=attachment,
    )
    return outbox.enqueue_rendered(session, rendered, "renewal_completed", order.id)


# --- lifecycle notices: their words, then the e-mail -------------------------------------
# The text builders below are called in the mail language (`speaking(MAIL_LANGUAGE)`); the
# lifecycle job renders its batches with them and `mail_render`, the `queue_*` functions
# build one message at a time (`format_date` formats each date once per language).


def expiry_reminder_text(
    *,
    address: str,
    name: str,
    expiry: date,
    today: date,
    yearly_price: Decimal,
    open_order: tuple[int, str] | None = None,
) -> tuple[str, str]:
    """(subject, body) of the reminder that `address` expires soon."""
    days = (expiry - today).days
    subject = _("Your PEC mailbox {address} expires on {date}").format(
        address=address, date=format_date(expiry)
    )
    parts = [
        _("Dear {name},").format(name=name),
        ngettext(
            "your PEC mailbox {address} expires on {date}, in {days} day.",
            "your PEC mailbox {address} expires on {date}, in {days} days.",
            days,
        ).format(address=address, date=format_date(expiry), days=days),
    ]
    if open_order is not None:
        number, instructions = open_order
        parts.append(
            _("Order no. {number} for its renewal is awaiting payment.").format(number=number)
        )
        parts.append(instructions)
    else:
        parts.append(
            _(
                "Renew it from the customer area (Rinnova caselle) or through your reseller: "
                "{amount} + VAT per year."
            ).format(amount=format_money(yearly_price))
        )
    parts.append(
        _(
            "After the expiry date the mailbox is suspended for 90 days (readable, but it cannot "
            "send or receive) and on {date} it is cancelled."
        ).format(date=format_date(cancelled_from(expiry)))
    )
    return subject, "\n\n".join(parts)


def suspended_notice_text(*, address: str, name: str, expiry: date) -> tuple[str, str]:
    """(subject, body) of the notice that the mailbox expired unrenewed and is Sospesa."""
    last_day = cancelled_from(expiry) - timedelta(days=1)
    subject = _("Your PEC mailbox {address} is suspended").format(address=address)
    body = "\n\n".join(
        (
            _("Dear {name},").format(name=name),
            _(
                "your PEC mailbox {address} expired on {date} without being renewed and is now "
                "suspended: you can still read it, but it cannot send or receive messages."
            ).format(address=address, date=format_date(expiry)),
            _(
                "Renew it by {last_day} to reactivate it; on {date} it will be cancelled and "
                "only a new purchase will be possible."
            ).format(last_day=format_date(last_day), date=format_date(cancelled_from(expiry))),
        )
    )
    return subject, body


def cancelled_notice_text(*, address: str, name: str, expiry: date) -> tuple[str, str]:
    """(subject, body) of the notice that the mailbox stayed unrenewed 90 days past its
    expiry and is Cancellata."""
    subject = _("Your PEC mailbox {address} has been cancelled").format(address=address)
    body = "\n\n".join(
        (
            _("Dear {name},").format(name=name),
            _(
                "your PEC mailbox {address} expired on {expiry} and was not renewed within 90 "
                "days: it was cancelled on {date}."
            ).format(
                address=address,
                expiry=format_date(expiry),
                date=format_date(cancelled_from(expiry)),
            ),
            _(
                "The address can only be bought again with a new purchase, by the same holder "
                "(same codice fiscale or partita IVA)."
            ),
        )
    )
    return subject, body


@in_mail_language
def queue_expiry_reminder(
    session: Session,
    *,
    mailbox_id: int,
    address: str,
    name: str,
    email_to: str,
    expiry: date,
    today: date,
    yearly_price: Decimal,
    open_order: tuple[int, str] | None = None,
    mail_from: str | None = None,
) -> OutboxMessage:
    """A reminder that `address` expires soon; with the open order's instructions if any."""
    subject, body = expiry_reminder_text(
        address=address,
        name=name,
        expiry=expiry,
        today=today,
        yearly_price=yearly_price,
        open_order=open_order,
    )
    return outbox.enqueue(
        session,
        new_message(email_to, subject, body, mail_from),
        "expiry_reminder",
        None,
        mailbox_id,
    )


@in_mail_language
def queue_suspended_notice(
    session: Session,
    *,
    mailbox_id: int,
    address: str,
    name: str,
    email_to: str,
    expiry: date,
    mail_from: str | None = None,
) -> OutboxMessage:
    """The mailbox expired unrenewed and is now Sospesa."""
    subject, body = suspended_notice_text(address=address, name=name, expiry=expiry)
    return outbox.enqueue(
        session,
        new_message(email_to, subject, body, mail_from),
        "mailbox_suspended",
        None,
        mailbox_id,
    )


@in_mail_language
def queue_cancelled_notice(
    session: Session,
    *,
    mailbox_id: int,
    address: str,
    name: str,
    email_to: str,
    expiry: date,
    mail_from: str | None = None,
) -> OutboxMessage:
    """The mailbox stayed unrenewed 90 days past its expiry and is now Cancellata."""
    subject, body = cancelled_notice_text(address=address, name=name, expiry=expiry)
    return outbox.enqueue(
        session,
        new_message(email_to, subject, body, mail_from),
        "mailbox_cancelled",
        None,
        mailbox_id,
    )
