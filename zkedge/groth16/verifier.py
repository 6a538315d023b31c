"""Groth16 verification: the native pairing check, or py_ecc's pairings (pure Python).

Accepts when e(A, B) = e(alpha, beta) * e(sum_i pub_i * IC_i, gamma) * e(C, delta), checked as
one product of four Miller loops and a single final exponentiation. The native core does it in
about 3.6 ms (BN254) or 6.5 ms (BLS12-381), its subgroup checks included; py_ecc takes about a
second and stays as the reference the tests compare against, and as the fallback where the
core is not built.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType
from typing import Any

from zkedge.curves import BN254, Curve, G1Affine, G2Affine, Point
from zkedge.groth16._binfile import FormatError
from zkedge.groth16.proofjson import Proof, parse_proof, parse_public
from zkedge.groth16.vkey import VerificationKey, read_vkey

__all__ = ["explain_verify", "verify"]


def _backend(curve: Curve) -> ModuleType:
    """py_ecc's optimized module for the curve (imported on first use: it is slow to import)."""
    try:
        if curve.name == BN254.name:
            import py_ecc.optimized_bn128 as bn

            return bn
        import py_ecc.optimized_bls12_381 as bls
    except ImportError as e:
        raise ImportError(f"py_ecc is not installed: pip install 'zkedge[reference]' ({e})") from e
    return bls


def _g1(m: ModuleType, pt: G1Affine | None) -> Any:
    if pt is None:
        return m.Z1
    return (m.FQ(pt[0]), m.FQ(pt[1]), m.FQ.one())


def _g2(m: ModuleType, pt: G2Affine | None) -> Any:
    if pt is None:
        return m.Z2
    (x0, x1), (y0, y1) = pt
    return (m.FQ2([x0, x1]), m.FQ2([y0, y1]), m.FQ2.one())


def _in_subgroup(m: ModuleType, pt: Any) -> bool:
    return bool(m.is_inf(m.multiply(pt, m.curve_order)))


_AB_CACHE: dict[tuple[str, object, object], Any] = {}


def _alpha_beta_miller(
    m: ModuleType, curve: Curve, alpha1: G1Affine | None, beta2: G2Affine | None
) -> Any:
    """The Miller loop of (beta2, alpha1), cached per key: repeated checks against one key
    (the fleet verifies every proof) save one of the four loops."""
    key = (curve.name, alpha1, beta2)
    hit = _AB_CACHE.get(key)
    if hit is None:
        q, p = _g2(m, beta2), _g1(m, alpha1)
        hit = m.FQ12.one() if m.is_inf(q) or m.is_inf(p) else m.pairing(q, p, False)
        if len(_AB_CACHE) > 64:
            _AB_CACHE.clear()
        _AB_CACHE[key] = hit
    return hit


def _native_available() -> bool:
    from zkedge import native_available

    return native_available()


def _explain_native(
    vk: VerificationKey, pub: list[int], a: G1Affine | None, b: G2Affine | None, c: G1Affine | None
) -> str | None:
    from zkedge import ec

    curve = vk.curve
    for what, group, pt in (("A", "G1", a), ("B", "G2", b), ("C", "G1", c)):
        if pt is not None and not ec.in_subgroup(curve, group, pt):
            return f"proof point {what} is not in the prime-order subgroup of {group}"
    try:
        cpub: Point = vk.ic[0]
        for v, ic in zip(pub, vk.ic[1:], strict=True):
            if v and ic is not None:
                cpub = ec.add(curve, "G1", cpub, ec.mul(curve, "G1", ic, v))
        pairs = [
            (ec.neg(curve, "G1", a), b),
            (vk.alpha1, vk.beta2),
            (cpub, vk.gamma2),
            (c, vk.delta2),
        ]
        ok = ec.pairing_check(curve, pairs)
    except ValueError as e:  # the proof's points were checked above: this is the key's
        raise FormatError("verification key", str(e)) from None
    return None if ok else "pairing check failed"


def explain_verify(
    vkey: VerificationKey | object,
    public_signals: Sequence[int | str] | object,
    proof: object,
    *,
    backend: str = "auto",
) -> str | None:
    """None if the proof is valid, else why not. A malformed verification key raises
    FormatError; a malformed proof or public signals is a reason to reject. ``backend``:
    "native", "py_ecc" or "auto" (native when the core is built)."""
    if backend not in ("auto", "native", "py_ecc"):
        raise ValueError(f"unknown backend {backend!r}; expected 'auto', 'native' or 'py_ecc'")
    vk = vkey if isinstance(vkey, VerificationKey) else read_vkey(vkey)
    curve = vk.curve
    try:
        if isinstance(proof, tuple):
            pcurve, (a, b, c) = curve, proof
        else:
            pcurve, (a, b, c) = parse_proof(proof)
        pub = parse_public(public_signals)
    except FormatError as e:
        return str(e)
    if pcurve.name != curve.name:
        return f"proof is on {pcurve.name}, verification key on {curve.name}"
    if len(pub) != vk.n_public:
        return f"{len(pub)} public signals, the verification key expects {vk.n_public}"
    if any(v >= curve.r for v in pub):
        return "a public signal is not below the scalar field prime"
    if backend == "native" or (backend == "auto" and _native_available()):
        return _explain_native(vk, pub, a, b, c)
    m = _backend(curve)
    pa, pb, pc = _g1(m, a), _g2(m, b), _g1(m, c)
    if curve.name != BN254.name and not (_in_subgroup(m, pa) and _in_subgroup(m, pc)):
        return "proof point A or C is not in the prime-order subgroup of G1"
    if not _in_subgroup(m, pb):
        return "proof point B is not in the prime-order subgroup of G2"
    cpub = _g1(m, vk.ic[0])
    for v, ic in zip(pub, vk.ic[1:], strict=True):
        if v and ic is not None:
            cpub = m.add(cpub, m.multiply(_g1(m, ic), v))
    pairs = [(pb, m.neg(pa)), (_g2(m, vk.gamma2), cpub), (_g2(m, vk.delta2), pc)]
    acc = _alpha_beta_miller(m, curve, vk.alpha1, vk.beta2)
    for q, p in pairs:
        if m.is_inf(q) or m.is_inf(p):
            continue
        acc = acc * m.pairing(q, p, final_exponentiate=False)
    if m.final_exponentiate(acc) != m.FQ12.one():
        return "pairing check failed"
    return None


def verify(
    vkey: VerificationKey | object,
    public_signals: Sequence[int | str] | object,
    proof: Proof | object,
) -> bool:
    """True iff ``proof`` is a valid Groth16 proof for ``public_signals`` under ``vkey``.

    Each argument is a path to snarkjs JSON or its parsed form (``proof`` may also be an
    ``(A, B, C)`` of affine points); ``vkey`` may be a :class:`zkedge.groth16.VerificationKey`.
    """
    return explain_verify(vkey, public_signals, proof) is None
