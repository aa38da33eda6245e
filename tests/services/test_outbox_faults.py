"""Faults while delivering the outbox never block or lose work (aiosmtpd on 127.0.0.1).

A message refused for good (5xx) is `failed` with the reason and does not stop the others; a
temporary failure (4xx, a dropped connection) is tried again later with growing delays; a
flush killed mid-delivery leaves its message to the next flush once the lease has expired,
sent again with the same Message-ID.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import mailbox
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from sqlmodel import Session, select

from pec_tui.cli import main
from pec_tui.config import load_settings
from pec_tui.db.models import OutboxMessage, utcnow
from pec_tui.services import delivery, notifications, outbox


class Server:
    """An aiosmtpd handler that accepts everything except what `refuse_*` says."""

    def __init__(self) -> None:
        self.envelopes = []
        self.refuse_rcpt: dict[str, str] = {}
        self.refuse_mail: dict[str, str] = {}
        # Subject word -> the reply to DATA (None: drop the connection).
        self.refuse_data: dict[str, str | None] = {}
        self.delay_seconds = 0.0
        self.hold: threading.Event | None = None
        self.hold_after = 0

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if address in self.refuse_mail:
            return self.refuse_mail[address]
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse_rcpt:
            return self.refuse_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        subject = str(self._parse(envelope)["Subject"])
        for word, reply in self.refuse_data.items():
            if word in subject:
                if reply is None:
                    server.transport.close()
                    return "421 closing"
                return reply
        self.envelopes.append(envelope)
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        if self.hold is not None and len(self.envelopes) >= self.hold_after:
            # Accepted, but the answer is slow in coming: the client may die meanwhile.
            while not self.hold.is_set():
                await asyncio.sleep(0.02)
        return "250 Message accepted for delivery"

    @staticmethod
    def _parse(envelope):
        return email.message_from_bytes(envelope.original_content, policy=email.policy.default)

    def message_ids(self) -> list[str]:
        return [str(self._parse(e)["Message-ID"]) for e in self.envelopes]

    def subjects(self) -> list[str]:
        return [str(self._parse(e)["Subject"]) for e in self.envelopes]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server():
    handler = Server()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    handler.port = port
    yield handler
    controller.stop()


def _settings(port: int):
    return load_settings(smtp_host="127.0.0.1", smtp_port=port, smtp_security="none")


def _queue(engine, count: int, name=lambda i: f"message {i}", to=lambda i: f"u{i}@example.it"):
    with Session(engine) as session:
        for i in range(count):
            message = notifications.new_message(
                to(i), name(i), "body", mail_from="rinnovi@pec-tui.example"
            )
            outbox.enqueue(session, message, "test")
        session.commit()


def _rows(engine) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())


def _by_status(engine) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for row in _rows(engine):
        result.setdefault(row.status, []).append(row.subject)
    return result


def test_a_recipient_refused_fails_alone_with_the_reason(engine, server):
    server.refuse_rcpt["u2@example.it"] = "550 5.1.1 No such user here"
    _queue(engine, 5)
    report = delivery.flush_outbox(engine, _settings(server.port))
    assert (report.sent, report.failed, report.deferred, report.remaining) == (4, 1, 0, 0)
    assert sorted(server.subjects()) == ["message 0", "message 1", "message 3", "message 4"]
    failed = [r for r in _rows(engine) if r.status == delivery.FAILED]
    assert [r.to_address for r in failed] == ["u2@example.it"]
    assert "550" in failed[0].last_error and "No such user" in failed[0].last_error
    # A later flush leaves it alone.
    assert delivery.flush_outbox(engine, _settings(server.port)).sent == 0
    assert len(server.envelopes) == 4


def test_a_refused_sender_fails_the_message(engine, server):
    server.refuse_mail["rinnovi@pec-tui.example"] = "553 5.7.1 Sender not allowed"
    _queue(engine, 2)
    report = delivery.flush_outbox(engine, _settings(server.port))
    assert (report.sent, report.failed, report.stopped_early) == (0, 2, False)
    assert all("553" in r.last_error for r in _rows(engine))


def test_data_refused_for_some_does_not_hold_back_the_others(engine, server):
    server.refuse_data["spam"] = "554 5.6.0 Message content rejected"
    _queue(engine, 50, name=lambda i: f"spam {i}" if i % 10 == 3 else f"message {i}")
    report = delivery.flush_outbox(engine, _settings(server.port))
    assert (report.sent, report.failed, report.deferred) == (45, 5, 0)
    assert not report.stopped_early and report.remaining == 0
    statuses = _by_status(engine)
    assert sorted(statuses["failed"]) == sorted(f"spam {i}" for i in range(3, 50, 10))
    assert len(statuses["sent"]) == 45 and len(server.envelopes) == 45
    assert all("554" in r.last_error for r in _rows(engine) if r.status == "failed")


def test_a_temporary_refusal_is_tried_again_later_with_growing_delays(engine, server):
    server.refuse_data["busy"] = "451 4.3.0 Try again later"
    _queue(engine, 3, name=lambda i: "busy" if i == 1 else f"message {i}")
    settings = _settings(server.port)
    start = utcnow()
    first = delivery.flush_outbox(engine, settings, now=start)
    assert (first.sent, first.failed, first.deferred, first.remaining) == (2, 0, 1, 1)
    (busy,) = [r for r in _rows(engine) if r.status == "queued"]
    assert busy.attempts == 1 and "451" in busy.last_error
    assert busy.next_attempt_at == start + timedelta(minutes=1)

    # Not due yet: skipped.
    assert delivery.flush_outbox(engine, settings, now=start + timedelta(seconds=30)).deferred == 0
    second_at = start + timedelta(minutes=1)
    assert delivery.flush_outbox(engine, settings, now=second_at).deferred == 1
    (busy,) = [r for r in _rows(engine) if r.status == "queued"]
    assert (busy.attempts, busy.next_attempt_at) == (2, second_at + timedelta(minutes=2))

    # The server accepts it now.
    server.refuse_data.clear()
    done = delivery.flush_outbox(engine, settings, now=second_at + timedelta(minutes=2))
    assert (done.sent, done.remaining) == (1, 0)
    assert sorted(server.subjects()) == ["busy", "message 0", "message 2"]


def test_retry_delays_double_up_to_an_hour():
    delays = [delivery.retry_delay(n) for n in range(1, 10)]
    assert delays[:4] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert delays[-1] == timedelta(hours=1) == max(delays)
    assert delivery.retry_delay(10_000) == timedelta(hours=1)


def test_a_dropped_connection_defers_that_message_only(engine, server):
    server.refuse_data["poison"] = None  # the server hangs up on it
    _queue(engine, 6, name=lambda i: "poison" if i == 2 else f"message {i}")
    report = delivery.flush_outbox(engine, _settings(server.port))
    assert (report.sent, report.failed, report.deferred) == (5, 0, 1)
    assert not report.stopped_early
    (poison,) = [r for r in _rows(engine) if r.status == "queued"]
    assert poison.subject == "poison" and poison.next_attempt_at is not None


def test_the_maildirs_parent_folders_are_created(engine, tmp_path):
    _queue(engine, 2)
    where = tmp_path / "not" / "yet" / "Maildir"
    report = delivery.flush_outbox(engine, load_settings(maildir=where))
    assert (report.sent, report.failed) == (2, 0)
    assert len(mailbox.Maildir(where, create=False)) == 2


def test_a_maildir_that_cannot_be_made_is_reported_not_raised(engine, tmp_path):
    _queue(engine, 1)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    report = delivery.flush_outbox(engine, load_settings(maildir=blocker / "Maildir"))
    assert report.stopped_early and report.sent == 0 and report.remaining == 1
    assert "Maildir" in report.errors[0]


def test_message_id_fixed_when_queued(engine):
    _queue(engine, 2)
    rows = _rows(engine)
    assert all(r.message_id and r.message_id.startswith("<") for r in rows)
    assert rows[0].message_id != rows[1].message_id
    for row in rows:
        assert delivery.parse_message(row.message)["Message-ID"] == row.message_id


def _flush_process(url: str, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "PEC_TUI_SYSTEM": "1",
        "PEC_TUI_SMTP_HOST": "127.0.0.1",
        "PEC_TUI_SMTP_PORT": str(port),
        "PEC_TUI_SMTP_SECURITY": "none",
    }
    return subprocess.Popen(
        [sys.executable, "-c", "from pec_tui.cli import main; main()"]
        + ["--database-url", url, "outbox", "flush"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )


def test_a_flush_killed_mid_delivery_resends_after_the_lease_with_the_same_message_id(
    sqlite_engine, sqlite_url, server
):
    engine = sqlite_engine
    _queue(engine, 10)
    server.hold = threading.Event()
    server.hold_after = 3  # the third message is received, its answer never comes
    process = _flush_process(sqlite_url, server.port)
    try:
        deadline = time.monotonic() + 30
        while len(server.envelopes) < 3:
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
        server.hold.set()
    statuses = [r.status for r in _rows(engine)]
    assert statuses[:3] == ["sent", "sent", "sending"] and set(statuses[3:]) == {"queued"}
    stuck = _rows(engine)[2]

    # Within the lease: a new flush delivers the others and leaves the stuck one alone, and
    # so does requeue (a live flush could be delivering it).
    server.hold = None
    settings = _settings(server.port)
    now = delivery.flush_outbox(engine, settings)
    assert (now.sent, now.reclaimed) == (7, 0)
    assert delivery.requeue(engine, [stuck.id]) == 0
    assert [r.status for r in _rows(engine)].count("sending") == 1

    later = delivery.flush_outbox(
        engine, settings, now=utcnow() + delivery.LEASE + timedelta(seconds=1)
    )
    assert (later.sent, later.reclaimed, later.remaining) == (1, 1, 0)
    assert {r.status for r in _rows(engine)} == {"sent"}
    # Sent twice, recognisably: the same Message-ID as stored when queued.
    received = server.message_ids()
    assert len(received) == 11
    assert received.count(stuck.message_id) == 2
    assert sorted(set(received)) == sorted(r.message_id for r in _rows(engine))


@pytest.fixture
def cli(db_url):
    runner = CliRunner()

    def invoke(*args: str, code: int = 0):
        result = runner.invoke(main, ["--database-url", db_url, *args], catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result

    return invoke


def test_cli_lists_failed_messages_with_the_reason_and_retries_them(
    cli, engine, server, monkeypatch, italian
):
    server.refuse_rcpt["u1@example.it"] = "550 5.1.1 No such user here"
    _queue(engine, 3)
    monkeypatch.setenv("PEC_TUI_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("PEC_TUI_SMTP_PORT", str(server.port))
    monkeypatch.setenv("PEC_TUI_SMTP_SECURITY", "none")
    flushed = cli("outbox", "flush", code=1).output
    assert "Inviati 2, non consegnabili 1" in flushed

    listed = cli("outbox", "list", "--status", "failed").output
    assert "non consegnabile" in listed and "u1@example.it" in listed and "550" in listed
    assert "failed" not in listed.split("\n", 1)[1]  # a translated label, not the code
    assert "in coda 0, in invio 0, inviati 2, non consegnabili 1" in listed
    (failed,) = [r for r in _rows(engine) if r.status == "failed"]

    server.refuse_rcpt.clear()
    assert "coda: 1." in cli("outbox", "retry", str(failed.id)).output
    assert cli("outbox", "retry", str(failed.id), "9999", code=1).exit_code == 1
    assert "Inviati 1," in cli("outbox", "flush").output
    assert {r.status for r in _rows(engine)} == {"sent"}
    assert cli("outbox", "retry", str(failed.id), code=1).exit_code == 1
