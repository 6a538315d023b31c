"""``zkedge zkey export``: the verification key and call data against snarkjs's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from circom_paths import G16, SHAPES
from conftest import Run

from zkedge.circom._export import solidity_calldata, vkey_json
from zkedge.cli import main

ZKEYS = {
    "bn128": G16 / "bn128" / "circuit.zkey",
    "bls12381": G16 / "bls12381" / "circuit.zkey",
    "shapes": SHAPES / "circuit.zkey",
}


@pytest.mark.parametrize("name", sorted(ZKEYS))
def test_vkey_matches_snarkjs(snarkjs: Run, tmp_path: Path, name: str) -> None:
    res = snarkjs("zkey", "export", "verificationkey", ZKEYS[name], tmp_path / "sj.json")
    assert res.returncode == 0, res.stdout + res.stderr
    want = json.loads((tmp_path / "sj.json").read_text())
    assert (
        main(["zkey", "export", "verificationkey", str(ZKEYS[name]), str(tmp_path / "zk.json")])
        == 0
    )
    got = json.loads((tmp_path / "zk.json").read_text())
    assert got == want
    assert list(got) == list(want)


@pytest.mark.parametrize("curve", ["bn128", "bls12381"])
def test_vkey_matches_checked_in(curve: str) -> None:
    """Without node: the verification keys snarkjs exported when the fixtures were built."""
    want = json.loads((G16 / curve / "verification_key.json").read_text())
    assert vkey_json(ZKEYS[curve]) == want


def test_vkey_bad_zkey(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "bad.zkey").write_bytes(b"zkey")
    assert (
        main(
            [
                "zkey",
                "export",
                "verificationkey",
                str(tmp_path / "bad.zkey"),
                str(tmp_path / "v.json"),
            ]
        )
        == 2
    )
    assert capsys.readouterr().err.startswith("error: ")


@pytest.mark.parametrize("curve", ["bn128", "bls12381"])
def test_calldata_matches_snarkjs(
    snarkjs: Run, capsys: pytest.CaptureFixture[str], curve: str
) -> None:
    d = G16 / curve
    res = snarkjs("zkey", "export", "soliditycalldata", d / "public.json", d / "proof.json")
    assert res.returncode == 0, res.stdout + res.stderr
    assert (
        main(["zkey", "export", "soliditycalldata", str(d / "public.json"), str(d / "proof.json")])
        == 0
    )
    assert capsys.readouterr().out == res.stdout


def test_calldata_layout() -> None:
    proof = {
        "pi_a": ["1", "2", "1"],
        "pi_b": [["3", "4"], ["5", "6"], ["1", "0"]],
        "pi_c": ["7", "8", "1"],
        "protocol": "groth16",
    }
    w = [f'"0x{i:064x}"' for i in range(11)]
    assert solidity_calldata(["9", "10"], proof) == (
        f"[{w[1]}, {w[2]}],[[{w[4]}, {w[3]}],[{w[6]}, {w[5]}]],[{w[7]}, {w[8]}],[{w[9]},{w[10]}]"
    )


def test_calldata_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    d = G16 / "bn128"
    (tmp_path / "p.json").write_text('{"protocol": "plonk"}')
    assert (
        main(
            ["zkey", "export", "soliditycalldata", str(d / "public.json"), str(tmp_path / "p.json")]
        )
        == 2
    )
    assert "not a groth16 proof" in capsys.readouterr().err
    (tmp_path / "p.json").write_text('{"protocol": "groth16", "pi_a": []}')
    assert (
        main(
            ["zkey", "export", "soliditycalldata", str(d / "public.json"), str(tmp_path / "p.json")]
        )
        == 2
    )
    assert "pi_a, pi_b and pi_c" in capsys.readouterr().err
