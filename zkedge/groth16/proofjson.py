"""snarkjs's JSON forms of points, proofs and public signals (decimal strings, affine).

G1: ``[x, y, "1"]``; G2: ``[[x.c0, x.c1], [y.c0, y.c1], ["1", "0"]]``; infinity is
``["0", "1", "0"]`` / ``[["0","0"], ["1","0"], ["0","0"]]``. Parsing also accepts any
non-zero z as Jacobian coordinates (x/z^2, y/z^3), as snarkjs's ``fromObject`` does.

Numbers are read as snarkjs reads them (ffjavascript's ``unstringifyBigInts``): a string of
ASCII digits (leading zeros allowed) or ``0x`` and hex digits; a bare JSON number only when
JavaScript reads it as exactly the integer written (every integer up to 2^53, larger ones only
when a double holds them exactly). Anything else (spaces, signs, ``_``, non-ASCII digits,
``0X``, fractions, other bare numbers) is rejected.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence

from zkedge.curves import BLS12_381, BN254, Curve, Fp2, G1Affine, G2Affine, get_curve
from zkedge.groth16._binfile import FormatError, g1_on_curve, g2_on_curve

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (zkedge.record)
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "SNARKJS_CURVE_NAMES",
    "dump_json",
    "g1_from_json",
    "g1_to_json",
    "g2_from_json",
    "g2_to_json",
    "load_json",
    "parse_proof",
    "parse_public",
    "proof_to_json",
    "public_to_json",
]

#: zkedge curve name -> the name snarkjs writes in JSON
SNARKJS_CURVE_NAMES = {BN254.name: "bn128", BLS12_381.name: "bls12381"}

Proof = tuple[G1Affine | None, G2Affine | None, G1Affine | None]

_DECIMAL = re.compile(r"[0-9]+", re.ASCII)
_HEX = re.compile(r"0x[0-9a-fA-F]+", re.ASCII)


def snarkjs_curve_name(curve: Curve) -> str:
    """The curve's name in snarkjs JSON (``bn128``/``bls12381``)."""
    return SNARKJS_CURVE_NAMES[curve.name]


def g1_to_json(pt: G1Affine | None) -> list[str]:
    """snarkjs G1 object."""
    if pt is None:
        return ["0", "1", "0"]
    return [str(pt[0]), str(pt[1]), "1"]


def g2_to_json(pt: G2Affine | None) -> list[list[str]]:
    """snarkjs G2 object."""
    if pt is None:
        return [["0", "0"], ["1", "0"], ["0", "0"]]
    (x0, x1), (y0, y1) = pt
    return [[str(x0), str(x1)], [str(y0), str(y1)], ["1", "0"]]


def proof_to_json(
    curve: Curve, a: G1Affine | None, b: G2Affine | None, c: G1Affine | None
) -> dict[str, Any]:
    """A proof exactly as ``snarkjs groth16 prove`` writes it (key order included)."""
    return {
        "pi_a": g1_to_json(a),
        "pi_b": g2_to_json(b),
        "pi_c": g1_to_json(c),
        "protocol": "groth16",
        "curve": snarkjs_curve_name(curve),
    }


def public_to_json(values: Sequence[int]) -> list[str]:
    """Public signals as decimal strings."""
    return [str(v) for v in values]


def dump_json(obj: object, path: str | os.PathLike[str]) -> None:
    """Write JSON the way snarkjs does (``JSON.stringify(obj, null, 1)``)."""
    text = json.dumps(obj, indent=1)
    with open(path, "w") as f:
        f.write(text)


class _Inexact(str):
    """The text of a JSON number JavaScript does not read as the integer written (a fraction,
    or an integer no double holds exactly): never a valid coordinate or signal."""


def _json_number(text: str) -> int | str:
    """``parse_int``/``parse_float`` for :func:`json.loads`: an int when JavaScript's
    ``JSON.parse`` (a correctly rounded double) gives exactly the integer written, else an
    :class:`_Inexact` (and no int() of a long digit string: refused beyond 4300 digits)."""
    from decimal import Decimal  # here: writing a proof needs none of it

    d = Decimal(text)
    # adjusted() first: no double is above 1.8e308, and exponents like 1e99999999999 would
    # overflow the decimal context below
    if d.adjusted() < 309 and d == d.to_integral_value() and Decimal(float(d)) == d:
        return int(d)
    return _Inexact(text)


def load_json(src: str | os.PathLike[str] | Any, what: str) -> tuple[str, Any]:
    """(display name, parsed JSON) from a path, or an already parsed object."""
    if isinstance(src, str | os.PathLike):
        path = os.fspath(src)
        try:
            with open(path) as f:
                text = f.read()
        except OSError as e:
            raise FormatError(path, f"cannot read {what}: {e.strerror or e}") from None
        except UnicodeDecodeError as e:
            raise FormatError(path, f"{what} is not valid JSON: {e}") from None
        try:
            obj = json.loads(text, parse_int=_json_number, parse_float=_json_number)
        except json.JSONDecodeError as e:
            raise FormatError(path, f"{what} is not valid JSON: {e}") from None
        except RecursionError:
            raise FormatError(path, f"{what}: JSON nested too deeply") from None
        return path, obj
    return f"<{what}>", src


def _show(v: str) -> str:
    return repr(v) if len(v) <= 40 else f"{v[:20]!r}... ({len(v)} characters)"


def _int(name: str, v: object, what: str, bound: int) -> int:
    if isinstance(v, _Inexact):
        raise FormatError(name, f"{what}: JavaScript does not read {_show(v)} exactly")
    if isinstance(v, bool) or not isinstance(v, str | int):
        raise FormatError(name, f"{what}: expected a decimal string, got {type(v).__name__}")
    if isinstance(v, str):
        if _HEX.fullmatch(v):
            digits, base = v[2:].lstrip("0"), 16
        elif _DECIMAL.fullmatch(v):
            digits, base = v.lstrip("0"), 10
        else:
            raise FormatError(name, f"{what}: {_show(v)} is not a decimal or 0x-hex integer")
        if len(digits) > len(format(bound, "x" if base == 16 else "d")):
            raise FormatError(name, f"{what}: value out of range")
        n = int(digits or "0", base)
    else:
        n = v
    if n < 0 or n >= bound:
        raise FormatError(name, f"{what}: value out of range")
    return n


def _list(name: str, v: object, n: int, what: str) -> list[Any]:
    if not isinstance(v, list) or len(v) != n:
        raise FormatError(name, f"{what}: expected a list of {n}")
    return v


def g1_from_json(curve: Curve, obj: object, name: str, what: str) -> G1Affine | None:
    """Parse a snarkjs G1 object, checking the point lies on the curve."""
    p = curve.p
    x, y, z = (_int(name, v, what, p) for v in _list(name, obj, 3, what))
    if z == 0:
        return None
    if z != 1:
        zi = pow(z, -1, p)
        x, y = x * zi * zi % p, y * zi * zi * zi % p
    if not g1_on_curve(curve, (x, y)):
        raise FormatError(name, f"{what} is not on {curve.name} G1")
    return (x, y)


def _fp2(curve: Curve, obj: object, name: str, what: str) -> Fp2:
    c0, c1 = (_int(name, v, what, curve.p) for v in _list(name, obj, 2, what))
    return (c0, c1)


def _fp2_mul(p: int, a: Fp2, b: Fp2) -> Fp2:
    return ((a[0] * b[0] - a[1] * b[1]) % p, (a[0] * b[1] + a[1] * b[0]) % p)


def _fp2_inv(p: int, a: Fp2) -> Fp2:
    t = pow(a[0] * a[0] + a[1] * a[1], -1, p)
    return (a[0] * t % p, -a[1] * t % p)


def g2_from_json(curve: Curve, obj: object, name: str, what: str) -> G2Affine | None:
    """Parse a snarkjs G2 object, checking the point lies on the twist."""
    p = curve.p
    x, y, z = (_fp2(curve, v, name, what) for v in _list(name, obj, 3, what))
    if z == (0, 0):
        return None
    if z != (1, 0):
        zi = _fp2_inv(p, z)
        zi2 = _fp2_mul(p, zi, zi)
        x, y = _fp2_mul(p, x, zi2), _fp2_mul(p, y, _fp2_mul(p, zi2, zi))
    if not g2_on_curve(curve, (x, y)):
        raise FormatError(name, f"{what} is not on {curve.name} G2")
    return (x, y)


def parse_proof(src: object) -> tuple[Curve, Proof]:
    """(curve, (A, B, C)) from a proof.json path or parsed dict. Raises FormatError."""
    name, obj = load_json(src, "proof")
    if not isinstance(obj, dict):
        raise FormatError(name, "proof must be a JSON object")
    if obj.get("protocol", "groth16") != "groth16":
        raise FormatError(name, f"not a groth16 proof (protocol {obj.get('protocol')!r})")
    try:
        curve = get_curve(str(obj.get("curve", "bn128")))
    except ValueError as e:
        raise FormatError(name, str(e)) from None
    for k in ("pi_a", "pi_b", "pi_c"):
        if k not in obj:
            raise FormatError(name, f"missing {k}")
    a = g1_from_json(curve, obj["pi_a"], name, "pi_a")
    b = g2_from_json(curve, obj["pi_b"], name, "pi_b")
    c = g1_from_json(curve, obj["pi_c"], name, "pi_c")
    return curve, (a, b, c)


def parse_public(src: object, curve: Curve | None = None) -> list[int]:
    """Public signals from a public.json path or a parsed list (values >= r are rejected)."""
    name, obj = load_json(src, "public signals")
    if not isinstance(obj, list):
        raise FormatError(name, "public signals must be a JSON list")
    bound = curve.r if curve is not None else 1 << 512
    return [_int(name, v, f"public signal {i}", bound) for i, v in enumerate(obj)]
