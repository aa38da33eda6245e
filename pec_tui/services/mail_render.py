"""Plain-text e-mails rendered as the outbox stores them, without building `EmailMessage`s.

`new_message(...).as_string()` spends most of its time parsing each header into a structured
object and folding it back. The lifecycle job queues hundreds of thousands of short notices
whose headers are plain ASCII, so `render_plain` writes such headers as they are and encodes
the body with the same rules as `EmailMessage.set_content`, giving the same text. Anything
out of the ordinary (non-ASCII or long headers, odd addresses, a body the email package would
send as 8bit or base64) goes through the email package itself, header by header or whole.
"""

from __future__ import annotations

import binascii
import functools
import random
import re
import sys
import time
from dataclasses import dataclass
from email import policy as email_policy
from email import quoprimime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

POLICY = email_policy.default
_MAX: int = POLICY.max_line_length or 78
# An address these rules leave exactly as written (dot-atom local part, plain domain).
_PLAIN_ADDRESS = re.compile(
    r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
)
_ADDRESS_HEADERS = frozenset({"from", "to"})
_BODY_HEADERS = (
    'Content-Type: text/plain; charset="utf-8"\n'
    "Content-Transfer-Encoding: {cte}\n"
    "MIME-Version: 1.0\n"
)


@dataclass(frozen=True, slots=True)
class RenderedMail:
    """What `outbox.enqueue` stores of a message: its headers' values and its whole text."""

    to_address: str
    subject: str
    message: str
    message_id: str


def _plain(name: str, value: str) -> bool:
    """Whether the email package would write `name: value` unchanged on one line."""
    if not (
        value.isascii()
        and value.isprintable()
        and len(name) + 2 + len(value) <= _MAX
        and "=?" not in value
        and "  " not in value
        and value == value.strip()
        and value
    ):
        return False
    if name.lower() in _ADDRESS_HEADERS:
        return _PLAIN_ADDRESS.fullmatch(value) is not None
    return True


@functools.lru_cache(maxsize=256)
def _folded(name: str, value: str) -> tuple[str, str]:
    """(folded header line(s), the header's str value) as the email package makes them."""
    name, header = POLICY.header_store_parse(name, value)
    return POLICY.fold(name, header), str(header)


def _header(name: str, value: str) -> tuple[str, str]:
    if _plain(name, value):
        return f"{name}: {value}\n", value
    if name == "Subject":
        return _subject(value)
    return _folded(name, value)


def _subject(value: str) -> tuple[str, str]:
    """A subject naming an address, folded once per wording: the address is swapped for a
    placeholder of its length (an ASCII word folds the same whatever its letters), the
    result cached, and the address put back where the placeholder stands."""
    address = next((w for w in value.split(" ") if _PLAIN_ADDRESS.fullmatch(w)), None)
    if address is None:
        return _folded("Subject", value)
    placeholder = "z" * len(address)
    masked = value.replace(address, placeholder, 1)
    if masked.count(placeholder) != 1:
        return _folded("Subject", value)
    line, text = _folded("Subject", masked)
    if line.count(placeholder) != 1 or text.count(placeholder) != 1:
        return _folded("Subject", value)
    return line.replace(placeholder, address), text.replace(placeholder, address)


@functools.lru_cache(maxsize=4096)
def _qp_line(line: str) -> str:
    """One line (no line break in it) as `quoprimime.body_encode` encodes it. The encoder
    works line by line, so a body is the join of its lines' encodings; a notice's lines
    repeat from one holder to the next but for the few naming the mailbox."""
    return quoprimime.body_encode(line, _MAX)


def _body(text: str) -> tuple[str, str] | None:
    """(Content-Transfer-Encoding, payload) as `set_content` chooses them, for 7bit and
    quoted-printable; None when it would choose 8bit or base64 (rendered the slow way)."""
    lines = text.encode("utf-8").splitlines()
    body = b"\n".join(lines) + b"\n"
    if max((len(line) for line in lines), default=0) <= _MAX:
        if body.isascii():
            return "7bit", body.decode("ascii")
        return None
    # Each piece between two "\n" holds no other line break once quoted (the encoder quotes
    # every other control character), so the encoder would split the body just there.
    encoded = [_qp_line(line.decode("latin-1")) for line in lines]
    sniff_qp = "\n".join(encoded[:10]) + "\n"
    if len(sniff_qp) > len(binascii.b2a_base64(b"\n".join(lines[:10]) + b"\n")):
        return None
    if len(lines) <= 10:
        return "quoted-printable", sniff_qp
    return "quoted-printable", "\n".join(encoded) + "\n"


def _slow(
    to: str,
    subject: str,
    body: str,
    mail_from: str,
    date_header: str,
    message_id: str,
    attachment: tuple[str, bytes] | None = None,
) -> RenderedMail:
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = date_header
    message["Message-ID"] = message_id
    message.set_content(body)
    if attachment is not None:
        message.add_attachment(
            attachment[1], maintype="application", subtype="xml", filename=attachment[0]
        )
    return RenderedMail(
        str(message["To"]),
        str(message["Subject"]),
        message.as_string(),
        str(message["Message-ID"]).strip()[:250],
    )


@functools.lru_cache(maxsize=2)
def _date_now(second: int) -> str:
    """The Date header of a message written in this second (as `formatdate` writes it)."""
    return formatdate(second, localtime=False)


def render_plain(
    to: str,
    subject: str,
    body: str,
    mail_from: str,
    *,
    date_header: str | None = None,
    message_id: str | None = None,
    attachment: tuple[str, bytes] | None = None,
) -> RenderedMail:
    """The text `notifications.new_message(to, subject, body, mail_from).as_string()` gives
    (with the same Date and Message-ID), and the values `outbox.enqueue` stores. With
    `attachment` (file name, XML bytes), what `add_attachment` of it as application/xml
    then gives: a multipart/mixed message of the text and the file in base64."""
    date_header = date_header or _date_now(int(time.time()))
    message_id = message_id or make_msgid(domain="pec-tui.local")
    encoded = _body(body)
    disposition = _attachment_disposition(attachment[0]) if attachment is not None else ""
    if encoded is None or disposition is None:
        return _slow(to, subject, body, mail_from, date_header, message_id, attachment)
    cte, payload = encoded
    from_line, _from = _header("From", mail_from)
    to_line, to_value = _header("To", to)
    subject_line, subject_value = _header("Subject", subject)
    date_line, _date = _header("Date", date_header)
    id_line, id_value = _header("Message-ID", message_id)
    headers = (from_line, to_line, subject_line, date_line, id_line)
    if attachment is None:
        parts: tuple[str, ...] = (_BODY_HEADERS.format(cte=cte), "\n", payload)
    else:
        text_part = _TEXT_PART_HEADERS.format(cte=cte) + "\n" + payload
        file_part = (
            _FILE_PART_HEADERS.format(disposition=disposition) + "\n" + _base64(attachment[1])
        )
        boundary = _boundary(text_part + file_part)
        parts = (
            f'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="{boundary}"\n\n',
            f"--{boundary}\n{text_part}\n--{boundary}\n{file_part}\n--{boundary}--\n",
        )
    text = "".join((*headers, *parts))
    return RenderedMail(to_value, subject_value, text, id_value.strip()[:250])


_TEXT_PART_HEADERS = 'Content-Type: text/plain; charset="utf-8"\nContent-Transfer-Encoding: {cte}\n'
_FILE_PART_HEADERS = (
    "Content-Type: application/xml\n"
    "Content-Transfer-Encoding: base64\n"
    "{disposition}"
    "MIME-Version: 1.0\n"
)
# Bytes per base64 line: lines of 76 characters, as the email package writes them.
_BASE64_CHUNK = _MAX // 4 * 3
_PLAIN_FILE_NAME = re.compile(r"[A-Za-z0-9_.-]+")


def _attachment_disposition(file_name: str) -> str | None:
    """The Content-Disposition line of a file name the email package writes as it is;
    None for any other (rendered the slow way)."""
    line = f'Content-Disposition: attachment; filename="{file_name}"'
    if _PLAIN_FILE_NAME.fullmatch(file_name) is None or len(line) > _MAX:
        return None
    return line + "\n"


def _base64(data: bytes) -> str:
    return "".join(
        binascii.b2a_base64(data[i : i + _BASE64_CHUNK]).decode("ascii")
        for i in range(0, len(data), _BASE64_CHUNK)
    )


def _boundary(text: str) -> str:
    """A boundary as the email package makes one: 15 "=", 19 random digits, "==", found
    nowhere in `text`."""
    while True:
        boundary = "=" * 15 + f"{random.randrange(sys.maxsize):019d}" + "=="
        if boundary not in text:
            return boundary
