"""The public surface of zkedge.circom: what ``__all__`` lists is what ``__init__`` defines,
and importing it does not import wasmtime (boards without a wheel still import zkedge)."""

from __future__ import annotations

import subprocess
import sys

import zkedge.circom

EXPECTED = {
    "CircomError",
    "CircuitInfo",
    "InputError",
    "WasmtimeUnavailable",
    "WitnessCalculator",
    "WitnessError",
    "calculate_witness",
    "fnv1a64",
    "load_inputs",
    "parse_inputs",
    "solidity_calldata",
    "solidity_verifier",
    "vkey_json",
    "wtns_bytes",
}


def test_public_names() -> None:
    assert set(zkedge.circom.__all__) == EXPECTED
    public = {n for n in vars(zkedge.circom) if not n.startswith("_")}
    assert public == EXPECTED
    for name in EXPECTED:
        assert getattr(zkedge.circom, name) is not None


def test_import_and_parser_without_wasmtime() -> None:
    code = (
        "import sys; sys.modules['wasmtime'] = None\n"
        "import zkedge.circom, zkedge.cli\n"
        "zkedge.cli.build_parser()\n"
        "assert 'wasmtime' not in sys.modules or sys.modules['wasmtime'] is None\n"
        "print('ok')\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert res.stdout.strip() == "ok", res.stderr
