"""`pec-tui outbox ...`: deliver the queued e-mails, list them, requeue interrupted ones."""

from __future__ import annotations

import click

from pec_tui.cli import options
from pec_tui.cli.group import CliContext, main, pass_ctx
from pec_tui.cli.order_output import echo_json, require_staff, write_table


@main.group()
def outbox() -> None:
    """The e-mail outbox: every message is queued there first, then delivered by `flush`."""


@outbox.command("flush")
@click.option("--limit", type=click.IntRange(min=1), help="Deliver at most this many messages.")
@options.text_or_json()
@pass_ctx
def outbox_flush(ctx: CliContext, limit: int | None, fmt: str) -> None:
    """Deliver the queued messages, oldest first, each exactly once.

    \b
    Without an SMTP host they go to a Maildir under the data directory (or the
    `maildir` setting). With PEC_TUI_SMTP_HOST set they go through that server:
    PEC_TUI_SMTP_PORT, PEC_TUI_SMTP_SECURITY (none, starttls or tls),
    PEC_TUI_SMTP_USER and PEC_TUI_SMTP_PASSWORD; sender PEC_TUI_MAIL_FROM.
    A message that cannot be delivered stays queued with the error and is tried again
    at the next flush. Exit status 1 when some message failed.
    """
    from pec_tui.i18n import _
    from pec_tui.services.delivery import flush_outbox

    require_staff(ctx, "outbox.flush")
    report = flush_outbox(ctx.engine, ctx.settings, limit)
    if fmt == "json":
        echo_json(
            {
                "transport": report.transport,
                "sent": report.sent,
                "failed": report.failed,
                "remaining": report.remaining,
                "stopped_early": report.stopped_early,
                "errors": report.errors,
            }
        )
    else:
        click.echo(
            _("{sent} sent, {failed} failed, {remaining} still queued ({transport}).").format(
                sent=report.sent,
                failed=report.failed,
                remaining=report.remaining,
                transport=report.transport,
            )
        )
        for error in report.errors:
            click.echo("  " + error, err=True)
        if report.stopped_early:
            click.echo(_("The server looks unreachable: stopped early."), err=True)
    if report.failed:
        raise click.exceptions.Exit(1)


@outbox.command("list")
@click.option(
    "--status",
    type=click.Choice(["queued", "sending", "sent"]),
    help="Only messages in this state (sending: a flush died while delivering them).",
)
@click.option(
    "--limit", type=click.IntRange(min=1), default=50, show_default=True, help="How many."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="table for people, json for scripts.",
)
@pass_ctx
def outbox_list(ctx: CliContext, status: str | None, limit: int, fmt: str) -> None:
    """List the latest messages, newest first, with their state and last error."""
    from pec_tui.i18n import _, format_datetime
    from pec_tui.services.delivery import count_by_status, list_outbox

    require_staff(ctx, "outbox.list")
    rows = list_outbox(ctx.engine, status, limit)
    if fmt == "json":
        echo_json(
            [
                {
                    "id": r.id,
                    "kind": r.kind,
                    "to": r.to_address,
                    "subject": r.subject,
                    "status": r.status,
                    "attempts": r.attempts,
                    "last_error": r.last_error,
                    "created_at": r.created_at,
                    "sent_at": r.sent_at,
                }
                for r in rows
            ]
        )
        return
    counts = count_by_status(ctx.engine)
    click.echo(
        _("queued {queued}, sending {sending}, sent {sent}").format(
            queued=counts.get("queued", 0),
            sending=counts.get("sending", 0),
            sent=counts.get("sent", 0),
        )
    )
    if not rows:
        return
    write_table(
        ("#", _("State"), _("Attempts"), _("Created"), _("To"), _("Subject"), _("Last error")),
        [
            (
                str(r.id),
                r.status,
                str(r.attempts),
                format_datetime(r.created_at),
                r.to_address,
                r.subject,
                (r.last_error or "")[:60],
            )
            for r in rows
        ],
    )


@outbox.command("requeue")
@click.argument("ids", nargs=-1, type=int, required=True)
@pass_ctx
def outbox_requeue(ctx: CliContext, ids: tuple[int, ...]) -> None:
    """Put messages IDS left in `sending` back in the queue.

    A message stays in `sending` when a flush died between delivering it and recording
    it: check the recipient did not get it before requeueing, or it goes out twice.
    """
    from pec_tui.i18n import _
    from pec_tui.services.delivery import requeue

    require_staff(ctx, "outbox.requeue")
    click.echo(_("{count} message(s) queued again.").format(count=requeue(ctx.engine, list(ids))))
