"""`pec-tui mailboxes export|import`: mailboxes to and from CSV (export also JSON) files."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from pec_tui.cli import options
from pec_tui.cli.group import CliContext, main, pass_ctx
from pec_tui.i18n import _, ngettext

if TYPE_CHECKING:
    from pec_tui.services.mailbox_io import ExpiryWindow, ExportFormat

# Below this many rows an export is over before a progress bar would mean anything.
_PROGRESS_FROM_ROWS = 10_000


@main.group()
def mailboxes() -> None:
    """Mailboxes in and out of files (the columns are in `mailboxes export --help`)."""


@mailboxes.command("export")
@click.option(
    "--expiring-within",
    "window",
    type=options.Period(),
    help="Only mailboxes expiring from today to the end of this period: months (3m) or "
    "days (90d). Sorted by expiry; otherwise all mailboxes in the order they were added.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True
)
@click.option(
    "--output",
    "-o",
    type=options.FilePath(dir_okay=False, writable=True, path_type=Path),
    help="File to write, whole or not at all (default: standard output).",
)
@pass_ctx
def mailboxes_export(
    ctx: CliContext, window: ExpiryWindow | None, fmt: ExportFormat, output: Path | None
) -> None:
    """Export the mailboxes you may see, streamed page by page (any number of them).

    Columns: address, holder_tax_code (the partita IVA of a business, else the codice
    fiscale), holder_name, holder_kind, reference_email, plan, expiry (YYYY-MM-DD),
    auto_renew (true/false), extra_mailbox_gb, extra_archive_gb, mailbox_used_mb,
    archive_used_mb.
    """
    if output is None:
        count = _export(ctx, sys.stdout, fmt, window)
    else:
        # Written beside the target and renamed at the end: never a half file under its name.
        partial = output.with_name(output.name + ".part")
        try:
            with partial.open("w", encoding="utf-8", newline="") as out:
                count = _export(ctx, out, fmt, window)
            os.replace(partial, output)
        finally:
            partial.unlink(missing_ok=True)
    click.echo(
        ngettext("{count} mailbox exported.", "{count} mailboxes exported.", count).format(
            count=count
        ),
        err=True,
    )


def _export(ctx: CliContext, out: TextIO, fmt: ExportFormat, window: ExpiryWindow | None) -> int:
    """Export with a progress bar on standard error when there are many rows."""
    from pec_tui.services import mailbox_io

    total = mailbox_io.count_for_export(ctx.engine, ctx.actor, window)
    if total < _PROGRESS_FROM_ROWS:
        return mailbox_io.export_mailboxes(ctx.engine, ctx.actor, out, fmt, window)
    with click.progressbar(length=total, label=_("Exporting mailboxes"), file=sys.stderr) as bar:
        return mailbox_io.export_mailboxes(
            ctx.engine,
            ctx.actor,
            out,
            fmt,
            window,
            progress=lambda written: bar.update(written - bar.pos),
        )


@mailboxes.command("import")
@click.argument("file", type=options.FilePath(exists=True, dir_okay=False, path_type=Path))
@pass_ctx
def mailboxes_import(ctx: CliContext, file: Path) -> None:
    """Import the mailboxes of a CSV file (UTF-8, the columns of `export`): all or none.

    Every row is checked first; if any is wrong nothing is imported, each problem is
    printed as `line N: reason` and the exit status is 1. Holders are found by tax code
    or created.
    """
    from pec_tui.services import mailbox_io

    try:
        with file.open(encoding="utf-8-sig", newline="") as stream:
            result = mailbox_io.import_mailboxes(ctx.engine, ctx.actor, stream, source=file.name)
    except UnicodeDecodeError:
        raise click.ClickException(
            _("{file} is not UTF-8 text: save it as “CSV UTF-8” and try again.").format(file=file)
        ) from None
    except mailbox_io.ImportRejected as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        click.echo(
            ngettext(
                "Nothing imported: {count} problem to fix.",
                "Nothing imported: {count} problems to fix.",
                len(exc.problems),
            ).format(count=len(exc.problems)),
            err=True,
        )
        click.get_current_context().exit(1)
    click.echo(
        _("Imported {mailboxes} mailboxes ({holders} new holders).").format(
            mailboxes=result.mailboxes, holders=result.holders_created
        )
    )
