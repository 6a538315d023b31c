"""An MSM split by windows (zkedge.msm.msm_windows, scalar_window_bits): the tasks of any cut of
the window plan, and of any windows' points into ranges, sum to the MSM, against py_ecc; the
values against a reference written here; bad arguments are one-line errors.

Bases are points with known discrete logs, so the reference sum is one py_ecc multiplication
(support.native_ref.msm_ref).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from typing import TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.native_ref import CURVE_GROUP_IDS, CURVE_GROUPS, FAST, SLOW_OPS, msm_ref, scalars
from support.native_tables import table_of

from zkedge import ec, msm
from zkedge.curves import BLS12_381, BN254, Curve, Point

T = TypeVar("T")

cg = pytest.mark.parametrize(("c", "g"), CURVE_GROUPS, ids=CURVE_GROUP_IDS)


def le(ks: list[int]) -> bytes:
    return b"".join(k.to_bytes(32, "little") for k in ks)


def values_ref(c: Curve, k: int, lo: int, hi: int) -> bytes:
    """Bits [lo - 1, hi) of k mod r (bit -1 is 0), as the wire's little-endian value."""
    v = ((k % c.r) << 1 >> lo) & ((1 << (hi - lo + 1)) - 1)
    return v.to_bytes((hi - lo + 1 + 7) // 8, "little")


def windows_sum(
    c: Curve,
    table: msm.BaseTable,
    ks: list[int],
    cuts: list[int],
    split: int,
) -> Point:
    """The MSM as tasks: the plan's windows cut at ``cuts`` into groups, each group's points
    cut at ``split`` (0: whole) into two ranges."""
    plan = msm.window_plan(c, len(ks))
    bounds = [0, *sorted(set(cuts)), len(plan)]
    total: Point = None
    raw = le(ks)
    for w0, w1 in itertools.pairwise(bounds):
        if w1 <= w0:
            continue
        lo = sum(plan[:w0])
        hi = lo + sum(plan[w0:w1])
        parts = [(0, len(ks))] if not 0 < split < len(ks) else [(0, split), (split, len(ks))]
        for s, e in parts:
            vals = msm.scalar_window_bits(c, raw[32 * s : 32 * e], lo, hi)
            part = msm.msm_windows(table, vals, lo, plan[w0:w1], start=s, count=e - s)
            total = ec.add(c, table.group, total, part)
    return total


def test_the_plan_covers_every_bit_of_r_in_balanced_windows() -> None:
    for c in (BN254, BLS12_381):
        for n in (1, 100, 1 << 12, 1 << 18):
            plan = msm.window_plan(c, n)
            assert sum(plan) == c.r.bit_length() + 1
            assert max(plan) - min(plan) <= 1 and max(plan) <= 15
            assert max(plan) == msm.window_size(c, n, 1)


@FAST
@given(st.lists(scalars(BN254), min_size=1, max_size=20), st.data())
def test_values_match_the_reference(ks: list[int], data: st.DataObject) -> None:
    lo = data.draw(st.integers(0, 255))
    hi = data.draw(st.integers(lo + 1, 256))
    got = msm.scalar_window_bits(BN254, le(ks), lo, hi)
    assert got == b"".join(values_ref(BN254, k, lo, hi) for k in ks)
    assert len(got) == len(ks) * msm.window_values_bytes(lo, hi)


@FAST
@given(st.lists(scalars(BLS12_381), min_size=1, max_size=30), st.data())
def test_many_tasks_in_one_pass_match_one_at_a_time(ks: list[int], data: st.DataObject) -> None:
    n = len(ks)
    tasks = []
    for _ in range(data.draw(st.integers(1, 6))):
        s = data.draw(st.integers(0, n))
        cnt = data.draw(st.integers(0, n - s))
        lo = data.draw(st.integers(0, 255))
        hi = data.draw(st.integers(lo + 1, min(256, lo + data.draw(st.integers(1, 100)))))
        tasks.append((s, cnt, lo, hi))
    raw = le(ks)
    got = msm.scalar_window_bits_many(BLS12_381, raw, tasks)
    for (s, cnt, lo, hi), out in zip(tasks, got, strict=True):
        assert out == msm.scalar_window_bits(BLS12_381, raw[32 * s : 32 * (s + cnt)], lo, hi)


@FAST
@given(st.data())
def test_values_across_the_passes_blocks_match_the_reference(data: st.DataObject) -> None:
    """Tasks over many scalars (the native pass takes 256 at a time), starting and ending
    anywhere, of every width, on both curves, against the reference; 1 in 4 scalars >= r."""
    c = data.draw(st.sampled_from([BN254, BLS12_381]))
    rng = random.Random(data.draw(st.integers(0, 2**32)))
    n = data.draw(st.integers(1, 900))
    ks = [rng.getrandbits(256) if rng.random() < 0.25 else rng.randrange(c.r) for _ in range(n)]
    tasks = []
    for _ in range(data.draw(st.integers(1, 5))):
        s = data.draw(st.integers(0, n))
        cnt = data.draw(st.integers(0, n - s))
        lo = data.draw(st.integers(0, 255))
        hi = data.draw(st.integers(lo + 1, 256))
        tasks.append((s, cnt, lo, hi))
    got = _on_garbage(lambda: msm.scalar_window_bits_many(c, le(ks), tasks))
    for (s, cnt, lo, hi), out in zip(tasks, got, strict=True):
        assert out == b"".join(values_ref(c, k, lo, hi) for k in ks[s : s + cnt])
        assert out.readonly


def _on_garbage(call: Callable[[], T]) -> T:
    """``call()`` with the values pass's output buffers filled with 0xA5 before it runs (they
    are not zeroed: the pass must write every byte)."""
    from zkedge import _lib

    plain = _lib._UNZEROED

    def dirty(ctype: str, n: int) -> object:
        buf = _lib.ffi.new(ctype, n)
        _lib.ffi.memmove(buf, b"\xa5" * n, n)
        return buf

    _lib._UNZEROED = dirty
    try:
        return call()
    finally:
        _lib._UNZEROED = plain


@cg
@SLOW_OPS
@given(st.data())
def test_window_tasks_sum_to_the_msm(c: Curve, g: str, data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 24))
    dlogs, table = table_of(c, g, n)
    ks = data.draw(st.lists(scalars(c), min_size=n, max_size=n))
    nwin = len(msm.window_plan(c, n))
    cuts = data.draw(st.lists(st.integers(1, nwin - 1), max_size=4)) if nwin > 1 else []
    split = data.draw(st.integers(0, n))
    assert windows_sum(c, table, ks, cuts, split) == msm_ref(c, g, dlogs, ks)


@pytest.mark.parametrize("n", [1500, 5000])
def test_windows_of_a_batched_msm_sum_to_it(n: int) -> None:
    """Sizes where the buckets go batch-affine (and the IFMA lanes where there are some)."""
    dlogs, table = table_of(BN254, "G1", n)
    rng = random.Random(n)
    ks = [rng.randrange(BN254.r) for _ in range(n)]
    ks[:4] = [0, 1, BN254.r - 1, 2**256 - 1]
    want = msm_ref(BN254, "G1", dlogs, ks)
    assert msm.msm(table, ks) == want
    nwin = len(msm.window_plan(BN254, n))
    assert windows_sum(BN254, table, ks, [1, nwin // 2, nwin - 1], n // 3) == want
    assert windows_sum(BN254, table, ks, list(range(1, nwin)), 0) == want


def test_a_window_task_can_be_stopped() -> None:
    _, table = table_of(BN254, "G1", 64)
    stop = msm.MsmStop()
    stop.set()
    vals = msm.scalar_window_bits(BN254, le([5] * 64), 0, 30)
    with pytest.raises(msm.MsmCancelled):
        msm.msm_windows(table, vals, 0, (15, 15), stop=stop)


@pytest.mark.parametrize(
    ("lo", "widths", "nvals", "match"),
    [
        (0, (16,), 4, r"window widths must be 1 to 256 values in 1\.\.15"),
        (0, (), 4, r"window widths must be"),
        (250, (10,), 4, r"windows over bits \[250, 260\) outside \[0, 256\)"),
        (-1, (5,), 4, r"outside \[0, 256\)"),
        (0, (15, 15), 3, r"expected 4 values of 4 bytes \(16 bytes\) for bits \[0, 30\)"),
    ],
)
def test_bad_window_tasks_are_one_line_errors(
    lo: int, widths: tuple[int, ...], nvals: int, match: str
) -> None:
    _, table = table_of(BN254, "G1", 4)
    stride = msm.window_values_bytes(max(lo, 0), max(lo, 0) + max(1, sum(widths)))
    with pytest.raises(ValueError, match=match) as err:
        msm.msm_windows(table, bytes(stride * nvals), lo, widths, count=4)
    assert "\n" not in str(err.value)


def test_bad_value_requests_are_one_line_errors() -> None:
    with pytest.raises(ValueError, match=r"bits \[5, 5\) not inside \[0, 256\)"):
        msm.scalar_window_bits(BN254, bytes(32), 5, 5)
    with pytest.raises(ValueError, match="scalars must be 32 bytes each"):
        msm.scalar_window_bits(BN254, bytes(31), 0, 8)
    with pytest.raises(ValueError, match=r"range \[2, 5\) outside the 4 scalars"):
        msm.scalar_window_bits_many(BN254, bytes(128), [(2, 3, 0, 8)])
    _, table = table_of(BN254, "G1", 4)
    with pytest.raises(ValueError, match=r"range \[3, 5\) outside the table's 4 points"):
        msm.msm_windows(table, bytes(4), 0, (15,), start=3, count=2)
