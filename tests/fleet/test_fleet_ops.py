"""What an operator sees: lifecycle log lines, dead workers leaving the registry, HTTP
``/metrics`` ``/healthz`` ``/api/status`` and the status page, the gRPC health check, numbers
in ``status --json``, and command-line flags winning over worker.toml."""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import trio
import trio.testing
from support.fleet import make_table, native_or_skip, start_coordinator, start_workers

from zkedge.fleet.coordinator import Coordinator
from zkedge.fleet.coordinator.model import NodeFacts
from zkedge.fleet.coordinator.registry import DEAD, Registry
from zkedge.fleet.coordinator.sizing import SizingPolicy
from zkedge.fleet.proto.coordinator.v1 import GetStatusResponse, JobUpdate, WorkerStatus
from zkedge.fleet.status import status_json
from zkedge.fleet.worker import Worker, WorkerConfig

ROOT = Path(__file__).resolve().parents[2]


async def http_get(port: int, path: str) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of ``GET path`` on 127.0.0.1:port."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        data = b""
        while chunk := await stream.receive_some(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


def metric(text: str, name: str) -> float:
    """The value of the sample line that starts with ``name`` (labels included)."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError(f"no sample {name} in\n{text}")


# ------------------------------------------------------------------ registry: forgetting the dead
async def test_dead_workers_leave_the_registry(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="zkedge")
    policy = SizingPolicy(target_seconds=1.0, min_points=8, block_points=8)
    reg = Registry(policy, heartbeat_interval=5.0, max_missed=3, forget_dead_after=60.0)
    reg.register("gone", NodeFacts(bench_points_per_sec=1000.0), {}, None)
    keep = reg.register("stays", NodeFacts(bench_points_per_sec=1000.0), {}, None)
    t0 = trio.current_time()
    while reg.workers["gone"].state != DEAD:
        await trio.sleep(1.25)
        reg.heartbeat(keep, None)
        reg.sweep()
    dead_at = trio.current_time()
    assert 15 <= dead_at - t0 <= 17
    while "gone" in reg.workers:
        await trio.sleep(1.25)
        reg.heartbeat(keep, None)
        reg.sweep()
    assert 60 <= trio.current_time() - dead_at <= 62
    assert set(reg.workers) == {"stays"}
    text = caplog.text
    assert "worker gone registered" in text and "worker gone suspect" in text
    assert "worker gone dead: heartbeat lost" in text and "worker gone forgotten" in text
    with pytest.raises(ValueError):
        Registry(policy, forget_dead_after=-1)
    with pytest.raises(ValueError):
        Coordinator(forget_dead_after=-1.0)


# ------------------------------------------------------------------ logs of a live fleet
async def test_lifecycle_lines_at_info(
    nursery: trio.Nursery, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    native_or_skip()
    caplog.set_level(logging.INFO, logger="zkedge")
    table, scalars = make_table("bn254", "G1", 64, seed=3)
    with trio.fail_after(60):
        coord = await start_coordinator(nursery, None, heartbeat_interval=0.2)
        async with trio.open_nursery() as inner:
            await start_workers(inner, coord, tmp_path, ["w-log"])
            handle = await coord.submit_msm("bn254", "G1", table, scalars)
            await handle.result()
            h2 = await coord.submit_msm("bn254", "G1", table, scalars)
            h2.cancel("operator said so")
            inner.cancel_scope.cancel()
        while coord.workers()[0].state != DEAD:
            await trio.sleep(0.05)
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("worker w-log registered (host") for m in messages)  # coordinator
    assert any(m.startswith("worker w-log registered with 127.0.0.1") for m in messages)  # worker
    assert any(" (msm) done: 64 points in " in m for m in messages)
    assert any(" (msm) cancelled after " in m and "operator said so" in m for m in messages)
    assert any(m.startswith("worker w-log dead: heartbeat lost") for m in messages)


async def test_worker_says_why_it_cannot_register(
    nursery: trio.Nursery, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="zkedge")
    coord = await start_coordinator(nursery, None)
    cfg = WorkerConfig(
        coordinator=f"127.0.0.1:{coord.port}",
        worker_id="bad-token",
        cache_dir=tmp_path / "c1",
        token="wrong",
        benchmark=False,
        backoff_initial=0.05,
    )
    with trio.move_on_after(1.0):
        await Worker(cfg).run()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    cfg = WorkerConfig(
        coordinator=f"127.0.0.1:{closed_port}",
        worker_id="alone",
        cache_dir=tmp_path / "c2",
        benchmark=False,
        backoff_initial=0.05,
    )
    with trio.move_on_after(1.0):
        await Worker(cfg).run()
    refused = [r for r in caplog.records if "refused this worker" in r.getMessage()]
    assert refused and refused[0].levelno == logging.ERROR
    assert "UNAUTHENTICATED" in refused[0].getMessage()
    assert "retrying in" in refused[0].getMessage()
    unreachable = [r for r in caplog.records if "coordinator unreachable" in r.getMessage()]
    assert unreachable and unreachable[0].levelno == logging.WARNING
    assert "retrying in" in unreachable[0].getMessage()
    coord_side = [r for r in caplog.records if r.getMessage().startswith("refused register")]
    assert coord_side and coord_side[0].levelno == logging.WARNING


def test_worker_process_logs_json_lines(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.pop("ZKEDGE_LOG", None)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "zkedge",
            "--log-format",
            "json",
            "worker",
            "--coordinator",
            f"127.0.0.1:{port}",
            "--no-benchmark",
            "--cache-dir",
            str(tmp_path),
        ],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()  # the first retry comes within a second
    finally:
        proc.kill()
        proc.wait(timeout=30)
        if proc.stderr is not None:
            proc.stderr.close()
    record = json.loads(line)
    assert record["level"] == "WARNING" and record["logger"] == "zkedge.fleet.worker"
    assert "coordinator unreachable" in record["message"] and "retrying in" in record["message"]
    assert record["time"].endswith("Z") and "T" in record["time"]


def test_text_lines_carry_a_utc_time(tmp_path: Path) -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    res = subprocess.run(
        [sys.executable, "-c", "import logging, zkedge.cli._log as L; L.setup_logging('info');"
         "logging.getLogger('zkedge.x').info('hello'); logging.getLogger('zkedge.x').debug('no');"
         "logging.getLogger('other').info('quiet')"],
        capture_output=True, text=True, env=env, timeout=60, check=True,
    )  # fmt: skip
    (line,) = res.stderr.splitlines()
    stamp, level, name, message = line.split(maxsplit=3)
    assert time.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f" + "Z")
    assert (level, name, message) == ("INFO", "zkedge.x:", "hello")


# ------------------------------------------------------------------ HTTP, metrics, health
async def test_coordinator_http_endpoints(nursery: trio.Nursery, tmp_path: Path) -> None:
    native_or_skip()
    table, scalars = make_table("bn254", "G1", 64, seed=5)
    with trio.fail_after(60):
        coord = await start_coordinator(nursery, None, http="127.0.0.1:0")
        assert coord.http_port is not None
        (worker,) = await start_workers(nursery, coord, tmp_path, ["w-http"], http="127.0.0.1:0")
        handle = await coord.submit_msm("bn254", "G1", table, scalars)
        await handle.result()
        port = coord.http_port

        status, headers, body = await http_get(port, "/metrics")
        assert status == 200 and headers["Content-Type"].startswith("text/plain")
        text = body.decode()
        assert metric(text, 'zkedge_workers{state="active"}') == 1
        assert metric(text, 'zkedge_workers{state="dead"}') == 0
        assert metric(text, 'zkedge_tasks_total{outcome="done"}') >= 1
        assert metric(text, 'zkedge_jobs_total{kind="msm",outcome="done"}') == 1
        assert metric(text, 'zkedge_job_duration_seconds_count{kind="msm"}') == 1
        assert 'zkedge_heartbeat_age_seconds{worker="w-http"}' in text

        assert (await http_get(port, "/healthz"))[0] == 200
        status, headers, body = await http_get(port, "/api/status")
        assert status == 200 and headers["Content-Type"] == "application/json"
        st = json.loads(body)
        (w,) = st["workers"]
        assert w["workerId"] == "w-http" and w["pointsDone"] == 64
        assert isinstance(w["node"]["memoryBytes"], int)
        (job,) = st["jobs"]
        assert job["pointsTotal"] == 64 and job["state"] == "done" and job["label"] == "msm"
        (recent,) = st["recentJobs"]
        assert recent["outcome"] == "done" and recent["seconds"] >= 0
        status, headers, body = await http_get(port, "/")
        assert status == 200 and headers["Content-Type"].startswith("text/html")
        assert b"/api/status" in body and b"<script" in body
        assert b"http://" not in body.replace(b"http://www.w3.org/2000/svg", b"")
        assert (await http_get(port, "/nope"))[0] == 404

        assert worker.http_port is not None
        status, _, body = await http_get(worker.http_port, "/metrics")
        wtext = body.decode()
        assert metric(wtext, "zkedge_worker_msm_points_total") == 64
        assert metric(wtext, "zkedge_worker_task_seconds_count") >= 1
        assert metric(wtext, 'zkedge_worker_tasks_total{outcome="done"}') >= 1
        assert (await http_get(worker.http_port, "/healthz"))[0] == 200


async def test_two_coordinators_keep_their_metrics_apart(nursery: trio.Nursery) -> None:
    a = await start_coordinator(nursery, None)
    b = await start_coordinator(nursery, None)
    a.metrics.task("failed")
    assert b'zkedge_tasks_total{outcome="failed"} 1.0' in a.metrics.exposition()
    assert b'zkedge_tasks_total{outcome="failed"} 0.0' in b.metrics.exposition()


async def test_grpc_health_check_with_grpcio(nursery: trio.Nursery) -> None:
    grpc = pytest.importorskip("grpc")
    coord = await start_coordinator(nursery, None)  # with a token: health is exempt

    def check(service: bytes) -> bytes:
        with grpc.insecure_channel(f"127.0.0.1:{coord.port}") as channel:
            call = channel.unary_unary(
                "/grpc.health.v1.Health/Check",
                request_serializer=lambda b: b,
                response_deserializer=lambda b: b,
            )
            reply: bytes = call(service, timeout=20)
            return reply

    with trio.fail_after(60):
        # HealthCheckRequest{service=""} is empty; the reply is {status: SERVING = 1}
        assert await trio.to_thread.run_sync(check, b"") == b"\x08\x01"


# ------------------------------------------------------------------ JSON and config precedence
def test_status_json_writes_numbers_as_numbers() -> None:
    big = 1 << 40
    msg = GetStatusResponse(
        workers=[WorkerStatus(worker_id="w", points_done=big)],
        jobs=[JobUpdate(job_id="j", points_total=big, results=[b"\x01\x02"])],
        tasks_pending=3,
    )
    st = status_json(msg)
    assert st["workers"][0]["pointsDone"] == big
    assert st["workers"][0]["node"]["memoryBytes"] == 0
    assert st["jobs"][0]["pointsTotal"] == big and st["jobs"][0]["results"] == ["0102"]
    assert st["tasksPending"] == 3
    json.dumps(st)


def _worker_parser() -> argparse.ArgumentParser:
    from zkedge.cli import _fleet

    ap = argparse.ArgumentParser()
    _fleet.register(ap.add_subparsers(dest="command"))
    return ap


@pytest.mark.parametrize(
    ("flags", "toml", "dest", "want"),
    [
        (["--cache-mb", "1024"], "[cache]\nsize_mb = 64\n", "cache_mb", 1024),  # = the default
        ([], "[cache]\nsize_mb = 64\n", "cache_mb", 64),
        (["--keep-freed-mb", "16"], "keep_freed_mb = 0\n", "keep_freed_mb", 16),
        (["--drain-grace", "30"], "drain_grace = 5.0\n", "drain_grace", 30.0),
        ([], "drain_grace = 5.0\n", "drain_grace", 5.0),
        (["--coordinator", "h:1"], 'coordinator = "file:2"\n', "coordinator", "h:1"),
        (["--tls"], "[tls]\nenabled = false\n", "tls", True),
        ([], "[tls]\nenabled = true\n", "tls", True),
        ([], "", "cache_mb", 1024),
    ],
)
def test_flags_given_on_the_command_line_win(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    flags: list[str],
    toml: str,
    dest: str,
    want: object,
) -> None:
    from zkedge.fleet.worker.config_file import apply_config

    monkeypatch.delenv("ZKEDGE_TOKEN", raising=False)
    cfg = tmp_path / "worker.toml"
    cfg.write_text(('coordinator = "file:2"\n' if "coordinator" not in toml else "") + toml)
    args = apply_config(_worker_parser().parse_args(["worker", "--config", str(cfg), *flags]))
    assert getattr(args, dest) == want
    assert type(args.cache_mb) is int and args.threads is None
