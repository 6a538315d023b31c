"""Generate a small known-answer vector set with py_ecc and plain Python integers.

These are the firmware tests' extra vectors (``kat_extra.json``), read by ``gen_vectors.py``
next to the project's main KAT file ``tests/vectors/kat.json``: out-of-range operands,
``from_mont``, mixed addition, more MSM sizes and NTT shift/scale combinations. Answers come
from py_ecc (curve operations) and Python big integers (fields, NTT), never from zkedge.

Schema (``"schema": "zkedge-firmware-kat/1"``); integers are ``"0x..."`` hex strings, an Fp2
element is ``[c0, c1]``, a G1 point ``[x, y]``, a G2 point ``[[x0, x1], [y0, y1]]``, infinity
``null``, scalars are integers (reduced mod r by the code under test)::

    field: {curve, field: fp|fr|fp2, op: add|sub|neg|mul|sqr|inv|to_mont|from_mont, a, b?, out?,
            error?: "range"|"noinv"}
    point: {curve, group: G1|G2, op: add|dbl|neg|mul|add_mixed, a, b?, k?, out?,
            error?: "not_on_curve"}
    check: {curve, group, point, level: curve|subgroup,
            error: null|"not_on_curve"|"not_in_subgroup"}
    msm:   {curve, group, points: [...], scalars: [...], out}
    ntt:   {curve, n, omega, shift?, scale?, input: [...], out: [...]}

Usage (deterministic, fixed seed)::

    python firmware_tests/make_vectors.py firmware_tests/kat_extra.json
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import Any

from py_ecc import optimized_bls12_381 as bls
from py_ecc import optimized_bn128 as bn

SCHEMA = "zkedge-firmware-kat/1"

CURVES: dict[str, dict[str, Any]] = {
    "bn254": {
        "mod": bn,
        "p": bn.field_modulus,
        "r": bn.curve_order,
        "rbits_fp": 256,
        "b": 3,
        "two_adicity": 28,
        "gen": 5,
    },
    "bls12_381": {
        "mod": bls,
        "p": bls.field_modulus,
        "r": bls.curve_order,
        "rbits_fp": 384,
        "b": 4,
        "two_adicity": 32,
        "gen": 7,
    },
}


def h(v: int) -> str:
    return hex(v)


def enc_fp2(v: tuple[int, int]) -> list[str]:
    return [h(v[0]), h(v[1])]


def enc_point(curve: str, group: str, pt: Any) -> Any:
    """py_ecc (optimized, Jacobian-like) point -> schema value."""
    mod = CURVES[curve]["mod"]
    if mod.is_inf(pt):
        return None
    x, y = mod.normalize(pt)
    if group == "G1":
        return [h(int(x)), h(int(y))]
    return [[h(int(x.coeffs[0])), h(int(x.coeffs[1]))], [h(int(y.coeffs[0])), h(int(y.coeffs[1]))]]


def gen(curve: str, group: str) -> Any:
    mod = CURVES[curve]["mod"]
    return mod.G1 if group == "G1" else mod.G2


def mul(curve: str, group: str, k: int) -> Any:
    mod = CURVES[curve]["mod"]
    return mod.multiply(gen(curve, group), k % CURVES[curve]["r"])


def field_vectors(rng: random.Random) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for curve, cp in CURVES.items():
        for field in ("fp", "fr", "fp2"):
            m = cp["r"] if field == "fr" else cp["p"]
            bits = 256 if field == "fr" else cp["rbits_fp"]
            R = 1 << bits

            def rnd(m: int = m) -> int:
                return rng.randrange(m)

            specials = [0, 1, 2, m - 1, m - 2, (m - 1) // 2]
            if field == "fp2":
                vals: list[Any] = [(a, b) for a, b in [(0, 0), (1, 0), (0, 1), (m - 1, m - 1)]]
                vals += [(rnd(), rnd()) for _ in range(4)]
            else:
                vals = specials + [rnd() for _ in range(6)]
            for i, a in enumerate(vals):
                b = vals[(i * 5 + 3) % len(vals)]
                for op in ("add", "sub", "neg", "mul", "sqr", "inv", "to_mont", "from_mont"):
                    v: dict[str, Any] = {"curve": curve, "field": field, "op": op}
                    if field == "fp2":
                        a2: tuple[int, int] = a
                        b2: tuple[int, int] = b
                        v["a"] = enc_fp2(a2)
                        if op in ("add", "sub", "mul"):
                            v["b"] = enc_fp2(b2)
                        res = fp2_op(op, a2, b2, m, R)
                        if res is None:
                            v["error"] = "noinv"
                        else:
                            v["out"] = enc_fp2(res)
                    else:
                        v["a"] = h(a)
                        if op in ("add", "sub", "mul"):
                            v["b"] = h(b)
                        r1 = fp_op(op, a, b, m, R)
                        if r1 is None:
                            v["error"] = "noinv"
                        else:
                            v["out"] = h(r1)
                    out.append(v)
            # out-of-range operands must be rejected, not silently reduced
            if field != "fp2":
                out.append(
                    {
                        "curve": curve,
                        "field": field,
                        "op": "add",
                        "a": h(m),
                        "b": h(1),
                        "error": "range",
                    }
                )
                out.append(
                    {
                        "curve": curve,
                        "field": field,
                        "op": "mul",
                        "a": h(1),
                        "b": h(R - 1),
                        "error": "range",
                    }
                )
            else:
                out.append(
                    {
                        "curve": curve,
                        "field": field,
                        "op": "mul",
                        "a": [h(m), h(0)],
                        "b": [h(1), h(0)],
                        "error": "range",
                    }
                )
    return out


def fp_op(op: str, a: int, b: int, m: int, R: int) -> int | None:
    if op == "add":
        return (a + b) % m
    if op == "sub":
        return (a - b) % m
    if op == "neg":
        return (-a) % m
    if op == "mul":
        return a * b % m
    if op == "sqr":
        return a * a % m
    if op == "inv":
        return None if a == 0 else pow(a, -1, m)
    if op == "to_mont":
        return a * R % m
    if op == "from_mont":
        return a * pow(R, -1, m) % m
    raise ValueError(op)


def fp2_op(
    op: str, a: tuple[int, int], b: tuple[int, int], m: int, R: int
) -> tuple[int, int] | None:
    a0, a1 = a
    b0, b1 = b
    if op == "add":
        return (a0 + b0) % m, (a1 + b1) % m
    if op == "sub":
        return (a0 - b0) % m, (a1 - b1) % m
    if op == "neg":
        return (-a0) % m, (-a1) % m
    if op == "mul":  # u^2 = -1
        return (a0 * b0 - a1 * b1) % m, (a0 * b1 + a1 * b0) % m
    if op == "sqr":
        return (a0 * a0 - a1 * a1) % m, (2 * a0 * a1) % m
    if op == "inv":
        norm = (a0 * a0 + a1 * a1) % m
        if norm == 0:
            return None
        t = pow(norm, -1, m)
        return a0 * t % m, (-a1 * t) % m
    if op == "to_mont":
        return a0 * R % m, a1 * R % m
    if op == "from_mont":
        ri = pow(R, -1, m)
        return a0 * ri % m, a1 * ri % m
    raise ValueError(op)


def point_vectors(rng: random.Random) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for curve, cp in CURVES.items():
        mod, r = cp["mod"], cp["r"]
        for group in ("G1", "G2"):
            ks = [1, 2, 3, r - 1, rng.randrange(1, r), rng.randrange(1, r)]
            P = [mul(curve, group, k) for k in ks]
            inf = None

            def E(pt: Any, _c: str = curve, _g: str = group) -> Any:
                return enc_point(_c, _g, pt)

            Z = mod.Z1 if group == "G1" else mod.Z2
            pairs = [(0, 1), (4, 5), (0, 0), (0, 3), (3, 4), (5, 1)]
            for i, j in pairs:  # includes P+P (doubling inside add) and P+(-P) = infinity
                s = mod.add(P[i], P[j])
                out.append(
                    {
                        "curve": curve,
                        "group": group,
                        "op": "add",
                        "a": E(P[i]),
                        "b": E(P[j]),
                        "out": E(s),
                    }
                )
                out.append(
                    {
                        "curve": curve,
                        "group": group,
                        "op": "add_mixed",
                        "a": E(P[i]),
                        "b": E(P[j]),
                        "out": E(s),
                    }
                )
            out.append(
                {
                    "curve": curve,
                    "group": group,
                    "op": "add",
                    "a": inf,
                    "b": E(P[4]),
                    "out": E(P[4]),
                }
            )
            out.append(
                {
                    "curve": curve,
                    "group": group,
                    "op": "add",
                    "a": E(P[4]),
                    "b": inf,
                    "out": E(P[4]),
                }
            )
            out.append({"curve": curve, "group": group, "op": "dbl", "a": inf, "out": None})
            for p in P:
                out.append(
                    {
                        "curve": curve,
                        "group": group,
                        "op": "dbl",
                        "a": E(p),
                        "out": E(mod.double(p)),
                    }
                )
                out.append(
                    {"curve": curve, "group": group, "op": "neg", "a": E(p), "out": E(mod.neg(p))}
                )
            scalars = [0, 1, 2, r - 1, r, r + 5, (1 << 256) - 1, rng.randrange(r), rng.randrange(r)]
            for n, k in enumerate(scalars):
                base = P[n % len(P)]
                res = mod.multiply(base, k % r) if k % r else Z
                out.append(
                    {
                        "curve": curve,
                        "group": group,
                        "op": "mul",
                        "a": E(base),
                        "k": h(k),
                        "out": E(res),
                    }
                )
            # a point off the curve is rejected
            bad = E(P[4])
            if group == "G1":
                bad = [bad[0], h((int(bad[1], 16) + 1) % cp["p"])]
            else:
                bad = [bad[0], [h((int(bad[1][0], 16) + 1) % cp["p"]), bad[1][1]]]
            out.append(
                {
                    "curve": curve,
                    "group": group,
                    "op": "add",
                    "a": bad,
                    "b": E(P[0]),
                    "error": "not_on_curve",
                }
            )
    return out


def check_vectors(rng: random.Random) -> list[dict[str, Any]]:
    """Curve/subgroup checks, including a BLS12-381 G1 point on the curve but outside G1."""
    out: list[dict[str, Any]] = []
    cp = CURVES["bls12_381"]
    p = cp["p"]
    x = 5
    while True:  # p = 3 mod 4: sqrt(a) = a^((p+1)/4) when a is a square
        rhs = (x**3 + cp["b"]) % p
        y = pow(rhs, (p + 1) // 4, p)
        if y * y % p == rhs:
            break
        x += 1
    pt = [h(x), h(y)]
    out.append({"curve": "bls12_381", "group": "G1", "point": pt, "level": "curve", "error": None})
    out.append(
        {
            "curve": "bls12_381",
            "group": "G1",
            "point": pt,
            "level": "subgroup",
            "error": "not_in_subgroup",
        }
    )
    for curve in CURVES:
        for group in ("G1", "G2"):
            good = enc_point(curve, group, mul(curve, group, rng.randrange(1, CURVES[curve]["r"])))
            out.append(
                {"curve": curve, "group": group, "point": good, "level": "subgroup", "error": None}
            )
            out.append(
                {"curve": curve, "group": group, "point": None, "level": "subgroup", "error": None}
            )
    return out


def msm_vectors(rng: random.Random) -> list[dict[str, Any]]:
    """MSMs whose answer is computed as (sum k_i s_i) * G, the points being k_i * G."""
    out: list[dict[str, Any]] = []
    sizes = {"G1": [1, 2, 7, 33, 100], "G2": [1, 5, 40]}
    for curve, cp in CURVES.items():
        r = cp["r"]
        for group in ("G1", "G2"):
            for n in sizes[group]:
                ks = [rng.randrange(1, r) for _ in range(n)]
                if n > 4:
                    ks[2] = ks[1]  # a repeated base
                ss = [rng.randrange(r) for _ in range(n)]
                if n > 4:  # zeros, ones, r-1 and a full 256-bit value (reduced by the callee)
                    ss[0], ss[1], ss[3], ss[4] = 0, 1, r - 1, (1 << 256) - 1 - rng.randrange(1000)
                pts = [mul(curve, group, k) for k in ks]
                if n > 6:
                    pts[6] = mod_zero(curve, group)
                    ks[6] = 0
                total = sum(k * (s % r) for k, s in zip(ks, ss, strict=True)) % r
                res = mul(curve, group, total) if total else mod_zero(curve, group)
                out.append(
                    {
                        "curve": curve,
                        "group": group,
                        "points": [enc_point(curve, group, q) for q in pts],
                        "scalars": [h(s) for s in ss],
                        "out": enc_point(curve, group, res),
                    }
                )
    return out


def mod_zero(curve: str, group: str) -> Any:
    mod = CURVES[curve]["mod"]
    return mod.Z1 if group == "G1" else mod.Z2


def ntt_vectors(rng: random.Random) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for curve, cp in CURVES.items():
        r = cp["r"]
        for n, shift, scale in [
            (1, None, None),
            (2, None, None),
            (8, None, None),
            (16, 7, None),
            (32, None, 3),
            (64, 5, 11),
        ]:
            log_n = n.bit_length() - 1
            w = pow(
                pow(cp["gen"], (r - 1) >> cp["two_adicity"], r), 1 << (cp["two_adicity"] - log_n), r
            )
            vals = [rng.randrange(r) for _ in range(n)]
            if n >= 8:
                vals[0], vals[1] = 0, r - 1
            g = 1 if shift is None else shift
            sc = 1 if scale is None else scale
            res = [
                sc * sum(pow(g, i, r) * vals[i] * pow(w, i * k, r) for i in range(n)) % r
                for k in range(n)
            ]
            v: dict[str, Any] = {
                "curve": curve,
                "n": n,
                "omega": h(w),
                "input": [h(x) for x in vals],
                "out": [h(x) for x in res],
            }
            if shift is not None:
                v["shift"] = h(shift)
            if scale is not None:
                v["scale"] = h(scale)
            out.append(v)
    return out


def pairing_vectors(rng: random.Random) -> list[dict[str, Any]]:
    """Pairing product checks whose answer follows from the points' discrete logs:
    e(aG, bH) e(-cG, H) == 1 exactly when c = ab mod r (bilinearity, non-degeneracy)."""
    out: list[dict[str, Any]] = []
    for curve, cp in CURVES.items():
        r = cp["r"]
        a, b = rng.randrange(2, r), rng.randrange(2, r)
        ab = a * b % r
        cases = [
            ([(a, b), (r - ab, 1)], True),
            ([(a, b), (r - ab - 1, 1)], False),
            ([(1, 1)], False),
            ([(0, 1), (1, 1), (r - 1, 1)], True),  # (infinity, H) contributes 1
            ([(a, 1), (1, r - a)], True),
        ]
        for pairs, want in cases:
            out.append(
                {
                    "curve": curve,
                    "g1": [enc_point(curve, "G1", mul(curve, "G1", x)) for x, _ in pairs],
                    "g2": [enc_point(curve, "G2", mul(curve, "G2", y)) for _, y in pairs],
                    "result": want,
                }
            )
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    rng = random.Random(20261126)
    doc = {
        "schema": SCHEMA,
        "generator": "firmware_tests/make_vectors.py (py_ecc + Python integers)",
        "field": field_vectors(rng),
        "point": point_vectors(rng),
        "check": check_vectors(rng),
        "msm": msm_vectors(rng),
        "ntt": ntt_vectors(rng),
        "pairing": pairing_vectors(rng),
    }
    Path(argv[1]).write_text(json.dumps(doc, indent=0) + "\n")
    counts = {k: len(v) for k, v in doc.items() if isinstance(v, list)}
    print(f"wrote {argv[1]}: {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
