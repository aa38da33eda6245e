"""Shared fixtures: a migrated database on SQLite and, where reachable, on PostgreSQL.

PostgreSQL tests use `PEC_TUI_TEST_POSTGRES_URL` (default: the local server at
postgresql://postgres@127.0.0.1:5432/test). Without a server they skip with the reason,
unless `PEC_TUI_REQUIRE_POSTGRES=1` (set by .ci/run), where a missing server is an error.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from pec_tui import i18n
from pec_tui.db.engine import make_engine, upgrade

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
PG_URL = os.environ.get("PEC_TUI_TEST_POSTGRES_URL", DEFAULT_PG_URL)
REQUIRE_PG = os.environ.get("PEC_TUI_REQUIRE_POSTGRES") == "1"


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory, monkeypatch) -> Iterator[None]:
    """Never touch the developer's real config or data directory.

    Tests read in English, the language of the msgids; the Italian product default is covered
    by tests that choose Italian themselves (catalogs, snapshots, money and dates, e-mails).
    """
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("PEC_TUI_CONFIG_DIR", str(home / "config"))
    monkeypatch.setenv("PEC_TUI_DATA_DIR", str(home / "data"))
    for name in list(os.environ):
        if name.startswith("PEC_TUI_") and name not in (
            "PEC_TUI_CONFIG_DIR",
            "PEC_TUI_DATA_DIR",
            "PEC_TUI_TEST_POSTGRES_URL",
            "PEC_TUI_REQUIRE_POSTGRES",
        ):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PEC_TUI_LANG", "en")
    i18n.set_language("en")
    yield
    i18n.set_language("en")


@pytest.fixture
def italian(monkeypatch) -> Iterator[None]:
    """The product's default language, for tests that read Italian money, dates and words."""
    monkeypatch.setenv("PEC_TUI_LANG", "it")
    i18n.set_language("it")
    yield
    i18n.set_language("en")


def _postgres_available() -> str | None:
    """None when reachable, else the reason."""
    try:
        engine = make_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any driver or network error means: no server here
        return f"PostgreSQL not reachable at {PG_URL} ({type(exc).__name__}: {exc})"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh schema of its own on the PostgreSQL server, migrated to head."""
    reason = _postgres_available()
    if reason:
        if REQUIRE_PG:
            pytest.fail(reason + " — PEC_TUI_REQUIRE_POSTGRES=1 makes PostgreSQL tests mandatory")
        pytest.skip(reason + " — set PEC_TUI_TEST_POSTGRES_URL to run the PostgreSQL tests")
    schema = f"pectest_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


def _truncate_all(engine: Engine) -> None:
    from sqlmodel import SQLModel

    import pec_tui.db.models  # noqa: F401
    from pec_tui.db import audit_guard

    names = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as connection, audit_guard.lifted(connection):
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture
def sqlite_url(_sqlite_template, tmp_path) -> str:
    """A migrated SQLite file of this test's own."""
    path = tmp_path / "pec.db"
    shutil.copy(_sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request) -> str:
    """The same test on SQLite and on PostgreSQL (emptied before each test)."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    url = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    _truncate_all(engine)
    engine.dispose()
    return url


@pytest.fixture
def engine(db_url) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(sqlite_url) -> Iterator[Engine]:
    engine = make_engine(sqlite_url)
    yield engine
    engine.dispose()
