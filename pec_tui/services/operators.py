"""Managing operators: create, list, change password, disable and enable (administrators).

Every change is audited with what changed — never the password or its hash.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from pec_tui.db.engine import session_scope
from pec_tui.db.models import Counter, Operator, Reseller, utcnow
from pec_tui.domain.enums import Role
from pec_tui.domain.validation import ValidationError
from pec_tui.i18n import _
from pec_tui.services import audit
from pec_tui.services.actor import Actor
from pec_tui.services.auth import (
    check_password,
    check_username,
    hash_password,
    normalise_username,
)
from pec_tui.services.database import DEMO_BOOK_COUNTER, DEMO_OPERATORS_COUNTER
from pec_tui.services.scope import Denied, audit_denials, require_admin


@dataclass(frozen=True, slots=True)
class OperatorRow:
    id: int
    username: str
    full_name: str
    role: Role
    reseller_id: int | None
    reseller_name: str | None
    disabled: bool
    locked_until: datetime | None
    last_login_at: datetime | None
    has_token: bool
    created_at: datetime

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now


def _row(operator: Operator, reseller_name: str | None) -> OperatorRow:
    return OperatorRow(
        id=operator.id,
        username=operator.username,
        full_name=operator.full_name,
        role=Role(operator.role),
        reseller_id=operator.reseller_id,
        reseller_name=reseller_name,
        disabled=operator.disabled,
        locked_until=operator.locked_until,
        last_login_at=operator.last_login_at,
        has_token=operator.token_hash is not None,
        created_at=operator.created_at,
    )


def _load(session: Session, username: str, lock: bool = True) -> Operator:
    name = normalise_username(username)
    stmt = select(Operator).where(Operator.username == name)
    operator = session.exec(stmt.with_for_update() if lock else stmt).first()
    if operator is None:
        raise LookupError(_("There is no operator {name}.").format(name=name))
    return operator


def _reseller_name(session: Session, reseller_id: int | None) -> str | None:
    if reseller_id is None:
        return None
    reseller = session.get(Reseller, reseller_id)
    return reseller.name if reseller else None


@audit_denials("operator.list")
def list_operators(engine: Engine, actor: Actor) -> list[OperatorRow]:
    """Every operator, by username (administrators only)."""
    require_admin(actor, "operator.list")
    with Session(engine) as session:
        rows = session.exec(
            select(Operator, Reseller.name)
            .join(Reseller, col(Reseller.id) == Operator.reseller_id, isouter=True)
            .order_by(Operator.username)
        ).all()
        return [_row(operator, name) for operator, name in rows]


@audit_denials("operator.create")
def create_operator(
    engine: Engine,
    actor: Actor,
    username: str,
    password: str,
    role: Role,
    reseller_id: int | None = None,
    full_name: str = "",
) -> OperatorRow:
    """A new operator; a reseller operator belongs to exactly one reseller, others to none."""
    require_admin(actor, "operator.create")
    name = check_username(username)
    check_password(password, name)
    role = Role(role)
    if role is Role.RESELLER and reseller_id is None:
        raise ValidationError(
            _("A reseller operator needs the reseller it works for."), "reseller_id"
        )
    if role is not Role.RESELLER and reseller_id is not None:
        raise ValidationError(_("Only a reseller operator belongs to a reseller."), "reseller_id")
    with session_scope(engine) as session:
        if reseller_id is not None and session.get(Reseller, reseller_id) is None:
            raise ValidationError(
                _("There is no reseller {id}.").format(id=reseller_id), "reseller_id"
            )
        taken = session.exec(select(Operator.id).where(Operator.username == name)).first()
        if taken is not None:
            raise ValidationError(
                _("The username {name} is already taken.").format(name=name), "username"
            )
        operator = Operator(
            username=name,
            full_name=full_name.strip(),
            role=role.value,
            reseller_id=reseller_id,
            password_hash=hash_password(password),
        )
        session.add(operator)
        session.flush()
        audit.record(
            session,
            actor,
            "operator.create",
            "operator",
            operator.id,
            {
                "username": name,
                "role": role.value,
                "reseller_id": reseller_id,
                "full_name": operator.full_name,
            },
        )
        return _row(operator, _reseller_name(session, reseller_id))


@audit_denials("operator.password")
def change_password(engine: Engine, actor: Actor, username: str, new_password: str) -> None:
    """Set a new password: administrators for anyone, every operator for themself.

    An administrator's reset also lifts a lockout (the usual way out of one).
    """
    name = normalise_username(username)
    if actor.operator_id is None or name != actor.name:
        require_admin(actor, "operator.password")
    check_password(new_password, name)
    with session_scope(engine) as session:
        operator = _load(session, name)
        changed = ["password"]
        if operator.locked_until is not None or operator.failed_logins:
            operator.locked_until = None
            operator.failed_logins = 0
            changed.append("lockout cleared")
        operator.password_hash = hash_password(new_password)
        if operator.token_hash is not None:  # a new password ends the script token too
            operator.token_hash = None
            operator.token_expires_at = None
            changed.append("token revoked")
        operator.version += 1
        session.add(operator)
        audit.record(
            session,
            actor,
            "operator.password",
            "operator",
            operator.id,
            {"username": name, "changed": changed},
        )


@audit_denials("operator.disable")
def disable_operator(engine: Engine, actor: Actor, username: str) -> bool:
    """Refuse every later sign-in of `username`; False when already disabled.

    Administrators cannot disable themselves nor the last enabled administrator.
    """
    require_admin(actor, "operator.disable")
    with session_scope(engine) as session:
        operator = _load(session, username)
        if operator.disabled:
            return False
        if operator.id == actor.operator_id:
            raise Denied(_("You cannot disable your own account."), "operator.disable")
        if operator.role == Role.ADMIN.value and _enabled_admins(session) <= 1:
            raise Denied(
                _("This is the last enabled administrator: it cannot be disabled."),
                "operator.disable",
            )
        return _set_disabled(session, actor, operator, True)


@audit_denials("operator.enable")
def enable_operator(engine: Engine, actor: Actor, username: str) -> bool:
    """Allow `username` to sign in again; False when it was not disabled."""
    require_admin(actor, "operator.enable")
    with session_scope(engine) as session:
        operator = _load(session, username)
        if not operator.disabled:
            return False
        return _set_disabled(session, actor, operator, False)


def _enabled_admins(session: Session) -> int:
    return session.exec(
        select(func.count())
        .select_from(Operator)
        .where(Operator.role == Role.ADMIN.value, col(Operator.disabled).is_(False))
    ).one()


def _set_disabled(session: Session, actor: Actor, operator: Operator, disabled: bool) -> bool:
    operator.disabled = disabled
    if disabled:  # enabling the operator again does not bring the token back
        operator.token_hash = None
        operator.token_expires_at = None
    operator.version += 1
    session.add(operator)
    audit.record(
        session,
        actor,
        "operator.disable" if disabled else "operator.enable",
        "operator",
        operator.id,
        {
            "username": operator.username,
            "changed": {"disabled": {"old": not disabled, "new": disabled}},
        },
    )
    return True


@dataclass
class OperatorAdmin:
    """The operators screen's handle: one database, one acting administrator."""

    engine: Engine
    actor: Actor

    def list(self) -> Sequence[OperatorRow]:
        return list_operators(self.engine, self.actor)

    def create(
        self,
        username: str,
        password: str,
        role: Role,
        reseller_id: int | None = None,
        full_name: str = "",
    ) -> OperatorRow:
        return create_operator(
            self.engine, self.actor, username, password, role, reseller_id, full_name
        )

    def disable(self, username: str) -> bool:
        return disable_operator(self.engine, self.actor, username)

    def enable(self, username: str) -> bool:
        return enable_operator(self.engine, self.actor, username)

    def change_password(self, username: str, new_password: str) -> None:
        change_password(self.engine, self.actor, username, new_password)

    def now(self) -> datetime:
        return utcnow()

    @staticmethod
    def check_username(username: str) -> str:
        return check_username(username)

    @staticmethod
    def check_password(password: str, username: str | None = None) -> None:
        check_password(password, username)


@dataclass(frozen=True)
class DemoCredential:
    username: str
    password: str
    role: Role
    reseller: str | None


def create_demo_operators(engine: Engine, actor: Actor) -> list[DemoCredential]:
    """On a demo database without operators: an administrator, a back-office operator and
    one operator for each of the first two resellers, with fresh random passwords (shown once).
    """
    require_admin(actor, "operator.create")
    with Session(engine) as session:
        if session.exec(select(Operator.id)).first() is not None:
            return []
        resellers = session.exec(select(Reseller).order_by(col(Reseller.id)).limit(2)).all()
        wanted = [
            ("admin", Role.ADMIN, None, None, _("Demo administrator")),
            ("backoffice", Role.BACK_OFFICE, None, None, _("Demo back office")),
        ] + [
            (f"rivenditore{n}", Role.RESELLER, r.id, r.name, r.name)
            for n, r in enumerate(resellers, start=1)
        ]
    credentials = []
    for username, role, reseller_id, reseller_name, full_name in wanted:
        password = secrets.token_urlsafe(9)
        create_operator(engine, actor, username, password, role, reseller_id, full_name)
        credentials.append(DemoCredential(username, password, role, reseller_name))
    return credentials


def demo_operators(engine: Engine) -> list[DemoCredential]:
    """The enabled operators `pec-tui demo` made, on a database it filled; [] elsewhere.

    The passwords are not known (only their hashes are kept): `password` is empty.
    """
    with Session(engine) as session:
        marks = dict(
            session.exec(
                select(Counter.name, Counter.value).where(
                    col(Counter.name).in_((DEMO_BOOK_COUNTER, DEMO_OPERATORS_COUNTER))
                )
            ).all()
        )
        if DEMO_BOOK_COUNTER not in marks or not marks.get(DEMO_OPERATORS_COUNTER):
            return []
        rows = session.exec(
            select(Operator, Reseller.name)
            .join(Reseller, col(Reseller.id) == col(Operator.reseller_id), isouter=True)
            .where(col(Operator.id) <= marks[DEMO_OPERATORS_COUNTER], ~col(Operator.disabled))
            .order_by(col(Operator.id))
        ).all()
        return [DemoCredential(o.username, "", Role(o.role), name) for o, name in rows]


def renew_demo_passwords(engine: Engine, actor: Actor) -> list[DemoCredential]:
    """Fresh random passwords for the demo operators (their lockouts lifted), to print once.

    The caller makes sure the database is a demo one (`demo.seeding.check_demo_book`).
    """
    credentials = []
    for operator in demo_operators(engine):
        password = secrets.token_urlsafe(9)
        change_password(engine, actor, operator.username, password)
        credentials.append(
            DemoCredential(operator.username, password, operator.role, operator.reseller)
        )
    return credentials
