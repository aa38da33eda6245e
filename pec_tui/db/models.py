"""SQLModel tables for the whole product: book of mailboxes, orders to payment, operators, audit.

Enumerations are stored as their string values (see `pec_tui.domain.enums`); money as integer
cents; dates as dates; timestamps as timezone-aware UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, Column, Index, Table, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class _Table(SQLModel):
    """Base of the tables.

    Declares the `__table__` SQLAlchemy gives every table class, for the type checker. The
    ids are typed `int`, not `int | None`: a row read from the database always has one, and
    a new row has it once flushed (`Field(default=None)` lets the database assign it).
    """

    __table__: ClassVar[Table]


class Reseller(_Table, table=True):
    __tablename__ = "reseller"

    id: int = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    vat_number: str | None = Field(default=None, max_length=13, unique=True)
    email: str | None = Field(default=None, max_length=254)
    credit_cents: int = Field(default=0, sa_type=BigInteger)
    created_at: datetime = Field(default_factory=utcnow)
    version: int = Field(default=1)


class CreditMovement(_Table, table=True):
    """Every change of a reseller's prepaid credit: top-ups (+) and payments (-)."""

    __tablename__ = "credit_movement"

    id: int = Field(default=None, primary_key=True)
    reseller_id: int = Field(foreign_key="reseller.id", index=True)
    amount_cents: int = Field(sa_type=BigInteger)
    balance_after_cents: int = Field(sa_type=BigInteger)
    order_id: int | None = Field(default=None, foreign_key="orders.id")
    operator_id: int | None = Field(default=None, foreign_key="operator.id")
    note: str | None = Field(default=None, max_length=300)
    at: datetime = Field(default_factory=utcnow)


class Operator(_Table, table=True):
    __tablename__ = "operator"

    id: int = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    full_name: str = Field(default="", max_length=200)
    role: str = Field(max_length=16)
    reseller_id: int | None = Field(default=None, foreign_key="reseller.id", index=True)
    password_hash: str = Field(max_length=200)
    token_hash: str | None = Field(default=None, max_length=200)
    # A token stops working at this moment (`operators token --expires`, default 90 days).
    token_expires_at: datetime | None = None
    failed_logins: int = Field(default=0)
    locked_until: datetime | None = None
    disabled: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow)
    last_login_at: datetime | None = None
    version: int = Field(default=1)


class Holder(_Table, table=True):
    """The titolare of one or more mailboxes, with billing (e-invoicing) data."""

    __tablename__ = "holder"
    __table_args__ = (
        Index("ix_holder_reseller_name", "reseller_id", "display_name"),
        Index("ix_holder_name", "display_name"),
    )

    id: int = Field(default=None, primary_key=True)
    reseller_id: int | None = Field(default=None, foreign_key="reseller.id")
    kind: str = Field(max_length=32)
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    company_name: str | None = Field(default=None, max_length=200)
    display_name: str = Field(max_length=200)
    codice_fiscale: str | None = Field(default=None, max_length=16, index=True)
    partita_iva: str | None = Field(default=None, max_length=11, index=True)
    street: str | None = Field(default=None, max_length=200)
    cap: str | None = Field(default=None, max_length=5)
    city: str | None = Field(default=None, max_length=100)
    province: str | None = Field(default=None, max_length=2)
    country: str = Field(default="IT", max_length=2)
    reference_email: str = Field(max_length=254)
    phone: str | None = Field(default=None, max_length=30)
    # Dati fatturazione
    sdi_code: str | None = Field(default=None, max_length=7)
    billing_pec: str | None = Field(default=None, max_length=254)
    pa_office_code: str | None = Field(default=None, max_length=6)
    cig: str | None = Field(default=None, max_length=10)
    cup: str | None = Field(default=None, max_length=15)
    split_payment: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    version: int = Field(default=1)


# The columns of mailbox's two expiry indexes (after `reseller_id` in the second).
RENEWAL_INDEX_COLUMNS = (
    "expiry",
    "id",
    "auto_renew",
    "plan",
    "extra_mailbox_gb",
    "extra_archive_gb",
)


class Mailbox(_Table, table=True):
    __tablename__ = "mailbox"
    __table_args__ = (
        # Keyset paging by (expiry, id) and, covering, the dashboard's expiries per month with
        # their value, the 3-month selection's count (auto_renew read from the index) and the
        # lifecycle job's windows. One index for all of them (and one with the reseller in
        # front): a payment changes the expiry of every mailbox it renews, and each index
        # holding the expiry is written once per mailbox (migration 0009).
        Index("ix_mailbox_expiry_id", *RENEWAL_INDEX_COLUMNS),
        Index("ix_mailbox_reseller_expiry_id", "reseller_id", *RENEWAL_INDEX_COLUMNS),
        Index("ix_mailbox_holder", "holder_id"),
        # A reseller's book sorted by address.
        Index("ix_mailbox_reseller_address", "reseller_id", "address"),
    )

    id: int = Field(default=None, primary_key=True)
    # Stored lower-case: the unique index also serves prefix search.
    address: str = Field(max_length=254, unique=True)
    holder_id: int = Field(foreign_key="holder.id")
    reseller_id: int | None = Field(default=None, foreign_key="reseller.id")
    plan: str = Field(max_length=10)
    expiry: date
    auto_renew: bool = Field(default=False)
    renewal_years: int = Field(default=1)
    payment_method: str | None = Field(default=None, max_length=16)
    mailbox_used_mb: int = Field(default=0)
    archive_used_mb: int = Field(default=0)
    extra_mailbox_gb: int = Field(default=0)
    extra_archive_gb: int = Field(default=0)
    promo: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow)
    version: int = Field(default=1)


class PriceListItem(_Table, table=True):
    __tablename__ = "price_list"

    code: str = Field(primary_key=True, max_length=32)
    amount_cents: int
    updated_at: datetime = Field(default_factory=utcnow)
    updated_by: str | None = Field(default=None, max_length=64)


class Counter(_Table, table=True):
    """Named counters (order numbers): incremented with a row lock, so unique under concurrency."""

    __tablename__ = "counter"

    name: str = Field(primary_key=True, max_length=32)
    value: int = Field(sa_type=BigInteger)


class Order(_Table, table=True):
    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_status_created", "status", "created_at"),
        Index("ix_orders_holder", "holder_id", "created_at"),
        Index("ix_orders_reseller_created", "reseller_id", "created_at"),
        # The dashboard: the ids of a reseller's orders (index-only on PostgreSQL too), and
        # the orders awaiting payment by age (covering: the rows are wide).
        Index("ix_orders_reseller_id", "reseller_id", "id"),
        Index(
            "ix_orders_status_reseller_confirmed",
            "status",
            "reseller_id",
            "confirmed_at",
            "created_at",
            "net_cents",
            "gross_cents",
        ),
    )

    id: int = Field(default=None, primary_key=True)
    # Assigned only at confirmation: 10 digits from 1000000000.
    number: int | None = Field(default=None, sa_type=BigInteger, unique=True)
    type: str = Field(max_length=10)
    status: str = Field(max_length=10)
    holder_id: int | None = Field(default=None, foreign_key="holder.id")
    reseller_id: int | None = Field(default=None, foreign_key="reseller.id")
    operator_id: int | None = Field(default=None, foreign_key="operator.id")
    terminal: str | None = Field(default=None, max_length=100)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    confirmed_at: datetime | None = None
    paid_at: datetime | None = None
    cancelled_at: datetime | None = None
    years: int = Field(default=1)
    payment_method: str | None = Field(default=None, max_length=16)
    auto_renew: bool = Field(default=False)
    signature_kit: str | None = Field(default=None, max_length=16)
    net_cents: int = Field(default=0, sa_type=BigInteger)
    vat_cents: int = Field(default=0, sa_type=BigInteger)
    gross_cents: int = Field(default=0, sa_type=BigInteger)
    consent_terms_at: datetime | None = None
    consent_terms_by: str | None = Field(default=None, max_length=100)
    consent_clauses_at: datetime | None = None
    consent_clauses_by: str | None = Field(default=None, max_length=100)
    consent_privacy_at: datetime | None = None
    consent_privacy_by: str | None = Field(default=None, max_length=100)
    # Holder and billing data as confirmed for this order (the invoice must not change later).
    holder_snapshot: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    # Where a draft stands in the flow and the choices made so far (resumed after a crash).
    draft_state: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    auto_generated: bool = Field(default=False)
    # Begun at the self-service kiosk: such a draft is the kiosk's, never offered to operators.
    kiosk: bool = Field(default=False)
    # The lease of a draft: the terminal identity of the session working on it, until when.
    # Renewed while the flow is open; past `lease_until` the session is taken for dead and
    # the draft is offered back. No holder: a draft kept for later, free for anyone.
    lease_holder: str | None = Field(default=None, max_length=100)
    lease_until: datetime | None = None
    version: int = Field(default=1)


class OrderLine(_Table, table=True):
    __tablename__ = "order_line"
    __table_args__ = (Index("ix_order_line_order", "order_id"),)

    id: int = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id")
    mailbox_id: int | None = Field(default=None, foreign_key="mailbox.id", index=True)
    address: str | None = Field(default=None, max_length=254)
    item: str = Field(max_length=32)
    description: str = Field(max_length=300)
    quantity: int = Field(default=1)
    years: int = Field(default=1)
    unit_cents: int = Field(sa_type=BigInteger)
    total_cents: int = Field(sa_type=BigInteger)
    # For plan lines: what the mailbox becomes once the order is paid.
    plan: str | None = Field(default=None, max_length=10)
    previous_plan: str | None = Field(default=None, max_length=10)
    extra_mailbox_gb: int = Field(default=0)
    extra_archive_gb: int = Field(default=0)


class OpenRenewal(_Table, table=True):
    """At most one open (unconfirmed-payment) order per mailbox, enforced by the primary key."""

    __tablename__ = "open_renewal"

    mailbox_id: int = Field(primary_key=True, foreign_key="mailbox.id")
    order_id: int = Field(foreign_key="orders.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)


class Payment(_Table, table=True):
    __tablename__ = "payment"
    # The dashboard's money paid per month.
    __table_args__ = (Index("ix_payment_paid_on", "paid_on", "order_id", "amount_cents"),)

    id: int = Field(default=None, primary_key=True)
    # One payment settles one order: a second registration is refused by the database itself.
    order_id: int = Field(foreign_key="orders.id", unique=True)
    amount_cents: int = Field(sa_type=BigInteger)
    method: str = Field(max_length=16)
    paid_on: date
    reference: str | None = Field(default=None, max_length=140)
    operator_id: int | None = Field(default=None, foreign_key="operator.id")
    registered_at: datetime = Field(default_factory=utcnow)


class SentNotice(_Table, table=True):
    """Reminders and lifecycle notices already sent, once per mailbox, kind and expiry date."""

    __tablename__ = "sent_notice"
    # In the lifecycle job's page order (one kind, then expiry, mailbox): a page's rows go to a
    # few leaves of the index instead of one each (migration 0013).
    __table_args__ = (UniqueConstraint("kind", "expiry", "mailbox_id", name="uq_notice_once"),)

    id: int = Field(default=None, primary_key=True)
    mailbox_id: int = Field(foreign_key="mailbox.id")
    kind: str = Field(max_length=24)
    expiry: date
    sent_on: date
    created_at: datetime = Field(default_factory=utcnow)


class OutboxMessage(_Table, table=True):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_id", "status", "id"),)

    id: int = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    to_address: str = Field(max_length=254)
    subject: str = Field(max_length=300)
    message: str  # the whole RFC 5322 message as built by the email package
    # Its Message-ID header, fixed when queued: a message sent twice (a flush killed between
    # delivering and recording it) carries the same one, so the duplicate is recognisable.
    message_id: str | None = Field(default=None, max_length=250)
    order_id: int | None = Field(default=None, foreign_key="orders.id")
    mailbox_id: int | None = Field(default=None, foreign_key="mailbox.id")
    # queued, sending (claimed by a flush), sent, failed (refused for good: see last_error)
    status: str = Field(default="queued", max_length=10)
    attempts: int = Field(default=0)
    last_error: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None
    # A queued message is not tried before this (growing delays after temporary failures).
    next_attempt_at: datetime | None = None
    # When a flush claimed it: a `sending` message whose claim is older than the lease
    # belongs to a flush that died, and is delivered again.
    claimed_at: datetime | None = None


class AuditEvent(_Table, table=True):
    """Append-only trail of who did what, when, from which terminal."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_at", "at"),
        Index("ix_audit_entity", "entity", "entity_id"),
    )

    id: int = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow)
    operator_id: int | None = Field(default=None, foreign_key="operator.id")
    actor: str = Field(max_length=100)
    terminal: str | None = Field(default=None, max_length=100)
    action: str = Field(max_length=40)
    entity: str | None = Field(default=None, max_length=40)
    entity_id: str | None = Field(default=None, max_length=64)
    reseller_id: int | None = Field(default=None, foreign_key="reseller.id")
    details: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    outcome: str = Field(default="ok", max_length=10)


class InvoiceIssuer(_Table, table=True):
    """The cedente/prestatore of every invoice: one row (id 1), set by an administrator."""

    __tablename__ = "invoice_issuer"

    id: int = Field(default=None, primary_key=True)
    name: str = Field(max_length=80)
    vat_number: str = Field(max_length=11)
    codice_fiscale: str | None = Field(default=None, max_length=16)
    regime_fiscale: str = Field(default="RF01", max_length=4)
    street: str = Field(max_length=60)
    cap: str = Field(max_length=5)
    city: str = Field(max_length=60)
    province: str | None = Field(default=None, max_length=2)
    country: str = Field(default="IT", max_length=2)
    rea_office: str | None = Field(default=None, max_length=2)
    rea_number: str | None = Field(default=None, max_length=20)
    transmitter_country: str = Field(default="IT", max_length=2)
    transmitter_code: str | None = Field(default=None, max_length=28)
    email: str | None = Field(default=None, max_length=254)
    updated_at: datetime = Field(default_factory=utcnow)
    updated_by: str | None = Field(default=None, max_length=64)
    version: int = Field(default=1)


class Invoice(_Table, table=True):
    """An electronic invoice (TD01) of a paid order, or the credit note (TD04) of its refund.

    Numbered without gaps within its calendar year (`year`, `number`); one of each type per
    order. An invoice that does not validate is kept `da_correggere` with `reason` and no XML,
    and regenerated with the same number and date once the data are fixed."""

    __tablename__ = "invoice"
    __table_args__ = (
        UniqueConstraint("year", "number", name="uq_invoice_year_number"),
        UniqueConstraint("order_id", "document_type", name="uq_invoice_order_type"),
        Index("ix_invoice_issued", "issued_on", "id"),
        Index("ix_invoice_reseller_issued", "reseller_id", "issued_on"),
        Index("ix_invoice_status", "status"),
    )

    id: int = Field(default=None, primary_key=True)
    year: int
    number: int
    document_type: str = Field(max_length=4)
    order_id: int = Field(foreign_key="orders.id")
    # The invoice a credit note reverses.
    related_invoice_id: int | None = Field(default=None, foreign_key="invoice.id")
    reseller_id: int | None = Field(default=None, foreign_key="reseller.id")
    holder_id: int | None = Field(default=None, foreign_key="holder.id")
    issued_on: date
    status: str = Field(max_length=16)
    reason: str | None = None
    buyer_name: str = Field(default="", max_length=200)
    # The buyer as invoiced (FatturaPA cessionario) and the lines with their periods.
    buyer: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    lines: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    net_cents: int = Field(sa_type=BigInteger)
    vat_cents: int = Field(sa_type=BigInteger)
    gross_cents: int = Field(sa_type=BigInteger)
    payment_method: str = Field(max_length=16)
    paid_on: date
    file_name: str | None = Field(default=None, max_length=64)
    xml: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    version: int = Field(default=1)
