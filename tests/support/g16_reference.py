"""Test-only pure-Python Groth16 prover (gmpy2 field arithmetic, py_ecc curve arithmetic).

Slow, simple and independent of the native core: it pins down the algorithm snarkjs uses (H on
the odd coset of the 2n-th roots of unity, with ffjavascript's roots) so the native prover's
intermediate values can be compared with it exactly.
"""

from __future__ import annotations

import struct
from typing import Any

import gmpy2

from zkedge.curves import Curve, G1Affine, G2Affine
from zkedge.groth16._binfile import g1_from_mont, g2_from_mont
from zkedge.groth16.wtns import Witness
from zkedge.groth16.zkey import Zkey


def ffjs_roots(curve: Curve) -> tuple[int, list[int]]:
    """ffjavascript's (nqr, w) with w[k] a primitive 2^k-th root: w[s] = nqr^t, w[k] = w[k+1]^2."""
    r = curve.r
    nqr = 2
    while pow(nqr, (r - 1) // 2, r) == 1:
        nqr += 1
    s, t = 0, r - 1
    while t % 2 == 0:
        s, t = s + 1, t // 2
    w = [0] * (s + 1)
    w[s] = pow(nqr, t, r)
    for k in range(s - 1, -1, -1):
        w[k] = w[k + 1] * w[k + 1] % r
    return nqr, w


def ntt(values: list[Any], omega: int, r: int) -> list[Any]:
    """Plain recursive radix-2 DFT: out[k] = sum_i values[i] * omega^(i k)."""
    n = len(values)
    if n == 1:
        return list(values)
    even = ntt(values[0::2], omega * omega % r, r)
    odd = ntt(values[1::2], omega * omega % r, r)
    out = [gmpy2.mpz(0)] * n
    w = gmpy2.mpz(1)
    for k in range(n // 2):
        t = w * odd[k] % r
        out[k] = (even[k] + t) % r
        out[k + n // 2] = (even[k] - t) % r
        w = w * omega % r
    return out


def eval_abc(zk: Zkey, wit: Witness) -> tuple[list[Any], list[Any], list[Any]]:
    """A, B evaluated on the domain from section 4 (values stored as v*R^2), C = A*B pointwise."""
    r = zk.curve.r
    n = zk.header.domain_size
    r2inv = pow(1 << 512, -1, r)
    w = [gmpy2.mpz(v) for v in wit.values()]
    ab = [[gmpy2.mpz(0)] * n, [gmpy2.mpz(0)] * n]
    rec = 12 + 32
    co = bytes(zk.coefs)
    for i in range(zk.n_coefs):
        m, c, s = struct.unpack_from("<III", co, i * rec)
        v = int.from_bytes(co[i * rec + 12 : i * rec + rec], "little") * r2inv % r
        ab[m][c] = (ab[m][c] + v * w[s]) % r
    a, b = ab
    return a, b, [x * y % r for x, y in zip(a, b, strict=True)]


def h_scalars(zk: Zkey, wit: Witness) -> list[int]:
    """The scalars snarkjs multiplies with section 9: (A*B - C) on the coset inc * w^k."""
    curve = zk.curve
    r = curve.r
    n = zk.header.domain_size
    power = zk.header.power
    nqr, w = ffjs_roots(curve)
    inc = nqr * nqr % r if power == len(w) - 1 else w[power + 1]
    omega = w[power]
    omega_inv = pow(omega, -1, r)
    n_inv = pow(n, -1, r)
    out = []
    for evals in eval_abc(zk, wit):
        coefs = [x * n_inv % r for x in ntt(evals, omega_inv, r)]
        g = gmpy2.mpz(1)
        for i in range(n):
            coefs[i] = coefs[i] * g % r
            g = g * inc % r
        out.append(ntt(coefs, omega, r))
    a, b, c = out
    return [int((x * y - z) % r) for x, y, z in zip(a, b, c, strict=True)]


def _py_ecc(curve: Curve) -> Any:
    if curve.name == "bn254":
        import py_ecc.optimized_bn128 as bn

        return bn
    import py_ecc.optimized_bls12_381 as bls

    return bls


def _msm(m: Any, pts: list[Any], scalars: list[int], zero: Any) -> Any:
    acc = zero
    for p, k in zip(pts, scalars, strict=True):
        if k and not m.is_inf(p):
            acc = m.add(acc, p if k == 1 else m.multiply(p, k))
    return acc


def _points(zk: Zkey, which: str) -> list[Any]:
    m = _py_ecc(zk.curve)
    raw = bytes(zk.raw[which])  # type: ignore[index]
    if which == "B2":
        size = zk.curve.point_bytes("G2")
        out = []
        for i in range(0, len(raw), size):
            p2: G2Affine | None = g2_from_mont(zk.curve, raw[i : i + size])
            out.append(
                m.Z2 if p2 is None else (m.FQ2(list(p2[0])), m.FQ2(list(p2[1])), m.FQ2.one())
            )
        return out
    size = zk.curve.point_bytes("G1")
    res = []
    for i in range(0, len(raw), size):
        p1: G1Affine | None = g1_from_mont(zk.curve, raw[i : i + size])
        res.append(m.Z1 if p1 is None else (m.FQ(p1[0]), m.FQ(p1[1]), m.FQ.one()))
    return res


def prove(zk: Zkey, wit: Witness, r_: int, s_: int) -> tuple[Any, Any, Any]:
    """(A, B, C) as py_ecc points, with the given blinding scalars."""
    m = _py_ecc(zk.curve)
    h = zk.header
    w = wit.values()

    def g1(p: G1Affine) -> Any:
        return (m.FQ(p[0]), m.FQ(p[1]), m.FQ.one())

    def g2(p: G2Affine) -> Any:
        return (m.FQ2(list(p[0])), m.FQ2(list(p[1])), m.FQ2.one())

    pa = _msm(m, _points(zk, "A"), w, m.Z1)
    pb1 = _msm(m, _points(zk, "B1"), w, m.Z1)
    pb = _msm(m, _points(zk, "B2"), w, m.Z2)
    pc = _msm(m, _points(zk, "C"), w[h.n_public + 1 :], m.Z1)
    ph = _msm(m, _points(zk, "H"), h_scalars(zk, wit), m.Z1)
    pa = m.add(m.add(pa, g1(h.alpha1)), m.multiply(g1(h.delta1), r_))
    pb = m.add(m.add(pb, g2(h.beta2)), m.multiply(g2(h.delta2), s_))
    pb1 = m.add(m.add(pb1, g1(h.beta1)), m.multiply(g1(h.delta1), s_))
    pc = m.add(pc, ph)
    pc = m.add(pc, m.multiply(pa, s_))
    pc = m.add(pc, m.multiply(pb1, r_))
    pc = m.add(pc, m.neg(m.multiply(g1(h.delta1), r_ * s_ % zk.curve.r)))
    return m.normalize(pa), m.normalize(pb), m.normalize(pc)
