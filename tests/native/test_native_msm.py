"""Pippenger MSM: edge cases, threads, sub-ranges, scalar forms and sizes, against py_ecc.

Bases are points with known discrete logs a_i, so the reference for sum k_i * P_i is one
py_ecc multiplication: (sum k_i a_i mod r) * G.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.native_ref import (
    CURVE_GROUP_IDS,
    CURVE_GROUPS,
    CURVE_IDS,
    CURVES,
    FAST,
    SLOW_OPS,
    be_bytes,
    from_pe,
    msm_ref,
    mul_ref,
    pe,
    points,
    pool,
    scalars,
    to_pe,
)
from support.native_tables import chain, rand_scalars, reduction_cases, table_of

from zkedge import _lib, ec, msm
from zkedge.curves import BN254, Curve, Group

cg = pytest.mark.parametrize(("c", "g"), CURVE_GROUPS, ids=CURVE_GROUP_IDS)


def le(ks: list[int]) -> bytes:
    return b"".join(k.to_bytes(32, "little") for k in ks)


@cg
def test_empty(c: Curve, g: str) -> None:
    empty = msm.BaseTable.from_bytes(c, g, b"")
    assert empty.n == 0 and empty.nbytes == 0
    assert msm.msm(empty, []) is None
    assert msm.msm(empty, b"") is None
    _, t = table_of(c, g, 4)
    assert msm.msm(t, []) is None
    assert msm.msm(t, [], start=4) is None
    assert msm.msm(t, [], start=2, count=0) is None
    assert msm.msm_points(c, g, [], []) is None


@cg
def test_single(c: Curve, g: str) -> None:
    a, p = pool(c, g)[0]
    t = msm.BaseTable.from_points(c, g, [p])
    for k in (0, 1, 2, c.r - 1, c.r, c.r + 1, 2**256 - 1, 987654321):
        want = mul_ref(c, g, a * k)
        assert msm.msm(t, [k]) == want, k
        assert msm.msm(t, k.to_bytes(32, "little")) == want, k
    inf = msm.BaseTable.from_points(c, g, [None])
    assert msm.msm(inf, [12345]) is None


@cg
def test_edge_mix(c: Curve, g: str) -> None:
    """Zero scalars, inf bases, P and -P with one digit, repeated bases, scalars >= r."""
    m = pe(c)
    (a, p), (b, q) = pool(c, g)[:2]
    negp = from_pe(c, g, m.neg(to_pe(c, g, p)))
    k = 0xDEADBEEF
    cases: list[tuple[list[int], list[Any], list[int]]] = [
        ([a, -a], [p, negp], [k, k]),  # cancel in one bucket
        ([a, a], [p, p], [k, k]),  # double in one bucket
        ([a, a, a], [p, p, p], [k, k, c.r - k]),
        ([a, -a, 0, b], [p, negp, None, q], [0, 0, 5, 0]),  # all-zero contributions
        ([0, 0], [None, None], [1, 2]),
        ([a, -a, 0, a, b, b], [p, negp, None, p, q, q], [k, k + c.r, 7, 2**256 - 1, c.r - 1, 1]),
    ]
    for dl, pts, ks in cases:
        t = msm.BaseTable.from_points(c, g, pts)
        want = msm_ref(c, g, [d % c.r for d in dl], ks)
        assert msm.msm(t, ks) == want, ks
        assert msm.msm(t, le(ks)) == want, ks


@cg
@SLOW_OPS
@given(data=st.data())
def test_small_msm_hypothesis(c: Curve, g: str, data: st.DataObject) -> None:
    items = data.draw(st.lists(points(c, g), min_size=0, max_size=10), "points")
    ks = data.draw(st.lists(scalars(c), min_size=len(items), max_size=len(items)), "scalars")
    t = msm.BaseTable.from_points(c, g, [p for _, p in items])
    want = msm_ref(c, g, [a for a, _ in items], ks)
    assert msm.msm(t, ks, threads=data.draw(st.sampled_from([None, 1, 2]), "threads")) == want


@cg
def test_threads_agree(c: Curve, g: str) -> None:
    """>= 256 points use several threads; every thread count gives the reference answer."""
    n = 300
    dlogs, t = table_of(c, g, n)
    ks = rand_scalars(c, n, 1)
    ks[:5] = [0, 1, c.r - 1, 0, 2]
    want = msm_ref(c, g, dlogs, ks)
    sb = le(ks)
    for threads in (1, 2, 3, 0, None):
        assert msm.msm(t, sb, threads=threads) == want, threads


@cg
def test_subrange(c: Curve, g: str) -> None:
    """An MSM over [start, start+count) of a table equals the MSM of the sliced inputs."""
    n = 280
    dlogs, t = table_of(c, g, n)
    _, be = chain(c, g, n)
    pb = c.point_bytes(g)  # type: ignore[arg-type]
    ks = rand_scalars(c, n, 2)
    for start, count in ((0, n), (0, 1), (n - 1, 1), (17, 100), (3, 277), (140, 140)):
        sub = ks[start : start + count]
        sliced = msm.BaseTable.from_bytes(c, g, be[start * pb : (start + count) * pb], check="none")
        got = msm.msm(t, sub, start=start, count=count, threads=2)
        assert got == msm.msm(sliced, sub, threads=1)
        if count in (1, 277):
            assert got == msm_ref(c, g, dlogs[start : start + count], sub)
    # count defaults to len(scalars)
    assert msm.msm(t, ks[10:20], start=10) == msm_ref(c, g, dlogs[10:20], ks[10:20])


@pytest.mark.parametrize("c", CURVES, ids=CURVE_IDS)
def test_scalar_forms(c: Curve) -> None:
    """Ints (reduced, negative taken mod r), bytes / bytearray / memoryview (>= r reduced)."""
    g = "G1"
    n = 40
    dlogs, t = table_of(c, g, n)
    rng = random.Random(3)
    raw = [rng.getrandbits(256) for _ in range(n)]  # mostly >= r
    raw[0], raw[1] = 2**256 - 1, c.r
    want = msm_ref(c, g, dlogs, raw)
    b = le(raw)
    assert msm.msm(t, b) == want
    assert msm.msm(t, bytearray(b)) == want
    assert msm.msm(t, memoryview(b)) == want
    assert msm.msm(t, raw) == want
    assert msm.msm(t, [k % c.r for k in raw]) == want
    assert msm.msm(t, [(k % c.r) - c.r for k in raw]) == want  # negative ints
    assert msm.scalars_to_bytes(c, [c.r + 5, -1]) == le([5, c.r - 1])


def raw_msm(t: msm.BaseTable, sb: bytes, n: int, threads: int, window: int) -> bytes:
    """zk_msm straight from C with an explicit window size."""
    ffi, lib = _lib.ffi, _lib.lib
    out = ffi.new("uint8_t[]", t.point_bytes)
    gid = 1 if t.group == "G1" else 2
    data = ffi.from_buffer(t._data)
    rc = lib.zk_msm(
        t.curve.native_id, gid, data, t.nbytes, 0, n, sb, len(sb), threads, window, out,
        t.point_bytes,
    )  # fmt: skip
    assert rc == lib.ZK_OK
    return bytes(ffi.buffer(out, t.point_bytes))


WINDOW_CASES = [
    *(("G1", 24, w, 1) for w in range(1, 13)),
    *(pytest.param("G1", 24, w, 1, marks=pytest.mark.slow) for w in (13, 14, 15)),
    *(("G1", 300, w, 3) for w in (1, 4, 8, 11)),  # >= 256 points: several threads
    *(("G2", 24, w, 1) for w in (1, 5, 9)),
]


@pytest.mark.parametrize("c", CURVES, ids=CURVE_IDS)
@pytest.mark.parametrize(("g", "n", "window", "threads"), WINDOW_CASES)
def test_every_window_size(c: Curve, g: str, n: int, window: int, threads: int) -> None:
    """The raw C entry point with each window size 1..15 (signed-digit recoding edges)."""
    dlogs, t = table_of(c, g, n)
    ks = rand_scalars(c, n, window)
    ks[0], ks[1], ks[2] = c.r - 1, 2**256 - 1, (1 << (253 if c.name == "bn254" else 254)) - 1
    want = be_bytes(c, g, msm_ref(c, g, dlogs, ks))
    assert raw_msm(t, le(ks), n, threads, window) == want


@pytest.mark.parametrize("c", CURVES, ids=CURVE_IDS)
def test_window_choice(c: Curve) -> None:
    for threads in (None, 1, 2, 4):
        sizes = (1, 2, 10, 100, 1000, 1 << 14, 1 << 18, 1 << 22)
        ws = [msm.window_size(c, n, threads) for n in sizes]
        assert all(1 <= w <= 15 for w in ws)
        assert ws == sorted(ws), threads


def test_window_choice_counts_whole_windows_per_thread() -> None:
    """Threads take whole windows: at 2^16 points one thread does best with 15-bit windows
    (17 of them), two with 13 bits (20 windows, ten each, against nine and eight)."""
    assert msm.window_size(BN254, 1 << 16, threads=1) == 15
    assert msm.window_size(BN254, 1 << 16, threads=2) == 13


@pytest.mark.parametrize("c", CURVES, ids=CURVE_IDS)
def test_moderate_g1(c: Curve) -> None:
    """n = 2000 on G1 against the discrete-log reference and a py_ecc sum over a sample."""
    g: Group = "G1"
    n = 2000
    dlogs, t = table_of(c, g, n)
    ks = rand_scalars(c, n, 4)
    for i in range(0, n, 97):
        ks[i] = [0, 1, c.r - 1][i % 3]
    assert msm.msm(t, ks) == msm_ref(c, g, dlogs, ks)
    assert msm.msm(t, ks, threads=1) == msm.msm(t, ks, threads=2)
    # a sample summed by py_ecc's own double-and-add, as a second, independent reference
    m, r = pe(c), c.r
    idx = random.Random(5).sample(range(n), 6)
    _, be = chain(c, g, n)
    pb = c.point_bytes(g)
    acc = m.Z1
    for i in idx:
        x = int.from_bytes(be[i * pb : i * pb + c.fp_bytes], "big")
        y = int.from_bytes(be[i * pb + c.fp_bytes : (i + 1) * pb], "big")
        acc = m.add(acc, m.multiply((m.FQ(x), m.FQ(y), m.FQ.one()), ks[i] % r))
    sub_t = msm.BaseTable.from_bytes(c, g, b"".join(be[i * pb : (i + 1) * pb] for i in idx))
    assert msm.msm(sub_t, [ks[i] for i in idx]) == from_pe(c, g, acc)


@pytest.mark.slow
@pytest.mark.parametrize("c", CURVES, ids=CURVE_IDS)
def test_moderate_g2(c: Curve) -> None:
    g, n = "G2", 1000
    dlogs, t = table_of(c, g, n)
    ks = rand_scalars(c, n, 6)
    assert msm.msm(t, ks, threads=2) == msm_ref(c, g, dlogs, ks)


@pytest.mark.slow
@pytest.mark.parametrize("c", CURVES, ids=CURVE_IDS)
def test_large_g1_threaded_recoding(c: Curve) -> None:
    """n >= 8192 recodes scalars on several threads too."""
    g, n = "G1", 9000
    dlogs, t = table_of(c, g, n)
    rng = random.Random(8)
    ks = [rng.getrandbits(256) for _ in range(n)]
    want = msm_ref(c, g, dlogs, ks)
    assert msm.msm(t, le(ks), threads=2) == want
    assert msm.msm(t, le(ks), threads=1) == want
    assert msm.msm(t, le(ks[100:5000]), start=100, threads=3) == msm_ref(
        c, g, dlogs[100:5000], ks[100:5000]
    )


@cg
def test_mostly_zero_scalars(c: Curve, g: str) -> None:
    """The window is chosen for the scalars that are not 0: a long MSM that is nearly all
    zeros (a small window, no batch-affine buckets) or half zeros still gives the reference
    answer, on one thread and two."""
    n = 3000
    dlogs, t = table_of(c, g, n)
    rng = random.Random(11)
    for nonzero in (0, 40, 1500):
        ks = [0] * n
        for i in rng.sample(range(n), nonzero):
            ks[i] = rng.randrange(c.r)
        want = msm_ref(c, g, dlogs, ks)
        for threads in (1, 2):
            assert msm.msm(t, le(ks), threads=threads) == want, (nonzero, threads)


@cg
def test_small_scalars_take_fewer_windows(c: Curve, g: str) -> None:
    """Windows cover only the bits of the largest scalar: vectors of bits, counters and half
    widths give the reference answer on one thread and two, with the window chosen or set,
    and a scalar above r among small ones counts at its reduced size."""
    n = 1500  # batch-affine buckets
    dlogs, t = table_of(c, g, n)
    rng = random.Random(12)
    for bits in (1, 2, 13, 64, 65, 128, 200):
        ks = [rng.getrandbits(bits) for _ in range(n)]
        ks[7] = (1 << bits) - 1  # the top bit set: the top window's carry is exercised
        want = msm_ref(c, g, dlogs, ks)
        for threads in (1, 2):
            assert msm.msm(t, le(ks), threads=threads) == want, (bits, threads)
        assert raw_msm(t, le(ks), n, 1, 15) == be_bytes(c, g, want), bits
    ks = [rng.getrandbits(8) for _ in range(n)]
    ks[3] = 2**256 - 1
    assert msm.msm(t, le(ks), threads=2) == msm_ref(c, g, dlogs, ks)


@cg
def test_table_memory_and_msm_points(c: Curve, g: str) -> None:
    """A table costs exactly n * point_bytes; msm_points equals msm over a table."""
    dlogs, t = table_of(c, g, 20)
    assert t.nbytes == 20 * c.point_bytes(g) == len(t.to_bytes())  # type: ignore[arg-type]
    assert t.point_bytes == c.point_bytes(g) and len(t) == 20  # type: ignore[arg-type]
    assert repr(t) == f"BaseTable({c.name}, {g}, n=20)"
    ks = rand_scalars(c, 20, 9)
    pts = [ec.decode(c, g, t.to_bytes(i, 1), "mont") for i in range(20)]
    assert msm.msm_points(c, g, pts, ks, threads=1) == msm_ref(c, g, dlogs, ks)
    # a table reloaded from its own 'mont' bytes gives the same MSM
    again = msm.BaseTable.from_bytes(c, g, t.to_bytes(), "mont")
    assert msm.msm(again, ks) == msm.msm(t, ks)


@pytest.mark.parametrize("c", CURVES, ids=CURVE_IDS)
@FAST
@given(data=st.data())
def test_subrange_hypothesis(c: Curve, data: st.DataObject) -> None:
    g, n = "G1", 64
    dlogs, t = table_of(c, g, n)
    start = data.draw(st.integers(0, n), "start")
    count = data.draw(st.integers(0, n - start), "count")
    ks = data.draw(st.lists(scalars(c), min_size=count, max_size=count), "ks")
    assert msm.msm(t, ks, start=start, count=count) == msm_ref(
        c, g, dlogs[start : start + count], ks
    )


@pytest.mark.parametrize("c", CURVES, ids=CURVE_IDS)
def test_concurrent_calls(c: Curve) -> None:
    """MSMs from several Python threads at once (the GIL is released) all stay correct."""
    from concurrent.futures import ThreadPoolExecutor

    g, n = "G1", 300
    dlogs, t = table_of(c, g, n)
    jobs = [rand_scalars(c, n, 100 + i) for i in range(4)]
    wants = [msm_ref(c, g, dlogs, ks) for ks in jobs]
    with ThreadPoolExecutor(4) as ex:
        got = list(ex.map(lambda ks: msm.msm(t, le(ks), threads=2), jobs * 2))
    assert got == wants * 2


@pytest.mark.parametrize("c", CURVES, ids=CURVE_IDS)
@pytest.mark.parametrize(("g", "window"), [("G1", 12), ("G1", 13), ("G1", 15), ("G2", 12)])
def test_batch_affine_reduction(c: Curve, g: Group, window: int) -> None:
    """n >= 1024 and c >= 12: batch-affine buckets and the segmented batch-affine reduction,
    on inputs chosen to hit its special cases, against the discrete-log reference. G2 inverts
    the norms of its Fp2 differences in Fp (msm_template.inc: bi_step), so its special cases and
    the fallback fold go through that path."""
    n = 1100
    dlogs, t = table_of(c, g, n)
    pb = c.point_bytes(g)
    raw = t.to_bytes()
    for name, idx, ks in reduction_cases(c, n):
        tb = msm.BaseTable.from_bytes(
            c, g, b"".join(raw[i * pb : (i + 1) * pb] for i in idx), "mont"
        )
        want = msm_ref(c, g, [dlogs[i] for i in idx], ks)
        assert msm.msm(tb, ks, threads=1, window=window) == want, name


@pytest.mark.parametrize("c", CURVES, ids=CURVE_IDS)
def test_batch_affine_reduction_g2(c: Curve) -> None:
    g, n = "G2", 1100
    dlogs, t = table_of(c, g, n)
    ks = rand_scalars(c, n, 12)
    ks[:200] = [1] * 200
    assert msm.msm(t, ks, threads=2, window=12) == msm_ref(c, g, dlogs, ks)


def test_window_argument_checked() -> None:
    _, t = table_of(CURVES[0], "G1", 4)
    for bad in (0, 16, -1):
        with pytest.raises(ValueError, match="window"):
            msm.msm(t, [1, 2, 3, 4], window=bad)
