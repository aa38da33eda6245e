"""The `pec-tui` group: global options, who a command acts as, refusals as exit status 77.

Every `cmd_*` module adds its commands to `main`; `main` imports one only when its command is
run (or listed, for --help), so that `pec-tui` alone shows the sign-in form without them."""

from __future__ import annotations

import importlib
import os
import sys
import tomllib
from dataclasses import dataclass
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any

import click

from pec_tui import i18n

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from pec_tui.config import Settings
    from pec_tui.services.actor import Actor

# Exit status of a refused sign-in or operation (sysexits EX_NOPERM), so scripts can tell.
EXIT_REFUSED = 77


class Refused(click.ClickException):
    exit_code = EXIT_REFUSED


def cli_terminal(configured: str | None) -> str:
    """Where a command comes from, for the audit: OS user @ host, and the configured
    terminal name when it is not the host name."""
    import getpass
    import socket

    try:
        user = getpass.getuser()
    except Exception:  # no login name in this environment (e.g. an unknown uid)
        user = str(os.getuid()) if hasattr(os, "getuid") else "?"
    host = socket.gethostname()
    where = f"{user}@{host}"
    if configured and configured != host:
        where = f"{where} ({configured})"
    return where[:100]


@dataclass
class CliContext:
    settings: Settings
    operator: str | None = None
    token: str | None = None
    # False: open the database as it is, without checking or upgrading its schema (db upgrade).
    check_schema: bool = True

    @cached_property
    def engine(self) -> Engine:
        from pec_tui.services.database import open_database

        return open_database(self.settings.resolved_database_url(), migrate=self.check_schema)

    @cached_property
    def actor(self) -> Actor:
        """Who the command acts as; the rule is in `main`'s help."""
        from pec_tui.i18n import _
        from pec_tui.services import auth
        from pec_tui.services.actor import SYSTEM

        terminal = cli_terminal(self.settings.terminal)
        try:
            if self.token:
                actor = auth.authenticate_token(self.engine, self.token, terminal)
                if self.operator and auth.normalise_username(self.operator) != actor.name:
                    raise Refused(_("The token belongs to another operator than --operator."))
                return actor
            if self.operator:
                return auth.authenticate(self.engine, self.operator, self._password(), terminal)
        except auth.LoginRefused as exc:
            raise Refused(str(exc)) from exc
        if auth.needs_first_admin(self.engine):
            return SYSTEM.on_terminal(terminal)
        if os.environ.get("PEC_TUI_SYSTEM") == "1":
            self._refuse_system(terminal)
        raise Refused(
            _(
                "Sign in with --operator USER (password in PEC_TUI_PASSWORD or typed at the "
                "prompt) or a token (--token-stdin or PEC_TUI_TOKEN); see pec-tui --help."
            )
        )

    def _refuse_system(self, terminal: str) -> None:
        """PEC_TUI_SYSTEM=1 on a database with operators: refused, and audited."""
        from pec_tui.i18n import _
        from pec_tui.services.actor import SYSTEM
        from pec_tui.services.scope import Denied, record_denial

        message = _(
            "PEC_TUI_SYSTEM=1 works only on a database without operators: scheduled jobs "
            "use the system token (pec-tui operators system-token) in PEC_TUI_TOKEN."
        )
        record_denial(self.engine, SYSTEM.on_terminal(terminal), Denied(message, "login"))
        raise Refused(message)

    def _password(self) -> str:
        from pec_tui.i18n import _

        password = os.environ.get("PEC_TUI_PASSWORD")
        if password is not None:
            return password
        if not sys.stdin.isatty():
            raise Refused(_("No password: set PEC_TUI_PASSWORD or run the command in a terminal."))
        return click.prompt(
            _("Password for {operator}").format(operator=self.operator), hide_input=True, err=True
        )


class Failed(click.ClickException):
    """A fault people can act on, in one line wholly in the UI language (click's own
    "Error:" prefix is English)."""

    def show(self, file: Any = None) -> None:
        from pec_tui.i18n import _

        click.echo(_("Error: {message}").format(message=self.format_message()), err=True)


class Misused(click.UsageError):
    """A command typed wrong (an unknown option, a missing argument, a bad value): one line
    in the UI language naming the help to read, exit status 2, instead of click's usage,
    hint and "Error:" in English on four lines."""

    @classmethod
    def of(cls, exc: click.UsageError) -> Misused:
        return cls(exc.format_message().replace("\n\t", " "), exc.ctx)

    def show(self, file: Any = None) -> None:
        from pec_tui.i18n import _

        command = self.ctx.command_path if self.ctx is not None else "pec-tui"
        click.echo(
            _("Error: {message} (see {command} --help)").format(
                message=self.format_message(), command=command
            ),
            err=True,
        )


def has_terminal() -> bool:
    """Whether the terminal UI can be shown: its keys come from standard input and it draws
    on standard error, both a terminal; or a driver of its own is set (`pec-tui serve` runs
    it for a browser)."""
    if os.environ.get("TEXTUAL_DRIVER"):
        return True
    return sys.stdin.isatty() and sys.stderr.isatty()


def require_terminal() -> None:
    """Refuse in one line to open the UI where nobody could see it (a script, a pipe, a
    service): it would wait for keys that never come."""
    if not has_terminal():
        raise Failed(
            i18n._(
                "No terminal to show the interface in (input or output is redirected): run "
                "pec-tui in a terminal, or give it a command (pec-tui --help)."
            )
        )


class Unexpected(Failed):
    """A defect: one line naming the log file that holds the traceback, exit status 70."""

    exit_code = 70


# Each command and the module that defines it (and adds it to `main` when imported).
COMMANDS = {
    name: f"pec_tui.cli.cmd_{name}"
    for name in (
        "audit",
        "buy",
        "credit",
        "db",
        "demo",
        "invoices",
        "kiosk",
        "lifecycle",
        "mailboxes",
        "operators",
        "orders",
        "outbox",
        "payments",
        "prices",
        "renew",
        "report",
        "serve",
    )
}


class _Group(click.Group):
    """Commands are imported when run or listed (a lazy group, as click's documentation
    describes), from `COMMANDS`.

    No traceback reaches the user: a refusal from any command becomes a one-line message
    and exit status 77; a database that cannot be used, or that stops answering, one line
    saying what to do (exit status 1); anything else one line naming the log file that holds
    the traceback (exit status 70)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            importlib.import_module(COMMANDS[cmd_name])  # its decorators add it to `main`
        return super().get_command(ctx, cmd_name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.exceptions.NoSuchCommand as exc:
            # click suggests a near name among the commands imported so far: here, all.
            raise click.exceptions.NoSuchCommand(
                exc.command_name, possibilities=self.list_commands(ctx), ctx=ctx
            ) from None

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        from pec_tui.cli.click_strings import translate_click

        # Mistakes in the arguments are told before the settings are read: in the language
        # the settings will give, as far as the flag, the environment and config.toml say.
        i18n.set_language(language_at_start(_lang_flag(args)))
        translate_click()
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:
            raise Misused.of(exc) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Misused:
            raise
        except click.UsageError as exc:  # a command's arguments, or a command's own refusal
            raise Misused.of(exc) from None
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:
            raise _one_line(exc) from exc


def _one_line(exc: Exception) -> click.ClickException:
    """What `_Group` says of an exception (imported only then: the database layer is slow to
    import, and `pec-tui` draws its sign-in form before it)."""
    from pec_tui.i18n import _
    from pec_tui.services import faults
    from pec_tui.services.actor import AccessDenied

    if isinstance(exc, KeyError | IndexError):
        # A bug, not a record that is not there: logged like any other defect.
        log = faults.record_unexpected(exc)
        return Unexpected(faults.unexpected_message(exc, log))
    if isinstance(exc, LookupError):
        # Missing — or out of the operator's scope, which must look the same (exit 1).
        return Failed(exc.args[0] if exc.args else str(exc))
    if isinstance(exc, AccessDenied):
        return Refused(_("refused: {reason}").format(reason=exc))
    message = faults.explain(exc)
    if message is not None:
        return Failed(message)
    log = faults.record_unexpected(exc)
    return Unexpected(faults.unexpected_message(exc, log))


pass_ctx = click.make_pass_decorator(CliContext)


@click.group(
    cls=_Group,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
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
@click.option(
    "--operator",
    metavar="USER",
    envvar="PEC_TUI_OPERATOR",
    show_envvar=True,
    help="Act as this operator; the password comes from PEC_TUI_PASSWORD or a prompt.",
)
@click.option(
    "--token-stdin",
    is_flag=True,
    help="Act as the operator whose script token is the first line of standard input "
    "(see `operators token`); or set PEC_TUI_TOKEN. Never on the command line, where "
    "`ps` and the shell history would show it.",
)
@click.version_option(package_name="pec-tui")
@click.pass_context
def main(
    ctx: click.Context,
    database_url: str | None,
    lang: str | None,
    operator: str | None,
    token_stdin: bool,
) -> None:
    """Manage and renew PEC mailboxes. Without a command, opens the terminal UI, which
    asks the operator to sign in.

    \b
    Who a command acts as, checked in this order:
      --token-stdin / PEC_TUI_TOKEN  the operator the script token belongs to
                                     (`operators token`; scheduled jobs: the
                                     token of `operators system-token`);
      --operator / PEC_TUI_OPERATOR  that operator, with the password from
                                     PEC_TUI_PASSWORD or typed at a prompt;
      neither                        the local system administrator, but only
                                     while the database has no operator yet (to
                                     create the first: `operators add`);
                                     otherwise refused.
    Every command is audited under that name, with the OS user and host it
    came from. A refused sign-in or operation exits with status 77.
    """
    if ctx.invoked_subcommand is None:
        # The terminal UI: its sign-in form first, while the settings are loaded and the
        # database is opened behind it (what fails there is told in one line, as here).
        from pec_tui.app import launch_app

        i18n.set_language(language_at_start(lang))
        require_terminal()
        launch_app(partial(_open_for_ui, database_url, lang))
        return
    settings = _settings(database_url, lang)
    token = os.environ.get("PEC_TUI_TOKEN") or None
    if token_stdin:
        token = sys.stdin.readline().strip()
        if not token:
            raise Refused(i18n._("No token on standard input."))
    ctx.obj = CliContext(settings, operator=operator, token=token)


def _settings(database_url: str | None, lang: str | None) -> Settings:
    """The settings (flags given as arguments), in one line if they cannot be read; the
    interface then speaks their language."""
    from pec_tui.config import config_file, load_settings

    try:
        settings = load_settings(database_url=database_url, lang=lang)
    except ValueError as exc:  # a malformed config.toml, a setting of the wrong type
        from pec_tui.i18n import _

        detail = "; ".join(line.strip() for line in str(exc).splitlines()[:3])
        raise Failed(
            _("The settings cannot be read ({file}, PEC_TUI_* variables): {detail}").format(
                file=config_file(), detail=detail
            )
        ) from None
    i18n.set_language(settings.lang)
    return settings


def _open_for_ui(database_url: str | None, lang: str | None) -> tuple[Settings, Engine]:
    """What the terminal UI opens behind its sign-in form (in a worker thread)."""
    from pec_tui.services.database import open_database

    settings = _settings(database_url, lang)
    return settings, open_database(settings.resolved_database_url())


def _lang_flag(args: list[str]) -> str | None:
    """The language `--lang` or PEC_TUI_LANG asks for, before click has parsed anything."""
    wanted = os.environ.get("PEC_TUI_LANG")
    for position, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--lang" and position + 1 < len(args):
            wanted = args[position + 1]
        elif arg.startswith("--lang="):
            wanted = arg.removeprefix("--lang=")
    return wanted if wanted in i18n.LANGUAGES else None


def language_at_start(flag: str | None) -> str:
    """The interface's language before the settings are loaded (importing them takes a while):
    the flag or PEC_TUI_LANG, else config.toml's `lang`, else Italian, as the settings
    have it. A file or value that cannot be read is left for the settings to report."""
    from pec_tui.paths import config_file

    if flag is not None:
        return flag
    try:
        with config_file().open("rb") as file:
            configured = tomllib.load(file).get("lang")
    except (OSError, ValueError):
        return "it"
    return configured if configured in i18n.LANGUAGES else "it"
