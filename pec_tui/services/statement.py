"""Bank statement import: incoming transfers matched to unpaid orders, and their payments registered.

A transfer matches an order when its causale (description) contains the 10-digit order number
and its amount equals the order's gross total. Exactly one match registers the payment (on the
booking date); several are ambiguous; none is reported with the reason. Importing the same
statement again registers nothing new: its lines come back as already paid.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from pec_tui.db.models import Order
from pec_tui.domain.enums import OrderStatus, PaymentMethod
from pec_tui.domain.money import from_cents, to_cents
from pec_tui.domain.validation import (
    EARLIEST_DAY,
    LATEST_DAY,
    ValidationError,
    check_plain_text,
    shown,
)
from pec_tui.i18n import _, format_money
from pec_tui.services.actor import Actor
from pec_tui.services.order_queries import load_order
from pec_tui.services.payments import PaymentRefused, parse_money, require_payment_staff, settle
from pec_tui.services.scope import audit_denials, scope_orders
from pec_tui.services.transactions import write_session

ORDER_NUMBER_RE = re.compile(r"(?<!\d)(1\d{9})(?!\d)")

# Header names seen in Italian and international bank exports (compared without accents/case).
_DATE_HEADERS = ("data operazione", "data contabile", "data", "date", "booking date", "data valuta")
_AMOUNT_HEADERS = ("importo", "amount", "ammontare")
_CREDIT_HEADERS = ("entrate", "avere", "accrediti", "accredito", "credit")
_DEBIT_HEADERS = ("uscite", "dare", "addebiti", "addebito", "debit")
_TEXT_HEADERS = (
    "causale",
    "descrizione",
    "description",
    "dettagli",
    "remittance",
    "reason",
    "reference",
)
_DATE_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d", "%d/%m/%y")
# The longest cell of a statement (a bank's extended description included).
MAX_CELL = 1000


class StatementError(ValueError):
    """The file cannot be read as a statement (no header with date, amount and causale)."""


@dataclass(frozen=True)
class LineProblem:
    """Why one line of the statement cannot be read."""

    line: int
    reason: str

    def __str__(self) -> str:
        return _("line {line}: {reason}").format(line=self.line, reason=self.reason)


class StatementRejected(StatementError):
    """Some lines cannot be read: nothing was registered. `problems` lists each, by line."""

    def __init__(self, problems: list[LineProblem]) -> None:
        super().__init__("\n".join(str(problem) for problem in problems))
        self.problems = problems


class Outcome(StrEnum):
    MATCHED = "matched"
    ALREADY_PAID = "already_paid"
    UNMATCHED = "unmatched"
    AMBIGUOUS = "ambiguous"
    # Outgoing payments and zero amounts: not a customer's transfer.
    SKIPPED = "skipped"


@dataclass(frozen=True)
class StatementLine:
    line_no: int
    booked_on: date
    amount: Decimal
    text: str


@dataclass(frozen=True)
class LineResult:
    line_no: int
    outcome: Outcome
    reason: str
    amount: Decimal | None = None
    booked_on: date | None = None
    order_number: int | None = None
    text: str = ""


@dataclass
class ImportReport:
    source: str
    results: list[LineResult] = field(default_factory=list)

    def of(self, outcome: Outcome) -> list[LineResult]:
        return [r for r in self.results if r.outcome is outcome]

    @property
    def counts(self) -> dict[str, int]:
        return {o.value: len(self.of(o)) for o in Outcome}


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in text if not unicodedata.combining(c)).strip().lower()


def _find(header: list[str], names: tuple[str, ...]) -> int | None:
    normalised = [_norm(h) for h in header]
    for name in names:
        for i, h in enumerate(normalised):
            if h == name or h.startswith(name + " ") or h.startswith(name + "("):
                return i
    return None


def _parse_date(text: str) -> date:
    # strptime reads any script's digits: only ASCII ones are dates here.
    if text.isascii():
        for fmt in _DATE_FORMATS:
            try:
                day = datetime.strptime(text.strip(), fmt).date()
            except ValueError:
                continue
            if not EARLIEST_DAY <= day <= LATEST_DAY:
                raise ValueError(
                    _("{day} is outside the years {first} to {last}.").format(
                        day=day.isoformat(), first=EARLIEST_DAY.year, last=LATEST_DAY.year
                    )
                )
            return day
    raise ValueError(
        _("“{text}” is not a date (expected e.g. 25/09/2026).").format(text=shown(text))
    )


def _cell(row: list[str], index: int | None) -> str:
    return row[index].strip() if index is not None and index < len(row) else ""


def decode(data: bytes) -> str:
    """Bank exports come in UTF-8 (with or without BOM) or Windows-1252."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:  # bytes Windows-1252 leaves undefined: read byte by byte
        return data.decode("latin-1")


def read_statement(text: str) -> tuple[list[StatementLine], list[LineResult]]:
    """The statement's transfer lines, and the lines that are not transfers (no date, no
    amount: titles, balances). Raises `StatementError` for a file without the header,
    `StatementRejected` listing every line that cannot be read."""
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=";,\t|")
    except csv.Error:
        dialect = csv.excel
    rows: list[list[str]] = []
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        for row in reader:
            rows.append(row)
    except csv.Error:
        raise StatementRejected(
            [
                LineProblem(
                    reader.line_num,
                    _("this line cannot be read as CSV (a value too long, or unbalanced quotes)"),
                )
            ]
        ) from None
    header_at = next(
        (i for i, row in enumerate(rows) if _find(row, _TEXT_HEADERS) is not None), None
    )
    if header_at is None:
        raise StatementError(_("No header line with a causale (or descrizione) column was found."))
    header = rows[header_at]
    date_col = _find(header, _DATE_HEADERS)
    text_col = _find(header, _TEXT_HEADERS)
    amount_col = _find(header, _AMOUNT_HEADERS)
    credit_col, debit_col = _find(header, _CREDIT_HEADERS), _find(header, _DEBIT_HEADERS)
    if date_col is None or (amount_col is None and credit_col is None):
        raise StatementError(
            _("The header must name a date column and an amount (importo or entrate) column.")
        )
    used = [c for c in (date_col, text_col, amount_col, credit_col, debit_col) if c is not None]
    names = [_norm(h) for h in header]
    repeated = sorted({header[c].strip() for c in used if names.count(names[c]) > 1})
    if repeated:
        raise StatementRejected(
            [
                LineProblem(
                    header_at + 1,
                    _("Columns named more than once: {columns}; each column must appear once.")
                    .format(columns=", ".join(shown(name) for name in repeated)),
                )
            ]
        )  # fmt: skip
    lines: list[StatementLine] = []
    others: list[LineResult] = []
    problems: list[LineProblem] = []
    for number, row in enumerate(rows[header_at + 1 :], start=header_at + 2):
        if not any(cell.strip() for cell in row):
            continue
        try:
            for cell in row:
                check_plain_text(cell, "statement", _("A value"), MAX_CELL)
        except ValidationError as exc:
            problems.append(LineProblem(number, exc.message))
            continue
        if not _cell(row, date_col) and not any(
            _cell(row, c) for c in (amount_col, credit_col, debit_col)
        ):
            others.append(LineResult(number, Outcome.SKIPPED, _("not a transfer line")))
            continue
        try:
            if amount_col is not None:
                amount = parse_money(_cell(row, amount_col))
            elif _cell(row, credit_col):
                amount = parse_money(_cell(row, credit_col))
            else:
                amount = -parse_money(_cell(row, debit_col) or "0")
            lines.append(
                StatementLine(
                    number, _parse_date(_cell(row, date_col)), amount, _cell(row, text_col)
                )
            )
        except ValueError as exc:
            problems.append(LineProblem(number, str(exc)))
    if problems:
        raise StatementRejected(problems)
    return lines, others


def order_numbers_in(text: str) -> list[int]:
    return sorted({int(n) for n in ORDER_NUMBER_RE.findall(text or "")})


def _match(session: Session, actor: Actor, line: StatementLine) -> tuple[Outcome, str, int | None]:
    """What `line` pays, before anything is registered."""
    numbers = order_numbers_in(line.text)
    if not numbers:
        return Outcome.UNMATCHED, _("no 10-digit order number in the causale"), None
    orders = session.exec(
        scope_orders(select(Order), actor).where(col(Order.number).in_(numbers))
    ).all()
    if not orders:
        return (
            Outcome.UNMATCHED,
            _("no order no. {numbers}").format(numbers=", ".join(map(str, numbers))),
            numbers[0],
        )
    cents = to_cents(line.amount)
    same_amount = [o for o in orders if o.gross_cents == cents]
    unpaid = [o for o in same_amount if o.status == OrderStatus.AWAITING_PAYMENT.value]
    if len(unpaid) == 1:
        return Outcome.MATCHED, "", unpaid[0].number
    if len(unpaid) > 1:
        return (
            Outcome.AMBIGUOUS,
            _("orders {numbers} all await {amount}: register the right one by hand").format(
                numbers=", ".join(str(o.number) for o in unpaid), amount=format_money(line.amount)
            ),
            None,
        )
    paid = [o for o in same_amount if o.status == OrderStatus.PAID.value]
    if paid:
        return (
            Outcome.ALREADY_PAID,
            _("order no. {number} is already paid (a second transfer?)").format(
                number=paid[0].number
            ),
            paid[0].number,
        )
    order = orders[0]
    if order.status == OrderStatus.CANCELLED.value:
        reason = _("order no. {number} was cancelled").format(number=order.number)
    elif order.status == OrderStatus.PAID.value:
        reason = _("order no. {number} is already paid").format(number=order.number)
    else:
        reason = _("the amount differs from the total of order no. {number}, {gross}").format(
            number=order.number, gross=format_money(from_cents(order.gross_cents))
        )
    return Outcome.UNMATCHED, reason, order.number


@audit_denials("payment.import")
def import_statement(
    engine: Engine, actor: Actor, text: str, source: str = "", today: date | None = None
) -> ImportReport:
    """Register the payment of every statement line that matches exactly one unpaid order.

    All or nothing: a line that cannot be read refuses the whole statement
    (`StatementRejected`, every such line listed), and the payments are registered in one
    transaction, so an error half-way leaves the database as it was. The provider's staff
    only (`require_payment_staff`): the statement is the provider's bank.
    """
    require_payment_staff(actor, "payment.import")
    today = today or date.today()
    lines, others = read_statement(text)
    report = ImportReport(source)
    report.results.extend(others)
    with write_session(engine) as session:
        for line in lines:
            report.results.append(_register(session, actor, line, source, today))
    report.results.sort(key=lambda r: r.line_no)
    return report


def _register(
    session: Session, actor: Actor, line: StatementLine, source: str, today: date
) -> LineResult:
    """What one transfer pays, registered inside the import's transaction."""
    base: dict[str, Any] = {"amount": line.amount, "booked_on": line.booked_on, "text": line.text}
    if line.amount <= 0:
        return LineResult(line.line_no, Outcome.SKIPPED, _("not an incoming transfer"), **base)
    outcome, reason, number = _match(session, actor, line)
    if outcome is Outcome.MATCHED and number is not None:
        reference = f"{source}:{line.line_no} {line.text}".strip()[:140]
        order = load_order(session, actor, number, lock=True)
        try:
            # Checked before anything changes: a refusal leaves the transaction clean.
            result = settle(
                session,
                actor,
                order,
                to_cents(line.amount),
                PaymentMethod.BANK_TRANSFER,
                min(line.booked_on, today),
                reference,
                today,
            )
        except PaymentRefused as exc:
            outcome, reason = Outcome.UNMATCHED, exc.message
        else:
            if result.already_paid:
                outcome, reason = Outcome.ALREADY_PAID, result.message
            else:
                reason = result.message
    return LineResult(line.line_no, outcome, reason, order_number=number, **base)
