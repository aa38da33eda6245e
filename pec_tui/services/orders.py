"""Renewal orders from draft to confirmation: drafts saved at every step, then the order.

A draft is an `orders` row in status Bozza whose `draft_state` holds the choices made so far,
so a terminal that crashes mid-flow finds it again. Confirmation assigns the order number,
writes the priced lines, records the three consents, reserves each mailbox (one open order per
mailbox, enforced by the `open_renewal` primary key) and queues the Conferma ordine e-mail.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from pec_tui.db.engine import session_scope
from pec_tui.db.models import (
    Counter,
    Holder,
    Mailbox,
    OpenRenewal,
    Order,
    Reseller,
    utcnow,
)
from pec_tui.domain import validation
from pec_tui.domain.enums import (
    HolderKind,
    OrderStatus,
    OrderType,
    PaymentMethod,
    Plan,
    SignatureKit,
    label,
)
from pec_tui.domain.lifecycle import renewability
from pec_tui.domain.money import to_cents
from pec_tui.domain.plan_change import PlanChange, evaluate_plan_change
from pec_tui.domain.pricing import MailboxChoice, PriceList, Quote, QuoteLine, quote
from pec_tui.domain.validation import MAX_PROMO_YEARS, MAX_YEARS, ValidationError
from pec_tui.i18n import _
from pec_tui.services import audit
from pec_tui.services.actor import AccessDenied, Actor
from pec_tui.services.database import ORDER_NUMBER_COUNTER
from pec_tui.services.prices import load_price_list
from pec_tui.services.scope import audit_denials
from pec_tui.services.transactions import write_session


class Step(StrEnum):
    PLAN = "plan"
    KIT = "kit"
    HOLDER = "holder"
    ORDER_FORM = "order_form"
    CONTRACT = "contract"
    DONE = "done"


class RenewalRefused(Exception):
    """The renewal cannot go on; `message` tells the user why, in the UI language."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class DraftItem:
    mailbox_id: int
    address: str
    expiry: date
    promo: bool
    current_plan: Plan
    current_extra_mailbox_gb: int
    current_extra_archive_gb: int
    mailbox_used_mb: int
    archive_used_mb: int
    plan: Plan
    extra_mailbox_gb: int
    extra_archive_gb: int
    archive_deletion_confirmed: bool = False

    def change(self) -> PlanChange:
        return evaluate_plan_change(
            self.current_plan,
            self.plan,
            self.mailbox_used_mb,
            self.archive_used_mb,
            self.extra_mailbox_gb,
            self.extra_archive_gb,
        )

    def choice(self) -> MailboxChoice:
        return MailboxChoice(
            self.address,
            self.plan,
            self.extra_mailbox_gb,
            self.extra_archive_gb,
            self.mailbox_id,
            self.current_plan,
        )


@dataclass(frozen=True)
class HolderData:
    holder_id: int | None
    version: int
    kind: HolderKind
    first_name: str | None = None
    last_name: str | None = None
    company_name: str | None = None
    codice_fiscale: str | None = None
    partita_iva: str | None = None
    street: str | None = None
    cap: str | None = None
    city: str | None = None
    province: str | None = None
    reference_email: str | None = None
    phone: str | None = None
    sdi_code: str | None = None
    billing_pec: str | None = None
    pa_office_code: str | None = None
    cig: str | None = None
    cup: str | None = None
    split_payment: bool = False

    @property
    def display_name(self) -> str:
        if self.kind in (HolderKind.COMPANY, HolderKind.PUBLIC_ADMIN) and self.company_name:
            return self.company_name
        person = " ".join(p for p in (self.first_name, self.last_name) if p)
        if self.company_name and person:
            return f"{self.company_name} ({person})"
        return person or self.company_name or ""


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
        return any(item.promo for item in self.items)

    @property
    def max_years(self) -> int:
        return MAX_PROMO_YEARS if self.promo else MAX_YEARS

    def quote(self, prices: PriceList) -> Quote:
        return quote(prices, [item.choice() for item in self.items], self.years, self.kit)


@dataclass(frozen=True)
class DraftSummary:
    order_id: int
    billed_to: str
    addresses: tuple[str, ...]
    step: Step
    updated_at: datetime
    terminal: str | None = None


@dataclass(frozen=True)
class ConfirmedOrder:
    order_id: int
    number: int
    quote: Quote
    payment_method: PaymentMethod
    payment_instructions: str
    email_to: str
    paid: bool


# --- draft (de)serialisation -------------------------------------------------------------


def _to_json(draft: Draft) -> dict[str, Any]:
    data = asdict(draft)
    data.pop("order_id")
    for item in data["items"]:
        item["expiry"] = item["expiry"].isoformat()
    return data


def _from_json(order_id: int, data: dict[str, Any]) -> Draft:
    items = tuple(
        DraftItem(
            **{
                **item,
                "expiry": date.fromisoformat(item["expiry"]),
                "current_plan": Plan(item["current_plan"]),
                "plan": Plan(item["plan"]),
            }
        )
        for item in data["items"]
    )
    holder = data.get("holder")
    return Draft(
        order_id=order_id,
        step=Step(data["step"]),
        items=items,
        kit=SignatureKit(data["kit"]) if data.get("kit") else None,
        holder=HolderData(**{**holder, "kind": HolderKind(holder["kind"])}) if holder else None,
        billed_to=data["billed_to"],
        payment_method=PaymentMethod(data["payment_method"])
        if data.get("payment_method")
        else None,
        auto_renew=data["auto_renew"],
        years=data["years"],
        consents=Consents(**data.get("consents", {})),
        order_type=OrderType(data.get("order_type", OrderType.RENEWAL)),
    )


def holder_data(holder: Holder) -> HolderData:
    names = {f.name for f in fields(HolderData)} - {"holder_id", "kind"}
    return HolderData(
        holder_id=holder.id,
        kind=HolderKind(holder.kind),
        **{name: getattr(holder, name) for name in names},
    )


# --- scoping -----------------------------------------------------------------------------


def _check_mailbox_access(actor: Actor, mailbox: Mailbox) -> None:
    if actor.holder_id is not None and mailbox.holder_id != actor.holder_id:
        raise AccessDenied(_("This mailbox does not belong to you."))
    if actor.reseller_id is not None and mailbox.reseller_id != actor.reseller_id:
        raise AccessDenied(_("This mailbox belongs to another reseller."))


def _load_own_order(session: Session, actor: Actor, order_id: int, lock: bool = False) -> Order:
    order = session.get(Order, order_id, with_for_update=lock)
    if order is None:
        raise LookupError(_("Order {id} does not exist.").format(id=order_id))
    if actor.holder_id is not None and order.holder_id != actor.holder_id:
        raise AccessDenied(_("This order does not belong to you."))
    if actor.reseller_id is not None and order.reseller_id != actor.reseller_id:
        raise AccessDenied(_("This order belongs to another reseller."))
    return order


def _check_holder(order: Order, draft: Draft) -> None:
    # The draft comes from the caller: its holder must be the order's own, or a crafted
    # draft would rewrite (and invoice) another reseller's holder.
    if draft.holder is not None and draft.holder.holder_id != order.holder_id:
        raise AccessDenied(_("This holder does not belong to the order."))


def _open_order_numbers(session: Session, mailbox_ids: list[int]) -> dict[int, int | None]:
    rows = session.exec(
        select(OpenRenewal.mailbox_id, Order.number)
        .join(Order, col(Order.id) == OpenRenewal.order_id)
        .where(col(OpenRenewal.mailbox_id).in_(mailbox_ids))
    ).all()
    return dict(rows)


# --- drafts ------------------------------------------------------------------------------


@audit_denials("draft.start")
def start_renewal(engine: Engine, actor: Actor, mailbox_ids: list[int], today: date) -> Draft:
    """Open a draft renewal of `mailbox_ids` (each renewable, none with an open order)."""
    if not mailbox_ids:
        raise RenewalRefused(_("Select at least one mailbox to renew."))
    ids = sorted(set(mailbox_ids))
    with session_scope(engine) as session:
        mailboxes = session.exec(select(Mailbox).where(col(Mailbox.id).in_(ids))).all()
        if len(mailboxes) != len(ids):
            raise RenewalRefused(_("Some of the selected mailboxes no longer exist."))
        for mailbox in mailboxes:
            _check_mailbox_access(actor, mailbox)
            verdict = renewability(mailbox.expiry, today, mailbox.auto_renew)
            if not verdict.allowed:
                raise RenewalRefused(f"{mailbox.address}: {verdict.reason}")
        open_numbers = _open_order_numbers(session, ids)
        if open_numbers:
            by_id = {m.id: m.address for m in mailboxes}
            mailbox_id, number = next(iter(sorted(open_numbers.items())))
            raise RenewalRefused(
                _(
                    "{address} already has an open order, no. {number}: pay or cancel it first."
                ).format(address=by_id[mailbox_id], number=number)
            )
        holder_ids = {m.holder_id for m in mailboxes}
        reseller_ids = {m.reseller_id for m in mailboxes}
        holder: HolderData | None = None
        if len(holder_ids) == 1:
            row = session.get(Holder, holder_ids.pop())
            holder = holder_data(row)
            billed_to = holder.display_name
            reseller_id = mailboxes[0].reseller_id
        else:
            if len(reseller_ids) != 1 or None in reseller_ids:
                raise RenewalRefused(
                    _(
                        "One order covers the mailboxes of one holder, or of one reseller's "
                        "holders: narrow the selection."
                    )
                )
            reseller_id = reseller_ids.pop()
            billed_to = session.get(Reseller, reseller_id).name
        items = tuple(
            DraftItem(
                mailbox_id=m.id,
                address=m.address,
                expiry=m.expiry,
                promo=m.promo,
                current_plan=Plan(m.plan),
                current_extra_mailbox_gb=m.extra_mailbox_gb,
                current_extra_archive_gb=m.extra_archive_gb,
                mailbox_used_mb=m.mailbox_used_mb,
                archive_used_mb=m.archive_used_mb,
                plan=Plan(m.plan),
                extra_mailbox_gb=m.extra_mailbox_gb,
                extra_archive_gb=m.extra_archive_gb,
            )
            for m in sorted(mailboxes, key=lambda m: m.address)
        )
        first = mailboxes[0]
        years = max(
            1,
            min(
                first.renewal_years,
                MAX_PROMO_YEARS if any(m.promo for m in mailboxes) else MAX_YEARS,
            ),
        )
        order = Order(
            type=OrderType.RENEWAL.value,
            status=OrderStatus.DRAFT.value,
            holder_id=holder.holder_id if holder else None,
            reseller_id=reseller_id,
            operator_id=actor.operator_id,
            terminal=actor.terminal,
            years=years,
        )
        session.add(order)
        session.flush()
        draft = Draft(
            order_id=order.id,
            step=Step.PLAN,
            items=items,
            kit=None,
            holder=holder,
            billed_to=billed_to,
            payment_method=PaymentMethod(first.payment_method) if first.payment_method else None,
            auto_renew=False,
            years=years,
        )
        order.draft_state = _to_json(draft)
        audit.record(
            session,
            actor,
            "draft.start",
            "order",
            order.id,
            {"mailboxes": [i.address for i in items]},
        )
    return draft


@audit_denials("draft.save")
def save_draft(engine: Engine, actor: Actor, draft: Draft) -> Draft:
    """Store the draft as it stands (called at every step of the flow)."""
    with write_session(engine) as session:
        order = _load_own_order(session, actor, draft.order_id, lock=True)
        _check_holder(order, draft)
        if order.status != OrderStatus.DRAFT.value:
            raise RenewalRefused(_("This order has already been confirmed or discarded."))
        order.draft_state = _to_json(draft)
        order.years = draft.years
        order.payment_method = draft.payment_method.value if draft.payment_method else None
        order.auto_renew = draft.auto_renew
        order.signature_kit = draft.kit.value if draft.kit else None
        order.updated_at = utcnow()
        session.add(order)
    return draft


@audit_denials("draft.load")
def load_draft(engine: Engine, actor: Actor, order_id: int) -> Draft:
    with Session(engine) as session:
        order = _load_own_order(session, actor, order_id)
        if order.status != OrderStatus.DRAFT.value or not order.draft_state:
            raise RenewalRefused(_("Order {id} is not a draft.").format(id=order_id))
        return _from_json(order.id, order.draft_state)


def list_drafts(engine: Engine, actor: Actor, terminal: str | None = None) -> list[DraftSummary]:
    """Drafts this actor may resume, newest first; only those begun on `terminal` if given
    (at start-up, what a crash of this terminal left, not another terminal's work)."""
    with Session(engine) as session:
        stmt = select(Order).where(Order.status == OrderStatus.DRAFT.value)
        if terminal is not None:
            stmt = stmt.where(Order.terminal == terminal)
        if actor.reseller_id is not None:
            stmt = stmt.where(Order.reseller_id == actor.reseller_id)
        if actor.holder_id is not None:
            stmt = stmt.where(Order.holder_id == actor.holder_id)
        orders = session.exec(stmt.order_by(col(Order.updated_at).desc())).all()
        summaries = []
        for order in orders:
            state = order.draft_state or {}
            summaries.append(
                DraftSummary(
                    order_id=order.id,
                    billed_to=state.get("billed_to", ""),
                    addresses=tuple(i["address"] for i in state.get("items", [])),
                    step=Step(state.get("step", Step.PLAN)),
                    updated_at=order.updated_at,
                    terminal=order.terminal,
                )
            )
        return summaries


@audit_denials("draft.discard")
def discard_draft(engine: Engine, actor: Actor, order_id: int) -> None:
    with write_session(engine) as session:
        order = _load_own_order(session, actor, order_id, lock=True)
        if order.status != OrderStatus.DRAFT.value:
            raise RenewalRefused(_("Only drafts can be discarded."))
        session.delete(order)
        audit.record(session, actor, "draft.discard", "order", order_id)


# --- validation --------------------------------------------------------------------------

_PERSON_KINDS = frozenset({HolderKind.PRIVATE, HolderKind.SOLE_TRADER, HolderKind.PROFESSIONAL})
_BUSINESS_KINDS = frozenset({HolderKind.SOLE_TRADER, HolderKind.PROFESSIONAL, HolderKind.COMPANY})
_NOT_PRIVATE = frozenset(HolderKind) - {HolderKind.PRIVATE}
# Which holder fields apply to which kind; the others are dropped when the data is stored.
HOLDER_FIELD_KINDS: dict[str, frozenset[HolderKind]] = {
    "first_name": _PERSON_KINDS,
    "last_name": _PERSON_KINDS,
    "company_name": _NOT_PRIVATE,
    "codice_fiscale": frozenset(HolderKind),
    "partita_iva": _NOT_PRIVATE,
    "street": frozenset(HolderKind),
    "cap": frozenset(HolderKind),
    "city": frozenset(HolderKind),
    "province": frozenset(HolderKind),
    "reference_email": frozenset(HolderKind),
    "phone": frozenset(HolderKind),
    "sdi_code": _BUSINESS_KINDS,
    "billing_pec": _BUSINESS_KINDS,
    "pa_office_code": frozenset({HolderKind.PUBLIC_ADMIN}),
    "cig": frozenset({HolderKind.PUBLIC_ADMIN}),
    "cup": frozenset({HolderKind.PUBLIC_ADMIN}),
}


def _holder_checks(data: HolderData):
    """(field, check) pairs; each check returns the normalised value or raises."""
    kind = data.kind
    checks = []
    if kind in _PERSON_KINDS:
        for name, text in (("first_name", _("First name")), ("last_name", _("Last name"))):
            checks.append(
                (name, lambda n=name, t=text: validation.check_required(getattr(data, n), n, t))
            )
    if kind is not HolderKind.PRIVATE:
        checks.append(
            (
                "company_name",
                lambda: validation.check_required(
                    data.company_name, "company_name", _("Company or office name")
                ),
            )
        )
    checks.append(
        (
            "codice_fiscale",
            lambda: validation.check_holder_tax_ids(kind, data.codice_fiscale, data.partita_iva),
        )
    )
    checks.append(
        ("street", lambda: validation.check_required(data.street, "street", _("Address")))
    )
    checks.append(("city", lambda: validation.check_required(data.city, "city", _("City"))))
    checks.append(("cap", lambda: validation.check_cap(data.cap or "")))
    checks.append(("province", lambda: validation.check_province(data.province or "")))
    checks.append(("reference_email", lambda: validation.check_email(data.reference_email or "")))
    if kind is HolderKind.PUBLIC_ADMIN:
        checks.append(
            ("pa_office_code", lambda: validation.check_pa_office_code(data.pa_office_code or ""))
        )
        checks.append(("cig", lambda: validation.check_cig(data.cig)))
        checks.append(("cup", lambda: validation.check_cup(data.cup)))
    elif kind in _BUSINESS_KINDS:
        checks.append(
            ("sdi_code", lambda: validation.check_sdi_code(data.sdi_code or "", data.billing_pec))
        )
        if data.billing_pec:
            checks.append(("billing_pec", lambda: validation.check_pec_address(data.billing_pec)))
    return checks


def validate_holder(data: HolderData) -> dict[str, str]:
    """Holder field name -> message for every invalid field; empty when the data is valid."""
    errors: dict[str, str] = {}
    for name, check in _holder_checks(data):
        try:
            check()
        except ValidationError as exc:
            # Validators name some fields after what they check; the form names them after data.
            key = exc.field if exc.field in HOLDER_FIELD_KINDS else name
            errors.setdefault(key, exc.message)
    return errors


def normalise_holder(data: HolderData) -> HolderData:
    """Valid holder data as stored: codes upper-case, blanks removed, other kinds' fields
    dropped. Raises ValidationError on the first invalid field."""
    values: dict[str, Any] = {
        name: (getattr(data, name) if data.kind in kinds else None)
        for name, kinds in HOLDER_FIELD_KINDS.items()
    }
    for name, check in _holder_checks(replace(data, **values)):
        result = check()
        if name == "codice_fiscale":
            values["codice_fiscale"], values["partita_iva"] = result
        elif name not in ("first_name", "last_name", "company_name", "street", "city"):
            values[name] = result
        else:
            values[name] = result.strip()
    return replace(
        data, split_payment=data.split_payment and data.kind is HolderKind.PUBLIC_ADMIN, **values
    )


def item_problems(draft: Draft) -> dict[int, str]:
    """Mailbox id -> why its chosen plan cannot be ordered as it stands."""
    problems: dict[int, str] = {}
    for item in draft.items:
        try:
            validation.check_extra_gb(item.plan, item.extra_mailbox_gb, item.extra_archive_gb)
        except ValidationError as exc:
            problems[item.mailbox_id] = exc.message
            continue
        change = item.change()
        if not change.allowed:
            problems[item.mailbox_id] = change.reason or ""
        elif change.deletes_archive and not item.archive_deletion_confirmed:
            problems[item.mailbox_id] = _(
                "Changing to STANDARD deletes every archived message: confirm it explicitly."
            )
    return problems


def _draft_problems(draft: Draft) -> list[str]:
    per_item = item_problems(draft)
    problems = [
        f"{i.address}: {per_item[i.mailbox_id]}" for i in draft.items if i.mailbox_id in per_item
    ]
    try:
        validation.check_years(draft.years, draft.promo)
    except ValidationError as exc:
        problems.append(exc.message)
    if draft.payment_method is None:
        problems.append(_("Choose a payment method."))
    if draft.holder is not None:
        problems.extend(validate_holder(draft.holder).values())
    if not draft.consents.complete:
        problems.append(
            _(
                "The general conditions, the unfair-terms clauses and the privacy notice must "
                "each be accepted."
            )
        )
    return problems


# --- confirmation ------------------------------------------------------------------------


def next_order_number(session: Session) -> int:
    """The next 10-digit order number; the row lock makes it unique under concurrency."""
    result = session.execute(
        update(Counter)
        .where(Counter.name == ORDER_NUMBER_COUNTER)
        .values(value=Counter.value + 1)
        .returning(Counter.value)
    )
    return int(result.scalar_one())


def payment_instructions(
    method: PaymentMethod, number: int, gross: Decimal, iban: str, beneficiary: str
) -> str:
    from pec_tui.i18n import format_money

    amount = format_money(gross)
    if method is PaymentMethod.BANK_TRANSFER:
        return _(
            "Pay {amount} by bank transfer to {beneficiary}, IBAN {iban}, with the order "
            "number {number} as the reason for payment (causale)."
        ).format(amount=amount, beneficiary=beneficiary, iban=iban, number=number)
    if method is PaymentMethod.POSTAL_SLIP:
        return _(
            "Pay {amount} with a postal payment slip to {beneficiary}, writing the order "
            "number {number} as the reason for payment."
        ).format(amount=amount, beneficiary=beneficiary, number=number)
    if method is PaymentMethod.PREPAID_CREDIT:
        return _("{amount} is charged to the reseller's prepaid credit.").format(amount=amount)
    return _(
        "Pay {amount} by {method} from the payment link in the confirmation e-mail "
        "(order {number})."
    ).format(amount=amount, method=label(method), number=number)


def line_description(line: QuoteLine) -> str:
    return label(line.item) if line.item.value not in Plan.__members__ else f"PEC {line.item.value}"


def _apply_holder(session: Session, actor: Actor, data: HolderData) -> Holder:
    """Store the holder data confirmed in the flow, refusing to overwrite another change."""
    holder = session.get(Holder, data.holder_id, with_for_update=True)
    if holder is None:
        raise RenewalRefused(_("The holder no longer exists."))
    if holder.version != data.version:
        raise RenewalRefused(
            _("Another terminal changed this holder's data meanwhile: reload and check it.")
        )
    changed = {}
    for f in fields(HolderData):
        if f.name in ("holder_id", "version"):
            continue
        new = getattr(data, f.name)
        new = new.value if isinstance(new, StrEnum) else new
        if getattr(holder, f.name) != new:
            changed[f.name] = {"old": getattr(holder, f.name), "new": new}
            setattr(holder, f.name, new)
    if changed:
        holder.display_name = data.display_name
        holder.version += 1
        holder.updated_at = utcnow()
        session.add(holder)
        audit.record(session, actor, "holder.update", "holder", holder.id, changed)
    return holder


@audit_denials("order.confirm")
def confirm_order(
    engine: Engine,
    actor: Actor,
    draft: Draft,
    today: date,
    iban: str = "",
    beneficiary: str = "",
) -> ConfirmedOrder:
    """Turn a complete draft into an order awaiting payment (or paid, with prepaid credit)."""
    from pec_tui.services import notifications
    from pec_tui.services.order_lines import holder_snapshot, order_lines

    problems = _draft_problems(draft)
    if actor.is_kiosk and draft.payment_method is PaymentMethod.PREPAID_CREDIT:
        # The reseller's credit is the reseller's to spend, never a walk-in customer's.
        problems.append(_("The reseller's prepaid credit cannot be used from a kiosk."))
    if problems:
        raise RenewalRefused("\n".join(problems))
    assert draft.payment_method is not None
    try:
        with write_session(engine) as session:
            order = _load_own_order(session, actor, draft.order_id, lock=True)
            _check_holder(order, draft)
            if order.status != OrderStatus.DRAFT.value:
                raise RenewalRefused(_("This order has already been confirmed or discarded."))
            ids = [i.mailbox_id for i in draft.items]
            mailboxes = {
                m.id: m for m in session.exec(select(Mailbox).where(col(Mailbox.id).in_(ids))).all()
            }
            for item in draft.items:
                mailbox = mailboxes.get(item.mailbox_id)
                if mailbox is None:
                    raise RenewalRefused(
                        _("{address} no longer exists.").format(address=item.address)
                    )
                _check_mailbox_access(actor, mailbox)
                verdict = renewability(mailbox.expiry, today, mailbox.auto_renew)
                if not verdict.allowed:
                    raise RenewalRefused(f"{mailbox.address}: {verdict.reason}")
            prices = load_price_list(session)
            q = draft.quote(prices)
            now = utcnow()
            holder_row = (
                _apply_holder(session, actor, normalise_holder(draft.holder))
                if draft.holder
                else None
            )
            # Reserve the mailboxes first: a concurrent confirmation fails here, cleanly.
            for item in draft.items:
                session.add(OpenRenewal(mailbox_id=item.mailbox_id, order_id=order.id))
            session.flush()
            order.number = next_order_number(session)
            order.status = OrderStatus.AWAITING_PAYMENT.value
            order.confirmed_at = now
            order.updated_at = now
            order.years = draft.years
            order.payment_method = draft.payment_method.value
            order.auto_renew = draft.auto_renew
            order.signature_kit = draft.kit.value if draft.kit else None
            order.net_cents, order.vat_cents, order.gross_cents = (
                to_cents(q.net),
                to_cents(q.vat),
                to_cents(q.gross),
            )
            who = actor.name
            order.consent_terms_at = order.consent_clauses_at = order.consent_privacy_at = now
            order.consent_terms_by = order.consent_clauses_by = order.consent_privacy_by = who
            order.holder_snapshot = (
                holder_snapshot(holder_row) if holder_row else {"billed_to": draft.billed_to}
            )
            order.draft_state = _to_json(replace(draft, step=Step.DONE))
            session.add(order)
            session.add_all(order_lines(order.id, q, [i.choice() for i in draft.items]))
            audit.record(
                session,
                actor,
                "order.confirm",
                "order",
                order.id,
                {
                    "number": order.number,
                    "gross": str(q.gross),
                    "consents": {"terms": True, "clauses": True, "privacy": True, "by": who},
                    "mailboxes": [i.address for i in draft.items],
                },
            )
            instructions = payment_instructions(
                draft.payment_method, order.number, q.gross, iban, beneficiary
            )
            email_to = _recipient(session, draft, holder_row, order)
            notifications.queue_order_confirmation(session, order, q, draft, email_to, instructions)
            number, order_id = order.number, order.id
    except IntegrityError as exc:
        with Session(engine) as session:
            open_numbers = _open_order_numbers(session, [i.mailbox_id for i in draft.items])
        if open_numbers:
            by_id = {i.mailbox_id: i.address for i in draft.items}
            mailbox_id, other = next(iter(sorted(open_numbers.items())))
            raise RenewalRefused(
                _(
                    "{address} already has an open order, no. {number}: pay or cancel it first."
                ).format(address=by_id[mailbox_id], number=other)
            ) from exc
        raise
    paid = False
    if draft.payment_method is PaymentMethod.PREPAID_CREDIT:
        from pec_tui.services import payments

        paid = payments.pay_with_credit(engine, actor, order_id, today)
    return ConfirmedOrder(
        order_id=order_id,
        number=number,
        quote=q,
        payment_method=draft.payment_method,
        payment_instructions=instructions,
        email_to=email_to,
        paid=paid,
    )


def _recipient(session: Session, draft: Draft, holder: Holder | None, order: Order) -> str:
    if holder is not None:
        return holder.reference_email
    reseller = session.get(Reseller, order.reseller_id) if order.reseller_id else None
    return (reseller.email if reseller and reseller.email else "") or ""


def count_open_orders(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(OpenRenewal)).one()
