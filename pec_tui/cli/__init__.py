"""The `pec-tui` command line: the TUI by default, and the commands resellers script."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import click

from pec_tui import i18n
from pec_tui.config import Settings, load_settings


@dataclass
class CliContext:
    settings: Settings
    _engine: object | None = field(default=None, repr=False)

    @cached_property
    def engine(self):
        from pec_tui.services.database import open_database

        return open_database(self.settings.resolved_database_url())

    @property
    def actor(self):
        from pec_tui.services.actor import SYSTEM

        return SYSTEM.on_terminal(self.settings.terminal)


pass_ctx = click.make_pass_decorator(CliContext)


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--database-url",
    envvar="PEC_TUI_DATABASE_URL",
    show_envvar=True,
    help="SQLAlchemy URL of the database (sqlite:///path or postgresql://user@host/db). "
    "Default: a SQLite file in the user data directory.",
)
@click.option(
    "--lang",
    type=click.Choice(i18n.LANGUAGES),
    envvar="PEC_TUI_LANG",
    show_envvar=True,
    help="Language of the interface and of e-mails (default: it).",
)
@click.version_option(package_name="pec-tui")
@click.pass_context
def main(ctx: click.Context, database_url: str | None, lang: str | None) -> None:
    """Manage and renew PEC mailboxes. Without a command, opens the terminal UI."""
    settings = load_settings(database_url=database_url, lang=lang)
    i18n.set_language(settings.lang)
    ctx.obj = CliContext(settings)
    if ctx.invoked_subcommand is None:
        from pec_tui.app import run_app

        run_app(ctx.obj.settings, ctx.obj.engine)


def _register_commands() -> None:
    # Each module adds its commands to `main`; imported here so `pec-tui --help` lists them all.
    from pec_tui.cli import commands  # noqa: F401


_register_commands()
