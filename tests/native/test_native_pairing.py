"""The native pairing product check: bilinearity, agreement with py_ecc's pairing, bad inputs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.native_ref import CURVE_IDS, CURVES, non_subgroup_point, pe, pool, to_pe

from zkedge import _lib, ec
from zkedge.curves import BLS12_381, Curve, Point

per_curve = pytest.mark.parametrize("c", CURVES, ids=CURVE_IDS)


def gens(c: Curve) -> tuple[Point, Point]:
    return ec.generator(c, "G1"), ec.generator(c, "G2")


@per_curve
@settings(max_examples=4, deadline=None)
@given(data=st.data())
def test_bilinear(c: Curve, data: st.DataObject) -> None:
    """e(aP, bQ) e(-cP, Q) == 1 exactly when c = ab (mod r); also with the roles swapped."""
    a = data.draw(st.integers(1, c.r - 1))
    b = data.draw(st.integers(1, c.r - 1))
    p, q = gens(c)
    ap, bq = ec.mul(c, "G1", p, a), ec.mul(c, "G2", q, b)
    ab = a * b % c.r
    assert ec.pairing_check(c, [(ap, bq), (ec.mul(c, "G1", p, c.r - ab), q)])
    assert not ec.pairing_check(c, [(ap, bq), (ec.mul(c, "G1", p, c.r - ab - 1), q)])
    assert ec.pairing_check(c, [(ap, bq), (p, ec.mul(c, "G2", q, c.r - ab))])


@per_curve
def test_non_degenerate_and_infinity(c: Curve) -> None:
    p, q = gens(c)
    assert not ec.pairing_check(c, [(p, q)])  # e(P, Q) != 1
    assert not ec.pairing_check(c, [(p, q), (p, q)])  # nor its square (r is odd)
    assert ec.pairing_check(c, [(p, q), (ec.neg(c, "G1", p), q)])
    assert ec.pairing_check(c, [])  # the empty product
    assert ec.pairing_check(c, [(None, q), (p, None)])  # infinity contributes 1
    assert not ec.pairing_check(c, [(None, q), (p, q)])


@per_curve
def test_agrees_with_py_ecc(c: Curve) -> None:
    """For pool points with known logs, the native verdict on e(P1, Q1) e(P2, Q2) == 1 is
    py_ecc's (its pairing computed in full), for a product that is 1 and one that is not."""
    m = pe(c)
    (a1, p1), (a2, _) = pool(c, "G1")[:2]
    (b1, q1), (b2, q2) = pool(c, "G2")[:2]
    # e(a1 G, b1 H) e(x G, b2 H) == 1 iff x = -a1 b1 / b2
    x_good = (-a1 * b1 * pow(b2, -1, c.r)) % c.r
    for x, want in ((x_good, True), (a2, False)):
        px = ec.mul(c, "G1", ec.generator(c, "G1"), x)
        pairs = [(p1, q1), (px, q2)]
        ref = m.pairing(to_pe(c, "G2", q1), to_pe(c, "G1", p1)) * m.pairing(
            to_pe(c, "G2", q2), to_pe(c, "G1", px)
        )
        assert (ref == m.FQ12.one()) == want
        assert ec.pairing_check(c, pairs) == want


@per_curve
def test_bad_points_raise(c: Curve) -> None:
    p, q = gens(c)
    bad_q = non_subgroup_point(c, "G2")
    with pytest.raises(ValueError, match=r"pair 1.*subgroup"):
        ec.pairing_check(c, [(p, q), (p, bad_q)])
    if c is BLS12_381:  # BN254 G1 has cofactor 1: every curve point is in the subgroup
        with pytest.raises(ValueError, match=r"pair 0.*subgroup"):
            ec.pairing_check(c, [(non_subgroup_point(c, "G1"), q)])
    off = ec.encode(c, "G1", p)[:-1] + bytes([ec.encode(c, "G1", p)[-1] ^ 1])
    with pytest.raises(ValueError, match="not on the curve"):
        _lib.pairing_check(c, off, ec.encode(c, "G2", q), 1)
    with pytest.raises(ValueError, match="wrong length"):
        _lib.pairing_check(c, ec.encode(c, "G1", p), ec.encode(c, "G2", q)[:-1], 1)
    with pytest.raises(ValueError, match="at most 64"):
        ec.pairing_check(c, [(p, q)] * 65)
