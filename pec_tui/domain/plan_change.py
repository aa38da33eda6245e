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
    mailbox_capacity = new.mailbox_capacity_mb(extra_mailbox_gb)
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
    deletes_archive = old.has_archive and not new.has_archive
    if new.has_archive and archive_used_mb > new.archive_capacity_mb(extra_archive_gb):
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
                capacity=new.archive_capacity_mb(extra_archive_gb) // 1024,
                missing=-(-(archive_used_mb - new.archive_capacity_mb()) // 1024),
            ),
        )
    return PlanChange(
        True,
        deletes_archive=deletes_archive,
        is_upgrade=new.rank > old.rank,
        is_downgrade=new.rank < old.rank,
    )
