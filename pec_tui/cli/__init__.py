"""The `pec-tui` command line: the TUI by default, and the commands resellers script.

Each command's module is imported when the command is run (see `cli.group.COMMANDS`)."""

from pec_tui.cli.group import EXIT_REFUSED, main

__all__ = ["EXIT_REFUSED", "main"]
