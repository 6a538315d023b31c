"""Window tables for a zkey: its point sets' multiples for fixed-base MSMs, in a file of their own.

A Groth16 proof takes five MSMs over bases that never change between proofs. With each base
point's multiples 2^(w c) P stored for every c-bit window w (:class:`zkedge.msm.FixedTable`), an
MSM reduces one set of buckets instead of one per window: the MSMs of a proof do about a fifth
to a quarter less work on one core. The price is disk (or page cache): 16 times a point set's
size at 15-bit windows on BN254. The prover maps the file and gives back each stretch of it as
its MSM passes, so the process's own memory does not grow with it.

Layout (little-endian): a 64-byte header (magic, version, curve id, window, number of sets,
a 32-byte digest binding the file to its zkey), then one 32-byte entry per set (name, group,
point count, offset of its first block, distance between blocks), then the blocks, each
page-aligned: blocks 1..W-1 of the set (block 0 is the zkey's own section).

The digest covers the zkey's header values (curve, sizes, alpha, beta, gamma, delta: a new
ceremony contribution changes delta) and the first and last point of every set. The blocks'
points are not checked one by one on each proof (that would cost what the windows save); the
CLI verifies every proof made with window tables before writing it.
"""

from __future__ import annotations

import errno
import mmap
import os
import struct
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from zkedge.groth16._binfile import FileGuard, FormatError
from zkedge.groth16.zkey import POINT_SECTIONS, PointSet, Zkey

if TYPE_CHECKING:
    from zkedge.msm import BaseTable, FixedTable, MsmStop

__all__ = ["DEFAULT_WINDOW", "WindowFile", "plan_windows", "write_windows"]

MAGIC = b"zkedge windows\x00\x00"
VERSION = 1
HEADER = struct.Struct("<16sIIII32s")  # magic, version, curve id, window, sets, digest
assert HEADER.size == 64
ENTRY = struct.Struct("<4sIQQQ")  # name, group (1 or 2), count, first block's offset, stride
assert ENTRY.size == 32
ALIGN = 65536  # blocks start on a page boundary for 4, 16 and 64 KiB pages
DEFAULT_WINDOW = 15
#: sets in the order they are kept under a size limit: B2 (G2) saves the most per byte
ORDER: tuple[PointSet, ...] = ("B2", "H", "A", "B1", "C")
#: points per native call while writing (bounds the writer's memory: 16 blocks of a stretch)
WRITE_POINTS = 4096


def _align(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


def zkey_digest(zk: Zkey) -> bytes:
    """32 bytes naming a zkey's setup and point sets (see the module docstring)."""
    import hashlib  # here: OpenSSL's load is a local proof's start-up cost otherwise

    h = zk.header
    d = hashlib.sha256()
    head = (h.curve.name, h.n_vars, h.n_public, h.domain_size, h.alpha1, h.beta1, h.beta2)
    d.update(repr((*head, h.gamma2, h.delta1, h.delta2)).encode())
    for which, (_sid, group) in POINT_SECTIONS.items():
        # the section's bytes, or the same bytes as its loaded table once they are released
        raw = zk.raw.get(which)
        if raw is None:
            raw = memoryview(zk.table(which)._data)
        pb = h.curve.point_bytes(group)
        d.update(which.encode() + struct.pack("<Q", len(raw)))
        d.update(raw[:pb])
        d.update(raw[len(raw) - pb :])
    return d.digest()


def plan_windows(
    zk: Zkey,
    window: int = DEFAULT_WINDOW,
    only: Iterable[PointSet] | None = None,
    max_size: int | None = None,
) -> list[PointSet]:
    """The point sets a window file keeps: ``only`` (default all five), then, under
    ``max_size`` bytes of file, in ``ORDER`` those that still fit."""
    from zkedge.msm import fixed_windows

    W = fixed_windows(zk.curve, window)
    if not W:
        raise ValueError(f"window must be between 2 and 15, got {window}")
    wanted = set(POINT_SECTIONS if only is None else only)
    for name in wanted:
        if name not in POINT_SECTIONS:
            raise ValueError(f"unknown point set {name!r}; expected A, B1, B2, C or H")
    size = _align(HEADER.size + ENTRY.size * len(wanted))
    keep: list[PointSet] = []
    for name in ORDER:
        if name not in wanted:
            continue
        pb = zk.curve.point_bytes(POINT_SECTIONS[name][1])
        need = (W - 1) * _align(zk.count(name) * pb)
        if zk.count(name) == 0 or (max_size is not None and size + need > max_size):
            continue
        keep.append(name)
        size += need
    return keep


def write_windows(
    zk: Zkey,
    path: str | os.PathLike[str],
    sets: Sequence[PointSet],
    window: int = DEFAULT_WINDOW,
    threads: int | None = None,
    stop: MsmStop | None = None,
) -> int:
    """Compute the window blocks of ``sets`` and write them to ``path`` (through a temporary
    file renamed at the end: a failure, a full disk included, leaves no partial file). Returns
    the file's size. Memory: a stretch of ``WRITE_POINTS`` points' blocks at a time."""
    from zkedge.msm import fill_fixed_blocks, fixed_windows

    W = fixed_windows(zk.curve, window)
    if not W:
        raise ValueError(f"window must be between 2 and 15, got {window}")
    path = Path(path)
    entries = []
    at = _align(HEADER.size + ENTRY.size * len(sets))
    for name in sets:
        group = POINT_SECTIONS[name][1]
        n = zk.count(name)
        stride = _align(n * zk.curve.point_bytes(group))
        entries.append((name, group, n, at, stride))
        at += (W - 1) * stride
    total = at
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        if hasattr(os, "posix_fallocate"):
            try:
                os.posix_fallocate(fd, 0, total)  # a full disk fails here, not midway
            except OSError as e:
                if e.errno not in (errno.EOPNOTSUPP, errno.EINVAL):  # written below instead
                    raise
        head = HEADER.pack(MAGIC, VERSION, zk.curve.native_id, window, len(sets), zkey_digest(zk))
        body = b"".join(
            ENTRY.pack(name.encode().ljust(4, b"\0"), 1 if g == "G1" else 2, n, off, stride)
            for name, g, n, off, stride in entries
        )
        os.pwrite(fd, head + body, 0)
        for name, _group, n, off, stride in entries:
            table = zk.table(name)
            pb = table.point_bytes
            for i in range(0, n, WRITE_POINTS):
                k = min(WRITE_POINTS, n - i)
                part = _part(table, i, k)
                out = [bytearray(k * pb) for _ in range(W - 1)]
                fill_fixed_blocks(part, window, out, threads, stop)
                for w, blk in enumerate(out):
                    _pwrite_all(fd, blk, off + w * stride + i * pb)
            zk.evict(name)
        os.ftruncate(fd, total)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(tmp, path)
    return total


def _part(table: BaseTable, start: int, count: int) -> BaseTable:
    """Points [start, start + count) of a base table as a table of their own (no copy)."""
    from zkedge.msm import BaseTable

    pb = table.point_bytes
    view = memoryview(table._data)[start * pb : (start + count) * pb]
    return BaseTable(table.curve, table.group, view)


def _pwrite_all(fd: int, data: bytes | bytearray, offset: int) -> None:
    view = memoryview(data)
    while view:
        n = os.pwrite(fd, view, offset)
        view = view[n:]
        offset += n


class WindowFile:
    """A window file opened for one zkey: read-only mapped; :meth:`fixed` gives a point set's
    :class:`zkedge.msm.FixedTable` over the zkey's own table and the mapped blocks."""

    def __init__(self, path: str | os.PathLike[str], zk: Zkey) -> None:
        """Map ``path`` and check it against ``zk``; FormatError if it is not a window file,
        is cut short, or was made for another zkey."""
        from zkedge.msm import fixed_windows

        self.name = str(path)
        self.zkey = zk
        try:
            with open(path, "rb") as f:
                st = os.fstat(f.fileno())
                size = st.st_size
                if size < HEADER.size:
                    raise FormatError(self.name, "too short to be a zkedge window file")
                self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except OSError as e:
            raise FormatError(self.name, e.strerror or str(e)) from None
        # truncated under us: zeros, then an error (FileGuard)
        self.guard = FileGuard(self.name, self._map, st)
        magic, version, curve_id, window, nsets, digest = HEADER.unpack_from(self._map, 0)
        if magic != MAGIC:
            raise FormatError(
                self.name, "not a zkedge window file (`zkedge zkey windows` makes one)"
            )
        if version != VERSION:
            raise FormatError(
                self.name, f"window file version {version}; this zkedge reads {VERSION}"
            )
        if curve_id != zk.curve.native_id:
            raise FormatError(self.name, f"made for another curve than {zk.name}'s {zk.curve.name}")
        W = fixed_windows(zk.curve, window)
        if not W:
            raise FormatError(self.name, f"window {window} is not between 2 and 15")
        self.digest: bytes = digest
        if digest != zkey_digest(zk):
            raise FormatError(
                self.name, f"made for another zkey than {zk.name} (run `zkedge zkey windows` again)"
            )
        if HEADER.size + ENTRY.size * nsets > size:
            raise FormatError(self.name, "cut short (its set entries)")
        self.window = window
        self._sets: dict[PointSet, tuple[int, int]] = {}
        for k in range(nsets):
            raw_name, gid, n, off, stride = ENTRY.unpack_from(
                self._map, HEADER.size + ENTRY.size * k
            )
            name = raw_name.rstrip(b"\0").decode("ascii", "replace")
            if name not in POINT_SECTIONS or name in self._sets:
                raise FormatError(self.name, f"set entry {k}: unknown or repeated set {name!r}")
            group = POINT_SECTIONS[name][1]
            pb = zk.curve.point_bytes(group)
            if gid != (1 if group == "G1" else 2) or n != zk.count(name):
                raise FormatError(self.name, f"set {name}: does not match the zkey's points")
            if off % 8 or stride < n * pb or off + (W - 1) * stride - (stride - n * pb) > size:
                raise FormatError(
                    self.name, f"set {name}: blocks lie outside the file (cut short?)"
                )
            self._sets[name] = (off, stride)

    def bind(self, zk: Zkey) -> WindowFile:
        """This file for another :class:`zkedge.groth16.zkey.Zkey` object of the same zkey (the
        mapping is shared; its tables are ``zk``'s); FormatError if ``zk`` is another zkey."""
        if zk is self.zkey:
            return self
        if zkey_digest(zk) != self.digest:
            raise FormatError(
                self.name, f"made for another zkey than {zk.name} (run `zkedge zkey windows` again)"
            )
        other = object.__new__(WindowFile)
        other.__dict__.update(self.__dict__)
        other.zkey = zk
        return other

    @property
    def sets(self) -> list[PointSet]:
        """The point sets the file has blocks for."""
        return list(self._sets)

    @property
    def nbytes(self) -> int:
        """The file's size."""
        return len(self._map)

    def fixed(self, which: PointSet) -> FixedTable | None:
        """The fixed-base table of ``which`` (None if the file has no blocks for it); the base
        table is the zkey's (loaded and checked as :meth:`zkedge.groth16.zkey.Zkey.table` does)."""
        from zkedge.msm import FixedTable, fixed_windows

        span = self._sets.get(which)
        if span is None:
            return None
        off, stride = span
        table = self.zkey.table(which)
        W = fixed_windows(self.zkey.curve, self.window)
        view = memoryview(self._map)
        blocks = [view[off + w * stride : off + w * stride + table.nbytes] for w in range(W - 1)]
        return FixedTable(table, self.window, blocks, release=True)

    def close(self) -> None:
        """Unmap the file (the tables handed out must not be used afterwards)."""
        try:
            self._map.close()
        except BufferError:  # a FixedTable still holds views; the mapping goes with them
            pass
