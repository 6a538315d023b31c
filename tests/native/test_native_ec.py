"""G1/G2 group operations, encodings and point checks against py_ecc (hypothesis)."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.native_ref import (
    CURVE_GROUP_IDS,
    CURVE_GROUPS,
    FAST,
    SLOW_OPS,
    be_bytes,
    coords,
    curve_point,
    from_coords,
    from_pe,
    in_subgroup_ref,
    mont_bytes,
    mul_ref,
    non_subgroup_point,
    pe,
    pe_gen,
    points,
    scalars,
    to_pe,
)

from zkedge import _lib, ec, msm
from zkedge.curves import Curve

cg = pytest.mark.parametrize(("c", "g"), CURVE_GROUPS, ids=CURVE_GROUP_IDS)


@cg
def test_generators_match_py_ecc(c: Curve, g: str) -> None:
    assert ec.generator(c, g) == from_pe(c, g, pe_gen(c, g))
    assert ec.to_py_ecc(c, g, ec.generator(c, g)) == pe_gen(c, g)
    assert ec.from_py_ecc(c, g, pe_gen(c, g)) == ec.generator(c, g)
    assert ec.from_py_ecc(c, g, pe(c).normalize(pe_gen(c, g))) == ec.generator(c, g)
    assert ec.from_py_ecc(c, g, None) is None
    assert pe(c).is_inf(ec.to_py_ecc(c, g, None))


@cg
@FAST
@given(data=st.data())
def test_add_dbl_neg(c: Curve, g: str, data: st.DataObject) -> None:
    m = pe(c)
    _, p = data.draw(points(c, g), "P")
    _, q = data.draw(points(c, g), "Q")
    P, Q = to_pe(c, g, p), to_pe(c, g, q)
    want = from_pe(c, g, m.add(P, Q))
    assert ec.add(c, g, p, q) == want
    assert ec.add_mixed(c, g, p, q) == want
    assert ec.add(c, g, p, p) == ec.add_mixed(c, g, p, p) == from_pe(c, g, m.double(P))
    assert ec.double(c, g, p) == from_pe(c, g, m.double(P))
    negp = ec.neg(c, g, p)
    assert negp == from_pe(c, g, m.neg(P))
    assert ec.add(c, g, p, negp) is None
    assert ec.add_mixed(c, g, p, negp) is None


@cg
@SLOW_OPS
@given(data=st.data())
def test_mul(c: Curve, g: str, data: st.DataObject) -> None:
    a, p = data.draw(points(c, g), "P")
    k = data.draw(scalars(c), "k")
    got = ec.mul(c, g, p, k)
    assert got == mul_ref(c, g, a * k)
    # negative k: reduced mod r in Python
    assert ec.mul(c, g, p, -k) == ec.neg(c, g, got)


@cg
def test_mul_edges(c: Curve, g: str) -> None:
    G = ec.generator(c, g)
    assert ec.mul(c, g, G, 0) is None
    assert ec.mul(c, g, G, 1) == G
    assert ec.mul(c, g, G, c.r) is None
    assert ec.mul(c, g, G, c.r - 1) == ec.neg(c, g, G)
    assert ec.mul(c, g, None, 12345) is None
    assert ec.double(c, g, None) is None and ec.neg(c, g, None) is None
    assert ec.add(c, g, None, None) is None and ec.add_mixed(c, g, None, G) == G
    assert ec.add_mixed(c, g, G, None) == G


@cg
@FAST
@given(data=st.data())
def test_encodings_round_trip(c: Curve, g: str, data: st.DataObject) -> None:
    _, p = data.draw(points(c, g), "P")
    be, mont = be_bytes(c, g, p), mont_bytes(c, g, p)
    assert ec.encode(c, g, p) == ec.encode(c, g, p, "be") == be
    assert ec.encode(c, g, p, "mont") == mont
    assert ec.decode(c, g, be) == ec.decode(c, g, mont, "mont") == p
    assert ec.convert(c, g, be, "be", "mont") == mont
    assert ec.convert(c, g, mont, "mont", "be") == be
    assert ec.convert(c, g, be, "be", "be") == be
    for enc, raw in (("be", be), ("mont", mont)):
        t = msm.BaseTable.from_bytes(c, g, raw * 3, enc)
        assert t.to_bytes() == mont * 3
        assert t.to_bytes(1, 1) == mont
        assert t.n == 3 and t.nbytes == 3 * c.point_bytes(g)  # type: ignore[arg-type]


@cg
def test_convert_many(c: Curve, g: str) -> None:
    rng = random.Random(5)
    pts = [mul_ref(c, g, rng.randrange(c.r)) for _ in range(3)] + [None]
    be = b"".join(be_bytes(c, g, p) for p in pts)
    mont = b"".join(mont_bytes(c, g, p) for p in pts)
    assert ec.convert(c, g, be, "be", "mont") == mont
    assert ec.convert(c, g, mont, "mont", "be") == be
    assert ec.convert(c, g, b"", "be", "mont") == b""
    assert msm.BaseTable.from_points(c, g, pts).to_bytes() == mont


@cg
def test_on_curve_and_subgroup_checks(c: Curve, g: str) -> None:
    p = mul_ref(c, g, 123456789)
    assert ec.is_on_curve(c, g, p) and ec.in_subgroup(c, g, p)
    assert ec.is_on_curve(c, g, None) and ec.in_subgroup(c, g, None)
    v = coords(g, p)
    off = from_coords(g, [*v[:-1], (v[-1] + 1) % c.p])
    assert not ec.is_on_curve(c, g, off) and not ec.in_subgroup(c, g, off)
    for level in ("curve", "subgroup"):
        with pytest.raises(ValueError, match="not on the curve") as ei:
            ec.decode(c, g, be_bytes(c, g, off), check=level)
        assert isinstance(ei.value, _lib.NativeError)
        assert ei.value.code == _lib.lib.ZK_ENOTONCURVE
        with pytest.raises(ValueError, match="point 2"):
            msm.BaseTable.from_bytes(c, g, be_bytes(c, g, p) * 2 + be_bytes(c, g, off), check=level)
    # check="none" only rejects coordinates >= p
    assert ec.decode(c, g, be_bytes(c, g, off), check="none") == off
    # group ops refuse points off the curve
    with pytest.raises(ValueError, match="not on the curve"):
        ec.add(c, g, off, p)
    with pytest.raises(ValueError, match="not on the curve"):
        ec.mul(c, g, off, 3)


@pytest.mark.parametrize(
    ("c", "g"),
    [(c, g) for c, g in CURVE_GROUPS if (c.name, g) != ("bn254", "G1")],
    ids=[i for i in CURVE_GROUP_IDS if i != "bn254-G1"],
)
def test_non_subgroup_point_rejected(c: Curve, g: str) -> None:
    """On the curve (or twist) but outside the r-torsion: accepted by 'curve', not 'subgroup'."""
    q = non_subgroup_point(c, g)
    assert pe(c).is_on_curve(to_pe(c, g, q), pe(c).b if g == "G1" else pe(c).b2)
    be = be_bytes(c, g, q)
    assert ec.is_on_curve(c, g, q)
    assert not ec.in_subgroup(c, g, q)
    assert ec.decode(c, g, be, check="curve") == q
    assert ec.decode(c, g, mont_bytes(c, g, q), "mont", check="curve") == q
    with pytest.raises(ValueError, match="subgroup") as ei:
        ec.decode(c, g, be, check="subgroup")
    assert ei.value.code == _lib.lib.ZK_ENOTINSUBGROUP  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="subgroup"):
        ec.decode(c, g, mont_bytes(c, g, q), "mont")
    good = be_bytes(c, g, mul_ref(c, g, 99))
    with pytest.raises(ValueError, match="point 1"):
        msm.BaseTable.from_bytes(c, g, good + be + good)
    assert msm.BaseTable.from_bytes(c, g, good + be + good, check="curve").n == 3
    with pytest.raises(ValueError):
        msm.BaseTable.from_points(c, g, [q])
    # group law still holds for it (checked at curve level), compared with py_ecc
    m = pe(c)
    Q = to_pe(c, g, q)
    assert ec.double(c, g, q) == from_pe(c, g, m.double(Q))
    assert ec.add(c, g, q, mul_ref(c, g, 5)) == from_pe(
        c, g, m.add(Q, to_pe(c, g, mul_ref(c, g, 5)))
    )


def test_bls_g1_order_three_point() -> None:
    """(0, 2) lies on y^2 = x^3 + 4 and has order 3."""
    from zkedge.curves import BLS12_381 as c

    q = (0, 2)
    assert ec.is_on_curve(c, "G1", q) and not ec.in_subgroup(c, "G1", q)
    assert ec.mul(c, "G1", q, 3) is None
    assert ec.mul(c, "G1", q, 4) == q
    assert ec.add(c, "G1", ec.double(c, "G1", q), q) is None


def test_bn254_g1_curve_points_are_in_the_subgroup() -> None:
    """BN254 G1 has cofactor 1: every curve point passes the subgroup check."""
    from zkedge.curves import BN254 as c

    rng = random.Random(3)
    for _ in range(3):
        q = curve_point(c, "G1", rng)
        assert in_subgroup_ref(c, "G1", q)
        assert ec.decode(c, "G1", be_bytes(c, "G1", q)) == q


@cg
def test_coordinates_not_below_p_rejected(c: Curve, g: str) -> None:
    p = mul_ref(c, g, 77)
    v = coords(g, p)
    fb = c.fp_bytes
    for i in range(len(v)):
        for bad in (c.p, c.p + v[i], 2 ** (8 * fb) - 1):
            if bad >= 2 ** (8 * fb):
                continue
            w = list(v)
            w[i] = bad
            be = b"".join(x.to_bytes(fb, "big") for x in w)
            for level in ("none", "curve", "subgroup"):
                with pytest.raises(ValueError, match="out of range") as ei:
                    ec.decode(c, g, be, check=level)
                assert ei.value.code == _lib.lib.ZK_ERANGE  # type: ignore[attr-defined]
                with pytest.raises(ValueError):
                    msm.BaseTable.from_bytes(c, g, be, check=level)
            with pytest.raises(ValueError):
                ec.convert(c, g, be, "be", "mont")
            # the same in Montgomery form: an LE limb value >= p
            mont = b"".join(x.to_bytes(fb, "little") for x in w)
            with pytest.raises(ValueError):
                ec.decode(c, g, mont, "mont", check="none")
        with pytest.raises(ValueError):
            ec.encode(c, g, from_coords(g, [*v[:i], c.p, *v[i + 1 :]]))


@cg
@FAST
@given(raw=st.binary(min_size=0, max_size=200))
def test_decode_fuzz_never_crashes(c: Curve, g: str, raw: bytes) -> None:
    """Random bytes: a ValueError, or a point that py_ecc agrees is valid."""
    pb = c.point_bytes(g)  # type: ignore[arg-type]
    data = (raw * (pb // max(len(raw), 1) + 1))[:pb] if raw else bytes(pb)
    for enc in ("be", "mont"):
        for d in (raw, data):
            try:
                pt = ec.decode(c, g, d, enc)
            except ValueError:
                continue
            assert in_subgroup_ref(c, g, pt) if pt is not None else not any(d)
            try:
                t = msm.BaseTable.from_bytes(c, g, d, enc, check="none")
            except ValueError:
                continue
            assert t.n == len(d) // pb


@cg
@FAST
@given(data=st.data())
def test_table_fuzz_never_crashes(c: Curve, g: str, data: st.DataObject) -> None:
    """Unchecked tables of random (off-curve) coordinates still run MSMs without crashing."""
    pb = c.point_bytes(g)  # type: ignore[arg-type]
    n = data.draw(st.integers(0, 4), "n")
    vals = data.draw(
        st.lists(
            st.integers(0, c.p - 1), min_size=n * pb // c.fp_bytes, max_size=n * pb // c.fp_bytes
        )
    )
    raw = b"".join(v.to_bytes(c.fp_bytes, "big") for v in vals)
    t = msm.BaseTable.from_bytes(c, g, raw, check="none")
    ks = data.draw(st.lists(scalars(c), min_size=n, max_size=n), "ks")
    res: Any = msm.msm(t, ks, threads=data.draw(st.integers(0, 3)))
    assert res is None or len(res) == 2


@pytest.mark.parametrize(
    ("c", "g"),
    [(c, g) for c, g in CURVE_GROUPS if g == "G1"],
    ids=[i for i in CURVE_GROUP_IDS if i.endswith("G1")],
)
def test_first_bad_point_reported(c: Curve, g: str) -> None:
    """Checks of many points run on several threads; the error names the first bad point."""
    good = be_bytes(c, g, mul_ref(c, g, 31337))
    v = coords(g, mul_ref(c, g, 31337))
    off = be_bytes(c, g, from_coords(g, [v[0], (v[1] + 1) % c.p]))
    pts = [good] * 100
    pts[37] = pts[80] = off
    for level in ("curve", "subgroup"):
        with pytest.raises(ValueError, match=r"point 37\b"):
            msm.BaseTable.from_bytes(c, g, b"".join(pts), check=level)
    pts[37] = good
    with pytest.raises(ValueError, match=r"point 80\b"):
        msm.BaseTable.from_bytes(c, g, b"".join(pts), check="subgroup")
