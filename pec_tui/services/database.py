"""Opening the configured database: engine, schema check (and SQLite upgrade), reference data.

Schema upgrades are automatic only for the embedded SQLite database, after a backup copy of
the file next to it (`<file>.before-<revision>-<time>.bak`). A PostgreSQL database is shared:
an older schema there is refused until an administrator runs `pec-tui db upgrade`, so a new
client never upgrades it behind the others' backs. A schema newer than this version, a file
that is not a SQLite database and another program's database are refused everywhere.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, OperationalError
from sqlmodel import Session

from pec_tui.db.engine import (
    current_revision,
    head_revision,
    is_file_database,
    known_revisions,
    make_engine,
    upgrade,
)
from pec_tui.db.models import Counter
from pec_tui.domain.validation import shown
from pec_tui.i18n import _
from pec_tui.services.faults import (
    DatabaseProblem,
    DatabaseUnavailable,
    NotOurDatabase,
    SchemaOutdated,
    SchemaTooNew,
    driver_detail,
)
from pec_tui.services.prices import ensure_defaults

ORDER_NUMBER_COUNTER = "order_number"
# `Counter` rows marking a database that `pec-tui demo` filled: the highest mailbox id it
# wrote, and the highest operator id made for the demo. Ids only grow (SQLite hands out
# max + 1, PostgreSQL its sequence), so a mailbox or operator above them was made otherwise.
DEMO_BOOK_COUNTER = "demo_book"
DEMO_OPERATORS_COUNTER = "demo_operators"
FIRST_ORDER_NUMBER = 1_000_000_000
_VERSION_TABLE = "alembic_version"
T = TypeVar("T")


def ensure_reference_data(engine: Engine) -> None:
    with Session(engine) as session:
        ensure_defaults(session)
        if session.get(Counter, ORDER_NUMBER_COUNTER) is None:
            session.add(Counter(name=ORDER_NUMBER_COUNTER, value=FIRST_ORDER_NUMBER - 1))
        session.commit()


def open_database(url: str, migrate: bool = True) -> Engine:
    """An engine on `url` with the schema at head and the price list in place.

    Raises a `DatabaseProblem` (its message says what to do) when the database cannot be
    used; see the module's description. `migrate=False` skips every check.
    """
    engine = _engine(url)
    if migrate:
        try:
            prepare_schema(engine, upgrade_shared=False)
            ensure_reference_data(engine)
        except BaseException:
            engine.dispose()
            raise
    return engine


def upgrade_database(url: str, revision: str = "head") -> tuple[str | None, str | None]:
    """`pec-tui db upgrade`: the schema brought to `revision` on any database (a SQLite file
    is copied first); (revision before, revision after)."""
    if revision != "head" and revision not in known_revisions():
        raise DatabaseProblem(
            _("There is no schema revision “{revision}”: give one of {known}, or head.").format(
                revision=shown(revision), known=", ".join(sorted(known_revisions()))
            )
        )
    engine = _engine(url)
    try:
        before = _revision(engine)
        prepare_schema(engine, upgrade_shared=True, target=revision)
        if revision == "head":
            ensure_reference_data(engine)
        return before, _revision(engine)
    finally:
        engine.dispose()


def _engine(url: str) -> Engine:
    try:
        return make_engine(url)
    except (ArgumentError, ImportError) as exc:  # not a URL; a database without its driver
        raise DatabaseUnavailable(
            _(
                "“{url}” is not a database pec-tui can use ({detail}): write "
                "sqlite:///path/to/file.db or postgresql://user@host/database."
            ).format(url=_without_password(url), detail=driver_detail(exc))
        ) from exc


def _without_password(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:  # not even a URL: it has no password to hide, but may be one
        return shown(url.split("@")[-1], 200)


def prepare_schema(engine: Engine, upgrade_shared: bool, target: str = "head") -> None:
    """Check the schema and upgrade it when allowed; a `DatabaseProblem` otherwise."""
    current = _revision(engine)
    head = head_revision()
    if current is not None and current not in known_revisions():
        raise SchemaTooNew(
            _(
                "The database's schema ({revision}) was made by a newer version of pec-tui "
                "than this one: install that version (or a later one) to use it."
            ).format(revision=current)
        )
    wanted = head if target == "head" else target
    if current == wanted:
        return
    sqlite = engine.dialect.name == "sqlite"
    if not sqlite and not upgrade_shared:
        if current is None:
            raise SchemaOutdated(
                _(
                    "The database has no pec-tui schema yet: an administrator creates it "
                    "with `pec-tui db upgrade`."
                )
            )
        raise SchemaOutdated(
            _(
                "The database's schema ({current}) is older than this version of pec-tui "
                "needs ({head}): an administrator upgrades it with `pec-tui db upgrade`."
            ).format(current=current, head=head)
        )
    backup = backup_sqlite(engine, current) if sqlite and current is not None else None
    from alembic.util.exc import CommandError

    try:
        upgrade(engine, target)
    except CommandError as exc:  # e.g. a target older than the schema: not an upgrade
        raise DatabaseProblem(
            _("The schema cannot be brought to {target}: {detail}").format(
                target=shown(target), detail=exc
            )
        ) from exc
    except DatabaseError as exc:
        # SQLite commits each DDL statement of a failed migration by itself: the copy made
        # before it is put back, so that nothing was changed indeed.
        if backup is not None:
            restore_sqlite(engine, backup)
        raise DatabaseUnavailable(
            _("The schema could not be upgraded ({detail}): nothing was changed.").format(
                detail=driver_detail(exc)
            )
        ) from exc


def table_names(engine: Engine) -> list[str]:
    """The database's tables, or a `DatabaseProblem` when it cannot be read."""
    return _read(engine, lambda: inspect(engine).get_table_names())


def _revision(engine: Engine) -> str | None:
    """The schema's revision (None for an empty database), or a `DatabaseProblem`."""
    tables = table_names(engine)
    revision = _read(engine, lambda: current_revision(engine)) if _VERSION_TABLE in tables else None
    if revision is None and set(tables) - {_VERSION_TABLE}:
        raise NotOurDatabase(
            _(
                "{url} is another program's database (it has tables, but no pec-tui schema): "
                "pec-tui leaves it alone. Choose another database."
            ).format(url=engine.url.render_as_string(hide_password=True))
        )
    return revision


def _read(engine: Engine, read: Callable[[], T]) -> T:
    shown = engine.url.render_as_string(hide_password=True)
    try:
        return read()
    except OperationalError as exc:
        raise DatabaseUnavailable(
            _("Cannot open the database {url}: {detail}.").format(
                url=shown, detail=driver_detail(exc)
            )
        ) from exc
    # SQLite: "file is not a database", "database disk image is malformed".
    except (DatabaseError, sqlite3.DatabaseError) as exc:
        raise NotOurDatabase(
            _(
                "{url} is not a pec-tui database: the file is not a SQLite database, or it "
                "is damaged ({detail}). Restore it from a backup, or choose another file."
            ).format(url=shown, detail=driver_detail(exc))
        ) from exc


def backup_sqlite(engine: Engine, revision: str) -> Path | None:
    """A consistent copy of the SQLite file next to it, before an upgrade; its path."""
    url = engine.url.render_as_string(hide_password=False)
    if not is_file_database(url):
        return None
    source = Path(make_url(url).database or "")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    target = source.with_name(f"{source.name}.before-{revision}-{stamp}.bak")
    try:
        with engine.connect() as connection:
            raw = connection.connection.driver_connection
            if not isinstance(raw, sqlite3.Connection):  # cannot happen: a SQLite engine
                return None
            copy = sqlite3.connect(target)
            try:
                raw.backup(copy)
            finally:
                copy.close()
    except (OSError, sqlite3.Error) as exc:
        target.unlink(missing_ok=True)
        raise DatabaseUnavailable(
            _(
                "Cannot copy {file} before upgrading its schema ({detail}): nothing was "
                "changed. Free some space or check the folder's permissions."
            ).format(file=source, detail=exc)
        ) from exc
    return target


def restore_sqlite(engine: Engine, backup: Path) -> None:
    """Put the copy `backup_sqlite` made back in place of the database's content."""
    engine.dispose()
    database = make_url(engine.url.render_as_string(hide_password=False)).database or ""
    source = sqlite3.connect(backup)
    target = sqlite3.connect(database)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


__all__ = [
    "DatabaseProblem",
    "backup_sqlite",
    "ensure_reference_data",
    "open_database",
    "prepare_schema",
    "table_names",
    "upgrade_database",
]
