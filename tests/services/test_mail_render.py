"""`mail_render` writes the same text as `EmailMessage.as_string()`, and the lifecycle job's
e-mails are the ones `notifications.queue_*` built one `EmailMessage` at a time."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from email.generator import Generator
from email.utils import formatdate
from unittest import mock

import pytest
from book_builder import add_holder, add_mailbox, confirm_renewal
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from pec_tui.config import load_settings
from pec_tui.db.models import OutboxMessage
from pec_tui.services import delivery, mail_render, notifications
from pec_tui.services.lifecycle import JOB_ACTOR, _Run, run_lifecycle
from pec_tui.services.mail_render import render_plain

DATE = "Wed, 02 Dec 2026 04:24:23 -0000"
MESSAGE_ID = "<179618546342.13846.9564337640974857036@pec-tui.local>"
LONG = (
    "la tua casella PEC mario.rossi@pec.it è scaduta il 01/03/2027 senza essere rinnovata ed è "
    "ora sospesa: puoi ancora consultarla, ma non può inviare né ricevere messaggi."
)


def _email_package(to: str, subject: str, body: str, mail_from: str) -> str:
    with (
        mock.patch.object(notifications, "formatdate", return_value=DATE),
        mock.patch.object(notifications, "make_msgid", return_value=MESSAGE_ID),
    ):
        return notifications.new_message(to, subject, body, mail_from).as_string()


@pytest.mark.parametrize(
    ("to", "subject", "body", "mail_from"),
    [
        (
            "t1@example.it",
            "La tua casella PEC box1@pec.example.it scade il 01/03/2027",
            LONG,
            "n@x.it",
        ),
        ("t1@example.it", "La tua casella PEC box1@pec.example.it è sospesa", LONG, "PEC <n@x.it>"),
        ("a.b+c@sub.example.com", "È " + "lunghissimo " * 12, LONG + "\n\n" + LONG, "Pèc <n@x.it>"),
        ("Mario Rossi <m@x.it>", "plain", "short ascii body\nof two lines", "n@x.it"),
        ("weird..dots@x.it", "a  b ", "breve è", "n@x.it"),  # the email package's 8bit/base64
        ("t@x.it", "=?utf-8?q?gi=C3=A0?= codificato", "€" * 200, "n@x.it"),
        ("t@x.it", "x" * 90, "\n".join(["riga"] * 12) + "\n" + "y" * 100, "n@x.it"),
        (
            "t@x.it",
            "La casella very.long.address.for.folding@pec.some-provider.example.it è sospesa ora",
            LONG,
            "n@x.it",
        ),
    ],
)
def test_render_plain_writes_what_the_email_package_writes(to, subject, body, mail_from):
    rendered = render_plain(to, subject, body, mail_from, date_header=DATE, message_id=MESSAGE_ID)
    message = notifications.new_message(to, subject, body, mail_from)
    assert rendered.message == _email_package(to, subject, body, mail_from)
    assert rendered.to_address == str(message["To"])
    assert rendered.subject == str(message["Subject"])
    assert rendered.message_id == MESSAGE_ID


# Lines as notices have them: words, accents, the odd control character, trailing blanks,
# lines longer than the encoder's 76 and exactly around it.
_BODY_TEXT = st.lists(
    st.sampled_from(list("abc xyz=.\tàèé€\x0b\x85\r") + ["a" * 70, "è" * 30, " " * 3]),
    max_size=60,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(body=st.lists(_BODY_TEXT, min_size=1, max_size=14).map("\n".join))
def test_any_body_is_encoded_as_the_email_package_encodes_it(body):
    rendered = render_plain("t@x.it", "s", body, "n@x.it", date_header=DATE, message_id=MESSAGE_ID)
    assert rendered.message == _email_package("t@x.it", "s", body, "n@x.it")


BOUNDARY = "===============1234567890123456789=="
XML = b"<?xml version='1.0' encoding='UTF-8'?>\n<p:FatturaElettronica>" + b"x" * 700 + b"</p>"


@pytest.mark.parametrize(
    ("body", "file_name"),
    [
        (LONG, "IT01234567890_00001.xml"),  # quoted-printable text
        ("short ascii body\nof two lines", "IT01234567890_0000A.xml"),  # 7bit text
        ("breve è", "IT01234567890_00001.xml"),  # 8bit: the email package's own way
        (LONG, "fattura con spazi è.xml"),  # a name the email package encodes
        (LONG, "IT" + "0" * 80 + ".xml"),  # a name the email package folds
    ],
)
def test_an_attached_invoice_is_written_as_add_attachment_writes_it(body, file_name):
    with (
        mock.patch.object(
            Generator, "_make_boundary", classmethod(lambda cls, text=None: BOUNDARY)
        ),
        mock.patch.object(mail_render, "_boundary", lambda text: BOUNDARY),
    ):
        rendered = render_plain(
            "t1@example.it",
            "Rinnovo completato: ordine n. 1000000001",
            body,
            "PEC <n@x.it>",
            date_header=DATE,
            message_id=MESSAGE_ID,
            attachment=(file_name, XML),
        )
        with (
            mock.patch.object(notifications, "formatdate", return_value=DATE),
            mock.patch.object(notifications, "make_msgid", return_value=MESSAGE_ID),
        ):
            message = notifications.new_message(
                "t1@example.it", "Rinnovo completato: ordine n. 1000000001", body, "PEC <n@x.it>"
            )
        message.add_attachment(XML, maintype="application", subtype="xml", filename=file_name)
        assert rendered.message == message.as_string()
    attached = delivery.parse_message(rendered.message).get_payload()[1]
    assert attached.get_content() == XML and attached.get_filename() == file_name


def test_a_boundary_is_never_found_in_the_text_it_bounds():
    text = "=" * 15 + "0" * 19 + "=="
    with mock.patch.object(mail_render.random, "randrange", side_effect=[0, 7]):
        assert mail_render._boundary(text) == "=" * 15 + "0" * 18 + "7=="


def test_the_date_header_is_the_email_packages_for_the_second_it_is_written():
    with mock.patch.object(mail_render.time, "time", return_value=1_796_185_463.9):
        rendered = render_plain("t@x.it", "s", "b", "n@x.it", message_id=MESSAGE_ID)
    assert "\nDate: " + formatdate(1_796_185_463.9, localtime=False) + "\n" in rendered.message


EXPIRY = date(2027, 3, 31)
_VARYING = re.compile(r"^(Date|Message-ID): .*$", re.MULTILINE)


def _stored(engine) -> list[tuple[str, int | None, str, str, str]]:
    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        return [
            (m.kind, m.mailbox_id, m.to_address, m.subject, _VARYING.sub(r"\1: -", m.message))
            for m in rows
        ]


@pytest.mark.usefixtures("italian")
def test_the_jobs_notices_are_the_ones_built_one_message_at_a_time(engine):
    holder = add_holder(engine, name=("Niccolò", "Sà"))
    reminded = add_mailbox(engine, holder, "promemoria@pec.it", EXPIRY)
    on_order = add_mailbox(engine, holder, "in.ordine@pec.it", EXPIRY, plan="PRO")
    suspended = add_mailbox(engine, holder, "sospesa@pec.it", EXPIRY - timedelta(days=40))
    cancelled = add_mailbox(engine, holder, "cancellata@pec.it", EXPIRY - timedelta(days=130))
    today = EXPIRY - timedelta(days=30)
    confirm_renewal(engine, [on_order], today - timedelta(days=5))
    settings = load_settings()
    with Session(engine) as session:
        already = len(session.exec(select(OutboxMessage)).all())

    run_lifecycle(engine, today, settings=settings)
    by_job = _stored(engine)[already:]

    with Session(engine) as session:
        for row in session.exec(select(OutboxMessage)).all()[already:]:
            session.delete(row)
        session.commit()
        name, email = "Niccolò Sà", "mario.rossi@example.it"
        common = {"name": name, "email_to": email, "mail_from": settings.mail_from}
        notifications.queue_cancelled_notice(
            session,
            mailbox_id=cancelled,
            address="cancellata@pec.it",
            expiry=EXPIRY - timedelta(days=130),
            **common,
        )
        notifications.queue_suspended_notice(
            session,
            mailbox_id=suspended,
            address="sospesa@pec.it",
            expiry=EXPIRY - timedelta(days=40),
            **common,
        )
        # Reminders in (expiry, id) order; the one on order carries its instructions.
        run = _Run(engine, today, settings, JOB_ACTOR, None, None)
        open_orders = run._open_orders(session, [on_order])
        for mailbox_id, address, price in (
            (reminded, "promemoria@pec.it", Decimal("9.90")),
            (on_order, "in.ordine@pec.it", Decimal("25.00")),
        ):
            notifications.queue_expiry_reminder(
                session,
                mailbox_id=mailbox_id,
                address=address,
                expiry=EXPIRY,
                today=today,
                yearly_price=price,
                open_order=open_orders.get(mailbox_id),
                **common,
            )
        session.commit()
    one_at_a_time = _stored(engine)[already:]

    assert [row[:2] for row in by_job] == [
        ("mailbox_cancelled", cancelled),
        ("mailbox_suspended", suspended),
        ("expiry_reminder", reminded),
        ("expiry_reminder", on_order),
    ]
    assert by_job == one_at_a_time
    assert "Niccol=C3=B2 S=C3=A0" in by_job[0][4]
