"""Operators' sign-in: argon2 password hashes, lockout after repeated failures, script tokens.

Five wrong passwords in a row lock the account for 15 minutes; while locked, the password is
not even checked. A disabled account is refused. Every attempt is audited (action "login" or
"unlock", outcome ok / failed / locked) with the terminal it came from. Script tokens are
random, shown once, and stored only as their SHA-256 (a 256-bit random token needs no slow
hash; a password does).
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from pec_tui.db.engine import session_scope
from pec_tui.db.models import Operator, utcnow
from pec_tui.domain.enums import Role
from pec_tui.domain.validation import ValidationError
from pec_tui.i18n import _, ngettext
from pec_tui.services import audit
from pec_tui.services.actor import Actor
from pec_tui.services.scope import Denied, audit_denials, require_admin

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256
TOKEN_PREFIX = "pec_"
TOKEN_DAYS = 90
# The operator whose token scheduled jobs use (`issue_system_token`); nobody signs in as it.
SYSTEM_OPERATOR = "system"
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the username does not exist, so that the answer takes as long."""
    return _hasher.hash(secrets.token_hex(16))


class LoginRefused(Exception):
    """Sign-in refused. `reason`: failed, locked or disabled; `field`: the form field to blame."""

    def __init__(
        self,
        message: str,
        reason: str,
        field: str = "password",
        locked_until: datetime | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.field = field
        self.locked_until = locked_until

    def __str__(self) -> str:
        return self.message


# --- passwords and names -----------------------------------------------------------------


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def normalise_username(username: str) -> str:
    return username.strip().lower()


def check_username(username: str) -> str:
    """The username as stored (lower case); raises ValidationError on field 'username'."""
    name = normalise_username(username)
    if not _USERNAME.match(name):
        raise ValidationError(
            _(
                "A username is 2 to 64 characters: letters, digits and . _ @ - "
                "(starting with a letter or digit)."
            ),
            "username",
        )
    if name == SYSTEM_OPERATOR:
        raise ValidationError(
            _("“system” is reserved for the scheduled jobs' token (operators system-token)."),
            "username",
        )
    return name


def check_password(password: str, username: str | None = None) -> None:
    """Raise ValidationError (field 'password') for a password too weak to accept."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            _("The password must be at least {n} characters long.").format(n=MIN_PASSWORD_LENGTH),
            "password",
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationError(
            _("The password must be at most {n} characters long.").format(n=MAX_PASSWORD_LENGTH),
            "password",
        )
    if username and password.strip().lower() == normalise_username(username):
        raise ValidationError(_("The password cannot be the username."), "password")


def minutes_left(until: datetime, now: datetime) -> int:
    """Whole minutes until `until`, rounded up (at least 1 while it is in the future)."""
    return max(1, math.ceil((until - now).total_seconds() / 60))


def lockout_message(until: datetime, now: datetime) -> str:
    n = minutes_left(until, now)
    return ngettext(
        "Too many wrong passwords: the account is locked, try again in {n} minute.",
        "Too many wrong passwords: the account is locked, try again in {n} minutes.",
        n,
    ).format(n=n)


# --- actors ------------------------------------------------------------------------------


def actor_of(operator: Operator, terminal: str | None = None) -> Actor:
    return Actor(
        name=operator.username,
        role=Role(operator.role),
        operator_id=operator.id,
        reseller_id=operator.reseller_id,
        terminal=terminal,
    )


def _attempt_actor(operator: Operator | None, username: str, terminal: str | None) -> Actor:
    """Who an audit record of a sign-in attempt names (an unknown name is kept as typed)."""
    if operator is not None:
        return actor_of(operator, terminal)
    return Actor(name=username[:100] or "?", role=Role.BACK_OFFICE, terminal=terminal)


def _locked_until(operator: Operator, now: datetime) -> datetime | None:
    """Until when the operator is locked out, or None."""
    if operator.locked_until is not None and operator.locked_until > now:
        return operator.locked_until
    return None


# --- first administrator -----------------------------------------------------------------


def needs_first_admin(engine: Engine) -> bool:
    """True on a database without any operator: the first start creates an administrator."""
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(Operator)).one() == 0


def create_first_admin(
    engine: Engine,
    username: str,
    password: str,
    full_name: str = "",
    terminal: str | None = None,
    now: datetime | None = None,
) -> Actor:
    """Create the first administrator of an empty database and sign them in."""
    name = check_username(username)
    check_password(password, name)
    now = now or utcnow()
    with session_scope(engine) as session:
        if session.exec(select(func.count()).select_from(Operator)).one():
            raise Denied(_("An administrator already exists: sign in instead."), "operator.create")
        operator = Operator(
            username=name,
            full_name=full_name.strip(),
            role=Role.ADMIN.value,
            password_hash=hash_password(password),
            created_at=now,
            last_login_at=now,
        )
        session.add(operator)
        session.flush()
        actor = actor_of(operator, terminal)
        audit.record(
            session,
            actor,
            "operator.create",
            "operator",
            operator.id,
            {"username": name, "role": Role.ADMIN.value, "first_admin": True},
        )
        audit.record(session, actor, "login", "operator", operator.id, {"method": "password"})
    return actor


# --- signing in --------------------------------------------------------------------------


def authenticate(
    engine: Engine,
    username: str,
    password: str,
    terminal: str | None = None,
    now: datetime | None = None,
) -> Actor:
    """The actor of `username` if `password` is right; raises LoginRefused otherwise."""
    return _password_sign_in(engine, username, password, terminal, now or utcnow(), "login")


def reauthenticate(
    engine: Engine, actor: Actor, password: str, now: datetime | None = None
) -> Actor:
    """Unlock an idle-locked terminal: the same operator's password, same lockout rules."""
    return _password_sign_in(
        engine, actor.name, password, actor.terminal, now or utcnow(), "unlock"
    )


def _password_sign_in(
    engine: Engine,
    username: str,
    password: str,
    terminal: str | None,
    now: datetime,
    action: str,
) -> Actor:
    name = normalise_username(username)
    if not name:
        raise LoginRefused(_("Enter your username."), "failed", field="username")
    refusal: LoginRefused | None = None
    with session_scope(engine) as session:
        operator = session.exec(
            select(Operator).where(Operator.username == name).with_for_update()
        ).first()
        who = _attempt_actor(operator, name, terminal)
        entity_id = operator.id if operator else None
        if operator is None:
            verify_password(_dummy_hash(), password)
            refusal = LoginRefused(_("Wrong username or password."), "failed")
            audit.record(
                session, who, action, "operator", None, {"reason": "unknown user"}, "failed"
            )
        elif (locked_until := _locked_until(operator, now)) is not None:
            refusal = LoginRefused(
                lockout_message(locked_until, now), "locked", locked_until=locked_until
            )
            audit.record(
                session,
                who,
                action,
                "operator",
                entity_id,
                {"locked_until": locked_until.isoformat()},
                "locked",
            )
        elif not verify_password(operator.password_hash, password):
            operator.failed_logins += 1
            details: dict[str, object] = {
                "reason": "wrong password",
                "failures": operator.failed_logins,
            }
            if operator.failed_logins >= MAX_FAILED_LOGINS:
                operator.locked_until = now + LOCKOUT
                operator.failed_logins = 0
                details["locked_until"] = operator.locked_until.isoformat()
                refusal = LoginRefused(
                    lockout_message(operator.locked_until, now),
                    "locked",
                    locked_until=operator.locked_until,
                )
            else:
                refusal = LoginRefused(_("Wrong username or password."), "failed")
            session.add(operator)
            audit.record(session, who, action, "operator", entity_id, details, "failed")
        elif operator.disabled:
            # Said only to whoever knows the password: nobody else learns the account's state.
            refusal = LoginRefused(_("This account is disabled."), "disabled", field="username")
            audit.record(
                session, who, action, "operator", entity_id, {"reason": "disabled"}, "failed"
            )
        else:
            operator.failed_logins = 0
            operator.locked_until = None
            operator.last_login_at = now
            if _hasher.check_needs_rehash(operator.password_hash):
                operator.password_hash = hash_password(password)
            session.add(operator)
            audit.record(session, who, action, "operator", entity_id, {"method": "password"})
    if refusal is not None:
        raise refusal
    return who


# --- script tokens -----------------------------------------------------------------------


def _token_digest(token: str) -> str:
    return "sha256$" + hashlib.sha256(token.encode()).hexdigest()


def _check_days(days: int) -> None:
    if not 1 <= days <= 3660:
        raise ValidationError(_("A token lasts 1 to 3660 days."), "expires")


@audit_denials("operator.token")
def issue_token(
    engine: Engine,
    actor: Actor,
    username: str,
    now: datetime | None = None,
    days: int = TOKEN_DAYS,
) -> str:
    """A new script token for `username` (admins, or the operator for themself), shown once.

    It replaces any earlier token of that operator and works for `days` days; a new password
    or disabling the operator ends it.
    """
    _check_days(days)
    now = now or utcnow()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with session_scope(engine) as session:
        operator = _operator_for_token_change(session, actor, username)
        _set_token(session, actor, operator, token, now, days)
    return token


def _set_token(
    session: Session, actor: Actor, operator: Operator, token: str, now: datetime, days: int
) -> None:
    replaced = operator.token_hash is not None
    operator.token_hash = _token_digest(token)
    operator.token_expires_at = now + timedelta(days=days)
    session.add(operator)
    audit.record(
        session,
        actor,
        "operator.token",
        "operator",
        operator.id,
        {
            "username": operator.username,
            "changed": ["token"],
            "replaced": replaced,
            "expires": operator.token_expires_at.isoformat(),
        },
    )


@audit_denials("operator.token")
def issue_system_token(
    engine: Engine, actor: Actor, now: datetime | None = None, days: int = TOKEN_DAYS
) -> str:
    """A token for the scheduled jobs (administrators only), shown once, stored hashed.

    It belongs to the operator "system" (an administrator nobody can sign in as: its
    password is random and never shown), created the first time; a new one replaces it.
    """
    require_admin(actor, "operator.token")
    _check_days(days)
    now = now or utcnow()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with session_scope(engine) as session:
        operator = session.exec(
            select(Operator).where(Operator.username == SYSTEM_OPERATOR).with_for_update()
        ).first()
        if operator is None:
            operator = Operator(
                username=SYSTEM_OPERATOR,
                full_name=_("Scheduled jobs"),
                role=Role.ADMIN.value,
                password_hash=hash_password(secrets.token_urlsafe(32)),
            )
            session.add(operator)
            session.flush()
            audit.record(
                session,
                actor,
                "operator.create",
                "operator",
                operator.id,
                {"username": SYSTEM_OPERATOR, "role": Role.ADMIN.value, "system": True},
            )
        _set_token(session, actor, operator, token, now, days)
    return token


@audit_denials("operator.token")
def revoke_token(engine: Engine, actor: Actor, username: str) -> bool:
    """Forget `username`'s script token; False when there was none."""
    with session_scope(engine) as session:
        operator = _operator_for_token_change(session, actor, username)
        if operator.token_hash is None:
            return False
        operator.token_hash = None
        operator.token_expires_at = None
        session.add(operator)
        audit.record(
            session,
            actor,
            "operator.token",
            "operator",
            operator.id,
            {"username": operator.username, "changed": ["token"], "revoked": True},
        )
    return True


def _operator_for_token_change(session: Session, actor: Actor, username: str) -> Operator:
    name = normalise_username(username)
    if actor.operator_id is None or name != actor.name:
        require_admin(actor, "operator.token")
    operator = session.exec(
        select(Operator).where(Operator.username == name).with_for_update()
    ).first()
    if operator is None:
        raise LookupError(_("There is no operator {name}.").format(name=name))
    return operator


def authenticate_token(
    engine: Engine, token: str, terminal: str | None = None, now: datetime | None = None
) -> Actor:
    """The actor a script token stands for; raises LoginRefused for an unknown token.

    The password lockout does not stop a token (a mistyped password must not break the
    scripts); its expiry does, and disabling the operator or a new password revokes it.
    """
    now = now or utcnow()
    token = token.strip()
    refusal: LoginRefused | None = None
    with session_scope(engine) as session:
        operator = None
        if token.startswith(TOKEN_PREFIX):
            operator = session.exec(
                select(Operator).where(Operator.token_hash == _token_digest(token))
            ).first()
        if operator is None:
            who = Actor(name="?", role=Role.BACK_OFFICE, terminal=terminal)
            refusal = LoginRefused(_("Unknown or revoked token."), "failed", field="token")
            audit.record(
                session,
                who,
                "login",
                "operator",
                None,
                {"method": "token", "reason": "unknown token"},
                "failed",
            )
        else:
            who = actor_of(operator, terminal)
            if operator.disabled:
                refusal = LoginRefused(_("This account is disabled."), "disabled", field="token")
                audit.record(
                    session,
                    who,
                    "login",
                    "operator",
                    operator.id,
                    {"method": "token", "reason": "disabled"},
                    "failed",
                )
            elif operator.token_expires_at is None or operator.token_expires_at <= now:
                refusal = LoginRefused(
                    _("This token has expired: ask an administrator for a new one."),
                    "expired",
                    field="token",
                )
                audit.record(
                    session,
                    who,
                    "login",
                    "operator",
                    operator.id,
                    {"method": "token", "reason": "expired"},
                    "failed",
                )
            else:
                operator.last_login_at = now
                session.add(operator)
                audit.record(session, who, "login", "operator", operator.id, {"method": "token"})
    if refusal is not None:
        raise refusal
    return who


# --- the UI's handle ---------------------------------------------------------------------


@dataclass(frozen=True)
class SignIn:
    """The answer to a sign-in form: the actor, or what to say at which field."""

    actor: Actor | None = None
    message: str = ""
    field: str = "password"
    locked_until: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.actor is not None


@dataclass
class AuthService:
    """Sign-in bound to one database and terminal, for screens (which never see the engine)."""

    engine: Engine
    terminal: str | None = None
    clock: Callable[[], datetime] = utcnow

    def needs_first_admin(self) -> bool:
        return needs_first_admin(self.engine)

    def create_first_admin(self, username: str, password: str, full_name: str = "") -> Actor:
        """Raises ValidationError (with the field) or Denied (an administrator exists)."""
        return create_first_admin(
            self.engine, username, password, full_name, self.terminal, self.clock()
        )

    def sign_in(self, username: str, password: str) -> SignIn:
        return self._answer(
            lambda: authenticate(self.engine, username, password, self.terminal, self.clock())
        )

    def unlock(self, actor: Actor, password: str) -> SignIn:
        return self._answer(
            lambda: reauthenticate(
                self.engine, actor.on_terminal(self.terminal), password, self.clock()
            )
        )

    def lockout_message(self, until: datetime) -> str | None:
        """The lockout message as of now; None once the lock has expired."""
        now = self.clock()
        return lockout_message(until, now) if until > now else None

    @staticmethod
    def _answer(attempt: Callable[[], Actor]) -> SignIn:
        try:
            return SignIn(actor=attempt())
        except LoginRefused as exc:
            return SignIn(message=exc.message, field=exc.field, locked_until=exc.locked_until)

    @staticmethod
    def check_username(username: str) -> str:
        return check_username(username)

    @staticmethod
    def check_password(password: str, username: str | None = None) -> None:
        check_password(password, username)
