"""Orders from draft to confirmation: drafts saved at every step, then the order placed.

A draft is an `orders` row in status Bozza whose `draft_state` holds the choices made so far
(`domain.draft`), so a terminal that crashes mid-flow finds it again. A renewal draft starts
from the selected mailboxes, a purchase draft from the address a holder buys; both walk the
same steps and are placed by the order pipeline (`services.placing`) at CONFERMA.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date
from operator import attrgetter, itemgetter
from typing import Any, NamedTuple, Protocol

from sqlalchemy import Engine, func
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from pec_tui.collector import gc_paused
from pec_tui.db.batches import DriverDates, bulk_cache, driver_rows
from pec_tui.db.models import Holder, Mailbox, OpenRenewal, Order, Reseller, utcnow
from pec_tui.domain import validation
from pec_tui.domain.draft import (
    Draft,
    DraftItem,
    DraftSummary,
    OrderKey,
    PurchaseRefused,
    RenewalRefused,
    Step,
    default_years,
    draft_from_json,
    draft_problems,
    draft_to_json,
    new_item,
    order_key_rank,
)
from pec_tui.domain.enums import OrderStatus, OrderType, PaymentMethod, Plan
from pec_tui.domain.holder import HolderData
from pec_tui.domain.lifecycle import renewability_on
from pec_tui.domain.validation import ValidationError
from pec_tui.i18n import _, ngettext
from pec_tui.services import audit
from pec_tui.services.actor import AccessDenied, Actor
from pec_tui.services.addresses import existing_mailbox_for_purchase, refuse_if_on_order
from pec_tui.services.draft_leases import (
    DEFAULT_TERMS,
    LeaseTerms,
    check_discard,
    check_holding,
    grant,
    listed_drafts,
    take_over,
)
from pec_tui.services.holders import holder_data
from pec_tui.services.mailboxes import Selection
from pec_tui.services.order_queries import load_own_order
from pec_tui.services.placing import (
    Billing,
    ConfirmedOrder,
    mailbox_facts,
    new_order,
    open_order_conflict,
    place_order,
    refuse_unrenewable,
)
from pec_tui.services.scope import OutOfScope, audit_denials, check_owned
from pec_tui.services.transactions import defer_checkpoint, write_session

# --- drafts ------------------------------------------------------------------------------


class RenewableMailbox(Protocol):
    """A mailbox as a renewal reads it: an ORM row, or `MailboxFacts` for many at once."""

    @property
    def id(self) -> int: ...
    @property
    def address(self) -> str: ...
    @property
    def holder_id(self) -> int: ...
    @property
    def reseller_id(self) -> int | None: ...
    @property
    def expiry(self) -> date: ...
    @property
    def promo(self) -> bool: ...
    @property
    def plan(self) -> str: ...
    @property
    def extra_mailbox_gb(self) -> int: ...
    @property
    def extra_archive_gb(self) -> int: ...
    @property
    def mailbox_used_mb(self) -> int: ...
    @property
    def archive_used_mb(self) -> int: ...
    @property
    def renewal_years(self) -> int: ...
    @property
    def payment_method(self) -> str | None: ...


# Plan by stored value: a dictionary look-up, ten times quicker than `Plan(value)` for the
# tens of thousands of mailboxes of a bulk renewal.
class _Plans(dict[str, Plan]):
    """Plan by stored value, a C-level look-up per mailbox (`Plan(value)` for one unknown)."""

    def __missing__(self, value: str) -> Plan:
        return Plan(value)


_PLAN_OF = _Plans((plan.value, plan) for plan in Plan)


def renewal_item(mailbox: RenewableMailbox) -> DraftItem:
    """A mailbox as a draft item: renewed on its current plan unless the flow changes it."""
    plan = _PLAN_OF[mailbox.plan]
    return new_item(
        mailbox_id=mailbox.id,
        address=mailbox.address,
        expiry=mailbox.expiry,
        promo=mailbox.promo,
        current_plan=plan,
        current_extra_mailbox_gb=mailbox.extra_mailbox_gb,
        current_extra_archive_gb=mailbox.extra_archive_gb,
        mailbox_used_mb=mailbox.mailbox_used_mb,
        archive_used_mb=mailbox.archive_used_mb,
        plan=plan,
        extra_mailbox_gb=mailbox.extra_mailbox_gb,
        extra_archive_gb=mailbox.extra_archive_gb,
        holder_id=mailbox.holder_id,
        reseller_id=mailbox.reseller_id,
    )


def renewal_items_by_id(session: Session, ids: Sequence[int]) -> dict[int, DraftItem]:
    """The renewal items of the mailboxes `ids` as they are now (those that still exist)."""
    with gc_paused():
        return {m.id: renewal_item(m) for m in mailbox_facts(session, ids)}


def renewal_draft(
    order_id: int,
    mailboxes: Sequence[RenewableMailbox],
    holder: HolderData | None,
    billed_to: str,
    auto_renew: bool = False,
) -> Draft:
    """The draft renewing `mailboxes` with the stored frequency and payment method of the
    first of them (by id)."""
    first = min(mailboxes, key=attrgetter("id"))
    items = tuple(map(renewal_item, sorted(mailboxes, key=attrgetter("address"))))
    stored = (first.renewal_years, first.payment_method)
    return _renewal_of(order_id, items, holder, billed_to, stored, auto_renew)


def _renewal_of(
    order_id: int,
    items: tuple[DraftItem, ...],
    holder: HolderData | None,
    billed_to: str,
    stored: tuple[int, str | None],
    auto_renew: bool = False,
) -> Draft:
    """The renewal draft of `items` at its first step; `stored` is the (frequency, payment
    method) stored on the first mailbox, which the order starts from."""
    renewal_years, payment_method = stored
    return Draft(
        order_id=order_id,
        step=Step.PLAN,
        items=items,
        kit=None,
        holder=holder,
        billed_to=billed_to,
        payment_method=_stored_method(payment_method),
        auto_renew=auto_renew,
        years=default_years(renewal_years, any(map(attrgetter("promo"), items))),
    )


def _stored_method(value: str | None) -> PaymentMethod | None:
    try:
        return PaymentMethod(value) if value else None
    except ValueError:
        return None


def _refuse_open_orders(session: Session, draft: Draft) -> None:
    conflict = open_order_conflict(session, draft)
    if conflict is not None:
        raise conflict


class Owners(NamedTuple):
    """Whose the mailboxes of a draft are: their resellers (None for the provider's direct
    customers), their holders, and the holders of those with no reseller."""

    resellers: set[int | None]
    holders: set[int]
    direct_holders: set[int]

    @classmethod
    def of(cls, mailboxes: Sequence[RenewableMailbox]) -> Owners:
        return cls(
            {m.reseller_id for m in mailboxes},
            {m.holder_id for m in mailboxes},
            {m.holder_id for m in mailboxes if m.reseller_id is None},
        )

    def owned_by(self, actor: Actor) -> bool:
        """Whether the actor may see every one of the mailboxes (`owns`, which checks the
        reseller and the holder each on its own: so once per distinct one of each)."""
        if actor.reseller_id is not None and self.resellers != {actor.reseller_id}:
            return False
        return actor.holder_id is None or self.holders == {actor.holder_id}


def _billed_party(session: Session, owners: Owners) -> tuple[HolderData | None, str]:
    """Who the draft of mailboxes of `owners` bills: the holder when every mailbox is one
    holder's, else the reseller of all of them; a selection across resellers
    (administrators, back office) names them all and becomes one order for each."""
    if len(owners.holders) == 1:
        holder = holder_data(session.get_one(Holder, next(iter(owners.holders))))
        return holder, holder.display_name
    resellers = owners.resellers
    if len(resellers) == 1 and None not in resellers:
        return None, session.get_one(Reseller, next(iter(resellers))).name
    # As `DraftItem.order_key`: the reseller's order, or a direct customer's own.
    keys = sorted(
        [("reseller", reseller_id) for reseller_id in resellers if reseller_id is not None]
        + [("holder", holder_id) for holder_id in owners.direct_holders],
        key=order_key_rank,
    )
    names = [party_name(session, key) for key in keys]
    shown = ", ".join(names[:3]) + ("…" if len(names) > 3 else "")
    return None, ngettext("{count} order: {names}", "{count} orders: {names}", len(names)).format(
        count=len(names), names=shown
    )


def party_name(session: Session, key: OrderKey) -> str:
    """The name of whom one order of a split draft bills: the reseller, or the holder."""
    kind, party_id = key
    if kind == "reseller":
        return session.get_one(Reseller, party_id).name
    return session.get_one(Holder, party_id).display_name


# A draft of up to this many mailboxes names each in its `draft.start` audit row; a larger
# one names its selection (rule and exceptions) or, given by id, the ids.
AUDIT_ADDRESSES = 100


def _start_details(draft: Draft, selection: Selection | None) -> dict[str, Any]:
    """What the `draft.start` audit row says: the kind of order, how many mailboxes and which
    (their addresses, or what selected them), never tens of thousands of addresses."""
    details: dict[str, Any] = {"type": draft.order_type.value, "count": len(draft.items)}
    if len(draft.items) <= AUDIT_ADDRESSES:
        details["mailboxes"] = [i.address for i in draft.items]
    elif selection is None:
        details["mailbox_ids"] = sorted(i.mailbox_id for i in draft.items if i.mailbox_id)
    if selection is not None:
        details["selection"] = selection.described()
    return details


def _store_new_draft(
    session: Session,
    actor: Actor,
    draft: Draft,
    order: Order,
    lease: LeaseTerms,
    selection: Selection | None = None,
) -> Draft:
    draft = replace(draft, order_id=order.id)
    order.draft_state = draft_to_json(draft)
    grant(order, actor, lease, utcnow())
    session.add(order)
    audit.record(session, actor, "draft.start", "order", order.id, _start_details(draft, selection))
    return draft


def _new_renewal(session: Session, actor: Actor, draft: Draft, owners: Owners) -> Order:
    """The order row of a new renewal draft: its holder's, its reseller's, or (several
    resellers) split at confirmation."""
    resellers = owners.resellers
    return new_order(
        session,
        actor,
        OrderType.RENEWAL,
        draft.holder.holder_id if draft.holder else None,
        next(iter(resellers)) if len(resellers) == 1 else None,
        draft.years,
    )


@audit_denials("draft.start")
def start_renewal(
    engine: Engine,
    actor: Actor,
    mailbox_ids: list[int],
    today: date,
    lease: LeaseTerms = DEFAULT_TERMS,
) -> Draft:
    """Open a draft renewal of `mailbox_ids` (each renewable, none with an open order), held
    by the actor's session (`services.draft_leases`)."""
    if not mailbox_ids:
        raise RenewalRefused(_("Select at least one mailbox to renew."))
    ids = sorted(set(mailbox_ids))
    with write_session(engine) as session, gc_paused():
        defer_checkpoint(session, len(ids))
        mailboxes = mailbox_facts(session, ids)
        if len(mailboxes) != len(ids):
            raise RenewalRefused(_("Some of the selected mailboxes no longer exist."))
        refuse_unrenewable(actor, mailboxes, today)
        owners = Owners.of(mailboxes)
        holder, billed_to = _billed_party(session, owners)
        draft = renewal_draft(0, mailboxes, holder, billed_to)
        _refuse_open_orders(session, draft)
        return _store_new_draft(
            session, actor, draft, _new_renewal(session, actor, draft, owners), lease
        )


# What a renewal item is made of, in the order `_selected_items` takes them.
_ITEM_COLUMNS = [
    Mailbox.__table__.c[name]
    for name in (
        "id",
        "address",
        "expiry",
        "promo",
        "plan",
        "extra_mailbox_gb",
        "extra_archive_gb",
        "mailbox_used_mb",
        "archive_used_mb",
        "holder_id",
        "reseller_id",
    )
]


def _selected_items(
    session: Session, actor: Actor, selection: Selection, today: date
) -> tuple[list[DraftItem], Owners, list[date]]:
    """The renewal items of the mailboxes `selection` holds that the actor may renew today,
    by address; whose they are; their expiry days. One read of each part of the selection
    (`Selection.parts`), rows as the driver gives them, an item made straight from each."""
    connection = session.connection()
    dialect = connection.dialect.name
    plans, days = _PLAN_OF, DriverDates()
    rows: list[tuple[Any, ...]] = []
    for part in selection.parts(actor, today, dialect):
        if dialect == "sqlite":
            # The ids from the rule's covering index first, then the rows in id order:
            # SQLite reads the table's pages one after the other, not back and forth in
            # expiry order (a reseller's 54,000 mailboxes of a 1M book: 0.25-0.35 s, by the
            # range directly 0.4-0.6 s). PostgreSQL reads the range well as it is.
            part = _ITEM_COLUMNS[0].in_(sa_select(_ITEM_COLUMNS[0]).where(part))
        rows += driver_rows(connection, sa_select(*_ITEM_COLUMNS).where(part))
    rows.sort(key=itemgetter(1))
    items = [
        new_item(
            mailbox_id,
            address,
            days[expiry],
            bool(promo),
            plans[plan],
            mailbox_gb,
            archive_gb,
            mailbox_mb,
            archive_mb,
            plans[plan],
            mailbox_gb,
            archive_gb,
            False,
            holder_id,
            reseller_id,
        )
        for (
            mailbox_id,
            address,
            expiry,
            promo,
            plan,
            mailbox_gb,
            archive_gb,
            mailbox_mb,
            archive_mb,
            holder_id,
            reseller_id,
        ) in rows
    ]
    resellers: set[int | None] = set(map(itemgetter(10), rows))
    holders: set[int] = set(map(itemgetter(9), rows))
    direct = {row[9] for row in rows if row[10] is None} if None in resellers else set()
    return items, Owners(resellers, holders, direct), list(days.values())


def _refuse_unrenewable_items(
    actor: Actor, items: Sequence[DraftItem], owners: Owners, days: Sequence[date], today: date
) -> None:
    """As `refuse_unrenewable`, for items read with the selection's own conditions (so this
    finds nothing unless those and the domain's rules part): once per owner and expiry day."""
    if not owners.owned_by(actor):
        raise OutOfScope(
            _("Some of the selected mailboxes no longer exist."), None, "mailbox", None
        )
    verdict_of = renewability_on(today)
    refused = {day for day in days if not verdict_of(day, False).allowed}
    if not refused:
        return
    for item in items:
        if item.expiry in refused:
            raise RenewalRefused(f"{item.address}: {verdict_of(item.expiry, False).reason}")


@audit_denials("draft.start")
def start_renewal_of_selection(
    engine: Engine,
    actor: Actor,
    selection: Selection,
    today: date,
    lease: LeaseTerms = DEFAULT_TERMS,
) -> Draft:
    """Open a draft renewal of the mailboxes `selection` holds that the actor may renew today
    (those the list counts as selected), held by the actor's session.

    The mailboxes are read once, by the rule's expiry range (and the ids added by hand), not
    resolved to ids first and read again by id; those on an open order are left out by the
    same statement, as the list leaves them out. The draft is the same as `start_renewal` of
    their ids would make."""
    with write_session(engine) as session, gc_paused():
        items, owners, days = _selected_items(session, actor, selection, today)
        if not items:
            raise RenewalRefused(_("None of the selected mailboxes can be renewed today."))
        defer_checkpoint(session, len(items))
        _refuse_unrenewable_items(actor, items, owners, days, today)
        holder, billed_to = _billed_party(session, owners)
        first_id = min(map(attrgetter("mailbox_id"), items))
        renewal_years, payment_method = session.exec(
            select(Mailbox.renewal_years, Mailbox.payment_method).where(Mailbox.id == first_id)
        ).one()
        stored = (renewal_years, payment_method)
        draft = _renewal_of(0, tuple(items), holder, billed_to, stored)
        del items
        order = _new_renewal(session, actor, draft, owners)
        return _store_new_draft(session, actor, draft, order, lease, selection)


def purchase_item(address: str, existing: Mailbox | None) -> DraftItem:
    """The address to buy: STANDARD, no extra space, a new mailbox or a cancelled one again."""
    return DraftItem(
        mailbox_id=existing.id if existing else None,
        address=address,
        expiry=None,
        promo=False,
        current_plan=None,
        current_extra_mailbox_gb=0,
        current_extra_archive_gb=0,
        mailbox_used_mb=0,
        archive_used_mb=0,
        plan=Plan.STANDARD,
        extra_mailbox_gb=0,
        extra_archive_gb=0,
    )


def purchase_checks(
    session: Session, actor: Actor, holder_id: int, address: str, today: date, action: str
) -> tuple[Holder, str, Mailbox | None]:
    try:
        address = validation.check_pec_address(address).lower()
    except ValidationError as exc:
        raise PurchaseRefused(exc.message) from exc
    holder = session.get(Holder, holder_id)
    if holder is None:
        raise LookupError(_("The holder no longer exists."))
    check_owned(
        actor, holder.reseller_id, holder.id, action=action, entity="holder", entity_id=holder.id
    )
    existing = existing_mailbox_for_purchase(session, holder, address, today)
    refuse_if_on_order(session, address)
    return holder, address, existing


@audit_denials("purchase.check")
def check_purchase_address(
    engine: Engine, actor: Actor, holder_id: int, address: str, today: date
) -> str:
    """`address` normalised, if `holder_id` may buy it; PurchaseRefused says why not.

    A check before the purchase flow starts: the pipeline checks again under a lock.
    """
    with Session(engine) as session:
        return purchase_checks(session, actor, holder_id, address, today, "purchase.check")[1]


@audit_denials("draft.start")
def start_purchase(
    engine: Engine,
    actor: Actor,
    holder_id: int,
    address: str,
    today: date,
    lease: LeaseTerms = DEFAULT_TERMS,
) -> Draft:
    """Open a draft purchase (Acquisto) of `address` for `holder_id`, saved like a renewal's."""
    with write_session(engine) as session:
        holder, address, existing = purchase_checks(
            session, actor, holder_id, address, today, "draft.start"
        )
        data = holder_data(holder)
        draft = Draft(
            order_id=0,
            step=Step.PLAN,
            items=(purchase_item(address, existing),),
            kit=None,
            holder=data,
            billed_to=data.display_name,
            payment_method=None,
            auto_renew=False,
            years=1,
            order_type=OrderType.PURCHASE,
        )
        order = new_order(
            session, actor, OrderType.PURCHASE, holder.id, holder.reseller_id, draft.years
        )
        return _store_new_draft(session, actor, draft, order, lease)


def _load_draft_row(session: Session, actor: Actor, order_id: int) -> Order:
    order = load_own_order(session, actor, order_id, lock=True)
    if order.status != OrderStatus.DRAFT.value:
        raise RenewalRefused(_("This order has already been confirmed or discarded."))
    return order


@audit_denials("draft.save")
def save_draft(
    engine: Engine, actor: Actor, draft: Draft, lease: LeaseTerms = DEFAULT_TERMS
) -> Draft:
    """Store the draft as it stands (called at every step of the flow), renewing the lease of
    the actor's session; DraftHeld when another session holds it."""
    with write_session(engine) as session:
        order = _load_draft_row(session, actor, draft.order_id)
        now = utcnow()
        check_holding(order, actor, now)
        grant(order, actor, lease, now)
        if draft.holder is not None and draft.holder.holder_id != order.holder_id:
            # The draft comes from the caller: a crafted one must not name another holder.
            raise AccessDenied(_("This holder does not belong to the order."))
        defer_checkpoint(session, len(draft.items))
        order.draft_state = draft_to_json(draft)
        order.years = draft.years
        order.payment_method = draft.payment_method.value if draft.payment_method else None
        order.auto_renew = draft.auto_renew
        order.signature_kit = draft.kit.value if draft.kit else None
        order.updated_at = now
        session.add(order)
    return draft


@audit_denials("draft.load")
def load_draft(engine: Engine, actor: Actor, order_id: int) -> Draft:
    with Session(engine) as session, gc_paused():
        order = load_own_order(session, actor, order_id)
        if order.status != OrderStatus.DRAFT.value or not order.draft_state:
            raise RenewalRefused(_("Order {id} is not a draft.").format(id=order_id))
        return draft_from_json(
            order.id, order.draft_state, lambda ids: renewal_items_by_id(session, ids)
        )


def resume_draft(
    engine: Engine, actor: Actor, order_id: int, lease: LeaseTerms = DEFAULT_TERMS
) -> Draft:
    """Take over draft `order_id` for the actor's session and load it (DraftHeld when another
    live session holds it, or won a race for it)."""
    take_over(engine, actor, order_id, lease)
    return load_draft(engine, actor, order_id)


def list_drafts(engine: Engine, actor: Actor) -> list[DraftSummary]:
    """Drafts this actor may resume, newest first (none another live session holds)."""
    return listed_drafts(engine, actor)


@audit_denials("draft.discard")
def discard_draft(engine: Engine, actor: Actor, order_id: int) -> None:
    with write_session(engine) as session:
        order = load_own_order(session, actor, order_id, lock=True)
        if order.status != OrderStatus.DRAFT.value:
            raise RenewalRefused(_("Only drafts can be discarded."))
        check_discard(order, actor, utcnow())
        session.delete(order)
        audit.record(session, actor, "draft.discard", "order", order_id)


# --- confirmation ------------------------------------------------------------------------

# SQLite's page cache while a draft is confirmed (KiB).
CONFIRM_CACHE_KIB = 32 * 1024


def split_draft(session: Session, draft: Draft) -> list[Draft]:
    """The drafts of the orders `draft` becomes: itself, or one per reseller (and one per
    direct customer) when an administrator renews mailboxes across resellers."""
    groups = draft.order_groups()
    if len(groups) <= 1:
        return [draft]
    parts = []
    for key, items in groups.items():
        kind, party_id = key
        holder = holder_data(session.get_one(Holder, party_id)) if kind == "holder" else None
        parts.append(replace(draft, items=items, holder=holder, billed_to=party_name(session, key)))
    return parts


@audit_denials("order.confirm")
def confirm_order(
    engine: Engine, actor: Actor, draft: Draft, today: date, billing: Billing | None = None
) -> list[ConfirmedOrder]:
    """Place a complete draft (renewal or purchase) through the order pipeline: one order, or
    one per reseller for a renewal across resellers — all of them, or none."""
    with gc_paused():  # tens of thousands of lines and rows made, none of them a cycle
        return _confirm_order(engine, actor, draft, today, billing)


def _confirm_order(
    engine: Engine, actor: Actor, draft: Draft, today: date, billing: Billing | None
) -> list[ConfirmedOrder]:
    problems = draft_problems(draft)
    if problems:
        refusal = PurchaseRefused if draft.is_purchase else RenewalRefused
        raise refusal("\n".join(problems))
    try:
        # Room for the pages of the lines and reservations an order of tens of thousands
        # of mailboxes writes, within the flow's memory (the whole-book CLI takes more).
        with write_session(engine) as session, bulk_cache(session.connection(), CONFIRM_CACHE_KIB):
            defer_checkpoint(session, len(draft.items))
            row = _load_draft_row(session, actor, draft.order_id)
            check_holding(row, actor, utcnow())
            if draft.holder is not None and draft.holder.holder_id != row.holder_id:
                # A crafted draft must not rewrite (and invoice) another reseller's holder.
                raise AccessDenied(_("This holder does not belong to the order."))
            parts = split_draft(session, draft)
            placed = []
            for i, part in enumerate(parts):
                try:
                    placed.append(
                        place_order(
                            session,
                            actor,
                            part,
                            today,
                            billing or Billing(),
                            order=row if i == 0 else None,
                            checked=True,  # the whole draft, above
                        )
                    )
                except RenewalRefused as exc:
                    if len(parts) == 1:
                        raise
                    # Say whose order it is: the pass covers several.
                    raise type(exc)(f"{part.billed_to}: {exc.message}") from exc
            return placed
    except IntegrityError as exc:
        with Session(engine) as session:
            conflict = open_order_conflict(session, draft)
        if conflict is not None:
            raise conflict from exc
        if draft.is_purchase:
            raise PurchaseRefused(
                _("{address} already has an open order.").format(address=draft.items[0].address)
            ) from exc
        raise


@audit_denials("order.confirm")
def place_renewal(
    engine: Engine,
    actor: Actor,
    mailbox_ids: Sequence[int],
    today: date,
    choose: Callable[[Draft], Draft],
    billing: Billing | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[Draft, list[ConfirmedOrder]]:
    """Renew `mailbox_ids` at once, without a stored draft (a script's renewal): the draft
    the flow would start, completed by `choose` (plan, years, payment, consents), placed
    through the same pipeline in one transaction — one order per reseller, all or none.

    The mailboxes are read once; `progress` is told how many more have been placed after
    each order. Refusals as `start_renewal` and `confirm_order`."""
    if not mailbox_ids:
        raise RenewalRefused(_("Select at least one mailbox to renew."))
    ids = sorted(set(mailbox_ids))
    draft: Draft | None = None
    try:
        with write_session(engine) as session:
            defer_checkpoint(session, len(ids))
            mailboxes = mailbox_facts(session, ids)
            if len(mailboxes) != len(ids):
                raise RenewalRefused(_("Some of the selected mailboxes no longer exist."))
            holder, billed_to = _billed_party(session, Owners.of(mailboxes))
            draft = choose(renewal_draft(0, mailboxes, holder, billed_to))
            facts = {m.id: m for m in mailboxes}
            del mailboxes
            parts = split_draft(session, draft)
            if draft.kit is not None and len(parts) > 1:
                # Each part is checked as it is placed; a kit needs the whole draft's view.
                raise RenewalRefused("\n".join(draft_problems(draft)))
            placed = []
            for part in parts:
                try:
                    placed.append(
                        place_order(session, actor, part, today, billing or Billing(), facts=facts)
                    )
                except RenewalRefused as exc:
                    if len(parts) == 1:
                        raise
                    raise type(exc)(f"{part.billed_to}: {exc.message}") from exc
                if progress is not None:
                    progress(len(part.items))
            return draft, placed
    except IntegrityError as exc:
        # Another order reserved one of the mailboxes meanwhile: say which.
        conflict = None
        if draft is not None:
            with Session(engine) as session:
                conflict = open_order_conflict(session, draft)
        if conflict is not None:
            raise conflict from exc
        raise


def count_open_orders(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(OpenRenewal)).one()
