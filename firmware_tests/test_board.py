"""What an operator runs ON a board: ``pytest firmware_tests`` (also passes on a dev machine).

* the self-test (known answers, native info, benchmark, load probe) passes, in process and as
  a command with exit code 0;
* the whole ``tests/vectors/kat.json`` through the Python API, when the checkout has it, for
  the default build and for the forced 32-bit-limb build;
* the limb width suits the CPU;
* a short worker round trip: a local coordinator and a worker process, MSM jobs checked
  against a local MSM (skipped when the fleet code is not installed).

The emulation parts (cross-compiled KATs under qemu) are in ``test_emulated.py`` and skip on
ARM boards.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from zkedge import native_info
from zkedge.selftest import (
    format_report,
    load_vectors,
    read_load,
    run_known_answers,
    run_selftest,
)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
KAT = ROOT / "tests" / "vectors" / "kat.json"
# Subprocesses run the INSTALLED zkedge: no checkout on their path, and a working directory
# outside it (`python -m` puts the working directory first on sys.path; the checkout's zkedge/
# has no compiled core unless it is an editable install).
ENV = dict(os.environ)


def test_selftest_passes() -> None:
    report = run_selftest(bench_points=512)
    text = format_report(report)
    assert report.ok, text
    assert text.rstrip().splitlines()[-1].startswith("RESULT: PASS")
    assert report.bench is not None and report.bench.points_per_sec > 0
    assert {c.name for c in report.checks} == {"field", "group", "encode", "check", "msm", "ntt"}


def test_selftest_command_exit_code(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "zkedge.selftest", "--no-bench"],
        capture_output=True,
        text=True,
        timeout=600,
        env=ENV,
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "RESULT: PASS" in r.stdout


def test_selftest_fails_on_a_wrong_answer(tmp_path: Path) -> None:
    doc, _ = load_vectors()
    v = doc["curves"]["bn254"]["field"][0]
    v["out"] = format((int(v["out"], 16) + 1) % int(doc["curves"]["bn254"]["p"], 16), "064x")
    import json

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    report = run_selftest(vectors=bad, bench=False)
    assert not report.ok
    assert "RESULT: FAIL" in format_report(report)
    r = subprocess.run(
        [sys.executable, "-m", "zkedge.selftest", "--no-bench", "--vectors", str(bad)],
        capture_output=True,
        text=True,
        timeout=600,
        env=ENV,
        cwd=tmp_path,
    )
    assert r.returncode == 1, r.stdout + r.stderr
    assert "RESULT: FAIL" in r.stdout  # the wrong answer, not a failure to start


@pytest.mark.skipif(not KAT.exists(), reason="tests/vectors/kat.json not in this checkout")
def test_all_known_answers() -> None:
    doc, _ = load_vectors(KAT)
    for section in run_known_answers(doc):
        assert section.ok, f"{section.name}: {section.failures}"


@pytest.mark.skipif(
    importlib.util.find_spec("zkedge._native32") is None, reason="no forced 32-bit-limb build"
)
def test_32bit_limb_build(tmp_path: Path) -> None:
    args = [sys.executable, "-m", "zkedge.selftest", "--no-bench", "--json"]
    if KAT.exists():
        args += ["--vectors", str(KAT)]
    r = subprocess.run(
        args,
        capture_output=True,
        text=True,
        timeout=900,
        env={**ENV, "ZKEDGE_NATIVE": "32"},
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr
    assert '"limb_bits": 32' in r.stdout


def test_limb_width_suits_the_cpu() -> None:
    machine = platform.machine().lower()
    bits = native_info()["limb_bits"]
    if os.environ.get("ZKEDGE_NATIVE") == "32" or machine.startswith(("armv6", "armv7")):
        assert bits == 32
    elif machine in ("aarch64", "arm64", "x86_64", "amd64"):
        assert bits == 64, "a 64-bit CPU should get the unsigned __int128 build"


def test_load_probe_reads() -> None:
    load = read_load()
    if Path("/sys/devices/platform/soc/soc:firmware/get_throttled").exists():
        assert load.throttle_bits is not None  # a Raspberry Pi must expose its flags
    if any(Path("/sys/class/thermal").glob("thermal_zone*/temp")):
        assert load.temperature_c is not None
    assert load.mem_total_bytes is None or load.mem_total_bytes > 0


# ------------------------------------------------------------------ worker round trip
_HAVE_FLEET = all(
    importlib.util.find_spec(m) is not None
    for m in ("zkedge.cli._fleet", "zkedge.fleet.coordinator", "zkedge.fleet.worker")
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[tuple[str, str, dict[str, str]]]:
    """A coordinator and one worker process on 127.0.0.1; yields (address, worker id, env)."""
    port = _free_port()
    addr = f"127.0.0.1:{port}"
    env = {**ENV, "ZKEDGE_TOKEN": "board-test-token"}
    wid = f"board-test-{platform.machine()}"
    cmd = [sys.executable, "-m", "zkedge.cli._fleet"]
    clog = (tmp_path / "coordinator.log").open("w")
    wlog = (tmp_path / "worker.log").open("w")
    procs = [
        subprocess.Popen(
            [*cmd, "coordinator", "--bind", addr, "--store", ":memory:", "--block-points", "1024"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=clog,
        )
    ]
    time.sleep(0.5)
    procs.append(
        subprocess.Popen(
            [*cmd, "worker", "--coordinator", addr, "--id", wid, "--cache-mb", "64",
             "--cache-dir", str(tmp_path / "cache")],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=wlog,
        )
    )  # fmt: skip
    try:
        yield addr, wid, env
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        clog.close()
        wlog.close()


@pytest.mark.skipif(not _HAVE_FLEET, reason="the fleet code (coordinator/worker) is not installed")
def test_worker_round_trip(fleet: tuple[str, str, dict[str, str]], tmp_path: Path) -> None:
    addr, wid, env = fleet
    r = subprocess.run(
        [sys.executable, str(HERE / "arm_roundtrip.py"), "--coordinator", addr, "--worker", wid,
         "--points", "4096", "--expect-machine", platform.machine(), "--register-timeout", "300"],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
        cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 failed" in r.stdout
