"""Electronic invoices: issued with the payment, numbered per year, kept when they do not validate.

`issue_invoice` runs inside the payment's transaction (`payments.settle`): it takes the next
number of the payment's calendar year from a counter row locked FOR UPDATE (SQLite's write
lock serialises the same step), so two terminals never share a number and a rolled-back
payment gives its number back. The XML is built and validated by `domain.fatturapa`; when it
cannot be (no issuer data yet, a buyer field the schema refuses) the invoice is kept
`da_correggere` with the reason, its number and date reserved, and the payment goes on.
`regenerate` builds it again from the fixed data; changing the issuer regenerates every
invoice still waiting.

Everything read is scoped to the actor: a reseller sees the invoices of its own orders only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, and_, true
from sqlalchemy import select as sa_select
from sqlalchemy import update as sa_update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from pec_tui.db.models import Counter, Holder, Invoice, InvoiceIssuer, Order, OrderLine, utcnow
from pec_tui.domain import fatturapa
from pec_tui.domain.enums import HolderKind, InvoiceStatus, PaymentMethod, Role
from pec_tui.domain.enums import label as label_of
from pec_tui.domain.money import from_cents
from pec_tui.domain.validation import latin1, shown
from pec_tui.i18n import _, format_date, format_money, format_number, ngettext
from pec_tui.services import audit
from pec_tui.services.actor import Actor
from pec_tui.services.order_lines import LineFacts, LinesSummary, holder_snapshot
from pec_tui.services.scope import (
    OutOfScope,
    audit_denials,
    check_owned,
    require_admin,
    require_role,
)
from pec_tui.services.transactions import write_session

log = logging.getLogger(__name__)

ISSUER_ID = 1
# Up to this many order lines the invoice lists each; a longer order is summed up by item
# (FatturaPA allows 9,999 lines, and validating them all would hold the payment for seconds).
ITEMISED_LINES = 100

Periods = Mapping[int | str, tuple[date, date]]


class InvoiceRefused(Exception):
    """The invoice operation cannot be done; `message` says why, in the UI language."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- the issuer ------------------------------------------------------------------------------


def _issuer_of(row: InvoiceIssuer) -> fatturapa.Issuer:
    return fatturapa.Issuer(
        **{f.name: getattr(row, f.name) for f in fields(fatturapa.Issuer)},
    )


def current_issuer(session: Session) -> fatturapa.Issuer | None:
    row = session.get(InvoiceIssuer, ISSUER_ID)
    return _issuer_of(row) if row is not None else None


def get_issuer(engine: Engine) -> fatturapa.Issuer | None:
    """The issuer data, or None when no administrator has set them yet."""
    with Session(engine) as session:
        return current_issuer(session)


@dataclass(frozen=True)
class IssuerResult:
    issuer: fatturapa.Issuer
    # Invoices that were waiting and are now issued, and those still waiting.
    regenerated: tuple[str, ...]
    still_to_fix: int


@audit_denials("invoice.issuer")
def set_issuer(engine: Engine, actor: Actor, issuer: fatturapa.Issuer) -> IssuerResult:
    """Store the issuer (administrators only), then regenerate the invoices waiting for it.

    Raises ValidationError (a field, in words) or AccessDenied."""
    require_admin(actor, action="invoice.issuer")
    issuer = fatturapa.normalise_issuer(issuer)
    with write_session(engine) as session:
        row = session.get(InvoiceIssuer, ISSUER_ID, with_for_update=True)
        if row is None:
            row = InvoiceIssuer(id=ISSUER_ID, **asdict(issuer))
        else:
            for name, value in asdict(issuer).items():
                setattr(row, name, value)
            row.version += 1
        row.updated_at = utcnow()
        row.updated_by = actor.name[:64]
        session.add(row)
        session.flush()
        audit.record(session, actor, "invoice.issuer", "invoice_issuer", ISSUER_ID, asdict(issuer))
        done, waiting = _regenerate_waiting(session, issuer)
        return IssuerResult(issuer, tuple(done), waiting)


# --- numbering -------------------------------------------------------------------------------


def counter_name(year: int) -> str:
    return f"invoice_{year}"


def next_number(session: Session, year: int) -> int:
    """The next invoice number of `year`, without gaps: the year's counter row, created on
    first use, is locked FOR UPDATE until the caller's transaction ends."""
    return next_numbers(session, year, 1)[0]


def next_numbers(session: Session, year: int, count: int) -> range:
    """The next `count` invoice numbers of `year`, one block, as `next_number` gives one."""
    name = counter_name(year)
    table = Counter.__table__
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        insert(table).values(name=name, value=0).on_conflict_do_nothing(index_elements=["name"])
    )
    current = session.execute(
        sa_select(table.c.value).where(table.c.name == name).with_for_update()
    ).scalar_one()
    last = int(current) + count
    session.execute(sa_update(table).where(table.c.name == name).values(value=last))
    return range(last - count + 1, last + 1)


def label(year: int, number: int) -> str:
    """How an invoice number reads everywhere: 12/2026."""
    return f"{number}/{year}"


def parse_ref(ref: str, today: date | None = None) -> tuple[int, int]:
    """(year, number) of "12/2026" (or "12", this year); LookupError when it is neither."""
    text = ref.strip()
    number_text, _sep, year_text = text.partition("/")
    # ASCII digits, few enough for the INTEGER columns (a number, a four-digit year).
    if not (
        text.isascii()
        and number_text.isdigit()
        and len(number_text.lstrip("0")) <= 9
        and (not year_text or (year_text.isdigit() and len(year_text) <= 4))
    ):
        raise LookupError(
            _("“{ref}” is not an invoice number: expected number/year, e.g. 12/2026.").format(
                ref=shown(ref)
            )
        )
    year = int(year_text) if year_text else (today or date.today()).year
    return year, int(number_text)


# --- issuing ---------------------------------------------------------------------------------


def buyer_of(snapshot: Mapping[str, Any]) -> fatturapa.Buyer:
    """The invoice's buyer from an order's holder snapshot (the data confirmed with it)."""
    names = {f.name for f in fields(fatturapa.Buyer)} - {"kind"}
    values = {name: snapshot[name] for name in names if snapshot.get(name) is not None}
    kind = snapshot.get("kind")
    if kind is None:
        raise fatturapa.InvoiceInvalid(
            _("The order has no holder data to invoice: set the holder of the order.")
        )
    return fatturapa.Buyer(kind=HolderKind(kind), **values)


def _buyer_json(buyer: fatturapa.Buyer) -> dict[str, Any]:
    data = asdict(buyer)
    data["kind"] = buyer.kind.value
    return data


def invoice_lines(
    lines: Sequence[LineFacts], descriptions: Mapping[int, str], periods: Periods
) -> list[dict[str, Any]]:
    """The order's lines as invoice lines (JSON-ready), with the period of each mailbox."""
    rows: list[dict[str, Any]] = []
    for line in lines:
        period = periods.get(line.mailbox_id) if line.mailbox_id is not None else None
        if period is None and line.address:
            period = periods.get(line.address)
        description = descriptions.get(line.id, line.item)
        rows.append(
            {
                "description": f"{description} - {line.address}" if line.address else description,
                "item": description,
                "quantity": line.quantity * line.years,
                "unit_cents": line.unit_cents,
                "total_cents": line.total_cents,
                "start": period[0].isoformat() if period else None,
                "end": period[1].isoformat() if period else None,
                "mailbox_id": line.mailbox_id,
                "address": line.address,
                "years": line.years,
            }
        )
    return rows


def summed_invoice_lines(summary: LinesSummary) -> list[dict[str, Any]]:
    """A long order's invoice lines as its `LinesSummary` sums them up (JSON-ready), as
    `document_lines` sums up the lines of a longer order: one row per description, price and
    years, with how many mailboxes it covers (`mailboxes`, which marks a summed row)."""
    return [
        {
            "item": group.description,
            "quantity": group.quantity,
            "unit_cents": group.unit_cents,
            "total_cents": group.total_cents,
            "start": group.period[0].isoformat() if group.period else None,
            "end": group.period[1].isoformat() if group.period else None,
            "years": group.years,
            "mailboxes": group.mailboxes,
        }
        for group in summary.invoice
    ]


def document_lines(rows: Sequence[Mapping[str, Any]]) -> tuple[fatturapa.Line, ...]:
    """The stored lines as FatturaPA lines. A long order (more than ITEMISED_LINES lines) is
    summed up by item, price and years, as its e-mails are: each line is a mailbox, and the
    schema's validation costs about a millisecond a line inside the payment's transaction.
    A summed line keeps a period only when all its mailboxes share it. An invoice issued
    since the payment sums long orders up in the database stores the summed rows
    (`summed_invoice_lines`); older ones store every line."""
    if rows and "mailboxes" in rows[0]:
        summed: list[dict[str, Any]] = [{**row, "count": row["mailboxes"]} for row in rows]
    elif len(rows) > ITEMISED_LINES:
        groups: dict[tuple[Any, ...], dict[str, Any]] = {}
        for row in rows:
            key = (row["item"], row["unit_cents"], row["years"])
            group = groups.get(key)
            if group is None:
                groups[key] = {**row, "quantity": 0, "total_cents": 0, "addresses": set()}
                group = groups[key]
            group["quantity"] += row["quantity"]
            group["total_cents"] += row["total_cents"]
            group["addresses"].add(row["address"])
            if (group["start"], group["end"]) != (row["start"], row["end"]):
                group["start"] = group["end"] = None
        summed = [{**group, "count": len(group["addresses"] - {None})} for group in groups.values()]
    else:
        summed = []
    if summed:
        rows = [
            {
                **row,
                "description": ngettext(
                    "{item} ({count} mailbox)", "{item} ({count} mailboxes)", count
                ).format(item=row["item"], count=format_number(count)),
            }
            for row in summed
            for count in [row["count"] or 1]
        ]
    return tuple(
        fatturapa.Line(
            description=latin1(row["description"])[:1000],
            quantity=Decimal(row["quantity"]),
            unit_price=from_cents(row["unit_cents"]),
            total=from_cents(row["total_cents"]),
            period_start=date.fromisoformat(row["start"]) if row["start"] else None,
            period_end=date.fromisoformat(row["end"]) if row["end"] else None,
        )
        for row in rows
    )


def _related(session: Session, invoice: Invoice) -> tuple[str, date] | None:
    if invoice.related_invoice_id is None:
        return None
    original = session.get(Invoice, invoice.related_invoice_id)
    if original is None:
        return None
    return label(original.year, original.number), original.issued_on


def _render(session: Session, invoice: Invoice, issuer: fatturapa.Issuer | None) -> None:
    """Build and validate the XML of `invoice`: issued, or kept da_correggere with the reason."""
    try:
        if issuer is None:
            raise fatturapa.InvoiceInvalid(
                _(
                    "The issuer data (cedente/prestatore) are not set: an administrator sets "
                    "them with `pec-tui invoices issuer`."
                )
            )
        if invoice.buyer is None:
            raise fatturapa.InvoiceInvalid(
                _("The order has no holder data to invoice: set the holder of the order.")
            )
        order = session.get(Order, invoice.order_id)
        doc = fatturapa.Document(
            document_type=invoice.document_type,
            number=label(invoice.year, invoice.number),
            issued_on=invoice.issued_on,
            progressive=fatturapa.progressive(invoice.id),
            issuer=issuer,
            buyer=buyer_of(invoice.buyer),
            lines=document_lines(invoice.lines),
            net=from_cents(invoice.net_cents),
            vat=from_cents(invoice.vat_cents),
            gross=from_cents(invoice.gross_cents),
            payment_method=PaymentMethod(invoice.payment_method),
            paid_on=invoice.paid_on,
            related=_related(session, invoice),
            causale=_causale(invoice, order),
        )
        xml = fatturapa.build_xml(doc)
    except fatturapa.InvoiceInvalid as exc:
        _keep_to_fix(invoice, exc.message)
    except Exception as exc:  # never lose the payment to a fault of the invoice
        log.exception("invoice %s/%s could not be built", invoice.number, invoice.year)
        _keep_to_fix(invoice, _("The invoice could not be built: {error}").format(error=exc))
    else:
        invoice.status = InvoiceStatus.ISSUED.value
        invoice.reason = None
        invoice.xml = xml.decode("utf-8")
        invoice.file_name = doc.file_name
    invoice.updated_at = utcnow()
    session.add(invoice)


def _causale(invoice: Invoice, order: Order | None) -> str | None:
    if order is None or order.number is None:
        return None
    if invoice.document_type == fatturapa.CREDIT_NOTE:
        return _("Refund of order no. {number}").format(number=order.number)
    return _("Order no. {number}").format(number=order.number)


def _keep_to_fix(invoice: Invoice, reason: str) -> None:
    invoice.status = InvoiceStatus.TO_FIX.value
    invoice.reason = " ".join(reason.split())
    invoice.xml = None
    invoice.file_name = None


def issue_invoice(
    session: Session,
    order: Order,
    lines: Sequence[LineFacts] | LinesSummary,
    method: PaymentMethod,
    paid_on: date,
    periods: Periods,
) -> Invoice:
    """The invoice of `order` (locked, being paid), made now in the caller's transaction:
    from its `lines` with their `periods`, or from a long order's lines summed up in the
    database (whose groups carry their periods).

    An order has one invoice: a second call returns the first."""
    return issue_invoices(session, [(order, lines, periods)], method, paid_on)[0]


def issue_invoices(
    session: Session,
    items: Sequence[tuple[Order, Sequence[LineFacts] | LinesSummary, Periods]],
    method: PaymentMethod,
    paid_on: date,
) -> list[Invoice]:
    """`issue_invoice` of many orders paid together (order, lines, periods), in their order:
    their numbers one block, their lines' descriptions read and their rows written with
    one statement each."""
    table = OrderLine.__table__
    ids = [order.id for order, _lines, _periods in items]
    existing = {
        invoice.order_id: invoice
        for invoice in session.exec(
            select(Invoice).where(
                col(Invoice.order_id).in_(ids), Invoice.document_type == fatturapa.INVOICE
            )
        )
    }
    new = [item for item in items if item[0].id not in existing]
    # The lines' descriptions, for the orders listed line by line (a long order's lines
    # come summed up, with theirs).
    listed = [order.id for order, lines, _periods in new if not isinstance(lines, LinesSummary)]
    descriptions: dict[int, dict[int, str]] = {order_id: {} for order_id in listed}
    if listed:
        for order_id, line_id, description in session.execute(
            sa_select(table.c.order_id, table.c.id, table.c.description).where(
                table.c.order_id.in_(listed)
            )
        ):
            descriptions[order_id][line_id] = description
    # An order confirmed without a snapshot of its holder (placed before the pipeline kept
    # one, imported, or the demo book's) is invoiced to its holder as the holder is now.
    unsnapped = {order.holder_id for order, _lines, _periods in new if not order.holder_snapshot}
    unsnapped.discard(None)
    holders_now = (
        {
            holder.id: _holder_now(holder)
            for holder in session.exec(select(Holder).where(col(Holder.id).in_(unsnapped)))
        }
        if unsnapped
        else {}
    )
    numbers = iter(next_numbers(session, paid_on.year, len(new)) if new else ())
    made: list[Invoice] = []
    for order, lines, periods in new:
        rows = (
            summed_invoice_lines(lines)
            if isinstance(lines, LinesSummary)
            else invoice_lines(lines, descriptions[order.id], periods)
        )
        snapshot = order.holder_snapshot or holders_now.get(order.holder_id or 0) or {}
        made.append(_new_invoice(order, snapshot, rows, next(numbers), method, paid_on))
    session.add_all(made)
    session.flush()  # their ids are the files' progressivi
    issuer = current_issuer(session)
    for invoice in made:
        _render(session, invoice, issuer)
    by_order = {invoice.order_id: invoice for invoice in made} | existing
    return [by_order[order_id] for order_id in ids]


def _new_invoice(
    order: Order,
    snapshot: dict[str, Any],
    rows: list[dict[str, Any]],
    number: int,
    method: PaymentMethod,
    paid_on: date,
) -> Invoice:
    """The invoice row of `order` to the holder `snapshot` holds, numbered `number`, to be
    rendered (`_render`)."""
    buyer = None
    try:
        buyer = _buyer_json(buyer_of(snapshot))
    except (fatturapa.InvoiceInvalid, ValueError, TypeError):
        buyer = None
    return Invoice(
        year=paid_on.year,
        number=number,
        document_type=fatturapa.INVOICE,
        order_id=order.id,
        reseller_id=order.reseller_id,
        holder_id=order.holder_id,
        issued_on=paid_on,
        status=InvoiceStatus.TO_FIX.value,
        buyer_name=str(snapshot.get("display_name") or snapshot.get("billed_to") or "")[:200],
        buyer=buyer,
        lines=rows,
        net_cents=order.net_cents,
        vat_cents=order.vat_cents,
        gross_cents=order.gross_cents,
        payment_method=method.value,
        paid_on=paid_on,
    )


def issue_credit_note(
    session: Session, actor: Actor, invoice: Invoice, today: date, reason: str
) -> Invoice:
    """The credit note (TD04) reversing `invoice` in full, numbered now."""
    note = Invoice(
        year=today.year,
        number=next_number(session, today.year),
        document_type=fatturapa.CREDIT_NOTE,
        order_id=invoice.order_id,
        related_invoice_id=invoice.id,
        reseller_id=invoice.reseller_id,
        holder_id=invoice.holder_id,
        issued_on=today,
        status=InvoiceStatus.TO_FIX.value,
        reason=None,
        buyer_name=invoice.buyer_name,
        buyer=invoice.buyer,
        lines=list(invoice.lines),
        net_cents=invoice.net_cents,
        vat_cents=invoice.vat_cents,
        gross_cents=invoice.gross_cents,
        payment_method=invoice.payment_method,
        paid_on=today,
    )
    session.add(note)
    session.flush()
    _render(session, note, current_issuer(session))
    audit.record(
        session,
        actor,
        "invoice.credit_note",
        "invoice",
        note.id,
        {
            "number": label(note.year, note.number),
            "reverses": label(invoice.year, invoice.number),
            "reason": reason,
        },
    )
    return note


def _holder_now(holder: Holder) -> dict[str, Any]:
    """The holder's data as they are now, in the shape of an order's snapshot of them."""
    snapshot = holder_snapshot(holder)
    snapshot["country"] = holder.country
    return snapshot


def _refresh_buyer(session: Session, invoice: Invoice) -> None:
    """A waiting invoice takes its holder's data as they are now (the fix being waited for)."""
    holder = session.get(Holder, invoice.holder_id) if invoice.holder_id else None
    if holder is None:
        return
    snapshot = _holder_now(holder)
    invoice.buyer = _buyer_json(buyer_of(snapshot))
    invoice.buyer_name = holder.display_name[:200]


def _regenerate_waiting(session: Session, issuer: fatturapa.Issuer) -> tuple[list[str], int]:
    waiting = session.exec(
        select(Invoice)
        .where(Invoice.status == InvoiceStatus.TO_FIX.value)
        .order_by(col(Invoice.year), col(Invoice.number))
        .with_for_update()
    ).all()
    done: list[str] = []
    for invoice in waiting:
        _refresh_buyer(session, invoice)
        _render(session, invoice, issuer)
        if invoice.status == InvoiceStatus.ISSUED.value:
            invoice.version += 1
            done.append(label(invoice.year, invoice.number))
    return done, len(waiting) - len(done)


@audit_denials("invoice.regenerate")
def regenerate(engine: Engine, actor: Actor, ref: str, today: date | None = None) -> InvoiceView:
    """Build a da_correggere invoice again from the data as they are now (its number and date
    stay). An issued invoice cannot change: InvoiceRefused."""
    require_role(actor, Role.ADMIN, Role.BACK_OFFICE, Role.RESELLER, action="invoice.regenerate")
    with write_session(engine) as session:
        invoice = _load(session, actor, ref, today, lock=True)
        if invoice.status == InvoiceStatus.ISSUED.value:
            raise InvoiceRefused(
                _("Invoice {number} is already issued: it cannot be changed.").format(
                    number=label(invoice.year, invoice.number)
                )
            )
        _refresh_buyer(session, invoice)
        _render(session, invoice, current_issuer(session))
        invoice.version += 1
        audit.record(
            session,
            actor,
            "invoice.regenerate",
            "invoice",
            invoice.id,
            {
                "number": label(invoice.year, invoice.number),
                "status": invoice.status,
                "reason": invoice.reason,
            },
        )
        return _view(session, invoice)


# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class InvoiceLineView:
    description: str
    quantity: int
    unit: Decimal
    total: Decimal
    period_start: date | None
    period_end: date | None


@dataclass(frozen=True)
class InvoiceView:
    """An invoice as lists, the detail and the TUI show it (plain data)."""

    id: int
    number: str
    year: int
    document_type: str
    status: InvoiceStatus
    reason: str | None
    issued_on: date
    order_id: int
    order_number: int | None
    buyer_name: str
    buyer: Mapping[str, Any]
    net: Decimal
    vat: Decimal
    gross: Decimal
    payment_method: str
    file_name: str | None
    related: str | None
    lines: tuple[InvoiceLineView, ...] = ()
    xml: str | None = None

    @property
    def is_credit_note(self) -> bool:
        return self.document_type == fatturapa.CREDIT_NOTE

    @property
    def kind(self) -> str:
        return _("Credit note") if self.is_credit_note else _("Invoice")


def _view(
    session: Session, invoice: Invoice, full: bool = True, order_number: int | None = None
) -> InvoiceView:
    """`invoice` as plain data; `full` adds its lines (as the XML shows them) and the XML."""
    if order_number is None:
        order = session.get(Order, invoice.order_id)
        order_number = order.number if order is not None else None
    related = _related(session, invoice)
    return InvoiceView(
        id=invoice.id,
        number=label(invoice.year, invoice.number),
        year=invoice.year,
        document_type=invoice.document_type,
        status=InvoiceStatus(invoice.status),
        reason=invoice.reason,
        issued_on=invoice.issued_on,
        order_id=invoice.order_id,
        order_number=order_number,
        buyer_name=invoice.buyer_name,
        buyer=dict(invoice.buyer or {}),
        net=from_cents(invoice.net_cents),
        vat=from_cents(invoice.vat_cents),
        gross=from_cents(invoice.gross_cents),
        payment_method=invoice.payment_method,
        file_name=invoice.file_name,
        related=related[0] if related else None,
        lines=tuple(
            InvoiceLineView(
                description=line.description,
                quantity=int(line.quantity),
                unit=line.unit_price,
                total=line.total,
                period_start=line.period_start,
                period_end=line.period_end,
            )
            for line in document_lines(invoice.lines)
        )
        if full
        else (),
        xml=invoice.xml if full else None,
    )


def _scope(actor: Actor) -> Any:
    parts = []
    if actor.reseller_id is not None:
        parts.append(col(Invoice.reseller_id) == actor.reseller_id)
    if actor.holder_id is not None:
        parts.append(col(Invoice.holder_id) == actor.holder_id)
    return and_(*parts) if parts else true()


def _load(
    session: Session, actor: Actor, ref: str, today: date | None = None, lock: bool = False
) -> Invoice:
    year, number = parse_ref(ref, today)
    stmt = select(Invoice).where(Invoice.year == year, Invoice.number == number)
    if lock:
        stmt = stmt.with_for_update()
    invoice = session.exec(stmt).first()
    missing = _("There is no invoice {number}.").format(number=label(year, number))
    if invoice is None:
        raise LookupError(missing)
    try:
        check_owned(
            actor,
            invoice.reseller_id,
            invoice.holder_id,
            action="invoice.view",
            entity="invoice",
            entity_id=invoice.id,
        )
    except OutOfScope as exc:  # another's invoice answers as a missing one
        raise OutOfScope(missing, "invoice.view", "invoice", label(year, number)) from exc
    return invoice


@audit_denials("invoice.view")
def get_invoice(engine: Engine, actor: Actor, ref: str, today: date | None = None) -> InvoiceView:
    """The invoice `ref` ("12/2026"); LookupError, or AccessDenied for another's."""
    with Session(engine) as session:
        return _view(session, _load(session, actor, ref, today))


def list_invoices(
    engine: Engine,
    actor: Actor,
    year: int | None = None,
    status: InvoiceStatus | None = None,
    since: date | None = None,
) -> list[InvoiceView]:
    """The invoices the actor may see, by year and number (without lines and XML)."""
    with Session(engine) as session:
        stmt = (
            select(Invoice, Order.number)
            .join(Order, col(Order.id) == Invoice.order_id)
            .where(_scope(actor))
            # The XML and lines stay unread (SQLModel types columns as plain values).
            .options(defer(Invoice.xml), defer(Invoice.lines))  # type: ignore[arg-type]
        )
        if year is not None:
            stmt = stmt.where(Invoice.year == year)
        if status is not None:
            stmt = stmt.where(Invoice.status == status.value)
        if since is not None:
            stmt = stmt.where(col(Invoice.issued_on) >= since)
        stmt = stmt.order_by(col(Invoice.year), col(Invoice.number))
        return [
            _view(session, invoice, full=False, order_number=number)
            for invoice, number in session.exec(stmt).all()
        ]


def order_invoices(engine: Engine, actor: Actor, order_id: int) -> list[InvoiceView]:
    """The invoice and credit note of order `order_id`, as the actor may see them."""
    with Session(engine) as session:
        found = session.exec(
            select(Invoice)
            .where(Invoice.order_id == order_id, _scope(actor))
            .order_by(col(Invoice.id))
        ).all()
        return [_view(session, invoice) for invoice in found]


def invoice_text(invoice: InvoiceView) -> list[str]:
    """The invoice as lines of text: header, buyer, lines, totals."""
    out = [
        _("{kind} {number} of {date} — {status}").format(
            kind=invoice.kind,
            number=invoice.number,
            date=format_date(invoice.issued_on),
            status=label_of(invoice.status),
        )
    ]
    if invoice.reason:
        out.append(_("To correct: {reason}").format(reason=invoice.reason))
    if invoice.related:
        out.append(_("Reverses invoice {number}.").format(number=invoice.related))
    out.append(_("Order no. {number}").format(number=invoice.order_number or "-"))
    buyer = invoice.buyer
    ids = " ".join(
        p
        for p in (
            _("P.IVA {code}").format(code=buyer["partita_iva"]) if buyer.get("partita_iva") else "",
            _("CF {code}").format(code=buyer["codice_fiscale"])
            if buyer.get("codice_fiscale")
            else "",
        )
        if p
    )
    out.append(_("Buyer: {name} {ids}").format(name=invoice.buyer_name, ids=ids).rstrip())
    if buyer.get("street"):
        out.append(
            f"  {buyer.get('street')}, {buyer.get('cap') or ''} {buyer.get('city') or ''}"
            + (f" ({buyer['province']})" if buyer.get("province") else "")
        )
    recipient = buyer.get("pa_office_code") or buyer.get("sdi_code") or ""
    if recipient or buyer.get("billing_pec"):
        out.append(
            _("Recipient: {code} {pec}")
            .format(code=recipient, pec=buyer.get("billing_pec") or "")
            .rstrip()
        )
    out.append("")
    for line in invoice.lines:
        period = (
            f" ({format_date(line.period_start)} – {format_date(line.period_end)})"
            if line.period_start and line.period_end
            else ""
        )
        out.append(
            f"  {line.description}{period}: {format_number(line.quantity)} × {format_money(line.unit)}"
            f" = {format_money(line.total)}"
        )
    out.append("")
    out.append(_("Total: {amount} + VAT").format(amount=format_money(invoice.net)))
    out.append(_("VAT 22%: {amount}").format(amount=format_money(invoice.vat)))
    out.append(_("Total incl. VAT: {amount}").format(amount=format_money(invoice.gross)))
    out.append(
        _("Payment method: {method}").format(method=label_of(PaymentMethod(invoice.payment_method)))
    )
    if invoice.file_name:
        out.append(_("File: {name}").format(name=invoice.file_name))
    return out


@dataclass(frozen=True)
class ExportResult:
    written: tuple[Path, ...]
    # (number, reason) of the invoices without XML (da_correggere).
    skipped: tuple[tuple[str, str], ...]


@audit_denials("invoice.export")
def export_invoices(
    engine: Engine,
    actor: Actor,
    directory: Path,
    refs: Iterable[str] = (),
    all_invoices: bool = False,
    since: date | None = None,
    today: date | None = None,
) -> ExportResult:
    """Write the XML of the chosen invoices into `directory` under their SDI file names."""
    with Session(engine) as session:
        if all_invoices or since is not None:
            stmt = select(Invoice).where(_scope(actor))
            if since is not None:
                stmt = stmt.where(col(Invoice.issued_on) >= since)
            chosen = list(session.exec(stmt.order_by(col(Invoice.year), col(Invoice.number))))
        else:
            chosen = [_load(session, actor, ref, today) for ref in refs]
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    skipped: list[tuple[str, str]] = []
    for invoice in chosen:
        if invoice.xml is None or invoice.file_name is None:
            skipped.append((label(invoice.year, invoice.number), invoice.reason or ""))
            continue
        path = directory / invoice.file_name
        path.write_bytes(invoice.xml.encode("utf-8"))
        written.append(path)
    return ExportResult(tuple(written), tuple(skipped))
