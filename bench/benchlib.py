"""Helpers the bench scripts share (imported from bench/, the scripts' own directory)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

__all__ = ["groth16_bench"]

BENCH = Path(__file__).resolve().parent


def groth16_bench() -> Any:
    """bench/groth16.py as a module: its circuits (``circuit_for``, ``circuit_wasm``) and
    snarkjs helpers. Loaded by path: a plain ``import groth16`` would find the tests'
    package of that name first."""
    spec = importlib.util.spec_from_file_location("g16bench", BENCH / "groth16.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
