"""What the sign-in screens share: the `Auth` handle they are given and the form base."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Protocol

from textual.screen import Screen

from pec_tui.services.actor import Actor
from pec_tui.widgets.forms import FAST_FOCUS_BINDINGS, FieldErrors


class SignInAnswer(Protocol):
    # Read-only: the service answers with a frozen dataclass.
    @property
    def actor(self) -> Actor | None: ...
    @property
    def message(self) -> str: ...
    @property
    def field(self) -> str: ...
    @property
    def locked_until(self) -> datetime | None: ...


class Auth(Protocol):
    """What the sign-in screens need (implemented by `services.auth.AuthService`)."""

    def needs_first_admin(self) -> bool: ...
    def create_first_admin(self, username: str, password: str, full_name: str = "") -> Actor: ...
    def sign_in(self, username: str, password: str) -> SignInAnswer: ...
    def unlock(self, actor: Actor, password: str) -> SignInAnswer: ...
    def lockout_message(self, until: datetime) -> str | None: ...
    def check_username(self, username: str) -> str: ...
    def check_password(self, password: str, username: str | None = None) -> None: ...


class AuthForm(FieldErrors, Screen[Any]):
    """A small centred form of Inputs only (Enter is theirs: a priority binding)."""

    CSS_PATH = "../styles/auth.tcss"
    BINDINGS: ClassVar = [*FAST_FOCUS_BINDINGS]
