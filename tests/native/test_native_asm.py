"""The assembly field arithmetic (MULX/ADX on x86-64, MUL/UMULH on aarch64) against the
portable C one and Python integers.

The rest of the native suite runs with whatever the loaded build uses (the assembly on x86-64
CPUs that have BMI2 and ADX, and on every aarch64 build with 64-bit limbs); these tests switch
between the two paths in one process and compare them on random and edge-case operands, and
check the switch itself.
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

import zkedge
from zkedge import _lib, ec, field, msm
from zkedge.curves import BLS12_381, BN254, Curve

ROOT = Path(__file__).resolve().parents[2]
FIELDS = [(c, f) for c in (BN254, BLS12_381) for f in ("fp", "fr")]
FIELD_IDS = [f"{c.name}-{f}" for c, f in FIELDS]


def _cpu_has_adx() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False
    return "adx" in flags and "bmi2" in flags


MACHINE = platform.machine().lower()
IS_ARM64 = MACHINE in ("aarch64", "arm64")
HAS_ASM = _lib.limb_bits() == 64 and (
    (MACHINE in ("x86_64", "amd64") and _cpu_has_adx()) or IS_ARM64
)
ASM_NAME = "aarch64 mul/umulh" if IS_ARM64 else "x86-64 mulx/adx"
needs_asm = pytest.mark.skipif(not HAS_ASM, reason="no assembly for this machine or build")


@pytest.fixture
def restore_asm() -> Iterator[None]:
    before = _lib.asm_name() != "none"
    yield
    _lib.set_asm(before)


def _modulus(c: Curve, f: str) -> int:
    return c.p if f == "fp" else c.r


def _edges(m: int) -> list[int]:
    """Operands where carries and the final subtraction are most likely to go wrong."""
    vals = [0, 1, 2, m - 1, m - 2, m // 2, (m + 1) // 2]
    vals += [(1 << k) - 1 for k in (64, 128, 192, 254) if (1 << k) - 1 < m]
    vals += [m - (1 << k) for k in (64, 128, 192)]
    return vals


def _both(c: Curve, f: str, op: str, a: int, b: int = 0) -> tuple[int, int]:
    """(assembly result, C result) of one field operation (b: mul's second operand)."""
    assert _lib.set_asm(True)
    x = field.mul(c, f, a, b) if op == "mul" else field.sqr(c, f, a)
    assert not _lib.set_asm(False)
    y = field.mul(c, f, a, b) if op == "mul" else field.sqr(c, f, a)
    return int(x), int(y)  # type: ignore[arg-type]


def test_info_reports_the_path() -> None:
    """The assembly is on exactly where the CPU supports it (and no ZKEDGE_NO_ASM is set)."""
    want = HAS_ASM and os.environ.get("ZKEDGE_NO_ASM", "") in ("", "0")
    assert zkedge.native_info()["asm"] == (ASM_NAME if want else "none")


def test_env_turns_it_off() -> None:
    env = {**os.environ, "ZKEDGE_NO_ASM": "1"}
    out = subprocess.run(
        [sys.executable, "-c", "import json, zkedge; print(json.dumps(zkedge.native_info()))"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    assert json.loads(out)["asm"] == "none"


def test_cannot_turn_on_without_cpu_support(restore_asm: None) -> None:
    assert _lib.set_asm(True) == HAS_ASM
    assert not _lib.set_asm(False)
    assert _lib.asm_name() == "none"


@needs_asm
@pytest.mark.parametrize(("c", "f"), FIELDS, ids=FIELD_IDS)
def test_edge_operands(c: Curve, f: str, restore_asm: None) -> None:
    m = _modulus(c, f)
    vals = _edges(m)
    for a in vals:
        for b in vals:
            x, y = _both(c, f, "mul", a, b)
            assert x == y == a * b % m, (a, b)
        x, y = _both(c, f, "sqr", a)
        assert x == y == a * a % m, a


@needs_asm
@pytest.mark.parametrize(("c", "f"), FIELDS, ids=FIELD_IDS)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_random_operands(c: Curve, f: str, data: st.DataObject) -> None:
    m = _modulus(c, f)
    a = data.draw(st.integers(0, m - 1))
    b = data.draw(st.integers(0, m - 1))
    try:
        x, y = _both(c, f, "mul", a, b)
    finally:
        _lib.set_asm(True)
    assert x == y == a * b % m


@needs_asm
@pytest.mark.parametrize("c", [BN254, BLS12_381], ids=["bn254", "bls12_381"])
@pytest.mark.parametrize("g", ["g1", "g2"])
def test_msm_same_on_both_paths(c: Curve, g: str, restore_asm: None) -> None:
    """A whole MSM (curve formulas, batch-affine buckets, inversions) agrees on both paths."""
    rng = random.Random(f"{c.name}-{g}")
    n = 1500  # past the batch-affine threshold (1024)
    gen = ec.generator(c, g)
    pts = [ec.mul(c, g, gen, rng.randrange(1, c.r)) for _ in range(20)]
    bases = [pts[i % len(pts)] for i in range(n)]
    table = msm.BaseTable.from_points(c, g, bases)
    ks = [rng.randrange(c.r) for _ in range(n)]
    _lib.set_asm(True)
    x = msm.msm(table, ks, threads=1)
    _lib.set_asm(False)
    y = msm.msm(table, ks, threads=1)
    assert x == y


@pytest.mark.parametrize("c", [BN254, BLS12_381], ids=["bn254", "bls12_381"])
def test_pairing_check_on_the_c_path(c: Curve, restore_asm: None) -> None:
    """The pairing check with the portable C multiplication (ZKEDGE_NO_ASM=1, x86-64 CPUs
    without ADX)."""
    _lib.set_asm(False)
    p, q = ec.generator(c, "G1"), ec.generator(c, "G2")
    a = random.Random(f"pair-{c.name}").randrange(2, c.r)
    ap, aq = ec.mul(c, "G1", p, a), ec.mul(c, "G2", q, a)
    assert ec.pairing_check(c, [(ap, q), (ec.neg(c, "G1", p), aq)])
    assert not ec.pairing_check(c, [(ap, q), (ec.neg(c, "G1", p), q)])
