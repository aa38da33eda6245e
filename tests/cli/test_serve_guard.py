"""`pec-tui serve` answers only its own address: foreign Host and Origin get 403 before a
session starts. Checked against a real server on a loopback port, with an aiohttp client."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import aiohttp
import pytest

from pec_tui.cli.serve_guard import Allowed


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def served(sqlite_url, tmp_path) -> Iterator[int]:
    """`pec-tui serve` on a free loopback port, in a process group of its own; its port."""
    port = _free_port()
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-c", "from pec_tui.cli import main; main()"]
        + ["--database-url", sqlite_url, "serve", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as answer:
                    assert answer.status == 200
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(
                        "the server did not answer:\n" + (tmp_path / "serve.log").read_text()
                    ) from None
                time.sleep(0.1)
        yield port
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


async def _get(port: int, **headers: str) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/", headers=headers) as answer,
    ):
        return answer.status


async def _websocket(port: int, **headers: str) -> int:
    """101 when the handshake succeeded (the socket is closed at once), else the status."""
    async with aiohttp.ClientSession() as session:
        try:
            async with session.ws_connect(
                f"ws://127.0.0.1:{port}/ws?width=80&height=24", headers=headers
            ) as socket_:
                await socket_.close()
                return 101
        except aiohttp.WSServerHandshakeError as exc:
            return exc.status


async def test_foreign_host_and_origin_are_refused_before_a_session(served):
    port = served
    own = f"http://127.0.0.1:{port}"
    assert await _get(port) == 200
    assert await _get(port, Host=f"localhost:{port}") == 200  # loopback aliases of it
    assert await _get(port, Host="attacker.example") == 403
    assert await _get(port, Host=f"attacker.example:{port}") == 403
    assert await _get(port, Origin="http://evil.example") == 403
    assert await _get(port, Origin=own) == 200

    assert await _websocket(port, Origin="http://evil.example") == 403
    assert await _websocket(port, Origin=f"http://127.0.0.1:{port + 1}") == 403
    assert await _websocket(port, Origin=own, Host="attacker.example") == 403
    assert await _websocket(port) == 403  # a browser always sends an Origin
    assert await _websocket(port, Origin=own) == 101


def test_the_allowed_addresses_of_a_public_url():
    behind_proxy = Allowed.of("https://pec.example.it", "127.0.0.1")
    assert behind_proxy.host_ok("pec.example.it", "https")
    assert behind_proxy.host_ok("PEC.example.it:443", "https")
    assert not behind_proxy.host_ok("127.0.0.1:8000", "https")
    assert not behind_proxy.host_ok(None)
    assert behind_proxy.origin_ok("https://pec.example.it")
    assert not behind_proxy.origin_ok("http://pec.example.it")
    assert not behind_proxy.origin_ok("https://pec.example.it.evil.example")
    assert not behind_proxy.origin_ok("null")

    loopback = Allowed.of("http://127.0.0.1:8000", "127.0.0.1")
    assert loopback.host_ok("localhost:8000") and loopback.host_ok("[::1]:8000")
    assert not loopback.host_ok("localhost:8001")
    lan = Allowed.of("http://192.168.1.5:8000", "192.168.1.5")
    assert not lan.host_ok("localhost:8000")
