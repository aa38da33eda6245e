"""The e-mails the product sends, built with the standard library's `email` package."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from sqlmodel import Session

from pec_tui.config import load_settings
from pec_tui.db.models import Order
from pec_tui.domain.money import from_cents
from pec_tui.domain.pricing import Quote
from pec_tui.i18n import _, format_date, format_money
from pec_tui.services import outbox


def new_message(to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = load_settings().mail_from
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="pec-tui.local")
    message.set_content(body)
    return message


def order_lines_text(quote: Quote) -> str:
    from pec_tui.services.orders import line_description

    rows = []
    for line in quote.lines:
        target = f"{line.address} — " if line.address else ""
        rows.append(
            f"  {target}{line_description(line)} × {line.quantity} × "
            + _("{years} yr").format(years=line.years)
            + f": {format_money(line.total)}"
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
    session: Session, order: Order, quote: Quote, draft, email_to: str, instructions: str
) -> None:
    """The Conferma ordine e-mail to the holder's reference address."""
    subject = _("Order confirmation no. {number}").format(number=order.number)
    body = "\n\n".join(
        (
            _("Dear {name},").format(name=draft.billed_to),
            _("we have received your order no. {number} of {date}.").format(
                number=order.number, date=format_date(order.confirmed_at.date())
            ),
            order_lines_text(quote),
            totals_text(order.net_cents, order.vat_cents, order.gross_cents),
            instructions,
            _("The renewal is complete only once the payment has been registered."),
        )
    )
    outbox.enqueue(session, new_message(email_to, subject, body), "order_confirmation", order.id)
