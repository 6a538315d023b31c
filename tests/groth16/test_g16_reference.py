"""The pure-Python reference prover agrees with snarkjs: it pins the H algorithm and roots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support import g16_reference as ref
from support.g16_paths import fixture_dir

from zkedge.curves import BLS12_381, BN254
from zkedge.groth16 import read_vkey, read_wtns, read_zkey, verify
from zkedge.groth16.proofjson import proof_to_json
from zkedge.groth16.prover import coset_shift, ffjs_root


def test_ffjs_roots_match_prover() -> None:
    for curve in (BN254, BLS12_381):
        nqr, w = ref.ffjs_roots(curve)
        assert nqr == 5
        for k in (0, 1, 8, 10, 16):
            assert ffjs_root(curve, k) == w[k]
        assert coset_shift(curve, 10) == w[11]
        s = curve.fr_two_adicity
        assert coset_shift(curve, s) == 25 % curve.r
    # BN254's zkedge root is ffjavascript's; BLS12-381's (from generator 7) is not
    assert BN254.root_of_unity(1 << 10) == ffjs_root(BN254, 10)


def _to_affine(m: object, a: object, b: object, c: object) -> tuple[object, object, object]:
    A = (int(a[0].n), int(a[1].n))  # type: ignore[index]
    B = (
        (int(b[0].coeffs[0]), int(b[0].coeffs[1])),  # type: ignore[index]
        (int(b[1].coeffs[0]), int(b[1].coeffs[1])),  # type: ignore[index]
    )
    C = (int(c[0].n), int(c[1].n))  # type: ignore[index]
    return A, B, C


def test_reference_proof_bls(snarkjs_verify: Any, tmp_path: Path) -> None:
    d = fixture_dir("bls12381")
    zk = read_zkey(d / "circuit.zkey")
    wit = read_wtns(d / "witness2.wtns")
    a, b, c = _to_affine(None, *ref.prove(zk, wit, 1234567, 7654321))
    pub = [wit.value(i) for i in range(1, 7)]
    vk = read_vkey(d / "verification_key.json")
    assert verify(vk, pub, (a, b, c))
    proof = proof_to_json(zk.curve, a, b, c)  # type: ignore[arg-type]
    assert snarkjs_verify(d / "verification_key.json", [str(x) for x in pub], proof, tmp_path)
