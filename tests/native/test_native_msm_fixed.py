"""Fixed-base MSM over window blocks (zkedge.msm.FixedTable), against py_ecc and the plain MSM.

The bases have known discrete logs (support.native_tables), so sum k_i P_i is checked with one
py_ecc multiplication; the blocks themselves against py_ecc multiples of single points.
"""

from __future__ import annotations

import mmap
import random
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.native_ref import CURVE_GROUP_IDS, CURVE_GROUPS, FAST, msm_ref, mul_ref
from support.native_tables import rand_scalars, table_of

from zkedge import msm
from zkedge.curves import BN254, Curve

cg = pytest.mark.parametrize(("c", "g"), CURVE_GROUPS, ids=CURVE_GROUP_IDS)


@cg
@pytest.mark.parametrize("window", [2, 7, 15])
def test_blocks_are_window_multiples(c: Curve, g: str, window: int) -> None:
    dlogs, t = table_of(c, g, 9)
    ft = msm.FixedTable.compute(t, window)
    assert len(ft.blocks) == msm.fixed_windows(c, window) - 1
    assert ft.nbytes == len(ft.blocks) * t.nbytes
    for w in (1, len(ft.blocks) // 2 + 1, len(ft.blocks)):
        blk = msm.BaseTable.from_bytes(c, g, bytes(ft.blocks[w - 1]), "mont", "subgroup")
        for i in (0, 4, 8):
            k = pow(2, w * window, c.r)
            want = mul_ref(c, g, dlogs[i] * k)
            assert msm.msm(blk, [1], start=i, count=1) == want, (w, i)


@cg
@pytest.mark.parametrize("window", [3, 13, 15])
@pytest.mark.parametrize("threads", [1, 2])
def test_fixed_equals_reference(c: Curve, g: str, window: int, threads: int) -> None:
    n = 1100  # past the 1024 points of a batch, and stretches of several digit blocks
    dlogs, t = table_of(c, g, n)
    ft = msm.FixedTable.compute(t, window, threads=threads)
    ks = rand_scalars(c, n, seed=window)
    assert msm.msm_fixed(ft, ks, threads=threads) == msm_ref(c, g, dlogs, ks)
    assert msm.msm_fixed(ft, ks, threads=threads) == msm.msm(t, ks, threads=threads)
    # a sub-range, small scalars (the windows above their bits are left out), zeros, >= r
    sub = ks[100:700]
    assert msm.msm_fixed(ft, sub, start=100, count=600) == msm_ref(c, g, dlogs[100:700], sub)
    small = [k % (1 << 40) for k in ks]
    assert msm.msm_fixed(ft, small, threads=threads) == msm_ref(c, g, dlogs, small)
    odd = [0] * 300 + [c.r - 1, c.r, c.r + 5, 2**256 - 1] + ks[304:]
    le = b"".join(k.to_bytes(32, "little") for k in odd)
    assert msm.msm_fixed(ft, le, threads=threads) == msm_ref(c, g, dlogs, odd)


@cg
def test_edges(c: Curve, g: str) -> None:
    dlogs, t = table_of(c, g, 5)
    ft = msm.FixedTable.compute(t, 15)
    assert msm.msm_fixed(ft, []) is None
    assert msm.msm_fixed(ft, [0] * 5) is None
    assert msm.msm_fixed(ft, [7], start=4, count=1) == mul_ref(c, g, 7 * dlogs[4])
    # infinity among the bases: its blocks are infinity too
    inf = msm.BaseTable.from_points(c, g, [None, None])
    fi = msm.FixedTable.compute(inf, 15)
    assert all(not any(b) for b in fi.blocks)
    assert msm.msm_fixed(fi, [3, c.r - 1]) is None
    # cancellation: k P + (r - k) P in one bucket set
    same = msm.BaseTable.from_bytes(c, g, t.to_bytes(0, 1) * 2, "mont", "curve")
    fs = msm.FixedTable.compute(same, 15)
    assert msm.msm_fixed(fs, [12345, c.r - 12345]) is None
    assert msm.msm_fixed(fs, [12345, 12345]) == mul_ref(c, g, 2 * 12345 * dlogs[0])


@given(
    ks=st.lists(st.integers(min_value=0, max_value=2**256 - 1), min_size=1, max_size=40),
    start=st.integers(min_value=0, max_value=20),
    window=st.integers(min_value=2, max_value=15),
)
@FAST
def test_fixed_matches_plain(ks: list[int], start: int, window: int) -> None:
    _, t = table_of(BN254, "G1", 64)
    ft = msm.FixedTable.compute(t, window)
    count = min(len(ks), 64 - start)
    ks = ks[:count]
    assert msm.msm_fixed(ft, ks, start=start, count=count) == msm.msm(
        t, ks, start=start, count=count
    )


def test_bad_arguments() -> None:
    _, t = table_of(BN254, "G1", 8)
    ft = msm.FixedTable.compute(t, 15)
    with pytest.raises(ValueError, match="between 2 and 15"):
        msm.FixedTable.compute(t, 16)
    with pytest.raises(ValueError, match="between 2 and 15"):
        msm.FixedTable(t, 1, [])
    with pytest.raises(ValueError, match="need 16 blocks"):
        msm.FixedTable(t, 15, ft.blocks[:-1])
    with pytest.raises(ValueError, match="bytes"):
        msm.FixedTable(t, 15, [*ft.blocks[:-1], bytes(10)])
    with pytest.raises(ValueError, match="file mapping"):
        msm.FixedTable(t, 15, ft.blocks, release=True)  # heap pages would come back as zeros
    with pytest.raises(ValueError, match="outside"):
        msm.msm_fixed(ft, [1, 2], start=7, count=2)
    with pytest.raises(ValueError, match="multiple of 32"):
        msm.msm_fixed(ft, b"\x01" * 31, count=1)
    with pytest.raises(ValueError, match="expected 2 scalars"):
        msm.msm_fixed(ft, b"\x01" * 32, count=2)
    stop = msm.MsmStop()
    stop.set()
    with pytest.raises(msm.MsmCancelled):
        msm.msm_fixed(ft, [1] * 8, stop=stop)


def _rss_file_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssFile:"):
            return int(line.split()[1])
    raise AssertionError("no RssFile")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_mapped_blocks_are_given_back(tmp_path: Path) -> None:
    """With release, an MSM over 16 mapped blocks (16 MiB) leaves about a stretch per thread
    of them resident; without, every block it read stays mapped."""
    n = 16384
    rng = random.Random(5)
    _, small = table_of(BN254, "G1", 64)
    raw = small.to_bytes()
    t = msm.BaseTable.from_bytes(BN254, "G1", raw * (n // 64), "mont", "none")
    ft = msm.FixedTable.compute(t, 15)
    path = tmp_path / "blocks"
    path.write_bytes(b"".join(ft.blocks))
    ks = [rng.randrange(BN254.r) for _ in range(n)]
    want = msm.msm(t, ks)
    grown = {}
    for release in (False, True):
        with open(path, "rb") as f:
            mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        view = memoryview(mm)
        blocks = [view[i * t.nbytes : (i + 1) * t.nbytes] for i in range(len(ft.blocks))]
        mapped = msm.FixedTable(t, 15, blocks, release=release)
        before = _rss_file_kib()
        assert msm.msm_fixed(mapped, ks, threads=2) == want
        grown[release] = _rss_file_kib() - before
        del mapped, blocks, view
        mm.close()
    size_kib = len(ft.blocks) * t.nbytes // 1024
    assert grown[False] > size_kib // 2, grown  # the measure sees mapped pages
    assert grown[True] < 4096, grown
