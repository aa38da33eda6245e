"""The three PEC plans, their space and features, and the extra-GB bounds."""

from __future__ import annotations

from dataclasses import dataclass

from pec_tui.domain.enums import Plan

MB_PER_GB = 1024
# The portal puts no number on PRO/PREMIUM steppers; a bound keeps typos from costing a fortune.
MAX_EXTRA_GB = 50


@dataclass(frozen=True)
class PlanSpec:
    plan: Plan
    mailbox_gb: int
    archive_gb: int
    max_extra_mailbox_gb: int
    max_extra_archive_gb: int
    rank: int

    @property
    def total_gb(self) -> int:
        return self.mailbox_gb + self.archive_gb

    @property
    def has_archive(self) -> bool:
        """Archivio di sicurezza and SMS notification of unread PEC come with PRO and PREMIUM."""
        return self.archive_gb > 0

    @property
    def has_sms(self) -> bool:
        return self.has_archive

    # Every plan has the mobile app, antivirus and antispam.
    has_mobile_app = True
    has_antivirus = True
    has_antispam = True

    def mailbox_capacity_mb(self, extra_gb: int = 0) -> int:
        return (self.mailbox_gb + extra_gb) * MB_PER_GB

    def archive_capacity_mb(self, extra_gb: int = 0) -> int:
        return (self.archive_gb + extra_gb) * MB_PER_GB if self.has_archive else 0


PLANS: dict[Plan, PlanSpec] = {
    Plan.STANDARD: PlanSpec(Plan.STANDARD, 1, 0, 1, 0, rank=0),
    Plan.PRO: PlanSpec(Plan.PRO, 2, 3, MAX_EXTRA_GB, MAX_EXTRA_GB, rank=1),
    Plan.PREMIUM: PlanSpec(Plan.PREMIUM, 2, 8, MAX_EXTRA_GB, MAX_EXTRA_GB, rank=2),
}


def spec(plan: Plan | str) -> PlanSpec:
    return PLANS[Plan(plan)]


def clamp_extra(plan: Plan, mailbox_gb: int, archive_gb: int) -> tuple[int, int]:
    """Bring extra GB within what `plan` allows (used when the plan changes under a stepper)."""
    s = PLANS[plan]
    return (
        max(0, min(mailbox_gb, s.max_extra_mailbox_gb)),
        max(0, min(archive_gb, s.max_extra_archive_gb)),
    )
