"""Keys shown in the user's language, and every key of a screen in the command palette.

Class-level BINDINGS are built when a module is imported, before the UI language is known:
their descriptions are msgids (marked with N_), translated per instance by `translate_bindings`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

from textual.binding import BindingsMap
from textual.command import DiscoveryHit, Hit, Hits, Provider

from pec_tui.i18n import _


def translate_bindings(node: Any) -> None:
    """Translate the binding descriptions of `node` now (class-level ones are msgids).

    BINDINGS are built when the module is imported, before the UI language is known; each
    screen translates its own copy when it is created.
    """
    node._bindings = BindingsMap(
        [
            replace(
                binding,
                description=_(binding.description) if binding.description else "",
                tooltip=_(binding.tooltip) if binding.tooltip else "",
                group=replace(binding.group, description=_(binding.group.description))
                if binding.group
                else None,
            )
            for _key, binding in node._bindings
        ]
    )


class ScreenKeysProvider(Provider):
    """Every key the current screen offers, as a command in the command palette."""

    def _commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        commands: list[tuple[str, str, Callable[[], Any]]] = []
        seen: set[str] = set()
        for active in self.screen.active_bindings.values():
            binding = active.binding
            if not binding.description or not active.enabled or binding.action in seen:
                continue
            seen.add(binding.action)
            key = self.app.get_key_display(binding)
            commands.append(
                (
                    binding.description,
                    _("Key: {key}").format(key=key),
                    partial(self.app.run_action, binding.action, active.node),
                )
            )
        return commands

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
