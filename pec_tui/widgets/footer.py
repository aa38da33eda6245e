"""The footer on one line at any width: keys that do not fit give way, f1 lists them all.

Textual's footer lays every key out in a row and lets the row run off the screen: at 80
columns the last keys (often the most useful: f1, ctrl+q) were simply cut. This footer
estimates each key's width and, when the row is too long, leaves out first the app's global
keys (Orders, Audit, Operators, Lock: every screen has them, f1 and the palette list them),
then the screen's keys from the last declared. f1 (Keys) and ctrl+q (Quit) always stay, so
the rest is one key away. Screens declare their keys most important first.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from itertools import groupby

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.dom import DOMNode
from textual.widgets import Footer
from textual.widgets._footer import FooterKey, FooterLabel, KeyGroup

# Binding ids that always stay in the footer.
ALWAYS_SHOWN = frozenset({"help", "quit"})


@dataclass
class _Entry:
    """One footer item: a key (or a group of keys sharing one label)."""

    bindings: list[tuple[Binding, bool, str]]
    global_key: bool  # the app's own key, on every screen
    group: Binding.Group | None = None

    @property
    def kept(self) -> bool:
        return any(b.id in ALWAYS_SHOWN for b, _e, _t in self.bindings)

    def width(self, compact: bool, key_display: dict[str, str]) -> int:
        if self.group is not None:
            # " ←→ Tipo ": the group's padding and margin, a margin after the label.
            keys = sum(
                cell_len(key_display[b.key]) + (0 if compact else 2) for b, _e, _t in self.bindings
            )
            return keys + cell_len(self.group.description) + 3
        binding = self.bindings[0][0]
        # compact: "key desc" and a margin; otherwise " key desc ".
        return (
            cell_len(key_display[binding.key])
            + cell_len(binding.description)
            + (2 if compact else 3)
        )


class KeysFooter(Footer):
    """Textual's Footer, keeping to the screen's width (see the module's docstring)."""

    DEFAULT_CSS = """
    KeysFooter.-compact FooterLabel {
        margin: 0 1 0 0;
    }
    """

    def __init__(self, *, compact: bool = False) -> None:
        super().__init__(compact=compact)
        self._fitted_width = 0
        # What the keys on show were composed from (None: nothing composed yet).
        self._composed: tuple[object, ...] | None = None

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._fitted_width:
            self.refresh(recompose=True)

    def _signature(self) -> tuple[object, ...]:
        """Everything the footer's keys are drawn from: the width and the keys on show."""
        return (
            self.size.width or self.app.size.width,
            self.compact,
            tuple(
                (binding.key, binding.action, binding.description, enabled, tooltip)
                for _node, binding, enabled, tooltip in self.screen.active_bindings.values()
                if binding.show or binding.key == self.app.COMMAND_PALETTE_BINDING
            ),
        )

    async def recompose(self) -> None:
        """Compose the keys again, unless they would come out the same: Textual asks at every
        change of focus or of the bindings, and a screen opening makes a dozen of those."""
        if self.is_attached and self._bindings_ready and self._signature() == self._composed:
            return
        await super().recompose()

    def _entries(self) -> list[_Entry]:
        by_action: defaultdict[str, list[tuple[Binding, bool, str, DOMNode]]] = defaultdict(list)
        for node, binding, enabled, tooltip in self.screen.active_bindings.values():
            if binding.show:
                by_action[binding.action].append((binding, enabled, tooltip, node))
        entries: list[_Entry] = []
        for group, members_iter in groupby(by_action.values(), lambda m: m[0][0].group):
            members = list(members_iter)
            if group is not None and len(members) > 1:
                bindings = [m[0][:3] for m in members]
                entries.append(_Entry(bindings, members[0][0][3] is self.app, group))
            else:
                for m in members:
                    entries.append(_Entry([m[0][:3]], m[0][3] is self.app))
        return entries

    def _fit(self, entries: list[_Entry], width: int) -> list[_Entry]:
        """Drop entries, global keys first then the screen's last ones, until they fit."""
        displays = {b.key: self.app.get_key_display(b) for e in entries for b, _e, _t in e.bindings}
        budget = width
        palette = self._palette_binding()
        if palette is not None:
            # "▏^p palette", docked right: its border, paddings and one column to spare.
            key = cell_len(self.app.get_key_display(palette))
            budget -= key + cell_len(palette.description) + (3 if self.compact else 6)
        kept = list(entries)
        order = [e for e in reversed(entries) if e.global_key] + [
            e for e in reversed(entries) if not e.global_key
        ]
        for candidate in order:
            if sum(e.width(self.compact, displays) for e in kept) <= budget:
                break
            if not candidate.kept:
                kept.remove(candidate)
        return kept

    def _palette_binding(self) -> Binding | None:
        if not (self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE):
            return None
        try:
            return self.screen.active_bindings[self.app.COMMAND_PALETTE_BINDING].binding
        except KeyError:
            return None

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        width = self.size.width or self.app.size.width
        self._fitted_width = width
        self._composed = self._signature()
        entries = self._fit(self._entries(), width)
        self.styles.grid_size_columns = len(entries)
        for entry in entries:
            if entry.group is not None:
                with KeyGroup(classes="-compact" if entry.group.compact else ""):
                    for binding, enabled, tooltip in entry.bindings:
                        yield FooterKey(
                            binding.key,
                            self.app.get_key_display(binding),
                            "",
                            binding.action,
                            disabled=not enabled,
                            tooltip=tooltip or binding.description,
                            classes="-grouped",
                        ).data_bind(compact=Footer.compact)
                yield FooterLabel(entry.group.description)
                continue
            binding, enabled, tooltip = entry.bindings[0]
            yield FooterKey(
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                disabled=not enabled,
                tooltip=tooltip,
            ).data_bind(compact=Footer.compact)
        if self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE:
            try:
                _node, binding, enabled, tooltip = self.screen.active_bindings[
                    self.app.COMMAND_PALETTE_BINDING
                ]
            except KeyError:
                return
            yield FooterKey(
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                classes="-command-palette",
                disabled=not enabled,
                tooltip=binding.tooltip or binding.description,
            )
