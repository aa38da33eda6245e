"""`pec-tui lifecycle run`: the daily job (reminders, notices, automatic renewals)."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import date
from types import FrameType

import click

from pec_tui.cli import options
from pec_tui.cli.group import CliContext, main, pass_ctx
from pec_tui.cli.order_output import Day, echo_json

EXIT_INTERRUPTED = 130


@main.group()
def lifecycle() -> None:
    """The mailbox lifecycle: the daily job that reminds, suspends, cancels and auto-renews."""


@contextmanager
def _first_interrupt_stops_gently() -> Iterator[Callable[[], bool]]:
    """The first Ctrl-C asks the job to stop after its current batch; a second one kills it."""
    requested = {"stop": False}
    previous = signal.getsignal(signal.SIGINT)

    def handler(_signum: int, _frame: FrameType | None) -> None:
        if requested["stop"]:
            signal.signal(signal.SIGINT, previous)
            raise KeyboardInterrupt
        requested["stop"] = True
        click.echo("\n" + _stopping_message(), err=True)

    # Outside the main thread (some test runners) there is no handler to install.
    with suppress(ValueError):
        signal.signal(signal.SIGINT, handler)
    try:
        yield lambda: requested["stop"]
    finally:
        with suppress(ValueError):
            signal.signal(signal.SIGINT, previous)


def _stopping_message() -> str:
    from pec_tui.i18n import _

    return _("Stopping after the current batch (Ctrl-C again to abort at once)…")


@lifecycle.command("run")
@click.option(
    "--today",
    type=Day(bounded=False),
    help="Run as if today were this day (default: the real today). Running the same day "
    "twice sends nothing twice.",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Show a progress bar on standard error (default: when it is a terminal).",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Only count what the job would do for the day (any day, future ones too): "
    "queues no e-mail, places no order, charges no credit, writes nothing.",
)
@options.text_or_json("How to print the summary: text for people, json for scripts.")
@pass_ctx
def lifecycle_run(
    ctx: CliContext, today: date | None, progress: bool | None, dry_run: bool, fmt: str
) -> None:
    """Run the daily lifecycle job once for TODAY (the real today, or a past day to
    catch up; a future day is refused, except with --dry-run).

    \b
    - automatic renewal: 7 days before expiry an order for the stored frequency, paid
      at once with the reseller's prepaid credit when that is the method and it covers
      the total; otherwise left awaiting payment and the holder is e-mailed how to pay;
    - reminders 90, 30 and 7 days before expiry to mailboxes without automatic renewal
      (once each; a missed day sends the most urgent one due);
    - notices when a mailbox becomes Sospesa (the day after expiry) and Cancellata
      (91 days after).
    E-mails are queued in the outbox (deliver them with `pec-tui outbox flush`). Ctrl-C
    stops after the current batch (exit status 130): run the job again to finish.
    For administrators and the system (scheduled jobs: PEC_TUI_TOKEN set to the token of
    `pec-tui operators system-token`) only.
    """
    from pec_tui.i18n import _
    from pec_tui.services import scope
    from pec_tui.services.lifecycle import LifecycleRefused, check_day, run_lifecycle

    with scope.denials_recorded(ctx.engine, ctx.actor, "lifecycle.run"):
        scope.require_admin(ctx.actor, action="lifecycle.run")
    real_today = date.today()
    today = today or real_today
    if dry_run:
        _dry_run(ctx, today, fmt)
        return
    try:
        check_day(today, real_today)
    except LifecycleRefused as exc:
        raise click.ClickException(exc.message) from exc
    show = sys.stderr.isatty() if progress is None else progress
    bar = None
    seen = {"done": 0}

    def on_progress(done: int, total: int) -> None:
        nonlocal bar
        if not show:
            return
        if bar is None:
            bar = click.progressbar(
                length=max(total, 1),
                label=_("Lifecycle {date}").format(date=today),
                file=sys.stderr,
            )
            bar.__enter__()
        bar.update(done - seen["done"])
        seen["done"] = done

    with _first_interrupt_stops_gently() as stop_requested:
        try:
            report = run_lifecycle(
                ctx.engine,
                today,
                on_progress,
                stop_requested,
                settings=ctx.settings,
                real_today=real_today,
            )
        finally:
            if bar is not None:
                bar.__exit__(None, None, None)
    if fmt == "json":
        echo_json(
            {
                "today": report.today,
                "reminders": report.reminders,
                "suspended_notices": report.suspended_notices,
                "cancelled_notices": report.cancelled_notices,
                "renewal_orders": report.renewal_orders,
                "paid_with_credit": report.paid_with_credit,
                "awaiting_payment": report.awaiting_payment,
                "examined": report.examined,
                "interrupted": report.interrupted,
                "failures": report.failures,
            }
        )
    else:
        click.echo(
            _(
                "{date}: {reminders} reminders, {suspended} suspension and {cancelled} "
                "cancellation notices; {orders} automatic renewal orders ({paid} paid with "
                "credit, {waiting} awaiting payment); {examined} mailboxes examined."
            ).format(
                date=today.isoformat(),
                reminders=report.reminders,
                suspended=report.suspended_notices,
                cancelled=report.cancelled_notices,
                orders=report.renewal_orders,
                paid=report.paid_with_credit,
                waiting=report.awaiting_payment,
                examined=report.examined,
            )
        )
        for failure in report.failures:
            click.echo(_("failed: {what}").format(what=failure), err=True)
    if report.interrupted:
        click.echo(_("Interrupted: run the job again to finish the day."), err=True)
        raise click.exceptions.Exit(EXIT_INTERRUPTED)
    if report.failures:
        raise click.exceptions.Exit(1)


def _dry_run(ctx: CliContext, today: date, fmt: str) -> None:
    from pec_tui.i18n import _
    from pec_tui.services.lifecycle import preview_lifecycle

    preview = preview_lifecycle(ctx.engine, today)
    if fmt == "json":
        echo_json(
            {
                "today": preview.today,
                "dry_run": True,
                "reminders": {str(days): n for days, n in preview.reminders.items()},
                "suspended_notices": preview.suspended_notices,
                "cancelled_notices": preview.cancelled_notices,
                "renewal_orders": preview.renewal_orders,
                "credit_retries": preview.credit_retries,
            }
        )
        return
    click.echo(_("{date}, dry run (nothing written): the job would").format(date=today))
    for days, count in preview.reminders.items():
        click.echo(
            "  "
            + _("send {count} reminders {days} days before expiry").format(count=count, days=days)
        )
    click.echo("  " + _("send {count} suspension notices").format(count=preview.suspended_notices))
    click.echo(
        "  " + _("send {count} cancellation notices").format(count=preview.cancelled_notices)
    )
    click.echo(
        "  " + _("place {count} automatic renewal orders").format(count=preview.renewal_orders)
    )
    click.echo(
        "  "
        + _("pay {count} unpaid automatic renewal orders with credit").format(
            count=preview.credit_retries
        )
    )
