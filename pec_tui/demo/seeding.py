"""Deterministic demo data: resellers, holders of every kind, their mailboxes and past orders.

`seed_demo` fills a database that has no mailboxes yet with synthetic but realistic rows
drawn from `random.Random(seed)`: the same seed and day give the same rows. It is built
for volume (a million mailboxes in well under a minute on SQLite): rows are plain tuples
written with the driver's `executemany`, and each chunk — holders with all their mailboxes
and orders — is committed whole, so stopping between chunks leaves consistent data.
"""

from __future__ import annotations

import gc
import os
import pickle
import random
import subprocess
import sys
import tempfile
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from operator import itemgetter
from pathlib import Path
from typing import IO, Any, TypeAlias

from codicefiscale.codicefiscale import encode_firstname, encode_lastname
from sqlalchemy import Connection, Dialect, Engine, Table, func, insert, select, update
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel, col
from stdnum import luhn
from stdnum.it import codicefiscale as stdnum_cf

from pec_tui import i18n
from pec_tui.db import search_index
from pec_tui.db.engine import session_scope
from pec_tui.db.models import (
    Counter,
    CreditMovement,
    Holder,
    InvoiceIssuer,
    Mailbox,
    OpenRenewal,
    Operator,
    Order,
    OrderLine,
    Payment,
    PriceListItem,
    Reseller,
)
from pec_tui.demo import vocabulary as vocab
from pec_tui.domain import fatturapa
from pec_tui.domain.enums import (
    HolderKind,
    OrderStatus,
    OrderType,
    PaymentMethod,
    Plan,
    PriceItem,
    SignatureKit,
    label,
)
from pec_tui.domain.money import to_cents
from pec_tui.domain.plans import MB_PER_GB, PLANS
from pec_tui.domain.pricing import MailboxChoice, PriceList, quote
from pec_tui.domain.validation import MAX_PROMO_YEARS, MAX_YEARS, SDI_PEC_CODE
from pec_tui.i18n import _
from pec_tui.services import audit, invoices
from pec_tui.services.actor import SYSTEM, Actor
from pec_tui.services.auth import SYSTEM_OPERATOR
from pec_tui.services.database import (
    DEMO_BOOK_COUNTER,
    DEMO_OPERATORS_COUNTER,
    ORDER_NUMBER_COUNTER,
    ensure_reference_data,
)
from pec_tui.services.prices import get_price_list
from pec_tui.services.scope import audit_denials, denials_recorded, require_admin

# Mailboxes per committed chunk. Each commit writes every index page the chunk touched,
# so larger chunks are cheaper per row; this size still honours Ctrl-C within seconds.
CHUNK_MAILBOXES = 50_000
# Where the demo orders were placed, as recorded on them.
DEMO_TERMINAL = "demo"

Progress = Callable[[int, int], None]
# A row as the driver takes it, values in column order.
_Row: TypeAlias = tuple[Any, ...]


@dataclass(frozen=True)
class SeedResult:
    """What `seed_demo` wrote; `interrupted` when it stopped early on request."""

    resellers: int
    holders: int
    mailboxes: int
    orders: int
    interrupted: bool = False


class DatabaseNotEmpty(RuntimeError):
    """Demo data goes only into a database without mailboxes: reset it first."""


class DatabaseChanged(RuntimeError):
    """Someone else wrote to the tables being seeded between two chunks."""


class NotADemoBook(RuntimeError):
    """The database holds data that `seed_demo` did not make: it is never reset."""


def check_demo_book(engine: Engine) -> None:
    """Raise `NotADemoBook` unless every mailbox and operator was made for the demo."""
    with engine.connect() as connection:
        _check_demo_book(connection)


def _check_demo_book(connection: Connection) -> None:
    marks: dict[str, int] = dict(
        connection.execute(
            select(col(Counter.name), col(Counter.value)).where(
                col(Counter.name).in_((DEMO_BOOK_COUNTER, DEMO_OPERATORS_COUNTER))
            )
        ).all()
    )
    if DEMO_BOOK_COUNTER not in marks:
        raise NotADemoBook(_("This database was not filled by pec-tui demo: nothing deleted."))
    foreign_mailboxes = connection.execute(
        select(func.count()).select_from(Mailbox).where(col(Mailbox.id) > marks[DEMO_BOOK_COUNTER])
    ).scalar_one()
    foreign_operators = connection.execute(
        select(func.count())
        .select_from(Operator)
        .where(
            col(Operator.id) > marks.get(DEMO_OPERATORS_COUNTER, 0),
            # The scheduled jobs' identity (`operators system-token`) is not a person.
            col(Operator.username) != SYSTEM_OPERATOR,
        )
    ).scalar_one()
    if foreign_mailboxes or foreign_operators:
        raise NotADemoBook(
            _("This database has mailboxes or operators not made by pec-tui demo: nothing deleted.")
        )


def _set_counter(connection: Connection, name: str, value: int) -> None:
    updated = connection.execute(
        update(Counter).where(col(Counter.name) == name).values(value=value)
    )
    if not updated.rowcount:
        connection.execute(insert(Counter).values(name=name, value=value))


def mark_demo_operators(engine: Engine, usernames: Sequence[str]) -> None:
    """Record that the operators named `usernames` were made for the demo."""
    with engine.begin() as connection:
        highest = connection.execute(
            select(func.max(Operator.id)).where(col(Operator.username).in_(usernames))
        ).scalar_one()
        if highest is not None:
            _set_counter(connection, DEMO_OPERATORS_COUNTER, highest)


# The demo provider, issuer of the invoices (a partita IVA with a valid check digit).
DEMO_ISSUER = fatturapa.Issuer(
    name="PEC Italia Demo S.r.l.",
    vat_number="01234560017",
    codice_fiscale="01234560017",
    street="Via del Corso 101",
    cap="00186",
    city="Roma",
    province="RM",
    rea_office="RM",
    rea_number="1234567",
    email="fatture@pecitalia-demo.it",
)


def mailbox_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(Mailbox)).scalar_one()


@audit_denials("demo.reset")
def reset_demo_data(engine: Engine, actor: Actor = SYSTEM) -> None:
    """Delete all business data and the audit trail, in one transaction (administrators only).

    Kept: the price list, the counters (order numbers are never handed out twice) and
    the operators without a reseller (administrators, back office), so whoever resets can
    still sign in; reseller operators go with their resellers.

    Only a database that `seed_demo` filled, where every mailbox and operator was made for
    the demo, is reset: anything else raises `NotADemoBook` and nothing is deleted.
    """
    require_admin(actor, "demo.reset")
    kept = {PriceListItem.__tablename__, Counter.__tablename__}
    with session_scope(engine) as session:
        connection = session.connection()
        _check_demo_book(connection)
        with audit.wiping_database(connection):
            for table in reversed(SQLModel.metadata.sorted_tables):
                if table.name == Operator.__tablename__:
                    connection.execute(table.delete().where(table.c.reseller_id.is_not(None)))
                elif table.name not in kept:
                    connection.execute(table.delete())
        # Still a demo book: no mailboxes yet, and the operators left were made for the demo.
        _set_counter(connection, DEMO_BOOK_COUNTER, 0)
        remaining = connection.execute(select(func.max(Operator.id))).scalar_one()
        _set_counter(connection, DEMO_OPERATORS_COUNTER, remaining or 0)
        audit.record(session, actor, "demo.reset")


def seed_demo(
    engine: Engine,
    mailboxes: int,
    seed: int = 42,
    today: date | None = None,
    *,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
    actor: Actor = SYSTEM,
    chunk_size: int = CHUNK_MAILBOXES,
) -> SeedResult:
    """Write `mailboxes` demo mailboxes with their holders, resellers and orders.

    `progress(done, total)` is called after each committed chunk; when `cancelled()` turns
    true the work stops after the current chunk and the result says `interrupted`.
    Raises `DatabaseNotEmpty` if the database already has mailboxes, `DatabaseChanged` if
    another writer gets in the way (what was committed until then stays, consistent).
    Administrators only.
    """
    with denials_recorded(engine, actor, "demo.seed"):
        require_admin(actor, "demo.seed")
    if mailboxes < 1:
        raise ValueError("the number of mailboxes must be at least 1")
    today = today or date.today()
    ensure_reference_data(engine)
    prices = get_price_list(engine)
    writer = _BulkWriter(engine)
    collecting = gc.isenabled()
    # Millions of long-lived tuples and no reference cycles: collections would only cost time.
    gc.disable()
    resellers: list[int] = []
    done = holders = orders = 0
    interrupted = False
    try:
        writer.begin()
        if writer.scalar("SELECT COUNT(*) FROM mailbox"):
            raise DatabaseNotEmpty(_("The database already has mailboxes."))
        # The word-search index is built once at the end (`restore_search`), not row by row.
        writer.suspend_search()
        resellers = writer.write_resellers(seed, today)
        plan = _SeedPlan(
            seed=seed,
            today=today,
            prices=prices,
            language=i18n.get_language(),
            drivername=engine.url.drivername,
            resellers=tuple(resellers),
            mailboxes=mailboxes,
            chunk_size=chunk_size,
            first_ids=writer.next_ids(),
            first_order_number=writer.next_order_number(),
        )
        with _chunk_source(plan) as chunks:
            for chunk in chunks:
                if done:  # the first chunk commits together with the resellers
                    writer.begin()
                writer.check_unchanged(chunk)
                writer.write(chunk)
                writer.commit()
                done += chunk.mailbox_count
                holders += len(chunk.holders)
                orders += len(chunk.orders)
                if progress is not None:
                    progress(done, mailboxes)
                if cancelled is not None and done < mailboxes and cancelled():
                    interrupted = True
                    break
    finally:
        try:
            writer.restore_search()
        finally:
            writer.close()
            if collecting:
                gc.enable()
    result = SeedResult(len(resellers), holders, done, orders, interrupted)
    with session_scope(engine) as session:
        # The demo provider issues the invoices of the payments made in the demo.
        if session.get(InvoiceIssuer, invoices.ISSUER_ID) is None:
            session.add(InvoiceIssuer(id=invoices.ISSUER_ID, **asdict(DEMO_ISSUER)))
        audit.record(
            session,
            actor,
            "demo.seed",
            details={"seed": seed, "today": today.isoformat(), **_counts(result)},
            outcome="partial" if interrupted else "ok",
        )
    return result


def _counts(result: SeedResult) -> dict[str, int]:
    return {
        "resellers": result.resellers,
        "holders": result.holders,
        "mailboxes": result.mailboxes,
        "orders": result.orders,
    }


@dataclass(frozen=True)
class _SeedPlan:
    """Everything the generator needs, picklable so that another process can run it."""

    seed: int
    today: date
    prices: PriceList
    language: str
    drivername: str
    resellers: tuple[int, ...]
    mailboxes: int
    chunk_size: int
    first_ids: dict[str, int]
    first_order_number: int


@dataclass
class _Chunk:
    """Holders with all their mailboxes and orders: the rows of one transaction."""

    holders: list[_Row]
    mailboxes: list[_Row]
    orders: list[_Row]
    lines: list[_Row]
    payments: list[_Row]
    open_renewals: list[_Row]
    mailbox_count: int
    # The ids and order number it starts from, which the database must still agree with.
    first_ids: dict[str, int]
    first_order_number: int
    next_order_number: int


# --- Generating in a second process -----------------------------------------------------------


@contextmanager
def _chunk_source(plan: _SeedPlan) -> Iterator[Iterator[_Chunk]]:
    """The chunks of `plan`, generated here when there is one, else by a second process.

    With several chunks the second process generates the next chunk while this one writes
    the last: on two cores that nearly halves the time of a large seeding.
    """
    if plan.mailboxes <= plan.chunk_size:
        yield _generate_chunks(plan)
        return
    package_root = str(Path(__file__).resolve().parents[2])
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, (package_root, environment.get("PYTHONPATH")))
    )
    with tempfile.TemporaryFile() as errors:
        producer = subprocess.Popen(
            [sys.executable, "-c", f"from {__name__} import _produce_chunks; _produce_chunks()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            env=environment,
            # Outside the terminal's process group: Ctrl-C is for this process to handle.
            start_new_session=True,
        )
        # Both pipes exist: they were asked for above.
        assert producer.stdin is not None and producer.stdout is not None
        try:
            with producer.stdin:
                pickle.dump(plan, producer.stdin)
            yield _received_chunks(producer.stdout, errors)
        finally:
            if producer.poll() is None:
                producer.kill()
            producer.wait()
            producer.stdout.close()


def _received_chunks(stream: IO[bytes], errors: IO[bytes]) -> Iterator[_Chunk]:
    while True:
        try:
            chunk = pickle.load(stream)
        except EOFError:
            errors.seek(0)
            message = errors.read().decode(errors="replace")
            raise RuntimeError(f"the demo data generator failed:\n{message}") from None
        if chunk is None:
            return
        yield chunk


def _produce_chunks() -> None:
    """The second process: a plan pickled on stdin, its chunks then None pickled on stdout."""
    gc.disable()
    plan = pickle.load(sys.stdin.buffer)
    out = sys.stdout.buffer
    for chunk in _generate_chunks(plan):
        pickle.dump(chunk, out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()
    pickle.dump(None, out)
    out.flush()


def _generate_chunks(plan: _SeedPlan) -> Iterator[_Chunk]:
    i18n.set_language(plan.language)
    data = _DemoData(plan)
    done = 0
    while done < plan.mailboxes:
        chunk = data.chunk(min(plan.chunk_size, plan.mailboxes - done), plan.mailboxes - done)
        done += chunk.mailbox_count
        yield chunk


# --- Writing: the DBAPI connection in its own terms ------------------------------------------

# The tables whose ids the generator assigns, and the first of them it will use.
_ID_TABLES: tuple[Table, ...] = (
    Holder.__table__,
    Mailbox.__table__,
    Order.__table__,
    OrderLine.__table__,
    Payment.__table__,
)
_SEEDED_TABLES: tuple[Table, ...] = (
    Reseller.__table__,
    CreditMovement.__table__,
    *_ID_TABLES,
    OpenRenewal.__table__,
)


def _value_converters(dialect: Dialect) -> tuple[Callable[[date], Any], Callable[[datetime], Any]]:
    """Dates and timestamps in the driver's form, exactly as SQLAlchemy would bind them."""
    table = Mailbox.__table__

    def converter(column: str) -> Callable[[Any], Any]:
        processor = table.c[column].type.dialect_impl(dialect).bind_processor(dialect)
        return processor or (lambda value: value)

    return converter("expiry"), converter("created_at")


def _partita_iva(serial: int, office: int) -> str:
    """A valid partita IVA, a different one for every serial below ten million."""
    # A multiplication modulo 9,999,999 shuffles the serials without ever repeating one.
    stem = f"{(serial * 7_654_321) % 9_999_999 + 1:07d}{office:03d}"
    return stem + luhn.calc_check_digit(stem)


class _BulkWriter:
    """Bulk inserts with `executemany` on one DBAPI connection, SQLite or PostgreSQL.

    Values come already in the driver's form, which is what makes a million rows
    affordable; ids come from the generator so that rows can point at each other.
    """

    def __init__(self, engine: Engine) -> None:
        self.dialect = engine.dialect
        self.is_sqlite = self.dialect.name == "sqlite"
        self.placeholder = "?" if self.dialect.paramstyle == "qmark" else "%s"
        self.connection = engine.raw_connection()
        self.cursor = self.connection.cursor()
        self._statements: dict[str, str] = {}
        self._max_ids: dict[str, int] = {}
        self._restore_pragmas: list[str] = []
        if self.is_sqlite:
            # A crash mid-seeding loses at most demo data, so no fsyncs; the rows are
            # generated consistent (a test runs `PRAGMA foreign_key_check` on them), so no
            # per-row foreign-key lookups either. Both are restored on `close`.
            for pragma, value in (
                ("synchronous", "OFF"),
                ("cache_size", "-262144"),
                ("foreign_keys", "OFF"),
            ):
                old = self.scalar(f"PRAGMA {pragma}")
                self._restore_pragmas.append(f"PRAGMA {pragma}={old}")
                self.cursor.execute(f"PRAGMA {pragma}={value}")

    def begin(self) -> None:
        """Open a chunk's transaction, holding the locks its ids and numbers depend on."""
        if self.is_sqlite:
            self.cursor.execute("BEGIN IMMEDIATE")
        else:
            names = ", ".join(self.quote_table(table) for table in _SEEDED_TABLES)
            # Writers taking ids from the sequences wait until `commit` has moved them on.
            self.cursor.execute(f"LOCK TABLE {names} IN SHARE ROW EXCLUSIVE MODE")
        self._max_ids = {}

    def commit(self) -> None:
        mailboxes = self._max_ids.get(Mailbox.__tablename__)
        if mailboxes is not None:  # committed with the mailboxes it vouches for
            self.cursor.execute(
                "UPDATE counter SET value = ? WHERE name = ?".replace("?", self.placeholder),
                (mailboxes, DEMO_BOOK_COUNTER),
            )
            if not self.cursor.rowcount:
                self.cursor.execute(
                    "INSERT INTO counter (name, value) VALUES (?, ?)".replace(
                        "?", self.placeholder
                    ),
                    (DEMO_BOOK_COUNTER, mailboxes),
                )
        if not self.is_sqlite:
            for table, max_id in self._max_ids.items():
                self.cursor.execute(
                    "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", (table, max_id)
                )
        self.connection.commit()

    def suspend_search(self) -> None:
        """Stop keeping the word-search index row by row (in the first chunk's transaction)."""
        search_index.suspend_for_bulk(self.cursor, self.dialect.name)

    def restore_search(self) -> None:
        """After the last chunk, committed or not: index every row in one transaction."""
        self.connection.rollback()
        if self.is_sqlite:
            self.cursor.execute("BEGIN IMMEDIATE")
        else:
            self.cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        search_index.restore_after_bulk(self.cursor, self.dialect.name)
        self.connection.commit()

    def close(self) -> None:
        """Roll back whatever is not committed and give the connection back as it was."""
        try:
            self.connection.rollback()
            for statement in self._restore_pragmas:
                self.cursor.execute(statement)
        finally:
            self.connection.close()

    def quote_table(self, table: Table) -> str:
        return self.dialect.identifier_preparer.format_table(table)

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        self.cursor.execute(sql.replace("?", self.placeholder), params)
        row = self.cursor.fetchone()
        return row[0] if row else None

    def next_ids(self) -> dict[str, int]:
        return {
            table.name: self.scalar(
                f"SELECT COALESCE(MAX(id), 0) + 1 FROM {self.quote_table(table)}"
            )
            for table in _ID_TABLES
        }

    def next_order_number(self) -> int:
        lock = "" if self.is_sqlite else " FOR UPDATE"
        value: int = self.scalar(
            f"SELECT value FROM counter WHERE name = ?{lock}", (ORDER_NUMBER_COUNTER,)
        )
        return value + 1

    def check_unchanged(self, chunk: _Chunk) -> None:
        """Refuse to write `chunk` if its ids or order numbers were taken meanwhile."""
        if (
            self.next_ids() != chunk.first_ids
            or self.next_order_number() != chunk.first_order_number
        ):
            raise DatabaseChanged(
                _("Another terminal wrote to the database during seeding: stopped.")
            )

    def insert(self, table: Table, columns: Sequence[str], rows: list[_Row]) -> None:
        if not rows:
            return
        key = f"{table.name}:{','.join(columns)}"
        sql = self._statements.get(key)
        if sql is None:
            quote = self.dialect.identifier_preparer.quote
            sql = (
                f"INSERT INTO {self.quote_table(table)} ({', '.join(quote(c) for c in columns)}) "
                f"VALUES ({', '.join([self.placeholder] * len(columns))})"
            )
            self._statements[key] = sql
        self.cursor.executemany(sql, rows)
        if columns[0] == "id":
            top = max(row[0] for row in rows)
            self._max_ids[table.name] = max(self._max_ids.get(table.name, 0), top)

    def write_resellers(self, seed: int, today: date) -> list[int]:
        """The demo resellers with their initial credit, reusing any already present."""
        rng = random.Random(f"resellers-{seed}")
        created = _value_converters(self.dialect)[1](
            datetime.combine(today - timedelta(days=1200), time(9), UTC)
        )
        next_id = self.scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM reseller")
        next_credit_id = self.scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM credit_movement")
        ids: list[int] = []
        rows, credits = [], []
        for serial, (name, email) in enumerate(vocab.RESELLERS, start=1):
            vat = _partita_iva(serial, 1 + int(rng.random() * 100))
            credit = 50_000 + int(rng.random() * 40) * 50_000
            existing = self.scalar("SELECT id FROM reseller WHERE vat_number = ?", (vat,))
            if existing is not None:
                ids.append(existing)
                continue
            rows.append((next_id, name, vat, email, credit, created, 1))
            note = _("Initial top-up (demo data)")
            credits.append((next_credit_id, next_id, credit, credit, note, created))
            ids.append(next_id)
            next_id += 1
            next_credit_id += 1
        self.insert(Reseller.__table__, _RESELLER_COLUMNS, rows)
        self.insert(CreditMovement.__table__, _CREDIT_COLUMNS, credits)
        return ids

    def write(self, chunk: _Chunk) -> None:
        self.insert(Holder.__table__, _HOLDER_COLUMNS, chunk.holders)
        self.insert(Mailbox.__table__, _MAILBOX_COLUMNS, chunk.mailboxes)
        self.insert(Order.__table__, _ORDER_COLUMNS, chunk.orders)
        self.insert(OrderLine.__table__, _LINE_COLUMNS, chunk.lines)
        self.insert(Payment.__table__, _PAYMENT_COLUMNS, chunk.payments)
        self.insert(OpenRenewal.__table__, _OPEN_RENEWAL_COLUMNS, chunk.open_renewals)
        if chunk.next_order_number != chunk.first_order_number:
            self.cursor.execute(
                f"UPDATE counter SET value = {self.placeholder} WHERE name = {self.placeholder}",
                (chunk.next_order_number - 1, ORDER_NUMBER_COUNTER),
            )


# --- Generating ----------------------------------------------------------------------------------

_RESELLER_COLUMNS = ("id", "name", "vat_number", "email", "credit_cents", "created_at", "version")
_CREDIT_COLUMNS = ("id", "reseller_id", "amount_cents", "balance_after_cents", "note", "at")
_HOLDER_COLUMNS = (
    "id", "reseller_id", "kind", "first_name", "last_name", "company_name", "display_name",
    "codice_fiscale", "partita_iva", "street", "cap", "city", "province", "country",
    "reference_email", "phone", "sdi_code", "billing_pec", "pa_office_code", "cig", "cup",
    "split_payment", "created_at", "updated_at", "version",
)  # fmt: skip
_MAILBOX_COLUMNS = (
    "id", "address", "holder_id", "reseller_id", "plan", "expiry", "auto_renew",
    "renewal_years", "payment_method", "mailbox_used_mb", "archive_used_mb",
    "extra_mailbox_gb", "extra_archive_gb", "promo", "created_at", "version",
)  # fmt: skip
_ORDER_COLUMNS = (
    "id", "number", "type", "status", "holder_id", "reseller_id", "terminal", "created_at",
    "updated_at", "confirmed_at", "paid_at", "years", "payment_method", "auto_renew",
    "signature_kit", "net_cents", "vat_cents", "gross_cents", "consent_terms_at",
    "consent_terms_by", "consent_clauses_at", "consent_clauses_by", "consent_privacy_at",
    "consent_privacy_by", "auto_generated", "version",
)  # fmt: skip
_LINE_COLUMNS = (
    "id", "order_id", "mailbox_id", "address", "item", "description", "quantity", "years",
    "unit_cents", "total_cents", "plan", "previous_plan", "extra_mailbox_gb",
    "extra_archive_gb",
)  # fmt: skip
_PAYMENT_COLUMNS = (
    "id",
    "order_id",
    "amount_cents",
    "method",
    "paid_on",
    "reference",
    "registered_at",
)
_OPEN_RENEWAL_COLUMNS = ("mailbox_id", "order_id", "created_at")

_MONTH_CODES = "ABCDEHLMPRST"
_ALNUM = "ABCDEFGHIJKLMNPQRSTUVWXYZ0123456789"

# Holder kinds by cumulative share, and how many mailboxes each kind tends to hold:
# (cumulative share, fewest, most). About three mailboxes per holder overall.
_KINDS = (
    (0.40, HolderKind.PRIVATE),
    (0.62, HolderKind.PROFESSIONAL),
    (0.80, HolderKind.SOLE_TRADER),
    (0.97, HolderKind.COMPANY),
    (1.00, HolderKind.PUBLIC_ADMIN),
)
_MAILBOXES_PER_HOLDER = {
    HolderKind.PRIVATE: ((0.85, 1, 1), (1.0, 2, 2)),
    HolderKind.PROFESSIONAL: ((0.60, 1, 1), (0.90, 2, 2), (1.0, 3, 3)),
    HolderKind.SOLE_TRADER: ((0.55, 1, 1), (0.85, 2, 2), (1.0, 3, 3)),
    HolderKind.COMPANY: (
        (0.15, 1, 1),
        (0.30, 2, 2),
        (0.42, 3, 3),
        (0.72, 4, 8),
        (0.92, 9, 20),
        (1.0, 21, 60),
    ),  # fmt: skip
    HolderKind.PUBLIC_ADMIN: ((0.30, 2, 5), (0.80, 6, 20), (1.0, 21, 40)),
}
# Expiry in days from today by cumulative share: Cancellata, Sospesa, within three months
# (the renewal season the product is about), later.
_EXPIRY_OFFSETS = ((0.05, -200, -91), (0.13, -90, -1), (0.35, 0, 88), (1.0, 89, 1095))
_RESELLER_SHARES = (0.35, 0.60, 0.80, 0.92, 1.0)
# Enum values as plain strings: what the driver binds, and much cheaper in the hot loop.
_STANDARD, _PRO, _PREMIUM = Plan.STANDARD.value, Plan.PRO.value, Plan.PREMIUM.value
_PLAN_GB = {plan.value: (spec.mailbox_gb, spec.archive_gb) for plan, spec in PLANS.items()}
_CARD, _PAYPAL, _PREPAID_CREDIT, _BANK_TRANSFER, _POSTAL_SLIP = (
    PaymentMethod.CARD.value,
    PaymentMethod.PAYPAL.value,
    PaymentMethod.PREPAID_CREDIT.value,
    PaymentMethod.BANK_TRANSFER.value,
    PaymentMethod.POSTAL_SLIP.value,
)
_PURCHASE, _RENEWAL = OrderType.PURCHASE.value, OrderType.RENEWAL.value
_PAID, _AWAITING_PAYMENT = OrderStatus.PAID.value, OrderStatus.AWAITING_PAYMENT.value
_KITS = tuple(kit.value for kit in SignatureKit)
_KIND_VALUES = {kind: kind.value for kind in HolderKind}
# An order covers at most this many of a holder's mailboxes.
_MAX_MAILBOXES_PER_ORDER = 10
_mailbox_expiry = itemgetter(_MAILBOX_COLUMNS.index("expiry"))


@dataclass(frozen=True, slots=True)
class _Name:
    text: str
    slug: str  # lower-case ASCII letters only, for e-mail addresses
    code: str  # its three letters in the codice fiscale


@dataclass(frozen=True, slots=True)
class _Comune:
    name: str
    province: str
    code: str
    cap: str
    slug: str


@dataclass(slots=True)
class _Box:
    """A generated mailbox, as the orders of its holder need it."""

    id: int
    address: str
    plan: str
    extra_mailbox_gb: int
    extra_archive_gb: int
    expiry: int  # days from today
    activated: int  # days from today
    auto_renew: bool
    promo: bool


@dataclass(frozen=True, slots=True)
class _QuotedOrder:
    """An order's amounts and lines priced by `quote`, lines keyed by mailbox position."""

    lines: tuple[tuple[int | None, str, str, int, int, int, int, bool], ...]
    net_cents: int
    vat_cents: int
    gross_cents: int


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in ascii_text.lower() if "a" <= ch <= "z")


@cache
def _vocabulary() -> tuple[
    tuple[_Name, ...], tuple[_Name, ...], tuple[_Name, ...], tuple[_Comune, ...]
]:
    """First names (male, female), surnames and comuni, with their codice fiscale parts."""
    males = tuple(_Name(n, _slug(n), encode_firstname(n)) for n in vocab.MALE_FIRST_NAMES)
    females = tuple(_Name(n, _slug(n), encode_firstname(n)) for n in vocab.FEMALE_FIRST_NAMES)
    surnames = tuple(_Name(n, _slug(n), encode_lastname(n)) for n in vocab.SURNAMES)
    comuni = tuple(_Comune(*c, slug=_slug(c[0])) for c in vocab.COMUNI)
    return males, females, surnames, comuni


def _pick(rng: random.Random, table: Sequence[_Row]) -> _Row:
    """The row of a (cumulative share, ...) table a uniform draw falls into."""
    r = rng.random()
    for row in table:
        if r < row[0]:
            return row
    return table[-1]


class _DemoData:
    """Generates the rows chunk after chunk; one instance per run keeps uniqueness state."""

    def __init__(self, plan: _SeedPlan) -> None:
        self.rng = random.Random(plan.seed)
        self.today = plan.today
        self.prices = plan.prices
        self.resellers = plan.resellers
        self.males, self.females, self.surnames, self.comuni = _vocabulary()
        self._address_uses: dict[str, int] = {}
        self._personal_codes: set[str] = set()
        self._vat_serial = len(vocab.RESELLERS)  # the first serials went to the resellers
        self._public_serial = 0
        self._quotes: dict[tuple[Any, ...], _QuotedOrder] = {}
        self._day_cache: dict[int, Any] = {}
        self._stamp_cache: dict[int, Any] = {}
        dialect = make_url(f"{plan.drivername}://").get_dialect()()
        self._to_date, self._to_stamp = _value_converters(dialect)
        # What an order line says, in the language of the seeding run.
        self._descriptions = {
            **{
                PriceItem.for_plan(plan): _("PEC mailbox {plan}").format(plan=plan.value)
                for plan in Plan
            },
            PriceItem.EXTRA_MAILBOX_GB: label(PriceItem.EXTRA_MAILBOX_GB),
            PriceItem.EXTRA_ARCHIVE_GB: label(PriceItem.EXTRA_ARCHIVE_GB),
            **{PriceItem.for_kit(kit): label(kit) for kit in SignatureKit},
        }
        ids = plan.first_ids
        self.holder_id = ids[Holder.__tablename__]
        self.mailbox_id = ids[Mailbox.__tablename__]
        self.order_id = ids[Order.__tablename__]
        self.line_id = ids[OrderLine.__tablename__]
        self.payment_id = ids[Payment.__tablename__]
        self.order_number = plan.first_order_number

    # Dates and times as the driver wants them, computed once per distinct value.

    def day(self, offset: int) -> Any:
        value = self._day_cache.get(offset)
        if value is None:
            value = self._to_date(self.today + timedelta(days=offset))
            self._day_cache[offset] = value
        return value

    def stamp(self, offset: int, hour: int) -> Any:
        key = offset * 24 + hour
        value = self._stamp_cache.get(key)
        if value is None:
            moment = datetime.combine(self.today + timedelta(days=offset), time(hour), UTC)
            value = self._to_stamp(moment)
            self._stamp_cache[key] = value
        return value

    # Tax codes: valid check characters, never two holders with the same code.

    def partita_iva(self) -> str:
        self._vat_serial += 1
        return _partita_iva(self._vat_serial, 1 + int(self.rng.random() * 100))

    def public_codice_fiscale(self) -> str:
        """The 11-digit codice fiscale of a public body (they start with 8 or 9)."""
        self._public_serial += 1
        stem = f"8{(self._public_serial * 100_003) % 999_999:06d}{1 + int(self.rng.random() * 100):03d}"
        return stem + luhn.calc_check_digit(stem)

    def personal_codice_fiscale(self, first: _Name, last: _Name, female: bool) -> str:
        r = self.rng.random
        born = self.today.toordinal() - 18 * 365 - int(r() * 67 * 365)
        place = self.comuni[int(r() * len(self.comuni))].code
        while True:
            birth = date.fromordinal(born)
            day = birth.day + 40 if female else birth.day
            body = f"{last.code}{first.code}{birth.year % 100:02d}{_MONTH_CODES[birth.month - 1]}{day:02d}{place}"
            code = body + stdnum_cf.calc_check_digit(body)
            if code not in self._personal_codes:
                self._personal_codes.add(code)
                return code
            born -= 1  # a namesake born the same day in the same place: another day

    def code(self, length: int, first: str = "") -> str:
        r = self.rng.random
        return first + "".join(_ALNUM[int(r() * 35)] for _ in range(length - len(first)))

    def address(self, local: str, domain: str) -> str:
        """A unique address: `local@domain`, then `local2@domain`, `local3@domain`, ...

        Local parts never end in a digit, so a numbered one cannot meet another's plain one.
        """
        key = f"{local[:58].strip('.')}@{domain}"
        uses = self._address_uses.get(key, 0) + 1
        self._address_uses[key] = uses
        if uses == 1:
            return key
        at = key.index("@")
        return f"{key[:at]}{uses}{key[at:]}"

    # Rows.

    def chunk(self, target: int, remaining: int) -> _Chunk:
        """Holders with all their mailboxes and orders: at least `target` mailboxes.

        A chunk ends after a whole holder, so chunk sizes never change the data; only the
        last holder of the run is cut to the `remaining` mailboxes.
        """
        first_ids = {
            Holder.__tablename__: self.holder_id,
            Mailbox.__tablename__: self.mailbox_id,
            Order.__tablename__: self.order_id,
            OrderLine.__tablename__: self.line_id,
            Payment.__tablename__: self.payment_id,
        }
        first_order_number = self.order_number
        self.holders: list[_Row] = []
        self.mailboxes: list[_Row] = []
        self.orders: list[_Row] = []
        self.lines: list[_Row] = []
        self.payments: list[_Row] = []
        self.open_renewals: list[_Row] = []
        r = self.rng.random
        written = 0
        while written < target:
            kind = _pick(self.rng, _KINDS)[1]
            _, fewest, most = _pick(self.rng, _MAILBOXES_PER_HOLDER[kind])
            count = min(fewest + int(r() * (most - fewest + 1)), remaining - written)
            share = r()
            reseller = next(
                i for i, cumulative in enumerate(_RESELLER_SHARES) if share < cumulative
            )
            self.holder(kind, self.resellers[reseller], count)
            written += count
        # In expiry order the two expiry indexes grow at few places at a time: the writer,
        # the slower of the two processes, inserts them about 15% faster.
        self.mailboxes.sort(key=_mailbox_expiry)
        return _Chunk(
            self.holders,
            self.mailboxes,
            self.orders,
            self.lines,
            self.payments,
            self.open_renewals,
            written,
            first_ids,
            first_order_number,
            self.order_number,
        )

    def holder(self, kind: HolderKind, reseller_id: int, mailboxes: int) -> None:
        """One holder of `kind` with `mailboxes` mailboxes and some past orders."""
        r = self.rng.random
        home = self.comuni[int(r() * len(self.comuni))]
        street = f"{vocab.STREETS[int(r() * len(vocab.STREETS))]} {1 + int(r() * 180)}"
        domain = vocab.PEC_DOMAINS[int(r() * len(vocab.PEC_DOMAINS))]
        provider = vocab.MAIL_PROVIDERS[int(r() * len(vocab.MAIL_PROVIDERS))]
        phone = f"3{int(r() * 1_000_000_000):09d}" if r() < 0.6 else None
        first_name = last_name = company = partita_iva = None
        pa_office = cig = cup = None
        codice_fiscale: str | None
        if kind is HolderKind.PUBLIC_ADMIN:
            body_name, body_slug = vocab.PUBLIC_BODIES[int(r() * len(vocab.PUBLIC_BODIES))]
            company = display = body_name.format(city=home.name)
            organisation = body_slug.format(city=home.slug)
            primary = f"protocollo.{organisation}"
            email = f"protocollo@{organisation}.it"
            codice_fiscale = self.public_codice_fiscale()
            partita_iva = self.partita_iva() if r() < 0.4 else None
            pa_office = self.code(6)
            cig = self.code(10, "Z") if r() < 0.3 else None
            cup = self.code(15, "J") if r() < 0.05 else None
            surname = self.surnames[int(r() * len(self.surnames))]
        elif kind is HolderKind.COMPANY:
            surname = self.surnames[int(r() * len(self.surnames))]
            sector = vocab.SECTORS[int(r() * len(vocab.SECTORS))][0]
            legal_form = vocab.LEGAL_FORMS[int(r() * len(vocab.LEGAL_FORMS))][0]
            if r() < 0.7:
                company = f"{surname.text} {sector} {legal_form}"
            else:
                partner = self.surnames[int(r() * len(self.surnames))]
                company = f"{surname.text} & {partner.text} {legal_form}"
            display = company
            organisation = _slug(company)
            primary = organisation
            email = f"info@{organisation}.it"
            partita_iva = self.partita_iva()
            # Most companies' codice fiscale is their partita IVA; it is optional here.
            codice_fiscale = partita_iva if r() < 0.7 else None
        else:
            female = r() < 0.48
            firsts = self.females if female else self.males
            first = firsts[int(r() * len(firsts))]
            surname = self.surnames[int(r() * len(self.surnames))]
            first_name, last_name = first.text, surname.text
            codice_fiscale = self.personal_codice_fiscale(first, surname, female)
            u = r()
            if u < 0.5:
                primary = f"{first.slug}.{surname.slug}"
            elif u < 0.7:
                primary = f"{first.slug}{surname.slug}"
            elif u < 0.85:
                primary = f"{first.slug[0]}.{surname.slug}"
            else:
                primary = f"{surname.slug}.{first.slug}"
            email = f"{first.slug}.{surname.slug}@{provider}"
            display = f"{first.text} {surname.text}"
            organisation = None
            if kind is HolderKind.PROFESSIONAL:
                male_title, female_title, title_slug = vocab.PROFESSIONAL_TITLES[
                    int(r() * len(vocab.PROFESSIONAL_TITLES))
                ]
                display = f"{female_title if female else male_title} {display}"
                organisation = f"studio{surname.slug}"
                if r() < 0.5:
                    primary = f"{title_slug}.{first.slug}.{surname.slug}"
                partita_iva = self.partita_iva()
            elif kind is HolderKind.SOLE_TRADER:
                sector, sector_slug = vocab.SECTORS[int(r() * len(vocab.SECTORS))]
                company = display = f"{sector} di {first.text} {surname.text}"
                organisation = f"{sector_slug}{surname.slug}"
                if r() < 0.6:
                    primary = organisation
                email = f"info@{organisation}.it"
                partita_iva = self.partita_iva()

        holder_id = self.holder_id
        self.holder_id += 1
        boxes = self.mailboxes_of(
            holder_id, reseller_id, kind, primary, organisation, surname, domain, mailboxes
        )
        sdi_code = billing_pec = None
        if kind.is_business:
            if r() < 0.35:
                sdi_code, billing_pec = SDI_PEC_CODE, boxes[0].address
            else:
                sdi_code = self.code(7)
        created = self.stamp(boxes[0].activated, 8)
        self.holders.append(
            (
                holder_id,
                reseller_id,
                _KIND_VALUES[kind],
                first_name,
                last_name,
                company,
                display,
                codice_fiscale,
                partita_iva,
                street,
                home.cap,
                home.name,
                home.province,
                "IT",
                email,
                phone,
                sdi_code,
                billing_pec,
                pa_office,
                cig,
                cup,
                kind is HolderKind.PUBLIC_ADMIN,
                created,
                created,
                1,
            )
        )
        self.orders_for(holder_id, reseller_id, display, boxes)

    def mailboxes_of(
        self,
        holder_id: int,
        reseller_id: int,
        kind: HolderKind,
        primary: str,
        organisation: str | None,
        surname: _Name,
        domain: str,
        count: int,
    ) -> list[_Box]:
        """The holder's mailboxes: the main one, then offices (organisations) or people.

        The hot loop of seeding: plain strings rather than enum members, locals for lookups.
        """
        r = self.rng.random
        append = self.mailboxes.append
        day, days = self.day, self._day_cache
        stamp = self.stamp
        males, females, surnames = self.males, self.females, self.surnames
        departments = vocab.DEPARTMENTS
        private = kind is HolderKind.PRIVATE
        offices_only = kind is HolderKind.PUBLIC_ADMIN
        boxes: list[_Box] = []
        for position in range(count):
            if position == 0:
                local = primary
            elif organisation is not None and (offices_only or r() < 0.5):
                local = f"{departments[int(r() * len(departments))]}.{organisation}"
            else:
                # A family member of a private person, an employee of anyone else.
                firsts = females if r() < 0.5 else males
                first = firsts[int(r() * len(firsts))]
                last = surname if private else surnames[int(r() * len(surnames))]
                local = f"{first.slug}.{last.slug}"
            if r() >= 0.9:
                domain = vocab.PEC_DOMAINS[int(r() * len(vocab.PEC_DOMAINS))]
            address = self.address(local, domain)

            u = r()
            if u < 0.68:
                plan, extra_mailbox, extra_archive = _STANDARD, 1 if r() < 0.12 else 0, 0
            else:
                plan = _PRO if u < 0.92 else _PREMIUM
                u = r()
                extra_mailbox = 0 if u < 0.7 else 1 + int(r() * 2) if u < 0.9 else 3 + int(r() * 8)
                u = r()
                extra_archive = (
                    0 if u < 0.8 else 1 + int(r() * 5) if u < 0.95 else 6 + int(r() * 15)
                )
            mailbox_gb, archive_gb = _PLAN_GB[plan]
            # Most mailboxes are far from full; a few are about to be.
            fill = 0.9 + 0.1 * r() if r() < 0.06 else 0.85 * r() ** 2
            used = int((mailbox_gb + extra_mailbox) * MB_PER_GB * fill)
            archive_used = (
                int((archive_gb + extra_archive) * MB_PER_GB * 0.9 * r() ** 2) if archive_gb else 0
            )

            _, earliest, latest = _pick(self.rng, _EXPIRY_OFFSETS)
            expiry = earliest + int(r() * (latest - earliest + 1))
            # Activated a whole number of years before expiry, at least a year ago.
            activated = expiry - 365 * (max(1, expiry // 365 + 1) + (1 if r() < 0.4 else 0))
            promo = r() < 0.05
            auto_renew = r() < 0.25
            if auto_renew:
                u = r()
                years = 1 if u < 0.6 else 2 if u < 0.8 else 3 if u < 0.92 else 5
                if promo:
                    years = min(years, 2)
                u = r()
                method = _CARD if u < 0.5 else _PAYPAL if u < 0.75 else _PREPAID_CREDIT
            else:
                years, method = 1, None

            mailbox_id = self.mailbox_id
            self.mailbox_id += 1
            append(
                (
                    mailbox_id,
                    address,
                    holder_id,
                    reseller_id,
                    plan,
                    days.get(expiry) or day(expiry),
                    auto_renew,
                    years,
                    method,
                    used,
                    archive_used,
                    extra_mailbox,
                    extra_archive,
                    promo,
                    stamp(activated, 8 + int(r() * 10)),
                    1,
                )
            )
            boxes.append(
                _Box(
                    mailbox_id,
                    address,
                    plan,
                    extra_mailbox,
                    extra_archive,
                    expiry,
                    activated,
                    auto_renew,
                    promo,
                )
            )
        return boxes

    def orders_for(
        self, holder_id: int, reseller_id: int, holder_name: str, boxes: list[_Box]
    ) -> None:
        """A past purchase, a paid renewal, an unpaid renewal: each for some holders only."""
        r = self.rng.random
        if r() < 0.30:
            # Bought when the first mailbox was activated, for the years up to its expiry.
            bought = boxes[:_MAX_MAILBOXES_PER_ORDER]
            first = bought[0]
            years = min((first.expiry - first.activated) // 365, MAX_YEARS)
            if any(box.promo for box in bought):
                years = min(years, MAX_PROMO_YEARS)
            kit = _KITS[int(r() * len(_KITS))] if r() < 0.05 else None
            self.order(
                _PURCHASE, _PAID, holder_id, reseller_id, holder_name, bought, years,
                self.paid_method(), first.activated, kit,
            )  # fmt: skip
        if r() < 0.18:
            live = [box for box in boxes if box.expiry >= -90][:_MAX_MAILBOXES_PER_ORDER]
            if live:
                self.order(
                    _RENEWAL, _PAID, holder_id, reseller_id, holder_name, live,
                    1 if r() < 0.7 else 2, self.paid_method(), -(1 + int(r() * 330)),
                )  # fmt: skip
        if r() < 0.12:
            # Renewable (auto-renew off, not Cancellata) and due: confirmed, waiting for payment.
            due = [box for box in boxes if -90 <= box.expiry <= 60 and not box.auto_renew][:5]
            if due:
                method = _BANK_TRANSFER if r() < 0.7 else _POSTAL_SLIP
                self.order(
                    _RENEWAL, _AWAITING_PAYMENT, holder_id, reseller_id, holder_name, due, 1,
                    method, -int(r() * 14),
                )  # fmt: skip

    def paid_method(self) -> str:
        u = self.rng.random()
        if u < 0.45:
            return _CARD
        if u < 0.65:
            return _PAYPAL
        return _BANK_TRANSFER if u < 0.9 else _POSTAL_SLIP

    def order(
        self,
        order_type: str,
        status: str,
        holder_id: int,
        reseller_id: int,
        holder_name: str,
        boxes: list[_Box],
        years: int,
        method: str,
        created: int,
        kit: str | None = None,
    ) -> None:
        """A confirmed order with its number, lines, and payment or open-renewal rows."""
        r = self.rng.random
        priced = self.priced(boxes, years, kit)
        order_id, number = self.order_id, self.order_number
        self.order_id += 1
        self.order_number += 1
        hour = 8 + int(r() * 11)
        created_at = self.stamp(created, hour)
        paid = status == _PAID
        paid_day = min(0, created + int(r() * 4))  # a transfer takes a few days to arrive
        paid_at = self.stamp(paid_day, hour + 1) if paid else None
        accepted_by = holder_name[:100]
        self.orders.append(
            (
                order_id,
                number,
                order_type,
                status,
                holder_id,
                reseller_id,
                DEMO_TERMINAL,
                created_at,
                paid_at or created_at,
                created_at,
                paid_at,
                years,
                method,
                boxes[0].auto_renew,
                kit,
                priced.net_cents,
                priced.vat_cents,
                priced.gross_cents,
                created_at,
                accepted_by,
                created_at,
                accepted_by,
                created_at,
                accepted_by,
                False,
                1,
            )  # fmt: skip
        )
        renewal = order_type == _RENEWAL
        append = self.lines.append
        for position, item, description, quantity, line_years, unit, total, is_plan in priced.lines:
            if position is None:  # the signature kit
                mailbox_id = address = plan = None
                extra_mailbox = extra_archive = 0
            else:
                box = boxes[position]
                mailbox_id, address = box.id, box.address
                if is_plan:
                    plan, extra_mailbox, extra_archive = (
                        box.plan, box.extra_mailbox_gb, box.extra_archive_gb,
                    )  # fmt: skip
                else:
                    plan, extra_mailbox, extra_archive = None, 0, 0
            append(
                (
                    self.line_id,
                    order_id,
                    mailbox_id,
                    address,
                    item,
                    description,
                    quantity,
                    line_years,
                    unit,
                    total,
                    plan,
                    plan if renewal else None,
                    extra_mailbox,
                    extra_archive,
                )  # fmt: skip
            )
            self.line_id += 1
        if paid:
            self.payments.append(
                (
                    self.payment_id,
                    order_id,
                    priced.gross_cents,
                    method,
                    self.day(paid_day),
                    str(number),
                    paid_at,
                )  # fmt: skip
            )
            self.payment_id += 1
        else:
            self.open_renewals.extend((box.id, order_id, created_at) for box in boxes)

    def priced(self, boxes: list[_Box], years: int, kit: str | None) -> _QuotedOrder:
        """The order priced by `quote`, remembered: most orders look like many others."""
        key = (years, kit, tuple((b.plan, b.extra_mailbox_gb, b.extra_archive_gb) for b in boxes))
        priced = self._quotes.get(key)
        if priced is None:
            choices = [
                # The position stands in for the mailbox id, so lines find their mailbox.
                MailboxChoice("", Plan(plan), extra_mailbox, extra_archive, mailbox_id=position)
                for position, (plan, extra_mailbox, extra_archive) in enumerate(key[2])
            ]
            q = quote(self.prices, choices, years, SignatureKit(kit) if kit else None)
            lines = tuple(
                (
                    line.mailbox_id,
                    line.item.value,
                    self._descriptions[line.item],
                    line.quantity,
                    line.years,
                    to_cents(line.unit),
                    to_cents(line.total),
                    line.item.value in _PLAN_GB,
                )  # fmt: skip
                for line in q.lines
            )
            priced = _QuotedOrder(lines, to_cents(q.net), to_cents(q.vat), to_cents(q.gross))
            self._quotes[key] = priced
        return priced
