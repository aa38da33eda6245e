"""Mailbox queries for the mailbox table: filter, count, keyset/offset pages, selection.

Everything here is scoped to the actor (reseller or kiosk holder) and selects only the
columns a table row shows, so a million mailboxes never become a million Python objects.
"""

from __future__ import annotations

import re
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any, Literal, TypeAlias

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Connection,
    Engine,
    Select,
    and_,
    case,
    exists,
    false,
    func,
    literal_column,
    select,
    table,
    text,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.sql.operators import custom_op

from pec_tui.collector import gc_paused
from pec_tui.db import search_index
from pec_tui.db.batches import driver_rows, in_ids
from pec_tui.db.models import Holder, Mailbox, OpenRenewal, Order
from pec_tui.domain.enums import MailboxState, Plan
from pec_tui.domain.lifecycle import (
    SUSPENSION_DAYS,
    add_months,
    expiring_within,
    expiry_bounds_for_state,
)
from pec_tui.domain.records import MailboxRow
from pec_tui.services.actor import Actor
from pec_tui.services.scope import audit_denials, check_owned, not_found_message

SortKey = Literal["expiry", "address"]
# Where a keyset page starts: (expiry, id) when sorting by expiry, (address, id) by address.
Cursor = tuple[Any, int]

DEFAULT_PAGE_SIZE = 100
# Explicit selections are checked against the database in chunks of this many ids.
_ID_CHUNK = 500

_m = Mailbox.__table__.c
_h = Holder.__table__.c
_search = search_index.search_table
_r = OpenRenewal.__table__.c
_o = Order.__table__.c

_ROW_COLUMNS = (
    _m.id,
    _m.address,
    _m.holder_id,
    _h.display_name,
    _m.plan,
    _m.expiry,
    _m.auto_renew,
    _m.mailbox_used_mb,
    _m.archive_used_mb,
    _m.extra_mailbox_gb,
    _m.extra_archive_gb,
    _m.promo,
    _m.reseller_id,
    _m.renewal_years,
    _m.payment_method,
    # The open order holding the mailbox: read for the page's rows only (a correlated
    # subquery on open_renewal's primary key, then the order's).
    select(_o.number)
    .select_from(OpenRenewal.__table__.join(Order.__table__, _o.id == _r.order_id))
    .where(_r.mailbox_id == _m.id)
    .scalar_subquery()
    .label("open_order"),
)

_CF_RE = re.compile(
    r"[A-Z]{6}[0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]"
)
_DIGITS11_RE = re.compile(r"(IT)?[0-9]{11}")

# Any SELECT, whatever its columns.
AnySelect: TypeAlias = "Select[*tuple[Any, ...]]"


@dataclass(frozen=True)
class MailboxFilter:
    """What the mailbox table shows: search text, state, sort order, expiry window, holder."""

    search: str = ""
    state: MailboxState | None = None
    sort: SortKey = "expiry"
    expiring_within_months: int | None = None
    holder_id: int | None = None
    # The dashboard's drill-down: mailboxes expiring in the month starting on this day.
    expiry_month: date | None = None
    # Administrators and back office: one reseller's book only.
    reseller_id: int | None = None

    def with_(self, **changes: Any) -> MailboxFilter:
        return replace(self, **changes)


# --- How a filter becomes SQL -------------------------------------------------------------
#
# A filter becomes one or more "arms": disjoint sets of rows, each reachable through one
# index. A name search has two (address starts with the text; holder's name starts with
# it), merged by UNION ALL so that each keeps its own plan. For each arm SQLite is told how
# to run it, because it has no statistics to choose by itself (PostgreSQL's planner does):
# "scan" walks the index in table order and tests each row (good when many rows match),
# "lookup" finds the matches through the search index and sorts them (good when few do).
# The unwanted index is hidden by writing its column as an expression (`+col`).

Strategy = Literal["scan", "lookup"]
ArmKind = Literal["all", "address", "holder"]


def _next_prefix(prefix: str) -> str:
    """The smallest string greater than every string starting with `prefix`."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _starts_with(column: Any, prefix: str) -> ColumnElement[bool]:
    """Exact prefix test under any collation (a range alone is exact only in binary order)."""
    test: ColumnElement[bool] = column.like(_escape_like(prefix) + "%", escape="\\")
    return test


def _prefix_range(column: Any, prefix: str, ranges: bool = True) -> ColumnElement[bool]:
    """`column` starts with `prefix`, written as an index range when `ranges` allows."""
    if not ranges:
        return _starts_with(column, prefix)
    return and_(column >= prefix, column < _next_prefix(prefix), _starts_with(column, prefix))


_BYTE_ORDER_COLLATIONS = {"c", "posix", "c.utf-8", "c.utf8", "ucs_basic"}
_byte_order: weakref.WeakKeyDictionary[Engine, bool] = weakref.WeakKeyDictionary()


def _ranges_exact(engine: Engine) -> bool:
    """Whether text sorts in byte order, so that a prefix is exactly a range of the index.

    True on SQLite. On PostgreSQL only with a C collation: under a language's collation
    ("en_US.UTF-8") punctuation is ignored at first, so `mario.rossi` can sort after
    `mario/`, the end of the range for `mario.`; there the prefix is matched with LIKE
    alone (correct, but not through the index).
    """
    if engine.dialect.name == "sqlite":
        return True
    known = _byte_order.get(engine)
    if known is None:
        known = False
        if engine.dialect.name == "postgresql":
            with engine.connect() as connection:
                collation = connection.execute(
                    text("SELECT datcollate FROM pg_database WHERE datname = current_database()")
                ).scalar()
            known = str(collation).lower() in _BYTE_ORDER_COLLATIONS
        _byte_order[engine] = known
    return known


@dataclass(frozen=True)
class _Search:
    """A search text resolved into what it can match."""

    # Fewer characters than a word: the start of an address (see `_parse_search`).
    address_prefix: str | None = None
    tax_code: str | None = None  # codice fiscale or partita IVA, matched exactly
    # A word search: the text (as typed, spaces normalised) anywhere in the address or the
    # holder's name, whatever the case and accents. Set when it has `MIN_WORD` characters.
    word: str | None = None
    in_names: bool = True  # False when the text has an @: only addresses can match


def _parse_search(text: str) -> _Search | None:
    text = " ".join(text.split())
    if not text:
        return None
    compact = text.upper().replace(" ", "")
    if _CF_RE.fullmatch(compact):
        return _Search(tax_code=compact)
    if _DIGITS11_RE.fullmatch(compact):
        return _Search(tax_code=compact.removeprefix("IT"))
    if len(search_index.fold(text)) >= search_index.MIN_WORD:
        return _Search(word=text, in_names="@" not in text)
    # One or two characters, typed on the way to a word: the start of an address, which an
    # index counts and walks in order. The start of a holder's name would have to be
    # followed from each holder to their mailboxes (92,000 rows for "ma" at a million
    # mailboxes: 0.3-0.7 s); names are searched from the third character.
    return _Search(address_prefix=text.lower())


def _fts_matches(query: str) -> AnySelect:
    """Ids of the mailboxes whose `search_words` row (SQLite) matches the FTS5 `query`."""
    index = table(search_index.SQLITE_FTS, literal_column("rowid"))
    return (
        select(literal_column("rowid"))
        .select_from(index)
        .where(literal_column(search_index.SQLITE_FTS).op("MATCH")(query))
    )


def _fts_query(word: str, in_names: bool = True, in_address: bool = True) -> str:
    """The FTS5 query finding `word` in the address and/or the holder's name: the address is
    indexed as written (case folded by the tokenizer), so the text as typed is tried too."""
    phrases = " OR ".join(
        search_index.fts_phrase(p) for p in dict.fromkeys((search_index.fold(word), word.lower()))
    )
    name = search_index.fts_phrase(search_index.fold(word))
    parts = ([f"address : ({phrases})"] if in_address else []) + (
        [f"name : {name}"] if in_names else []
    )
    return " OR ".join(f"({part})" for part in parts)


def _like_pattern(word: str) -> str:
    return "%" + _escape_like(word) + "%"


def _contains(column: Any, word: str) -> ColumnElement[bool]:
    """`column` holds `word`, folded alike (the column's text already folded)."""
    test: ColumnElement[bool] = column.like(func.pec_fold(_like_pattern(word)), escape="\\")
    return test


def _search_part(part: int) -> Any:
    """PostgreSQL: the folded address (1) or holder's name (2) in `mailbox_search.words`."""
    return func.split_part(_search.c.words, search_index.WORDS_SEPARATOR, part)


def _in_search_words(word: str, part: int | None = None) -> ColumnElement[bool]:
    """PostgreSQL: the mailbox's words (`part` of them only, if given) hold `word`. The
    trigram index finds the rows by the whole text; the part is tested on those alone."""
    test = _contains(_search.c.words, word)
    return test if part is None else and_(test, _contains(_search_part(part), word))


def _word_ids(
    engine: Engine, word: str, *, in_address: bool = True, in_names: bool = True
) -> AnySelect:
    """Ids of the mailboxes whose address and/or holder's name holds `word`, by the search
    index: SQLite's `search_words`, PostgreSQL's `mailbox_search`."""
    if engine.dialect.name == "sqlite":
        return _fts_matches(_fts_query(word, in_address=in_address, in_names=in_names))
    part = None if in_address and in_names else 1 if in_address else 2
    return select(_search.c.id).where(_in_search_words(word, part=part))


def _holder_ids(
    actor: Actor, tax_code: str, reseller_id: int | None = None
) -> AnySelect | CompoundSelect[*tuple[Any, ...]]:
    """Ids of the actor's holders with this codice fiscale (or partita IVA)."""
    scope: list[ColumnElement[bool]] = []
    if actor.reseller_id is not None:
        scope.append(_h.reseller_id == actor.reseller_id)
    if reseller_id is not None:
        scope.append(_h.reseller_id == reseller_id)
    if actor.holder_id is not None:
        scope.append(_h.id == actor.holder_id)
    # A company's or public body's codice fiscale has 11 digits, like a partita IVA.
    matches = [_h.codice_fiscale == tax_code]
    if tax_code.isdigit():
        matches.append(_h.partita_iva == tax_code)
    arms = [select(_h.id).where(match, *scope) for match in matches]
    return arms[0] if len(arms) == 1 else union_all(*arms)


def _scope(actor: Actor) -> list[ColumnElement[bool]]:
    """What the actor may see: its reseller's mailboxes, or a kiosk holder's own."""
    conditions: list[ColumnElement[bool]] = []
    if actor.reseller_id is not None:
        conditions.append(_m.reseller_id == actor.reseller_id)
    if actor.holder_id is not None:
        conditions.append(_m.holder_id == actor.holder_id)
    return conditions


def _expiry_range(flt: MailboxFilter, today: date) -> tuple[date | None, date | None]:
    low: date | None = None
    high: date | None = None
    bounds: list[tuple[date | None, date | None]] = []
    if flt.state is not None:
        bounds.append(expiry_bounds_for_state(flt.state, today))
    if flt.expiring_within_months is not None:
        bounds.append(expiring_within(today, flt.expiring_within_months))
    if flt.expiry_month is not None:
        first = flt.expiry_month.replace(day=1)
        bounds.append((first, add_months(first, 1) - timedelta(days=1)))
    for lo, hi in bounds:
        if lo is not None:
            low = lo if low is None else max(low, lo)
        if hi is not None:
            high = hi if high is None else min(high, hi)
    return low, high


def _arm_kinds(flt: MailboxFilter) -> tuple[ArmKind, ...]:
    search = _parse_search(flt.search)
    if search is None:
        return ("all",)
    kinds: list[ArmKind] = []
    if search.address_prefix is not None or search.word is not None:
        kinds.append("address")
    names = search.word is not None and search.in_names
    if search.tax_code is not None or names:
        kinds.append("holder")
    return tuple(kinds)


def _hidden(column: Any) -> Any:
    """`+column`: the same value, but SQLite will not use an index on it for this term."""
    return UnaryExpression(column, operator=custom_op("+"), type_=column.type)


@dataclass(frozen=True)
class _Arm:
    """One arm as SQL: the sort column (as written for this arm), its range, other conditions.

    Keyset pages keep only the far end of the sort-column range (PERFORMANCE.md: keeping
    the near end makes SQLite walk from it again on every page). With several arms the
    cursor may come from another arm and lie before this arm's range: then the range alone
    is the condition, or SQLite would walk from the cursor instead.
    """

    name: str  # of the sort column: "expiry" or "address"
    column: Any  # the sort column, possibly hidden from the index
    low: Any
    high: Any
    high_inclusive: bool
    others: tuple[ColumnElement[bool], ...]
    # Python compares sort keys as the database orders them (dates; text on SQLite only:
    # PostgreSQL may sort text by a locale's collation).
    python_order: bool = True

    def wholly_after(self, key: Any) -> bool:
        """Every row of this arm sorts after `key` (a cursor taken from another arm)."""
        return self.python_order and self.low is not None and key < self.low

    def wholly_before(self, key: Any) -> bool:
        """Every row of this arm sorts before `key`."""
        if not self.python_order or self.high is None:
            return False
        return bool(key > self.high if self.high_inclusive else key >= self.high)

    def range(self, low: bool = True, high: bool = True) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if low and self.low is not None:
            conditions.append(self.column >= self.low)
        if high and self.high is not None:
            conditions.append(
                self.column <= self.high if self.high_inclusive else self.column < self.high
            )
        return conditions


def _arm(
    engine: Engine,
    actor: Actor,
    flt: MailboxFilter,
    today: date,
    kind: ArmKind,
    strategy: Strategy,
) -> _Arm | None:
    """The SQL of one arm; None when the filter excludes every row."""
    exp_low, exp_high = _expiry_range(flt, today)
    if exp_low is not None and exp_high is not None and exp_low > exp_high:
        return None
    search = _parse_search(flt.search)
    prefix = search.address_prefix if search is not None else None
    word = search.word if search is not None else None

    # Which index should lead: the sort order's, the search's, or the holder's.
    if actor.holder_id is not None or flt.holder_id is not None:
        driver = "holder"  # a holder has few mailboxes: fetch them, then sort
    elif kind == "all" or (kind == "address" and flt.sort == "address" and word is None):
        driver = "order"
    else:
        driver = "order" if strategy == "scan" else "search"
    steer = engine.dialect.name == "sqlite"

    def visible(column: Any, when: bool) -> Any:
        return column if when or not steer else _hidden(column)

    # The reseller leads through (reseller_id, expiry, id) on a walk in expiry order, and
    # through (reseller_id, address) to the start of an address, in either order.
    reseller_leads = (driver == "order" and flt.sort == "expiry") or (
        kind == "address" and prefix is not None
    )
    others: list[ColumnElement[bool]] = []
    for reseller_id in (actor.reseller_id, flt.reseller_id):
        if reseller_id is not None:
            others.append(visible(_m.reseller_id, reseller_leads) == reseller_id)
    if actor.holder_id is not None:
        others.append(_m.holder_id == actor.holder_id)
    if flt.holder_id is not None:
        others.append(_m.holder_id == flt.holder_id)

    addr_low = addr_high = None
    if kind == "address" and word is not None:
        others.append(
            visible(_m.id, driver == "search").in_(_word_ids(engine, word, in_names=False))
        )
    elif kind == "holder" and word is not None:
        found = driver == "search"
        others.append(visible(_m.id, found).in_(_word_ids(engine, word, in_address=False)))
        # Rows whose address holds the word too belong to the address arm.
        others.append(~visible(_m.id, False).in_(_word_ids(engine, word, in_names=False)))
    elif kind == "address":
        assert prefix is not None
        if flt.sort == "address":
            if _ranges_exact(engine):
                addr_low, addr_high = prefix, _next_prefix(prefix)
            others.append(_starts_with(_m.address, prefix))
        else:
            address = visible(_m.address, driver == "search")
            others.append(_prefix_range(address, prefix, _ranges_exact(engine)))
    elif kind == "holder":
        assert search is not None and search.tax_code is not None
        holder = visible(_m.holder_id, driver == "search")
        others.append(holder.in_(_holder_ids(actor, search.tax_code, flt.reseller_id)))

    sort_column = _m.expiry if flt.sort == "expiry" else _m.address
    column = visible(sort_column, driver == "order")
    if flt.sort == "expiry":
        return _Arm("expiry", column, exp_low, exp_high, True, tuple(others))
    if exp_low is not None:
        others.append(_m.expiry >= exp_low)
    if exp_high is not None:
        others.append(_m.expiry <= exp_high)
    return _Arm("address", column, addr_low, addr_high, False, tuple(others), steer)


def choose_strategy(matching: int, in_scope: int, rows_needed: int = DEFAULT_PAGE_SIZE) -> Strategy:
    """ "scan" when walking in order tests fewer rows than sorting all matches would.

    A walk tests about rows_needed * in_scope / matching rows (the matches are spread
    through the order); a lookup reads and sorts all `matching`. A page needs
    `DEFAULT_PAGE_SIZE` rows; a jump needs every row it skips as well.
    """
    if matching <= 0:
        return "lookup"
    return "scan" if matching * matching > rows_needed * in_scope else "lookup"


@dataclass(frozen=True)
class _SearchSize:
    """How many rows each arm of a search matches, and how many the actor can see."""

    matching: tuple[int, ...]
    in_scope: int


# Sizes found when counting, reused by the page queries of the same filter to choose their
# strategies. Stale entries only cost speed, never correctness.
_SizeKey = tuple[Any, ...]
_sizes: OrderedDict[_SizeKey, _SearchSize] = OrderedDict()
_sizes_lock = threading.Lock()


def _size_key(engine: Engine, actor: Actor, flt: MailboxFilter, today: date) -> _SizeKey:
    return (id(engine), actor.reseller_id, actor.holder_id, flt.with_(sort="expiry"), today)


def _remember_size(key: _SizeKey, size: _SearchSize) -> None:
    with _sizes_lock:
        _sizes[key] = size
        _sizes.move_to_end(key)
        while len(_sizes) > 64:
            _sizes.popitem(last=False)


def _arms(
    engine: Engine,
    actor: Actor,
    flt: MailboxFilter,
    today: date,
    rows_needed: int = DEFAULT_PAGE_SIZE,
) -> list[_Arm]:
    """The filter's arms, each told how to run for a query needing `rows_needed` rows."""
    kinds = _arm_kinds(flt)
    with _sizes_lock:
        size = _sizes.get(_size_key(engine, actor, flt, today))
    if size is None:
        # Not counted yet: look matches up through their index (cost bounded by matches).
        strategies: tuple[Strategy, ...] = tuple("lookup" for _ in kinds)
    else:
        strategies = tuple(choose_strategy(n, size.in_scope, rows_needed) for n in size.matching)
    arms = [
        _arm(engine, actor, flt, today, kind, strategy)
        for kind, strategy in zip(kinds, strategies, strict=True)
    ]
    return [arm for arm in arms if arm is not None]


def _rows_query() -> AnySelect:
    return select(*_ROW_COLUMNS).select_from(
        Mailbox.__table__.join(Holder.__table__, _h.id == _m.holder_id)
    )


def _to_row(r: Any) -> MailboxRow:
    return MailboxRow(
        id=r[0],
        address=r[1],
        holder_id=r[2],
        holder_name=r[3],
        plan=Plan(r[4]),
        expiry=r[5],
        auto_renew=bool(r[6]),
        mailbox_used_mb=r[7],
        archive_used_mb=r[8],
        extra_mailbox_gb=r[9],
        extra_archive_gb=r[10],
        promo=bool(r[11]),
        reseller_id=r[12],
        renewal_years=r[13],
        payment_method=r[14],
        open_order=r[15],
    )


def cursor_of(row: MailboxRow, sort: SortKey) -> Cursor:
    """The keyset cursor at `row` for the given sort order."""
    return (row.expiry if sort == "expiry" else row.address, row.id)


def _ordered(
    arms: list[_Arm],
    base: AnySelect,
    *,
    after: Cursor | None = None,
    before: Cursor | None = None,
    inclusive: bool = False,
    descending: bool = False,
    limit: int,
    offset: int = 0,
) -> AnySelect:
    """`base` narrowed to `limit` rows (after `offset`) of all arms merged in table order.

    Rows come in table order, or in reverse with `before` or `descending`. `base` selects
    at least the sort column and the mailbox id.
    """
    descending = descending or before is not None
    selects: list[AnySelect] = []
    for arm in arms:
        key = tuple_(arm.column, _m.id)
        if before is not None and arm.wholly_before(before[0]):
            where = arm.range()  # the cursor (another arm's row) is past this whole arm
        elif after is not None and arm.wholly_after(after[0]):
            where = arm.range()
        elif before is not None:
            where = [key <= tuple_(*before) if inclusive else key < tuple_(*before)]
            where += arm.range(high=False)
        elif after is not None:
            where = [key >= tuple_(*after) if inclusive else key > tuple_(*after)]
            where += arm.range(low=False)
        else:
            where = arm.range()
        query = base.where(*arm.others, *where)
        order = (arm.column.desc(), _m.id.desc()) if descending else (arm.column, _m.id)
        selects.append(query.order_by(*order))
    if len(selects) == 1:
        return selects[0].offset(offset or None).limit(limit)
    # Each arm keeps its own plan; the merge needs at most offset + limit rows of each.
    merged = union_all(*(select(q.limit(offset + limit).subquery()) for q in selects)).subquery()
    sort_name = arms[0].name
    merged_order = (
        (merged.c[sort_name].desc(), merged.c.id.desc())
        if descending
        else (merged.c[sort_name], merged.c.id)
    )
    return select(merged).order_by(*merged_order).offset(offset or None).limit(limit)


# --- Count and pages ----------------------------------------------------------------------


def count(engine: Engine, actor: Actor, flt: MailboxFilter, today: date) -> int:
    """How many mailboxes the filter shows to the actor.

    With a search, also decides how its pages are queried (see `choose_strategy`).
    """
    # The order does not change a count; expiry order keeps the reseller index usable.
    flt = flt.with_(sort="expiry")
    kinds = _arm_kinds(flt)
    counts: list[int] = []
    with engine.connect() as connection:
        for kind in kinds:
            arm = _arm(engine, actor, flt, today, kind, "lookup")
            if arm is None:
                return 0
            query = select(func.count()).select_from(Mailbox.__table__)
            counts.append(
                int(connection.execute(query.where(*arm.others, *arm.range())).scalar_one())
            )
        # Only SQLite is told how to run each arm (PostgreSQL plans by its statistics), so
        # only there is the whole scope counted to choose.
        if kinds != ("all",) and engine.dialect.name == "sqlite":
            in_scope = _in_scope_count(connection, engine, actor, flt, today)
            _remember_size(
                _size_key(engine, actor, flt, today), _SearchSize(tuple(counts), in_scope)
            )
    return sum(counts)


# The number of mailboxes in the actor's scope under the filter's other conditions is the
# same for every text searched (a reseller's 351,776 of a million take ~25 ms to count), and
# it only guides `choose_strategy`: a figure up to a minute old guides as well.
IN_SCOPE_SECONDS = 60.0
_in_scope: OrderedDict[_SizeKey, tuple[float, int]] = OrderedDict()


def _in_scope_count(
    connection: Connection, engine: Engine, actor: Actor, flt: MailboxFilter, today: date
) -> int:
    unsearched = flt.with_(search="")
    key = _size_key(engine, actor, unsearched, today)
    now = time.monotonic()
    with _sizes_lock:
        known = _in_scope.get(key)
    if known is not None and now - known[0] < IN_SCOPE_SECONDS:
        return known[1]
    everything = _arm(engine, actor, unsearched, today, "all", "scan")
    assert everything is not None
    query = select(func.count()).select_from(Mailbox.__table__)
    in_scope = int(
        connection.execute(query.where(*everything.others, *everything.range())).scalar_one()
    )
    with _sizes_lock:
        _in_scope[key] = (now, in_scope)
        _in_scope.move_to_end(key)
        while len(_in_scope) > 64:
            _in_scope.popitem(last=False)
    return in_scope


def page(
    engine: Engine,
    actor: Actor,
    flt: MailboxFilter,
    today: date,
    *,
    after: Cursor | None = None,
    before: Cursor | None = None,
    inclusive: bool = False,
    limit: int = DEFAULT_PAGE_SIZE,
) -> list[MailboxRow]:
    """Up to `limit` rows in table order, by keyset: just after `after` or just before `before`.

    With neither cursor, the first page; `inclusive` includes the cursor's own row. Rows
    always come back in table order.
    """
    if after is not None and before is not None:
        raise ValueError("give `after` or `before`, not both")
    arms = _arms(engine, actor, flt, today)
    if not arms or limit <= 0:
        return []
    query = _ordered(
        arms, _rows_query(), after=after, before=before, inclusive=inclusive, limit=limit
    )
    with engine.connect() as connection:
        rows = [_to_row(r) for r in connection.execute(query)]
    if before is not None:
        rows.reverse()
    return rows


def page_at_offset(
    engine: Engine,
    actor: Actor,
    flt: MailboxFilter,
    today: date,
    offset: int,
    limit: int = DEFAULT_PAGE_SIZE,
    *,
    total: int | None = None,
) -> list[MailboxRow]:
    """Up to `limit` rows from position `offset`: for jumps (End, scrollbar drag) only.

    The offset is counted over the sort key alone (an index-only walk where possible),
    then the page is read by keyset from there. Given `total`, a position in the second
    half is counted from the end, so End costs no more than Home.
    """
    offset = max(0, offset)
    if limit <= 0 or (total is not None and offset >= total):
        return []
    keys = select(_m.expiry if flt.sort == "expiry" else _m.address, _m.id)
    from_end = total is not None and offset > total // 2
    if from_end:
        assert total is not None
        stop = min(offset + limit, total)
        skip = total - stop
    else:
        skip = offset
    arms = _arms(engine, actor, flt, today, rows_needed=skip + limit)
    if not arms:
        return []
    query = _ordered(arms, keys, descending=from_end, limit=1, offset=skip)
    with engine.connect() as connection:
        edge = connection.execute(query).first()
    if edge is None:
        return []
    if from_end:
        return page(
            engine, actor, flt, today, before=tuple(edge), inclusive=True, limit=stop - offset
        )
    return page(engine, actor, flt, today, after=tuple(edge), inclusive=True, limit=limit)


@audit_denials("mailbox.view")
def get_mailbox(engine: Engine, actor: Actor, mailbox_id: int) -> MailboxRow:
    """One mailbox; LookupError if missing, AccessDenied (audited) if not the actor's."""
    with engine.connect() as connection:
        found = connection.execute(_rows_query().where(_m.id == mailbox_id)).first()
    if found is None:
        raise LookupError(not_found_message("mailbox", mailbox_id))
    row = _to_row(found)
    check_owned(
        actor,
        row.reseller_id,
        row.holder_id,
        action="mailbox.view",
        entity="mailbox",
        entity_id=mailbox_id,
    )
    return row


def get_mailboxes(engine: Engine, actor: Actor, ids: Iterable[int]) -> list[MailboxRow]:
    """The actor's mailboxes among `ids`, in table order (ids out of scope are left out)."""
    rows: list[MailboxRow] = []
    with engine.connect() as connection:
        for chunk in _chunks(ids):
            query = _rows_query().where(_m.id.in_(chunk), *_scope(actor))
            rows.extend(_to_row(r) for r in connection.execute(query))
    rows.sort(key=lambda r: (r.expiry, r.id))
    return rows


def _chunks(ids: Iterable[int]) -> Iterator[list[int]]:
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), _ID_CHUNK):
        yield ordered[start : start + _ID_CHUNK]


# --- Word searches, read once -------------------------------------------------------------
#
# A word search ("rossi", "Consulting") finds its matches through the search indexes, spread
# all over the table order. Counting them, then reading each page by keyset or by offset,
# would run the index search again every time (each at 0.1-0.8 s at a million mailboxes).
# Instead the ids of every match are read once, in table order, by one query driven by the
# search index; the count is their number and a page is a slice of them, its rows read by
# id. A word that matches more than `WORD_MATCHES_HELD` mailboxes falls back to the arms.

WORD_MATCHES_HELD = 200_000


@dataclass(frozen=True)
class WordMatches:
    """Every mailbox a word search shows, as ids in table order."""

    ids: list[int]
    # In expiry order with no state filter: how many of them, the first ones, are
    # Cancellata (where the list opens: see `MailboxSource.first_live_index`); else 0.
    cancelled: int


def _last_cancelled(today: date) -> date:
    _low, last = expiry_bounds_for_state(MailboxState.CANCELLED, today)
    assert last is not None
    return last


def _word_matches_query(
    engine: Engine, actor: Actor, flt: MailboxFilter, today: date
) -> AnySelect | None:
    """The id of every mailbox a word search shows, in table order, and (in expiry order
    with no state filter) whether it is Cancellata; None when the filter is not a word
    search, or holds one holder's few mailboxes (the arms do well)."""
    search = _parse_search(flt.search)
    if search is None or search.word is None:
        return None
    if actor.holder_id is not None or flt.holder_id is not None:
        return None
    low, high = _expiry_range(flt, today)
    if low is not None and high is not None and low > high:
        return None
    word = search.word
    if engine.dialect.name == "sqlite":
        # One FTS5 query gives the ids; every other column is hidden from SQLite's indexes,
        # so that the ids lead and each row is read by its id.
        source: Any = Mailbox.__table__
        steer: Callable[[Any], Any] = _hidden
        match: ColumnElement[bool] = _m.id.in_(_word_ids(engine, word, in_names=search.in_names))
    else:
        # `mailbox_search` holds the sort keys beside the text: no other table is read.
        source, steer = _search, lambda column: column
        match = _in_search_words(word, part=None if search.in_names else 1)
    conditions: list[ColumnElement[bool]] = []
    for reseller_id in (actor.reseller_id, flt.reseller_id):
        if reseller_id is not None:
            conditions.append(steer(source.c.reseller_id) == reseller_id)
    if low is not None:
        conditions.append(steer(source.c.expiry) >= low)
    if high is not None:
        conditions.append(steer(source.c.expiry) <= high)
    columns: list[Any] = [source.c.id]
    if flt.sort == "expiry":
        key = source.c.expiry
        if flt.state is None:
            columns.append(source.c.expiry <= _last_cancelled(today))
    else:
        # PostgreSQL: the address as folded, which is the address (stored in lower case).
        key = source.c.address if source is not _search else _search_part(1)
    return (
        select(*columns)
        .where(match, *conditions)
        .order_by(key, source.c.id)
        .limit(WORD_MATCHES_HELD + 1)
    )


def word_matches(
    engine: Engine, actor: Actor, flt: MailboxFilter, today: date
) -> WordMatches | None:
    """Every match of a word search, in table order; None if `flt` is not one (see
    `_word_matches_query`) or it matches more than `WORD_MATCHES_HELD`."""
    query = _word_matches_query(engine, actor, flt, today)
    if query is None:
        return None
    with engine.connect() as connection, gc_paused():
        # As the driver gives them (plain ints and booleans): a `Row` apiece would cost
        # more than the query.
        found = driver_rows(connection, query)
    if len(found) > WORD_MATCHES_HELD:
        return None
    if found and len(found[0]) == 2:
        return WordMatches([row[0] for row in found], sum(1 for row in found if row[1]))
    return WordMatches([row[0] for row in found], 0)


def rows_by_id(engine: Engine, ids: list[int]) -> list[MailboxRow]:
    """The rows of `ids`, in the order given (ids no longer there are left out)."""
    if not ids:
        return []
    with engine.connect() as connection:
        found = {r[0]: _to_row(r) for r in connection.execute(_rows_query().where(_m.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


# --- The table's row source ---------------------------------------------------------------


class MailboxSource:
    """Rows by position for the mailbox table, served from a small cache of pages.

    A page next to a cached one is fetched by keyset from its neighbour's edge row; any
    other page (a jump) by offset. Memory stays at `max_pages` pages whatever the count.
    Safe to share between a worker thread and the UI thread: the lock guards the cache
    only, never a query, so the UI can always ask what is cached without waiting.
    """

    def __init__(
        self,
        engine: Engine,
        actor: Actor,
        flt: MailboxFilter,
        today: date,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        max_pages: int = 16,
    ) -> None:
        self.engine = engine
        self.actor = actor
        self.filter = flt
        self.today = today
        self.page_size = page_size
        self.max_pages = max_pages
        self._count: int | None = None
        # A word search's matches, read once by `count` (see `word_matches`).
        self._matches: WordMatches | None = None
        self._pages: OrderedDict[int, list[MailboxRow]] = OrderedDict()
        self._lock = threading.Lock()
        # How pages were fetched, for tests and the benchmark.
        self.keyset_fetches = 0
        self.offset_fetches = 0

    def count(self) -> int:
        """Number of rows (queried once, until `invalidate`)."""
        if self._count is None:
            matches = word_matches(self.engine, self.actor, self.filter, self.today)
            if matches is not None:
                with self._lock:
                    self._matches = matches
                self._count = len(matches.ids)
            else:
                self._count = count(self.engine, self.actor, self.filter, self.today)
        return self._count

    def first_live_index(self) -> int:
        """The row of the first mailbox that is not Cancellata, where the list opens.

        In expiry order the Cancellata mailboxes (expired longest ago) come first: months of
        them before anything a person can still act on. Their count is the first live row.
        """
        if self.filter.sort != "expiry" or self.filter.state is not None:
            return 0
        total = self.count()
        with self._lock:
            matches = self._matches
        if matches is not None:
            return max(0, min(matches.cancelled, total - 1))
        cancelled = count(
            self.engine, self.actor, self.filter.with_(state=MailboxState.CANCELLED), self.today
        )
        return max(0, min(cancelled, self.count() - 1))

    def invalidate(self) -> None:
        """Forget the count and every cached page (after the data changed)."""
        with self._lock:
            self._count = None
            self._matches = None
            self._pages.clear()

    @property
    def jumps_are_cheap(self) -> bool:
        """Whether a jump's offset is counted on an index alone (milliseconds at 1M rows).

        A search, or a reseller's book in address order, has to read every row it skips
        (no index holds both columns), which takes seconds at a million mailboxes.
        """
        if self.filter.holder_id is not None or self.actor.holder_id is not None:
            return True  # one holder's mailboxes: few rows
        with self._lock:
            if self._matches is not None:
                return True  # a page is a slice of the matches in memory
        if _parse_search(self.filter.search) is not None:
            return False
        one_reseller = self.actor.reseller_id is not None or self.filter.reseller_id is not None
        return not one_reseller or self.filter.sort == "expiry"

    def fetch_is_cheap(self, index: int) -> bool:
        """Whether `row(index)` answers without a slow query (cached, keyset or cheap jump)."""
        number = index // self.page_size
        with self._lock:
            if number in self._pages or number == 0:
                return True
            if number - 1 in self._pages or number + 1 in self._pages:
                return True
        return self.jumps_are_cheap

    def cached(self, index: int) -> MailboxRow | None:
        """The row at `index` if its page is in memory; never queries."""
        with self._lock:
            page_rows = self._pages.get(index // self.page_size)
        offset = index % self.page_size
        return page_rows[offset] if page_rows is not None and offset < len(page_rows) else None

    def row(self, index: int) -> MailboxRow | None:
        """The row at `index`, or None outside the table."""
        if index < 0 or index >= self.count():
            return None
        page_rows = self._page(index // self.page_size)
        offset = index % self.page_size
        return page_rows[offset] if offset < len(page_rows) else None

    def rows(self, start: int, stop: int) -> list[MailboxRow]:
        """Rows at positions start..stop-1 (fewer at the end of the table)."""
        start, stop = max(0, start), min(stop, self.count())
        if start >= stop:
            return []
        first, last = start // self.page_size, (stop - 1) // self.page_size
        numbers = list(range(first, last + 1))
        with self._lock:
            cached = set(self._pages)
        # Walk from the side that touches a cached page, so each page comes by keyset.
        if not ({first - 1, first} & cached) and {last, last + 1} & cached:
            numbers.reverse()
        pages = {number: self._page(number) for number in numbers}
        result: list[MailboxRow] = []
        for number in range(first, last + 1):
            base = number * self.page_size
            result.extend(pages[number][max(0, start - base) : stop - base])
        return result

    def cached_rows(self) -> Iterator[MailboxRow]:
        """The rows currently held in memory."""
        with self._lock:
            pages = list(self._pages.values())
        for page_rows in pages:
            yield from page_rows

    def _page(self, number: int) -> list[MailboxRow]:
        with self._lock:
            rows = self._pages.get(number)
            if rows is not None:
                self._pages.move_to_end(number)
                return rows
            previous = self._pages.get(number - 1)
            following = self._pages.get(number + 1)
        rows = self._fetch(number, previous, following)
        with self._lock:
            self._pages[number] = rows
            while len(self._pages) > self.max_pages:
                self._pages.popitem(last=False)
        return rows

    def _fetch(
        self,
        number: int,
        previous: list[MailboxRow] | None,
        following: list[MailboxRow] | None,
    ) -> list[MailboxRow]:
        with self._lock:
            matches = self._matches
        if matches is not None:
            start = number * self.page_size
            return rows_by_id(self.engine, matches.ids[start : start + self.page_size])
        query: dict[str, Any] = {
            "engine": self.engine,
            "actor": self.actor,
            "flt": self.filter,
            "today": self.today,
            "limit": self.page_size,
        }
        sort = self.filter.sort
        if previous is not None and len(previous) == self.page_size:
            self.keyset_fetches += 1
            return page(**query, after=cursor_of(previous[-1], sort))
        if following:
            self.keyset_fetches += 1
            return page(**query, before=cursor_of(following[0], sort))
        self.offset_fetches += 1
        if number == 0:
            return page(**query)
        return page_at_offset(**query, offset=number * self.page_size, total=self.count())


# --- Selection ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SelectionRule:
    """'Renewable mailboxes expiring from `first_expiry` to `last_expiry`' (auto-renew off)."""

    first_expiry: date
    last_expiry: date
    holder_id: int | None = None
    reseller_id: int | None = None

    @classmethod
    def expiring_within(
        cls,
        today: date,
        months: int = 3,
        holder_id: int | None = None,
        reseller_id: int | None = None,
    ) -> SelectionRule:
        first, last = expiring_within(today, months)
        return cls(first, last, holder_id, reseller_id)

    def matches(self, row: MailboxRow) -> bool:
        return (
            self.first_expiry <= row.expiry <= self.last_expiry
            and not row.auto_renew
            and row.open_order is None
            and (self.holder_id is None or row.holder_id == self.holder_id)
            and (self.reseller_id is None or row.reseller_id == self.reseller_id)
        )

    def window(self) -> ColumnElement[bool]:
        """The rule's expiry range (and holder or reseller), renewable or not."""
        condition = and_(_m.expiry >= self.first_expiry, _m.expiry <= self.last_expiry)
        if self.holder_id is not None:
            condition = and_(condition, _m.holder_id == self.holder_id)
        if self.reseller_id is not None:
            condition = and_(condition, _m.reseller_id == self.reseller_id)
        return condition

    def condition(self) -> ColumnElement[bool]:
        return and_(self.window(), _m.auto_renew == false())


@dataclass(frozen=True)
class LeftOut:
    """Mailboxes in a rule's range that it leaves out, by reason."""

    on_order: int = 0
    auto_renew: int = 0

    @property
    def total(self) -> int:
        return self.on_order + self.auto_renew


def _on_open_order() -> ColumnElement[bool]:
    return exists().where(_r.mailbox_id == _m.id)


def _renewable_condition(today: date) -> ColumnElement[bool]:
    """Renewable today: auto-renew off, not yet Cancellata and on no open order (see
    domain.lifecycle)."""
    return and_(
        _m.auto_renew == false(),
        _m.expiry >= today - timedelta(days=SUSPENSION_DAYS),
        ~_on_open_order(),
    )


class Selection:
    """The mailboxes chosen for renewal: a rule, plus ids added, minus ids removed by hand.

    Applying the rule stores no ids at all, so selecting 300,000 mailboxes is instant;
    the real ids are read only when a renewal starts (`resolve_ids`).
    """

    def __init__(self, rule: SelectionRule | None = None) -> None:
        self.rule = rule
        self._added: set[int] = set()
        self._removed: set[int] = set()

    @classmethod
    def by_rule(
        cls,
        today: date,
        months: int = 3,
        holder_id: int | None = None,
        reseller_id: int | None = None,
    ) -> Selection:
        return cls(SelectionRule.expiring_within(today, months, holder_id, reseller_id))

    @property
    def is_empty(self) -> bool:
        """True when nothing can be selected (no rule, no id added by hand)."""
        return self.rule is None and not self._added

    @property
    def added(self) -> frozenset[int]:
        return frozenset(self._added)

    @property
    def removed(self) -> frozenset[int]:
        return frozenset(self._removed)

    def contains(self, row: MailboxRow) -> bool:
        if row.open_order is not None:
            return False  # ordered since it was chosen: it leaves the selection
        if row.id in self._added:
            return True
        return self.rule is not None and self.rule.matches(row) and row.id not in self._removed

    def select(self, row: MailboxRow) -> None:
        if self.rule is not None and self.rule.matches(row):
            self._removed.discard(row.id)
        else:
            self._added.add(row.id)

    def deselect(self, row: MailboxRow) -> None:
        if self.rule is not None and self.rule.matches(row):
            self._removed.add(row.id)
        self._added.discard(row.id)

    def toggle(self, row: MailboxRow) -> bool:
        """Flip `row`; returns whether it is selected now."""
        if self.contains(row):
            self.deselect(row)
            return False
        self.select(row)
        return True

    def clear(self) -> None:
        self.rule = None
        self._added.clear()
        self._removed.clear()

    def count(self, engine: Engine, actor: Actor, today: date) -> int:
        """How many of the actor's renewable mailboxes are selected (one COUNT for the rule)."""
        scope = _scope(actor)
        renewable = _renewable_condition(today)
        rule = self.rule.condition() if self.rule is not None else false()
        total = 0
        with engine.connect() as connection:
            if self.rule is not None:
                total += connection.execute(
                    select(func.count())
                    .select_from(Mailbox.__table__)
                    .where(rule, renewable, *scope)
                ).scalar_one()
                for chunk in _chunks(self._removed):
                    total -= connection.execute(
                        select(func.count())
                        .select_from(Mailbox.__table__)
                        .where(_m.id.in_(chunk), rule, renewable, *scope)
                    ).scalar_one()
            for chunk in _chunks(self._added):
                total += connection.execute(
                    select(func.count())
                    .select_from(Mailbox.__table__)
                    .where(_m.id.in_(chunk), ~rule, renewable, *scope)
                ).scalar_one()
        return int(total)

    def left_out(self, engine: Engine, actor: Actor, today: date) -> LeftOut:
        """What the rule leaves out of its range: mailboxes on an open order or renewing by
        themselves (one query; nothing without a rule)."""
        if self.rule is None:
            return LeftOut()
        on_order = and_(_m.auto_renew == false(), _on_open_order())
        query = (
            select(
                func.coalesce(func.sum(case((on_order, 1), else_=0)), 0),
                func.coalesce(func.sum(case((_m.auto_renew == true(), 1), else_=0)), 0),
            )
            .select_from(Mailbox.__table__)
            .where(self.rule.window(), *_scope(actor))
        )
        with engine.connect() as connection:
            counted_on_order, counted_auto = connection.execute(query).one()
        return LeftOut(int(counted_on_order), int(counted_auto))

    def blocked(self, engine: Engine, actor: Actor, today: date) -> list[tuple[str, str]]:
        """Mailboxes added by hand that cannot be renewed any more (ordered, put on automatic
        renewal or cancelled since), with the reason: (address, reason), by address."""
        found: list[tuple[str, str]] = []
        with engine.connect() as connection:
            for chunk in _chunks(self._added):
                query = _rows_query().where(
                    _m.id.in_(chunk), ~_renewable_condition(today), *_scope(actor)
                )
                for r in connection.execute(query):
                    row = _to_row(r)
                    found.append((row.address, row.renewability(today).reason or ""))
        return sorted(found)

    def snapshot(self) -> Selection:
        """A copy that later changes to this selection leave alone (what a renewal starts)."""
        copy = Selection(self.rule)
        copy._added = set(self._added)
        copy._removed = set(self._removed)
        return copy

    def described(self) -> dict[str, Any]:
        """The selection as data (an audit row's): its rule and the ids by hand."""
        rule = self.rule
        return {
            "rule": None
            if rule is None
            else {
                "first_expiry": rule.first_expiry.isoformat(),
                "last_expiry": rule.last_expiry.isoformat(),
                "holder_id": rule.holder_id,
                "reseller_id": rule.reseller_id,
            },
            "added": sorted(self._added),
            "removed": sorted(self._removed),
        }

    def parts(self, actor: Actor, today: date, dialect: str) -> list[ColumnElement[bool]]:
        """The WHERE condition of each part of the selection the actor may renew today: the
        rule's mailboxes but those removed by hand (read by the rule's expiry range), then
        those added by hand outside the rule. No mailbox is in two parts; a part with
        nothing in it is left out. The ids by hand are one parameter (`in_ids`)."""
        scope = _scope(actor)
        renewable = _renewable_condition(today)
        parts: list[ColumnElement[bool]] = []
        if self.rule is not None:
            rule = and_(self.rule.condition(), renewable, *scope)
            if self._removed:
                rule = and_(rule, ~in_ids(_m.id, sorted(self._removed), dialect))
            parts.append(rule)
        if self._added:
            outside_rule = ~self.rule.condition() if self.rule is not None else true()
            parts.append(
                and_(in_ids(_m.id, sorted(self._added), dialect), outside_rule, renewable, *scope)
            )
        return parts

    def resolve_ids(
        self, engine: Engine, actor: Actor, today: date, limit: int | None = None
    ) -> list[int]:
        """The selected mailboxes the actor may renew today, in expiry order (first `limit`)."""
        scope = _scope(actor)
        renewable = _renewable_condition(today)
        # As the driver gives them (`driver_rows`): the expiry only orders the ids (ISO text
        # on SQLite, a date on PostgreSQL), so no date is made for each of 50,000 rows.
        keyed: list[tuple[Any, int]] = []
        with engine.connect() as connection, gc_paused():
            if self.rule is not None:
                query = (
                    select(_m.expiry, _m.id)
                    .where(self.rule.condition(), renewable, *scope)
                    .order_by(_m.expiry, _m.id)
                )
                if limit is not None:
                    query = query.limit(limit + len(self._removed))
                removed = self._removed
                keyed.extend((e, i) for e, i in driver_rows(connection, query) if i not in removed)
            outside_rule = ~self.rule.condition() if self.rule is not None else true()
            for chunk in _chunks(self._added):
                query = select(_m.expiry, _m.id).where(
                    _m.id.in_(chunk), outside_rule, renewable, *scope
                )
                keyed.extend(driver_rows(connection, query))
        keyed.sort()
        ids = [i for _, i in keyed]
        return ids if limit is None else ids[:limit]
