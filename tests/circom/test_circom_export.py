"""``zkedge zkey export``: the verification key and call data against snarkjs's, and the
Solidity verifier compiled with solc and run in an EVM (both from npm)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.circom_paths import G16, HERE, SHAPES, Run, pubmix

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


def test_solidity_verifier_needs_bn254(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "v.sol"
    assert main(["zkey", "export", "solidityverifier", str(ZKEYS["bls12381"]), str(out)]) == 2
    assert "needs BN254" in capsys.readouterr().err and not out.exists()


def _calldata(public: Path, proof: Path) -> str:
    return solidity_calldata(public, proof)


def _tampered(calldata: str) -> list[str]:
    """The call data with each of A.x, B.x1, C.y and the first public signal changed."""
    groups = json.loads(f"[{calldata}]")
    out = []
    for path in ((0, 0), (1, 0, 0), (2, 1), (3, 0)):
        g = json.loads(json.dumps(groups))
        ref = g
        for k in path[:-1]:
            ref = ref[k]
        ref[path[-1]] = hex(int(ref[path[-1]], 16) + 1)
        out.append(",".join(json.dumps(x, separators=(", ", ", ")) for x in g))
    return out


@pytest.mark.slow
def test_solidity_verifier_in_evm(snarkjs: Run, node: Run, tmp_path: Path) -> None:
    """Our contract accepts zkedge's and snarkjs's proofs of the same statement and rejects
    altered ones, for the shapes circuit (15 public signals) and pubmix (6)."""
    cases = []
    for name, zkey, inp, wasm in (
        ("shapes", SHAPES / "circuit.zkey", SHAPES / "input.json", SHAPES / "circuit.wasm"),
        ("pubmix", ZKEYS["bn128"], G16 / "bn128/input.json", pubmix("bn128")),
    ):
        d = tmp_path / name
        d.mkdir()
        sol = d / "verifier.sol"
        assert main(["zkey", "export", "solidityverifier", str(zkey), str(sol)]) == 0
        zk_out = [str(d / "zk_proof.json"), str(d / "zk_public.json")]
        assert main(["groth16", "fullprove", str(inp), str(wasm), str(zkey), *zk_out, "-q"]) == 0
        res = snarkjs(
            "groth16", "fullprove", inp, wasm, zkey, d / "sj_proof.json", d / "sj_public.json"
        )
        assert res.returncode == 0, res.stdout + res.stderr
        ok = [_calldata(d / f"{w}_public.json", d / f"{w}_proof.json") for w in ("zk", "sj")]
        bad = _tampered(ok[0]) + _tampered(ok[1])
        cases.append((sol, ok, bad))
    script = HERE / "evm" / "run_verifier.mjs"
    for sol, ok, bad in cases:
        res = node(script, sol, stdin=json.dumps(ok + bad))
        assert res.returncode == 0, res.stdout + res.stderr
        out = json.loads(res.stdout)
        assert out["results"] == [True] * len(ok) + [False] * len(bad), (sol, out)
        assert max(out["gas"][: len(ok)]) < 600_000  # a valid proof: pairing + one ecMul per signal


def test_solidity_verifier_without_public_signals(node: Run, tmp_path: Path) -> None:
    """A key with no public signals gets a verifyProof without the `pub` argument (Solidity
    has no zero-length arrays); solc compiles it."""
    import dataclasses

    from zkedge.circom import solidity_verifier
    from zkedge.groth16 import read_zkey, vkey_from_zkey

    vk = vkey_from_zkey(read_zkey(SHAPES / "circuit.zkey"))
    source = solidity_verifier(dataclasses.replace(vk, n_public=0, ic=vk.ic[:1]))
    assert "calldata pub" not in source and "IC1_X" not in source
    (tmp_path / "v.sol").write_text(source)
    res = node(HERE / "evm" / "run_verifier.mjs", tmp_path / "v.sol", stdin="[]")
    assert res.returncode == 0 and json.loads(res.stdout)["results"] == [], res.stdout


def test_tampered_changes_one_value() -> None:
    base = '["0x01", "0x02"],[["0x03", "0x04"],["0x05", "0x06"]],["0x07", "0x08"],["0x09"]'
    got = [json.loads(f"[{t}]") for t in _tampered(base)]
    assert got[0][0][0] == "0x2" and got[1][1][0][0] == "0x4"
    assert got[2][2][1] == "0x9" and got[3][3][0] == "0xa"
