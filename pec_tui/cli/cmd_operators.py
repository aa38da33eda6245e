"""`pec-tui operators ...`: operator accounts and script tokens (administrators)."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import click

from pec_tui.cli import options
from pec_tui.cli.group import CliContext, main, pass_ctx
from pec_tui.domain.enums import Role
from pec_tui.i18n import _

P = ParamSpec("P")
R = TypeVar("R")


def _fail_on_input_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Validation and lookup errors become a clean one-line message (exit status 1)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from pec_tui.domain.validation import ValidationError

        try:
            return fn(*args, **kwargs)
        except (ValidationError, LookupError) as exc:
            message = exc.args[0] if isinstance(exc, LookupError) and exc.args else str(exc)
            raise click.ClickException(message) from exc

    return wrapper


def _read_password(password_stdin: bool, username: str) -> str:
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise click.ClickException(_("No password on standard input."))
        return password
    if not sys.stdin.isatty():
        raise click.ClickException(_("No terminal to type the password in: use --password-stdin."))
    return click.prompt(
        f"New password for {username}",
        hide_input=True,
        confirmation_prompt="Repeat the password",
        err=True,
    )


@main.group()
def operators() -> None:
    """Operator accounts: add, list, change password, disable, enable, script tokens."""


@operators.command("add")
@click.argument("username")
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    required=True,
    help="admin, rivenditore (reseller operator, needs --reseller-id) or backoffice.",
)
@click.option("--reseller-id", type=options.ID, help="The reseller a reseller operator works for.")
@click.option("--full-name", default="", help="Name shown in lists and the audit trail.")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
)
@pass_ctx
@_fail_on_input_errors
def operators_add(
    ctx: CliContext,
    username: str,
    role: str,
    reseller_id: int | None,
    full_name: str,
    password_stdin: bool,
) -> None:
    """Create an operator (asks the password twice unless --password-stdin)."""
    from pec_tui.services import auth, operators

    actor = ctx.actor
    name = auth.check_username(username)
    password = _read_password(password_stdin, name)
    row = operators.create_operator(
        ctx.engine, actor, name, password, Role(role), reseller_id, full_name
    )
    where = f" of reseller {row.reseller_id}" if row.reseller_id is not None else ""
    click.echo(f"operator {row.username} created: {row.role.value}{where}")


@operators.command("passwd")
@click.argument("username")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
)
@pass_ctx
@_fail_on_input_errors
def operators_passwd(ctx: CliContext, username: str, password_stdin: bool) -> None:
    """Set a new password (administrators for anyone, operators for themselves)."""
    from pec_tui.services import auth, operators

    actor = ctx.actor
    name = auth.normalise_username(username)
    password = _read_password(password_stdin, name)
    operators.change_password(ctx.engine, actor, name, password)
    click.echo(f"password of {name} changed")


@operators.command("disable")
@click.argument("username")
@pass_ctx
@_fail_on_input_errors
def operators_disable(ctx: CliContext, username: str) -> None:
    """Refuse every later sign-in and token of USERNAME."""
    from pec_tui.services import operators

    changed = operators.disable_operator(ctx.engine, ctx.actor, username)
    click.echo(f"{username} disabled" if changed else f"{username} was already disabled")


@operators.command("enable")
@click.argument("username")
@pass_ctx
@_fail_on_input_errors
def operators_enable(ctx: CliContext, username: str) -> None:
    """Allow USERNAME to sign in again."""
    from pec_tui.services import operators

    changed = operators.enable_operator(ctx.engine, ctx.actor, username)
    click.echo(f"{username} enabled" if changed else f"{username} was not disabled")


@operators.command("list")
@pass_ctx
@_fail_on_input_errors
def operators_list(ctx: CliContext) -> None:
    """Every operator: username, role, reseller, state, last sign-in."""
    from pec_tui.db.models import utcnow
    from pec_tui.services import operators

    rows = operators.list_operators(ctx.engine, ctx.actor)
    now = utcnow()
    header = ("username", "role", "reseller", "state", "token", "last sign-in", "full name")
    lines = [header]
    for row in rows:
        state = "disabled" if row.disabled else "locked" if row.is_locked(now) else "active"
        reseller = f"{row.reseller_id} {row.reseller_name or ''}".strip() if row.reseller_id else ""
        last = (
            row.last_login_at.astimezone().strftime("%Y-%m-%d %H:%M") if row.last_login_at else ""
        )
        lines.append(
            (row.username, row.role.value, reseller, state, "yes" if row.has_token else "",
             last, row.full_name)
        )  # fmt: skip
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for line in lines:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())


_EXPIRES = click.option(
    "--expires",
    "days",
    type=click.IntRange(1, 3660),
    default=90,
    show_default=True,
    metavar="DAYS",
    help="Days the token works; a new password or disabling the operator ends it sooner.",
)


@operators.command("token")
@click.argument("username")
@click.option("--revoke", is_flag=True, help="Forget the token instead of issuing a new one.")
@_EXPIRES
@pass_ctx
@_fail_on_input_errors
def operators_token(ctx: CliContext, username: str, revoke: bool, days: int) -> None:
    """Issue a script token for USERNAME (printed once; it replaces the previous one)."""
    from pec_tui.services import auth

    if revoke:
        had = auth.revoke_token(ctx.engine, ctx.actor, username)
        click.echo(
            _("Token of {username} revoked.").format(username=username)
            if had
            else _("{username} had no token.").format(username=username)
        )
        return
    _show_token(auth.issue_token(ctx.engine, ctx.actor, username, days=days), days)


@operators.command("system-token")
@_EXPIRES
@pass_ctx
@_fail_on_input_errors
def operators_system_token(ctx: CliContext, days: int) -> None:
    """Issue the token scheduled jobs act with (administrators; printed once, stored hashed).

    The jobs (lifecycle run, outbox flush) read it from PEC_TUI_TOKEN and are audited as
    "system"; a new one replaces the previous one.
    """
    from pec_tui.services import auth

    _show_token(auth.issue_system_token(ctx.engine, ctx.actor, days=days), days)


def _show_token(token: str, days: int) -> None:
    click.echo(token)
    click.echo(
        _(
            "Keep it secret: it is shown only this once and works for {days} days. "
            "Give it as PEC_TUI_TOKEN or on standard input with --token-stdin."
        ).format(days=days),
        err=True,
    )
