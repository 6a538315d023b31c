"""Base tables by content hash: kept in memory up to a byte budget, the rest in the store.

Every MSM names its base table by content hash (:func:`zkedge.msm.table_hash`). A table is
added once per coordinator; jobs, recovery and ``FetchBases`` look it up here. With a persistent
store, the least recently used tables leave memory once ``table_memory`` bytes are held and are
read back from the store when needed; an in-memory store keeps them all (it has no other copy).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import NamedTuple

from zkedge.curves import check_group, get_curve
from zkedge.fleet.coordinator.store import Store
from zkedge.msm import table_hash

__all__ = ["Table", "TableCache"]


class Table(NamedTuple):
    """A base table: curve and group names, point count, the points' "mont" bytes."""

    curve: str
    group: str
    n: int
    mont: bytes


class TableCache:
    """Base tables by content hash (see the module docstring)."""

    def __init__(self, store: Store, table_memory: int | None = None) -> None:
        if table_memory is not None and table_memory < 0:
            raise ValueError("table_memory must be >= 0 (or None: no bound)")
        self.store = store
        self.table_memory = table_memory
        self._bytes = 0
        self._tables: OrderedDict[str, Table] = OrderedDict()

    def add(self, curve: str, group: str, mont: bytes, digest: str | None = None) -> str:
        """Store a table (mont bytes) and return its content hash (``digest``: that hash,
        already computed by the caller with :func:`zkedge.msm.table_hash`)."""
        c = get_curve(curve)
        pb = c.point_bytes(check_group(group))
        if not mont or len(mont) % pb:
            raise ValueError(f"bases must be a non-empty multiple of {pb} bytes")
        h = digest if digest is not None else table_hash(c.name, group, mont)
        if self.get(h) is None:
            if self.store.persistent:
                self.store.put_table(h, c.name, group, len(mont) // pb, mont)
            self._keep(h, Table(c.name, group, len(mont) // pb, mont))
        return h

    def get(self, h: str) -> Table | None:
        """The table with this content hash, from memory or the store (None: unknown)."""
        t = self._tables.get(h)
        if t is not None:
            self._tables.move_to_end(h)
            return t
        row = self.store.get_table(h) if self.store.persistent else None
        if row is None:
            return None
        t = Table(*row)
        self._keep(h, t)
        return t

    def in_memory(self) -> list[str]:
        """Hashes of the tables held in memory, least recently used first."""
        return list(self._tables)

    def _keep(self, h: str, t: Table) -> None:
        self._tables[h] = t
        self._bytes += len(t.mont)
        if self.table_memory is None or not self.store.persistent:
            return
        while self._bytes > self.table_memory and len(self._tables) > 1:
            _, old = self._tables.popitem(last=False)
            self._bytes -= len(old.mont)
