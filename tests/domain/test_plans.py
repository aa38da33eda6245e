"""Plans, their space and features, and the plan-change rules at renewal."""

from __future__ import annotations

from pec_tui.domain.enums import Plan
from pec_tui.domain.plan_change import evaluate_plan_change
from pec_tui.domain.plans import PLANS, clamp_extra


def test_plan_table_matches_the_portal():
    std, pro, premium = PLANS[Plan.STANDARD], PLANS[Plan.PRO], PLANS[Plan.PREMIUM]
    assert (std.total_gb, std.mailbox_gb, std.archive_gb) == (1, 1, 0)
    assert (pro.total_gb, pro.mailbox_gb, pro.archive_gb) == (5, 2, 3)
    assert (premium.total_gb, premium.mailbox_gb, premium.archive_gb) == (10, 2, 8)
    assert not std.has_archive and not std.has_sms
    assert pro.has_archive and premium.has_sms
    assert all(p.has_mobile_app and p.has_antivirus and p.has_antispam for p in PLANS.values())
    assert std.max_extra_mailbox_gb == 1 and std.max_extra_archive_gb == 0


def test_clamp_extra_on_plan_change():
    assert clamp_extra(Plan.STANDARD, 4, 3) == (1, 0)
    assert clamp_extra(Plan.PRO, 4, 3) == (4, 3)


def test_upgrade_loses_nothing():
    change = evaluate_plan_change(Plan.STANDARD, Plan.PRO, 900, 0)
    assert change.allowed and change.is_upgrade and not change.deletes_archive


def test_downgrade_to_standard_deletes_the_archive_and_must_be_confirmed():
    change = evaluate_plan_change(Plan.PREMIUM, Plan.STANDARD, 500, 3000)
    assert change.allowed and change.is_downgrade and change.deletes_archive


def test_downgrade_refused_when_used_space_exceeds_new_mailbox():
    change = evaluate_plan_change(Plan.PRO, Plan.STANDARD, 1800, 0)
    assert not change.allowed and "GB" in change.reason
    bought = evaluate_plan_change(Plan.PRO, Plan.STANDARD, 1800, 0, extra_mailbox_gb=1)
    assert bought.allowed


def test_premium_to_pro_refused_when_archive_too_full_unless_extra_bought():
    refused = evaluate_plan_change(Plan.PREMIUM, Plan.PRO, 100, 5 * 1024)
    assert not refused.allowed and refused.reason
    assert evaluate_plan_change(Plan.PREMIUM, Plan.PRO, 100, 5 * 1024, 0, 2).allowed


def test_same_plan_is_neither_up_nor_down():
    change = evaluate_plan_change(Plan.PRO, Plan.PRO, 100, 100)
    assert change.allowed and not change.is_upgrade and not change.is_downgrade
