"""The one place where order amounts are computed: lines, taxable total, VAT, gross."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import NamedTuple

from pec_tui.domain.enums import Plan, PriceItem, SignatureKit, label
from pec_tui.domain.money import round_cents, vat_of

DEFAULT_PRICES: dict[PriceItem, Decimal] = {
    PriceItem.STANDARD: Decimal("9.90"),
    PriceItem.PRO: Decimal("25.00"),
    PriceItem.PREMIUM: Decimal("40.00"),
    PriceItem.EXTRA_MAILBOX_GB: Decimal("3.00"),
    PriceItem.EXTRA_ARCHIVE_GB: Decimal("3.00"),
    PriceItem.KIT_SMART_CARD: Decimal("59.90"),
    PriceItem.KIT_USB_TOKEN: Decimal("69.90"),
    PriceItem.KIT_REMOTE: Decimal("39.90"),
}

# Plans and extra space are priced per year; signature kits once.
YEARLY_ITEMS = frozenset(
    {
        PriceItem.STANDARD,
        PriceItem.PRO,
        PriceItem.PREMIUM,
        PriceItem.EXTRA_MAILBOX_GB,
        PriceItem.EXTRA_ARCHIVE_GB,
    }
)


@dataclass(frozen=True)
class PriceList:
    prices: Mapping[PriceItem, Decimal] = field(default_factory=lambda: dict(DEFAULT_PRICES))

    def __post_init__(self) -> None:
        for item, amount in self.prices.items():
            if not isinstance(amount, Decimal):
                raise TypeError(f"price of {item} must be a Decimal")
            if amount < 0:
                raise ValueError(f"price of {item} cannot be negative")

    def __getitem__(self, item: PriceItem) -> Decimal:
        return self.prices.get(item, DEFAULT_PRICES[item])

    def yearly_price(
        self, plan: Plan, extra_mailbox_gb: int = 0, extra_archive_gb: int = 0
    ) -> Decimal:
        """A plan's price per year with its extra GB: what a plan card shows."""
        return (
            self[PriceItem.for_plan(plan)]
            + self[PriceItem.EXTRA_MAILBOX_GB] * extra_mailbox_gb
            + self[PriceItem.EXTRA_ARCHIVE_GB] * extra_archive_gb
        )


class MailboxChoice(NamedTuple):
    """What one mailbox of the order becomes: plan and extra GB (a tuple: an order may have
    tens of thousands, made far quicker than frozen dataclasses)."""

    address: str
    plan: Plan
    extra_mailbox_gb: int = 0
    extra_archive_gb: int = 0
    mailbox_id: int | None = None
    previous_plan: Plan | None = None


class QuoteLine(NamedTuple):
    """One priced line of an order (a tuple, as `MailboxChoice`)."""

    item: PriceItem
    unit: Decimal
    quantity: int
    years: int
    address: str | None = None
    mailbox_id: int | None = None

    @property
    def total(self) -> Decimal:
        return self.unit * self.quantity * self.years


@dataclass(frozen=True)
class Quote:
    lines: tuple[QuoteLine, ...]
    vat_rate: Decimal

    @cached_property
    def net(self) -> Decimal:
        # Worked out once: a quote may have tens of thousands of lines, and it is immutable.
        return round_cents(sum((line.total for line in self.lines), Decimal("0")))

    @property
    def totals(self) -> Totals:
        return Totals(self.net, self.vat_rate)

    @property
    def vat(self) -> Decimal:
        return self.totals.vat

    @property
    def gross(self) -> Decimal:
        return self.totals.gross


def quote(
    prices: PriceList,
    choices: Sequence[MailboxChoice],
    years: int,
    kit: SignatureKit | None = None,
    vat_rate: Decimal = Decimal("0.22"),
) -> Quote:
    """Price an order: per mailbox its plan and extra GB for `years`, plus an optional kit."""
    if years < 1:
        raise ValueError("years must be at least 1")
    lines: list[QuoteLine] = []
    append = lines.append
    # Each plan's item and price, and the extra GB's, looked up once for every mailbox.
    plan_prices = {
        plan: (PriceItem.for_plan(plan), prices[PriceItem.for_plan(plan)]) for plan in Plan
    }
    mailbox_gb, mailbox_gb_unit = PriceItem.EXTRA_MAILBOX_GB, prices[PriceItem.EXTRA_MAILBOX_GB]
    archive_gb, archive_gb_unit = PriceItem.EXTRA_ARCHIVE_GB, prices[PriceItem.EXTRA_ARCHIVE_GB]
    for choice in choices:
        plan_item, unit = plan_prices[choice.plan]
        append(QuoteLine(plan_item, unit, 1, years, choice.address, choice.mailbox_id))
        if choice.extra_mailbox_gb:
            append(
                QuoteLine(
                    mailbox_gb,
                    mailbox_gb_unit,
                    choice.extra_mailbox_gb,
                    years,
                    choice.address,
                    choice.mailbox_id,
                )
            )
        if choice.extra_archive_gb:
            append(
                QuoteLine(
                    archive_gb,
                    archive_gb_unit,
                    choice.extra_archive_gb,
                    years,
                    choice.address,
                    choice.mailbox_id,
                )
            )
    if kit is not None:
        kit_item = PriceItem.for_kit(kit)
        lines.append(QuoteLine(kit_item, prices[kit_item], 1, 1))
    return Quote(tuple(lines), vat_rate)


def item_description(item: PriceItem) -> str:
    """`PEC PRO` for a plan, the item's label in the UI language for the rest."""
    return label(item) if item.value not in Plan.__members__ else f"PEC {item.value}"


def stored_line_description(item: str, stored: str) -> str:
    """What a stored order line is called on screen: its item's label in the UI language
    (orders placed before the kits had labels stored the raw code), else as stored."""
    try:
        return item_description(PriceItem(item))
    except ValueError:
        return stored


def price_list_position(item: str) -> int:
    """Where `item` stands on the price list (plans, extra space, kits); an item no longer
    on it comes after the others."""
    try:
        return PriceItem(item).position
    except ValueError:
        return len(PriceItem)


@dataclass(frozen=True)
class LineGroup:
    """The lines of one item at one price and term: e.g. 58,000 renewals as PEC STANDARD."""

    description: str
    lines: int
    quantity: int
    years: int
    unit: Decimal
    total: Decimal


def group_lines(lines: Sequence[QuoteLine]) -> list[LineGroup]:
    """The lines summed up by item, unit price and years, in price-list order."""
    groups: dict[tuple[PriceItem, Decimal, int], list[Decimal | int]] = {}
    for line in lines:
        key = (line.item, line.unit, line.years)
        group = groups.get(key)
        if group is None:
            groups[key] = [1, line.quantity, line.total]
        else:
            group[0] += 1
            group[1] += line.quantity
            group[2] += line.total
    return [
        LineGroup(item_description(item), int(count), int(quantity), years, unit, Decimal(total))
        for (item, unit, years), (count, quantity, total) in sorted(
            groups.items(), key=lambda group: (group[0][0].position, group[0][2], group[0][1])
        )
    ]


# What prices one mailbox: its plan and its extra GB of mailbox and of archive.
ChoiceKey = tuple[Plan, int, int]


def choice_key(choice: MailboxChoice) -> ChoiceKey:
    return choice.plan, choice.extra_mailbox_gb, choice.extra_archive_gb


def count_choices(keys: Iterable[ChoiceKey]) -> Counter[ChoiceKey]:
    return Counter(keys)


@dataclass(frozen=True)
class Totals:
    """An order's amounts without its lines: what the steps of the flow show."""

    net: Decimal
    vat_rate: Decimal

    @property
    def vat(self) -> Decimal:
        return vat_of(self.net, self.vat_rate)

    @property
    def gross(self) -> Decimal:
        return self.net + self.vat


def quote_totals(
    prices: PriceList,
    counts: Mapping[ChoiceKey, int],
    years: int,
    kit: SignatureKit | None = None,
    vat_rate: Decimal = Decimal("0.22"),
) -> Totals:
    """The totals `quote` gives for mailboxes counted by choice (`count_choices`), to the cent:
    the same exact sums, grouped, so their cost follows the number of distinct choices."""
    if years < 1:
        raise ValueError("years must be at least 1")
    net = Decimal("0")
    for (plan, mailbox_gb, archive_gb), count in counts.items():
        if count:
            net += prices.yearly_price(plan, mailbox_gb, archive_gb) * count * years
    if kit is not None:
        net += prices[PriceItem.for_kit(kit)]
    return Totals(round_cents(net), vat_rate)
