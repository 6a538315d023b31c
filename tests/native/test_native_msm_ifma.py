"""The 8-lane AVX-512 IFMA additions of BN254 G1 and G2 MSMs (native/msm_ifma.inc) against
the one-at-a-time path and the discrete-log reference.

The rest of the suite runs with whatever the machine uses (the IFMA path on x86-64 CPUs with
AVX-512 IFMA); these tests switch between the two paths in one process on inputs that reach
every part of the batch-affine MSM the lanes take over (the accumulation's flushes, the
fallback fold, the segmented reduction, chunks of more than 1024 additions, partly filled
lane groups), and check the switch itself.
"""

from __future__ import annotations

import json
import os
import platform
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.native_ref import msm_ref
from support.native_tables import reduction_cases, table_of

import zkedge
from zkedge import _lib, msm
from zkedge.curves import BN254, Group

ROOT = Path(__file__).resolve().parents[2]


def _cpu_has_ifma() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False
    return "avx512f" in flags and "avx512ifma" in flags


HAS_IFMA = (
    platform.machine().lower() in ("x86_64", "amd64") and _lib.limb_bits() == 64 and _cpu_has_ifma()
)
needs_ifma = pytest.mark.skipif(not HAS_IFMA, reason="no AVX-512 IFMA on this CPU or build")


@pytest.fixture
def restore_ifma() -> Iterator[None]:
    before = _lib.set_ifma()
    yield
    _lib.set_ifma(before)


def _both(
    table: msm.BaseTable, ks: list[int] | bytes, threads: int, window: int | None = None
) -> tuple[object, object]:
    """(IFMA result, one-at-a-time result) of one MSM."""
    try:
        assert _lib.set_ifma(True)
        x = msm.msm(table, ks, threads=threads, window=window)
        assert not _lib.set_ifma(False)
        y = msm.msm(table, ks, threads=threads, window=window)
    finally:
        _lib.set_ifma(True)
    return x, y


def test_info_reports_the_path() -> None:
    """On exactly where the build and the CPU have it (and no ZKEDGE_NO_IFMA is set)."""
    want = HAS_IFMA and os.environ.get("ZKEDGE_NO_IFMA", "") in ("", "0")
    assert zkedge.native_info()["ifma"] is want


def test_env_turns_it_off() -> None:
    env = {**os.environ, "ZKEDGE_NO_IFMA": "1"}
    out = subprocess.run(
        [sys.executable, "-c", "import json, zkedge; print(json.dumps(zkedge.native_info()))"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    assert json.loads(out)["ifma"] is False


def test_cannot_turn_on_without_cpu_support(restore_ifma: None) -> None:
    assert _lib.set_ifma(True) == HAS_IFMA
    assert not _lib.set_ifma(False)
    assert not _lib.set_ifma()


def _cases(n: int) -> list[tuple[str, list[int], list[int]]]:
    """(name, base index per term, scalars): the batch-affine reduction's cases (XYZZ
    fallbacks folded in by a batch of their own, often more than one chunk; doublings and
    cancellations), small scalars, and half zeros (partly filled lane groups)."""
    rng = random.Random(2026)
    r = BN254.r
    return [
        *reduction_cases(BN254, n),
        ("small", list(range(n)), [rng.randrange(1 << 20) for _ in range(n)]),
        ("half-zero", list(range(n)), [rng.choice([0, rng.randrange(r)]) for _ in range(n)]),
    ]


@needs_ifma
@pytest.mark.parametrize(
    ("g", "n", "window", "threads"),
    [
        ("G1", 1100, 12, 1),
        ("G1", 1100, 15, 2),
        ("G1", 2600, 13, 1),
        ("G2", 1100, 12, 1),
        ("G2", 1100, 14, 2),
    ],
)
def test_same_on_both_paths(
    g: Group, n: int, window: int, threads: int, restore_ifma: None
) -> None:
    """Batch-affine MSMs (n >= 1024) agree on both paths and with the reference."""
    dlogs, t = table_of(BN254, g, n)
    pb = BN254.point_bytes(g)
    raw = t.to_bytes()
    for name, idx, ks in _cases(n):
        tb = msm.BaseTable.from_bytes(
            BN254, g, b"".join(raw[i * pb : (i + 1) * pb] for i in idx), "mont"
        )
        x, y = _both(tb, ks, threads, window)
        assert x == y == msm_ref(BN254, g, [dlogs[i] for i in idx], ks), name


@needs_ifma
@pytest.mark.parametrize("g", ["G1", "G2"])
def test_points_at_infinity_in_the_table(g: Group, restore_ifma: None) -> None:
    """Bases at infinity (a zkey's unused signals) are skipped on both paths."""
    n = 1500
    dlogs, t = table_of(BN254, g, n)
    pb = BN254.point_bytes(g)
    raw = bytearray(t.to_bytes())
    rng = random.Random(3)
    zero = set(rng.sample(range(n), 400))
    for i in zero:
        raw[i * pb : (i + 1) * pb] = bytes(pb)
    tb = msm.BaseTable.from_bytes(BN254, g, bytes(raw), "mont")
    ks = [rng.randrange(BN254.r) for _ in range(n)]
    want = msm_ref(BN254, g, [0 if i in zero else a for i, a in enumerate(dlogs)], ks)
    x, y = _both(tb, ks, 2)
    assert x == y == want


@needs_ifma
@pytest.mark.slow
@pytest.mark.parametrize(("g", "n"), [("G1", 1 << 14), ("G2", 1 << 13)])
def test_large_and_threaded(g: Group, n: int, restore_ifma: None) -> None:
    """Many random terms at the window the MSM picks, on one, two and three threads."""
    dlogs, t = table_of(BN254, g, n)
    rng = random.Random(9)
    ks = [rng.randrange(BN254.r) for _ in range(n)]
    want = msm_ref(BN254, g, dlogs, ks)
    for threads in (1, 2, 3):
        assert _both(t, ks, threads) == (want, want)


@needs_ifma
@pytest.mark.parametrize("g", ["G1", "G2"])
def test_fixed_base_msm(g: Group, restore_ifma: None) -> None:
    """The fixed-base MSM (window tables) shares the buckets and batches: same on both paths."""
    n = 1500
    dlogs, t = table_of(BN254, g, n)
    ft = msm.FixedTable.compute(t, window=12, threads=2)
    rng = random.Random(4)
    ks = [rng.randrange(BN254.r) for _ in range(n)]
    try:
        assert _lib.set_ifma(True)
        x = msm.msm_fixed(ft, ks, threads=2)
        assert not _lib.set_ifma(False)
        y = msm.msm_fixed(ft, ks, threads=2)
    finally:
        _lib.set_ifma(True)
    assert x == y == msm_ref(BN254, g, dlogs, ks)


@needs_ifma
@pytest.mark.parametrize("g", ["G1", "G2"])
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_random_inputs(g: Group, data: st.DataObject) -> None:
    """Any mix of bases (repeated, negated by their scalars) and scalars: both paths agree.
    Hypothesis draws the distinct bases and scalars; a seeded spread makes the n >= 1024 terms
    (the batch-affine size) from them."""
    n = data.draw(st.integers(1024, 1400), label="n")
    nb = data.draw(st.integers(1, 64), label="distinct bases")
    r = BN254.r
    scalar = st.one_of(
        st.sampled_from([0, 1, 2, r - 1, r - 2]),
        st.integers(0, (1 << 16) - 1),
        st.integers(0, r - 1),
    )
    palette = data.draw(st.lists(scalar, min_size=1, max_size=64), label="scalars")
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    dlogs, t = table_of(BN254, g, 64)
    pb = BN254.point_bytes(g)
    raw = t.to_bytes()
    rng = random.Random(seed)
    idx = [rng.randrange(nb) for _ in range(n)]
    ks = [rng.choice(palette) for _ in range(n)]
    tb = msm.BaseTable.from_bytes(
        BN254, g, b"".join(raw[i * pb : (i + 1) * pb] for i in idx), "mont"
    )
    x, y = _both(tb, ks, data.draw(st.integers(1, 2), label="threads"))
    assert x == y == msm_ref(BN254, g, [dlogs[i] for i in idx], ks)
