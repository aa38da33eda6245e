"""Options several commands share, defined once so their names and help stay the same."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from pec_tui.domain.enums import PaymentMethod
from pec_tui.domain.validation import MAX_INTEGER

if TYPE_CHECKING:
    from pec_tui.services.mailbox_io import ExpiryWindow

F = TypeVar("F", bound=Callable[..., Any])

# Whole numbers the database stores in an INTEGER column: ids, counts, limits, GB.
ID = click.IntRange(1, MAX_INTEGER)
COUNT = click.IntRange(1, MAX_INTEGER)
AMOUNT_OF = click.IntRange(0, MAX_INTEGER)


def _refuse_control_characters(
    kind: click.ParamType[Any, Any],
    value: Any,
    param: click.Parameter | None,
    ctx: click.Context | None,
) -> None:
    from pec_tui.domain.validation import hidden_character, shown
    from pec_tui.i18n import _

    if isinstance(value, str) and hidden_character(value) is not None:
        kind.fail(
            _("“{name}” is not a file name: it holds a control character.").format(
                name=shown(value)
            ),
            param,
            ctx,
        )


class FilePath(click.Path):
    """A file name without control characters (a NUL would make the system call fail)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        _refuse_control_characters(self, value, param, ctx)
        return super().convert(value, param, ctx)


class OutputFile(click.File):
    """`click.File` with the file name checked like `FilePath`."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        _refuse_control_characters(self, value, param, ctx)
        return super().convert(value, param, ctx)


# Named as strings: the service module is imported only when a command runs.
class Period(click.ParamType["ExpiryWindow", "str | ExpiryWindow"]):
    """A number of months (`3m`) or days (`90d`)."""

    name = "PERIOD"

    def convert(
        self, value: str | ExpiryWindow, param: click.Parameter | None, ctx: click.Context | None
    ) -> ExpiryWindow:
        from pec_tui.domain.validation import ValidationError
        from pec_tui.services.mailbox_io import ExpiryWindow

        if isinstance(value, ExpiryWindow):
            return value
        try:
            return ExpiryWindow.parse(value)
        except ValidationError as exc:
            self.fail(exc.message, param, ctx)


class InputFile(OutputFile):
    """`click.File` to read (`-` is standard input), the file name checked like `FilePath`."""


def text_or_json(help_text: str = "text for people, json for scripts.") -> Callable[[F], F]:
    """`--format text|json` (into the parameter `fmt`)."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help=help_text,
    )


def report_format(command: F) -> F:
    """`--format text|json|csv` of the reports (into the parameter `fmt`)."""
    option = click.option(
        "--format",
        "fmt",
        type=click.Choice(["text", "json", "csv"]),
        default="text",
        show_default=True,
        help="text draws the bars; json and csv (amounts like 1234.50) are for scripts.",
    )
    return option(command)


def payment_method(help_text: str) -> Callable[[F], F]:
    return click.option(
        "--payment-method",
        type=click.Choice([m.value for m in PaymentMethod]),
        required=True,
        help=help_text,
    )


def auto_renew(help_text: str) -> Callable[[F], F]:
    return click.option(
        "--auto-renew/--no-auto-renew", default=False, show_default=True, help=help_text
    )


def consents(command: F) -> F:
    """The three explicit consents of the Contratto step, each its own flag."""
    for option in reversed(
        (
            click.option(
                "--accept-terms",
                is_flag=True,
                help="The holder accepts the Condizioni generali di contratto.",
            ),
            click.option(
                "--accept-clauses",
                is_flag=True,
                help="The holder approves the clausole vessatorie (artt. 1341-1342 c.c.).",
            ),
            click.option(
                "--accept-privacy",
                is_flag=True,
                help="The holder accepts the informativa sul trattamento dei dati.",
            ),
        )
    ):
        command = option(command)
    return command
