"""No traceback reaches a user: every command, run with hostile arguments, answers in one line.

The commands are found by walking the click group, so a command added later is covered
without touching this file. Each runs in-process (CliRunner) with one hostile value at a time
in one parameter and plausible values in the others, as the system (PEC_TUI_SYSTEM=1), on a
small real book. Allowed: success, a usage error, a refusal, a one-line failure; never a
traceback, never the "unexpected error" status 70.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import date, timedelta

import click
import pytest
from book_builder import add_holder, add_mailbox, confirm_renewal
from click.testing import CliRunner, Result

from pec_tui.cli import main
from pec_tui.services.faults import EXIT_UNEXPECTED, error_log

HUGE = "99999999999999999999"
# Tried in every parameter that takes a value, whatever its type.
HOSTILE = ("-1", HUGE, "9999-12-31", "0001-01-01", "\x00", "٣", "x" * 5000)


def _subcommands(group: click.Group) -> dict[str, click.Command]:
    """A group's commands, each imported on demand as `pec-tui` does (see cli.group)."""
    ctx = click.Context(group)
    found = {name: group.get_command(ctx, name) for name in group.list_commands(ctx)}
    return {name: command for name, command in found.items() if command is not None}


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in sorted(_subcommands(group).items()):
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name)


def _command(path: tuple[str, ...]) -> click.Command:
    command: click.Command = main
    for name in path:
        assert isinstance(command, click.Group)
        command = _subcommands(command)[name]
    return command


def _plausible(param: click.Parameter, book: dict[str, str]) -> str:
    """A value the parameter accepts, so that the hostile one is what gets tested."""
    kind = param.type
    if isinstance(kind, click.Choice):
        return str(kind.choices[0])
    if isinstance(kind, click.Path):
        return book["file"]
    if isinstance(kind, click.types.IntParamType | click.IntRange):
        return "1"
    name = (param.name or "").lower()
    if "day" in kind.name.lower() or "date" in kind.name.lower() or name in ("today", "paid_on"):
        return date.today().isoformat()
    if "amount" in name or kind.name == "AMOUNT":
        return "1,00"
    if "address" in name or "addresses" in name:
        return book["address"]
    if name == "number":
        return book["number"]
    if kind.name == "PERIOD":
        return "3m"
    return "x"


def _argv(command: click.Command, book: dict[str, str]) -> Iterator[tuple[str, list[str]]]:
    """(what is hostile, the arguments) for each hostile value of each parameter."""
    params = [p for p in command.params if p.name not in ("help",)]
    for target in params:
        if isinstance(target, click.Option) and (target.is_flag or target.count):
            continue
        for hostile in HOSTILE:
            args: list[str] = []
            trailing: list[str] = []
            for param in params:
                value = hostile if param is target else None
                if isinstance(param, click.Argument):
                    if value is None and not param.required:
                        continue
                    trailing.append(value if value is not None else _plausible(param, book))
                elif value is not None:
                    args += [param.opts[0], value]
                elif param.required:
                    args += [param.opts[0], _plausible(param, book)]
            yield f"{target.name}={hostile[:20]!r}", [*args, "--", *trailing]


@pytest.fixture
def book(sqlite_engine, sqlite_url, tmp_path, monkeypatch) -> dict[str, str]:
    """A small real book, and nothing that would block: the UIs and the web server."""
    holder = add_holder(sqlite_engine)
    box = add_mailbox(sqlite_engine, holder, "mario.rossi@pec.it", date.today() + timedelta(40))
    order = confirm_renewal(sqlite_engine, [box], date.today())
    monkeypatch.chdir(tmp_path)  # files the commands write land here
    monkeypatch.setenv("PEC_TUI_SYSTEM", "1")
    monkeypatch.setenv("PEC_TUI_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("PEC_TUI_MAILDIR", str(tmp_path / "Maildir"))
    ran: list[str] = []
    monkeypatch.setattr("pec_tui.app.run_app", lambda *a, **k: ran.append("app"))
    monkeypatch.setattr("pec_tui.kiosk.run_kiosk", lambda *a, **k: ran.append("kiosk"))
    monkeypatch.setattr(
        "textual_serve.server.Server.serve", lambda self, *a, **k: ran.append("serve")
    )
    noise = tmp_path / "noise.csv"
    noise.write_bytes(bytes(range(256)) * 4)
    return {
        "url": sqlite_url,
        "file": str(noise),
        "address": "mario.rossi@pec.it",
        "number": str(order.number),
    }


def _run(args: list[str], input: str | None = "") -> Result:
    return CliRunner().invoke(main, args, input=input, catch_exceptions=True)


def _clean(result: Result, what: str) -> None:
    assert "Traceback" not in result.output, f"{what}:\n{result.output}"
    assert result.exit_code != EXIT_UNEXPECTED, f"{what}: {result.output}"
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{what}: {result.exception!r}"
    )


def test_every_command_answers_hostile_arguments_without_a_traceback(book):
    paths = list(_commands(main))
    assert len(paths) >= 25  # the walk found the commands
    tried = 0
    failures = []
    for path in paths:
        command = _command(path)
        for what, args in _argv(command, book):
            result = _run([*path, *args])
            try:
                _clean(result, f"pec-tui {' '.join(path)} {what}")
            except AssertionError as failure:
                failures.append(str(failure).split("\n")[0][:300])
            tried += 1
    assert not failures, "\n".join(failures)
    assert tried > 200
    assert not error_log().exists()


@pytest.mark.parametrize(
    "global_args",
    [
        ["--database-url", "sqlite:////nonexistent/folder/pec.db"],
        ["--database-url", "postgresql://nobody@127.0.0.1:1/pec"],
        ["--database-url", "not a url"],
        ["--database-url", "mysql://x@localhost/y"],
        ["--lang", "xx"],
        ["--operator", "\x00"],
        ["--operator", "x" * 5000],
        ["--token", "\x00"],
    ],
)
def test_hostile_global_options_answer_in_one_line(book, global_args, monkeypatch):
    monkeypatch.setenv("PEC_TUI_PASSWORD", "whatever")
    result = _run([*global_args, "orders", "list"])
    _clean(result, " ".join(global_args))
    assert result.exit_code != 0


@pytest.mark.parametrize("content", ["database_url = [", "smtp_port = 'many'\n", "\x00"])
def test_a_malformed_configuration_file_is_one_line(book, content, monkeypatch, tmp_path):
    monkeypatch.setenv("PEC_TUI_CONFIG_DIR", str(tmp_path / "config"))
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.toml").write_text(content)
    result = _run(["orders", "list"])
    _clean(result, content)
    assert result.exit_code == 1 and "config.toml" in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_corrupt_or_foreign_database_file_is_one_line_in_italian(tmp_path, monkeypatch):
    monkeypatch.setenv("PEC_TUI_LANG", "it")
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"SQLite format 3\x00" + b"\xff" * 8000)
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as connection:
        connection.execute("CREATE TABLE contacts (name TEXT)")
    for path, words in ((corrupt, "non è un database di pec-tui"), (foreign, "altro programma")):
        result = _run(["--database-url", f"sqlite:///{path}", "orders", "list"])
        _clean(result, str(path))
        assert result.exit_code == 1 and words in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1
    with sqlite3.connect(foreign) as connection:
        assert [row[0] for row in connection.execute("SELECT name FROM sqlite_master")] == [
            "contacts"
        ]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["mailboxes", "export", "--expiring-within", "999999999d"], "periodo troppo lungo"),
        (["lifecycle", "run", "--today", "9999-12-31"], "è dopo oggi"),
        (["prices", "set", "STANDARD", HUGE], "al massimo"),
    ],
)
def test_out_of_range_arguments_of_the_issue_get_one_italian_line(book, args, words, monkeypatch):
    monkeypatch.setenv("PEC_TUI_LANG", "it")
    result = _run(args)
    _clean(result, " ".join(args))
    assert result.exit_code in (1, 2) and words in result.output, result.output


def test_an_unexpected_error_prints_one_line_and_logs_the_traceback(book, monkeypatch):
    def broken(*_args, **_kwargs):
        raise ZeroDivisionError("a defect")

    monkeypatch.setattr("pec_tui.services.prices.get_price_list", broken)
    result = _run(["prices", "show"])
    assert result.exit_code == EXIT_UNEXPECTED and isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    [line] = result.output.strip().splitlines()
    assert "ZeroDivisionError" in line and str(error_log()) in line
    logged = error_log().read_text()
    assert "Traceback" in logged and "a defect" in logged and "get_price_list" in logged
