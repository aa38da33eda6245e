"""Mailboxes in and out of files: a streamed CSV/JSON export and an all-or-nothing CSV import.

Both use the same columns (`COLUMNS`). A holder travels as one tax code: the partita IVA of
a business (ditta individuale, libero professionista, azienda) that has one, else the
codice fiscale; the import reads it back by that rule (`holder_tax_code`).
"""

from __future__ import annotations

import csv
import itertools
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any, Literal, TextIO

from sqlalchemy import Connection, Engine, func, insert, select, tuple_
from sqlalchemy.exc import IntegrityError

from pec_tui.db.engine import session_scope
from pec_tui.db.models import Holder, Mailbox, utcnow
from pec_tui.domain.csv_cells import SafeWriter, restore
from pec_tui.domain.enums import HolderKind, Plan, Role
from pec_tui.domain.holder import check_length, holder_field
from pec_tui.domain.lifecycle import expiring_within
from pec_tui.domain.validation import (
    ValidationError,
    check_codice_fiscale,
    check_day_in_range,
    check_email,
    check_extra_gb,
    check_holder_tax_ids,
    check_partita_iva,
    check_pec_address,
    check_plain_text,
    check_required,
    hidden_character,
    parse_whole,
    shown,
)
from pec_tui.i18n import _
from pec_tui.services import audit
from pec_tui.services.actor import Actor
from pec_tui.services.scope import (
    OutOfScope,
    audit_denials,
    record_denial,
    require_role,
    scope_holders,
    scope_mailboxes,
)

COLUMNS = (
    "address",
    "holder_tax_code",
    "holder_name",
    "holder_kind",
    "reference_email",
    "plan",
    "expiry",
    "auto_renew",
    "extra_mailbox_gb",
    "extra_archive_gb",
    "mailbox_used_mb",
    "archive_used_mb",
)
ExportFormat = Literal["csv", "json"]
EXPORT_PAGE_SIZE = 5_000
# Rows per INSERT batch and per IN (...) lookup of the import.
_BATCH = 1_000

_TRUE = frozenset({"true", "1", "yes", "y", "si", "sì"})
_FALSE = frozenset({"false", "0", "no", "n"})
_ISO_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_WINDOW_RE = re.compile(r"([0-9]+)\s*([md])")
# The longest expiry window: ten years, in months or days.
MAX_WINDOW = {"m": 120, "d": 3660}
# Unknown header names listed in a message, at most.
_LISTED_COLUMNS = 10
# The longest value of each column (the holder's name: the e-invoice's Denominazione).
_CELL_LIMITS = {
    "address": 254,
    "holder_tax_code": 32,
    "holder_name": 80,
    "holder_kind": 32,
    "reference_email": 254,
    "plan": 16,
    "expiry": 10,
    "auto_renew": 8,
    "extra_mailbox_gb": 10,
    "extra_archive_gb": 10,
    "mailbox_used_mb": 10,
    "archive_used_mb": 10,
}

_m = Mailbox.__table__.c
_h = Holder.__table__.c


def holder_tax_code(kind: str, codice_fiscale: str | None, partita_iva: str | None) -> str:
    """The one tax code a file carries for a holder: a business's partita IVA, else its CF."""
    if partita_iva and HolderKind(kind).is_business:
        return partita_iva
    return codice_fiscale or partita_iva or ""


# --- Export ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpiryWindow:
    """Mailboxes expiring within a number of months (`3m`) or days (`90d`) from today."""

    amount: int
    unit: Literal["m", "d"]

    @classmethod
    def parse(cls, text: str) -> ExpiryWindow:
        match = _WINDOW_RE.fullmatch(text.strip().lower())
        if match is None:
            raise ValidationError(
                _(
                    "“{text}” is not a period: write a number of months or days, e.g. 3m or 90d."
                ).format(text=shown(text)),
                "expiring_within",
            )
        digits, unit = match.group(1).lstrip("0"), match.group(2)
        amount = int(digits) if len(digits) <= 6 else MAX_WINDOW[unit] + 1
        if amount > MAX_WINDOW[unit]:
            raise ValidationError(
                _("“{text}” is too long a period: at most {months}m or {days}d.").format(
                    text=shown(text), months=MAX_WINDOW["m"], days=MAX_WINDOW["d"]
                ),
                "expiring_within",
            )
        return cls(amount, unit)  # type: ignore[arg-type]

    def bounds(self, today: date) -> tuple[date, date]:
        """The inclusive expiry range: from today to the end of the period."""
        if self.unit == "m":
            return expiring_within(today, self.amount)
        return today, today + timedelta(days=self.amount)


def count_for_export(
    engine: Engine, actor: Actor, window: ExpiryWindow | None = None, today: date | None = None
) -> int:
    """How many mailboxes `export_mailboxes` would write."""
    stmt = scope_mailboxes(select(func.count()).select_from(Mailbox), actor)
    if window is not None:
        first, last = window.bounds(today or date.today())
        stmt = stmt.where(_m.expiry >= first, _m.expiry <= last)
    with engine.connect() as connection:
        return connection.execute(stmt).scalar_one()


def export_mailboxes(
    engine: Engine,
    actor: Actor,
    out: TextIO,
    fmt: ExportFormat = "csv",
    window: ExpiryWindow | None = None,
    today: date | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the mailboxes `actor` may see to `out`; returns how many.

    Pages of `EXPORT_PAGE_SIZE` rows are read by keyset — by (expiry, id) within an expiry
    window, else by id — inside one read transaction, so the file is one consistent picture
    however large the table. `progress(rows)` is called after each page.
    """
    rows = _exported_rows(engine, actor, window, today or date.today(), progress)
    if fmt == "csv":
        return _write_csv(rows, out)
    if fmt == "json":
        return _write_json(rows, out)
    raise ValueError(f"unknown export format {fmt!r}")


def _exported_rows(
    engine: Engine,
    actor: Actor,
    window: ExpiryWindow | None,
    today: date,
    progress: Callable[[int], None] | None,
) -> Iterator[dict[str, Any]]:
    base = scope_mailboxes(
        select(
            _m.id,
            _m.address,
            _h.kind,
            _h.codice_fiscale,
            _h.partita_iva,
            _h.display_name,
            _h.reference_email,
            _m.plan,
            _m.expiry,
            _m.auto_renew,
            _m.extra_mailbox_gb,
            _m.extra_archive_gb,
            _m.mailbox_used_mb,
            _m.archive_used_mb,
        ).join_from(Mailbox, Holder, _m.holder_id == _h.id),
        actor,
    )
    if window is not None:
        first, last = window.bounds(today)
        first_page = base.where(_m.expiry >= first, _m.expiry <= last)
        # Only the upper bound after the first page: a lower one makes SQLite scan from it.
        next_page = base.where(_m.expiry <= last)
        ordering: tuple[Any, ...] = (_m.expiry, _m.id)
    else:
        first_page = next_page = base
        ordering = (_m.id,)
    options = {} if engine.dialect.name == "sqlite" else {"isolation_level": "REPEATABLE READ"}
    written = 0
    with engine.connect().execution_options(**options) as connection:
        page = _page(connection, first_page, ordering)
        while page:
            for row in page:
                yield {
                    "address": row.address,
                    "holder_tax_code": holder_tax_code(
                        row.kind, row.codice_fiscale, row.partita_iva
                    ),
                    "holder_name": row.display_name,
                    "holder_kind": row.kind,
                    "reference_email": row.reference_email,
                    "plan": row.plan,
                    "expiry": row.expiry,
                    "auto_renew": row.auto_renew,
                    "extra_mailbox_gb": row.extra_mailbox_gb,
                    "extra_archive_gb": row.extra_archive_gb,
                    "mailbox_used_mb": row.mailbox_used_mb,
                    "archive_used_mb": row.archive_used_mb,
                }
            written += len(page)
            if progress is not None:
                progress(written)
            if len(page) < EXPORT_PAGE_SIZE:
                break
            last = page[-1]
            after = (
                tuple_(_m.expiry, _m.id) > (last.expiry, last.id)
                if window is not None
                else _m.id > last.id
            )
            page = _page(connection, next_page.where(after), ordering)


def _page(connection: Connection, stmt: Any, ordering: tuple[Any, ...]) -> list[Any]:
    return list(connection.execute(stmt.order_by(*ordering).limit(EXPORT_PAGE_SIZE)))


def _write_csv(rows: Iterable[dict[str, Any]], out: TextIO) -> int:
    writer = SafeWriter(out, convert=_csv_cell)
    writer.writerow(COLUMNS)
    count = 0
    for row in rows:
        writer.writerow(row[name] for name in COLUMNS)
        count += 1
    return count


def _csv_cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    return value


def _write_json(rows: Iterable[dict[str, Any]], out: TextIO) -> int:
    """A JSON array, one object per line, written as the rows come."""
    out.write("[")
    count = 0
    for row in rows:
        out.write(",\n" if count else "\n")
        out.write(json.dumps({**row, "expiry": row["expiry"].isoformat()}, ensure_ascii=False))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count


# --- Import ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowProblem:
    """Why one line of the file cannot be imported."""

    line: int
    reason: str

    def __str__(self) -> str:
        return _("line {line}: {reason}").format(line=self.line, reason=self.reason)


class ImportRejected(Exception):
    """The file has problems: nothing was imported. `problems` lists every one, by line."""

    def __init__(self, problems: list[RowProblem]) -> None:
        super().__init__("\n".join(str(problem) for problem in problems))
        self.problems = problems


@dataclass(frozen=True)
class ImportResult:
    mailboxes: int
    holders_created: int


@dataclass(frozen=True)
class _Row:
    line: int
    address: str
    tax_code: str
    is_partita_iva: bool
    holder_name: str
    kind: HolderKind
    reference_email: str
    plan: Plan
    expiry: date
    auto_renew: bool
    extra_mailbox_gb: int
    extra_archive_gb: int
    mailbox_used_mb: int
    archive_used_mb: int


@audit_denials("mailboxes.import")
def import_mailboxes(
    engine: Engine, actor: Actor, stream: TextIO, source: str | None = None
) -> ImportResult:
    """Import every mailbox of a CSV file, or none.

    Every row is checked first — syntax and rules of each value, addresses repeated in the
    file or already in the database — and any problem raises `ImportRejected` listing them
    all. Otherwise one transaction inserts the mailboxes, finding holders by tax code among
    those `actor` may see and creating the others, and audits one `mailboxes.import` event.
    """
    require_role(actor, *Role, action="mailboxes.import")
    rows, problems = _parse(stream)
    try:
        with session_scope(engine) as session:
            connection = session.connection()
            present = _already_present(connection, rows)
            problems += present
            _audit_foreign_addresses(engine, connection, actor, [p.address for p in present])
            if problems:
                raise ImportRejected(sorted(problems, key=lambda problem: problem.line))
            holders, created = _holders_for(connection, actor, rows)
            now = utcnow()
            for batch in _batches(rows):
                connection.execute(
                    insert(Mailbox), [_mailbox_values(row, holders, now) for row in batch]
                )
            audit.record(
                session,
                actor,
                "mailboxes.import",
                "mailbox",
                details={"source": source, "mailboxes": len(rows), "holders_created": created},
            )
    except IntegrityError:
        # Another operator added some of these addresses between the check and the insert:
        # everything was rolled back; say which lines, as if they had been there before.
        with engine.connect() as connection:
            taken = _already_present(connection, rows)
        if not taken:
            raise
        raise ImportRejected(sorted(taken, key=lambda problem: problem.line)) from None
    return ImportResult(len(rows), created)


def _batches(items: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(items), _BATCH):
        yield items[start : start + _BATCH]


def _parse(stream: TextIO) -> tuple[list[_Row], list[RowProblem]]:
    """The rows of the file and the problems found in it (line numbers of the file)."""
    header_line = stream.readline()
    if not header_line.strip():
        return [], [RowProblem(1, _("The file is empty: expected a header line with the columns."))]
    # Spreadsheets set to Italian save CSV with semicolons.
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    reader = csv.reader(itertools.chain([header_line], stream), delimiter=delimiter)
    try:
        header = [name.strip().lower() for name in next(reader)]
    except csv.Error as exc:
        return [], [RowProblem(1, _csv_problem(exc))]
    problems = _header_problems(header)
    if problems:
        return [], problems
    rows: list[_Row] = []
    first_line_of: dict[str, int] = {}
    end_of_previous = reader.line_num
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            # The reader cannot go on past a broken record: report it and stop there.
            problems.append(RowProblem(end_of_previous + 1, _csv_problem(exc)))
            break
        line, end_of_previous = end_of_previous + 1, reader.line_num
        if not any(value.strip() for value in record):
            continue
        record = [restore(value) for value in record]  # the quote an export put before = + - @
        if len(record) != len(header):
            problems.append(
                RowProblem(
                    line,
                    _("Expected {expected} values, found {found}.").format(
                        expected=len(header), found=len(record)
                    ),
                )
            )
            continue
        row, row_problems = _parse_row(line, dict(zip(header, record, strict=True)))
        problems += row_problems
        address = row.address if row else _address_of(record[header.index("address")])
        if address:
            first = first_line_of.setdefault(address, line)
            if first != line:
                problems.append(
                    RowProblem(
                        line,
                        _("The address {address} is already on line {first}.").format(
                            address=address, first=first
                        ),
                    )
                )
                continue
        if row is not None:
            rows.append(row)
    return rows, problems


def _header_problems(header: list[str]) -> list[RowProblem]:
    missing = [name for name in COLUMNS if name not in header]
    unknown = [shown(name) for name in header if name not in COLUMNS]
    repeated = sorted({name for name in header if name in COLUMNS and header.count(name) > 1})
    problems: list[RowProblem] = []
    if missing:
        problems.append(
            RowProblem(1, _("Missing columns: {columns}.").format(columns=", ".join(missing)))
        )
    if unknown:
        listed = ", ".join(unknown[:_LISTED_COLUMNS]) + (
            " …" if len(unknown) > _LISTED_COLUMNS else ""
        )
        problems.append(
            RowProblem(
                1,
                _("Unknown columns: {columns} (expected: {expected}).").format(
                    columns=listed, expected=", ".join(COLUMNS)
                ),
            )
        )
    if repeated:
        problems.append(
            RowProblem(
                1,
                _("Columns named more than once: {columns}; each column must appear once.").format(
                    columns=", ".join(repeated)
                ),
            )
        )
    return problems


def _csv_problem(exc: csv.Error) -> str:
    """A reader error in words: the only one a well-formed file can hit is the field limit."""
    if "field larger than field limit" in str(exc):
        return _(
            "A value is longer than {limit} characters: this is not a file of mailboxes "
            "(nothing after this line was read)."
        ).format(limit=csv.field_size_limit())
    return _("This line cannot be read as CSV (check its quotes); nothing after it was read.")


def _address_of(value: str) -> str | None:
    if len(value) > _CELL_LIMITS["address"] or hidden_character(value):
        return None
    try:
        return check_pec_address(value).lower()
    except ValidationError:
        return None


def _parse_row(line: int, values: dict[str, str]) -> tuple[_Row | None, list[RowProblem]]:
    """One record checked value by value: the row, or every problem it has."""
    problems: list[RowProblem] = []

    def checked(check: Callable[[], Any]) -> Any:
        try:
            return check()
        except ValidationError as exc:
            problems.append(RowProblem(line, exc.message))
            return None

    # First every value alone: no control or invisible character, within its column's size.
    for column, limit in _CELL_LIMITS.items():
        try:
            check_plain_text(values[column], column, column, limit)
        except ValidationError as exc:
            problems.append(RowProblem(line, exc.message))
    if problems:
        return None, problems
    address = checked(lambda: check_pec_address(values["address"]).lower())
    name = checked(lambda: _holder_name(values["holder_name"]))
    kind = checked(lambda: _holder_kind(values["holder_kind"]))
    tax = checked(lambda: _tax_code(values["holder_tax_code"], kind)) if kind else None
    email = checked(lambda: check_email(values["reference_email"]))
    plan = checked(lambda: _plan(values["plan"]))
    expiry = checked(lambda: _date(values["expiry"]))
    auto_renew = checked(lambda: _boolean(values["auto_renew"], "auto_renew"))
    extra_mailbox = checked(lambda: _whole(values["extra_mailbox_gb"], "extra_mailbox_gb"))
    extra_archive = checked(lambda: _whole(values["extra_archive_gb"], "extra_archive_gb"))
    if plan and extra_mailbox is not None and extra_archive is not None:
        checked(lambda: check_extra_gb(plan, extra_mailbox, extra_archive))
    mailbox_used = checked(lambda: _whole(values["mailbox_used_mb"], "mailbox_used_mb"))
    archive_used = checked(lambda: _whole(values["archive_used_mb"], "archive_used_mb"))
    if problems or tax is None:  # without problems, every value was checked, tax included
        return None, problems
    tax_code, is_partita_iva = tax
    return _Row(
        line, address, tax_code, is_partita_iva, name, kind, email, plan, expiry, auto_renew,
        extra_mailbox, extra_archive, mailbox_used, archive_used,
    ), []  # fmt: skip


def _holder_name(value: str) -> str:
    name = check_required(value, "holder_name", _("The holder's name"))
    # Within the e-invoice's limit for a company name (Denominazione).
    check_length(replace(holder_field("company_name"), name="holder_name"), name)
    return name


def _holder_kind(value: str) -> HolderKind:
    try:
        return HolderKind(value.strip().lower())
    except ValueError:
        raise ValidationError(
            _("Unknown holder kind “{value}”: expected one of {kinds}.").format(
                value=value.strip(), kinds=", ".join(kind.value for kind in HolderKind)
            ),
            "holder_kind",
        ) from None


def _tax_code(value: str, kind: HolderKind) -> tuple[str, bool]:
    """The holder's code and whether it is a partita IVA, by the rule of `holder_tax_code`.

    A business gives its partita IVA (or, for a ditta individuale or libero professionista,
    the owner's personal codice fiscale); everyone else the codice fiscale their kind needs.
    """
    code = "".join(value.split()).upper()
    if kind.is_business:
        if len(code) == 16 and kind is not HolderKind.COMPANY:
            return check_codice_fiscale(code), False
        return check_partita_iva(code), True
    codice_fiscale, _partita_iva = check_holder_tax_ids(kind, code, None)
    return codice_fiscale or code, False


def _plan(value: str) -> Plan:
    try:
        return Plan(value.strip().upper())
    except ValueError:
        raise ValidationError(
            _("Unknown plan “{value}”: expected {plans}.").format(
                value=value.strip(), plans=", ".join(plan.value for plan in Plan)
            ),
            "plan",
        ) from None


def _date(value: str) -> date:
    text = value.strip()
    day = None
    if _ISO_DATE_RE.fullmatch(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            day = None
    if day is None:
        raise ValidationError(
            _("“{value}” is not a valid expiry date: expected YYYY-MM-DD, e.g. 2027-03-31.").format(
                value=shown(text)
            ),
            "expiry",
        )
    return check_day_in_range(day, "expiry", "expiry")


def _boolean(value: str, column: str) -> bool:
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValidationError(
        _("{column} must be true or false; “{value}” was given.").format(
            column=column, value=value.strip()
        ),
        column,
    )


def _whole(value: str, column: str) -> int:
    """0 to the largest INTEGER the column holds, in ASCII digits."""
    return parse_whole(value, column, column)


@dataclass(frozen=True)
class _Present(RowProblem):
    address: str = ""


def _already_present(connection: Connection, rows: list[_Row]) -> list[_Present]:
    """Rows whose address the database already has (whoever's mailbox it is: the same
    answer for another reseller's, which only the audit tells apart)."""
    line_of = {row.address: row.line for row in rows}
    problems = []
    for batch in _batches(list(line_of)):
        for (address,) in connection.execute(select(_m.address).where(_m.address.in_(batch))):
            problems.append(
                _Present(
                    line_of[address],
                    _("The mailbox {address} already exists.").format(address=address),
                    address,
                )
            )
    return problems


def _audit_foreign_addresses(
    engine: Engine, connection: Connection, actor: Actor, addresses: list[str]
) -> None:
    """Audit, as a refusal, an import naming mailboxes out of the actor's scope."""
    foreign = set(addresses)
    for batch in _batches(addresses):
        own = scope_mailboxes(select(_m.address).where(_m.address.in_(batch)), actor)
        foreign -= set(connection.execute(own).scalars())
    if foreign:
        names = sorted(foreign)
        record_denial(
            engine,
            actor,
            OutOfScope(
                _("The mailbox {address} already exists.").format(address=", ".join(names)),
                "mailboxes.import",
                "mailbox",
                names[0][:64] if len(names) == 1 else None,
            ),
        )


def _holders_for(
    connection: Connection, actor: Actor, rows: list[_Row]
) -> tuple[dict[tuple[str, bool], tuple[int, int | None]], int]:
    """(tax code, is partita IVA) -> (holder id, reseller id); the number of holders created.

    An existing holder is looked up among those `actor` may see; the first row that names
    a new one gives its name, kind and reference e-mail.
    """
    found: dict[tuple[str, bool], tuple[int, int | None]] = {}
    for is_partita_iva, column in ((True, _h.partita_iva), (False, _h.codice_fiscale)):
        codes = sorted({row.tax_code for row in rows if row.is_partita_iva is is_partita_iva})
        for batch in _batches(codes):
            stmt = scope_holders(
                select(column, _h.id, _h.reseller_id).where(column.in_(batch)), actor
            ).order_by(_h.id.desc())
            for code, holder_id, reseller_id in connection.execute(stmt):
                found[(code, is_partita_iva)] = (holder_id, reseller_id)  # the lowest id wins
    new: dict[tuple[str, bool], _Row] = {}
    for row in rows:
        key = (row.tax_code, row.is_partita_iva)
        if key not in found:
            new.setdefault(key, row)
    now = utcnow()
    keys = list(new)
    for batch in _batches(keys):
        values = [_holder_values(new[key], actor, now) for key in batch]
        ids = connection.execute(
            insert(Holder).returning(_h.id, sort_by_parameter_order=True), values
        ).scalars()
        for key, holder_id in zip(batch, ids, strict=True):
            found[key] = (holder_id, actor.reseller_id)
    return found, len(keys)


def _holder_values(row: _Row, actor: Actor, now: Any) -> dict[str, Any]:
    # The one name of the file is the company's where the holder kind requires one.
    organisation = holder_field("company_name").required_for(row.kind)
    return {
        "reseller_id": actor.reseller_id,
        "kind": row.kind.value,
        "company_name": row.holder_name if organisation else None,
        "display_name": row.holder_name,
        "codice_fiscale": None if row.is_partita_iva else row.tax_code,
        "partita_iva": row.tax_code if row.is_partita_iva else None,
        "country": "IT",
        "reference_email": row.reference_email,
        "split_payment": False,
        "created_at": now,
        "updated_at": now,
        "version": 1,
    }


def _mailbox_values(
    row: _Row, holders: dict[tuple[str, bool], tuple[int, int | None]], now: Any
) -> dict[str, Any]:
    holder_id, reseller_id = holders[(row.tax_code, row.is_partita_iva)]
    return {
        "address": row.address,
        "holder_id": holder_id,
        "reseller_id": reseller_id,
        "plan": row.plan.value,
        "expiry": row.expiry,
        "auto_renew": row.auto_renew,
        "renewal_years": 1,
        "mailbox_used_mb": row.mailbox_used_mb,
        "archive_used_mb": row.archive_used_mb,
        "extra_mailbox_gb": row.extra_mailbox_gb,
        "extra_archive_gb": row.extra_archive_gb,
        "promo": False,
        "created_at": now,
        "version": 1,
    }
