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
    """Create or upgrade the schema to the latest version (the app also does it at start)."""
    from pec_tui.db.engine import current_revision, make_engine, upgrade
    from pec_tui.services.database import ensure_reference_data

    engine = make_engine(ctx.settings.resolved_database_url())
    before = current_revision(engine)
    upgrade(engine, revision)
    ensure_reference_data(engine)
    after = current_revision(engine)
    click.echo(f"schema: {before or 'empty'} -> {after}")
