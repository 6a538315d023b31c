"""Independent references for the native-core tests: py_ecc points, Python-int fields.

Nothing here calls zkedge: conversions to and from py_ecc, Fp/Fp2 square roots, encodings and
pools of points with known discrete logs are all computed with py_ecc and Python ints.
"""

from __future__ import annotations

import json
import os
import random
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from py_ecc import optimized_bls12_381 as bls
from py_ecc import optimized_bn128 as bn

# the KAT generator's Fp/Fp2 square roots (tests/vectors, put on sys.path by conftest.py)
from vectors.make_kat import fp2_mul, fp2_sqrt, fp_sqrt

from zkedge.curves import BLS12_381, BN254, Curve, check_group

CURVES: list[Curve] = [BN254, BLS12_381]
CURVE_IDS = [c.name for c in CURVES]
GROUPS = ["G1", "G2"]
CURVE_GROUPS = [(c, g) for c in CURVES for g in GROUPS]
CURVE_GROUP_IDS = [f"{c.name}-{g}" for c, g in CURVE_GROUPS]
KAT_PATH = Path(__file__).resolve().parents[1] / "vectors" / "kat.json"

#: Modest example counts (the suite shares two cores); ZKEDGE_TEST_EXAMPLES=k multiplies them
#: for a deeper bug hunt.
_SCALE = max(1, int(os.environ.get("ZKEDGE_TEST_EXAMPLES", "1")))
_HC = [HealthCheck.too_slow]
FAST = settings(max_examples=20 * _SCALE, deadline=None, suppress_health_check=_HC)
SLOW_OPS = settings(max_examples=8 * _SCALE, deadline=None, suppress_health_check=_HC)

Affine = Any  # (x, y) or ((x0, x1), (y0, y1)) or None


def pe(c: Curve) -> Any:
    """The py_ecc module of a curve."""
    return bn if c.name == "bn254" else bls


def pe_gen(c: Curve, group: str) -> Any:
    return pe(c).G1 if group == "G1" else pe(c).G2


def pe_zero(c: Curve, group: str) -> Any:
    return pe(c).Z1 if group == "G1" else pe(c).Z2


def to_pe(c: Curve, group: str, aff: Affine) -> Any:
    """Affine tuple -> py_ecc projective point."""
    m = pe(c)
    if aff is None:
        return pe_zero(c, group)
    if group == "G1":
        return (m.FQ(aff[0]), m.FQ(aff[1]), m.FQ.one())
    return (m.FQ2(list(aff[0])), m.FQ2(list(aff[1])), m.FQ2.one())


def from_pe(c: Curve, group: str, pt: Any) -> Affine:
    """py_ecc projective point -> affine tuple (None = infinity)."""
    m = pe(c)
    if m.is_inf(pt):
        return None
    x, y = m.normalize(pt)
    if group == "G1":
        return (int(x), int(y))
    return ((int(x.coeffs[0]), int(x.coeffs[1])), (int(y.coeffs[0]), int(y.coeffs[1])))


def coords(group: str, aff: Affine) -> list[int]:
    if group == "G1":
        return [aff[0], aff[1]]
    return [aff[0][0], aff[0][1], aff[1][0], aff[1][1]]


def from_coords(group: str, v: list[int]) -> Affine:
    if group == "G1":
        return (v[0], v[1])
    return ((v[0], v[1]), (v[2], v[3]))


def be_bytes(c: Curve, group: str, aff: Affine) -> bytes:
    """The 'be' encoding, computed in Python."""
    if aff is None:
        return bytes(c.point_bytes(check_group(group)))
    return b"".join(v.to_bytes(c.fp_bytes, "big") for v in coords(group, aff))


def mont_bytes(c: Curve, group: str, aff: Affine) -> bytes:
    """The 'mont' encoding (LE Montgomery, R = 2^(8 * fp_bytes)), computed in Python."""
    if aff is None:
        return bytes(c.point_bytes(check_group(group)))
    rr = pow(2, 8 * c.fp_bytes, c.p)
    return b"".join((v * rr % c.p).to_bytes(c.fp_bytes, "little") for v in coords(group, aff))


def mul_ref(c: Curve, group: str, k: int) -> Affine:
    """(k mod r) * G with py_ecc."""
    return from_pe(c, group, pe(c).multiply(pe_gen(c, group), k % c.r))


# --- Fp / Fp2 with Python ints (u^2 = -1) ---


def curve_point(c: Curve, group: str, rng: random.Random) -> Affine:
    """A random point on the curve (G1: y^2 = x^3 + b; G2: the twist), any subgroup."""
    p = c.p
    while True:
        if group == "G1":
            x = rng.randrange(p)
            y = fp_sqrt((x**3 + c.b) % p, p)
            if y is not None:
                return (x, y)
        else:
            x2 = (rng.randrange(p), rng.randrange(p))
            rhs = fp2_mul(fp2_mul(x2, x2, p), x2, p)
            y2 = fp2_sqrt(((rhs[0] + c.b2[0]) % p, (rhs[1] + c.b2[1]) % p), p)
            if y2 is not None:
                return (x2, y2)


def in_subgroup_ref(c: Curve, group: str, aff: Affine) -> bool:
    """[r]P == O with py_ecc (py_ecc's multiply does not reduce the scalar)."""
    return bool(pe(c).is_inf(pe(c).multiply(to_pe(c, group, aff), c.r)))


@cache
def non_subgroup_point(c: Curve, group: str) -> Affine:
    """A point on the curve but outside the prime-order subgroup (not for BN254 G1)."""
    rng = random.Random(f"nonsub-{c.name}-{group}")
    for _ in range(20):
        q = curve_point(c, group, rng)
        if not in_subgroup_ref(c, group, q):
            return q
    raise AssertionError("no non-subgroup point found")


@cache
def pool(c: Curve, group: str, size: int = 6) -> tuple[tuple[int, Affine], ...]:
    """Subgroup points with known discrete logs: (a, a*G), computed with py_ecc."""
    rng = random.Random(f"pool-{c.name}-{group}")
    out = []
    for _ in range(size):
        a = rng.randrange(1, c.r)
        out.append((a, mul_ref(c, group, a)))
    return tuple(out)


def points(c: Curve, group: str) -> st.SearchStrategy[tuple[int, Affine]]:
    """Subgroup points with their discrete log, incl. infinity, G, -P and P + Q (py_ecc)."""
    pl = pool(c, group)
    m = pe(c)

    def build(args: tuple[str, int, int]) -> tuple[int, Affine]:
        mode, i, j = args
        (a, pa), (b, pb) = pl[i], pl[j]
        if mode == "inf":
            return 0, None
        if mode == "gen":
            return 1, c.g1 if group == "G1" else c.g2
        if mode == "neg":
            return (-a) % c.r, from_pe(c, group, m.neg(to_pe(c, group, pa)))
        if mode == "sum":
            return (a + b) % c.r, from_pe(c, group, m.add(to_pe(c, group, pa), to_pe(c, group, pb)))
        return a, pa

    idx = st.integers(0, len(pl) - 1)
    modes = st.sampled_from(["pool", "pool", "sum", "neg", "inf", "gen"])
    return st.tuples(modes, idx, idx).map(build)


def scalars(c: Curve) -> st.SearchStrategy[int]:
    """Scalars in [0, 2^256) biased to the edges (0, 1, r - 1, r, r + 1, 2^256 - 1)."""
    edges = [0, 1, 2, c.r - 1, c.r, c.r + 1, 2**256 - 1]
    return st.one_of(st.sampled_from(edges), st.integers(0, c.r - 1), st.integers(0, 2**256 - 1))


def elements(m: int) -> st.SearchStrategy[int]:
    """Field elements in [0, m) biased to 0, 1, m - 1."""
    return st.one_of(st.sampled_from([0, 1, 2, m - 1, m - 2]), st.integers(0, m - 1))


@cache
def kat() -> dict[str, Any]:
    """The known-answer vectors (tests/vectors/kat.json)."""
    return json.loads(KAT_PATH.read_text())  # type: ignore[no-any-return]


def msm_ref(c: Curve, group: str, dlogs: list[int], ks: list[int]) -> Affine:
    """sum k_i * (a_i G) = (sum k_i a_i mod r) * G, one py_ecc multiplication."""
    total = sum((k % c.r) * a for a, k in zip(dlogs, ks, strict=True)) % c.r
    return mul_ref(c, group, total)
