"""Delivering the outbox to a Maildir and to a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import email
import email.policy
import mailbox
import os
import shutil
import socket
import ssl
import subprocess
from datetime import date, timedelta

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from book_builder import add_holder, add_mailbox, confirm_renewal
from sqlmodel import Session, select

from pec_tui.config import load_settings
from pec_tui.db.models import OutboxMessage, utcnow
from pec_tui.services import delivery
from pec_tui.services.lifecycle import run_lifecycle

# These tests read Italian money, dates and words: the product's default language.
pytestmark = pytest.mark.usefixtures("italian")

TODAY = date(2026, 11, 26)


class Recorder:
    """An aiosmtpd handler keeping every envelope it accepts."""

    def __init__(self) -> None:
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self):
        return [
            email.message_from_bytes(e.original_content, policy=email.policy.default)
            for e in self.envelopes
        ]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_port():
    return _free_port()


def _start(handler, port, **kwargs) -> Controller:
    controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    return controller


def _statuses(engine) -> list[tuple[str, int, str | None]]:
    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        return [(r.status, r.attempts, r.last_error) for r in rows]


def _book_with_confirmation_and_reminder(engine) -> int:
    """A PRO renewal (25,00 € + IVA = 30,50 €) confirmed, and a reminder for another mailbox."""
    holder = add_holder(engine)
    pro = add_mailbox(engine, holder, "mario.rossi@pec.it", date(2027, 6, 10), plan="PRO")
    add_mailbox(engine, holder, "studio.rossi@pec.it", date(2026, 12, 26))
    done = confirm_renewal(engine, [pro], TODAY)
    assert run_lifecycle(engine, TODAY).reminders == 1
    return done.number


def test_maildir_by_default_each_message_once(engine, tmp_path):
    number = _book_with_confirmation_and_reminder(engine)
    settings = load_settings(maildir=tmp_path / "Maildir")
    report = delivery.flush_outbox(engine, settings)
    assert (report.sent, report.failed, report.remaining) == (2, 0, 0)
    box = mailbox.Maildir(tmp_path / "Maildir", create=False)
    subjects = sorted(str(m["Subject"]) for m in box)
    assert len(subjects) == 2 and any(str(number) in s for s in subjects)
    assert delivery.flush_outbox(engine, settings).sent == 0
    assert len(box) == 2
    assert [s for s, _a, _e in _statuses(engine)] == ["sent", "sent"]


def test_default_maildir_is_under_the_data_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("PEC_TUI_DATA_DIR", str(tmp_path))
    transport = delivery.transport_for(load_settings())
    assert isinstance(transport, delivery.MaildirTransport)
    assert transport.path == tmp_path / "Maildir"


def test_smtp_server_receives_confirmation_and_reminder(engine, smtp_port):
    number = _book_with_confirmation_and_reminder(engine)
    recorder = Recorder()
    controller = _start(recorder, smtp_port)
    try:
        settings = load_settings(
            smtp_host="127.0.0.1",
            smtp_port=smtp_port,
            smtp_security="none",
            mail_from="rinnovi@pec-tui.example",
        )
        report = delivery.flush_outbox(engine, settings)
    finally:
        controller.stop()
    assert (report.sent, report.failed) == (2, 0)
    assert [e.rcpt_tos for e in recorder.envelopes] == [["mario.rossi@example.it"]] * 2
    confirmation, reminder = recorder.messages()
    assert str(number) in confirmation["Subject"]
    assert confirmation["To"] == "mario.rossi@example.it"
    body = confirmation.get_content()
    assert "30,50\xa0€" in body and "25,00\xa0€" in body and str(number) in body
    assert "IT60X0542811101000000123456" in body and "Mario Rossi" in body
    assert "studio.rossi@pec.it" in reminder["Subject"] and "26/12/2026" in reminder["Subject"]


def test_server_down_keeps_messages_queued_then_delivers_each_once(engine, smtp_port):
    _book_with_confirmation_and_reminder(engine)
    settings = load_settings(smtp_host="127.0.0.1", smtp_port=smtp_port, smtp_security="none")
    down = delivery.flush_outbox(engine, settings)
    assert (down.sent, down.failed, down.deferred, down.remaining) == (0, 0, 2, 2)
    statuses = _statuses(engine)
    assert [(s, a) for s, a, _e in statuses] == [("queued", 1), ("queued", 1)]
    assert all("127.0.0.1" in (e or "") for _s, _a, e in statuses)

    recorder = Recorder()
    controller = _start(recorder, smtp_port)
    try:
        # Not due yet: a flush right away leaves them waiting.
        early = delivery.flush_outbox(engine, settings)
        assert (early.sent, early.remaining, early.waiting) == (0, 2, 2)
        later = utcnow() + delivery.FIRST_RETRY_DELAY + timedelta(seconds=1)
        up = delivery.flush_outbox(engine, settings, now=later)
        again = delivery.flush_outbox(engine, settings, now=later)
    finally:
        controller.stop()
    assert (up.sent, up.failed, up.remaining) == (2, 0, 0)
    assert again.sent == 0
    assert len(recorder.envelopes) == 2
    assert [(s, a, e) for s, a, e in _statuses(engine)] == [("sent", 2, None), ("sent", 2, None)]


def test_many_failures_stop_the_flush_early(engine, smtp_port):
    holder = add_holder(engine)
    for i in range(5):
        add_mailbox(engine, holder, f"box{i}@pec.it", date(2026, 12, 26))
    run_lifecycle(engine, TODAY)
    settings = load_settings(smtp_host="127.0.0.1", smtp_port=smtp_port, smtp_security="none")
    report = delivery.flush_outbox(engine, settings)
    assert report.stopped_early and report.deferred == delivery.MAX_CONNECTION_FAILURES
    assert report.failed == 0 and report.remaining == 5


def test_smtp_login(engine, smtp_port):
    _book_with_confirmation_and_reminder(engine)

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            b"rinnovi",
            b"segreto",
        )
        return AuthResult(success=ok)

    recorder = Recorder()
    controller = _start(recorder, smtp_port, authenticator=authenticate, auth_require_tls=False)
    try:
        settings = load_settings(
            smtp_host="127.0.0.1",
            smtp_port=smtp_port,
            smtp_security="none",
            smtp_user="rinnovi",
            smtp_password="segreto",
        )
        accepted = delivery.flush_outbox(engine, settings)
    finally:
        controller.stop()
    assert accepted.sent == 2 and len(recorder.envelopes) == 2


def test_a_claimed_message_is_not_delivered_by_a_second_flush(engine, tmp_path):
    _book_with_confirmation_and_reminder(engine)
    with Session(engine) as session:
        first = session.exec(select(OutboxMessage.id).order_by(OutboxMessage.id)).first()
    assert delivery._claim(engine, first)
    assert not delivery._claim(engine, first)
    report = delivery.flush_outbox(engine, load_settings(maildir=tmp_path / "md"))
    assert report.sent == 1
    assert [r.id for r in delivery.list_outbox(engine, delivery.SENDING)] == [first]
    # Its claim is live (a flush may be delivering it right now): requeue leaves it alone.
    assert delivery.requeue(engine, [first]) == 0
    after_lease = utcnow() + delivery.LEASE + timedelta(seconds=1)
    assert delivery.requeue(engine, [first], now=after_lease) == 1
    assert delivery.flush_outbox(engine, load_settings(maildir=tmp_path / "md")).sent == 1
    assert delivery.count_by_status(engine) == {"sent": 2}


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory):
    """A certificate for 127.0.0.1, made with the openssl command."""
    if shutil.which("openssl") is None:
        reason = "the openssl command is needed to make a test certificate"
        if os.environ.get("CI"):
            pytest.fail(reason + " (CI must run the TLS delivery tests)")
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_smtp_over_starttls_and_tls_verifies_the_server(
    engine, smtp_port, self_signed, security, monkeypatch
):
    _book_with_confirmation_and_reminder(engine)
    cert, key = self_signed
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    recorder = Recorder()
    if security == "starttls":
        controller = _start(recorder, smtp_port, tls_context=server_context, require_starttls=True)
    else:
        controller = _start(recorder, smtp_port, ssl_context=server_context)
    settings = load_settings(smtp_host="127.0.0.1", smtp_port=smtp_port, smtp_security=security)
    try:
        # Not trusted yet: refused, the messages stay queued.
        untrusted = delivery.flush_outbox(engine, settings)
        assert untrusted.sent == 0 and untrusted.remaining == 2
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        later = utcnow() + delivery.MAX_RETRY_DELAY
        trusted = delivery.flush_outbox(engine, settings, now=later)
    finally:
        controller.stop()
    assert (trusted.sent, trusted.remaining) == (2, 0)
    assert len(recorder.envelopes) == 2
