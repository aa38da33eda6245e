"""`pec-tui demo`: fill the database with realistic demo data, then open the terminal UI."""

from __future__ import annotations

import signal
import sys
import time
from datetime import date
from types import FrameType
from typing import TYPE_CHECKING

import click

from pec_tui.cli.group import CliContext, has_terminal, main, pass_ctx
from pec_tui.cli.order_output import Day
from pec_tui.i18n import _

if TYPE_CHECKING:
    from pec_tui.services.actor import Actor
    from pec_tui.services.operators import DemoCredential

# The shell's convention for "stopped by Ctrl-C".
EXIT_INTERRUPTED = 130


class _CtrlC:
    """While active, a first Ctrl-C asks to stop after the current chunk, a second at once."""

    def __init__(self) -> None:
        self.requested = False

    def __enter__(self) -> _CtrlC:
        self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *_exc: object) -> None:
        signal.signal(signal.SIGINT, self._previous)

    def _handle(self, _signum: int, _frame: FrameType | None) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        click.echo(
            "\n" + _("Stopping after the current chunk… (Ctrl-C again to stop at once)"), err=True
        )


@main.command()
@click.option(
    "--mailboxes",
    type=click.IntRange(1, 10_000_000),
    default=2000,
    show_default=True,
    help="How many mailboxes to create.",
)
@click.option(
    "--seed", type=int, default=42, show_default=True, help="The same seed gives the same data."
)
@click.option(
    "--today",
    type=Day(),
    help="The day the data is built around (YYYY-MM-DD). Default: today.",
)
@click.option(
    "--reset",
    is_flag=True,
    help="First delete all data (reseller operators and audit trail included) except the "
    "price list, the counters and the administrators; only on a database that demo filled, "
    "after a confirmation.",
)
@click.option("--yes", is_flag=True, help="Do not ask to confirm --reset.")
@click.option(
    "--accounts",
    is_flag=True,
    help="Give the demo operators new passwords and print them (only on a database that "
    "demo filled, where every operator was made for the demo).",
)
@click.option("--no-ui", is_flag=True, help="Do not open the terminal UI afterwards.")
@pass_ctx
def demo(
    ctx: CliContext,
    mailboxes: int,
    seed: int,
    today: date | None,
    reset: bool,
    yes: bool,
    accounts: bool,
    no_ui: bool,
) -> None:
    """Fill the database with realistic demo data, then open the terminal UI.

    A database that already has mailboxes is left as it is unless --reset is given, so
    running it twice is harmless. --reset empties only a database that demo filled, where
    every mailbox and operator was made for the demo, and asks first unless --yes is given.
    Ctrl-C stops after the current chunk: what was written until then stays, consistent.
    """
    from pec_tui.demo import seeding

    engine = ctx.engine
    if reset:
        _reset(ctx, yes)
    existing = seeding.mailbox_count(engine)
    credentials: list[DemoCredential] = []
    if accounts:
        credentials = _renew_accounts(ctx)
    elif existing:
        click.echo(
            _(
                "The database already has {count} mailboxes: nothing seeded (--reset starts over)."
            ).format(count=existing)
        )
    else:
        _seed(ctx, mailboxes, seed, today)
        credentials = _demo_operators(ctx)
    if no_ui:
        return
    if not has_terminal():
        click.echo(
            _(
                "No terminal here: the interface was not opened (the data is ready: run "
                "pec-tui in a terminal to sign in)."
            )
        )
        return
    from pec_tui.app import run_app

    # Whoever just read the passwords starts signed in as the demo administrator.
    run_app(ctx.settings, engine, _demo_admin(ctx, credentials))


def _reset(ctx: CliContext, yes: bool) -> None:
    from pec_tui.demo import seeding

    try:
        seeding.check_demo_book(ctx.engine)
        if not yes:
            try:
                confirmed = click.confirm(
                    _(
                        "Delete all data of this demo database, audit trail included "
                        "(the price list and the administrators stay)?"
                    ),
                    default=False,
                    err=True,
                )
            except click.Abort:  # end of input (no terminal to answer from) or Ctrl-C
                confirmed = False
            if not confirmed:
                raise click.ClickException(
                    _("Not confirmed: nothing deleted (--yes confirms --reset).")
                )
        seeding.reset_demo_data(ctx.engine, ctx.actor)
    except seeding.NotADemoBook as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(_("Previous data deleted."), err=True)


def _seed(ctx: CliContext, mailboxes: int, seed: int, today: date | None) -> None:
    from pec_tui.demo import seeding

    started = time.perf_counter()
    try:
        with (
            _CtrlC() as ctrl_c,
            click.progressbar(
                length=mailboxes,
                label=_("Seeding demo data"),
                file=sys.stderr,
            ) as bar,
        ):
            result = seeding.seed_demo(
                ctx.engine,
                mailboxes,
                seed,
                today,
                progress=lambda done, _total: bar.update(done - bar.pos),
                cancelled=lambda: ctrl_c.requested,
                actor=ctx.actor,
            )
    except KeyboardInterrupt:
        _stopped(ctx)
    except seeding.DatabaseNotEmpty:
        click.echo(_("The database already has mailboxes: nothing seeded."))
        return
    except seeding.DatabaseChanged as exc:
        raise click.ClickException(str(exc)) from None
    if result.interrupted:
        _stopped(ctx)
    click.echo(
        _(
            "Seeded {mailboxes} mailboxes of {holders} holders, {resellers} resellers and "
            "{orders} orders in {seconds:.1f} s."
        ).format(
            mailboxes=result.mailboxes,
            holders=result.holders,
            resellers=result.resellers,
            orders=result.orders,
            seconds=time.perf_counter() - started,
        )
    )


def _demo_operators(ctx: CliContext) -> list[DemoCredential]:
    """Sign-in accounts for the demo, printed once (only on a database without operators)."""
    from pec_tui.demo.seeding import mark_demo_operators
    from pec_tui.services.operators import create_demo_operators

    credentials = create_demo_operators(ctx.engine, ctx.actor)
    if credentials:
        mark_demo_operators(ctx.engine, [c.username for c in credentials])
        _print_accounts(credentials)
    return credentials


def _renew_accounts(ctx: CliContext) -> list[DemoCredential]:
    """New passwords for the demo operators: on a demo database only, where nobody else has an
    account, so no sign-in is asked (the passwords printed at the first run may be lost)."""
    from pec_tui.demo import seeding
    from pec_tui.services.actor import SYSTEM
    from pec_tui.services.operators import renew_demo_passwords

    try:
        seeding.check_demo_book(ctx.engine)
    except seeding.NotADemoBook as exc:
        raise click.ClickException(str(exc)) from None
    credentials = renew_demo_passwords(ctx.engine, SYSTEM.on_terminal(ctx.settings.terminal))
    if not credentials:
        raise click.ClickException(_("This demo database has no demo operators."))
    _print_accounts(credentials)
    return credentials


def _print_accounts(credentials: list[DemoCredential]) -> None:
    from pec_tui.domain.enums import label

    click.echo(
        _("Demo operators (the passwords are shown only now; `pec-tui demo --accounts` "
          "prints new ones):")
    )  # fmt: skip
    for c in credentials:
        role = label(c.role) + (f" — {c.reseller}" if c.reseller else "")
        click.echo(f"  {c.username:<14} {c.password:<14} {role}")


def _demo_admin(ctx: CliContext, credentials: list[DemoCredential]) -> Actor | None:
    """The demo administrator, signed in with the password just made; None without one."""
    from pec_tui.domain.enums import Role
    from pec_tui.services.auth import authenticate

    admin = next((c for c in credentials if c.role is Role.ADMIN), None)
    if admin is None:
        return None
    return authenticate(ctx.engine, admin.username, admin.password, ctx.settings.terminal)


def _stopped(ctx: CliContext) -> None:
    from pec_tui.demo.seeding import mailbox_count

    click.echo(
        _("Interrupted: the database now has {count} mailboxes, with their holders and orders.")
        .format(count=mailbox_count(ctx.engine)),
        err=True,
    )  # fmt: skip
    click.get_current_context().exit(EXIT_INTERRUPTED)
