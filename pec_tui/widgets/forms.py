"""Form pieces: a labelled input with its error line, and the field-error mixin."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input, Label, Select, Static


def field_block(label: str, field_id: str, **input_options: Any) -> ComposeResult:
    """A label, its input and the error line beneath it (`#<field_id>-error`)."""
    yield Label(label, classes="auth-label")
    yield Input(id=field_id, **input_options)
    yield Label("", id=f"{field_id}-error", classes="auth-error")


# Priority bindings move the focus as soon as the key arrives, so keys typed (or pasted, or sent
# by tmux or a scanner) right after Tab land in the next field, not in the one being left.
FAST_FOCUS_BINDINGS = [
    Binding("tab", "app.focus_next", show=False, priority=True),
    Binding("shift+tab", "app.focus_previous", show=False, priority=True),
]


def submit_after_typed_keys(screen: Any, submit: Callable[[], object]) -> None:
    """Run `submit` once the focused field has handled the keys already typed into it.

    A key reaches a field through the field's own queue, while a priority Enter runs at once:
    read at once, the field would miss what was typed fast just before Enter.
    """
    (screen.focused or screen).call_later(submit)


def chosen(select: Select[str]) -> str:
    """The value of a Select made with `allow_blank=False`, which always has one."""
    value = select.selection
    if value is None:
        raise ValueError(f"nothing chosen in #{select.id}")
    return value


class FieldErrors:
    """For form screens: an error line under each of `FIELDS`, a general `#auth-message`
    line, and Enter moving from field to field (`submit()` on the last one)."""

    FIELDS: ClassVar[tuple[str, ...]] = ()

    def show_error(self: Any, field: str | None, message: str) -> None:
        """Put `message` under `field` (or on the general line) and focus that field."""
        for name in self.FIELDS:
            self.query_one(f"#{name}-error", Label).update(message if name == field else "")
        self.query_one("#auth-message", Static).update("" if field in self.FIELDS else message)
        if field in self.FIELDS:
            self.query_one(f"#{field}").focus()

    def clear_errors(self) -> None:
        self.show_error(None, "")

    def value(self: Any, field: str) -> str:
        field_input: Input = self.query_one(f"#{field}", Input)
        return field_input.value

    def action_next_or_submit(self: Any) -> None:
        focused = self.focused
        ids = list(self.FIELDS)
        if focused is not None and focused.id in ids[:-1]:
            self.query_one(f"#{ids[ids.index(focused.id) + 1]}").focus()
        else:
            submit_after_typed_keys(self, self.submit)

    def submit(self) -> None:
        raise NotImplementedError

    def set_busy(self: Any, busy: bool) -> None:
        self.query_one("#auth-box").loading = busy
