"""The worker's cache of task scalars, and the coordinator's mirror of it.

Groth16's A, B1 and B2 MSMs (and C, over most of the range) multiply the same witness scalars:
a worker that gets two of them would receive the same megabytes twice. A worker keeps recent
scalar slices by content hash; the coordinator keeps a mirror with the same byte budget and
applies the same least-recently-used rule to the same sequence (the assignments it sends, in
stream order, which the worker receives in that order), so it knows which slices it may leave
out of an assignment. Should the two ever disagree (a stream broken mid-send), the worker
reports the slice missing and the coordinator sends the task again with its scalars: a
disagreement costs a round trip, never a wrong result.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict


def scalars_hash(data: bytes | memoryview) -> str:
    """Content hash naming a scalar slice on both ends (sha256 hex)."""
    return hashlib.sha256(data).hexdigest()


class SliceLru:
    """Slices by hash within ``capacity`` bytes, least recently used first out.

    The worker stores the bytes; the coordinator's mirror stores only sizes (``data=None``).
    A slice larger than the whole budget is never kept.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = max(0, capacity)
        self.used = 0
        self._items: OrderedDict[str, tuple[int, bytes | None]] = OrderedDict()

    def __contains__(self, key: str) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def put(self, key: str, size: int, data: bytes | None = None) -> None:
        """Insert (or replace) ``key`` as the most recent entry, then evict down to budget."""
        self.discard(key)
        if size > self.capacity:
            return
        self._items[key] = (size, data)
        self.used += size
        while self.used > self.capacity:
            _, (old, _) = self._items.popitem(last=False)
            self.used -= old

    def touch(self, key: str) -> bool:
        """Mark ``key`` most recent; False if it is not held."""
        if key not in self._items:
            return False
        self._items.move_to_end(key)
        return True

    def get(self, key: str) -> bytes | None:
        """The stored bytes of ``key`` (marking it most recent), or None."""
        if not self.touch(key):
            return None
        return self._items[key][1]

    def discard(self, key: str) -> None:
        """Forget ``key`` if held."""
        item = self._items.pop(key, None)
        if item is not None:
            self.used -= item[0]

    def keys(self) -> list[str]:
        """Held keys, least recent first."""
        return list(self._items)
