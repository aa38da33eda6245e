"""Every order-lifecycle command documents itself and each of its options."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from pec_tui.cli import main

COMMANDS = [
    ("renew",),
    ("buy",),
    ("orders", "list"),
    ("orders", "show"),
    ("orders", "cancel"),
    ("payments", "register"),
    ("payments", "import"),
    ("lifecycle", "run"),
    ("outbox", "flush"),
    ("outbox", "list"),
    ("outbox", "requeue"),
    ("credit", "show"),
    ("credit", "topup"),
]


def _command(path: tuple[str, ...]) -> click.Command:
    command: click.Command = main
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    return command


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_help_lists_every_option_with_its_text(path):
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    command = _command(path)
    assert command.help and len(command.help) > 30
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"{' '.join(path)} {param.opts} has no help text"
            for opt in param.opts + param.secondary_opts:
                assert opt in result.output, f"{opt} missing from `{' '.join(path)} --help`"


@pytest.mark.parametrize("group", ["orders", "payments", "lifecycle", "outbox", "credit"])
def test_groups_list_their_commands(group):
    result = CliRunner().invoke(main, [group, "--help"])
    assert result.exit_code == 0
    for name in _command((group,)).commands:  # type: ignore[attr-defined]
        assert name in result.output
