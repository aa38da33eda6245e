"""A long order summed up by item in its e-mail, in price-list order (Conferma: see
`tests/ui/test_long_order_flow.py`)."""

from __future__ import annotations

from decimal import Decimal

from pec_tui.domain.enums import PriceItem
from pec_tui.domain.pricing import Quote, QuoteLine, item_description
from pec_tui.i18n import speaking
from pec_tui.services import notifications


def _long_quote() -> Quote:
    # The lines come as the mailboxes do: a PRO one first, then extra space, then STANDARD.
    lines = [QuoteLine(PriceItem.PRO, Decimal("25.00"), 1, 1, "a@pec.it")]
    lines += [QuoteLine(PriceItem.EXTRA_MAILBOX_GB, Decimal("3.00"), 2, 1, "a@pec.it")]
    lines += [
        QuoteLine(PriceItem.STANDARD, Decimal("9.90"), 1, 1, f"s{n}@pec.it") for n in range(40)
    ]
    lines += [QuoteLine(PriceItem.KIT_REMOTE, Decimal("39.90"), 1, 1)]
    lines += [QuoteLine(PriceItem.PREMIUM, Decimal("40.00"), 1, 1, "p@pec.it")]
    return Quote(tuple(lines), Decimal("0.22"))


def test_the_e_mail_sums_a_long_order_up_in_price_list_order():
    quote = _long_quote()
    assert len(quote.lines) > notifications.ITEMISED_LINES
    with speaking("en"):
        text = notifications.order_lines_text(quote)
    rows = [row.strip() for row in text.splitlines()[1:]]
    assert [row.split(" × ")[0] for row in rows] == [
        "PEC STANDARD",
        "PEC PRO",
        "PEC PREMIUM",
        item_description(PriceItem.EXTRA_MAILBOX_GB),
        item_description(PriceItem.KIT_REMOTE),
    ]
    assert rows[0].startswith("PEC STANDARD × 40 × 1 year")
