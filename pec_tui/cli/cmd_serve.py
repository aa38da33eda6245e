"""`pec-tui serve`: the terminal UI in web browsers, through textual-serve."""

from __future__ import annotations

import os
import shlex
import sys

import click

from pec_tui.cli.group import CliContext, main, pass_ctx


def app_command(kiosk: bool) -> str:
    """The shell command textual-serve runs for each browser tab.

    `exec` replaces the shell, so stopping the server's process group reaches the app itself.
    """
    argv = [sys.executable, "-c", 'from pec_tui.cli import main; main(prog_name="pec-tui")']
    if kiosk:
        argv.append("kiosk")
    return "exec " + shlex.join(argv)


@main.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. textual-serve has NO authentication of its own: keep the "
    "loopback address, or put a reverse proxy with TLS and sign-in in front before "
    "listening on any other address.",
)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--kiosk", is_flag=True, help="Serve the self-service kiosk (`pec-tui kiosk`).")
@click.option(
    "--public-url",
    metavar="URL",
    help="The address browsers reach the server at (default: http://HOST:PORT), e.g. "
    "https://pec.example.it behind a reverse proxy with TLS. Requests naming any other "
    "Host or coming from any other Origin are refused (403).",
)
@pass_ctx
def serve(ctx: CliContext, host: str, port: int, kiosk: bool, public_url: str | None) -> None:
    """Serve the terminal UI to web browsers: each browser tab runs its own app process
    on this machine, against the same database.

    textual-serve has no authentication of its own: anyone who can reach HOST:PORT gets
    the app. The operators' app asks for an operator's sign-in; the kiosk lets anyone try
    to identify as a customer. Hence the default loopback address. Only pages asking for
    the served address (--public-url) get it: another Host header, or a page of another
    site (Origin), is refused with 403 before any session starts.
    """
    from pec_tui.cli.serve_guard import guarded_server, is_loopback
    from pec_tui.i18n import _

    if not is_loopback(host):
        click.echo(
            f"Warning: listening on {host} without authentication in front; anyone who can "
            "reach it gets the application.",
            err=True,
        )
    # Migrate once here, so the app processes started per tab do not race to do it; they
    # inherit the environment, hence the same database and language.
    ctx.engine.dispose()
    os.environ["PEC_TUI_DATABASE_URL"] = ctx.settings.resolved_database_url()
    os.environ["PEC_TUI_LANG"] = ctx.settings.lang
    title = "pec-tui kiosk" if kiosk else "pec-tui"
    if public_url is None and host in ("0.0.0.0", "::"):
        raise click.UsageError(
            _(
                "Listening on every address needs --public-url: the address browsers use "
                "(requests for any other are refused)."
            )
        )
    server = guarded_server(app_command(kiosk), host, port, title, public_url)
    server.serve()
