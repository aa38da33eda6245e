"""The Italian UI is Italian everywhere: Textual's own key descriptions and palette included."""

from __future__ import annotations

from test_mailboxes_screen import book_url, mailbox_screen, make_app, settle  # noqa: F401
from textual.command import CommandPalette
from textual.widgets import Input

from pec_tui.i18n import _
from pec_tui.widgets.textual_strings import BINDING_WORDS, PALETTE_WORDS

# Textual's English words that Italian says differently ("palette" is the same in both).
ENGLISH = {word for word in (*BINDING_WORDS, *PALETTE_WORDS)}


def _english_in(texts: list[str]) -> list[str]:
    return [text for text in texts if text in ENGLISH and _(text) != text]


async def test_keys_and_palette_of_the_mailbox_list_are_italian(book_url, italian):  # noqa: F811
    book, url = book_url
    app = make_app(url)
    async with app.run_test(size=(120, 32)) as pilot:
        await settle(pilot)
        screen = mailbox_screen(app)
        for focused in (screen.query_one("#mailboxes-search", Input), screen.table):
            focused.focus()
            await pilot.pause()
            words = [
                text
                for active in screen.active_bindings.values()
                for text in (active.binding.description, active.binding.tooltip)
                if text
            ]
            assert words and not _english_in(words), _english_in(words)
            assert "Campo successivo" in words  # tab, from Textual's App
        commands = list(app.get_system_commands(screen))
        titles = [c.title for c in commands] + [c.help for c in commands]
        assert not _english_in(titles), _english_in(titles)
        assert {"Tasti", "Esci", "Tema"} <= set(titles)
        await pilot.press("ctrl+p")
        await pilot.pause(0.3)
        assert isinstance(app.screen, CommandPalette)
        assert app.screen.query_one(Input).placeholder == "Cerca un comando…"


async def test_widgets_of_a_screen_imported_after_the_start_speak_italian(book_url, italian):  # noqa: F811
    """Screens are imported when first shown: the Textual widgets their module brings are
    made after the app started, and must still show their keys in Italian (f1)."""
    from textual.app import ComposeResult
    from textual.binding import Binding
    from textual.screen import Screen
    from textual.widget import Widget

    book, url = book_url
    app = make_app(url)
    async with app.run_test(size=(120, 32)) as pilot:
        await settle(pilot)

        class LateWidget(Widget):  # as if its module were imported only now
            BINDINGS = [Binding("down", "cursor_down", "Cursor down")]

        class LateScreen(Screen[None]):
            def compose(self) -> ComposeResult:
                yield LateWidget()

        assert _("Cursor down") != "Cursor down"
        await app.push_screen(LateScreen())
        await pilot.pause()
        late = app.screen.query_one(LateWidget)
        [binding] = [b for _key, b in late._bindings if b.action == "cursor_down"]
        assert binding.description == _("Cursor down")
