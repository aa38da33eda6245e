"""Alembic: the migrations build the schema from nothing and match the models exactly."""

from __future__ import annotations

import uuid

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

import pec_tui.db.models  # noqa: F401  (the tables the migrations must produce)
from pec_tui.db import search_index
from pec_tui.db.engine import alembic_config, current_revision, head_revision, make_engine, upgrade

MODEL_TABLES = set(SQLModel.metadata.tables)


def _tables(engine) -> set[str]:
    """The tables, less the word search's own (FTS5 on SQLite, migration 0008;
    `mailbox_search` on PostgreSQL, migration 0010)."""
    names = set(inspect(engine).get_table_names())
    return {
        name
        for name in names
        if not name.startswith(search_index.SQLITE_TABLE_PREFIX)
        and name != search_index.POSTGRES_TABLE
    }


def _check_from_empty(engine) -> None:
    assert current_revision(engine) is None
    assert _tables(engine) == set()

    upgrade(engine)

    assert current_revision(engine) == head_revision()
    assert _tables(engine) == MODEL_TABLES | {"alembic_version"}
    _alembic_check(engine)

    cfg = alembic_config(engine)
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "base")
    assert _tables(engine) == {"alembic_version"}
    upgrade(engine)
    assert current_revision(engine) == head_revision()


def _alembic_check(engine) -> None:
    """`alembic check`: raises if the models differ from what the migrations built."""
    cfg = alembic_config(engine)
    with engine.connect() as connection:
        cfg.attributes["connection"] = connection
        command.check(cfg)


def test_sqlite_upgrade_from_an_empty_file(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    _check_from_empty(engine)
    engine.dispose()


@pytest.mark.postgres
def test_postgres_upgrade_from_an_empty_schema(postgres_url):
    # `postgres_url` (already migrated) makes sure the server is there; this test builds
    # its own empty schema beside it.
    from conftest import PG_URL

    schema = f"pecmig_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    engine = make_engine(f"{PG_URL}{sep}options=-csearch_path%3D{schema}")
    try:
        _check_from_empty(engine)
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_models_and_migrations_agree(engine):
    _alembic_check(engine)


# --- the audit trail is append-only in the database itself -------------------------------


def _one_event(engine) -> None:
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO audit_event (at, actor, action, outcome) VALUES (:at, 'x', 'a', 'ok')"
            ),
            {"at": "2026-12-01 10:00:00"},
        )


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_event SET actor = 'someone else'", "DELETE FROM audit_event"],
)
def test_plain_sql_cannot_change_or_delete_an_audit_row(engine, statement):
    from sqlalchemy.exc import DatabaseError

    _one_event(engine)
    with pytest.raises(DatabaseError, match="append-only"), engine.begin() as connection:
        connection.execute(text(statement))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT actor FROM audit_event")).scalars().all() == ["x"]


@pytest.mark.postgres
def test_truncate_of_the_audit_trail_is_refused_on_postgres(postgres_url):
    from sqlalchemy.exc import DatabaseError

    engine = make_engine(postgres_url)
    try:
        with pytest.raises(DatabaseError, match="append-only"), engine.begin() as connection:
            connection.execute(text("TRUNCATE audit_event"))
    finally:
        engine.dispose()


def test_the_demo_wipe_lifts_the_triggers_only_inside_its_transaction(engine):
    from sqlalchemy.exc import DatabaseError

    from pec_tui.db import audit_guard

    _one_event(engine)
    with (  # a wipe that fails
        pytest.raises(RuntimeError),
        engine.begin() as connection,
        audit_guard.lifted(connection),
    ):
        connection.execute(text("DELETE FROM audit_event"))
        raise RuntimeError("the wipe broke")
    with pytest.raises(DatabaseError, match="append-only"), engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_event"))  # the rollback brought them back
    with engine.begin() as connection, audit_guard.lifted(connection):
        connection.execute(text("DELETE FROM audit_event"))
    _one_event(engine)
    with pytest.raises(DatabaseError, match="append-only"), engine.begin() as connection:
        connection.execute(text("UPDATE audit_event SET actor = 'y'"))  # and after it, too


def test_the_lease_migration_marks_drafts_begun_at_the_kiosk(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0003")
    with engine.begin() as connection:
        for order_id, actor in ((1, "kiosk:mario.rossi@pec.it"), (2, "anna")):
            connection.execute(
                text(
                    "INSERT INTO orders (id, type, status, created_at, updated_at, years,"
                    " auto_renew, net_cents, vat_cents, gross_cents, auto_generated, version)"
                    " VALUES (:id, 'rinnovo', 'Bozza', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP,"
                    " 1, 0, 0, 0, 0, 0, 1)"
                ),
                {"id": order_id},
            )
            connection.execute(
                text(
                    "INSERT INTO audit_event (at, actor, action, entity, entity_id, outcome)"
                    " VALUES (CURRENT_TIMESTAMP, :actor, 'draft.start', 'order', :id, 'ok')"
                ),
                {"actor": actor, "id": str(order_id)},
            )
    upgrade(engine)
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT id, kiosk, lease_holder FROM orders ORDER BY id")
        ).all()
    assert [tuple(r) for r in rows] == [(1, True, None), (2, False, None)]
    engine.dispose()


def test_the_notice_index_migration_keeps_the_notices_and_the_once_rule(db_url):
    """0013 puts `uq_notice_once` in the job's page order (kind, expiry, mailbox_id); on
    SQLite by rebuilding the table: the notices recorded before are all kept."""
    from datetime import date

    from book_builder import add_holder, add_mailbox
    from sqlalchemy.exc import IntegrityError

    engine = make_engine(db_url)
    cfg = alembic_config(engine)
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0012")
    holder = add_holder(engine)
    boxes = [add_mailbox(engine, holder, f"box{i}@pec.it", date(2027, 1, 1 + i)) for i in range(3)]
    notices = [
        (box, kind, f"2027-01-0{1 + i}", "2026-12-02")
        for i, box in enumerate(boxes)
        for kind in ("reminder_30", "suspended")
    ]
    insert = text(
        "INSERT INTO sent_notice (mailbox_id, kind, expiry, sent_on, created_at)"
        " VALUES (:m, :k, :e, :s, CURRENT_TIMESTAMP)"
    )
    with engine.begin() as connection:
        for m, k, e, s in notices:
            connection.execute(insert, {"m": m, "k": k, "e": date.fromisoformat(e), "s": s})

    upgrade(engine)

    assert current_revision(engine) == head_revision()
    (unique,) = inspect(engine).get_unique_constraints("sent_notice")
    assert unique["name"] == "uq_notice_once"
    assert unique["column_names"] == ["kind", "expiry", "mailbox_id"]
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT mailbox_id, kind, expiry, sent_on FROM sent_notice ORDER BY id")
        ).all()
    assert [(m, k, str(e), str(s)) for m, k, e, s in rows] == notices
    with pytest.raises(IntegrityError), engine.begin() as connection:
        m, k, e, s = notices[3]
        connection.execute(insert, {"m": m, "k": k, "e": date.fromisoformat(e), "s": s})
    engine.dispose()
