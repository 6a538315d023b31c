"""Group operations and point encodings over the native core.

Points are affine tuples of ints (``None`` = infinity), see :mod:`zkedge.curves`. Every point
that comes in from outside is checked (on the curve; in the subgroup unless told otherwise).
"""

from __future__ import annotations

from collections.abc import Sequence

from zkedge import _lib
from zkedge.curves import Curve, Group, Point, check_group, get_curve

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (zkedge.record)
if TYPE_CHECKING:
    from typing import Any, cast
else:
    from zkedge.record import cast


def pairing_check(curve: str | Curve, pairs: Sequence[tuple[Point, Point]]) -> bool:
    """Whether the product of the pairings e(P, Q) over ``pairs`` of (G1, G2) affine points is
    1 (the ate pairing, natively; what a Groth16 verifier asks). Every point is checked to lie
    in its prime-order subgroup (ValueError if not); infinity contributes 1. Up to 64 pairs."""
    c = get_curve(curve)
    g1 = b"".join(encode(c, "G1", p) for p, _ in pairs)
    g2 = b"".join(encode(c, "G2", q) for _, q in pairs)
    return _lib.pairing_check(c, g1, g2, len(pairs))


def _coord_ints(curve: Curve, group: Group, data: bytes) -> list[int]:
    fb = curve.fp_bytes
    return [int.from_bytes(data[i : i + fb], "big") for i in range(0, len(data), fb)]


def encode(curve: str | Curve, group: str, pt: Point, encoding: str = "be") -> bytes:
    """Encode an affine point as bytes ('be' or 'mont'; infinity is all zeros)."""
    c, g = get_curve(curve), check_group(group)
    if pt is None:
        return bytes(c.point_bytes(g))
    fb = c.fp_bytes
    try:
        if g == "G1":
            x, y = cast(tuple[int, int], pt)
            coords = [x, y]
        else:
            (x0, x1), (y0, y1) = cast(tuple[tuple[int, int], tuple[int, int]], pt)
            coords = [x0, x1, y0, y1]
        for v in coords:
            if not isinstance(v, int) or not 0 <= v < c.p:
                raise ValueError(f"{c} {g}: coordinate {v!r} is not an integer in [0, p)")
        be = b"".join(v.to_bytes(fb, "big") for v in coords)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{c} {g}: malformed point {pt!r}: {e}") from None
    if encoding == "be":
        return be
    return _lib.points_convert(c, g, be, "be", encoding)


def decode(
    curve: str | Curve, group: str, data: bytes, encoding: str = "be", check: str = "subgroup"
) -> Point:
    """Decode one point, checking it (``check``: 'subgroup', 'curve' or 'none')."""
    c, g = get_curve(curve), check_group(group)
    if len(data) != c.point_bytes(g):
        raise ValueError(f"{c} {g}: a point is {c.point_bytes(g)} bytes, got {len(data)}")
    _lib.points_check(c, g, bytes(data), encoding, check)
    be = bytes(data) if encoding == "be" else _lib.points_convert(c, g, bytes(data), encoding, "be")
    return _from_be(c, g, be)


def _from_be(c: Curve, g: Group, be: bytes) -> Point:
    if not any(be):
        return None
    v = _coord_ints(c, g, be)
    if g == "G1":
        return (v[0], v[1])
    return ((v[0], v[1]), (v[2], v[3]))


def _op(
    curve: str | Curve, group: str, op: str, a: Point, b: Point = None, k: int | None = None
) -> Point:
    c, g = get_curve(curve), check_group(group)
    ea = encode(c, g, a)
    eb = encode(c, g, b) if op in ("add", "add_mixed") else None
    ek = (_lib.as_int(k, "scalar") % c.r).to_bytes(32, "little") if k is not None else None
    return _from_be(c, g, _lib.point_op(c, g, op, ea, eb, ek))


def add(curve: str | Curve, group: str, a: Point, b: Point) -> Point:
    """a + b."""
    return _op(curve, group, "add", a, b)


def add_mixed(curve: str | Curve, group: str, a: Point, b: Point) -> Point:
    """a + b through the projective-plus-affine formula (same result as :func:`add`)."""
    return _op(curve, group, "add_mixed", a, b)


def double(curve: str | Curve, group: str, a: Point) -> Point:
    """2a."""
    return _op(curve, group, "dbl", a)


def neg(curve: str | Curve, group: str, a: Point) -> Point:
    """-a."""
    return _op(curve, group, "neg", a)


def mul(curve: str | Curve, group: str, a: Point, k: int) -> Point:
    """k * a (k reduced mod r)."""
    return _op(curve, group, "mul", a, k=_lib.as_int(k, "scalar"))


def is_on_curve(curve: str | Curve, group: str, pt: Point) -> bool:
    """Whether pt satisfies the curve equation (infinity does)."""
    try:
        _lib.points_check(
            get_curve(curve), check_group(group), encode(curve, group, pt), "be", "curve"
        )
    except _lib.NativeError:
        return False
    return True


def in_subgroup(curve: str | Curve, group: str, pt: Point) -> bool:
    """Whether pt is on the curve and in the prime-order subgroup."""
    try:
        _lib.points_check(
            get_curve(curve), check_group(group), encode(curve, group, pt), "be", "subgroup"
        )
    except _lib.NativeError:
        return False
    return True


def generator(curve: str | Curve, group: str) -> Point:
    """The standard generator of G1 or G2."""
    c = get_curve(curve)
    return c.g1 if check_group(group) == "G1" else c.g2


def convert(curve: str | Curve, group: str, data: bytes, src: str, dst: str) -> bytes:
    """Re-encode a run of points between 'be' and 'mont' (no curve checks)."""
    return _lib.points_convert(get_curve(curve), check_group(group), bytes(data), src, dst)


def _py_ecc_module(c: Curve) -> Any:
    import importlib

    name = "optimized_bn128" if c.name == "bn254" else "optimized_bls12_381"
    try:
        return importlib.import_module(f"py_ecc.{name}")
    except ImportError as e:
        raise ImportError(f"py_ecc is not installed: pip install 'zkedge[reference]' ({e})") from e


def to_py_ecc(curve: str | Curve, group: str, pt: Point) -> Any:
    """The py_ecc (optimized_*) projective point for pt."""
    c, g = get_curve(curve), check_group(group)
    m = _py_ecc_module(c)
    if g == "G1":
        if pt is None:
            return (m.FQ.one(), m.FQ.one(), m.FQ.zero())
        x, y = cast(tuple[int, int], pt)
        return (m.FQ(x), m.FQ(y), m.FQ.one())
    if pt is None:
        return (m.FQ2.one(), m.FQ2.one(), m.FQ2.zero())
    (x0, x1), (y0, y1) = cast(tuple[tuple[int, int], tuple[int, int]], pt)
    return (m.FQ2([x0, x1]), m.FQ2([y0, y1]), m.FQ2.one())


def from_py_ecc(curve: str | Curve, group: str, p: Any) -> Point:
    """Affine tuple for a py_ecc point (projective optimized_* or affine tuple)."""
    c, g = get_curve(curve), check_group(group)
    m = _py_ecc_module(c)
    if p is None:
        return None
    if len(p) == 3:
        if m.is_inf(p):
            return None
        p = m.normalize(p)
    x, y = p
    if g == "G1":
        return (int(x), int(y))
    return ((int(x.coeffs[0]), int(x.coeffs[1])), (int(y.coeffs[0]), int(y.coeffs[1])))
