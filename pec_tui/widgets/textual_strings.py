"""Textual's own words in the UI language: its widgets' key descriptions, its palette.

Textual writes them in English inside its classes (Input's "Move cursor left", the app's
"Focus Next", the palette's "Search for commands…"); f1 and the command palette show them.
Their msgids are listed here so that the catalogs carry them, and `translate_textual`
rewrites the class-level bindings of every widget class from their English originals
(kept aside, so a process that changes language - the tests do - starts from English
again each time).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from textual.binding import Binding, BindingsMap
from textual.dom import DOMNode

from pec_tui.i18n import N_, _, get_language

# Descriptions and tooltips of the bindings of Textual's widgets, screen and app.
BINDING_WORDS = (
    N_("Bottom"),
    N_("Copy"),
    N_("Copy selected text"),
    N_("Cursor Down"),
    N_("Cursor Up"),
    N_("Cursor down"),
    N_("Cursor down select"),
    N_("Cursor left"),
    N_("Cursor left select"),
    N_("Cursor left word select"),
    N_("Cursor line end"),
    N_("Cursor line end select"),
    N_("Cursor line start"),
    N_("Cursor line start select"),
    N_("Cursor page down"),
    N_("Cursor page up"),
    N_("Cursor right"),
    N_("Cursor right select"),
    N_("Cursor right word select"),
    N_("Cursor to next ancestor"),
    N_("Cursor to next sibling"),
    N_("Cursor to parent"),
    N_("Cursor to previous sibling"),
    N_("Cursor up"),
    N_("Cursor up select"),
    N_("Cursor word left"),
    N_("Cursor word right"),
    N_("Cut"),
    N_("Cut selected text"),
    N_("Delete all to the left"),
    N_("Delete all to the right"),
    N_("Delete character left"),
    N_("Delete character right"),
    N_("Delete left to start of word"),
    N_("Delete line"),
    N_("Delete right to start of word"),
    N_("Delete to line end"),
    N_("Delete to line start"),
    N_("Dismiss menu"),
    N_("Down"),
    N_("End"),
    N_("Exit the command palette"),
    N_("Expand or collapse all"),
    N_("First"),
    N_("Focus Next"),
    N_("Focus Previous"),
    N_("Go to bottom"),
    N_("Go to end"),
    N_("Go to start"),
    N_("Go to top"),
    N_("Home"),
    N_("Last"),
    N_("Move cursor left"),
    N_("Move cursor left a word"),
    N_("Move cursor left a word and select"),
    N_("Move cursor left and select"),
    N_("Move cursor right a word"),
    N_("Move cursor right a word and select"),
    N_("Move cursor right and select"),
    N_("Move cursor right or accept the completion suggestion"),
    N_("Next command"),
    N_("Next option"),
    N_("Next page"),
    N_("Next tab"),
    N_("Open link"),
    N_("Page Down"),
    N_("Page Left"),
    N_("Page Right"),
    N_("Page Up"),
    N_("Page down"),
    N_("Page up"),
    N_("Paste"),
    N_("Paste text from the clipboard"),
    N_("Press button"),
    N_("Previous command"),
    N_("Previous option"),
    N_("Previous page"),
    N_("Previous tab"),
    N_("Quit"),
    N_("Redo"),
    N_("Scroll Down"),
    N_("Scroll End"),
    N_("Scroll Home"),
    N_("Scroll Left"),
    N_("Scroll Right"),
    N_("Scroll Up"),
    N_("Select"),
    N_("Select all"),
    N_("Select line"),
    N_("Select line end"),
    N_("Select line start"),
    N_("Show menu"),
    N_("Submit"),
    N_("Toggle"),
    N_("Toggle collapsible"),
    N_("Toggle option"),
    N_("Top"),
    N_("Undo"),
    N_("Up"),
    N_("Quit the app and return to the command prompt."),
    N_("palette"),
    N_("Open the command palette"),
    N_("Keys"),
)

# Titles and help lines of Textual's system commands and the palette's placeholder.
PALETTE_WORDS = (
    N_("Search for commands…"),
    N_("Theme"),
    N_("Change the current theme"),
    N_("Quit the application as soon as possible"),
    N_("Hide the keys and widget help panel"),
    N_("Show help for the focused widget and a summary of available keys"),
    N_("Minimize"),
    N_("Minimize the widget and restore to normal size"),
    N_("Maximize"),
    N_("Maximize the focused widget"),
    N_("Screenshot"),
    N_("Save an SVG 'screenshot' of the current screen"),
)

_ORIGINALS: dict[type[DOMNode], list[tuple[str, Binding]]] = {}


def _node_classes(base: type[DOMNode] = DOMNode) -> Iterator[type[DOMNode]]:
    for cls in base.__subclasses__():
        yield cls
        yield from _node_classes(cls)


def _translated(binding: Binding) -> Binding:
    return replace(
        binding,
        description=_(binding.description) if binding.description else "",
        tooltip=_(binding.tooltip) if binding.tooltip else "",
    )


# The language each class's key descriptions are in now (classes not listed: English).
_SPOKEN: dict[type[DOMNode], str] = {}


def translate_textual() -> None:
    """Put every widget class's key descriptions in the UI language (before widgets exist).

    Cheap when nothing changed: a class already in the UI language is left alone. Screens
    are imported when first shown, so this runs again before each screen is pushed: the
    Textual widgets they bring (a DataTable, a Select) copy their class's keys when made.
    """
    language = get_language()
    for cls in set(_node_classes()):
        if _SPOKEN.get(cls) == language:
            continue
        merged = cls.__dict__.get("_merged_bindings")
        if merged is None:
            continue
        originals = _ORIGINALS.setdefault(cls, list(merged))
        cls._merged_bindings = BindingsMap([_translated(binding) for _key, binding in originals])
        _SPOKEN[cls] = language


# The names Textual gives keys in the footer and in f1, as an Italian keyboard labels them.
KEY_NAMES = {
    "space": N_("space"),
    "pgup": N_("pgup"),
    "pgdn": N_("pgdn"),
    "home": N_("home"),
    "end": N_("end"),
    "del": N_("del"),
    "insert": N_("insert"),
}


def key_display(shown: str) -> str:
    """`shown` (Textual's display of a key, e.g. `ctrl+home`) with the key's name in the UI
    language; modifiers and symbols stay as they are."""
    *modifiers, key = shown.split("+") if shown != "+" else [shown]
    caret = "^" if key.startswith("^") and len(key) > 1 else ""  # ctrl, as Textual shows it
    name = KEY_NAMES.get(key.removeprefix(caret))
    return "+".join([*modifiers, caret + _(name) if name else key])
