"""Fixture paths of the circom toolbox tests (tests/circom/build.py makes them)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

#: what the snarkjs and node fixtures return: run a command, get the completed process
Run = Callable[..., subprocess.CompletedProcess[str]]

HERE = Path(__file__).resolve().parent.parent / "circom"  # tests/circom
FIXTURES = HERE / "fixtures"
G16 = HERE.parent / "fixtures"  # the Groth16 fixtures: pubmix on both curves

SHAPES = FIXTURES / "shapes"
GUARDED = FIXTURES / "guarded"


def pubmix(curve: str) -> Path:
    """pubmix's circuit.wasm for "bn128" or "bls12381" (its zkey is in tests/fixtures/<curve>)."""
    return FIXTURES / f"pubmix_{curve}" / "circuit.wasm"
