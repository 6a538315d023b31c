"""Field arithmetic over the native core: Fp, Fr and Fp2 of each curve.

Values are Python ints (Fp2: ``(c0, c1)``), reduced inputs only (0 <= v < modulus). These are
per-element calls meant for tests and small jobs; the vector helpers work on packed bytes.
"""

from __future__ import annotations

from zkedge import _lib
from zkedge.curves import Curve, get_curve

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (zkedge.record)
if TYPE_CHECKING:
    from typing import cast
else:
    from zkedge.record import cast

Elem = int | tuple[int, int]


def _modulus(c: Curve, field: str) -> int:
    return c.r if field == "fr" else c.p


def _enc(c: Curve, field: str, v: Elem) -> bytes:
    m = _modulus(c, field)
    if field == "fp2":
        if not (isinstance(v, tuple) and len(v) == 2):
            raise ValueError(f"an fp2 value is a pair (c0, c1), got {v!r}")
        parts = list(v)
    else:
        parts = [cast(int, v)]
    for x in parts:
        if not isinstance(x, int) or not 0 <= x < m:
            raise ValueError(f"{c}.{field}: {x!r} is not an integer in [0, modulus)")
    fb = c.fp_bytes if field != "fr" else 32
    return b"".join(x.to_bytes(fb, "little") for x in parts)


def _dec(c: Curve, field: str, b: bytes) -> Elem:
    if field == "fp2":
        fb = c.fp_bytes
        return (int.from_bytes(b[:fb], "little"), int.from_bytes(b[fb:], "little"))
    return int.from_bytes(b, "little")


def _op(curve: str | Curve, field: str, op: str, a: Elem, b: Elem | None = None) -> Elem:
    c = get_curve(curve)
    if field not in _lib.FIELDS:
        raise ValueError(f"unknown field {field!r}; expected 'fp', 'fr' or 'fp2'")
    out = _lib.field_op(c, field, op, _enc(c, field, a), None if b is None else _enc(c, field, b))
    return _dec(c, field, out)


def add(curve: str | Curve, field: str, a: Elem, b: Elem) -> Elem:
    """a + b."""
    return _op(curve, field, "add", a, b)


def sub(curve: str | Curve, field: str, a: Elem, b: Elem) -> Elem:
    """a - b."""
    return _op(curve, field, "sub", a, b)


def neg(curve: str | Curve, field: str, a: Elem) -> Elem:
    """-a."""
    return _op(curve, field, "neg", a)


def mul(curve: str | Curve, field: str, a: Elem, b: Elem) -> Elem:
    """a * b."""
    return _op(curve, field, "mul", a, b)


def sqr(curve: str | Curve, field: str, a: Elem) -> Elem:
    """a^2."""
    return _op(curve, field, "sqr", a)


def inv(curve: str | Curve, field: str, a: Elem) -> Elem:
    """1/a (ValueError for zero)."""
    return _op(curve, field, "inv", a)


def to_mont(curve: str | Curve, field: str, a: Elem) -> Elem:
    """a * R mod p: the Montgomery representation, as an int (or pair)."""
    return _op(curve, field, "to_mont", a)


def from_mont(curve: str | Curve, field: str, a: Elem) -> Elem:
    """a * R^-1 mod p: the value of a Montgomery representation."""
    return _op(curve, field, "from_mont", a)


def fr_mul_sub(
    curve: str | Curve, a: bytes, b: bytes, c: bytes, *, threads: int | None = None
) -> bytes:
    """Elementwise a*b - c over Fr on packed 32-byte little-endian vectors (values below r).
    ``threads`` None or 0: all cores."""
    return _lib.fr_mul_sub(get_curve(curve), a, b, c, _lib.check_threads(threads))


def zkey_eval_ab(
    curve: str | Curve,
    coefs: bytes | memoryview,
    ncoefs: int,
    witness: bytes,
    nvars: int,
    n: int,
    *,
    threads: int | None = None,
) -> tuple[bytes, bytes, bytes]:
    """Evaluate zkey section-4 records against a witness: A, B and A*B over n domain points.
    ``threads`` (None or 0: all cores) share the output conversion."""
    return _lib.zkey_eval_ab(
        get_curve(curve), coefs, ncoefs, witness, nvars, n, _lib.check_threads(threads)
    )
