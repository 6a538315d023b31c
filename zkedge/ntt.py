"""NTT over the scalar field Fr (radix-2, natural order in and out, multi-threaded in C)."""

from __future__ import annotations

import operator
from collections.abc import Sequence

from zkedge import _lib
from zkedge.curves import Curve, get_curve

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (zkedge.record)
if TYPE_CHECKING:
    from typing import overload


def _pack(c: Curve, values: Sequence[int]) -> bytes:
    try:
        return b"".join((operator.index(v) % c.r).to_bytes(32, "little") for v in values)
    except (TypeError, ValueError) as e:
        raise ValueError(f"NTT values must be integers: {e}") from None


if TYPE_CHECKING:  # the two typed forms; one function at run time

    @overload
    def ntt(  # type: ignore[overload-overlap]
        curve: str | Curve,
        values: bytes | bytearray | memoryview,
        *,
        inverse: bool = ...,
        coset: int | None = ...,
        threads: int | None = ...,
    ) -> bytes: ...
    @overload
    def ntt(
        curve: str | Curve,
        values: Sequence[int],
        *,
        inverse: bool = ...,
        coset: int | None = ...,
        threads: int | None = ...,
    ) -> list[int]: ...


def ntt(
    curve: str | Curve,
    values: bytes | bytearray | memoryview | Sequence[int],
    *,
    inverse: bool = False,
    coset: int | None = None,
    threads: int | None = None,
) -> bytes | list[int]:
    """Evaluate (forward) or interpolate (inverse) over the size-n subgroup, or its coset g·H.

    Forward: out[k] = sum_i values[i] * (g ω^k)^i. Inverse: coefficients from evaluations at
    g ω^k. Bytes in (n*32, little-endian standard form) give bytes out; ints give ints.
    """
    c = get_curve(curve)
    as_bytes = isinstance(values, bytes | bytearray | memoryview)
    data = bytes(values) if as_bytes else _pack(c, values)
    n = len(data) // 32
    if len(data) % 32 or n == 0 or n & (n - 1):
        raise ValueError(f"NTT size must be a power of two, got {len(data) / 32:g} values")
    if coset is not None:
        coset = _lib.as_int(coset, "coset shift")
        if coset % c.r == 0:
            raise ValueError("coset shift must be nonzero mod r")
    w = c.root_of_unity(n)
    t = _lib.check_threads(threads)
    if not inverse:
        out = _lib.fr_ntt(c, data, w, None if coset is None else coset % c.r, None, t)
    else:
        out = _lib.fr_ntt(c, data, pow(w, -1, c.r), None, pow(n, -1, c.r), t)
        if coset is not None:
            out = _lib.fr_mul_powers(c, out, pow(coset, -1, c.r))
    if as_bytes:
        return out
    return [int.from_bytes(out[i : i + 32], "little") for i in range(0, len(out), 32)]


def coset_evals(
    curve: str | Curve, evals: bytes, omega: int, shift: int, *, threads: int | None = None
) -> bytes:
    """Evaluations at ``omega^i`` (n 32-byte LE values, natural order) -> the same polynomial's
    evaluations at ``shift * omega^i``: an inverse NTT, a scaling by ``shift^i`` and a forward
    NTT in one native call. ``omega`` is given (snarkjs's roots differ from :func:`ntt`'s on
    BLS12-381)."""
    return _lib.fr_coset_evals(get_curve(curve), evals, omega, shift, _lib.check_threads(threads))
