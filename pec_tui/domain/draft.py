"""An order being put together: the draft a renewal or a purchase is until CONFERMA.

The draft is plain data: the mailboxes (items) with their chosen plans, the signature kit,
the holder, the payment choices, the consents and the step reached. Its JSON form is what
the `orders.draft_state` column keeps, so a terminal that crashes finds the draft again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, make_dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pec_tui.domain import validation
from pec_tui.domain.enums import HolderKind, OrderType, PaymentMethod, Plan, SignatureKit
from pec_tui.domain.holder import HolderData, validate_holder
from pec_tui.domain.plan_change import ChangeLimits, PlanChange, change_limits, evaluate_plan_change
from pec_tui.domain.pricing import (
    ChoiceKey,
    MailboxChoice,
    PriceList,
    Quote,
    Totals,
    count_choices,
    quote,
    quote_totals,
)
from pec_tui.domain.validation import MAX_PROMO_YEARS, MAX_YEARS, ValidationError
from pec_tui.i18n import N_, _


class RenewalRefused(Exception):
    """The order cannot go on; `message` tells the user why, in the UI language."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PurchaseRefused(RenewalRefused):
    """The purchase cannot be placed or completed; `message` says why."""


class Step(StrEnum):
    PLAN = "plan"
    KIT = "kit"
    HOLDER = "holder"
    ORDER_FORM = "order_form"
    CONTRACT = "contract"
    DONE = "done"


# The steps a person walks through before the order exists (Conferma follows confirmation).
STEPS: tuple[Step, ...] = (Step.PLAN, Step.KIT, Step.HOLDER, Step.ORDER_FORM, Step.CONTRACT)


def default_years(renewal_years: int, promo: bool) -> int:
    """A mailbox's stored renewal frequency, kept within what its offer allows."""
    return max(1, min(renewal_years, MAX_PROMO_YEARS if promo else MAX_YEARS))


# ("reseller", id) or ("holder", id): who one order of a split draft is for.
OrderKey = tuple[str, int]


def order_key_rank(key: OrderKey) -> tuple[bool, int]:
    """Resellers' orders first, then direct customers', each by id."""
    return key[0] != "reseller", key[1]


@dataclass(frozen=True, slots=True)
class DraftItem:
    """One mailbox of the draft: what it is now and what it becomes once the order is paid.

    A purchase of a new address has no mailbox yet (`mailbox_id`, `expiry` and `current_plan`
    are None); buying back a cancelled address names the mailbox it reactivates.
    """

    mailbox_id: int | None
    address: str
    expiry: date | None
    promo: bool
    current_plan: Plan | None
    current_extra_mailbox_gb: int
    current_extra_archive_gb: int
    mailbox_used_mb: int
    archive_used_mb: int
    plan: Plan
    extra_mailbox_gb: int
    extra_archive_gb: int
    archive_deletion_confirmed: bool = False
    # Whose mailbox it is: a renewal across resellers becomes one order per reseller.
    holder_id: int | None = None
    reseller_id: int | None = None

    @property
    def order_key(self) -> OrderKey:
        """The order this item belongs to when the draft is split: its reseller's, or, for a
        direct customer of the provider, its holder's."""
        if self.reseller_id is not None:
            return ("reseller", self.reseller_id)
        return ("holder", self.holder_id or 0)

    @property
    def is_new(self) -> bool:
        return self.current_plan is None

    def change(self) -> PlanChange:
        return evaluate_plan_change(
            self.current_plan or self.plan,
            self.plan,
            self.mailbox_used_mb,
            self.archive_used_mb,
            self.extra_mailbox_gb,
            self.extra_archive_gb,
        )

    @property
    def choice_key(self) -> ChoiceKey:
        return self.plan, self.extra_mailbox_gb, self.extra_archive_gb

    def choice(self) -> MailboxChoice:
        return MailboxChoice(
            self.address,
            self.plan,
            self.extra_mailbox_gb,
            self.extra_archive_gb,
            self.mailbox_id,
            self.current_plan,
        )


# `DraftItem(...)` for the tens of thousands of items of a bulk renewal. A frozen dataclass's
# `__init__` sets each field through `object.__setattr__`, ~6x slower than a plain slotted
# class's; so the item is made as a plain twin with the very same slots, then given
# `DraftItem` as its class (the layouts are the same, so Python allows it). What comes out is
# a DraftItem in every respect: its type, equality, hash, repr, and frozen from then on.
_DraftItemTwin = make_dataclass(
    "_DraftItemTwin",
    [(f.name, f.type, field(default=f.default)) for f in fields(DraftItem)],
    slots=True,
)
assert getattr(_DraftItemTwin, "__slots__") == DraftItem.__slots__  # noqa: B009


def new_item(
    mailbox_id: int | None,
    address: str,
    expiry: date | None,
    promo: bool,
    current_plan: Plan | None,
    current_extra_mailbox_gb: int,
    current_extra_archive_gb: int,
    mailbox_used_mb: int,
    archive_used_mb: int,
    plan: Plan,
    extra_mailbox_gb: int,
    extra_archive_gb: int,
    archive_deletion_confirmed: bool = False,
    holder_id: int | None = None,
    reseller_id: int | None = None,
) -> DraftItem:
    """`DraftItem(...)` with the same arguments, made ~5x quicker (see `_DraftItemTwin`)."""
    item = _DraftItemTwin(
        mailbox_id,
        address,
        expiry,
        promo,
        current_plan,
        current_extra_mailbox_gb,
        current_extra_archive_gb,
        mailbox_used_mb,
        archive_used_mb,
        plan,
        extra_mailbox_gb,
        extra_archive_gb,
        archive_deletion_confirmed,
        holder_id,
        reseller_id,
    )
    item.__class__ = DraftItem
    return item  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Consents:
    terms: bool = False
    clauses: bool = False
    privacy: bool = False

    @property
    def complete(self) -> bool:
        return self.terms and self.clauses and self.privacy


@dataclass(frozen=True)
class Draft:
    order_id: int
    step: Step
    items: tuple[DraftItem, ...]
    kit: SignatureKit | None
    # None when the mailboxes belong to several holders: the reseller is billed.
    holder: HolderData | None
    billed_to: str
    payment_method: PaymentMethod | None
    auto_renew: bool
    years: int
    consents: Consents = field(default_factory=Consents)
    order_type: OrderType = OrderType.RENEWAL

    @property
    def promo(self) -> bool:
        return _CHOICE_COUNTS.promo(self.items)

    @property
    def max_years(self) -> int:
        return MAX_PROMO_YEARS if self.promo else MAX_YEARS

    @property
    def is_purchase(self) -> bool:
        return self.order_type is OrderType.PURCHASE

    def order_groups(self) -> dict[OrderKey, tuple[DraftItem, ...]]:
        """The items of each order the draft becomes, in a stable order: one order per
        reseller, and one per holder who is a direct customer."""
        groups: dict[OrderKey, list[DraftItem]] = {}
        for item in self.items:
            groups.setdefault(item.order_key, []).append(item)
        return {key: tuple(groups[key]) for key in sorted(groups, key=order_key_rank)}

    @property
    def order_count(self) -> int:
        return len({item.order_key for item in self.items})

    def choices(self) -> list[MailboxChoice]:
        return [item.choice() for item in self.items]

    def quote(self, prices: PriceList) -> Quote:
        """Every line of the order (what placing it writes)."""
        return quote(prices, self.choices(), self.years, self.kit)

    def choice_counts(self) -> Counter[ChoiceKey]:
        """How many mailboxes take each plan and extra GB: counted once per set of items."""
        return _CHOICE_COUNTS.counts(self.items)

    def totals(self, prices: PriceList) -> Totals:
        """The order's totals, as `quote` gives them, without building its lines."""
        return quote_totals(prices, self.choice_counts(), self.years, self.kit)


class _ChoiceCountsCache:
    """The choice counts (and whether any is on promotion) of the last few item tuples, by
    identity.

    The steps of the flow pass the same tuple of items along (`replace(draft, step=...)`), so
    the totals of a 60,000-mailbox draft are counted once; the plan picker, which changes one
    item at a time, hands the updated counts over with `remember`.
    """

    SIZE = 8

    def __init__(self) -> None:
        # id(items) -> (items, counts); the tuple is kept so that its id is not reused.
        self._entries: dict[int, tuple[tuple[DraftItem, ...], Counter[ChoiceKey]]] = {}
        self._promo: dict[int, tuple[tuple[DraftItem, ...], bool]] = {}

    def counts(self, items: tuple[DraftItem, ...]) -> Counter[ChoiceKey]:
        entry = self._entries.get(id(items))
        if entry is not None and entry[0] is items:
            return entry[1]
        counts = count_choices(item.choice_key for item in items)
        self.remember(items, counts)
        return counts

    def promo(self, items: tuple[DraftItem, ...]) -> bool:
        """Whether any of `items` is on a promotional offer (asked at every step)."""
        entry = self._promo.get(id(items))
        if entry is not None and entry[0] is items:
            return entry[1]
        promo = any(item.promo for item in items)
        if len(self._promo) >= self.SIZE:
            del self._promo[next(iter(self._promo))]
        self._promo[id(items)] = (items, promo)
        return promo

    def remember(self, items: tuple[DraftItem, ...], counts: Counter[ChoiceKey]) -> None:
        self._entries.pop(id(items), None)
        self._entries[id(items)] = (items, counts)
        while len(self._entries) > self.SIZE:
            del self._entries[next(iter(self._entries))]


_CHOICE_COUNTS = _ChoiceCountsCache()


def replace_item(
    items: tuple[DraftItem, ...], index: int, item: DraftItem
) -> tuple[DraftItem, ...]:
    """`items` with the one at `index` replaced; its choice counts updated by difference."""
    old = items[index]
    changed = items[:index] + (item,) + items[index + 1 :]
    entry = _CHOICE_COUNTS._entries.get(id(items))
    if entry is not None and entry[0] is items:
        counts = Counter(entry[1])
        counts[old.choice_key] -= 1
        counts[item.choice_key] += 1
        _CHOICE_COUNTS.remember(changed, +counts)
    return changed


@dataclass(frozen=True)
class DraftSummary:
    order_id: int
    billed_to: str
    addresses: tuple[str, ...]
    step: Step
    updated_at: datetime
    terminal: str | None = None
    order_type: OrderType = OrderType.RENEWAL
    mailbox_count: int = 0


# --- problems --------------------------------------------------------------------------------


# Per kind of change (current plan, chosen plan, extra GB): the extra-GB check's refusal, if
# any, and the limits the mailbox's usage must fit.
_ChangeCheck = tuple[str | None, ChangeLimits]


def _change_check(item: DraftItem) -> _ChangeCheck:
    try:
        validation.check_extra_gb(item.plan, item.extra_mailbox_gb, item.extra_archive_gb)
    except ValidationError as exc:
        return exc.message, change_limits(item.plan, item.plan)
    limits = change_limits(
        item.current_plan or item.plan, item.plan, item.extra_mailbox_gb, item.extra_archive_gb
    )
    return None, limits


def item_problems(draft: Draft) -> dict[str, str]:
    """Address -> why its chosen plan cannot be ordered as it stands.

    Mailboxes making the same change share its checks (worked out once for tens of thousands);
    only a refused one is evaluated in full, for the reason to give."""
    problems: dict[str, str] = {}
    checks: dict[tuple[Plan | None, Plan, int, int], _ChangeCheck] = {}
    for item in draft.items:
        mailbox_gb, archive_gb = item.extra_mailbox_gb, item.extra_archive_gb
        if type(mailbox_gb) is int and type(archive_gb) is int:
            key = (item.current_plan, item.plan, mailbox_gb, archive_gb)
            check = checks.get(key)
            if check is None:
                check = checks[key] = _change_check(item)
        else:  # not a whole number (a crafted draft): refused, never shared with 1 or 0
            check = _change_check(item)
        refusal, limits = check
        if refusal is not None:
            problems[item.address] = refusal
        elif not limits.fits(item.mailbox_used_mb, item.archive_used_mb):
            problems[item.address] = item.change().reason or ""
        elif limits.deletes_archive and not item.archive_deletion_confirmed:
            problems[item.address] = _(
                "Changing to STANDARD deletes every archived message: confirm it explicitly."
            )
    return problems


CONSENTS_MISSING = N_(
    "The general conditions, the unfair-terms clauses and the privacy notice must each be accepted."
)


def draft_problems(draft: Draft, check_holder: bool = True) -> list[str]:
    """Everything that stops the draft from becoming an order, one sentence each.

    `check_holder` False leaves the holder data out (an automatic renewal orders for the
    holder as stored)."""
    per_item = item_problems(draft)
    problems = [f"{i.address}: {per_item[i.address]}" for i in draft.items if i.address in per_item]
    if draft.is_purchase:
        for item in draft.items:
            try:
                validation.check_pec_address(item.address)
            except ValidationError as exc:
                problems.append(exc.message)
    try:
        validation.check_years(draft.years, draft.promo)
    except ValidationError as exc:
        problems.append(exc.message)
    if draft.payment_method is None:
        problems.append(_("Choose a payment method."))
    if draft.holder is not None and check_holder:
        problems.extend(validate_holder(draft.holder).values())
    if not draft.consents.complete:
        problems.append(_(CONSENTS_MISSING))
    if draft.kit is not None and draft.order_count > 1:
        problems.append(
            _(
                "A digital-signature kit goes with one order: this renewal makes {count} "
                "orders (one per reseller). Choose no kit, or renew one reseller's mailboxes."
            ).format(count=draft.order_count)
        )
    return problems


# --- JSON (the draft_state column) -----------------------------------------------------------
#
# A renewal draft may hold tens of thousands of mailboxes and is saved at every step, so its
# JSON keeps what the person chose, not what the database already says: the mailbox ids, the
# choices that differ from each mailbox's current plan, and in full only the items that have
# no mailbox yet (a purchase). Reading it back takes the mailboxes as they are now
# (`ItemsById`). Version 1 (every item in full) is still read.

DRAFT_JSON_VERSION = 2
# The drafts list shows a few addresses of each draft without loading it.
PREVIEW_ADDRESSES = 3
_CHOICE_FIELDS = ("plan", "extra_mailbox_gb", "extra_archive_gb", "archive_deletion_confirmed")

ItemsById = Callable[[Sequence[int]], Mapping[int, DraftItem]]


def _item_json(item: DraftItem) -> dict[str, Any]:
    data = {f.name: getattr(item, f.name) for f in fields(DraftItem)}
    data["expiry"] = item.expiry.isoformat() if item.expiry else None
    data["current_plan"] = item.current_plan.value if item.current_plan else None
    data["plan"] = item.plan.value
    return data


def _item_from_json(item: Mapping[str, Any]) -> DraftItem:
    return DraftItem(
        **{
            **item,
            "expiry": date.fromisoformat(item["expiry"]) if item.get("expiry") else None,
            "current_plan": Plan(item["current_plan"]) if item.get("current_plan") else None,
            "plan": Plan(item["plan"]),
        }
    )


def _choice_changes(item: DraftItem) -> dict[str, Any] | None:
    """What the person changed on a mailbox, or None when it renews as it is."""
    if (
        item.plan is item.current_plan
        and item.extra_mailbox_gb == item.current_extra_mailbox_gb
        and item.extra_archive_gb == item.current_extra_archive_gb
        and not item.archive_deletion_confirmed
    ):
        return None
    return {
        "plan": item.plan.value,
        "extra_mailbox_gb": item.extra_mailbox_gb,
        "extra_archive_gb": item.extra_archive_gb,
        "archive_deletion_confirmed": item.archive_deletion_confirmed,
    }


def draft_to_json(draft: Draft) -> dict[str, Any]:
    mailboxes: list[int] = []
    changes: dict[str, dict[str, Any]] = {}
    new: list[dict[str, Any]] = []
    for item in draft.items:
        if item.mailbox_id is None or item.is_new:
            new.append(_item_json(item))
            continue
        mailboxes.append(item.mailbox_id)
        changed = _choice_changes(item)
        if changed is not None:
            changes[str(item.mailbox_id)] = changed
    return {
        "version": DRAFT_JSON_VERSION,
        "step": draft.step.value,
        "mailboxes": mailboxes,
        "changes": changes,
        "new_items": new,
        "preview": [item.address for item in draft.items[:PREVIEW_ADDRESSES]],
        "count": len(draft.items),
        "kit": draft.kit.value if draft.kit else None,
        "holder": _holder_json(draft.holder),
        "billed_to": draft.billed_to,
        "payment_method": draft.payment_method.value if draft.payment_method else None,
        "auto_renew": draft.auto_renew,
        "years": draft.years,
        "consents": {
            "terms": draft.consents.terms,
            "clauses": draft.consents.clauses,
            "privacy": draft.consents.privacy,
        },
        "order_type": draft.order_type.value,
    }


def _holder_json(holder: HolderData | None) -> dict[str, Any] | None:
    if holder is None:
        return None
    data = {f.name: getattr(holder, f.name) for f in fields(HolderData)}
    data["kind"] = holder.kind.value
    return data


def draft_preview(data: Mapping[str, Any]) -> tuple[tuple[str, ...], int]:
    """A few addresses of a stored draft and how many mailboxes it holds."""
    if "version" not in data:  # version 1
        items = data.get("items", [])
        return tuple(i["address"] for i in items[:PREVIEW_ADDRESSES]), len(items)
    return tuple(data.get("preview", ())), int(data.get("count", 0))


def _items_from_json(data: Mapping[str, Any], items_by_id: ItemsById) -> tuple[DraftItem, ...]:
    if "version" not in data:  # version 1: every item in full
        return tuple(_item_from_json(item) for item in data["items"])
    ids = [int(i) for i in data["mailboxes"]]
    found = items_by_id(ids)
    changes: Mapping[str, Mapping[str, Any]] = data.get("changes", {})
    items = []
    for mailbox_id in ids:
        item = found.get(mailbox_id)
        if item is None:
            continue  # gone meanwhile: the pipeline refuses the draft if it matters
        changed = changes.get(str(mailbox_id))
        if changed is not None:
            item = replace(
                item,
                plan=Plan(changed["plan"]),
                extra_mailbox_gb=int(changed["extra_mailbox_gb"]),
                extra_archive_gb=int(changed["extra_archive_gb"]),
                archive_deletion_confirmed=bool(changed["archive_deletion_confirmed"]),
            )
        items.append(item)
    items += [_item_from_json(item) for item in data.get("new_items", [])]
    return tuple(items)


def draft_from_json(order_id: int, data: Mapping[str, Any], items_by_id: ItemsById) -> Draft:
    """The draft stored as `data`; `items_by_id` gives the renewal items of mailbox ids as the
    database has them now."""
    holder = data.get("holder")
    known = {f.name for f in fields(HolderData)}
    return Draft(
        order_id=order_id,
        step=Step(data["step"]),
        items=_items_from_json(data, items_by_id),
        kit=SignatureKit(data["kit"]) if data.get("kit") else None,
        holder=(
            HolderData(
                **{k: v for k, v in holder.items() if k in known and k != "kind"},
                kind=HolderKind(holder["kind"]),
            )
            if holder
            else None
        ),
        billed_to=data["billed_to"],
        payment_method=(
            PaymentMethod(data["payment_method"]) if data.get("payment_method") else None
        ),
        auto_renew=data["auto_renew"],
        years=data["years"],
        consents=Consents(**data.get("consents", {})),
        order_type=OrderType(data.get("order_type", OrderType.RENEWAL)),
    )
