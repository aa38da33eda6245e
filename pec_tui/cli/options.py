"""Options several commands share, defined once so their names and help stay the same."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from pec_tui.domain.enums import PaymentMethod

F = TypeVar("F", bound=Callable[..., Any])


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
