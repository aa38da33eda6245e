"""`pec-tui` starting: the sign-in form first, the database opened behind it while the operator
types; what cannot be opened still ends the UI with one line."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from textual.screen import Screen
from textual.widgets import Input, Static

import pec_tui.app
from pec_tui.app import PecApp, launch_app
from pec_tui.config import load_settings
from pec_tui.demo.seeding import mark_demo_operators, seed_demo
from pec_tui.domain.enums import Role
from pec_tui.screens.first_admin import FirstAdminScreen
from pec_tui.screens.login import LoginScreen
from pec_tui.services import auth, operators
from pec_tui.services.actor import SYSTEM
from pec_tui.services.database import ensure_reference_data, open_database
from pec_tui.services.faults import NotOurDatabase


@pytest.fixture(autouse=True)
def _fast_hashing(monkeypatch):
    monkeypatch.setattr(
        auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


class Home(Screen[None]):
    """Stands in for the mailbox list: these tests are about what comes before it."""


class LoginApp(PecApp):
    CSS_PATH = Path(pec_tui.app.__file__).parent / PecApp.CSS_PATH

    def open_home(self) -> None:
        self.push_screen(Home(id="home"))


def add_operator(engine, username="mario", password="password-1") -> None:
    ensure_reference_data(engine)
    auth.create_first_admin(engine, "boss", "boss-password")
    admin = auth.authenticate(engine, "boss", "boss-password")
    operators.create_operator(engine, admin, username, password, Role.BACK_OFFICE)


class Opener:
    """Opens the database only when the test lets it (`release`), as a slow disk would."""

    def __init__(self, engine=None, failure: Exception | None = None) -> None:
        self.engine = engine
        self.failure = failure
        self.started = threading.Event()
        self.gate = threading.Event()
        self.returned = False

    def __call__(self):
        self.started.set()
        assert self.gate.wait(30)
        if self.failure is not None:
            raise self.failure
        self.returned = True
        return load_settings(database_url="sqlite://", terminal="desk-7"), self.engine

    def release(self) -> None:
        self.gate.set()


def launching(opener: Opener) -> LoginApp:
    return LoginApp(None, None, login=True, opener=opener)


async def until(pilot, condition, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await pilot.pause(0.02)


async def test_the_form_takes_typing_before_the_database_is_open(sqlite_engine):
    add_operator(sqlite_engine)
    opener = Opener(sqlite_engine)
    app = launching(opener)
    async with app.run_test() as pilot:
        await pilot.pause()
        assert isinstance(app.screen, LoginScreen)
        await until(pilot, opener.started.is_set)  # opening, behind the form
        await pilot.press(*"mario", "tab", *"password-1", "enter")
        assert not opener.returned
        assert app.screen.query_one("#username", Input).value == "mario"
        message = str(app.screen.query_one("#auth-message", Static).render())
        assert message == "Opening the database…"
        opener.release()
        await until(pilot, lambda: isinstance(app.screen, Home))
        assert app.actor.name == "mario"


async def test_a_first_start_turns_the_form_into_the_first_administrator_s(tmp_path):
    engine = open_database(f"sqlite:///{tmp_path / 'new.db'}")
    opener = Opener(engine)
    app = launching(opener)
    async with app.run_test() as pilot:
        await pilot.pause()
        assert isinstance(app.screen, LoginScreen)
        opener.release()
        await until(pilot, lambda: isinstance(app.screen, FirstAdminScreen))
        screen = app.screen
        # Mounted: its first field has the focus it gives on mount.
        await until(pilot, lambda: app.focused in screen.query("#username").nodes)
        for field, value in (
            ("username", "boss"),
            ("password", "boss-password"),
            ("confirm", "boss-password"),
        ):
            screen.query_one(f"#{field}", Input).value = value
        confirm = screen.query_one("#confirm", Input)

        def confirm_focused() -> bool:
            # Enter goes to the focused field. Under load a focus asked for could be taken
            # back by the form settling after its mount: asked again until it holds.
            if app.focused is not confirm:
                confirm.focus()
            return app.focused is confirm

        await until(pilot, confirm_focused)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, Home))
        assert app.actor.name == "boss" and app.actor.is_admin
    engine.dispose()


async def test_the_demo_operators_are_named_once_the_database_is_open(sqlite_engine):
    ensure_reference_data(sqlite_engine)
    seed_demo(sqlite_engine, 30, 7)
    made = operators.create_demo_operators(sqlite_engine, SYSTEM)
    mark_demo_operators(sqlite_engine, [c.username for c in made])
    opener = Opener(sqlite_engine)
    app = launching(opener)
    async with app.run_test() as pilot:
        await pilot.pause()
        assert not app.screen.query("#demo-accounts")
        opener.release()
        await until(pilot, lambda: bool(app.screen.query("#demo-accounts")))
        hint = str(app.screen.query_one("#demo-accounts", Static).render())
        assert "admin, backoffice, rivenditore1, rivenditore2" in hint


async def test_a_database_that_cannot_be_opened_ends_the_ui_after_the_form():
    failure = NotOurDatabase("sqlite:///x.db non è un database di pec-tui")
    opener = Opener(failure=failure)
    app = launching(opener)
    async with app.run_test() as pilot:
        await pilot.pause()
        assert isinstance(app.screen, LoginScreen)
        opener.release()
        await until(pilot, lambda: not app.is_running)
    assert app.opening_failure is failure


def test_launch_raises_what_stopped_the_opening(monkeypatch):
    """`launch_app` hands the failure to the command line, which says it in one line."""
    failure = NotOurDatabase("broken")

    def run(app, *args, **kwargs):
        app.opening_failure = failure

    monkeypatch.setattr(PecApp, "run", run)
    with pytest.raises(NotOurDatabase):
        launch_app(lambda: (_ for _ in ()).throw(failure))


def _printed_lines(output: bytes) -> list[str]:
    """The lines written as plain text (escape sequences taken out)."""
    text = re.sub(r"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|[()][0-9A-Za-z]|[=>])", "", output.decode())
    return [line.strip() for line in re.split(r"\r?\n", text) if line.strip()]


def test_pec_tui_on_a_damaged_file_shows_the_form_then_one_line(tmp_path):
    """The real program on a pseudo-terminal: the sign-in form is drawn, then the UI ends
    with the one line saying what is wrong (status 1), as when it was said before the UI."""
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(b"SQLite format 3\x00" + b"\xff" * 8000)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEC_TUI_")}
    env.update(
        PEC_TUI_LANG="it",
        PEC_TUI_DATA_DIR=str(tmp_path / "data"),
        PEC_TUI_CONFIG_DIR=str(tmp_path / "config"),
        TERM="xterm-256color",
    )
    argv = [sys.executable, "-c", "from pec_tui.cli import main; main()"]
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(sys.executable, [*argv, "--database-url", f"sqlite:///{damaged}"], env)
    output = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 1
    text = output.decode(errors="replace")
    assert "accesso operatore" in text  # the form was drawn first
    lines = _printed_lines(output[output.rfind(b"\x1b[?1049l") :])  # after the UI's screen
    assert len(lines) == 1, lines
    assert lines[0].startswith("Errore: ") and "non è un database di pec-tui" in lines[0]
    assert "Traceback" not in text


def test_the_form_needs_neither_the_database_layer_nor_the_settings(tmp_path):
    """What `pec-tui` imports before the UI starts and draws its form: none of the slow
    packages (the command line is run as far as starting the UI)."""
    code = (
        "import sys, pec_tui.app, pec_tui.screens.session\n"
        "slow = {'sqlalchemy', 'sqlmodel', 'alembic', 'pydantic_settings', 'argon2', 'schwifty'}\n"
        "def launch(opener):\n"
        "    print(sorted({m.split('.')[0] for m in sys.modules} & slow))\n"
        "pec_tui.app.launch_app = launch\n"
        "import pec_tui.cli.group\n"
        "pec_tui.cli.group.has_terminal = lambda: True  # run as if in a terminal\n"
        "from pec_tui.cli import main\n"
        "main([], standalone_mode=False)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEC_TUI_")}
    env["PEC_TUI_CONFIG_DIR"] = str(tmp_path)
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout
    assert loaded.strip() == "[]"


def test_every_command_module_is_listed_for_the_lazy_group():
    from pec_tui.cli import group

    modules = {p.stem[4:] for p in Path(group.__file__).parent.glob("cmd_*.py")}
    assert set(group.COMMANDS) == modules


async def test_quitting_while_the_database_is_opened_leaves_quietly(sqlite_engine):
    add_operator(sqlite_engine)
    opener = Opener(sqlite_engine)
    app = launching(opener)
    async with app.run_test() as pilot:
        await until(pilot, opener.started.is_set)
        await pilot.press("ctrl+q")
        opener.release()
    assert app.return_code == 0 and app.opening_failure is None
