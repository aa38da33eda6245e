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


# --- a renewal's lines summed up for its payment (`summed_renewal_lines`) --------------------

_JAN, _FEB = date(2027, 1, 10), date(2027, 2, 20)


def _line(mailbox, address, item, description, unit, plan=None, quantity=1, years=1):
    return (mailbox, address, item, description, quantity, years, unit, unit * quantity, plan)


def _renewal_rows() -> list[tuple]:
    return [
        _line(1, "a@pec.it", "PRO", "PEC PRO", 2500, "PRO"),
        _line(1, "a@pec.it", "EXTRA_MAILBOX_GB", "GB aggiuntivi casella", 300, quantity=2),
        _line(2, "b@pec.it", "STANDARD", "PEC STANDARD", 990, "STANDARD"),
        _line(3, "c@pec.it", "STANDARD", "PEC STANDARD", 990, "STANDARD"),
        _line(4, "d@pec.it", "PRO", "PEC PRO", 2500, "PRO"),
    ]


def test_a_renewals_lines_are_summed_up_by_description_and_by_item():
    from pec_tui.services.order_lines import InvoiceGroup, ItemGroup, summed_renewal_lines

    old = {1: _JAN, 2: _FEB, 3: _FEB, 4: _JAN}
    summary = summed_renewal_lines(_renewal_rows(), old)
    assert summary is not None
    assert (summary.lines, summary.mailboxes) == (5, 4)
    # In the order of each group's first line; a period where all its mailboxes share one.
    assert summary.invoice == (
        InvoiceGroup("PEC PRO", 2500, 1, 2, 5000, 2, (_JAN, date(2028, 1, 10))),
        InvoiceGroup("GB aggiuntivi casella", 300, 1, 2, 600, 1, (_JAN, date(2028, 1, 10))),
        InvoiceGroup("PEC STANDARD", 990, 1, 2, 1980, 2, (_FEB, date(2028, 2, 20))),
    )
    assert summary.by_item == (
        ItemGroup("PRO", 1, 2500, 2),
        ItemGroup("EXTRA_MAILBOX_GB", 1, 300, 2),
        ItemGroup("STANDARD", 1, 990, 2),
    )
    # Mailboxes of one group with different old expiries: no single period to print.
    mixed = summed_renewal_lines(_renewal_rows(), {**old, 4: _FEB})
    assert mixed is not None and mixed.invoice[0].period is None


def test_a_renewals_lines_are_read_one_by_one_when_they_cannot_be_summed_up():
    from pec_tui.services.order_lines import summed_renewal_lines

    old = {1: _JAN, 2: _FEB, 3: _FEB, 4: _JAN, 5: _JAN}
    rows = _renewal_rows()
    # A line of a mailbox with no plan line in the order.
    assert summed_renewal_lines([*rows, _line(5, "e@pec.it", "EXTRA", "GB", 300)], old) is None
    # A line of no mailbox (a kit).
    assert summed_renewal_lines([*rows, _line(None, None, "KIT", "Kit", 3990)], old) is None
    # Plan lines renewing for different years.
    longer = _line(5, "e@pec.it", "PRO", "PEC PRO", 2500, "PRO", years=2)
    assert summed_renewal_lines([*rows, longer], old) is None
    assert summed_renewal_lines([], old) is None
