"""Every row of docs/errors.md: the ``zkedge`` command run as a process ends a failure a user
can cause with exit status 2 (usage, bad input) or 1 (runtime) and one line on stderr,
``error: ...``, never a traceback; ``--debug`` shows the traceback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from support.g16_paths import fixture_dir, needs_native

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "cli-test-token"
ZKEDGE = [sys.executable, "-m", "zkedge"]


def env() -> dict[str, str]:
    e = dict(os.environ)
    e.pop("ZKEDGE_TOKEN", None)
    e.pop("ZKEDGE_LOG", None)
    e["PYTHONPATH"] = os.pathsep.join([str(ROOT), e.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return e


def zkedge(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ZKEDGE, *args],
        capture_output=True,
        text=True,
        env=env(),
        timeout=timeout,
        check=False,
    )


def assert_error(res: subprocess.CompletedProcess[str], code: int, *words: str) -> str:
    """Exit ``code``, stderr exactly one line ``error: ...`` containing ``words``."""
    lines = res.stderr.strip().splitlines()
    assert res.returncode == code, (res.returncode, res.stderr)
    assert "Traceback" not in res.stderr, res.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])
    return lines[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def coordinator(*extra: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """A ``zkedge coordinator`` process on 127.0.0.1 with the test token; yields (process,
    HOST:PORT)."""
    proc = subprocess.Popen(
        [
            *ZKEDGE,
            "coordinator",
            "--bind",
            "127.0.0.1:0",
            "--store",
            ":memory:",
            "--token",
            TOKEN,
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env(),
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "listening on" in line, line
        yield proc, line.split()[-1]
    finally:
        proc.kill()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()


# ------------------------------------------------------------------ usage and bad input (2)
def test_coordinator_flag_without_port() -> None:
    assert_error(zkedge("status", "--coordinator", "127.0.0.1"), 2, "--coordinator", "HOST:PORT")


def test_worker_coordinator_without_port(tmp_path: Path) -> None:
    res = zkedge("worker", "--coordinator", "localhost", "--cache-dir", str(tmp_path))
    assert_error(res, 2, "--coordinator")


def test_bind_port_out_of_range() -> None:
    assert_error(zkedge("coordinator", "--bind", "127.0.0.1:99999"), 2, "--bind", "99999")


def test_window_min_points_below_zero() -> None:
    res = zkedge("coordinator", "--bind", "127.0.0.1:0", "--window-min-points", "-1")
    assert_error(res, 2, "--window-min-points", "-1")


def test_store_in_missing_directory(tmp_path: Path) -> None:
    res = zkedge("coordinator", "--bind", "127.0.0.1:0", "--store", str(tmp_path / "no/x.db"))
    assert_error(res, 2, "--store", "does not exist")


def test_store_is_a_directory(tmp_path: Path) -> None:
    res = zkedge("coordinator", "--bind", "127.0.0.1:0", "--store", str(tmp_path))
    assert_error(res, 2, "--store", "directory")


def test_prove_output_directory_missing(tmp_path: Path) -> None:
    fx = fixture_dir("bn128")
    t0 = time.monotonic()
    res = zkedge(
        "prove",
        str(fx / "circuit.zkey"),
        str(fx / "witness.wtns"),
        str(tmp_path / "missing" / "proof.json"),
        str(tmp_path / "public.json"),
    )
    assert_error(res, 2, "missing", "does not exist")
    assert not (tmp_path / "public.json").exists()
    assert time.monotonic() - t0 < 30


def test_worker_config_file_missing(tmp_path: Path) -> None:
    res = zkedge("worker", "--config", str(tmp_path / "nope.toml"))
    assert_error(res, 2, "nope.toml")


# ------------------------------------------------------------------ runtime (1)
def test_coordinator_unreachable() -> None:
    port = free_port()
    res = zkedge("status", "--coordinator", f"127.0.0.1:{port}")
    assert_error(res, 1, "cannot reach the coordinator", str(port))


def test_wrong_and_missing_token() -> None:
    with coordinator() as (_, address):
        ok = zkedge("status", "--coordinator", address, "--token", TOKEN, "--json")
        assert ok.returncode == 0, ok.stderr
        assert json.loads(ok.stdout)["workers"] == []
        assert_error(
            zkedge("status", "--coordinator", address, "--token", "wrong"), 1, "refused the token"
        )
        assert_error(zkedge("status", "--coordinator", address), 1, "refused the token")


def test_port_already_in_use() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        res = zkedge("coordinator", "--bind", f"127.0.0.1:{port}", "--store", ":memory:")
        assert_error(res, 1, "cannot listen on", str(port), "in use")
        res = zkedge(
            "coordinator", "--bind", "127.0.0.1:0", "--store", ":memory:", "--http",
            f"127.0.0.1:{port}",
        )  # fmt: skip
        assert_error(res, 1, "cannot listen on", "HTTP")


def test_bind_to_a_foreign_address() -> None:
    # 192.0.2.1 is TEST-NET-1 (RFC 5737): never an address of this host.
    res = zkedge("coordinator", "--bind", "192.0.2.1:0", "--store", ":memory:")
    assert_error(res, 1, "cannot listen on", "192.0.2.1")


def test_store_not_a_database(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not an SQLite file, not at all" * 100)
    res = zkedge("coordinator", "--bind", "127.0.0.1:0", "--store", str(junk))
    assert_error(res, 1, "--store", "junk.sqlite")


def test_msm_bases_file_missing(tmp_path: Path) -> None:
    res = zkedge(
        "msm", "--coordinator", "127.0.0.1:1", "--bases", str(tmp_path / "b.bin"),
        "--scalars", str(tmp_path / "s.bin"),
    )  # fmt: skip
    assert_error(res, 1, "b.bin")


def test_debug_shows_the_traceback() -> None:
    port = free_port()
    res = zkedge("--debug", "status", "--coordinator", f"127.0.0.1:{port}")
    assert res.returncode == 1
    assert "Traceback" in res.stderr
    assert res.stderr.strip().splitlines()[-1].startswith("error: cannot reach")
    res = zkedge("status", "--coordinator", f"127.0.0.1:{port}", "--debug")
    assert res.returncode == 1 and "Traceback" in res.stderr


def _api_status(http: str) -> dict[str, object]:
    with urllib.request.urlopen(f"http://{http}/api/status", timeout=10) as r:
        data: dict[str, object] = json.load(r)
        return data


@needs_native
def test_coordinator_killed_during_a_proof(tmp_path: Path) -> None:
    fx = fixture_dir("bn128")
    http = f"127.0.0.1:{free_port()}"
    with coordinator("--http", http) as (coord, address):
        worker = subprocess.Popen(
            [
                *ZKEDGE,
                "worker",
                "--coordinator",
                address,
                "--id",
                "slow",
                "--threads",
                "1",
                "--cache-dir",
                str(tmp_path / "cache"),
                "--no-benchmark",
                "--token",
                TOKEN,
                "--debug-task-delay",
                "60",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env(),
        )
        try:
            prove = subprocess.Popen(
                [
                    *ZKEDGE,
                    "prove",
                    str(fx / "circuit.zkey"),
                    str(fx / "witness.wtns"),
                    str(tmp_path / "p.json"),
                    str(tmp_path / "q.json"),
                    "--coordinator",
                    address,
                    "--token",
                    TOKEN,
                    "--quiet",
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env(),
            )
            deadline = time.monotonic() + 60
            while True:  # until a task is out on the worker
                st = _api_status(http)
                if st["tasksRunning"]:
                    break
                assert time.monotonic() < deadline, st
                assert prove.poll() is None, prove.communicate()
                time.sleep(0.1)
            coord.kill()
            out, err = prove.communicate(timeout=60)
        finally:
            worker.kill()
            worker.wait(timeout=30)
    res = subprocess.CompletedProcess(prove.args, prove.returncode, out, err)
    assert_error(res, 1, "coordinator")
    assert not (tmp_path / "p.json").exists()


@pytest.mark.parametrize("flag", ["--log-level", "--log-format"])
def test_bad_global_flag_values_are_usage_errors(flag: str) -> None:
    res = zkedge(flag, "loud", "info")
    assert res.returncode == 2 and "Traceback" not in res.stderr
