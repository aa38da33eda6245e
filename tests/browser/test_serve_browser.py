"""`pec-tui serve --kiosk` in headless Chromium: identify, list, start a renewal, by keystrokes.

The recipe is the team's browser-testing notes: Debian's chromium driven by Playwright's
Python package (never `playwright install`), every request outside the server aborted, the
screen rebuilt from the websocket frames with pyte, the browser closed before the server
gets SIGTERM, and nothing left running afterwards.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from pec_tui.db.models import Holder, Mailbox, OpenRenewal, Order
from pec_tui.demo.seeding import seed_demo
from pec_tui.domain.enums import HolderKind, OrderStatus
from pec_tui.i18n import _
from pec_tui.services.database import open_database
from pec_tui.widgets.flow_header import step_title

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
REQUIRE_BROWSER = os.environ.get("PEC_TUI_REQUIRE_BROWSER") == "1"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module", autouse=True)
def _chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"Debian's chromium is not installed at {CHROMIUM} (apt-get install -y chromium)"
    if REQUIRE_BROWSER:
        pytest.fail(reason + " — PEC_TUI_REQUIRE_BROWSER=1 makes the browser test mandatory")
    pytest.skip(reason)


# --- the server -----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _group_pids(pgid: int) -> list[int]:
    """Processes still alive in the process group `pgid` (zombies excluded)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, group = fields[0], int(fields[2])
        if group == pgid and state != "Z":
            pids.append(int(entry.name))
    return pids


@pytest.fixture
def kiosk_server(sqlite_url, tmp_path) -> Iterator[tuple[str, str]]:
    """`pec-tui serve --kiosk` on a free loopback port, in a process group of its own."""
    port = _free_port()
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from pec_tui.cli import main; main()",
            "--database-url",
            sqlite_url,
            "serve",
            "--kiosk",
            "--port",
            str(port),
        ],
        env={**os.environ, "PEC_TUI_TERMINAL": "browser-kiosk", "PEC_TUI_LANG": "it"},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url, timeout=1) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(
                        "the server did not answer:\n" + (tmp_path / "serve.log").read_text()
                    ) from None
                time.sleep(0.1)
        yield url, sqlite_url
    finally:
        # The browser is already closed (see the test): SIGTERM ends the server in ~0.1 s.
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()
        deadline = time.monotonic() + 5
        while _group_pids(server.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _group_pids(server.pid) == [], "processes of the server were left running"


# --- the screen, rebuilt from the websocket frames ------------------------------------------


class TerminalMirror:
    """What the browser's terminal shows, replayed into pyte from the websocket traffic."""

    def __init__(self) -> None:
        import pyte

        self.screen = pyte.Screen(200, 60)
        self.stream = pyte.ByteStream(self.screen)

    def sent(self, payload: str | bytes) -> None:
        # The page tells the server its terminal size; the app draws for that size.
        try:
            message = json.loads(payload)
        except (TypeError, ValueError):
            return
        if isinstance(message, list) and message and message[0] == "resize":
            self.screen.resize(message[1]["height"], message[1]["width"])

    def received(self, payload: str | bytes) -> None:
        if isinstance(payload, bytes):
            self.stream.feed(payload)

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)


def wait_for(page, mirror: TerminalMirror, condition: Callable[[str], bool], what: str) -> str:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        text = mirror.text()
        if condition(text):
            return text
        page.wait_for_timeout(100)  # Playwright delivers the frames while it waits
    raise AssertionError(f"the browser never showed {what}; it shows:\n{mirror.text()}")


# --- data -----------------------------------------------------------------------------------


def a_customer(url: str) -> tuple[str, str, int]:
    """A demo holder with one renewable mailbox: (its address, the holder's CF, its id)."""
    engine = open_database(url)
    today = date.today()
    seed_demo(engine, 60, today=today)
    with Session(engine) as session:
        for mailbox, holder in session.exec(
            select(Mailbox, Holder)
            .join(Holder, col(Holder.id) == Mailbox.holder_id)
            .where(Holder.kind == HolderKind.PRIVATE.value, Mailbox.auto_renew == False)  # noqa: E712
            .where(col(Mailbox.expiry) >= today)
            .order_by(Mailbox.id)
        ):
            owned = session.exec(select(Mailbox.id).where(Mailbox.holder_id == holder.id)).all()
            busy = session.get(OpenRenewal, mailbox.id)
            if len(owned) == 1 and busy is None:
                engine.dispose()
                return mailbox.address, holder.codice_fiscale, mailbox.id
    raise AssertionError("the demo data has no private holder with one renewable mailbox")


# --- the test -------------------------------------------------------------------------------


@pytest.mark.usefixtures("italian")  # the served kiosk speaks the product's default language
def test_kiosk_in_a_browser_identify_list_and_start_a_renewal(kiosk_server):
    from playwright.sync_api import sync_playwright

    url, db_url = kiosk_server
    address, tax_code, mailbox_id = a_customer(db_url)
    mirror = TerminalMirror()
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            user_data_dir=str(Path(db_url.removeprefix("sqlite:///")).parent / "profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 800},
        )
        try:
            context.route(
                "**/*",
                lambda route: (
                    route.continue_() if route.request.url.startswith(url) else route.abort()
                ),
            )
            page = context.new_page()

            def on_websocket(ws) -> None:
                ws.on("framesent", mirror.sent)
                ws.on("framereceived", mirror.received)

            page.on("websocket", on_websocket)
            page.goto(url)

            wait_for(page, mirror, lambda t: _("Renew your PEC mailbox") in t, "the welcome screen")
            page.wait_for_function(
                "getComputedStyle(document.querySelector('#terminal')).opacity === '1'"
            )
            page.focus(".xterm-helper-textarea")
            page.keyboard.type(address)
            page.keyboard.press("Enter")
            page.keyboard.type(tax_code)
            page.keyboard.press("Enter")

            heading = _("PEC mailboxes of {holder}").format(holder="")
            text = wait_for(
                page, mirror, lambda t: heading in t and address in t, "the mailbox list"
            )
            assert text.count("@") == 1, "another holder's mailbox is listed"

            page.keyboard.press("r")
            first_step = f"1 {step_title('plan')}"
            wait_for(
                page,
                mirror,
                lambda t: first_step in t and _("Continue and complete the order") in t,
                "the first step of the renewal flow",
            )
        finally:
            context.close()

    engine = open_database(db_url)
    with Session(engine) as session:
        draft = session.exec(select(Order).where(Order.status == OrderStatus.DRAFT.value)).one()
        assert draft.terminal == "browser-kiosk"
        assert draft.draft_state["mailboxes"] == [mailbox_id]
    engine.dispose()
