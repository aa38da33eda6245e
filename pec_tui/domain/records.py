"""Plain frozen records handed from services to screens and widgets (never live ORM rows)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from pec_tui.domain.enums import MailboxState, Plan
from pec_tui.domain.lifecycle import Renewability, renewability, state_of
from pec_tui.domain.plans import PLANS


@dataclass(frozen=True, slots=True)
class MailboxRow:
    id: int
    address: str
    holder_id: int
    holder_name: str
    plan: Plan
    expiry: date
    auto_renew: bool
    mailbox_used_mb: int
    archive_used_mb: int
    extra_mailbox_gb: int
    extra_archive_gb: int
    promo: bool
    reseller_id: int | None = None
    renewal_years: int = 1
    payment_method: str | None = None
    # The number of the open order (awaiting payment) that holds the mailbox, if any.
    open_order: int | None = None

    def state(self, today: date) -> MailboxState:
        return state_of(self.expiry, today)

    @property
    def used_percent(self) -> int:
        capacity = PLANS[self.plan].mailbox_capacity_mb(self.extra_mailbox_gb)
        return min(100, round(100 * self.mailbox_used_mb / capacity)) if capacity else 0

    def renewable(self, today: date) -> bool:
        return self.renewability(today).allowed

    def renewability(self, today: date) -> Renewability:
        return renewability(self.expiry, today, self.auto_renew, self.open_order)


@dataclass(frozen=True, slots=True)
class OrderRow:
    id: int
    number: int | None
    type: str
    status: str
    created_at: datetime
    holder_id: int | None
    holder_name: str
    net: Decimal
    vat: Decimal
    gross: Decimal
    years: int
    payment_method: str | None
    # The reseller whose order it is (its prepaid credit can pay it); None for direct orders.
    reseller_id: int | None = None
