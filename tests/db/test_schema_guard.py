"""Schema upgrades: automatic only for the embedded SQLite database (after a backup copy next
to it); an older PostgreSQL schema is refused until `pec-tui db upgrade`; a newer schema, a
damaged file and another program's database are refused everywhere, in one line."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from pec_tui.cli import main
from pec_tui.db.engine import current_revision, head_revision, make_engine, upgrade
from pec_tui.services.database import open_database
from pec_tui.services.faults import NotOurDatabase, SchemaOutdated, SchemaTooNew

OLDER = "0002"


def _cli(url: str, *args: str):
    return CliRunner().invoke(main, ["--database-url", url, *args], catch_exceptions=True)


def test_sqlite_is_upgraded_after_a_backup_copy_next_to_it(tmp_path):
    path = tmp_path / "pec.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine, OLDER)
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO reseller (name, credit_cents, created_at, version) "
                 "VALUES ('Rivenditore', 0, '2026-01-01', 1)")
        )  # fmt: skip
    engine.dispose()

    opened = open_database(f"sqlite:///{path}")
    assert current_revision(opened) == head_revision()
    opened.dispose()
    [backup] = tmp_path.glob(f"pec.db.before-{OLDER}-*.bak")
    with sqlite3.connect(backup) as copy:
        assert copy.execute("SELECT version_num FROM alembic_version").fetchone() == (OLDER,)
        assert copy.execute("SELECT name FROM reseller").fetchall() == [("Rivenditore",)]


def test_a_new_sqlite_file_gets_the_schema_without_a_backup(tmp_path):
    engine = open_database(f"sqlite:///{tmp_path / 'new.db'}")
    assert current_revision(engine) == head_revision()
    engine.dispose()
    assert list(tmp_path.glob("*.bak")) == []


def test_a_newer_schema_is_refused_in_one_line_and_left_alone(tmp_path, sqlite_url):
    engine = make_engine(sqlite_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(SchemaTooNew, match="9999"):
        open_database(sqlite_url)
    result = _cli(sqlite_url, "orders", "list")
    assert result.exit_code == 1 and "newer version of pec-tui" in result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert current_revision(engine) == "9999"
    engine.dispose()


def test_a_damaged_file_and_a_foreign_database_are_refused(tmp_path):
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(b"not a database at all" * 100)
    with pytest.raises(NotOurDatabase, match="damaged"):
        open_database(f"sqlite:///{damaged}")
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as connection:
        connection.execute("CREATE TABLE invoices (id INTEGER)")
    with pytest.raises(NotOurDatabase, match="another program's database"):
        open_database(f"sqlite:///{foreign}")
    with sqlite3.connect(foreign) as connection:
        names = [r[0] for r in connection.execute("SELECT name FROM sqlite_master")]
    assert names == ["invoices"]


@pytest.fixture
def pg_schema(postgres_url) -> Iterator[str]:
    """An empty PostgreSQL schema of its own (`postgres_url` checks the server is there)."""
    from conftest import PG_URL

    schema = f"pecguard_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.mark.postgres
def test_postgres_is_never_upgraded_by_a_client_only_by_db_upgrade(pg_schema, monkeypatch):
    with pytest.raises(SchemaOutdated, match="db upgrade"):
        open_database(pg_schema)  # empty: not even created
    engine = make_engine(pg_schema)
    upgrade(engine, OLDER)

    with pytest.raises(SchemaOutdated, match=f"\\({OLDER}\\).*db upgrade"):
        open_database(pg_schema)
    result = _cli(pg_schema, "orders", "list")
    assert result.exit_code == 1 and "pec-tui db upgrade" in result.output
    assert "Traceback" not in result.output
    assert current_revision(engine) == OLDER

    monkeypatch.setenv("PEC_TUI_SYSTEM", "1")
    result = _cli(pg_schema, "db", "upgrade")
    assert result.exit_code == 0, result.output
    assert f"{OLDER} -> {head_revision()}" in result.output
    assert current_revision(engine) == head_revision()
    open_database(pg_schema).dispose()
    engine.dispose()


@pytest.mark.postgres
def test_postgres_db_upgrade_needs_an_administrator_once_there_are_operators(pg_schema):
    from pec_tui.domain.enums import Role
    from pec_tui.services.actor import SYSTEM
    from pec_tui.services.operators import create_operator

    assert _cli(pg_schema, "db", "upgrade").exit_code == 0  # nobody to sign in yet
    engine = make_engine(pg_schema)
    create_operator(engine, SYSTEM, "capo", "Password-lunga-1", Role.ADMIN)
    create_operator(engine, SYSTEM, "mario", "Password-lunga-2", Role.BACK_OFFICE)
    engine.dispose()

    refused = _cli(pg_schema, "db", "upgrade")
    assert refused.exit_code == 77 and "Traceback" not in refused.output
    runner = CliRunner(env={"PEC_TUI_PASSWORD": "Password-lunga-2"})
    back_office = runner.invoke(main, ["--database-url", pg_schema, "--operator", "mario",
                                       "db", "upgrade"])  # fmt: skip
    assert back_office.exit_code == 77, back_office.output
    runner = CliRunner(env={"PEC_TUI_PASSWORD": "Password-lunga-1"})
    admin = runner.invoke(main, ["--database-url", pg_schema, "--operator", "capo",
                                 "db", "upgrade"])  # fmt: skip
    assert admin.exit_code == 0, admin.output


def test_a_book_with_orders_is_upgraded_though_rows_refer_to_them(tmp_path):
    """A real book's orders are referred to (reservations, lines, payments): an upgrade that
    rebuilt the orders table would fail on them with the foreign keys on."""
    path = tmp_path / "pec.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine, "0005")
    now = "'2026-01-01 00:00:00'"
    with engine.begin() as connection:
        for statement in (
            "INSERT INTO holder (id, kind, display_name, country, reference_email, split_payment,"
            f" created_at, updated_at, version) VALUES (1, 'privato', 'Rossi Mario', 'IT',"
            f" 'm@example.it', 0, {now}, {now}, 1)",
            "INSERT INTO mailbox (id, address, holder_id, plan, expiry, auto_renew, renewal_years,"
            " mailbox_used_mb, archive_used_mb, extra_mailbox_gb, extra_archive_gb, promo,"
            f" created_at, version) VALUES (1, 'm@pec.it', 1, 'STANDARD', '2027-01-01', 0, 1,"
            f" 0, 0, 0, 0, 0, {now}, 1)",
            "INSERT INTO orders (id, type, status, holder_id, created_at, updated_at, years,"
            " auto_renew, net_cents, vat_cents, gross_cents, auto_generated, version)"
            f" VALUES (1, 'rinnovo', 'in_attesa', 1, {now}, {now}, 1, 0, 990, 218, 1208, 0, 1)",
            f"INSERT INTO open_renewal (mailbox_id, order_id, created_at) VALUES (1, 1, {now})",
        ):
            connection.execute(text(statement))
    engine.dispose()

    opened = open_database(f"sqlite:///{path}")
    assert current_revision(opened) == head_revision()
    with opened.connect() as connection:
        assert connection.execute(text("SELECT id, kiosk FROM orders")).all() == [(1, False)]
        assert connection.execute(text("PRAGMA foreign_key_check")).all() == []
    opened.dispose()


def test_a_failed_sqlite_upgrade_puts_the_copy_back(tmp_path, monkeypatch):
    """SQLite commits a migration's DDL statement by statement: after a failure the copy made
    before it is put back, so that "nothing was changed" is true."""
    from sqlalchemy.exc import OperationalError

    from pec_tui.services import database

    path = tmp_path / "pec.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine, OLDER)
    engine.dispose()

    def half_done(engine, target="head"):
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE half_done (id INTEGER)"))
        raise OperationalError("ALTER TABLE orders", {}, Exception("disk I/O error"))

    monkeypatch.setattr(database, "upgrade", half_done)
    with pytest.raises(database.DatabaseUnavailable, match="nothing was changed"):
        open_database(f"sqlite:///{path}")
    with sqlite3.connect(path) as connection:
        tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master")}
        assert "half_done" not in tables
        assert connection.execute("SELECT version_num FROM alembic_version").fetchone() == (OLDER,)
