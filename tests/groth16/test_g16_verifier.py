"""zkedge's verifier against snarkjs's own proofs; tampering, wrong keys and bad inputs."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from support.g16_paths import fixture_dir

from zkedge.curves import BN254
from zkedge.groth16 import FormatError, explain_verify, read_vkey, verify
from zkedge.groth16.proofjson import parse_proof

BN = fixture_dir("bn128")
BLS = fixture_dir("bls12381")


def load(d: Path) -> tuple[dict[str, Any], list[str], dict[str, Any]]:
    return (
        json.loads((d / "verification_key.json").read_text()),
        json.loads((d / "public.json").read_text()),
        json.loads((d / "proof.json").read_text()),
    )


def test_snarkjs_proofs_verify(curve_dir: Path) -> None:
    d = curve_dir
    assert verify(d / "verification_key.json", d / "public.json", d / "proof.json")
    vk, pub, proof = load(d)
    assert verify(read_vkey(vk), [int(x) for x in pub], proof)


def test_tampered_proof_rejected() -> None:
    vk, pub, proof = load(BN)
    p = BN254.p
    # a valid point that is not the proof's: negate pi_a (y -> p - y)
    neg = copy.deepcopy(proof)
    neg["pi_a"][1] = str(p - int(proof["pi_a"][1]))
    assert not verify(vk, pub, neg)
    # swapped A and C
    sw = copy.deepcopy(proof)
    sw["pi_a"], sw["pi_c"] = proof["pi_c"], proof["pi_a"]
    assert not verify(vk, pub, sw)
    # a coordinate changed: off the curve, rejected with a reason (not an exception)
    off = copy.deepcopy(proof)
    off["pi_c"][0] = str(int(proof["pi_c"][0]) + 1)
    reason = explain_verify(vk, pub, off)
    assert reason is not None and "pi_c" in reason
    off = copy.deepcopy(proof)
    off["pi_b"][0][1] = str(int(proof["pi_b"][0][1]) ^ 1)
    assert not verify(vk, pub, off)
    # garbage
    assert not verify(vk, pub, {"pi_a": "x"})
    assert not verify(vk, pub, [])


def test_bls_tampered_proof_rejected() -> None:
    vk, pub, proof = load(BLS)
    neg = copy.deepcopy(proof)
    neg["pi_b"] = [proof["pi_b"][0], [str(0), str(0)], ["0", "0"]]  # infinity
    assert not verify(vk, pub, neg)


def test_wrong_public_signals_rejected() -> None:
    vk, pub, proof = load(BN)
    bad = list(pub)
    bad[3] = str(int(bad[3]) + 1)
    assert explain_verify(vk, bad, proof) == "pairing check failed"
    assert "6" in (explain_verify(vk, pub[:-1], proof) or "")
    big = list(pub)
    big[0] = str(BN254.r + int(big[0]))
    assert not verify(vk, big, proof)
    assert not verify(vk, ["x"] * 6, proof)


def test_wrong_vkey_rejected() -> None:
    vk, pub, proof = load(BN)
    other = copy.deepcopy(vk)
    other["IC"][1], other["IC"][2] = vk["IC"][2], vk["IC"][1]
    assert not verify(other, pub, proof)
    other = copy.deepcopy(vk)
    other["vk_delta_2"] = vk["vk_gamma_2"]
    assert not verify(other, pub, proof)
    # the other curve's key
    bvk = load(BLS)[0]
    reason = explain_verify(bvk, pub, proof)
    assert reason is not None and "bls12_381" in reason
    # a malformed key is an error, not a rejection
    with pytest.raises(FormatError):
        verify({"protocol": "groth16"}, pub, proof)


def test_parse_proof_roundtrip() -> None:
    from zkedge.groth16.proofjson import proof_to_json

    _, _, proof = load(BN)
    curve, (a, b, c) = parse_proof(proof)
    assert proof_to_json(curve, a, b, c) == proof
    _, _, proof = load(BLS)
    curve, (a, b, c) = parse_proof(proof)
    assert proof_to_json(curve, a, b, c) == proof


def test_native_check_agrees_with_py_ecc(curve_dir: Path) -> None:
    """The native pairing check and py_ecc's pairings give the same verdict, and the same
    reason, on the valid proof and on proofs, signals and keys that must fail the pairing."""
    vk, pub, proof = load(curve_dir)
    neg = copy.deepcopy(proof)
    p = read_vkey(vk).curve.p
    neg["pi_a"][1] = str(p - int(proof["pi_a"][1]))
    swapped = copy.deepcopy(proof)
    swapped["pi_a"], swapped["pi_c"] = proof["pi_c"], proof["pi_a"]
    bad_pub = list(pub)
    bad_pub[0] = str(int(bad_pub[0]) + 1)
    other = copy.deepcopy(vk)
    other["vk_delta_2"] = vk["vk_gamma_2"]
    cases = [(vk, pub, proof), (vk, pub, neg), (vk, pub, swapped), (vk, bad_pub, proof)]
    cases.append((other, pub, proof))
    verdicts = []
    for key, signals, prf in cases:
        native = explain_verify(key, signals, prf, backend="native")
        ref = explain_verify(key, signals, prf, backend="py_ecc")
        assert native == ref
        verdicts.append(native)
    assert verdicts == [None] + ["pairing check failed"] * 4
    with pytest.raises(ValueError, match="backend"):
        explain_verify(vk, pub, proof, backend="gpu")
