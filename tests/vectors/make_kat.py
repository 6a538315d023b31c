"""Generate ``kat.json``: known-answer vectors for the zkedge native core.

Every answer is computed here with py_ecc (``optimized_bn128``, ``optimized_bls12_381``) and
plain Python ints, never with zkedge, from a fixed seed, so re-running this script reproduces
the file byte for byte::

    .venv/bin/python tests/vectors/make_kat.py            # rewrite tests/vectors/kat.json
    .venv/bin/python tests/vectors/make_kat.py --check    # fail if the file is stale

Schema (``"schema": "zkedge-kat/1"``). All hex strings are lowercase, no ``0x``, fixed width:

* ``int``: big-endian hex of the value, 2*field_bytes digits (Fp: 64 or 96 digits, Fr and
  scalars: 64 digits). The native core's little-endian operand is these bytes reversed.
* ``fp2``: ``[c0, c1]`` (two ``int`` strings, value c0 + c1*u, u^2 = -1).
* ``point``: hex of the ``"be"`` encoding: x || y, big-endian standard form; G2 coordinates
  c0 || c1. Infinity is all zeros. 64/128 bytes (BN254 G1/G2), 96/192 bytes (BLS12-381).
* ``mont``: hex of the ``"mont"`` encoding of the same point (little-endian Montgomery form,
  R = 2^256 for BN254 Fp, 2^384 for BLS12-381 Fp), exactly as stored in a base table.

Top level: ``{"schema", "generator", "seed", "curves": {"bn254": C, "bls12_381": C}}``; each C:

* ``p``, ``r`` (int hex, minimal width), ``fp_bytes``, ``fr_bytes``, ``r_fp``: R mod p hex,
  ``r_fr``: R mod r hex (Montgomery constants, for the reader's own checks).
* ``field``: list of ``{"field": "fp"|"fr"|"fp2", "op", "a", "b"?, "out"}`` with op in
  add, sub, mul (binary), sqr, inv, neg, to_mont (unary; ``b`` absent). ``to_mont``'s out is
  a*R mod m (the Montgomery representation as an int; component-wise for fp2).
* ``group``: list of ``{"group": "G1"|"G2", "op", "a", "b"?, "k"?, "out", "note"}`` with
  op in add (also valid for add_mixed), dbl, neg, mul. ``k`` is a 32-byte scalar (64 hex
  digits, big-endian, may be >= r; the answer is (k mod r)*a since a is in the subgroup).
* ``encode``: list of ``{"group", "be", "mont"}`` (round trip both ways).
* ``check``: list of ``{"group", "be", "curve": E, "subgroup": E, "note"}`` where E is the
  expected outcome of decoding ``be`` with that check level: ``"ok"``, ``"not_on_curve"``,
  ``"not_in_subgroup"`` or ``"range"`` (a coordinate >= p).
* ``msm``: list of ``{"group", "n", "bases": [point], "scalars": [scalar hex], "out", "note"}``:
  out = sum scalars[i]*bases[i], scalars 32 bytes (64 hex digits, big-endian here, may be >= r,
  reduced mod r).
* ``ntt``: list of ``{"n", "inverse", "coset", "omega", "in": [int], "out": [int]}``: omega is
  g^((r-1)/n) for the curve's fixed Fr generator g (5 for BN254, 7 for BLS12-381); forward
  out[k] = sum_i in[i]*(coset*omega^k)^i (coset null: 1); inverse: the coefficients whose
  forward transform (same coset) is ``in``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from py_ecc import optimized_bls12_381 as bls
from py_ecc import optimized_bn128 as bn

SCHEMA = "zkedge-kat/1"
SEED = 20261126
OUT = Path(__file__).resolve().parent / "kat.json"

Pt = Any  # py_ecc projective point
PyEcc = Any


class Spec:
    """Per-curve constants, independent of zkedge."""

    def __init__(self, name: str, m: PyEcc, fp_bytes: int, fr_gen: int) -> None:
        self.name = name
        self.m = m
        self.p: int = m.field_modulus
        self.r: int = m.curve_order
        self.fp_bytes = fp_bytes
        self.fr_gen = fr_gen
        self.r_fp = pow(2, 8 * fp_bytes, self.p)
        self.r_fr = pow(2, 256, self.r)


SPECS = [Spec("bn254", bn, 32, 5), Spec("bls12_381", bls, 48, 7)]


def hx(v: int, nbytes: int) -> str:
    """Fixed-width big-endian hex."""
    return v.to_bytes(nbytes, "big").hex()


# --- field arithmetic with Python ints (Fp2 = Fp[u]/(u^2 + 1)) ---


def fp2_mul(a: tuple[int, int], b: tuple[int, int], p: int) -> tuple[int, int]:
    return ((a[0] * b[0] - a[1] * b[1]) % p, (a[0] * b[1] + a[1] * b[0]) % p)


def fp2_inv(a: tuple[int, int], p: int) -> tuple[int, int]:
    t = pow(a[0] * a[0] + a[1] * a[1], -1, p)
    return (a[0] * t % p, -a[1] * t % p)


def fp_sqrt(a: int, p: int) -> int | None:
    """Square root mod p for p = 3 mod 4 (both curves), None for a non-residue."""
    x = pow(a, (p + 1) // 4, p)
    return x if x * x % p == a % p else None


def fp2_sqrt(a: tuple[int, int], p: int) -> tuple[int, int] | None:
    """Square root in Fp2 via the norm (u^2 = -1), None for a non-square."""
    a0, a1 = a
    if a1 == 0:
        s = fp_sqrt(a0, p)
        if s is not None:
            return (s, 0)
        s = fp_sqrt(-a0 % p, p)
        return None if s is None else (0, s)
    alpha = fp_sqrt((a0 * a0 + a1 * a1) % p, p)
    if alpha is None:
        return None
    half = pow(2, -1, p)
    for d in ((a0 + alpha) * half % p, (a0 - alpha) * half % p):
        x0 = fp_sqrt(d, p)
        if x0:
            x1 = a1 * pow(2 * x0, -1, p) % p
            if fp2_mul((x0, x1), (x0, x1), p) == (a0 % p, a1 % p):
                return (x0, x1)
    return None


def field_cases(s: Spec, rng: random.Random) -> list[dict[str, Any]]:
    """Field vectors: random operands plus 0, 1, m-1 edges, each op on fp, fr and fp2."""
    out: list[dict[str, Any]] = []
    for field in ("fp", "fr", "fp2"):
        m = s.r if field == "fr" else s.p
        nb = 32 if field == "fr" else s.fp_bytes
        rmont = s.r_fr if field == "fr" else s.r_fp

        def rnd(m: int = m, field: str = field) -> Any:
            return (rng.randrange(m), rng.randrange(m)) if field == "fp2" else rng.randrange(m)

        enc: Callable[..., Any]
        add: Callable[..., Any]
        sub: Callable[..., Any]
        neg: Callable[..., Any]
        mul: Callable[..., Any]
        inv: Callable[..., Any]
        mont: Callable[..., Any]
        nonzero: Callable[[Any], bool]
        if field == "fp2":
            edges: list[Any] = [(0, 0), (1, 0), (0, 1), (m - 1, m - 1)]
            enc = lambda v, nb=nb: [hx(v[0], nb), hx(v[1], nb)]  # noqa: E731
            add = lambda a, b, m=m: ((a[0] + b[0]) % m, (a[1] + b[1]) % m)  # noqa: E731
            sub = lambda a, b, m=m: ((a[0] - b[0]) % m, (a[1] - b[1]) % m)  # noqa: E731
            neg = lambda a, m=m: (-a[0] % m, -a[1] % m)  # noqa: E731
            mul = lambda a, b, m=m: fp2_mul(a, b, m)  # noqa: E731
            inv = lambda a, m=m: fp2_inv(a, m)  # noqa: E731
            mont = lambda a, m=m, R=rmont: (a[0] * R % m, a[1] * R % m)  # noqa: E731
            nonzero = lambda a: a != (0, 0)  # noqa: E731
        else:
            edges = [0, 1, 2, m - 1, m - 2]
            enc = lambda v, nb=nb: hx(v, nb)  # noqa: E731
            add = lambda a, b, m=m: (a + b) % m  # noqa: E731
            sub = lambda a, b, m=m: (a - b) % m  # noqa: E731
            neg = lambda a, m=m: -a % m  # noqa: E731
            mul = lambda a, b, m=m: a * b % m  # noqa: E731
            inv = lambda a, m=m: pow(a, -1, m)  # noqa: E731
            mont = lambda a, m=m, R=rmont: a * R % m  # noqa: E731
            nonzero = lambda a: a != 0  # noqa: E731
        binary = {"add": add, "sub": sub, "mul": mul}
        unary: dict[str, Callable[..., Any]] = {
            "sqr": lambda a, mul=mul: mul(a, a),
            "inv": inv,
            "neg": neg,
            "to_mont": mont,
        }
        pairs = [(rnd(), rnd()) for _ in range(2)] + [(e, rnd()) for e in edges[::2]]
        pairs += [(edges[-1], edges[-1]), (edges[1], edges[-1])]
        for op, f in binary.items():
            for a, b in pairs:
                out.append(
                    {"field": field, "op": op, "a": enc(a), "b": enc(b), "out": enc(f(a, b))}
                )
        for op, g in unary.items():
            for a in [rnd(), rnd(), *edges[:2], edges[3]]:  # 0, 1, m - 1 (fp2: 0, 1, u)
                if op == "inv" and not nonzero(a):
                    continue
                out.append({"field": field, "op": op, "a": enc(a), "out": enc(g(a))})
    return out


# --- points ---


def affine(s: Spec, group: str, pt: Pt) -> Any:
    """py_ecc projective -> affine int tuple (None = infinity)."""
    if s.m.is_inf(pt):
        return None
    x, y = s.m.normalize(pt)
    if group == "G1":
        return (int(x), int(y))
    return ((int(x.coeffs[0]), int(x.coeffs[1])), (int(y.coeffs[0]), int(y.coeffs[1])))


def coords(group: str, aff: Any) -> list[int]:
    if group == "G1":
        return [aff[0], aff[1]]
    return [aff[0][0], aff[0][1], aff[1][0], aff[1][1]]


def pbytes(s: Spec, group: str) -> int:
    return (2 if group == "G1" else 4) * s.fp_bytes


def be_hex(s: Spec, group: str, aff: Any) -> str:
    """'be' encoding of an affine tuple (None = infinity) as hex."""
    if aff is None:
        return "00" * pbytes(s, group)
    return "".join(hx(v, s.fp_bytes) for v in coords(group, aff))


def mont_hex(s: Spec, group: str, aff: Any) -> str:
    if aff is None:
        return "00" * pbytes(s, group)
    return "".join(
        (v * s.r_fp % s.p).to_bytes(s.fp_bytes, "little").hex() for v in coords(group, aff)
    )


def gen(s: Spec, group: str) -> Pt:
    return s.m.G1 if group == "G1" else s.m.G2


def zero(s: Spec, group: str) -> Pt:
    return s.m.Z1 if group == "G1" else s.m.Z2


def group_cases(s: Spec, rng: random.Random) -> list[dict[str, Any]]:
    """add/dbl/neg/mul vectors incl. infinity, P+P, P+(-P), k = 0, 1, r-1, r, 2^256-1."""
    m, out = s.m, []
    for group in ("G1", "G2"):
        G, Z = gen(s, group), zero(s, group)
        P = m.multiply(G, rng.randrange(1, s.r))
        Q = m.multiply(G, rng.randrange(1, s.r))
        nP = m.neg(P)

        def e(pt: Pt, group: str = group) -> str:
            return be_hex(s, group, affine(s, group, pt))

        adds = [
            (P, Q, "random"),
            (G, P, "generator + random"),
            (P, P, "P + P"),
            (P, nP, "P + (-P)"),
            (Z, P, "inf + P"),
            (P, Z, "P + inf"),
            (Z, Z, "inf + inf"),
            (Q, m.add(Q, P), "Q + (Q + P)"),
        ]
        for a, b, note in adds:
            out.append(
                {
                    "group": group,
                    "op": "add",
                    "a": e(a),
                    "b": e(b),
                    "out": e(m.add(a, b)),
                    "note": note,
                }
            )
        for a, note in ((P, "random"), (G, "generator"), (Z, "inf")):
            out.append(
                {"group": group, "op": "dbl", "a": e(a), "out": e(m.double(a)), "note": note}
            )
            out.append({"group": group, "op": "neg", "a": e(a), "out": e(m.neg(a)), "note": note})
        ks = [
            (0, "k = 0"),
            (1, "k = 1"),
            (2, "k = 2"),
            (s.r - 1, "k = r - 1"),
            (s.r, "k = r"),
            (s.r + 5, "k = r + 5"),
            (2**256 - 1, "k = 2^256 - 1"),
            (rng.randrange(s.r), "random"),
            (rng.randrange(s.r), "random"),
        ]
        for i, (k, note) in enumerate(ks):
            a, an = ((P, "P"), (G, "G"))[i % 2]
            out.append(
                {
                    "group": group,
                    "op": "mul",
                    "a": e(a),
                    "k": hx(k, 32),
                    "out": e(m.multiply(a, k % s.r)),
                    "note": f"{an}, {note}",
                }
            )
        out.append(
            {"group": group, "op": "mul", "a": e(Z), "k": hx(12345, 32), "out": e(Z), "note": "inf"}
        )
    return out


def curve_point(s: Spec, group: str, rng: random.Random) -> Any:
    """A random affine point on the curve (any subgroup), by x -> sqrt(x^3 + b)."""
    p = s.p
    while True:
        if group == "G1":
            x = rng.randrange(p)
            y = fp_sqrt((x**3 + int(s.m.b)) % p, p)
            if y is not None:
                return (x, y)
        else:
            x2 = (rng.randrange(p), rng.randrange(p))
            b2 = tuple(int(c) for c in s.m.b2.coeffs)
            rhs = fp2_mul(fp2_mul(x2, x2, p), x2, p)
            rhs = ((rhs[0] + b2[0]) % p, (rhs[1] + b2[1]) % p)
            y2 = fp2_sqrt(rhs, p)
            if y2 is not None:
                return (x2, y2)


def to_pyecc(s: Spec, group: str, aff: Any) -> Pt:
    if group == "G1":
        return (s.m.FQ(aff[0]), s.m.FQ(aff[1]), s.m.FQ.one())
    return (s.m.FQ2(list(aff[0])), s.m.FQ2(list(aff[1])), s.m.FQ2.one())


def check_cases(s: Spec, rng: random.Random) -> list[dict[str, Any]]:
    """Decode-check vectors: valid, off-curve, outside the subgroup, coordinate >= p."""
    out: list[dict[str, Any]] = []
    for group in ("G1", "G2"):
        G = gen(s, group)
        P = affine(s, group, s.m.multiply(G, rng.randrange(1, s.r)))

        def row(be: str, curve: str, sub: str, note: str, group: str = group) -> None:
            out.append({"group": group, "be": be, "curve": curve, "subgroup": sub, "note": note})

        row(be_hex(s, group, P), "ok", "ok", "subgroup point")
        row(be_hex(s, group, None), "ok", "ok", "infinity")
        c = coords(group, P)
        bad = [*c[:-1], (c[-1] + 1) % s.p]
        row("".join(hx(v, s.fp_bytes) for v in bad), "not_on_curve", "not_on_curve", "y + 1")
        big = [c[0] + s.p, *c[1:]]
        if big[0] < 2 ** (8 * s.fp_bytes):
            row("".join(hx(v, s.fp_bytes) for v in big), "range", "range", "x + p (>= p)")
        row("ff" * pbytes(s, group), "range", "range", "all 0xff")
        if group == "G1" and (y0 := fp_sqrt(int(s.m.b), s.p)) is not None:
            # (0, sqrt(b)) has order 3: on the curve, outside the subgroup (BLS12-381 only)
            row(hx(0, s.fp_bytes) + hx(y0, s.fp_bytes), "ok", "not_in_subgroup", "(0, sqrt(b))")
        Q = curve_point(s, group, rng)
        in_sub = s.m.is_inf(s.m.multiply(to_pyecc(s, group, Q), s.r))
        sub = "ok" if in_sub else "not_in_subgroup"
        row(be_hex(s, group, Q), "ok", sub, "random curve point")
    return out


def encode_cases(s: Spec, rng: random.Random) -> list[dict[str, Any]]:
    out = []
    for group in ("G1", "G2"):
        for k in (1, rng.randrange(s.r), rng.randrange(s.r)):
            aff = affine(s, group, s.m.multiply(gen(s, group), k))
            out.append(
                {"group": group, "be": be_hex(s, group, aff), "mont": mont_hex(s, group, aff)}
            )
        out.append({"group": group, "be": be_hex(s, group, None), "mont": mont_hex(s, group, None)})
    return out


def msm_cases(s: Spec, rng: random.Random) -> list[dict[str, Any]]:
    """Small MSMs with the edge cases; the answer is (sum k_i a_i mod r) * G for P_i = a_i G.

    For n <= 7 the naive py_ecc sum is computed as well and must agree.
    """
    m, r, out = s.m, s.r, []
    for group in ("G1", "G2"):
        G = gen(s, group)

        def case(dlogs: list[int], ks: list[int], note: str, group: str = group, G: Pt = G) -> None:
            pts = [m.multiply(G, a) for a in dlogs]
            total = sum(a * k for a, k in zip(dlogs, ks, strict=True)) % r
            res = m.multiply(G, total)
            if len(dlogs) <= 7:
                naive = zero(s, group)
                for pt, k in zip(pts, ks, strict=True):
                    naive = m.add(naive, m.multiply(pt, k % r))
                assert m.eq(naive, res)
            out.append(
                {
                    "group": group,
                    "n": len(dlogs),
                    "bases": [be_hex(s, group, affine(s, group, q)) for q in pts],
                    "scalars": [hx(k, 32) for k in ks],
                    "out": be_hex(s, group, affine(s, group, res)),
                    "note": note,
                }
            )

        def rs() -> int:
            return rng.randrange(1, r)

        a, k = rs(), rs()
        case([], [], "n = 0")
        case([a], [k], "n = 1")
        case([a], [0], "n = 1, zero scalar")
        case([0], [k], "n = 1, base at infinity")
        case([a, r - a], [k, k], "P and -P, same scalar (cancel in one bucket)")
        case([a, a], [k, k], "repeated base, same scalar (doubling in a bucket)")
        seven = [a, r - a, 0, a, rs(), rs(), 1]
        ks7 = [k, k + 1, rs(), 2**256 - 1, r + 3, 0, r - 1]
        case(seven, ks7, "n = 7: P, -P, inf, repeated P, scalars >= r, zero, r - 1")
        for n in (33, 100) if group == "G1" else (33,):  # G2: n <= 33 keeps the file small
            dl = [rs() for _ in range(n)]
            ks = [rng.randrange(r) for _ in range(n)]
            for i in range(0, n, 9):  # sprinkle edge cases
                j = (i * 7 + 3) % n
                dl[i], ks[j] = (
                    [0, r - dl[(i + 1) % n], dl[(i + 2) % n]][i % 3],
                    [0, 1, r, 2**256 - 1][i % 4],
                )
            case(dl, ks, f"n = {n}: random with inf, -P, repeats, 0/1/r/2^256-1 scalars")
    return out


def ntt_ref(vals: list[int], w: int, g: int, r: int) -> list[int]:
    n = len(vals)
    return [sum(v * pow(g * pow(w, k, r), i, r) for i, v in enumerate(vals)) % r for k in range(n)]


def ntt_cases(s: Spec, rng: random.Random) -> list[dict[str, Any]]:
    r = s.r
    assert pow(s.fr_gen, (r - 1) // 2, r) == r - 1  # a non-residue: its powers give primitive roots
    out = []
    for n in (8, 16):
        w = pow(s.fr_gen, (r - 1) // n, r)
        assert pow(w, n // 2, r) == r - 1
        for inverse in (False, True):
            for coset in (None, rng.randrange(2, r)):
                vals = [rng.randrange(r) for _ in range(n)]
                g = 1 if coset is None else coset
                if not inverse:
                    res = ntt_ref(vals, w, g, r)
                else:
                    ninv = pow(n, -1, r)
                    co = ntt_ref(vals, pow(w, -1, r), 1, r)
                    gi = pow(g, -1, r)
                    res = [c * ninv * pow(gi, i, r) % r for i, c in enumerate(co)]
                    assert ntt_ref(res, w, g, r) == vals
                out.append(
                    {
                        "n": n,
                        "inverse": inverse,
                        "coset": None if coset is None else hx(coset, 32),
                        "omega": hx(w, 32),
                        "in": [hx(v, 32) for v in vals],
                        "out": [hx(v, 32) for v in res],
                    }
                )
    return out


def build() -> dict[str, Any]:
    rng = random.Random(SEED)
    curves: dict[str, Any] = {}
    for s in SPECS:
        print(f"{s.name} ...", file=sys.stderr)
        curves[s.name] = {
            "p": format(s.p, "x"),
            "r": format(s.r, "x"),
            "fp_bytes": s.fp_bytes,
            "fr_bytes": 32,
            "r_fp": hx(s.r_fp, s.fp_bytes),
            "r_fr": hx(s.r_fr, 32),
            "field": field_cases(s, rng),
            "group": group_cases(s, rng),
            "encode": encode_cases(s, rng),
            "check": check_cases(s, rng),
            "msm": msm_cases(s, rng),
            "ntt": ntt_cases(s, rng),
        }
    return {
        "schema": SCHEMA,
        "generator": "tests/vectors/make_kat.py",
        "seed": SEED,
        "curves": curves,
    }


def dumps(doc: dict[str, Any]) -> str:
    """JSON with one vector per line (small, diffable, still plain JSON)."""

    def one(x: Any) -> str:
        return json.dumps(x, separators=(",", ":"))

    lines = ["{"]
    lines += [f" {one(k)}:{one(v)}," for k, v in doc.items() if k != "curves"]
    lines.append(' "curves":{')
    for ci, (name, c) in enumerate(doc["curves"].items()):
        lines.append(f"  {one(name)}:{{")
        items = list(c.items())
        for i, (k, v) in enumerate(items):
            end = "," if i + 1 < len(items) else ""
            if isinstance(v, list):
                body = ",\n".join("   " + one(x) for x in v)
                lines.append(f"  {one(k)}:[\n{body}\n  ]{end}")
            else:
                lines.append(f"  {one(k)}:{one(v)}{end}")
        lines.append("  }" + ("," if ci + 1 < len(doc["curves"]) else ""))
    lines += [" }", "}"]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="verify kat.json is up to date")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    text = dumps(build())
    if args.check:
        if args.out.read_text() != text:
            print(f"{args.out} is stale: run {Path(__file__).name}", file=sys.stderr)
            return 1
        print("kat.json up to date")
        return 0
    args.out.write_text(text)
    print(f"wrote {args.out} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
