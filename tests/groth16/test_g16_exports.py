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


def test_local_prove_imports_only_the_prover(tmp_path: object) -> None:
    """`zkedge prove` without --coordinator loads neither the fleet (grpclib, trio) nor
    OpenSSL (ssl, hashlib, secrets) nor concurrent.futures, nor dataclasses with inspect, nor
    typing or pathlib (zkedge.record): its start-up is a small proof's largest cost. Run with
    ``-S``, the installed packages on PYTHONPATH: an editable install's import hook (site)
    loads pathlib before zkedge does."""
    import os
    import subprocess
    import sys
    import sysconfig
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    data = root / "zkedge" / "_data" / "bn128"
    out = Path(str(tmp_path))
    argv = ["prove", "-q", str(data / "circuit.zkey"), str(data / "witness.wtns"),
            str(out / "proof.json"), str(out / "public.json")]  # fmt: skip
    code = (
        "import sys\n"
        "from zkedge.cli import main\n"
        f"rc = main({argv!r})\n"
        "heavy = {'trio', 'grpclib', 'betterproto', 'ssl', 'hashlib', 'secrets', 'concurrent',\n"
        "         'dataclasses', 'inspect', 'typing', 'pathlib', 'urllib', 'ipaddress'}\n"
        "print(rc, sorted(m for m in sys.modules\n"
        "                 if m.split('.')[0] in heavy or m.startswith('zkedge.fleet')))\n"
    )
    paths = sysconfig.get_paths()
    pythonpath = os.pathsep.join(dict.fromkeys([str(root), paths["purelib"], paths["platlib"]]))
    res = subprocess.run(
        [sys.executable, "-S", "-c", code], capture_output=True, text=True, check=True,
        cwd=root, env={"PYTHONPATH": pythonpath},
    )  # fmt: skip
    assert res.stdout.strip() == "0 []", res.stdout + res.stderr
    assert (out / "proof.json").is_file()
