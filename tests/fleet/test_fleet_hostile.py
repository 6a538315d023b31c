"""A coordinator that no fleet member can crash, freeze or impersonate.

Each case is something a token holder did to a coordinator: absurd numbers, huge cached ranges,
fields of the wrong type, oversized or malformed gRPC messages, bodies from a fuzzer, a full
disk under the store, many connections from one address. After each the coordinator answers
with a status that says what was wrong (never UNKNOWN) and keeps serving.
"""

from __future__ import annotations

import asyncio
import math
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpclib.client
import grpclib.const
import grpclib.encoding.base
import grpclib.exceptions
import h2.exceptions
import hypothesis.strategies as st
import pytest
import trio
import trio_asyncio
from hypothesis import HealthCheck, given, settings
from support.fleet import TOKEN, client, make_table, native_or_skip, port_of, start_coordinator

from zkedge.fleet import rpc
from zkedge.fleet.coordinator import SizingPolicy
from zkedge.fleet.coordinator.sizing import (
    MAX_TASK_POINTS,
    CapacityEstimate,
    task_size,
)
from zkedge.fleet.coordinator.store import StoreError
from zkedge.fleet.proto.coordinator.v1 import (
    CachedRange,
    GetStatusRequest,
    HeartbeatRequest,
    LoadReport,
    NodeInfo,
    RegisterWorkerRequest,
    ReportCompletionRequest,
    SubmitMsmRequest,
)

SERVICE = "/zkedge.coordinator.v1.CoordinatorService/"
METHODS = [
    "RegisterWorker",
    "SendHeartbeat",
    "ReceiveTasks",
    "ReceiveCancels",
    "ReportCompletion",
    "ReportFailure",
    "StreamReports",
    "FetchBases",
    "FetchZkey",
    "MeasureLink",
    "SubmitMsm",
    "WatchJob",
    "CancelJob",
    "ListJobs",
    "SubmitProof",
    "GetStatus",
]
NODE = NodeInfo(hostname="h", cores=2, curves=["bn254"], bench_points_per_sec=1e4)


class _RawCodec(grpclib.encoding.base.CodecBase):
    """Sends bytes as they are and hands replies back undecoded: a client that can say
    anything."""

    __content_subtype__ = "proto"

    def encode(self, message: Any, message_type: Any) -> bytes:
        return bytes(message)

    def decode(self, data: bytes, message_type: Any) -> bytes:
        return bytes(data)


async def raw_call(port: int, method: str, data: bytes, framed: bool = True) -> str:
    """Call ``method`` with ``data`` as the message body (``framed=False``: ``data`` is the
    whole DATA payload, gRPC prefix included) and return the status name."""

    async def go() -> str:
        ch = grpclib.client.Channel("127.0.0.1", port, codec=_RawCodec())
        status = ""
        try:
            async with ch.request(
                SERVICE + method,
                grpclib.const.Cardinality.UNARY_STREAM,
                bytes,
                bytes,
                metadata={"authorization": f"Bearer {TOKEN}"},
            ) as stream:
                await stream.send_request()
                try:
                    # bounded: a server that refused the message early grants no more window
                    if framed:
                        await asyncio.wait_for(stream.send_message(data, end=True), 5)
                    else:
                        await asyncio.wait_for(stream._stream.send_data(data, end_stream=True), 5)
                except (
                    grpclib.exceptions.StreamTerminatedError,
                    h2.exceptions.StreamClosedError,
                    ConnectionError,
                    TimeoutError,
                ):
                    pass  # the server answered (and closed the stream) before the body was sent
                try:
                    while await stream.recv_message() is not None:
                        pass
                    status = "OK"
                except grpclib.exceptions.GRPCError as exc:
                    status = exc.status.name
        except grpclib.exceptions.GRPCError as exc:
            status = status or exc.status.name
        except grpclib.exceptions.ProtocolError:
            pass  # "outgoing stream was not ended": the server refused early, status is in
        finally:
            ch.close()
        return status or "NO STATUS"

    async with trio_asyncio.open_loop():
        status: str = await trio_asyncio.aio_as_trio(go)()
        return status


async def alive(port: int) -> None:
    """The coordinator still answers an ordinary request."""
    async with client(port) as c:
        await c.call("get_status", GetStatusRequest())


async def status_of(call: Awaitable[Any]) -> str:
    try:
        await call
    except rpc.RpcError as exc:
        return exc.status
    return "OK"


# ---------------------------------------------------------------------------- numbers


POLICY = SizingPolicy()
finite = st.floats(min_value=0.0, max_value=1e300, allow_nan=False, allow_infinity=False)
tiny_or_huge = st.one_of(
    st.floats(min_value=5e-324, max_value=1e-300), st.floats(min_value=1e200, max_value=1e308)
)


@settings(max_examples=300, deadline=None)
@given(
    bench=st.one_of(finite, tiny_or_huge),
    seconds=st.one_of(finite, tiny_or_huge),
    units=st.floats(min_value=1.0, max_value=1e15),
    factor=st.floats(min_value=1e-6, max_value=1.0),
    remaining=st.floats(min_value=0.0, max_value=1e18),
    fleet=st.floats(min_value=0.0, max_value=1e18),
)
def test_sizing_stays_finite_for_extreme_inputs(
    bench: float,
    seconds: float,
    units: float,
    factor: float,
    remaining: float,
    fleet: float,
) -> None:
    cap = CapacityEstimate(POLICY)
    cap.seed(bench, 1 << 13, factor)
    cap.observe(units, seconds, factor, int(min(units, 1 << 30)))
    assert cap.k is None or (math.isfinite(cap.k) and cap.k > 0)
    pts = cap.points_for(POLICY.target_seconds, factor)
    assert 0 <= pts <= MAX_TASK_POINTS
    secs = cap.seconds_for(units, factor)
    assert secs > 0 and not math.isnan(secs)
    size = task_size(
        POLICY,
        worker_rate_k=cap.k or 0.0,
        worker_factor=factor,
        fleet_capacity=fleet,
        remaining=remaining,
        free_here=1 << 20,
    )
    assert 0 <= size <= 1 << 20


async def test_absurd_numbers_are_refused_and_the_coordinator_lives(
    nursery: trio.Nursery, tmp_path: Path
) -> None:
    with trio.fail_after(30):
        coord = await start_coordinator(nursery, tmp_path / "s.sqlite")
        async with client(port_of(coord)) as c:
            for node in (
                NodeInfo(bench_points_per_sec=1e308),
                NodeInfo(bench_points_per_sec=math.inf),
                NodeInfo(cores=1 << 31),
                NodeInfo(memory_bytes=1 << 62, bench_points_per_sec=1.0),
                NodeInfo(hostname="x" * 10_000),
                NodeInfo(curves=["bn254"] * 100),
            ):
                got = await status_of(
                    c.call("register_worker", RegisterWorkerRequest(worker_id="w", node=node))
                )
                assert got == "INVALID_ARGUMENT", node
            reg = await c.call("register_worker", RegisterWorkerRequest(worker_id="w", node=NODE))
            for load in (
                LoadReport(soc_temperature_c=1e308, has_temperature=True),
                LoadReport(recent_points_per_sec=1e300),
                LoadReport(load_average=math.nan),
            ):
                req = HeartbeatRequest(worker_id="w", session_id=reg.session_id, load_report=load)
                assert await status_of(c.call("send_heartbeat", req)) == "INVALID_ARGUMENT"
            for secs in (5e-324, 1e308, -1.0):
                req2 = ReportCompletionRequest(
                    worker_id="w", session_id=reg.session_id, task_id="t", attempt=1,
                    compute_seconds=secs,
                )  # fmt: skip
                got = await status_of(c.call("report_completion", req2))
                assert got in ("OK", "INVALID_ARGUMENT")
            for share in (5e-324, 1e308, -1.0, math.nan, math.inf):
                req3 = ReportCompletionRequest(
                    worker_id="w", session_id=reg.session_id, task_id="t", attempt=1,
                    compute_seconds=0.5, cpu_share=share,
                )  # fmt: skip
                got = await status_of(c.call("report_completion", req3))
                assert got in ("OK", "INVALID_ARGUMENT")
            # a submit after all that still works (the sizing policy saw no absurd rate)
            native_or_skip()
            table, scalars = make_table("bn254", "G1", 8)
            await coord.submit_msm("bn254", "G1", table, scalars)
            await alive(port_of(coord))
            assert all(math.isfinite(coord.capacity(w.worker_id)) for w in coord.workers())


async def test_a_huge_cached_range_is_refused_at_once(
    nursery: trio.Nursery, tmp_path: Path
) -> None:
    native_or_skip()
    table, _ = make_table("bn254", "G1", 32)
    with trio.fail_after(10):  # the event loop never builds a set of 2^64 blocks
        coord = await start_coordinator(nursery, None)
        digest = await coord.add_table("bn254", "G1", table)
        async with client(port_of(coord)) as c:
            for cached in (
                [CachedRange(table_hash=digest, start=0, count=2**64 - 1)],
                [CachedRange(table_hash=digest, start=2**63, count=2**63)],
                [CachedRange(table_hash=digest, start=0, count=16)] * 5000,
            ):
                req = RegisterWorkerRequest(worker_id="w", node=NODE, cached=cached)
                assert await status_of(c.call("register_worker", req)) == "INVALID_ARGUMENT"
            unknown = CachedRange(table_hash="ab" * 32, start=0, count=2**64 - 1)
            req = RegisterWorkerRequest(worker_id="w", node=NODE, cached=[unknown])
            assert await status_of(c.call("register_worker", req)) == "OK"  # left out
            (w,) = coord.workers()
            assert w.held == {}


async def test_a_field_of_the_wrong_type_is_refused(nursery: trio.Nursery) -> None:
    with trio.fail_after(20):
        coord = await start_coordinator(nursery, None)
        # RegisterWorker: field 1 (worker_id, a string) sent as a varint; field 2 (node, a
        # message) as a varint; then GetStatus must still work.
        for body in (b"\x08\x05", b"\x0a\x01w\x10\x01"):
            assert await raw_call(port_of(coord), "RegisterWorker", body) == "INVALID_ARGUMENT"
        assert await raw_call(port_of(coord), "SendHeartbeat", b"\x08\x05") == "INVALID_ARGUMENT"
        await alive(port_of(coord))
        assert coord.workers() == []


# ---------------------------------------------------------------------------- gRPC framing


async def test_message_size_limits_and_framing(nursery: trio.Nursery) -> None:
    with trio.fail_after(30):
        coord = await start_coordinator(nursery, None)
        port = port_of(coord)
        # declared 512 MiB, 64 KiB sent: refused on the prefix, nothing like 512 MiB is read
        prefix = b"\x00" + (512 << 20).to_bytes(4, "big")
        got = await raw_call(port, "SendHeartbeat", prefix + b"\x00" * (64 << 10), framed=False)
        assert got == "RESOURCE_EXHAUSTED"
        # just over the heartbeat limit, properly framed
        big = HeartbeatRequest(worker_id="w", session_id="x" * (70 << 10))
        assert await raw_call(port, "SendHeartbeat", bytes(big)) == "RESOURCE_EXHAUSTED"
        # compressed flag, a flag that is not a flag, a cut prefix, a body shorter than declared
        body = bytes(HeartbeatRequest(worker_id="w", session_id="s"))
        n = len(body).to_bytes(4, "big")
        for payload in (
            b"\x01" + n + body,
            b"\x07" + n + body,
            b"\x00\x00\x00",
            b"\x00" + (len(body) + 10).to_bytes(4, "big") + body,
        ):
            got = await raw_call(port, "SendHeartbeat", payload, framed=False)
            assert got == "INVALID_ARGUMENT", payload
        # a large request the RPC allows still goes through
        async with client(port) as c:
            native_or_skip()
            table, scalars = make_table("bn254", "G1", 2048)
            req = SubmitMsmRequest(
                curve="bn254",
                group="G1",
                bases=table.to_bytes(),
                scalars=b"".join(s.to_bytes(32, "little") for s in scalars),
            )
            assert (await c.call("submit_msm", req)).job_id
        await alive(port)


def test_the_fuzzed_methods_are_every_rpc_of_the_contract() -> None:
    """A new RPC in the proto is fuzzed too (this list follows the contract)."""
    import re

    proto = Path(__file__).resolve().parents[2] / "protos/zkedge/coordinator/v1/coordinator.proto"
    assert sorted(re.findall(r"^\s*rpc (\w+)\(", proto.read_text(), re.M)) == sorted(METHODS)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.sampled_from(METHODS), st.binary(max_size=80)), min_size=10, max_size=25)
)
def test_fuzzed_bodies_never_get_unknown(calls: list[tuple[str, bytes]]) -> None:
    """Every RPC, bodies of random bytes: a status that names the problem, never UNKNOWN or
    INTERNAL, and the coordinator answers afterwards."""

    async def run() -> None:
        with trio.fail_after(60):
            async with trio.open_nursery() as nursery:
                coord = await start_coordinator(nursery, None)
                assert port_of(coord) is not None
                for method, body in calls:
                    got = await raw_call(port_of(coord), method, body)
                    assert got not in ("UNKNOWN", "INTERNAL", "NO STATUS"), (method, body.hex())
                await alive(port_of(coord))
                nursery.cancel_scope.cancel()

    trio.run(run)


async def test_concurrent_submits_on_new_connections(nursery: trio.Nursery) -> None:
    """Two SubmitMsm of 100 kB of scalars at once, right after connecting, ten times: none
    fails (a frame-size change in flight once made the server refuse the client's frames)."""
    native_or_skip()
    table, _ = make_table("bn254", "G1", 3200)
    scalars = bytes(range(256)) * 400  # 3200 scalars, 102 kB
    with trio.fail_after(120):
        coord = await start_coordinator(nursery, None)
        digest = await coord.add_table("bn254", "G1", table)
        for _ in range(10):
            async with client(port_of(coord)) as c:
                async with trio.open_nursery() as n:
                    for _ in range(2):
                        req = SubmitMsmRequest(
                            curve="bn254", group="G1", table_hash=digest, scalars=scalars
                        )
                        n.start_soon(c.call, "submit_msm", req)


async def test_connections_per_address_are_bounded(nursery: trio.Nursery) -> None:
    with trio.fail_after(30):
        coord = await start_coordinator(nursery, None, max_connections_per_peer=3)
        async with trio_asyncio.open_loop():
            channels: list[grpclib.client.Channel] = []

            async def one() -> str:
                ch = grpclib.client.Channel("127.0.0.1", port_of(coord))
                channels.append(ch)
                try:
                    await ch.__connect__()
                    await trio_asyncio.trio_as_aio(trio.sleep)(0.2)
                    proto: Any = ch._protocol
                    closing = proto is None or proto.handler.connection_lost
                    return "closed" if closing else "open"
                except OSError:
                    return "closed"

            results = [await trio_asyncio.aio_as_trio(one)() for _ in range(5)]
            for ch in channels:
                ch.close()
        assert results[:3] == ["open"] * 3 and results[3:] == ["closed"] * 2
        await trio.sleep(0.2)
        await alive(port_of(coord))  # closed connections give their place back


# ---------------------------------------------------------------------------- the store


class _FillingDisk:
    """A sqlite3 connection that fails every write once ``full`` is set, as a full disk does."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self.full = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)

    def _check(self, sql: str) -> None:
        if self.full and not sql.lstrip().upper().startswith(("SELECT", "ROLLBACK", "PRAGMA")):
            raise sqlite3.OperationalError("database or disk is full")

    def execute(self, sql: str, *args: Any) -> Any:
        self._check(sql)
        return self._db.execute(sql, *args)

    def executemany(self, sql: str, *args: Any) -> Any:
        self._check(sql)
        return self._db.executemany(sql, *args)


async def _disk_fills_during_a_job(
    nursery: trio.Nursery, tmp_path: Path, fill: Callable[[Any], None]
) -> None:
    from support.fleet import start_workers

    native_or_skip()
    table, scalars = make_table("bn254", "G1", 256)
    with trio.fail_after(60):
        coord = await start_coordinator(nursery, tmp_path / "s.sqlite", pipeline_depth=1)
        await start_workers(nursery, coord, tmp_path, ["w1"], task_delay=0.05)
        ok = await coord.submit_msm("bn254", "G1", table, scalars)
        await ok.result()
        handle = await coord.submit_msm("bn254", "G1", table, scalars[::-1])
        fill(coord)
        with pytest.raises(Exception, match=r"disk is full|database or disk|No space"):
            await handle.result()
        # nothing is left running that no worker has, and the coordinator keeps serving
        await trio.sleep(0.5)
        assert all(not w.inflight for w in coord.workers())
        assert not coord._scheduler_or_raise().running
        await alive(port_of(coord))
        with pytest.raises(StoreError):  # a new submit says why it cannot be taken
            await coord.submit_msm("bn254", "G1", table, scalars[1:])


async def test_a_full_disk_fails_the_job_with_its_reason(
    nursery: trio.Nursery, tmp_path: Path
) -> None:
    def fill(coord: Any) -> None:
        guarded = coord._scheduler_or_raise().store._db
        disk = _FillingDisk(guarded.db)
        guarded.db = disk
        disk.full = True

    await _disk_fills_during_a_job(nursery, tmp_path, fill)


async def test_a_real_full_tmpfs_fails_the_job_with_its_reason(
    nursery: trio.Nursery, tmp_path: Path
) -> None:
    """The same on a real filesystem: a 4 MiB tmpfs under the store, filled up mid-job
    (as root; skipped where mounting is not allowed)."""
    import os
    import subprocess

    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mnt = tmp_path / "small"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)]).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:

        def fill(coord: Any) -> None:
            with open(mnt / "filler", "wb") as f:  # take every free byte
                try:
                    while True:
                        f.write(b"\0" * 65536)
                        f.flush()
                except OSError:
                    pass

        # the coordinator and worker stop before the filesystem goes away
        async with trio.open_nursery() as local:
            await _disk_fills_during_a_job(local, mnt, fill)
            local.cancel_scope.cancel()
    finally:
        (mnt / "filler").unlink(missing_ok=True)
        subprocess.run(["umount", str(mnt)], check=False)


async def test_unusable_store_is_one_line(tmp_path: Path) -> None:
    from zkedge.fleet.coordinator.store import Store

    with pytest.raises(StoreError, match="no directory"):
        Store(tmp_path / "missing" / "jobs.sqlite")
    bad = tmp_path / "junk.sqlite"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError) as info:
        Store(bad)
    assert "\n" not in str(info.value) and str(bad) in str(info.value)


async def test_memory_returns_after_abusive_connections(tmp_path: Path) -> None:
    """Thirty connections each declaring a 512 MiB heartbeat and sending 4 MiB of it: each is
    refused on its prefix, and once they are gone the coordinator process holds about what it
    held before (its flow-control windows bound what it buffers)."""
    import os
    import re
    import subprocess
    import sys

    def rss_mib(pid: int) -> float:
        text = Path(f"/proc/{pid}/status").read_text()
        m = re.search(r"VmRSS:\s+(\d+) kB", text)
        assert m is not None
        return int(m.group(1)) / 1024

    proc = subprocess.Popen(
        [sys.executable, "-m", "zkedge", "coordinator", "--bind", "127.0.0.1:0",
         "--store", ":memory:", "--token", TOKEN, "--keep-freed-mb", "0"],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "ZKEDGE_TOKEN": ""},
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        with trio.fail_after(60):
            line = await trio.to_thread.run_sync(proc.stdout.readline)
            m = re.search(r"listening on \S+:(\d+)", line)
            assert m, line
            port = int(m.group(1))
            prefix = b"\x00" + (512 << 20).to_bytes(4, "big")
            await raw_call(port, "GetStatus", b"", framed=True)  # warm up
            before = rss_mib(proc.pid)
            async with trio.open_nursery() as n:
                for _ in range(30):
                    payload = prefix + b"\x00" * (4 << 20)
                    n.start_soon(raw_call, port, "SendHeartbeat", payload, False)
            await trio.sleep(1.0)
            after = rss_mib(proc.pid)
        assert after - before < 64, (before, after)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        if proc.stdout is not None:
            proc.stdout.close()
