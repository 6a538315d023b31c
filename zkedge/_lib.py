"""The one module that touches the compiled cffi extension.

It checks lengths before calling C (C checks them again), turns error codes into Python
exceptions, and hands back ``bytes`` or ints, never cffi objects. ``ZKEDGE_NATIVE=32`` selects
the forced 32-bit-limb build (the code path of armv6/armv7 boards) for testing.
"""

from __future__ import annotations

import importlib
import mmap
import operator
import os

from zkedge.curves import Curve, Group, check_group, get_curve

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (zkedge.record)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any, TypeGuard

_mod: Any = importlib.import_module(
    "zkedge._native32" if os.environ.get("ZKEDGE_NATIVE", "") == "32" else "zkedge._native"
)

ffi: Any = _mod.ffi
lib: Any = _mod.lib
_UNZEROED: Any = ffi.new_allocator(should_clear_after_alloc=False)
MODULE_NAME: str = _mod.__name__

ENC = {"be": lib.ZK_ENC_BE, "mont": lib.ZK_ENC_MONT}
CHECK = {"none": lib.ZK_CHECK_NONE, "curve": lib.ZK_CHECK_CURVE, "subgroup": lib.ZK_CHECK_SUBGROUP}
FIELDS = {"fp": lib.ZK_FP, "fr": lib.ZK_FR, "fp2": lib.ZK_FP2}
FIELD_OPS = {
    "add": lib.ZK_OP_ADD,
    "sub": lib.ZK_OP_SUB,
    "neg": lib.ZK_OP_NEG,
    "mul": lib.ZK_OP_MUL,
    "sqr": lib.ZK_OP_SQR,
    "inv": lib.ZK_OP_INV,
    "to_mont": lib.ZK_OP_TO_MONT,
    "from_mont": lib.ZK_OP_FROM_MONT,
}
POINT_OPS = {
    "add": lib.ZK_PT_ADD,
    "dbl": lib.ZK_PT_DBL,
    "neg": lib.ZK_PT_NEG,
    "mul": lib.ZK_PT_MUL,
    "add_mixed": lib.ZK_PT_ADD_MIXED,
}

_MESSAGES = {
    lib.ZK_EINVAL: "invalid argument (curve, group, field, operation or encoding)",
    lib.ZK_ELEN: "buffer length does not match",
    lib.ZK_ENOTONCURVE: "point is not on the curve",
    lib.ZK_ENOTINSUBGROUP: "point is not in the prime-order subgroup",
    lib.ZK_ERANGE: "value out of range (not below the modulus, or index out of range)",
    lib.ZK_ENOINV: "zero has no inverse",
}


class Cancelled(Exception):
    """A native call gave up because its stop flag was set (ZK_ECANCELLED)."""


class NativeError(ValueError):
    """A native call rejected its input; ``code`` is the C error code."""

    def __init__(self, code: int, what: str) -> None:
        super().__init__(f"{what}: {_MESSAGES.get(code, f'native error {code}')}")
        self.code = code


def _check(rc: int, what: str) -> None:
    if rc == lib.ZK_OK:
        return
    if rc == lib.ZK_ENOMEM:
        raise MemoryError(f"{what}: out of memory")
    if rc == lib.ZK_ECANCELLED:
        raise Cancelled(f"{what}: stopped before it finished")
    if rc in _MESSAGES:
        raise NativeError(rc, what)
    raise RuntimeError(f"{what}: native error {rc}")


def _enc(encoding: str) -> int:
    try:
        return int(ENC[encoding])
    except KeyError:
        raise ValueError(f"unknown encoding {encoding!r}; expected 'be' or 'mont'") from None


def _level(check: str) -> int:
    try:
        return int(CHECK[check])
    except KeyError:
        raise ValueError(
            f"unknown check {check!r}; expected 'none', 'curve' or 'subgroup'"
        ) from None


def _gid(group: str) -> int:
    return 1 if check_group(group) == "G1" else 2


def check_threads(threads: int | None) -> int:
    """Validate a thread count (None or 0: all cores); the native core caps it at the cores."""
    if threads is None:
        return 0
    try:
        t = operator.index(threads)
    except TypeError:
        raise ValueError(f"threads must be an integer, got {threads!r}") from None
    if not 0 <= t < 2**31:
        raise ValueError(f"threads must be >= 0 (0: all cores), got {t}")
    return t


def as_int(value: object, what: str) -> int:
    """An int from an int-like value (no floats, no strings), else ValueError."""
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise ValueError(f"{what} must be an integer, got {value!r}") from None


def as_size(value: object, what: str) -> int:
    """A non-negative machine-size int (a count, index or length), else ValueError."""
    v = as_int(value, what)
    if not 0 <= v < 2**62:
        raise ValueError(f"{what} must be between 0 and 2^62, got {v}")
    return v


def limb_bits() -> int:
    """Limb width of the loaded build: 64, or 32 (armv6/armv7 or forced)."""
    return int(lib.zk_limb_bits())


def asm_name() -> str:
    """Assembly used for field multiplication ("x86-64 mulx/adx", "aarch64 mul/umulh"), or
    "none" for portable C."""
    return str(ffi.string(lib.zk_asm_name()).decode())


def set_asm(on: bool) -> bool:
    """Use the assembly multiplication (when the CPU has it) or the portable C one; for tests
    and benchmarks that compare the two. Returns whether assembly is now in use."""
    return bool(lib.zk_asm_set(1 if on else 0))


def set_ifma(on: bool | None = None) -> bool:
    """Use the 8-lane AVX-512 IFMA code (the additions of BN254 G1 and G2 MSMs, BN254's coset
    NTT) when the build and the CPU have it, or not; None just asks. For tests and benchmarks
    that compare the two paths. Returns whether it is now in use."""
    return bool(lib.zk_ifma_set(-1 if on is None else 1 if on else 0))


def compiler() -> str:
    """Compiler that built the native core."""
    return str(ffi.string(lib.zk_compiler()).decode())


def cpu_count() -> int:
    """Cores the native core will use by default (respects the affinity mask)."""
    return int(lib.zk_cpu_count())


def field_bytes(curve: Curve, field: str) -> int:
    """Bytes of one element of ``field`` ('fp', 'fr' or 'fp2')."""
    if field not in FIELDS:
        raise ValueError(f"unknown field {field!r}; expected 'fp', 'fr' or 'fp2'")
    return int(lib.zk_field_bytes(curve.native_id, FIELDS[field]))


def field_op(curve: Curve, field: str, op: str, a: bytes, b: bytes | None = None) -> bytes:
    """One field operation on little-endian standard-form encodings."""
    n = field_bytes(curve, field)
    if op not in FIELD_OPS:
        raise ValueError(f"unknown field operation {op!r}")
    if len(a) != n or (b is not None and len(b) != n):
        raise ValueError(f"{curve}.{field}: operands must be {n} bytes")
    out = ffi.new("uint8_t[]", n)
    bb = b if b is not None else b""
    rc = lib.zk_field_op(
        curve.native_id, FIELDS[field], FIELD_OPS[op], a, len(a), bb, len(bb), out, n
    )
    _check(rc, f"{curve}.{field}.{op}")
    return bytes(ffi.buffer(out, n))


def point_op(
    curve: Curve, group: Group, op: str, a: bytes, b: bytes | None = None, k: bytes | None = None
) -> bytes:
    """One group operation on 'be'-encoded affine points."""
    n = curve.point_bytes(group)
    if op not in POINT_OPS:
        raise ValueError(f"unknown point operation {op!r}")
    if len(a) != n or (b is not None and len(b) != n):
        raise ValueError(f"{curve} {group}: points must be {n} bytes")
    if k is not None and len(k) != 32:
        raise ValueError("scalar must be 32 bytes")
    out = ffi.new("uint8_t[]", n)
    bb = b if b is not None else b""
    kk = k if k is not None else b""
    rc = lib.zk_point_op(
        curve.native_id, _gid(group), POINT_OPS[op], a, len(a), bb, len(bb), kk, len(kk), out, n
    )
    _check(rc, f"{curve} {group} {op}")
    return bytes(ffi.buffer(out, n))


def points_check(
    curve: Curve,
    group: Group,
    data: bytes | memoryview,
    encoding: str,
    check: str,
    what: str = "point",
) -> None:
    """Raise ValueError naming the first point of ``data`` that fails ``check`` (as "<what> i")."""
    pb = curve.point_bytes(group)
    if len(data) % pb:
        raise ValueError(
            f"{curve} {group}: {len(data)} bytes is not a multiple of {pb} bytes per point"
        )
    bad = ffi.new("size_t *", 0)
    rc = lib.zk_points_check(
        curve.native_id,
        _gid(group),
        data if type(data) is bytes else ffi.from_buffer(data),
        len(data),
        len(data) // pb,
        _enc(encoding),
        _level(check),
        bad,
    )
    if rc != lib.ZK_OK:
        _check(rc, f"{curve} {group} {what} {bad[0]}")


def points_convert(curve: Curve, group: Group, data: bytes, src: str, dst: str) -> bytes:
    """Re-encode a run of points from ``src`` to ``dst`` encoding."""
    pb = curve.point_bytes(group)
    if len(data) % pb:
        raise ValueError(f"{curve} {group}: {len(data)} bytes is not a multiple of {pb}")
    out = ffi.new("uint8_t[]", max(len(data), 1))
    rc = lib.zk_points_convert(
        curve.native_id,
        _gid(group),
        data,
        len(data),
        _enc(src),
        out,
        len(data),
        _enc(dst),
        len(data) // pb,
    )
    _check(rc, f"{curve} {group} convert")
    return bytes(ffi.buffer(out, len(data)))


def table_load(
    curve: Curve, group: Group, data: bytes | bytearray | memoryview, encoding: str, check: str
) -> bytearray:
    """Decode and check points into a new base table (``bytearray``, 'mont' layout)."""
    pb = curve.point_bytes(group)
    mv = memoryview(data).cast("B")
    if mv.nbytes % pb:
        raise ValueError(
            f"{curve} {group}: {mv.nbytes} bytes is not a multiple of {pb} bytes per point"
        )
    n = mv.nbytes // pb
    table = bytearray(mv.nbytes)
    bad = ffi.new("size_t *", 0)
    src = ffi.from_buffer(mv)
    dst = ffi.from_buffer(table)
    rc = lib.zk_table_load(
        curve.native_id,
        _gid(group),
        src,
        mv.nbytes,
        _enc(encoding),
        n,
        _level(check),
        dst,
        len(table),
        bad,
    )
    if rc != lib.ZK_OK:
        _check(rc, f"{curve} {group} base point {bad[0]}")
    return table


def is_fixed(data: object) -> TypeGuard[bytes | memoryview]:
    """Whether ``data``'s bytes cannot change under a table: a ``bytes`` object, or a
    read-only view of a read-only file mapping (:meth:`zkedge.groth16.BinFile.read_path`)."""
    if type(data) is bytes:
        return True
    return (
        isinstance(data, memoryview)
        and data.readonly
        and data.c_contiguous
        and data.format == "B"
        and isinstance(data.obj, mmap.mmap)
    )


def guard_mapping(mapped: mmap.mmap) -> int:
    """Register a read-only file mapping with the native SIGBUS guard (zk_guard_add): if the
    file is truncated while the mapping is read, the pages past its new end read as zeros
    instead of ending the process, and :func:`guard_hit` says so. The slot, or -1 when it
    cannot be guarded (it is then read as any mapping is)."""
    if len(mapped) == 0:
        return -1
    with ffi.from_buffer(mapped) as ptr:  # (released at once: the mapping can still close)
        return int(lib.zk_guard_add(ptr, len(mapped)))


def guard_hit(slot: int) -> bool:
    """Whether a guarded mapping read past its file's end since it was registered."""
    return slot >= 0 and bool(lib.zk_guard_hit(slot))


def guard_release(slot: int) -> None:
    """Free a guard slot (before, or as, its mapping goes away)."""
    if slot >= 0:
        lib.zk_guard_remove(slot)


def is_mapped(data: object) -> bool:
    """Whether ``data`` is a read-only view of a file mapping: its pages can be given back
    (madvise DONTNEED) and come back from the file (heap memory would come back as zeros)."""
    return (
        isinstance(data, memoryview)
        and data.readonly
        and data.c_contiguous
        and isinstance(data.obj, mmap.mmap)
    )


def table_adopt(
    curve: Curve, group: Group, data: bytes | memoryview, check: str
) -> bytes | bytearray | memoryview:
    """A base table from 'mont' points: ``data`` itself, checked in place, when its bytes
    cannot change (:func:`is_fixed`) and start at an 8-byte aligned address (they are exactly
    the table layout; nothing is copied); otherwise a checked copy. Even ``check="none"``
    checks that every coordinate is below p, as a copy would."""
    if not is_fixed(data) or int(ffi.cast("uintptr_t", ffi.from_buffer(data))) % 8:
        return table_load(curve, group, data, "mont", check)
    points_check(curve, group, data, "mont", check, what="base point")  # as table_load says it
    return data


def _msm_args(
    start: object,
    count: object,
    npts: int,
    scalars: bytes | bytearray | memoryview,
    stop: bytearray | None,
    stride: int = 32,
    what: str = "scalars",
    tail: str = "",
) -> tuple[int, int]:
    """(start, count) of an MSM over npts points, checked with its scalars (``stride`` bytes
    each; ``what`` names them in the error, ``tail`` follows their size) and stop flag."""
    start, count = as_int(start, "start"), as_int(count, "count")
    if start < 0 or count < 0 or start + count > npts:
        raise ValueError(f"range [{start}, {start + count}) outside the table's {npts} points")
    if len(scalars) != stride * count:
        raise ValueError(
            f"expected {count} {what} ({stride * count} bytes){tail}, got {len(scalars)} bytes"
        )
    if stop is not None and len(stop) != 4:
        raise ValueError("the stop flag must be a 4-byte bytearray")
    return start, count


def msm(
    curve: Curve,
    group: Group,
    table: bytes | bytearray | memoryview,
    start: int,
    count: int,
    scalars: bytes,
    threads: int,
    window: int = 0,
    stop: bytearray | None = None,
) -> bytes:
    """Native Pippenger MSM over table points [start, start+count); result 'be' bytes.
    ``window`` 0 lets the core choose the window size from count. ``stop``: a 4-byte flag;
    once another thread makes it non-zero the MSM gives up and :class:`Cancelled` is raised."""
    pb = curve.point_bytes(group)
    if len(table) % pb:
        raise ValueError("base table size is not a multiple of the point size")
    start, count = _msm_args(start, count, len(table) // pb, scalars, stop)
    flag = ffi.NULL if stop is None else ffi.from_buffer("int[]", stop)  # keeps stop exported
    out = ffi.new("uint8_t[]", pb)
    rc = lib.zk_msm_stoppable(
        curve.native_id,
        _gid(group),
        ffi.from_buffer(table),
        len(table),
        start,
        count,
        scalars,
        len(scalars),
        threads,
        as_int(window, "window"),
        out,
        pb,
        flag,
    )
    _check(rc, f"{curve} {group} msm")
    return bytes(ffi.buffer(out, pb))


def window_values_stride(lo: int, hi: int) -> int:
    """Bytes of one value of a window-split task over scalar bits [lo, hi)."""
    return (hi - lo + 1 + 7) // 8


def msm_windows(
    curve: Curve,
    group: Group,
    table: bytes | bytearray | memoryview,
    start: int,
    count: int,
    values: bytes | bytearray | memoryview,
    lo: int,
    widths: Sequence[int],
    threads: int,
    stop: bytearray | None = None,
) -> bytes:
    """Native MSM of one window-split task (see zk_msm_windows); result 'be' bytes."""
    pb = curve.point_bytes(group)
    if len(table) % pb:
        raise ValueError("base table size is not a multiple of the point size")
    lo = as_int(lo, "lo")
    ws = [as_int(w, "window width") for w in widths]
    if not ws or len(ws) > 256 or any(not 1 <= w <= 15 for w in ws):
        raise ValueError(f"window widths must be 1 to 256 values in 1..15, got {ws[:8]}")
    hi = lo + sum(ws)
    if lo < 0 or hi > 256:
        raise ValueError(f"windows over bits [{lo}, {hi}) outside [0, 256)")
    stride = window_values_stride(lo, hi)
    what, tail = f"values of {stride} bytes", f" for bits [{lo}, {hi})"
    start, count = _msm_args(start, count, len(table) // pb, values, stop, stride, what, tail)
    flag = ffi.NULL if stop is None else ffi.from_buffer("int[]", stop)
    out = ffi.new("uint8_t[]", pb)
    rc = lib.zk_msm_windows(
        curve.native_id,
        _gid(group),
        ffi.from_buffer(table),
        len(table),
        start,
        count,
        ffi.from_buffer(values),
        len(values),
        lo,
        ffi.new("int[]", ws),
        len(ws),
        threads,
        out,
        pb,
        flag,
    )
    _check(rc, f"{curve} {group} msm over windows")
    return bytes(ffi.buffer(out, pb))


def scalar_window_bits_many(
    curve: Curve,
    scalars: bytes | bytearray | memoryview,
    tasks: Sequence[tuple[int, int, int, int]],
) -> list[memoryview]:
    """Window-split tasks' values in one pass over the scalars: for each (start, count, lo,
    hi), scalars [start, start + count)'s bits [lo - 1, hi) (zk_scalar_window_bits_many), as
    read-only views of one buffer."""
    if len(scalars) % 32:
        raise ValueError(f"scalars must be 32 bytes each, got {len(scalars)} bytes")
    n = len(scalars) // 32
    checked = []
    for start, count, lo, hi in tasks:
        start, count = as_int(start, "start"), as_int(count, "count")
        lo, hi = as_int(lo, "lo"), as_int(hi, "hi")
        if not 0 <= lo < hi <= 256:
            raise ValueError(f"bits [{lo}, {hi}) not inside [0, 256)")
        if start < 0 or count < 0 or start + count > n:
            raise ValueError(f"range [{start}, {start + count}) outside the {n} scalars")
        checked.append((start, count, lo, hi))
    sizes = [c * window_values_stride(lo, hi) for _, c, lo, hi in checked]
    # One allocation for every task's values, not zeroed (the native pass writes each byte),
    # handed out as read-only views: zeroing and copying 8 MB of a 2^18 MSM's values cost
    # the coordinator about 2 ms a job.
    block = _UNZEROED("uint8_t[]", max(1, sum(sizes)))
    whole = memoryview(ffi.buffer(block)).toreadonly()
    offsets = [sum(sizes[:k]) for k in range(len(sizes))]
    rc = lib.zk_scalar_window_bits_many(
        curve.native_id,
        ffi.from_buffer(scalars),
        len(scalars),
        n,
        len(checked),
        ffi.new("size_t[]", [t[0] for t in checked]),
        ffi.new("size_t[]", [t[1] for t in checked]),
        ffi.new("int[]", [t[2] for t in checked]),
        ffi.new("int[]", [t[3] for t in checked]),
        ffi.new("uint8_t *[]", [block + off for off in offsets]),
        ffi.new("size_t[]", sizes),
    )
    _check(rc, f"{curve} scalar window bits")
    return [whole[off : off + size] for off, size in zip(offsets, sizes, strict=True)]


def scalar_window_bits(
    curve: Curve, scalars: bytes | bytearray | memoryview, lo: int, hi: int
) -> bytes:
    """Each scalar's bits [lo - 1, hi) as a window-split task's values (zk_scalar_window_bits)."""
    lo, hi = as_int(lo, "lo"), as_int(hi, "hi")
    if not 0 <= lo < hi <= 256:
        raise ValueError(f"bits [{lo}, {hi}) not inside [0, 256)")
    if len(scalars) % 32:
        raise ValueError(f"scalars must be 32 bytes each, got {len(scalars)} bytes")
    n = len(scalars) // 32
    out = bytearray(n * window_values_stride(lo, hi))
    rc = lib.zk_scalar_window_bits(
        curve.native_id, ffi.from_buffer(scalars), len(scalars), n, lo, hi,
        ffi.from_buffer(out), len(out),
    )  # fmt: skip
    _check(rc, f"{curve} scalar window bits")
    return bytes(out)


def msm_fixed_windows(curve: Curve, window: int) -> int:
    """Blocks of a fixed-base table with ``window``-bit windows (0: window not in 2..15)."""
    w = as_int(window, "window")
    return int(lib.zk_msm_fixed_windows(curve.native_id, w)) if 0 <= w <= 64 else 0


def _blocks(blocks: Any, writable: bool) -> tuple[Any, Any, list[Any]]:
    """cffi arrays of block pointers and lengths; the third item keeps the buffers exported."""
    keep = [ffi.from_buffer(b, require_writable=writable) for b in blocks]
    ptrs = ffi.new("uint8_t *[]", keep) if keep else ffi.NULL
    lens = ffi.new("size_t[]", [len(b) for b in keep]) if keep else ffi.NULL
    return ptrs, lens, keep


def msm_fixed(
    curve: Curve,
    group: Group,
    blocks: list[Any],
    window: int,
    start: int,
    count: int,
    scalars: bytes,
    threads: int,
    release: bool,
    stop: bytearray | None = None,
) -> bytes:
    """Fixed-base MSM over window blocks (block w: the points times 2^(w * window)), points
    [start, start + count); result 'be' bytes. ``release`` gives back each block's pages as
    they are passed: only for blocks in a read-only file mapping."""
    pb = curve.point_bytes(group)
    want = msm_fixed_windows(curve, window)
    if not want or len(blocks) != want:
        raise ValueError(
            f"{want or 'no'} window blocks for {window}-bit windows, got {len(blocks)}"
        )
    npts = len(blocks[0]) // pb
    if any(len(b) != npts * pb for b in blocks) or len(blocks[0]) % pb:
        raise ValueError("window blocks differ in size or are not whole points")
    start, count = _msm_args(start, count, npts, scalars, stop)
    if release and not all(is_mapped(b) for b in blocks[1:]):
        raise ValueError("release is only for blocks in a read-only file mapping")
    ptrs, lens, _keep = _blocks(blocks, False)
    flag = ffi.NULL if stop is None else ffi.from_buffer("int[]", stop)
    out = ffi.new("uint8_t[]", pb)
    rc = lib.zk_msm_fixed(
        curve.native_id,
        _gid(group),
        ptrs,
        lens,
        len(blocks),
        window,
        start,
        count,
        scalars,
        len(scalars),
        threads,
        1 if release else 0,
        out,
        pb,
        flag,
    )
    _check(rc, f"{curve} {group} fixed-base msm")
    return bytes(ffi.buffer(out, pb))


def msm_fixed_blocks(
    curve: Curve,
    group: Group,
    table: bytes | bytearray | memoryview,
    window: int,
    out: list[Any],
    threads: int,
    stop: bytearray | None = None,
) -> None:
    """Fill ``out`` (writable buffers of len(table) bytes, one per window above the first)
    with the table's points times 2^(w * window), w = 1, 2, ..."""
    want = msm_fixed_windows(curve, window)
    if not want or len(out) != want - 1:
        raise ValueError(f"{max(want - 1, 0)} blocks for {window}-bit windows, got {len(out)}")
    if any(len(b) != len(table) for b in out):
        raise ValueError("every block must be the size of the table")
    ptrs, lens, _keep = _blocks(out, True)
    flag = ffi.NULL if stop is None else ffi.from_buffer("int[]", stop)
    rc = lib.zk_msm_fixed_blocks(
        curve.native_id,
        _gid(group),
        ffi.from_buffer(table),
        len(table),
        window,
        ptrs,
        lens,
        len(out),
        threads,
        flag,
    )
    _check(rc, f"{curve} {group} window multiples")


def msm_window(curve: Curve, count: int, threads: int | None = None) -> int:
    """The Pippenger window size the native core picks for ``count`` points on ``threads``
    threads (None or 0: every core)."""
    return int(lib.zk_msm_window(curve.native_id, as_size(count, "count"), check_threads(threads)))


def fr_ntt(
    curve: Curve,
    data: bytes,
    omega: int,
    shift: int | None,
    scale: int | None,
    threads: int,
) -> bytes:
    """Forward NTT (see zk_fr_ntt) on n*32 LE standard bytes; returns new bytes."""
    n = len(data) // 32
    if len(data) % 32 or n == 0 or n & (n - 1):
        raise ValueError(
            f"NTT input must be a power-of-two count of 32-byte values, got {len(data)} bytes"
        )
    buf = bytearray(data)

    def le(x: int | None) -> Any:
        return ffi.NULL if x is None else x.to_bytes(32, "little")

    rc = lib.zk_fr_ntt(
        curve.native_id, ffi.from_buffer(buf), len(buf), n, le(omega), le(shift), le(scale), threads
    )
    _check(rc, f"{curve} Fr NTT")
    return bytes(buf)


def fr_coset_evals(curve: Curve, data: bytes, omega: int, shift: int, threads: int) -> bytes:
    """Evaluations at omega^i (n*32 LE standard bytes, natural order) -> the same polynomial's
    evaluations at shift * omega^i (see zk_fr_coset_evals); returns new bytes."""
    n = len(data) // 32
    if len(data) % 32 or n == 0 or n & (n - 1):
        raise ValueError(
            f"coset evaluation needs a power-of-two count of 32-byte values, got {len(data)} bytes"
        )
    buf = bytearray(data)
    bad = ffi.new("size_t *", 0)
    rc = lib.zk_fr_coset_evals(
        curve.native_id,
        ffi.from_buffer(buf),
        len(buf),
        n,
        omega.to_bytes(32, "little"),
        shift.to_bytes(32, "little"),
        threads,
        bad,
    )
    if rc == lib.ZK_ERANGE and max(omega, shift) < curve.r:
        _check(rc, f"{curve} Fr coset evaluation, value {bad[0]}")
    _check(rc, f"{curve} Fr coset evaluation")
    return bytes(buf)


def fr_mul_powers(curve: Curve, data: bytes, g: int) -> bytes:
    """data[i] * g^i."""
    n = len(data) // 32
    if len(data) % 32:
        raise ValueError("Fr vector length must be a multiple of 32 bytes")
    buf = bytearray(data)
    rc = lib.zk_fr_mul_powers(
        curve.native_id, ffi.from_buffer(buf), len(buf), n, g.to_bytes(32, "little")
    )
    _check(rc, f"{curve} Fr mul_powers")
    return bytes(buf)


def fr_mul_sub(curve: Curve, a: bytes, b: bytes, c: bytes, threads: int = 0) -> bytes:
    """Elementwise a*b - c over Fr; a value >= r raises ValueError naming its index."""
    if not (len(a) == len(b) == len(c)) or len(a) % 32:
        raise ValueError("fr_mul_sub: a, b, c must be equal multiples of 32 bytes")
    out = ffi.new("uint8_t[]", max(len(a), 1))
    bad = ffi.new("size_t *", 0)
    rc = lib.zk_fr_mul_sub(curve.native_id, a, b, c, out, len(a), len(a) // 32, threads, bad)
    if rc != lib.ZK_OK:
        _check(rc, f"{curve} Fr mul_sub, element {bad[0]}")
    return bytes(ffi.buffer(out, len(a)))


def zkey_eval_ab(
    curve: Curve,
    coefs: bytes | memoryview,
    ncoefs: int,
    witness: bytes,
    nvars: int,
    n: int,
    threads: int = 0,
) -> tuple[bytes, bytes, bytes]:
    """Evaluate zkey section-4 records against a witness: (A, B, A*B) over the domain."""
    rec = 44
    ncoefs, nvars, n = as_size(ncoefs, "ncoefs"), as_size(nvars, "nvars"), as_size(n, "n")
    cm = memoryview(coefs).cast("B")
    if cm.nbytes != rec * ncoefs:
        raise ValueError(f"coefficient section must be {rec * ncoefs} bytes, got {cm.nbytes}")
    if len(witness) != 32 * nvars:
        raise ValueError(f"witness must be {32 * nvars} bytes, got {len(witness)}")
    if n <= 0:
        raise ValueError("domain size must be positive")
    oa = ffi.new("uint8_t[]", 32 * n)
    ob = ffi.new("uint8_t[]", 32 * n)
    oc = ffi.new("uint8_t[]", 32 * n)
    bad = ffi.new("size_t *", 0)
    rc = lib.zk_zkey_eval_ab(
        curve.native_id,
        ffi.from_buffer(cm),
        cm.nbytes,
        ncoefs,
        witness,
        len(witness),
        nvars,
        oa,
        ob,
        oc,
        32 * n,
        n,
        threads,
        bad,
    )
    if rc != lib.ZK_OK:
        # the C side reports a witness value >= r before it looks at any record
        bad_witness = any(
            int.from_bytes(witness[i : i + 32], "little") >= curve.r
            for i in range(0, len(witness), 32)
        )
        where = f"witness value {bad[0]}" if bad_witness else f"zkey coefficient record {bad[0]}"
        _check(rc, f"{curve} {where}")
    return (
        bytes(ffi.buffer(oa, 32 * n)),
        bytes(ffi.buffer(ob, 32 * n)),
        bytes(ffi.buffer(oc, 32 * n)),
    )


def curve_of(curve: str | Curve) -> Curve:
    """Resolve a curve name or object."""
    return get_curve(curve)


def _scalar_view(scalars: bytes | bytearray | memoryview) -> memoryview:
    mv = memoryview(scalars).cast("B")
    if mv.nbytes % 32:
        raise ValueError("scalars must be a multiple of 32 bytes")
    return mv


def _per_block(
    fn: Any, scalars: bytes | bytearray | memoryview, block: int, what: str
) -> list[int]:
    """One uint32 per ``block`` scalars (32-byte LE) from the native ``fn`` (fleet.h's
    per-block helpers share its signature)."""
    block = as_size(block, "block")
    if block == 0:
        raise ValueError("block must be positive")
    mv = _scalar_view(scalars)
    n = mv.nbytes // 32
    nblocks = -(-n // block)
    out = ffi.new("uint32_t[]", max(nblocks, 1))
    _check(fn(ffi.from_buffer(mv), mv.nbytes, n, block, out, nblocks), what)
    return list(out[0:nblocks])


def scalars_pack(scalars: bytes | bytearray | memoryview) -> bytes:
    """The packed encoding (native/fleet.h) of 32-byte LE scalars."""
    mv = _scalar_view(scalars)
    n = mv.nbytes // 32
    out = ffi.new("uint8_t[]", max(33 * n, 1))
    written = ffi.new("size_t *")
    rc = lib.zk_scalars_pack(ffi.from_buffer(mv), mv.nbytes, n, out, 33 * n, written)
    _check(rc, "scalar packing")
    return bytes(ffi.buffer(out, written[0]))


def scalars_unpack(packed: bytes | bytearray | memoryview, n: int) -> bytes:
    """The 32 * n bytes of n packed scalars; ValueError naming the first bad value when
    ``packed`` is not exactly n of them."""
    n = as_size(n, "n")
    mv = memoryview(packed).cast("B")
    if n > mv.nbytes:  # every value takes at least its length byte
        raise ValueError(f"packed scalars: {mv.nbytes} bytes cannot hold {n} values")
    out = bytearray(32 * n)
    bad = ffi.new("size_t *")
    src = ffi.from_buffer(mv) if mv.nbytes else ffi.NULL
    dst = ffi.from_buffer(out) if n else ffi.NULL
    rc = lib.zk_scalars_unpack(src, mv.nbytes, n, dst, len(out), bad)
    if rc == lib.ZK_EINVAL:
        if bad[0] == n:
            raise ValueError(f"packed scalars: bytes left over after {n} values")
        raise ValueError(f"packed scalars: value {bad[0]} is malformed or cut short")
    _check(rc, "scalar unpacking")
    return bytes(out)


def scalar_block_counts(scalars: bytes | bytearray | memoryview, block: int) -> list[int]:
    """For each ``block`` scalars (32-byte LE), how many are 2^64 or more."""
    return _per_block(lib.zk_scalar_block_counts, scalars, block, "scalar block counts")


def scalars_packed_blocks(scalars: bytes | bytearray | memoryview, block: int) -> list[int]:
    """For each ``block`` scalars, the bytes of their packing."""
    return _per_block(lib.zk_scalars_packed_blocks, scalars, block, "scalar packing sizes")


PAIRING_MAX = 64  # pairs per zk_pairing_check call (ZK_PAIRING_MAX in native/api.c)


def pairing_check(curve: Curve, g1: bytes, g2: bytes, n: int) -> bool:
    """Whether prod e(g1[i], g2[i]) == 1 for n pairs of 'be' points (each subgroup-checked)."""
    n = as_size(n, "n")
    if n > PAIRING_MAX:
        raise ValueError(f"at most {PAIRING_MAX} pairs per pairing check, got {n}")
    if len(g1) != n * curve.point_bytes("G1") or len(g2) != n * curve.point_bytes("G2"):
        raise ValueError("pairing check: wrong length of the G1 or G2 points")
    result = ffi.new("int *", 0)
    bad = ffi.new("size_t *", 0)
    rc = lib.zk_pairing_check(curve.native_id, g1, len(g1), g2, len(g2), n, result, bad)
    _check(rc, f"{curve} pairing check, pair {bad[0]}")
    return bool(result[0])
