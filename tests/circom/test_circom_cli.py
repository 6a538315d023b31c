"""``zkedge wtns calculate`` and ``zkedge groth16 prove|verify|fullprove`` through the real
``zkedge`` parser: exit codes, one-line errors, and fullprove's proofs checked by snarkjs."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from support.circom_paths import G16, GUARDED, SHAPES, Run, pubmix

from zkedge.circom import _witness
from zkedge.cli import main


def _err_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    assert err.startswith("error: "), err
    return err


def test_wtns_calculate(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "w.wtns"
    rc = main(["wtns", "calculate", str(pubmix("bn128")), str(G16 / "bn128/input.json"), str(out)])
    assert rc == 0
    assert out.read_bytes() == (G16 / "bn128/witness.wtns").read_bytes()


def test_wtns_calculate_prints_circuit_log(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    args = ["wtns", "calculate", str(SHAPES / "circuit.wasm"), str(SHAPES / "input.json")]
    assert main([*args, str(tmp_path / "w.wtns")]) == 0
    assert capsys.readouterr().err == "shapes: k = 3 total = 213\n"


@pytest.mark.parametrize(
    ("inputs", "rc", "message"),
    [
        ({"x": 5}, 2, "error: missing input: 1 of the circuit's 2 input values given"),
        ({"x": 5, "y": 25, "z": 1}, 2, "error: signal 'z' is not an input of the circuit"),
        ({"x": [1, 2], "y": 1}, 2, "error: signal 'x': too many values (2 given"),
        ({"x": [], "y": 1}, 2, "error: signal 'x': too few values (0 given"),
        ({"x": "0xg", "y": 1}, 2, "x: '0xg' is not an integer"),
        ({"x": 100, "y": 1}, 1, "error: assert failed: Error in template Bounded_0 line: 8"),
        ({"x": 2, "y": 5}, 1, "error: assert failed: Error in template Guarded_1 line: 18"),
    ],
)
def test_wtns_calculate_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, inputs: object, rc: int, message: str
) -> None:
    inp, out = tmp_path / "in.json", tmp_path / "w.wtns"
    inp.write_text(json.dumps(inputs))
    assert main(["wtns", "calculate", str(GUARDED / "circuit.wasm"), str(inp), str(out)]) == rc
    assert message in _err_line(capsys)
    assert not out.exists()


def test_wtns_calculate_bad_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    wasm = str(GUARDED / "circuit.wasm")
    out = str(tmp_path / "w.wtns")
    (tmp_path / "bad.json").write_text('{"x": 1,')
    assert main(["wtns", "calculate", wasm, str(tmp_path / "bad.json"), out]) == 2
    assert "input is not valid JSON" in _err_line(capsys)
    assert main(["wtns", "calculate", wasm, str(tmp_path / "none.json"), out]) == 2
    assert "cannot read input" in _err_line(capsys)
    (tmp_path / "bad.wasm").write_bytes(b"not wasm")
    inp = str(GUARDED / "input.json")
    assert main(["wtns", "calculate", str(tmp_path / "bad.wasm"), inp, out]) == 2
    assert "not a valid WebAssembly module" in _err_line(capsys)


def test_wtns_calculate_without_wasmtime(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "wasmtime", None)
    monkeypatch.setattr(_witness, "_ENGINE", None)
    monkeypatch.setattr(_witness, "_MODULES", {})
    args = ["wtns", "calculate", str(GUARDED / "circuit.wasm"), str(GUARDED / "input.json")]
    assert main([*args, str(tmp_path / "w.wtns")]) == 1
    assert "needs the wasmtime package" in _err_line(capsys)


@pytest.mark.parametrize("curve", ["bn128", "bls12381"])
def test_fullprove_verified_by_snarkjs(
    snarkjs: Run, capsys: pytest.CaptureFixture[str], tmp_path: Path, curve: str
) -> None:
    proof, public = tmp_path / "proof.json", tmp_path / "public.json"
    d = G16 / curve
    args = [str(d / "input2.json"), str(pubmix(curve)), str(d / "circuit.zkey")]
    assert main(["groth16", "fullprove", *args, str(proof), str(public), "-q"]) == 0
    res = snarkjs("groth16", "verify", d / "verification_key.json", public, proof)
    assert res.returncode == 0 and "OK" in res.stdout, res.stdout + res.stderr
    # the public signals are the ones of snarkjs's own witness for input2.json
    from zkedge.groth16 import read_wtns

    wit = read_wtns(d / "witness2.wtns")
    n_pub = len(json.loads((d / "public.json").read_text()))
    assert json.loads(public.read_text()) == [str(wit.value(i)) for i in range(1, n_pub + 1)]
    # and `zkedge groth16 verify` agrees
    assert (
        main(["groth16", "verify", str(d / "verification_key.json"), str(public), str(proof)]) == 0
    )
    public.write_text(json.dumps([str(int(v) + 1) for v in json.loads(public.read_text())]))
    assert (
        main(["groth16", "verify", str(d / "verification_key.json"), str(public), str(proof)]) == 1
    )
    res = snarkjs("groth16", "verify", d / "verification_key.json", public, proof)
    assert "OK" not in res.stdout


def test_fullprove_shapes_verified_by_snarkjs(snarkjs: Run, tmp_path: Path) -> None:
    proof, public = tmp_path / "proof.json", tmp_path / "public.json"
    args = [str(SHAPES / "input.json"), str(SHAPES / "circuit.wasm"), str(SHAPES / "circuit.zkey")]
    assert main(["groth16", "fullprove", *args, str(proof), str(public), "-q", "--verify"]) == 0
    res = snarkjs("groth16", "verify", SHAPES / "verification_key.json", public, proof)
    assert res.returncode == 0 and "OK" in res.stdout, res.stdout + res.stderr
    assert len(json.loads(public.read_text())) == 11 + 4  # outputs, then k and v


def test_fullprove_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    proof, public = tmp_path / "proof.json", tmp_path / "public.json"
    bad = tmp_path / "in.json"
    bad.write_text('{"k": 1}')
    args = [str(bad), str(SHAPES / "circuit.wasm"), str(SHAPES / "circuit.zkey")]
    assert main(["groth16", "fullprove", *args, str(proof), str(public), "-q"]) == 2
    assert "missing input" in _err_line(capsys)
    # a witness for another circuit than the proving key's
    args = [
        str(SHAPES / "input.json"),
        str(SHAPES / "circuit.wasm"),
        str(G16 / "bn128/circuit.zkey"),
    ]
    assert main(["groth16", "fullprove", *args, str(proof), str(public), "-q"]) == 2
    log, err = capsys.readouterr().err.strip().split("\n")
    assert log == "shapes: k = 3 total = 213"  # the circuit's log() line, then the error
    assert err.startswith("error: ") and "witness has 65 values" in err
    assert not proof.exists() and not public.exists()


def test_groth16_prove_alias(tmp_path: Path) -> None:
    d = G16 / "bn128"
    proof, public = tmp_path / "proof.json", tmp_path / "public.json"
    args = [str(d / "circuit.zkey"), str(d / "witness.wtns"), str(proof), str(public), "-q"]
    assert main(["groth16", "prove", *args]) == 0
    assert main(["verify", str(d / "verification_key.json"), str(public), str(proof)]) == 0


def test_top_level_prove_and_verify_unchanged(tmp_path: Path) -> None:
    d = G16 / "bn128"
    assert main(["verify", str(d / "verification_key.json"), str(d / "public.json"),
                 str(d / "proof.json")]) == 0  # fmt: skip
    copy = tmp_path / "w.wtns"
    shutil.copyfile(d / "witness.wtns", copy)
    args = [str(d / "circuit.zkey"), str(copy), str(tmp_path / "p.json"), str(tmp_path / "q.json")]
    assert main(["prove", *args, "-q"]) == 0


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for name in ("wtns", "groth16", "zkey", "prove", "verify", "worker"):
        assert name in out
    with pytest.raises(SystemExit):
        main(["zkey", "export", "--help"])
    out = capsys.readouterr().out
    assert "verificationkey" in out and "soliditycalldata" in out and "solidityverifier" in out


def test_wtns_skips_the_fleet_imports(tmp_path: Path) -> None:
    """`zkedge wtns calculate` loads neither trio nor the fleet (most of its start-up time)."""
    import subprocess

    code = (
        "import sys\n"
        "from zkedge.cli import main\n"
        f"rc = main(['wtns', 'calculate', {str(GUARDED / 'circuit.wasm')!r}, "
        f"{str(GUARDED / 'input.json')!r}, {str(tmp_path / 'w.wtns')!r}])\n"
        "heavy = [m for m in ('trio', 'zkedge.worker', 'zkedge.coordinator', 'zkedge.groth16')"
        " if m in sys.modules]\n"
        "print(rc, heavy)\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert res.stdout.strip() == "0 []", res.stderr
