"""Multi-scalar multiplication over native base tables.

A :class:`BaseTable` holds n affine points in the native 'mont' layout (the snarkjs .zkey layout),
n * point_bytes bytes and nothing more; bases are decoded and checked once when loaded. An MSM
over any sub-range runs in place, without copying, with the GIL released.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable, Sequence

from zkedge import _lib
from zkedge.curves import Curve, Group, Point, check_group, get_curve
from zkedge.ec import _from_be, encode

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (zkedge.record)
if TYPE_CHECKING:
    import mmap
    from typing import TypeVar

    T = TypeVar("T")


class BaseTable:
    """Base points of one group loaded into native memory."""

    __slots__ = ("_data", "_hash", "curve", "group")

    def __init__(self, curve: Curve, group: Group, data: bytes | bytearray | memoryview) -> None:
        """Wrap an already-checked table; use :meth:`from_bytes` or :meth:`from_points`."""
        self.curve = curve
        self.group = group
        self._data = data
        self._hash: str | None = None

    @classmethod
    def from_bytes(
        cls,
        curve: str | Curve,
        group: str,
        data: bytes | bytearray | memoryview,
        encoding: str = "be",
        check: str = "subgroup",
    ) -> BaseTable:
        """Load points from 'be' or 'mont' bytes, checking each ('subgroup', 'curve', 'none').

        'mont' points in a ``bytes`` object or a read-only file mapping are used in place once
        checked (no copy: the layout is the table's, and they cannot change); other inputs are
        copied."""
        c, g = get_curve(curve), check_group(group)
        if encoding == "mont" and _lib.is_fixed(data):
            return cls(c, g, _lib.table_adopt(c, g, data, check))
        return cls(c, g, _lib.table_load(c, g, data, encoding, check))

    @classmethod
    def from_points(cls, curve: str | Curve, group: str, points: Iterable[Point]) -> BaseTable:
        """Load affine point tuples (checked for the subgroup)."""
        c, g = get_curve(curve), check_group(group)
        return cls.from_bytes(c, g, b"".join(encode(c, g, p) for p in points), "be", "subgroup")

    @property
    def point_bytes(self) -> int:
        """Bytes per point."""
        return self.curve.point_bytes(self.group)

    @property
    def n(self) -> int:
        """Number of points."""
        return len(self._data) // self.point_bytes

    @property
    def nbytes(self) -> int:
        """Memory held by the table: exactly n * point_bytes."""
        return len(self._data)

    def __len__(self) -> int:
        return self.n

    def to_bytes(self, start: int = 0, count: int | None = None) -> bytes:
        """Points [start, start+count) in the 'mont' layout (the wire format for bases)."""
        start = _lib.as_int(start, "start")
        count = self.n - start if count is None else _lib.as_int(count, "count")
        if start < 0 or count < 0 or start + count > self.n:
            raise ValueError(
                f"range [{start}, {start + count}) outside the table's {self.n} points"
            )
        pb = self.point_bytes
        return bytes(self._data[start * pb : (start + count) * pb])

    def content_hash(self) -> str:
        """The table's content hash (:func:`table_hash` of its 'mont' bytes), computed once: a
        table never changes, and hashing 2^18 BN254 G1 points takes about 30 ms, which a fleet
        paid on every MSM submitted with the same table."""
        if self._hash is None:
            self._hash = table_hash(self.curve.name, self.group, memoryview(self._data))
        return self._hash

    @property
    def cached_hash(self) -> str | None:
        """:meth:`content_hash` if it was computed already, else None (no hashing here)."""
        return self._hash

    def __repr__(self) -> str:
        return f"BaseTable({self.curve.name}, {self.group}, n={self.n})"


def table_hash(curve: str, group: str, mont: bytes | bytearray | memoryview) -> str:
    """Content hash naming a base table ('mont' bytes) on the wire and in worker caches."""
    import hashlib  # here: OpenSSL's load is a local proof's start-up cost otherwise

    h = hashlib.sha256(f"zkedge-bases:{curve}:{group}:".encode())
    h.update(mont)
    return h.hexdigest()


def scalars_to_bytes(
    curve: str | Curve, scalars: Sequence[int] | bytes | bytearray | memoryview
) -> bytes:
    """Pack scalars as 32-byte little-endian values reduced mod r (bytes pass through)."""
    if isinstance(scalars, bytes | bytearray | memoryview):
        b = bytes(scalars)
        if len(b) % 32:
            raise ValueError(f"scalar bytes must be a multiple of 32, got {len(b)}")
        return b
    r = get_curve(curve).r
    try:
        return b"".join((operator.index(k) % r).to_bytes(32, "little") for k in scalars)
    except (TypeError, ValueError) as e:
        raise ValueError(f"scalars must be integers: {e}") from None


MsmCancelled = _lib.Cancelled
"""Raised by :func:`msm` when its :class:`MsmStop` was set before it finished."""


class MsmStop:
    """A flag that makes a running :func:`msm` give up soon after :meth:`set` is called from
    another thread (the core looks at it every 256 points): the call raises
    :class:`MsmCancelled`. A fleet worker sets it when the coordinator cancels the attempt it
    is computing or when it shuts down, so a long MSM does not hold the board. Once set it
    stays set; one flag may be shared by several calls."""

    __slots__ = ("_flag",)

    def __init__(self) -> None:
        self._flag = bytearray(4)  # read by the C core as an int: any non-zero byte stops it

    def set(self) -> None:
        """Ask every MSM using this flag to stop."""
        self._flag[0] = 1

    def is_set(self) -> bool:
        return self._flag[0] != 0


def _msm_inputs(
    curve: Curve,
    scalars: Sequence[int] | bytes | bytearray | memoryview,
    count: int | None,
    stop: MsmStop | None,
) -> tuple[bytes, int, bytearray | None]:
    """An MSM's scalars as bytes, its count (default: all of them) and its stop flag."""
    sb = scalars_to_bytes(curve, scalars)
    n = len(sb) // 32 if count is None else _lib.as_int(count, "count")
    if stop is not None and not isinstance(stop, MsmStop):
        raise TypeError(f"stop must be an MsmStop, not {type(stop).__name__}")
    return sb, n, None if stop is None else stop._flag


def msm(
    table: BaseTable,
    scalars: Sequence[int] | bytes | bytearray | memoryview,
    start: int = 0,
    count: int | None = None,
    threads: int | None = None,
    window: int | None = None,
    stop: MsmStop | None = None,
) -> Point:
    """sum(scalars[i] * table[start + i] for i < count); count defaults to len(scalars).

    Scalars are ints (reduced mod r) or count*32 little-endian bytes (values >= r reduced).
    ``threads`` None or 0 uses every core the process may run on. ``window`` (1..15) overrides
    the Pippenger window size the core picks from count (see window_size); for tuning and tests.
    ``stop``: an :class:`MsmStop`; setting it makes the call raise :class:`MsmCancelled`.
    """
    sb, count, flag = _msm_inputs(table.curve, scalars, count, stop)
    w = 0
    if window is not None:
        w = _lib.as_int(window, "window")
        if not 1 <= w <= 15:
            raise ValueError(f"window must be between 1 and 15, got {w}")
    be = _lib.msm(
        table.curve,
        table.group,
        table._data,
        start,
        count,
        sb,
        _lib.check_threads(threads),
        w,
        flag,
    )
    return _from_be(table.curve, table.group, be)


class FixedTable:
    """A base table with window multiples of its points, for :func:`msm_fixed`: block w holds
    every point times 2^(w * window), block 0 is the table itself. An MSM over them fills one
    set of buckets from all windows, reduced once, with no doublings between windows: on
    BN254 at 15-bit windows, 16 blocks more than the table for about a fifth less work.

    ``blocks`` are the blocks from 1 up, each the table's size in its layout (from
    :meth:`compute`, or mapped from a file that holds them). ``release`` (only for blocks in
    a read-only file mapping) makes each MSM give back the blocks' pages as it passes them,
    so the process holds about one stretch of a block per thread, not every block it read."""

    __slots__ = ("blocks", "release", "table", "window")

    def __init__(
        self,
        table: BaseTable,
        window: int,
        blocks: Sequence[bytes | bytearray | memoryview],
        release: bool = False,
    ) -> None:
        want = fixed_windows(table.curve, window)
        if not want:
            raise ValueError(f"window must be between 2 and 15, got {window}")
        if len(blocks) != want - 1:
            raise ValueError(f"{window}-bit windows need {want - 1} blocks, got {len(blocks)}")
        if any(len(b) != table.nbytes for b in blocks):
            raise ValueError(f"every block must be {table.nbytes} bytes (the table's size)")
        if release and not all(_lib.is_mapped(b) for b in blocks):
            raise ValueError("release is only for blocks in a read-only file mapping")
        self.table = table
        self.window = window
        self.blocks = list(blocks)
        self.release = release

    @classmethod
    def compute(cls, table: BaseTable, window: int = 15, threads: int | None = None) -> FixedTable:
        """The blocks of ``table`` computed in memory."""
        want = fixed_windows(table.curve, window)
        if not want:
            raise ValueError(f"window must be between 2 and 15, got {window}")
        blocks = [bytearray(table.nbytes) for _ in range(want - 1)]
        fill_fixed_blocks(table, window, blocks, threads)
        return cls(table, window, blocks)

    @property
    def nbytes(self) -> int:
        """Bytes of the blocks above the table."""
        return sum(len(b) for b in self.blocks)

    def __repr__(self) -> str:
        return f"FixedTable({self.table!r}, window={self.window}, blocks={len(self.blocks)})"


def fixed_windows(curve: str | Curve, window: int) -> int:
    """Blocks (the table included) of a fixed-base table with ``window``-bit windows; 0 when
    the window is outside 2..15."""
    return _lib.msm_fixed_windows(get_curve(curve), window)


def fill_fixed_blocks(
    table: BaseTable,
    window: int,
    out: Sequence[bytearray | memoryview],
    threads: int | None = None,
    stop: MsmStop | None = None,
) -> None:
    """Write the blocks above ``table`` into ``out`` (writable, the table's size each): block
    w - 1 gets every point times 2^(w * window). ``out`` may be a writable file mapping."""
    _lib.msm_fixed_blocks(
        table.curve,
        table.group,
        table._data,
        window,
        list(out),
        _lib.check_threads(threads),
        None if stop is None else stop._flag,
    )


def msm_fixed(
    ft: FixedTable,
    scalars: Sequence[int] | bytes | bytearray | memoryview,
    start: int = 0,
    count: int | None = None,
    threads: int | None = None,
    stop: MsmStop | None = None,
) -> Point:
    """:func:`msm` over ``ft.table``, with its window blocks (same result, less work)."""
    t = ft.table
    sb, count, flag = _msm_inputs(t.curve, scalars, count, stop)
    be = _lib.msm_fixed(
        t.curve,
        t.group,
        [t._data, *ft.blocks],
        ft.window,
        start,
        count,
        sb,
        _lib.check_threads(threads),
        ft.release,
        flag,
    )
    return _from_be(t.curve, t.group, be)


async def run_stoppable(fn: Callable[[MsmStop], T], stop: MsmStop | None = None) -> T:
    """``fn(stop)`` in a worker thread, for trio code; ``fn`` passes ``stop`` to its MSMs. If
    the caller is cancelled, the thread is abandoned and ``stop`` (made here if not given) set,
    so its MSM ends within about 256 points instead of holding the cores until done."""
    import trio

    stop = MsmStop() if stop is None else stop
    try:
        return await trio.to_thread.run_sync(fn, stop, abandon_on_cancel=True)
    except BaseException:
        stop.set()
        raise


async def msm_in_thread(
    table: BaseTable,
    scalars: Sequence[int] | bytes | bytearray | memoryview,
    start: int = 0,
    count: int | None = None,
    threads: int | None = None,
    stop: MsmStop | None = None,
) -> Point:
    """:func:`msm` through :func:`run_stoppable`: cancelling the caller stops the MSM."""
    return await run_stoppable(
        functools.partial(msm, table, scalars, start, count, threads, None), stop
    )


def msm_points(
    curve: str | Curve,
    group: str,
    points: Sequence[Point],
    scalars: Sequence[int],
    threads: int | None = None,
) -> Point:
    """One-off MSM over a list of point tuples."""
    if len(points) != len(scalars):
        raise ValueError(f"{len(points)} points but {len(scalars)} scalars")
    return msm(BaseTable.from_points(curve, group, points), scalars, threads=threads)


def available_cores() -> int:
    """The cores this process may run on: what ``threads`` None or 0 uses (the native
    core's own count, from the process's CPU affinity)."""
    return _lib.cpu_count()


def window_size(curve: str | Curve, count: int, threads: int | None = None) -> int:
    """Pippenger window the native core chooses for ``count`` points on ``threads`` threads
    (as :func:`msm` takes them: None or 0 is every core). :func:`msm` counts the points whose
    scalar is not 0: zeros cost no addition."""
    return _lib.msm_window(get_curve(curve), count, threads)


def window_plan(curve: str | Curve, count: int, threads: int | None = 1) -> tuple[int, ...]:
    """The widths of the windows that cover every scalar of ``curve`` (bits [0, r_bits + 1):
    the top bit is the last signed digit's carry) for an MSM of ``count`` points on ``threads``
    threads, as :func:`msm` chooses them for full-size scalars: c or c - 1 bits each, every
    window as many additions. The fleet splits an MSM by these windows (:func:`msm_windows`)."""
    cv = get_curve(curve)
    c = _lib.msm_window(cv, max(1, count), threads)
    total = cv.r.bit_length() + 1
    nwin = -(-total // c)
    base, extra = divmod(total, nwin)
    return tuple(base + (k < extra) for k in range(nwin))


def scalar_window_bits(
    curve: str | Curve, scalars: bytes | bytearray | memoryview, lo: int, hi: int
) -> bytes:
    """The values a window-split task over scalar bits [lo, hi) takes (see :func:`msm_windows`):
    each scalar's bits [lo - 1, hi) (bit -1 is 0) as ceil((hi - lo + 1) / 8) bytes, LE. Scalars
    are 32-byte LE; values >= r are reduced first."""
    return _lib.scalar_window_bits(get_curve(curve), scalars, lo, hi)


def scalar_window_bits_many(
    curve: str | Curve,
    scalars: bytes | bytearray | memoryview,
    tasks: Sequence[tuple[int, int, int, int]],
) -> list[memoryview]:
    """:func:`scalar_window_bits` of several tasks, (start, count, lo, hi) each (scalars
    [start, start + count), bits [lo, hi)), in one pass over the scalars, as read-only views
    of one buffer (it lives as long as any of them)."""
    return _lib.scalar_window_bits_many(get_curve(curve), scalars, tasks)


def window_values_bytes(lo: int, hi: int) -> int:
    """Bytes of one value of a window-split task over scalar bits [lo, hi)."""
    return _lib.window_values_stride(lo, hi)


def msm_windows(
    table: BaseTable,
    values: bytes | bytearray | memoryview,
    lo: int,
    widths: Sequence[int],
    start: int = 0,
    count: int | None = None,
    threads: int | None = None,
    stop: MsmStop | None = None,
) -> Point:
    """One task of an MSM split by windows: the part of sum(s_i * table[start + i]) that the
    windows ``widths`` (bits each, from bit ``lo``) carry, with ``values`` from
    :func:`scalar_window_bits` (count defaults to all of them). Tasks whose windows together
    cover :func:`window_plan` sum to the whole MSM: each worker of a fleet holds the whole
    table and computes some windows over every point, at the full MSM's cost per point."""
    lo = _lib.as_int(lo, "lo")
    stride = _lib.window_values_stride(lo, lo + sum(int(w) for w in widths))
    if count is None:
        count = len(values) // stride
    if stop is not None and not isinstance(stop, MsmStop):
        raise TypeError(f"stop must be an MsmStop, not {type(stop).__name__}")
    be = _lib.msm_windows(
        table.curve,
        table.group,
        table._data,
        start,
        count,
        values,
        lo,
        widths,
        _lib.check_threads(threads),
        None if stop is None else stop._flag,
    )
    return _from_be(table.curve, table.group, be)


def pack_scalars(scalars: bytes | bytearray | memoryview) -> bytes:
    """Scalars (32-byte LE) in the packed encoding the fleet sends when it is shorter: each a
    length byte L (0..32), then its L low bytes (the rest are zero). A circom witness is mostly
    small values, so it packs to a fraction of its 32 bytes a value."""
    return _lib.scalars_pack(scalars)


def unpack_scalars(packed: bytes | bytearray | memoryview, n: int) -> bytes:
    """The 32 * n bytes of ``n`` packed scalars; ValueError when ``packed`` is not exactly n."""
    return _lib.scalars_unpack(packed, n)


def packed_block_bytes(scalars: bytes | bytearray | memoryview, block: int) -> list[int]:
    """For each ``block`` scalars, the bytes of their packing (the fleet's transfer estimate)."""
    return _lib.scalars_packed_blocks(scalars, block)


def scalar_block_counts(scalars: bytes | bytearray | memoryview, block: int) -> list[int]:
    """For each ``block`` scalars (32-byte LE), how many are 2^64 or more: what an MSM over
    that slice costs beyond its small scalars (the fleet's task sizing counts it)."""
    return _lib.scalar_block_counts(scalars, block)


def guard_mapping(mapped: mmap.mmap) -> int:
    """Guard a read-only file mapping whose pages base tables are read from: a file truncated
    under it reads as zeros past its new end instead of SIGBUS ending the process (the native
    core's handler; :func:`mapping_hit` then says so). The guard's slot, or -1 when the mapping
    cannot be guarded. ``zkedge.groth16`` guards the zkeys and window files it maps."""
    return _lib.guard_mapping(mapped)


def mapping_hit(slot: int) -> bool:
    """Whether the mapping guarded in ``slot`` read past its file's end."""
    return _lib.guard_hit(slot)


def unguard_mapping(slot: int) -> None:
    """Free a guard's slot (before, or as, its mapping goes away)."""
    _lib.guard_release(slot)
