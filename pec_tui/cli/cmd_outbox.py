"""`pec-tui outbox ...`: deliver the queued e-mails, list them, retry or requeue them."""

from __future__ import annotations

import click

from pec_tui.cli import options
from pec_tui.cli.group import CliContext, main, pass_ctx
from pec_tui.cli.order_output import echo_json, require_staff, write_table


@main.group()
def outbox() -> None:
    """The e-mail outbox: every message is queued there first, then delivered by `flush`."""


@outbox.command("flush")
@click.option("--limit", type=options.COUNT, help="Deliver at most this many messages.")
@options.text_or_json()
@pass_ctx
def outbox_flush(ctx: CliContext, limit: int | None, fmt: str) -> None:
    """Deliver the queued messages, oldest first, each exactly once.

    \b
    Without an SMTP host they go to a Maildir under the data directory (or the
    `maildir` setting). With PEC_TUI_SMTP_HOST set they go through that server:
    PEC_TUI_SMTP_PORT, PEC_TUI_SMTP_SECURITY (none, starttls or tls),
    PEC_TUI_SMTP_USER and PEC_TUI_SMTP_PASSWORD; sender PEC_TUI_MAIL_FROM.
    A message the server refuses for good (a 5xx reply) becomes failed, with the
    reason (see `outbox list --status failed`, `outbox retry ID`). After a temporary
    failure (4xx, server unreachable) a message is tried again by a later flush, after
    1 minute, then 2, 4, 8 ... up to an hour; messages not yet due are skipped. A
    message left sending by a flush that died is sent again once its 10-minute lease
    has expired, with the same Message-ID. Exit status 1 when some message failed or
    was deferred.
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
                "deferred": report.deferred,
                "remaining": report.remaining,
                "waiting": report.waiting,
                "reclaimed": report.reclaimed,
                "stopped_early": report.stopped_early,
                "errors": report.errors,
            }
        )
    else:
        click.echo(
            _(
                "{sent} sent, {failed} failed, {deferred} to try again later, "
                "{remaining} still queued ({transport})."
            ).format(
                sent=report.sent,
                failed=report.failed,
                deferred=report.deferred,
                remaining=report.remaining,
                transport=report.transport,
            )
        )
        if report.reclaimed:
            click.echo(
                _("{count} message(s) of an interrupted flush sent again.").format(
                    count=report.reclaimed
                )
            )
        for error in report.errors:
            click.echo("  " + error, err=True)
        if report.stopped_early:
            click.echo(_("The server looks unreachable: stopped early."), err=True)
    if report.failed or report.deferred or report.stopped_early:
        raise click.exceptions.Exit(1)


@outbox.command("list")
@click.option(
    "--status",
    type=click.Choice(["queued", "sending", "sent", "failed"]),
    help="Only messages in this state (sending: being delivered, or a flush died while "
    "delivering them; failed: refused for good, see the last error).",
)
@click.option("--limit", type=options.COUNT, default=50, show_default=True, help="How many.")
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
    from pec_tui.services.delivery import count_by_status, list_outbox, status_label

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
                    "next_attempt_at": r.next_attempt_at,
                    "message_id": r.message_id,
                }
                for r in rows
            ]
        )
        return
    counts = count_by_status(ctx.engine)
    click.echo(
        _("queued {queued}, sending {sending}, sent {sent}, failed {failed}").format(
            queued=counts.get("queued", 0),
            sending=counts.get("sending", 0),
            sent=counts.get("sent", 0),
            failed=counts.get("failed", 0),
        )
    )
    if not rows:
        return
    write_table(
        (
            "#",
            _("State"),
            _("Attempts"),
            _("Created"),
            _("Next attempt"),
            _("To"),
            _("Subject"),
            _("Last error"),
        ),
        [
            (
                str(r.id),
                status_label(r.status),
                str(r.attempts),
                format_datetime(r.created_at),
                format_datetime(r.next_attempt_at)
                if r.next_attempt_at and r.status == "queued"
                else "",
                r.to_address,
                r.subject,
                (r.last_error or "")[:60],
            )
            for r in rows
        ],
    )


@outbox.command("requeue")
@click.argument("ids", nargs=-1, type=options.ID, required=True)
@pass_ctx
def outbox_requeue(ctx: CliContext, ids: tuple[int, ...]) -> None:
    """Put messages IDS left in `sending` by a flush that died back in the queue.

    Only once their 10-minute lease has expired (a later flush does this by itself): a
    message a running flush is delivering is left alone. The message may have gone out
    before the flush died: it is sent again with the same Message-ID.
    """
    from pec_tui.i18n import _
    from pec_tui.services.delivery import requeue

    require_staff(ctx, "outbox.requeue")
    count = requeue(ctx.engine, list(ids))
    click.echo(_("{count} message(s) queued again.").format(count=count))
    if count < len(set(ids)):
        click.echo(
            _(
                "The others are not in `sending`, or a flush is delivering them right now "
                "(lease not expired)."
            ),
            err=True,
        )


@outbox.command("retry")
@click.argument("ids", nargs=-1, type=options.ID, required=True)
@pass_ctx
def outbox_retry(ctx: CliContext, ids: tuple[int, ...]) -> None:
    """Queue the failed messages IDS again (or try waiting ones at the next flush).

    For a message the server refused for good once the cause is fixed (see `outbox list
    --status failed` for the reason). Exit status 1 when some ID was neither failed nor
    queued.
    """
    from pec_tui.i18n import _
    from pec_tui.services.delivery import retry

    require_staff(ctx, "outbox.retry")
    count = retry(ctx.engine, list(ids))
    click.echo(_("{count} message(s) queued again.").format(count=count))
    if count < len(set(ids)):
        click.echo(_("The others are neither failed nor queued."), err=True)
        raise click.exceptions.Exit(1)
