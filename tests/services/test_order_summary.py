"""A long order summed up by item in its e-mail, in price-list order (Conferma: see
`tests/ui/test_long_order_flow.py`)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from book_builder import add_holder, add_mailbox, confirm_renewal

from pec_tui.domain.enums import PriceItem
from pec_tui.domain.pricing import Quote, QuoteLine, group_lines, item_description
from pec_tui.i18n import speaking
from pec_tui.services import notifications
from pec_tui.services.actor import SYSTEM
from pec_tui.services.database import open_database
from pec_tui.services.order_queries import LINES_LISTED, get_order, order_lines


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


def test_a_stored_long_order_is_summed_up_in_the_database_as_conferma_sums_its_quote(db_url):
    """`get_order` without `all_lines`: the groups of one GROUP BY, equal to Conferma's of
    the same order, and no line read; `order_lines` and `all_lines` read every line."""
    engine = open_database(db_url)
    holder = add_holder(engine)
    ids = [
        add_mailbox(
            engine,
            holder,
            f"m{i:03d}@pec.it",
            date(2026, 12, 1) + timedelta(days=i % 9),
            plan=("PREMIUM", "STANDARD", "PRO")[i % 3],
        )
        for i in range(LINES_LISTED + 10)
    ]
    confirmed = confirm_renewal(engine, ids, date(2026, 11, 26))
    summed = get_order(engine, SYSTEM, confirmed.number, all_lines=False)
    assert summed.lines == () and summed.line_count == len(confirmed.quote.lines)
    assert list(summed.groups) == group_lines(confirmed.quote.lines)
    assert [g.description for g in summed.groups] == ["PEC STANDARD", "PEC PRO", "PEC PREMIUM"]
    assert sum(g.total for g in summed.groups) == confirmed.quote.net

    every = order_lines(engine, SYSTEM, confirmed.number)
    assert every == get_order(engine, SYSTEM, confirmed.number).lines
    assert [line.address for line in every] == [line.address for line in confirmed.quote.lines]
    assert sum(line.total for line in every) == confirmed.quote.net
