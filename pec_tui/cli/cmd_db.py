"""`pec-tui db ...`: schema management."""

import click

from pec_tui.cli.group import CliContext, main, pass_ctx


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target Alembic revision.")
@pass_ctx
def db_upgrade(ctx: CliContext, revision: str) -> None:
    """Create or upgrade the schema to the latest version.

    The embedded SQLite database is upgraded by the app itself at start (after a backup
    copy of the file next to it); a PostgreSQL database only by this command, run by an
    administrator (or the system, PEC_TUI_SYSTEM=1) once every client has the new version.
    A SQLite file is copied next to itself first here too.
    """
    from pec_tui.i18n import _
    from pec_tui.services import scope
    from pec_tui.services.database import table_names, upgrade_database

    # Sign in on the database as it is: its schema is the one to upgrade.
    ctx.check_schema = False
    if "operator" in table_names(ctx.engine):
        with scope.denials_recorded(ctx.engine, ctx.actor, "db.upgrade"):
            scope.require_admin(ctx.actor, action="db.upgrade")
    ctx.engine.dispose()
    before, after = upgrade_database(ctx.settings.resolved_database_url(), revision)
    click.echo(_("schema: {before} -> {after}").format(before=before or _("empty"), after=after))
