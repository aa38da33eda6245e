"""Working on many rows at once: ids split for `IN (...)` lists."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import ARRAY, ColumnElement, Integer, any_, bindparam, text
from sqlalchemy import column as sql_column

# Ids per IN (...) list: within SQLite's limit on bound parameters, and quick to plan.
ID_CHUNK = 5_000


def chunked(ids: Sequence[int], size: int = ID_CHUNK) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def in_ids(column: ColumnElement[Any], ids: Sequence[int], dialect: str) -> ColumnElement[bool]:
    """`column IN ids` with the ids as ONE bound parameter (an array on PostgreSQL, a JSON list
    on SQLite): tens of thousands of ids cost neither a statement of as many placeholders to
    compile and parse nor a round trip per chunk."""
    if dialect == "postgresql":
        return column == any_(bindparam("ids", list(ids), type_=ARRAY(Integer)))
    rows = text("SELECT value FROM json_each(:ids)").bindparams(ids=json.dumps(list(ids)))
    return column.in_(rows.columns(sql_column("value", Integer)))
