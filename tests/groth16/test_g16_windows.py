"""Window files (`zkedge zkey windows`) and proofs made with them (`zkedge prove --windows`)."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.g16_paths import fixture_dir, needs_native

from zkedge.cli import main
from zkedge.groth16 import FormatError, read_wtns, read_zkey, verify
from zkedge.groth16.windows import HEADER, WindowFile, plan_windows, write_windows

pytestmark = needs_native

BN = fixture_dir("bn128")
BLS = fixture_dir("bls12381")
ALL = ["A", "B1", "B2", "C", "H"]


@pytest.fixture(scope="module")
def bn_windows(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("win") / "bn.windows"
    zk = read_zkey(BN / "circuit.zkey")
    write_windows(zk, path, plan_windows(zk), window=11)
    return path


@pytest.mark.parametrize("d", [BN, BLS], ids=["bn128", "bls12381"])
@pytest.mark.parametrize("threads", [1, 2])
def test_same_proof_with_windows(d: Path, threads: int, tmp_path: Path) -> None:
    """With the blinding fixed, the proof made over window tables is the plain one exactly."""
    from zkedge.groth16.prover import prove_points

    zk = read_zkey(d / "circuit.zkey")
    path = tmp_path / "c.windows"
    size = write_windows(zk, path, plan_windows(zk), window=15, threads=threads)
    assert path.stat().st_size == size
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left
    rs = (1234567, 7654321)
    wit = read_wtns(d / "witness.wtns")
    plain = prove_points(d / "circuit.zkey", wit, rs=rs, threads=threads)
    fast = prove_points(d / "circuit.zkey", wit, rs=rs, threads=threads, windows=path)
    assert (fast.a, fast.b, fast.c) == (plain.a, plain.b, plain.c)
    assert WindowFile(path, read_zkey(d / "circuit.zkey")).sets == ["B2", "H", "A", "B1", "C"]


def test_reused_zkey_and_another_zkey_object(tmp_path: Path) -> None:
    """A zkey object reused for several proofs (its sections released into tables after the
    first) and a WindowFile opened with another object of the same zkey both prove; a
    WindowFile for another zkey is refused."""
    from fixtures import fast_setup

    from zkedge.groth16.prover import prove_points

    zk = read_zkey(BN / "circuit.zkey")
    path = tmp_path / "w"
    write_windows(zk, path, plan_windows(zk))
    wit = read_wtns(BN / "witness.wtns")
    rs = (5, 7)
    first = prove_points(zk, wit, rs=rs, windows=path)
    assert zk.raw == {}  # released into tables by the first proof
    again = prove_points(zk, wit, rs=rs, windows=path)
    wf = WindowFile(path, read_zkey(BN / "circuit.zkey"))
    third = prove_points(zk, wit, rs=rs, windows=wf)
    plain = prove_points(BN / "circuit.zkey", wit, rs=rs)
    assert {(r.a, r.b, r.c) for r in (first, again, third)} == {(plain.a, plain.b, plain.c)}
    other = tmp_path / "other.zkey"
    fast_setup.fast_setup(BN / "circuit.r1cs", other, seed=4, log=False)
    with pytest.raises(FormatError, match="another zkey"):
        prove_points(other, wit, windows=wf)


def test_plan_windows_under_a_size() -> None:
    zk = read_zkey(BN / "circuit.zkey")
    assert plan_windows(zk) == ["B2", "H", "A", "B1", "C"]
    assert plan_windows(zk, only=["C", "A"]) == ["A", "C"]
    b2 = 16 * -(-zk.count("B2") * 128 // 65536) * 65536
    assert plan_windows(zk, max_size=65536 + b2) == ["B2"]
    assert plan_windows(zk, max_size=1000) == []
    with pytest.raises(ValueError, match="unknown point set"):
        plan_windows(zk, only=["D"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="between 2 and 15"):
        plan_windows(zk, window=16)


def test_cli_windows_and_prove(tmp_path: Path, snarkjs_verify: Any) -> None:
    out = tmp_path / "c.windows"
    assert main(["zkey", "windows", str(BN / "circuit.zkey"), str(out), "--window", "12"]) == 0
    proof, public = tmp_path / "proof.json", tmp_path / "public.json"
    argv = ["prove", "--windows", str(out), str(BN / "circuit.zkey"), str(BN / "witness.wtns")]
    assert main([*argv, str(proof), str(public), "-q"]) == 0
    assert verify(BN / "verification_key.json", json.loads(public.read_text()), json.loads(
        proof.read_text()))  # fmt: skip
    assert snarkjs_verify(BN / "verification_key.json", public, proof, tmp_path)
    # `zkedge groth16 prove` takes it too
    argv = ["groth16", "prove", str(BN / "circuit.zkey"), str(BN / "witness.wtns")]
    assert main([*argv, str(proof), str(public), "--windows", str(out), "-q"]) == 0


def test_cli_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], bn_windows: Path) -> None:
    zkey, wtns = str(BN / "circuit.zkey"), str(BN / "witness.wtns")
    out = str(tmp_path / "w")

    def err(argv: list[str], rc: int, text: str) -> None:
        assert main(argv) == rc
        e = capsys.readouterr().err.strip()
        assert e.startswith("error:") and text in e and "\n" not in e, e

    err(["zkey", "windows", zkey, out, "--window", "16"], 2, "between 2 and 15")
    err(["zkey", "windows", zkey, out, "--max-size", "lots"], 2, "not a size")
    err(["zkey", "windows", zkey, out, "--max-size", "1K"], 2, "no point set fits")
    err(["zkey", "windows", zkey, out, "--sets", "A,Q"], 2, "unknown point set")
    err(["zkey", "windows", str(tmp_path / "none.zkey"), out], 2, "none.zkey")
    err(["zkey", "windows", zkey, str(tmp_path / "no" / "w")], 2, "does not exist")
    assert not os.path.exists(out)
    proof, pub = str(tmp_path / "p.json"), str(tmp_path / "pub.json")
    err(["prove", "--windows", str(tmp_path / "none"), zkey, wtns, proof, pub], 2, "none")
    err(["prove", "--windows", zkey, zkey, wtns, proof, pub], 2, "not a zkedge window file")
    bls = ["prove", "--windows", str(bn_windows), str(BLS / "circuit.zkey")]
    err([*bls, str(BLS / "witness.wtns"), proof, pub], 2, "another curve")
    fleet = ["prove", "--windows", str(bn_windows), zkey, wtns, proof, pub]
    err([*fleet, "--coordinator", "127.0.0.1:1"], 2, "local proof")
    assert not os.path.exists(proof)


def test_size_argument() -> None:
    from zkedge.cli._circom import parse_size

    assert parse_size("123") == 123
    assert parse_size("200M") == 200 << 20
    assert parse_size("1.5g") == 3 << 29
    assert parse_size("2GiB") == 2 << 30
    assert parse_size("64KB") == 64 << 10
    for bad in ("", "M", "-1M", "1X", "nanG", "infM"):
        with pytest.raises(ValueError, match="not a size"):
            parse_size(bad)


def test_other_zkey_and_damage(
    tmp_path: Path, bn_windows: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file for another setup of the same circuit, cut short, or damaged: a one-line
    FormatError; damaged points that pass the checks make a proof the CLI refuses."""
    from fixtures import fast_setup

    other = tmp_path / "other.zkey"
    fast_setup.fast_setup(BN / "circuit.r1cs", other, seed=3, log=False)
    with pytest.raises(FormatError, match="another zkey"):
        WindowFile(bn_windows, read_zkey(other))
    data = bn_windows.read_bytes()
    cut = tmp_path / "cut.windows"
    cut.write_bytes(data[: len(data) - 70000])
    with pytest.raises(FormatError, match="outside the file"):
        WindowFile(cut, read_zkey(BN / "circuit.zkey"))
    cut.write_bytes(data[:40])
    with pytest.raises(FormatError, match="too short"):
        WindowFile(cut, read_zkey(BN / "circuit.zkey"))
    # a flipped byte in a block of points: the proof does not verify, nothing is written
    off, stride = WindowFile(bn_windows, read_zkey(BN / "circuit.zkey"))._sets["H"]
    bad = bytearray(data)
    bad[off + 3 * stride + 5 * 64 + 7] ^= 0x40  # block 4 of H, point 5's x
    damaged = tmp_path / "damaged.windows"
    damaged.write_bytes(bytes(bad))
    proof, pub = tmp_path / "p.json", tmp_path / "pub.json"
    argv = ["prove", "-q", "--windows", str(damaged), str(BN / "circuit.zkey")]
    assert main([*argv, str(BN / "witness.wtns"), str(proof), str(pub)]) == 2
    assert "damaged window tables" in capsys.readouterr().err
    assert not proof.exists() and not pub.exists()
    # a point moved to another point of the curve: the proof does not verify
    bad = bytearray(data)
    h0 = bad[off + 3 * stride + 5 * 64 : off + 3 * stride + 6 * 64]
    bad[off + 3 * stride + 5 * 64 : off + 3 * stride + 6 * 64] = bad[
        off + 3 * stride + 6 * 64 : off + 3 * stride + 7 * 64
    ]
    assert h0 != bad[off + 3 * stride + 5 * 64 : off + 3 * stride + 6 * 64]
    damaged.write_bytes(bytes(bad))
    assert main([*argv, str(BN / "witness.wtns"), str(proof), str(pub)]) == 1
    assert "damaged window tables" in capsys.readouterr().err
    assert not proof.exists() and not pub.exists()


def test_full_disk_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(fd: int, offset: int, size: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "posix_fallocate", full, raising=False)
    zk = read_zkey(BN / "circuit.zkey")
    with pytest.raises(OSError, match="No space left"):
        write_windows(zk, tmp_path / "w", ["A"])
    assert list(tmp_path.iterdir()) == []


@given(st.binary(min_size=HEADER.size, max_size=HEADER.size + 96), st.integers(0, 127))
@settings(max_examples=60, deadline=None)
def test_header_fuzz(bn_windows: Path, junk: bytes, at: int) -> None:
    """Bytes over the header and set entries: a window file, or a FormatError."""
    import tempfile

    data = bytearray(bn_windows.read_bytes())
    data[at : at + len(junk)] = junk
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "w"
        p.write_bytes(bytes(data))
        try:
            WindowFile(p, read_zkey(BN / "circuit.zkey")).close()
        except FormatError as e:
            assert "\n" not in str(e)
