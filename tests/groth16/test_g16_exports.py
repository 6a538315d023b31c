"""The public surface of zkedge.groth16 (changes here are API changes)."""

from __future__ import annotations

import zkedge.groth16 as g16


def test_public_names() -> None:
    assert sorted(g16.__all__) == [
        "FormatError", "Progress", "ProofPlan", "ProofResult", "R1cs", "Source", "VerificationKey",
        "Witness", "Zkey",
        "dump_json", "explain_verify", "parse_proof", "plan_proof", "proof_to_json", "prove",
        "prove_points", "read_r1cs", "read_vkey", "read_wtns", "read_zkey", "verify",
        "vkey_from_zkey",
    ]  # fmt: skip
    for name in g16.__all__:
        if name != "Source":  # a type alias
            assert getattr(g16, name).__module__.startswith("zkedge.groth16.")
    assert issubclass(g16.FormatError, ValueError)


def test_prover_does_not_import_py_ecc() -> None:
    """py_ecc takes ~0.6 s to import; only verification needs it."""
    import subprocess
    import sys
    from pathlib import Path

    code = "import sys, zkedge.groth16; print('py_ecc' in sys.modules)"
    root = str(Path(__file__).resolve().parents[2])
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root,
        env={"PYTHONPATH": root},
    )  # fmt: skip
    assert out.stdout.strip() == "False"
