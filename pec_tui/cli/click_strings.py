"""click's own error messages in the UI language.

A mistyped command meets click's words before any of pec-tui's: "No such option '--x'.",
"Missing argument 'ADDRESS'.", "Invalid value for '--since': …". click writes them through
the standard library's `gettext`; `translate_click` points the `_` and `ngettext` of
click's modules at pec-tui's catalog, for the messages listed here only: click's help
("Options", "Show this message and exit.") stays in English beside the commands' own
English help.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from pec_tui.i18n import N_, _, ngettext

# click's messages, as its source writes them (click 8.x).
CLICK_WORDS = frozenset(
    {
        N_("Aborted!"),
        N_("Argument {name!r} takes {nargs} values."),
        N_("Could not open file {filename!r}: {message}"),
        N_("Error: invalid input"),
        N_("Error: {message}"),
        N_("Error: The two entered values do not match."),
        N_("Invalid start character for option ({option})"),
        N_("Invalid value for {param_hint}: {message}"),
        N_("Invalid value: {message}"),
        N_("Missing argument"),
        N_("Missing command."),
        N_("Missing option"),
        N_("Missing parameter"),
        N_("Missing parameter: {param_name}"),
        N_("No such command {name!r}."),
        N_("No such option {name!r}."),
        N_("Option {name!r} does not take a value."),
        N_("Repeat for confirmation"),
        N_("{name} {filename!r} does not exist."),
        N_("{name} {filename!r} is a directory."),
        N_("{name} {filename!r} is a file."),
        N_("{name} {filename!r} is not readable."),
        N_("{name} {filename!r} is not writable."),
        N_("{value!r} is not a valid {number_type}."),
        N_("{value} is not in the range {range}."),
        N_("directory"),
        N_("file"),
        N_("path"),
        N_("unknown error"),
    }
)


# click's plural messages, by their singular (each written out for the extraction).
CLICK_PLURALS: dict[str, Callable[[int], str]] = {
    "Did you mean {possibility}?": lambda n: ngettext(
        "Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)", n
    ),
    "Got unexpected extra argument ({args})": lambda n: ngettext(
        "Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})", n
    ),
    "Option {name!r} requires an argument.": lambda n: ngettext(
        "Option {name!r} requires an argument.", "Option {name!r} requires {nargs} arguments.", n
    ),
    "{value!r} is not {choice}.": lambda n: ngettext(
        "{value!r} is not {choice}.", "{value!r} is not one of {choices}.", n
    ),
    "{value!r} does not match the format {format}.": lambda n: ngettext(
        "{value!r} does not match the format {format}.",
        "{value!r} does not match the formats {formats}.",
        n,
    ),
}

_CLICK_MODULES = ("click.core", "click.exceptions", "click.parser", "click.termui", "click.types")


def _click_gettext(message: str) -> str:
    return _(message) if message in CLICK_WORDS else message


def _click_ngettext(singular: str, plural: str, n: int) -> str:
    translated = CLICK_PLURALS.get(singular)
    if translated is None:
        return singular if n == 1 else plural
    return translated(n)


def translate_click() -> None:
    """Have click's modules say their messages in the current UI language (at every call:
    the language can change after this)."""
    for name in _CLICK_MODULES:
        module = importlib.import_module(name)
        module._ = _click_gettext  # type: ignore[attr-defined]
        module.ngettext = _click_ngettext  # type: ignore[attr-defined]
