#!/usr/bin/env python3
"""Coordinator under load: 500 simulated workers, each with its task stream open and
heartbeating every 5 s; reports heartbeat latency p50/p99 and the coordinator's CPU use.

The coordinator runs as its own process (``python -m zkedge.cli._fleet coordinator``); the
simulated workers are lightweight grpclib clients in this process (one asyncio loop, plain
asyncio: this is a load generator, not zkedge code). ``--pin`` puts them on cores 0 and 1.

    .venv/bin/python bench/coordinator_load.py [--workers 500] [--duration 120] [--pin]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from grpclib.client import Channel

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from zkedge.fleet.proto.coordinator.v1 import (  # noqa: E402
    CoordinatorServiceStub,
    GetStatusRequest,
    HeartbeatRequest,
    LoadReport,
    NodeInfo,
    ReceiveTasksRequest,
    RegisterWorkerRequest,
)

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def sim_worker(
    i: int, port: int, interval: float, stop: asyncio.Event, lat: list[float], ready: list[int]
) -> None:
    ch = Channel("127.0.0.1", port)
    stub = CoordinatorServiceStub(ch)
    wid = f"sim-{i:04d}"
    try:
        node = NodeInfo(hostname=wid, arch="aarch64", cores=4, bench_points_per_sec=2e5)
        reg = await stub.register_worker(RegisterWorkerRequest(worker_id=wid, node=node))

        async def stream() -> None:
            async for _ in stub.receive_tasks(
                ReceiveTasksRequest(worker_id=wid, session_id=reg.session_id)
            ):
                pass

        st = asyncio.ensure_future(stream())
        ready.append(i)
        await asyncio.sleep(random.random() * interval)  # spread the heartbeats
        rng = random.Random(i)
        while not stop.is_set():
            load = LoadReport(
                load_average=rng.random() * 4,
                cpu_utilization=rng.random(),
                mem_available_bytes=1 << 30,
                soc_temperature_c=50 + rng.random() * 20,
                has_temperature=True,
                has_throttle_flag=True,
            )
            t0 = time.perf_counter()
            await stub.send_heartbeat(
                HeartbeatRequest(worker_id=wid, session_id=reg.session_id, load_report=load)
            )
            lat.append(time.perf_counter() - t0)
            try:
                await asyncio.wait_for(stop.wait(), interval)
            except TimeoutError:
                pass
        st.cancel()
        try:
            await st
        except (asyncio.CancelledError, Exception):
            pass
    finally:
        ch.close()


async def run(args: argparse.Namespace, port: int, coord_pid: int) -> None:
    stop = asyncio.Event()
    lat: list[float] = []
    ready: list[int] = []
    tasks = []
    for i in range(args.workers):
        tasks.append(asyncio.ensure_future(sim_worker(i, port, args.interval, stop, lat, ready)))
        if i % 50 == 49:
            await asyncio.sleep(0.05)
    while len(ready) < args.workers:
        await asyncio.sleep(0.1)
        for t in tasks:
            if t.done() and t.exception():
                raise t.exception()  # type: ignore[misc]
    await asyncio.sleep(args.interval)  # every worker heartbeating
    lat.clear()
    c0, t0, g0 = cpu_seconds(coord_pid), time.perf_counter(), cpu_seconds(os.getpid())
    await asyncio.sleep(args.duration)
    c1, t1, g1 = cpu_seconds(coord_pid), time.perf_counter(), cpu_seconds(os.getpid())
    samples = sorted(lat)
    ch = Channel("127.0.0.1", port)
    status = await CoordinatorServiceStub(ch).get_status(GetStatusRequest())
    ch.close()
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)

    active = sum(1 for w in status.workers if w.state == "active" and w.stream_open)
    cpu = (c1 - c0) / (t1 - t0)
    q = statistics.quantiles(samples, n=100)
    print(
        f"\n{args.workers} simulated workers, heartbeat every {args.interval:g}s, "
        f"streams open, {args.duration:g}s window"
    )
    print(f"{'metric':<36}{'value':>12}")
    print(f"{'heartbeats measured':<36}{len(samples):>12}")
    print(f"{'workers active with open stream':<36}{active:>12}")
    print(f"{'heartbeat latency p50 (ms)':<36}{q[49] * 1000:>12.2f}")
    print(f"{'heartbeat latency p99 (ms)':<36}{q[98] * 1000:>12.2f}")
    print(f"{'heartbeat latency max (ms)':<36}{samples[-1] * 1000:>12.2f}")
    print(f"{'coordinator CPU (cores)':<36}{cpu:>12.3f}")
    print(f"{'load generator CPU (cores)':<36}{(g1 - g0) / (t1 - t0):>12.3f}")
    print(f"{'machine load average (1 min)':<36}{os.getloadavg()[0]:>12.2f}")
    print()
    print(
        f"p99 < 100 ms: {'yes' if q[98] < 0.1 else 'NO'};  CPU < 0.5 core: "
        f"{'yes' if cpu < 0.5 else 'NO'}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=500)
    ap.add_argument("--duration", type=float, default=120.0)
    ap.add_argument("--interval", type=float, default=5.0)
    ap.add_argument("--pin", action="store_true", help="pin coordinator to core 0, clients to 1")
    args = ap.parse_args()
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    taskset = ["taskset", "-c", "0"] if args.pin and shutil.which("taskset") else []
    coord = subprocess.Popen(
        [
            *taskset,
            sys.executable,
            "-m",
            "zkedge.cli._fleet",
            "coordinator",
            "--bind",
            f"127.0.0.1:{port}",
            "--store",
            ":memory:",
            "--heartbeat-interval",
            str(args.interval),
            "--max-connections-per-peer",  # every simulated worker connects from 127.0.0.1
            str(args.workers + 16),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        if args.pin:
            os.sched_setaffinity(0, {1})
        deadline = time.time() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        asyncio.run(run(args, port, coord.pid))
    finally:
        coord.terminate()
        coord.wait(timeout=20)


if __name__ == "__main__":
    main()
