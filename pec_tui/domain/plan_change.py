"""What happens to a mailbox whose plan or extra space changes at renewal."""

from __future__ import annotations

from dataclasses import dataclass

from pec_tui.domain.enums import Plan
from pec_tui.domain.plans import PLANS
from pec_tui.i18n import _


@dataclass(frozen=True)
class PlanChange:
    allowed: bool
    # The security archive is switched off and every archived message deleted: confirm first.
    deletes_archive: bool = False
    is_upgrade: bool = False
    is_downgrade: bool = False
    reason: str | None = None


def mb_to_gb_text(mb: int) -> str:
    return f"{mb / 1024:.1f}".replace(".", ",") if mb % 1024 else str(mb // 1024)


@dataclass(frozen=True, slots=True)
class ChangeLimits:
    """What decides a change of plan whatever the mailbox holds: the space its messages must
    fit in, and whether the archive goes. The same for every mailbox making the same change,
    so a draft of tens of thousands of mailboxes works it out once per kind of change."""

    mailbox_capacity_mb: int
    # None: the new plan has no archive, so nothing archived has to fit.
    archive_capacity_mb: int | None
    deletes_archive: bool

    def fits(self, mailbox_used_mb: int, archive_used_mb: int) -> bool:
        """Whether a mailbox using this much space may make the change."""
        return mailbox_used_mb <= self.mailbox_capacity_mb and (
            self.archive_capacity_mb is None or archive_used_mb <= self.archive_capacity_mb
        )


def change_limits(
    current: Plan, target: Plan, extra_mailbox_gb: int = 0, extra_archive_gb: int = 0
) -> ChangeLimits:
    """The limits of changing `current` to `target` with these extra GB."""
    old, new = PLANS[current], PLANS[target]
    return ChangeLimits(
        new.mailbox_capacity_mb(extra_mailbox_gb),
        new.archive_capacity_mb(extra_archive_gb) if new.has_archive else None,
        old.has_archive and not new.has_archive,
    )


def evaluate_plan_change(
    current: Plan,
    target: Plan,
    mailbox_used_mb: int,
    archive_used_mb: int,
    extra_mailbox_gb: int = 0,
    extra_archive_gb: int = 0,
) -> PlanChange:
    """Allowed or refused (with the reason); flags a change that deletes the archive."""
    old, new = PLANS[current], PLANS[target]
    limits = change_limits(current, target, extra_mailbox_gb, extra_archive_gb)
    mailbox_capacity = limits.mailbox_capacity_mb
    if mailbox_used_mb > mailbox_capacity:
        return PlanChange(
            False,
            is_downgrade=new.rank < old.rank,
            reason=_(
                "The mailbox already uses {used} GB but {plan} with {extra} extra GB offers "
                "{capacity} GB: buy at least {missing} extra GB or keep a larger plan."
            ).format(
                used=mb_to_gb_text(mailbox_used_mb),
                plan=target.value,
                extra=extra_mailbox_gb,
                capacity=mailbox_capacity // 1024,
                missing=-(-(mailbox_used_mb - new.mailbox_capacity_mb()) // 1024),
            ),
        )
    if limits.archive_capacity_mb is not None and archive_used_mb > limits.archive_capacity_mb:
        return PlanChange(
            False,
            is_downgrade=True,
            reason=_(
                "The security archive already holds {used} GB but {plan} with {extra} extra GB "
                "offers {capacity} GB: buy at least {missing} extra archive GB."
            ).format(
                used=mb_to_gb_text(archive_used_mb),
                plan=target.value,
                extra=extra_archive_gb,
                capacity=limits.archive_capacity_mb // 1024,
                missing=-(-(archive_used_mb - new.archive_capacity_mb()) // 1024),
            ),
        )
    return PlanChange(
        True,
        deletes_archive=limits.deletes_archive,
        is_upgrade=new.rank > old.rank,
        is_downgrade=new.rank < old.rank,
    )
