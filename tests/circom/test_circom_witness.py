"""The in-process witness calculator against ``snarkjs wtns calculate``, byte for byte, and
every error it reports."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from support.circom_paths import G16, GUARDED, SHAPES, Run, pubmix

from zkedge.circom import (
    InputError,
    WasmtimeUnavailable,
    WitnessCalculator,
    WitnessError,
    _witness,
    calculate_witness,
    fnv1a64,
    parse_inputs,
)
from zkedge.groth16 import read_wtns

BN_R = 21888242871839275222246405745257275088548364400416034343698204186575808495617
SHAPES_INPUTS: list[dict[str, Any]] = [
    json.loads((SHAPES / "input.json").read_text()),
    # numbers, hex, negatives (mod p), booleans, values >= p, white space, an empty string
    {
        "k": -1,
        "v": [True, " 0x7fffffff ", str(BN_R + 1)],
        "m": [["0X1f", "-2", 1e3], ["0o17", "0b101", ""]],
        "cube": [[[0, 0], [False, "+9"]], [[1, 1], [1, 1]]],
    },
    # nested lists flattened in order, whatever their shape (snarkjs does not check it)
    {"k": 2, "v": [[1], [2, 3]], "m": [1, 2, 3, 4, 5, 6], "cube": [1, [2, [3, [4, 5, 6, 7, 8]]]]},
]  # fmt: skip


def _snarkjs_wtns(snarkjs: Run, wasm: Path, inputs: object, tmp: Path) -> bytes:
    inp, out = tmp / "in.json", tmp / "sj.wtns"
    inp.write_text(json.dumps(inputs))
    res = snarkjs("wtns", "calculate", wasm, inp, out)
    assert res.returncode == 0 and out.exists(), res.stdout + res.stderr
    return out.read_bytes()


@pytest.mark.parametrize("case", range(len(SHAPES_INPUTS)))
def test_shapes_matches_snarkjs(snarkjs: Run, tmp_path: Path, case: int) -> None:
    inputs = SHAPES_INPUTS[case]
    want = _snarkjs_wtns(snarkjs, SHAPES / "circuit.wasm", inputs, tmp_path)
    got = calculate_witness(SHAPES / "circuit.wasm", inputs)
    assert got == want


@pytest.mark.parametrize("curve", ["bn128", "bls12381"])
def test_pubmix_matches_snarkjs(snarkjs: Run, tmp_path: Path, curve: str) -> None:
    for name in ("input.json", "input2.json"):
        inputs = json.loads((G16 / curve / name).read_text())
        want = _snarkjs_wtns(snarkjs, pubmix(curve), inputs, tmp_path)
        out = tmp_path / "zk.wtns"
        assert calculate_witness(pubmix(curve), G16 / curve / name, out) == want
        assert out.read_bytes() == want


@pytest.mark.parametrize("curve", ["bn128", "bls12381"])
def test_pubmix_matches_checked_in_witness(curve: str) -> None:
    """Without node: the witnesses snarkjs made for tests/fixtures (and their zkeys)."""
    calc = WitnessCalculator(pubmix(curve))
    for name, wtns in (("input.json", "witness.wtns"), ("input2.json", "witness2.wtns")):
        assert calculate_witness(calc, G16 / curve / name) == (G16 / curve / wtns).read_bytes()
    wit = read_wtns(G16 / curve / "witness.wtns")
    assert calc.info.prime == wit.curve.r and calc.info.witness_size == wit.n


def test_guarded_valid_matches_snarkjs(snarkjs: Run, tmp_path: Path) -> None:
    inputs = {"x": "99", "y": "9801"}
    want = _snarkjs_wtns(snarkjs, GUARDED / "circuit.wasm", inputs, tmp_path)
    assert calculate_witness(GUARDED / "circuit.wasm", inputs) == want
    assert read_wtns(want).values()[1] == 100 * 9801  # z = (x + 1) * y


def test_info_and_log_lines() -> None:
    lines: list[str] = []
    calc = WitnessCalculator(SHAPES / "circuit.wasm", log=lines.append)
    assert calc.info.version[0] == 2 and calc.info.n32 == 8
    assert calc.info.input_size == 1 + 3 + 6 + 8
    assert calc.info.witness_size == read_wtns(calc.wtns(SHAPES_INPUTS[0])).n
    assert lines == ["shapes: k = 3 total = 213"]  # log("shapes: k =", k, "total =", total)


def test_fnv1a64_known_values() -> None:
    assert fnv1a64("") == 0xCBF29CE484222325
    assert fnv1a64("a") == 0xAF63DC4C8601EC8C  # FNV-1a 64 test vector
    assert fnv1a64("foobar") == 0x85944171F73967E8


def test_compiled_module_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_witness, "_MODULES", {})
    WitnessCalculator(GUARDED / "circuit.wasm", cache_dir=tmp_path)
    digest = hashlib.sha256((GUARDED / "circuit.wasm").read_bytes()).hexdigest()
    (cached,) = tmp_path.glob(f"{digest}-*.cwasm")
    monkeypatch.setattr(_witness, "_MODULES", {})
    calls: list[bytes] = []
    real = _witness._build

    def counting(engine: Any, code: bytes) -> Any:
        calls.append(code)
        return real(engine, code)

    monkeypatch.setattr(_witness, "_build", counting)
    calc = WitnessCalculator(GUARDED / "circuit.wasm", cache_dir=tmp_path)
    assert calls == []  # loaded from the cache, not compiled
    assert read_wtns(calc.wtns({"x": 3, "y": 9})).values()[1] == 36
    cached.write_bytes(b"garbage")  # a broken cache entry is recompiled, not fatal
    # the module loaded from it lives on: its code was read, not mapped from the file (a
    # mapped page past the new end would be SIGBUS)
    assert read_wtns(calc.wtns({"x": 4, "y": 16})).values()[1] == 80
    monkeypatch.setattr(_witness, "_MODULES", {})
    WitnessCalculator(GUARDED / "circuit.wasm", cache_dir=tmp_path)
    assert len(calls) == 1
    assert cached.read_bytes() != b"garbage"  # and saved again


# errors


@pytest.mark.parametrize(
    ("inputs", "match"),
    [
        ({"x": 5}, r"missing input: 1 of the circuit's 2 input values"),
        ({"x": 5, "y": 25, "q": 1}, r"signal 'q' is not an input of the circuit"),
        ({"x": [5, 6], "y": 25}, r"signal 'x': too many values \(2 given, the circuit takes 1\)"),
        ({"x": [], "y": 25}, r"signal 'x': too few values \(0 given, the circuit takes 1\)"),
        ({"x": "abc", "y": 25}, r"x: 'abc' is not an integer"),
        ({"x": "1.5", "y": 25}, r"x: '1.5' is not an integer"),
        ({"x": 1.5, "y": 25}, r"x: 1.5 is not an integer"),
        ({"x": None, "y": 25}, r"x: null is not a field element"),
        ({"x": {"a": 1}, "y": 25}, r"x: an object is not a field element"),
        ({"x": 2**60, "y": 25}, r"x: the JSON number 1152921504606846976 is beyond 2\^53"),
        ({"x": "-0x5", "y": 25}, r"x: '-0x5' is not an integer"),
        ([1, 2], r"input must be a JSON object"),
    ],
)
def test_input_errors(inputs: Any, match: str) -> None:
    calc = WitnessCalculator(GUARDED / "circuit.wasm")
    with pytest.raises(InputError, match=match):
        calc.calculate(inputs)


def test_input_error_for_nested_list_element() -> None:
    calc = WitnessCalculator(SHAPES / "circuit.wasm")
    bad = dict(SHAPES_INPUTS[0], m=[[1, 2, 3], [4, "five", 6]])
    with pytest.raises(InputError, match=r"m\[1\]\[1\]: 'five' is not an integer"):
        calc.calculate(bad)


def test_failing_assert_names_template_and_line() -> None:
    calc = WitnessCalculator(GUARDED / "circuit.wasm")
    with pytest.raises(WitnessError) as info:
        calc.calculate({"x": 100, "y": 10000})
    e = info.value
    assert e.code == 4 and e.reason == "assert failed"
    # circom reports the assert (Bounded, line 8) and where Bounded is used (Guarded, line 17)
    assert str(e) == (
        "assert failed: Error in template Bounded_0 line: 8; Error in template Guarded_1 line: 17"
    )


def test_failing_constraint() -> None:
    calc = WitnessCalculator(GUARDED / "circuit.wasm")
    with pytest.raises(
        WitnessError, match=r"^assert failed: Error in template Guarded_1 line: 18$"
    ):
        calc.calculate({"x": 3, "y": 10})
    # the calculator stays usable: each calculation runs on a fresh instance
    assert read_wtns(calc.wtns({"x": 3, "y": 9})).values()[1] == 36


def test_not_a_wasm_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.wasm"
    bad.write_bytes(b"\0asm\x01\0\0\0garbage")
    with pytest.raises(InputError, match="not a valid WebAssembly module"):
        WitnessCalculator(bad)
    with pytest.raises(InputError, match="cannot read wasm"):
        WitnessCalculator(tmp_path / "missing.wasm")


def test_not_a_circom_module() -> None:
    wasmtime = pytest.importorskip("wasmtime")
    code = wasmtime.wat2wasm('(module (memory (export "memory") 1) (func (export "f")))')
    with pytest.raises(InputError, match="not a circom 2 witness module"):
        WitnessCalculator(bytes(code))


def test_without_wasmtime(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "wasmtime", None)  # import wasmtime -> ImportError
    monkeypatch.setattr(_witness, "_ENGINE", None)
    monkeypatch.setattr(_witness, "_MODULES", {})
    with pytest.raises(WasmtimeUnavailable, match="needs the wasmtime package") as info:
        WitnessCalculator(GUARDED / "circuit.wasm")
    assert "\n" not in str(info.value)


def test_call_by_call_path_gives_the_same_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the batch helper cannot link, inputs and witness go one call at a time, and
    without getSharedRWMemoryStart through read/writeSharedRWMemory word by word."""
    inputs = SHAPES_INPUTS[1]
    calc = WitnessCalculator(SHAPES / "circuit.wasm")
    want = calc.calculate(inputs)
    monkeypatch.setattr(_witness, "_BATCH_IMPORTS", ("noSuchExport",))
    run = _witness._Run(calc)
    assert run._batch is None
    assert run.calculate(parse_inputs(inputs)) == want
    run = _witness._Run(calc)
    run._shared = None
    assert run.calculate(parse_inputs(inputs)) == want
    with pytest.raises(WitnessError, match="Bounded_0 line: 8"):
        _witness._Run(WitnessCalculator(GUARDED / "circuit.wasm")).calculate({"x": [100], "y": [1]})
