"""Working on many rows at once: ids split for `IN (...)` lists."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

# Ids per IN (...) list: within SQLite's limit on bound parameters, and quick to plan.
ID_CHUNK = 5_000


def chunked(ids: Sequence[int], size: int = ID_CHUNK) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]
