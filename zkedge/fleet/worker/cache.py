"""On-disk cache of base-point blocks by table content hash, bounded in bytes, LRU.

A block is ``block_points`` consecutive points of a table (the coordinator tells the size at
registration); it is stored as one file named ``<table hash>.<block_points>.<index>`` written
atomically (temp file + rename), and its recency is the file's mtime, so the LRU order survives
restarts. A small in-memory layer keeps the hottest blocks so back-to-back tasks skip the disk;
a task's whole range of blocks is kept there joined (:meth:`BaseCache.run`), so the next task
on the same range, or on a part of it, gets its bases without joining them again (8 MB for
2^17 BN254 points).
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path

from zkedge.fleet.proto.coordinator.v1 import CachedRange

__all__ = ["BaseCache"]

Key = tuple[str, int, int]  # (table hash, block points, block index)
RunKey = tuple[str, int, int, int]  # (table hash, block points, first index, last index)


class BaseCache:
    """Blocks of base points by (table hash, block size, index)."""

    def __init__(
        self, directory: str | Path, max_bytes: int = 1 << 30, memory_bytes: int = 64 << 20
    ) -> None:
        if max_bytes <= 0 or memory_bytes < 0:
            raise ValueError("cache sizes must be positive")
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self.memory_bytes = memory_bytes
        # The worker writes blocks from a thread (put) while its event loop reads (get, run):
        # the lock keeps the bookkeeping below whole; file writes happen outside it.
        self._lock = threading.RLock()
        self._index: OrderedDict[Key, int] = OrderedDict()  # oldest first -> file size
        self._hot: OrderedDict[Key, bytes] = OrderedDict()
        # joined runs of blocks in memory with the size of their (full) blocks (their blocks
        # are not in _hot as well), and the run each such block is in; runs never overlap
        self._runs: OrderedDict[RunKey, tuple[bytes, int]] = OrderedDict()
        self._in_run: dict[Key, RunKey] = {}
        self._hot_bytes = 0  # _hot and _runs together, at most memory_bytes
        self.total_bytes = 0
        entries = []
        for p in self.dir.iterdir():
            key = self._parse(p.name)
            if key is None:
                if p.name.startswith(".tmp"):
                    p.unlink(missing_ok=True)  # a crash mid-write
                continue
            try:
                st = p.stat()
            except OSError:
                continue
            entries.append((st.st_mtime_ns, key, st.st_size))
        for _, key, size in sorted(entries):
            self._index[key] = size
            self.total_bytes += size
        self._evict()

    @staticmethod
    def _parse(name: str) -> Key | None:
        parts = name.split(".")
        if len(parts) != 3 or len(parts[0]) != 64 or not (parts[1] + parts[2]).isdigit():
            return None
        return parts[0], int(parts[1]), int(parts[2])

    def _path(self, key: Key) -> Path:
        return self.dir / f"{key[0]}.{key[1]}.{key[2]}"

    def get(self, table_hash: str, block_points: int, index: int) -> bytes | None:
        """A cached block (and mark it recently used), or None."""
        with self._lock:
            return self._get(table_hash, block_points, index)

    def _get(self, table_hash: str, block_points: int, index: int) -> bytes | None:
        key = (table_hash, block_points, index)
        data = self._hot.get(key)
        if data is not None:
            self._hot.move_to_end(key)
            self._index.move_to_end(key)
            return data
        rk = self._in_run.get(key)
        if rk is not None:
            self._runs.move_to_end(rk)
            self._index.move_to_end(key)
            run, size = self._runs[rk]
            off = (index - rk[2]) * size
            return bytes(memoryview(run)[off : off + size])
        if key not in self._index:
            return None
        try:
            data = self._path(key).read_bytes()
            os.utime(self._path(key))
        except OSError:
            self._drop(key)
            return None
        self._index.move_to_end(key)
        self._remember(key, data)
        return data

    def run(
        self, table_hash: str, block_points: int, first: int, last: int
    ) -> tuple[bytes, int] | None:
        """Blocks ``first..last`` of a table as one buffer and the index of the block it
        starts at (``first``, or earlier when a run held in memory covers them), or None when
        one is not cached. A run joined here stays in memory in place of its blocks (when it
        fits in the memory layer), so asking for it or a part of it again costs no copy."""
        with self._lock:
            return self._run(table_hash, block_points, first, last)

    def _run(
        self, table_hash: str, block_points: int, first: int, last: int
    ) -> tuple[bytes, int] | None:
        rk = self._in_run.get((table_hash, block_points, first))
        if rk is not None and rk[3] >= last:
            self._runs.move_to_end(rk)
            for i in range(first, last + 1):
                self._index.move_to_end((table_hash, block_points, i))
            return self._runs[rk][0], rk[2]
        blocks = []
        for i in range(first, last + 1):
            b = self._get(table_hash, block_points, i)
            if b is None:
                return None
            blocks.append(b)
        data = b"".join(blocks)
        size = len(blocks[0])
        if len(data) > self.memory_bytes or any(len(b) != size for b in blocks[:-1]):
            return data, first  # (only a table's last block is short)
        rk = (table_hash, block_points, first, last)
        for i in range(first, last + 1):
            key = (table_hash, block_points, i)
            old = self._in_run.get(key)
            if old is not None:
                self._drop_run(old)
            d = self._hot.pop(key, None)
            if d is not None:
                self._hot_bytes -= len(d)
        for i in range(first, last + 1):
            self._in_run[(table_hash, block_points, i)] = rk
        self._runs[rk] = (data, size)
        self._hot_bytes += len(data)
        self._shrink()
        return data, first

    def _drop_run(self, rk: RunKey) -> None:
        held = self._runs.pop(rk, None)
        if held is None:
            return
        self._hot_bytes -= len(held[0])
        for i in range(rk[2], rk[3] + 1):
            if self._in_run.get((rk[0], rk[1], i)) == rk:
                del self._in_run[(rk[0], rk[1], i)]

    def _shrink(self) -> None:
        """Single blocks leave memory first, then the least recently used runs."""
        while self._hot_bytes > self.memory_bytes and self._hot:
            _, d = self._hot.popitem(last=False)
            self._hot_bytes -= len(d)
        while self._hot_bytes > self.memory_bytes and self._runs:
            self._drop_run(next(iter(self._runs)))

    def put(self, table_hash: str, block_points: int, index: int, data: bytes) -> None:
        """Store a block (atomically), evicting least recently used blocks beyond the bound."""
        key = (table_hash, block_points, index)
        if len(table_hash) != 64:
            raise ValueError("table hash must be 64 hex characters")
        fd, tmp = tempfile.mkstemp(prefix=".tmp", dir=self.dir)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, self._path(key))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        with self._lock:
            if key in self._index:
                self.total_bytes -= self._index[key]
            self._index[key] = len(data)
            self._index.move_to_end(key)
            self.total_bytes += len(data)
            self._remember(key, data)
            self._evict()

    def _remember(self, key: Key, data: bytes) -> None:
        if len(data) > self.memory_bytes or key in self._in_run:
            return  # (a block's bytes never change: the table hash names its content)
        old = self._hot.pop(key, None)
        if old is not None:
            self._hot_bytes -= len(old)
        self._hot[key] = data
        self._hot_bytes += len(data)
        self._shrink()

    def _drop(self, key: Key) -> None:
        size = self._index.pop(key, None)
        if size is not None:
            self.total_bytes -= size
        d = self._hot.pop(key, None)
        if d is not None:
            self._hot_bytes -= len(d)
        rk = self._in_run.get(key)
        if rk is not None:
            self._drop_run(rk)
        self._path(key).unlink(missing_ok=True)

    def _evict(self) -> None:
        while self.total_bytes > self.max_bytes and self._index:
            self._drop(next(iter(self._index)))

    def __contains__(self, key: Key) -> bool:
        with self._lock:
            return key in self._index

    def ranges(self) -> list[CachedRange]:
        """Cached points as contiguous ranges per table (sent when registering)."""
        by_table: dict[tuple[str, int], list[int]] = {}
        with self._lock:
            keys = list(self._index)
        for h, bp, idx in keys:
            by_table.setdefault((h, bp), []).append(idx)
        out = []
        for (h, bp), idxs in sorted(by_table.items()):
            idxs.sort()
            run_start = prev = idxs[0]
            for i in [*idxs[1:], None]:
                if i is not None and i == prev + 1:
                    prev = i
                    continue
                out.append(
                    CachedRange(
                        table_hash=h, start=run_start * bp, count=(prev - run_start + 1) * bp
                    )
                )
                if i is not None:
                    run_start = prev = i
        return out
