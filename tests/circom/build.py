#!/usr/bin/env python3
"""Build the circom toolbox's test fixtures with the pinned circom2 + snarkjs.

    python tests/circom/build.py          # regenerate tests/circom/fixtures/

For each circuit: circuit.wasm (circom --wasm), circuit.r1cs and input.json; for the ones
with a proving key also circuit.zkey and verification_key.json (snarkjs groth16 setup and
one contribution). The pubmix circuits are tests/fixtures' circuits: their proving keys and
witnesses are the ones in tests/fixtures/bn128 and bls12381 (circom's output is deterministic,
so the wasm matches them). Compiling takes seconds; setups a few seconds each.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
OUT = HERE / "fixtures"
sys.path.insert(0, str(HERE.parent))  # the tests/fixtures package

from fixtures.build import (  # noqa: E402
    WORK,
    compile_circuit,
    ensure_ptau,
    log,
    node_available,
    snarkjs,
)

SHAPES_INPUT: dict[str, object] = {
    "k": "3",
    "v": [1, "2", "0x10"],
    "m": [[1, 2, 3], [4, 5, "-1"]],
    "cube": [[[1, 2], [3, 4]], [[5, 6], [7, 8]]],
}

# name -> (source, circom prime, snarkjs curve or None for no proving key, ptau power, input)
CIRCUITS: dict[str, tuple[Path, str, str | None, int, dict[str, object]]] = {
    "shapes": (HERE / "circuits/shapes.circom", "bn128", "bn128", 7, SHAPES_INPUT),
    "guarded": (HERE / "circuits/guarded.circom", "bn128", None, 0, {"x": "5", "y": "25"}),
    "pubmix_bn128": (
        ROOT / "tests/fixtures/circuits/pubmix.circom",
        "bn128",
        None,
        0,
        json.loads((ROOT / "tests/fixtures/bn128/input.json").read_text()),
    ),
    "pubmix_bls12381": (
        ROOT / "tests/fixtures/circuits/pubmix_bls.circom",
        "bls12381",
        None,
        0,
        json.loads((ROOT / "tests/fixtures/bls12381/input.json").read_text()),
    ),
}


def build(name: str) -> None:
    """Compile one circuit (and set it up) into tests/circom/fixtures/<name>/."""
    src, prime, curve, power, inputs = CIRCUITS[name]
    out = OUT / name
    out.mkdir(parents=True, exist_ok=True)
    r1cs, wasm = compile_circuit(src, prime, WORK / "circom-toolbox" / name)
    shutil.copyfile(wasm, out / "circuit.wasm")
    if curve is not None or not name.startswith("pubmix"):  # pubmix: r1cs in tests/fixtures
        shutil.copyfile(r1cs, out / "circuit.r1cs")
    (out / "input.json").write_text(json.dumps(inputs, indent=1) + "\n")
    if curve is not None:
        ptau = ensure_ptau(curve, power)
        zkey0 = WORK / "circom-toolbox" / name / "circuit_0.zkey"
        snarkjs("groth16", "setup", out / "circuit.r1cs", ptau, zkey0)
        snarkjs("zkey", "contribute", zkey0, out / "circuit.zkey", "--name=zkedge", "-e=zkedge")
        zkey0.unlink()
        snarkjs("zkey", "export", "verificationkey", out / "circuit.zkey", out / "vkey.json")
        (out / "vkey.json").rename(out / "verification_key.json")
    log(f"circom toolbox fixture {name}: done")


def main() -> int:
    if not node_available():
        log("node toolchain missing: run `make node` (npm install in tests/fixtures)")
        return 2
    for name in sys.argv[1:] or sorted(CIRCUITS):
        build(name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
