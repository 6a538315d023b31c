"""The Groth16 part of ``make demo``: prove the bundled circuit, verify it, write the JSON.

``run_demo()`` is the local proof; the fleet part (coordinator + local workers) is
``run_fleet_demo`` in ``zkedge.cli._demo`` (the second half of ``zkedge demo``).
"""

from __future__ import annotations

import sys
import time
from importlib.resources import files
from pathlib import Path
from typing import TextIO

from zkedge.groth16.proofjson import dump_json

__all__ = ["DEMO_CIRCUIT", "demo_circuit", "run_demo"]

#: the bundled circuit (3 outputs, 3 public inputs, Poseidon + bit decomposition, BN254),
#: package data: zkedge/_data/bn128
DEMO_CIRCUIT = Path(str(files("zkedge"))) / "_data" / "bn128"


def demo_circuit(curve: str = "bn128") -> Path:
    """Directory holding circuit.zkey, witness.wtns and verification_key.json: the package's
    copy for bn128; other curves only from a checkout's tests/fixtures."""
    d = DEMO_CIRCUIT.parent / curve
    if not (d / "circuit.zkey").is_file():
        d = DEMO_CIRCUIT.parents[2] / "tests" / "fixtures" / curve
    if not (d / "circuit.zkey").is_file():
        raise FileNotFoundError(f"no demo circuit for {curve} (only bn128 is installed)")
    return d


def run_demo(
    outdir: str | Path = ".",
    *,
    circuit: str | Path | None = None,
    threads: int | None = None,
    out: TextIO | None = None,
) -> bool:
    """Prove the bundled circuit locally, verify it, write proof.json and public.json to
    ``outdir``; print the times. Returns whether the proof verified."""
    from zkedge.groth16.prover import load_inputs, prove_points
    from zkedge.groth16.verifier import explain_verify
    from zkedge.groth16.vkey import read_vkey

    w = out if out is not None else sys.stdout
    d = Path(circuit) if circuit is not None else demo_circuit()
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    zk, wit = load_inputs(d / "circuit.zkey", d / "witness.wtns")
    t_read = time.monotonic() - t0
    h = zk.header
    print(
        f"circuit {d.name}: {h.n_vars} signals, {h.n_public} public, domain 2^{h.power} "
        f"({zk.curve.name})",
        file=w,
    )
    t1 = time.monotonic()
    res = prove_points(zk, wit, threads=threads)
    t_prove = time.monotonic() - t1
    proof, public = res.to_json()
    dump_json(proof, outdir / "proof.json")
    dump_json(public, outdir / "public.json")
    t2 = time.monotonic()
    why = explain_verify(read_vkey(d / "verification_key.json"), public, proof)
    t_verify = time.monotonic() - t2
    steps = ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in res.times.items())
    print(f"read   {t_read * 1000:8.1f} ms", file=w)
    print(f"prove  {t_prove * 1000:8.1f} ms  ({steps})", file=w)
    print(f"verify {t_verify * 1000:8.1f} ms  (pairing check)", file=w)
    print(f"public signals: {', '.join(public)}", file=w)
    print(
        f"proof {'VALID' if why is None else 'INVALID: ' + why}; wrote "
        f"{outdir / 'proof.json'} and {outdir / 'public.json'}",
        file=w,
    )
    return why is None
