"""``zkedge prove`` / ``zkedge verify`` through their argparse registration."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from support.g16_paths import fixture_dir, needs_native

from zkedge.cli._groth16 import main, register

BN = fixture_dir("bn128")
BLS = fixture_dir("bls12381")


def test_register_adds_commands() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="command")
    register(sub)
    args = ap.parse_args(["prove", "a.zkey", "w.wtns", "p.json", "pub.json", "--coordinator",
                          "h:1"])  # fmt: skip
    assert args.coordinator == "h:1" and args.func.__name__ == "cmd_prove"
    args = ap.parse_args(["verify", "vk.json", "pub.json", "p.json"])
    assert args.func.__name__ == "cmd_verify"


def test_verify_cli(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    d = BLS
    assert main(["verify", str(d / "verification_key.json"), str(d / "public.json"),
                 str(d / "proof.json")]) == 0  # fmt: skip
    assert "OK" in capsys.readouterr().out
    pub = json.loads((d / "public.json").read_text())
    pub[0] = str(int(pub[0]) + 1)
    (tmp_path / "pub.json").write_text(json.dumps(pub))
    assert main(["verify", str(d / "verification_key.json"), str(tmp_path / "pub.json"),
                 str(d / "proof.json")]) == 1  # fmt: skip
    assert "INVALID" in capsys.readouterr().out
    (tmp_path / "vk.json").write_text("{}")
    assert main(["verify", str(tmp_path / "vk.json"), str(d / "public.json"),
                 str(d / "proof.json")]) == 2  # fmt: skip
    assert "error" in capsys.readouterr().err


@needs_native
def test_prove_cli(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    d = BLS
    proof, public = tmp_path / "proof.json", tmp_path / "public.json"
    rc = main(["prove", str(d / "circuit.zkey"), str(d / "witness.wtns"), str(proof),
               str(public), "--verify"])  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    assert "proved in" in capsys.readouterr().err
    assert main(["verify", str(d / "verification_key.json"), str(public), str(proof)]) == 0
    assert json.loads(public.read_text()) == json.loads((d / "public.json").read_text())
    assert proof.read_text().startswith('{\n "pi_a": [\n  "')  # snarkjs's indent=1 layout


def test_prove_cli_bad_input(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.zkey"
    bad.write_bytes(b"nope")
    rc = main(["prove", str(bad), str(BN / "witness.wtns"), str(tmp_path / "p.json"),
               str(tmp_path / "q.json")])  # fmt: skip
    assert rc == 2 and "bad.zkey" in capsys.readouterr().err
    assert not (tmp_path / "p.json").exists()


@needs_native
def test_ctrl_c_stops_the_proof_thread() -> None:
    """`zkedge prove` runs the proof in a thread: Ctrl-C (here _thread.interrupt_main) sets
    the MsmStop the proof polls, waits for the thread, then raises KeyboardInterrupt (the
    command prints "interrupted" and exits 130)."""
    import _thread
    import threading
    import time

    from zkedge.cli._groth16 import _interruptible
    from zkedge.msm import MsmStop

    seen: list[bool] = []

    def work(stop: MsmStop) -> int:
        while not stop.is_set():
            time.sleep(0.01)
        seen.append(True)
        return 1

    threading.Timer(0.05, _thread.interrupt_main).start()
    with pytest.raises(KeyboardInterrupt):
        _interruptible(work)
    assert seen == [True]
    assert _interruptible(lambda stop: 7) == 7
    with pytest.raises(ValueError, match="boom"):
        _interruptible(lambda stop: int("boom"))


@needs_native
def test_prove_with_a_stop_flag() -> None:
    from zkedge.groth16 import prove, verify
    from zkedge.msm import MsmCancelled, MsmStop

    d = BN
    stop = MsmStop()
    proof, public = prove(d / "circuit.zkey", d / "witness.wtns", stop=stop)
    assert verify(d / "verification_key.json", public, proof)
    stop.set()
    with pytest.raises(MsmCancelled):
        prove(d / "circuit.zkey", d / "witness.wtns", stop=stop)


@needs_native
def test_the_command_ends_at_once_with_its_output_and_status(tmp_path: Path) -> None:
    """As a process, `zkedge prove` and `zkedge verify` end without the interpreter's
    finalisation (zkedge.cli.main): the files, the output and the exit status are all there."""
    import subprocess
    import sys

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "zkedge", *argv],
            capture_output=True, text=True, timeout=120, cwd=tmp_path,
        )  # fmt: skip

    proof, public = tmp_path / "proof.json", tmp_path / "public.json"
    res = run("prove", str(BN / "circuit.zkey"), str(BN / "witness.wtns"), str(proof), str(public))
    assert res.returncode == 0 and "proved in" in res.stderr, res.stderr
    assert json.loads(public.read_text()) == json.loads((BN / "public.json").read_text())
    res = run("verify", str(BN / "verification_key.json"), str(public), str(proof))
    assert (res.returncode, res.stdout.strip()) == (0, "OK: proof is valid"), res.stderr
    pub = json.loads(public.read_text())
    public.write_text(json.dumps([str(int(pub[0]) + 1), *pub[1:]]))
    res = run("verify", str(BN / "verification_key.json"), str(public), str(proof))
    assert res.returncode == 1 and res.stdout.strip(), res.stderr
    res = run("prove", str(tmp_path / "none.zkey"), str(BN / "witness.wtns"), "p.json", "q.json")
    assert res.returncode == 2 and res.stderr.startswith("error:") and "none.zkey" in res.stderr
