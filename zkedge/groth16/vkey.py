"""Reader for snarkjs Groth16 verification keys (``verification_key.json``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from zkedge.curves import Curve, G1Affine, G2Affine, get_curve
from zkedge.groth16._binfile import FormatError
from zkedge.groth16.proofjson import (
    g1_from_json,
    g1_to_json,
    g2_from_json,
    g2_to_json,
    load_json,
    snarkjs_curve_name,
)
from zkedge.groth16.zkey import Zkey

__all__ = ["VerificationKey", "read_vkey", "vkey_from_zkey", "vkey_to_json"]


@dataclass(frozen=True)
class VerificationKey:
    """alpha1, beta2, gamma2, delta2 and the IC points (one per public signal, plus one)."""

    curve: Curve
    n_public: int
    alpha1: G1Affine | None
    beta2: G2Affine | None
    gamma2: G2Affine | None
    delta2: G2Affine | None
    ic: tuple[G1Affine | None, ...]


def read_vkey(src: object) -> VerificationKey:
    """Read a verification_key.json (path or dict). Raises :class:`zkedge.groth16.FormatError`."""
    name, obj = load_json(src, "verification key")
    if not isinstance(obj, dict):
        raise FormatError(name, "verification key must be a JSON object")
    if obj.get("protocol") != "groth16":
        raise FormatError(name, f"not a groth16 verification key ({obj.get('protocol')!r})")
    try:
        curve = get_curve(str(obj.get("curve")))
    except ValueError as e:
        raise FormatError(name, str(e)) from None
    for k in ("nPublic", "vk_alpha_1", "vk_beta_2", "vk_gamma_2", "vk_delta_2", "IC"):
        if k not in obj:
            raise FormatError(name, f"missing {k}")
    n_public = obj["nPublic"]
    if isinstance(n_public, bool) or not isinstance(n_public, int) or n_public < 0:
        raise FormatError(name, f"nPublic must be a non-negative integer, got {n_public!r}")
    ic = obj["IC"]
    if not isinstance(ic, list) or len(ic) != n_public + 1:
        raise FormatError(name, f"IC must list nPublic + 1 = {n_public + 1} points")
    return VerificationKey(
        curve=curve,
        n_public=n_public,
        alpha1=g1_from_json(curve, obj["vk_alpha_1"], name, "vk_alpha_1"),
        beta2=g2_from_json(curve, obj["vk_beta_2"], name, "vk_beta_2"),
        gamma2=g2_from_json(curve, obj["vk_gamma_2"], name, "vk_gamma_2"),
        delta2=g2_from_json(curve, obj["vk_delta_2"], name, "vk_delta_2"),
        ic=tuple(g1_from_json(curve, p, name, f"IC[{i}]") for i, p in enumerate(ic)),
    )


def vkey_from_zkey(zk: Zkey) -> VerificationKey:
    """The verification key embedded in a proving key."""
    h = zk.header
    return VerificationKey(
        curve=h.curve,
        n_public=h.n_public,
        alpha1=h.alpha1,
        beta2=h.beta2,
        gamma2=h.gamma2,
        delta2=h.delta2,
        ic=tuple(zk.ic),
    )


def vkey_to_json(vk: VerificationKey) -> dict[str, Any]:
    """snarkjs's JSON layout (without ``vk_alphabeta_12``, which verifiers do not need)."""
    return {
        "protocol": "groth16",
        "curve": snarkjs_curve_name(vk.curve),
        "nPublic": vk.n_public,
        "vk_alpha_1": g1_to_json(vk.alpha1),
        "vk_beta_2": g2_to_json(vk.beta2),
        "vk_gamma_2": g2_to_json(vk.gamma2),
        "vk_delta_2": g2_to_json(vk.delta2),
        "IC": [g1_to_json(p) for p in vk.ic],
    }
