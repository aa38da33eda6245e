"""Alembic environment: runs on the connection or engine handed over by `pec_tui.db.engine`."""

from alembic import context
from sqlalchemy import Connection, ForeignKeyConstraint, engine_from_config, pool
from sqlmodel import SQLModel

import pec_tui.db.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from pec_tui.db import reference_checks, search_index

config = context.config
target_metadata = SQLModel.metadata


def _include_name(name: str | None, type_: str, _parents: object) -> bool:
    """Leave out the word-search tables, which no model declares (migrations 0008, 0010)."""
    if name is None:
        return True
    if type_ == "table":
        return not (
            name.startswith(search_index.SQLITE_TABLE_PREFIX) or name == search_index.POSTGRES_TABLE
        )
    return True


def _include_object(
    obj: object, _name: str | None, type_: str, _reflected: bool, _compare_to: object
) -> bool:
    """On PostgreSQL, leave out the four foreign keys that migration 0014 replaced by
    statement triggers (`reference_checks`): the models declare them (SQLite has them, and
    they order the tables), the database enforces them otherwise."""
    if type_ != "foreign_key_constraint" or context.get_context().dialect.name != "postgresql":
        return True
    assert isinstance(obj, ForeignKeyConstraint)
    return not reference_checks.checked_by_triggers(
        obj.parent.name, [column.name for column in obj.columns], obj.referred_table.name
    )


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=_include_name,
        include_object=_include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    engine = config.attributes.get("engine")
    if engine is None:
        engine = engine_from_config(
            config.get_section(config.config_ini_section, {}),
            prefix="sqlalchemy.",
            poolclass=pool.NullPool,
        )
    with engine.connect() as connection:
        _configure(connection)
        connection.commit()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
