"""`pec-tui lifecycle run` refuses future days and non-administrators; `--dry-run` counts."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from argon2 import PasswordHasher
from book_builder import add_holder, add_mailbox, add_reseller, get
from click.testing import CliRunner
from sqlmodel import Session, func, select

from pec_tui.cli import EXIT_REFUSED, main
from pec_tui.db.models import AuditEvent, Order, OutboxMessage, Reseller, SentNotice
from pec_tui.services import auth

REAL_TODAY = date.today()
# A past day (catching up is allowed), far enough back to be stable.
PAST = date(2026, 6, 1)


@pytest.fixture(autouse=True)
def _fast_hashing(monkeypatch):
    monkeypatch.setattr(
        auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture
def cli(db_url):
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, **env: str):
        return runner.invoke(
            main, ["--database-url", db_url, *args], input=input, env=env, catch_exceptions=False
        )

    return invoke


def _written(engine) -> tuple[int, int, int, int]:
    """Outbox messages, sent notices, orders, and audit events of the job."""
    with Session(engine) as session:
        return (
            session.exec(select(func.count()).select_from(OutboxMessage)).one(),
            session.exec(select(func.count()).select_from(SentNotice)).one(),
            session.exec(select(func.count()).select_from(Order)).one(),
            session.exec(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "lifecycle.run")
            ).one(),
        )


def _book(engine, day: date) -> int:
    """One mailbox for each action of the job on `day`; returns the reseller (with credit)."""
    reseller = add_reseller(engine, credit_cents=100_000)
    holder = add_holder(engine, reseller_id=reseller)

    def box(name: str, offset: int, **fields) -> None:
        add_mailbox(
            engine, holder, f"{name}@pec.it", day + timedelta(days=offset), reseller_id=reseller,
            **fields,
        )  # fmt: skip

    box("r90", 90)
    box("r30a", 30)
    box("r30b", 29)
    box("r7", 7)
    box("suspended", -1)
    box("cancelled", -91)
    box("auto", 7, auto_renew=True, payment_method="credito")
    return reseller


def test_a_future_day_is_refused_in_one_line_and_writes_nothing(cli, engine):
    reseller = _book(engine, REAL_TODAY + timedelta(days=1))
    for day in (REAL_TODAY + timedelta(days=1), date(2028, 6, 1), date(9999, 12, 31)):
        result = cli("lifecycle", "run", "--today", day.isoformat())
        assert result.exit_code == 1, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and day.isoformat() in lines[0] and "Traceback" not in lines[0]
    assert _written(engine) == (0, 0, 0, 0)
    assert get(engine, Reseller, reseller).credit_cents == 100_000


def test_dry_run_counts_any_day_and_writes_nothing(cli, engine):
    future = REAL_TODAY + timedelta(days=400)
    reseller = _book(engine, future)
    result = cli("lifecycle", "run", "--today", future.isoformat(), "--dry-run", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "today": future.isoformat(),
        "dry_run": True,
        "reminders": {"90": 1, "30": 2, "7": 1},
        "suspended_notices": 1,
        "cancelled_notices": 1,
        "renewal_orders": 1,
        "credit_retries": 0,
    }
    text = cli("lifecycle", "run", "--today", future.isoformat(), "--dry-run").output
    assert "2 reminders 30 days before expiry" in text and "1 automatic renewal" in text
    edge = cli("lifecycle", "run", "--today", "9999-12-31", "--dry-run")
    assert edge.exit_code == 0 and "9999-12-31" in edge.output
    assert cli("lifecycle", "run", "--today", "0001-01-01", "--dry-run").exit_code == 0
    assert _written(engine) == (0, 0, 0, 0)
    assert get(engine, Reseller, reseller).credit_cents == 100_000


def test_a_past_day_runs_as_its_dry_run_said_and_only_once(cli, engine):
    _book(engine, PAST)
    preview = json.loads(
        cli("lifecycle", "run", "--today", PAST.isoformat(), "--dry-run", "--format", "json").output
    )
    run = cli("lifecycle", "run", "--today", PAST.isoformat(), "--format", "json")
    assert run.exit_code == 0, run.output
    report = json.loads(run.output)
    assert report["reminders"] == sum(preview["reminders"].values()) == 4
    assert report["suspended_notices"] == preview["suspended_notices"] == 1
    assert report["cancelled_notices"] == preview["cancelled_notices"] == 1
    assert report["renewal_orders"] == preview["renewal_orders"] == 1
    again = json.loads(
        cli("lifecycle", "run", "--today", PAST.isoformat(), "--format", "json").output
    )
    assert (again["reminders"], again["renewal_orders"]) == (0, 0)
    assert cli("lifecycle", "run").exit_code == 0  # the real today


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_only_administrators_and_the_system_may_run_the_job(cli, engine):
    add_input = {"input": "boss-password\n"}
    assert cli("operators", "add", "boss", "--role", "admin", "--password-stdin", **add_input)\
        .exit_code == 0  # fmt: skip
    boss = {"PEC_TUI_PASSWORD": "boss-password"}
    created = cli(
        "--operator", "boss", "operators", "add", "mario", "--role", "backoffice",
        "--password-stdin", input="mario-password\n", **boss,
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    system_token = auth.issue_system_token(
        engine, auth.authenticate(engine, "boss", "boss-password")
    )
    for args in (("lifecycle", "run"), ("lifecycle", "run", "--dry-run")):
        refused = cli("--operator", "mario", *args, PEC_TUI_PASSWORD="mario-password")
        assert refused.exit_code == EXIT_REFUSED, refused.output
        assert cli("--operator", "boss", *args, **boss).exit_code == 0
        assert cli(*args, PEC_TUI_SYSTEM="1").exit_code == EXIT_REFUSED  # not without a token
        assert cli(*args, PEC_TUI_TOKEN=system_token).exit_code == 0
    with Session(engine) as session:
        denied = session.exec(
            select(AuditEvent).where(AuditEvent.outcome == "denied", AuditEvent.actor == "mario")
        ).all()
    assert [e.action for e in denied] == ["lifecycle.run", "lifecycle.run"]
