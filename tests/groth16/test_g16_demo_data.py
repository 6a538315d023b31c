"""The demo circuit shipped as package data (zkedge/_data/bn128) is the bn128 fixture."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.g16_paths import fixture_dir

from zkedge.groth16.demo import DEMO_CIRCUIT, demo_circuit


@pytest.mark.parametrize("name", ["circuit.zkey", "witness.wtns", "verification_key.json"])
def test_package_copy_matches_the_fixture(name: str) -> None:
    assert demo_circuit() == DEMO_CIRCUIT
    assert (DEMO_CIRCUIT / name).read_bytes() == (fixture_dir("bn128") / name).read_bytes()


def test_other_curves_come_from_the_checkout() -> None:
    assert demo_circuit("bls12381") == fixture_dir("bls12381")
    with pytest.raises(FileNotFoundError, match="only bn128"):
        demo_circuit("no-such-curve")


def test_demo_finds_snarkjs_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from zkedge.cli._demo import find_snarkjs

    exe = tmp_path / "snarkjs"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_snarkjs() == str(exe)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    local = fixture_dir("bn128").parent / "node_modules" / ".bin" / "snarkjs"
    assert find_snarkjs() == (str(local) if local.exists() else None)
