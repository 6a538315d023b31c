#!/usr/bin/env python3
"""Task delivery over the fleet's gRPC stack: how long a task message of 1-8 MiB (its scalars)
takes from the coordinator's send to the worker's hands, and the CPU each side spends on it.

A server process streams ``--count`` TaskMessages down ``ReceiveTasks`` (one every 0.15 s, each
stamped with its send time); a client process receives them through ``zkedge.fleet.rpc`` as a worker
does. Three setups, each in fresh processes on both ends:

* ``stock``: grpclib's own protobuf codec (betterproto's encode/parse) and hyperframe's frame
  repr, which hexlifies whole payloads: the reference, what zkedge did before;
* ``codec``: :mod:`zkedge.fleet._codec` and the bounded frame repr, the message joined into
  one ``bytes`` and framed by h2 as grpclib frames any message;
* ``codec+heap``: the same plus :func:`zkedge.fleet.alloc.retain_freed_memory` in both
  processes, at the ``--keep-freed-mb`` defaults of ``zkedge coordinator`` (64) and ``zkedge
  worker`` (16);
* ``bulk+heap``: the same, but the message's buffers written to the transport frame by frame
  (:func:`zkedge.fleet.rpc.install_bulk_send`): the fleet's own setup.

    .venv/bin/python bench/transfer.py [--sizes 1,4,8] [--count 12]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MODES = ("stock", "codec", "codec+heap", "bulk+heap")
GAP = 0.15  # seconds between sends: each message lands before the next leaves
COORDINATOR_KEEP_FREED_MB = 64  # `zkedge coordinator --keep-freed-mb` default


def setup(mode: str, keep_freed_mb: int) -> None:
    """Put this process in ``mode`` (before any channel or server exists)."""
    import hyperframe.frame
    from grpclib.encoding.proto import ProtoCodec

    from zkedge.fleet import _codec, rpc
    from zkedge.fleet.alloc import retain_freed_memory

    # Patch the names rpc and hyperframe call (rpc does not re-export FastProtoCodec, and mypy
    # cannot tell STOCK_RAW_DATA_REPR is hyperframe's own function).
    def stock_codec(parts: bool = False) -> ProtoCodec:
        return ProtoCodec()

    def joined_codec(parts: bool = False) -> _codec.FastProtoCodec:
        return _codec.FastProtoCodec()

    if mode == "stock":
        rpc.FastProtoCodec = stock_codec  # type: ignore[attr-defined,assignment]
        if rpc.STOCK_RAW_DATA_REPR is not None:  # else hyperframe has no repr to put back
            hyperframe.frame._raw_data_repr = rpc.STOCK_RAW_DATA_REPR  # type: ignore[assignment]
        return
    if mode.startswith("codec"):  # messages joined: no Parts reach the send path
        rpc.FastProtoCodec = joined_codec  # type: ignore[attr-defined,assignment]
    rpc.install_frame_repr()
    if mode.endswith("+heap") and not retain_freed_memory(keep_freed_mb << 20):
        print("warning: retain_freed_memory() not available here", file=sys.stderr)


def serve(mode: str, size: int, count: int, port: int) -> None:
    setup(mode, COORDINATOR_KEEP_FREED_MB)
    import trio

    from zkedge.fleet import rpc
    from zkedge.fleet.proto.coordinator.v1 import (
        CoordinatorServiceBase,
        TaskAssignment,
        TaskMessage,
    )

    payload = os.urandom(size)

    class Source:
        def __init__(self) -> None:
            self.sent = 0
            self.t0 = time.process_time()

        async def receive(self) -> Any:
            # Called for the next message once the previous one is handed to the transport:
            # the process CPU from the first call to the last is the sending (the waits idle).
            if self.sent == count:
                cpu = (time.process_time() - self.t0) / count
                print(json.dumps({"server_cpu_ms": cpu * 1e3}), flush=True)
                return None
            await trio.sleep(GAP)
            self.sent += 1
            return TaskMessage(
                assign=TaskAssignment(
                    task_id=str(self.sent),
                    count=size // 32,
                    scalars=payload,
                    expected_seconds=time.time(),
                )
            )

        def close(self) -> None:
            pass

    class Impl:
        async def receive_tasks(self, request: Any) -> Source:
            return Source()

        def __getattr__(self, name: str) -> Any:
            async def unimplemented(request: Any) -> Any:
                raise rpc.RpcError("UNIMPLEMENTED", name)

            return unimplemented

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(rpc.serve_grpc, CoordinatorServiceBase, Impl(), "127.0.0.1", port)
            print("ready", flush=True)

    trio.run(main)


def receive(mode: str, count: int, port: int) -> None:
    from zkedge.cli._fleet import KEEP_FREED_MB_WORKER

    setup(mode, KEEP_FREED_MB_WORKER)
    import trio

    from zkedge.fleet import rpc
    from zkedge.fleet.proto.coordinator.v1 import CoordinatorServiceBase, ReceiveTasksRequest

    lat: list[float] = []
    got: list[float] = []

    def on_message(msg: Any) -> None:
        now = time.time()
        lat.append(now - msg.assign.expected_seconds)
        got.append(time.process_time())

    async def main() -> None:
        async with rpc.open_client(CoordinatorServiceBase, "127.0.0.1", port) as client:
            await client.stream("receive_tasks", ReceiveTasksRequest(worker_id="bench"), on_message)

    trio.run(main)
    # CPU from the first message's arrival to the last's, per message (the first is warm-up).
    cpu = (got[-1] - got[0]) / (len(got) - 1) if len(got) > 1 else float("nan")
    print(json.dumps({"lat_ms": [x * 1e3 for x in lat], "client_cpu_ms": cpu * 1e3}), flush=True)
    if len(lat) != count:
        sys.exit(f"received {len(lat)} of {count}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_pair(mode: str, size: int, count: int) -> dict[str, Any]:
    port = free_port()
    me = [sys.executable, __file__]
    server = subprocess.Popen(
        [*me, "--serve", mode, str(size), str(count), str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        if server.stdout.readline().strip() != "ready":
            raise RuntimeError("server did not start")
        out = subprocess.run(
            [*me, "--receive", mode, str(count), str(port)],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        res: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
        res.update(json.loads(server.stdout.readline()))
        return res
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1,4,8", help="MiB per message, comma-separated")
    ap.add_argument("--count", type=int, default=12, help="messages per setup and size")
    ap.add_argument("--serve", nargs=4, help=argparse.SUPPRESS)
    ap.add_argument("--receive", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        mode, size, count, port = args.serve
        serve(mode, int(size), int(count), int(port))
        return 0
    if args.receive:
        mode, count, port = args.receive
        receive(mode, int(count), int(port))
        return 0
    sizes = [int(float(s) * (1 << 20)) for s in args.sizes.split(",")]
    print(f"task delivery, {args.count} messages per row (the first is dropped as warm-up)")
    print(
        f"{'MiB':>5} {'setup':<11} {'median ms':>10} {'min ms':>8} {'vs stock':>9}"
        f" {'send CPU ms':>12} {'recv CPU ms':>12}"
    )
    for size in sizes:
        ref = None
        for mode in MODES:
            r = run_pair(mode, size, args.count)
            lat = r["lat_ms"][1:]
            med = statistics.median(lat)
            ref = med if ref is None else ref
            print(
                f"{size / (1 << 20):>5.1f} {mode:<11} {med:>10.1f} {min(lat):>8.1f}"
                f" {ref / med:>8.2f}x {r['server_cpu_ms']:>12.1f} {r['client_cpu_ms']:>12.1f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
