"""`pec-tui audit export`: the audit trail as CSV or JSON (administrators)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TextIO

import click

from pec_tui.cli import options
from pec_tui.cli.group import CliContext, main, pass_ctx
from pec_tui.i18n import _


class _When(click.ParamType[date | datetime, str | date | datetime]):
    """A day (YYYY-MM-DD, whole day in local time) or an ISO date-time."""

    name = "DATE"

    def convert(
        self,
        value: str | date | datetime,
        param: click.Parameter | None,
        ctx: click.Context | None,
    ) -> date | datetime:
        from pec_tui.domain.validation import ValidationError, check_day_in_range

        if isinstance(value, date | datetime):
            return value
        try:
            day: date | datetime = date.fromisoformat(value)
        except ValueError:
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                self.fail(
                    _("{value} is neither YYYY-MM-DD nor an ISO date-time.").format(
                        value=repr(value)
                    ),
                    param,
                    ctx,
                )
            day = moment if moment.tzinfo else moment.astimezone()
        try:
            check_day_in_range(
                day.date() if isinstance(day, datetime) else day,
                "date",
                param.name if param and param.name else "date",
            )
        except ValidationError as exc:
            self.fail(exc.message, param, ctx)
        return day


@main.group()
def audit() -> None:
    """The audit trail: who did what, when, from which terminal."""


@audit.command("export")
@click.option("--since", type=_When(), help="From this day (or instant), inclusive.")
@click.option("--until", type=_When(), help="Up to this day inclusive (or this instant, excluded).")
@click.option("--actor", help="Only this operator's events (username; 'system' for jobs).")
@click.option("--action", help="Only this action and its sub-actions (e.g. login, operator).")
@click.option("--outcome", type=click.Choice(["ok", "failed", "locked", "denied"]))
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True
)
@click.option(
    "--output",
    "-o",
    type=options.OutputFile("w", encoding="utf-8", lazy=True),
    default="-",
    help="File to write (default: standard output).",
)
@pass_ctx
def audit_export(
    ctx: CliContext,
    since: date | datetime | None,
    until: date | datetime | None,
    actor: str | None,
    action: str | None,
    outcome: str | None,
    fmt: str,
    # click.File gives a lazily opened text file, written like any TextIO.
    output: TextIO,
) -> None:
    """Export the matching events, oldest first (streamed: any size)."""
    from pec_tui.services import audit_queries as aq

    # A datetime is a date too: only a plain day stands for its whole length.
    flt = aq.AuditFilter(
        since=since if since is None or isinstance(since, datetime) else aq.day_start(since),
        until=until if until is None or isinstance(until, datetime) else aq.day_end(until),
        actor=actor,
        action=action,
        outcome=outcome,
    )
    events = aq.iter_events(ctx.engine, ctx.actor, flt)
    write = aq.write_json if fmt == "json" else aq.write_csv
    n = write(events, output)
    click.echo(f"{n} events exported", err=True)
