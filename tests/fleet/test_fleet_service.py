"""The gRPC contract against a real coordinator on 127.0.0.1 (port 0), with a raw client."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
import trio
from support.fleet import (
    TOKEN,
    client,
    make_table,
    native_or_skip,
    port_of,
    start_coordinator,
    start_workers,
)

from zkedge.fleet import rpc
from zkedge.fleet.proto.coordinator.v1 import (
    CachedRange,
    FetchBasesRequest,
    GetStatusRequest,
    HeartbeatRequest,
    LoadReport,
    MeasureLinkRequest,
    NodeInfo,
    ReceiveTasksRequest,
    RegisterWorkerRequest,
    ReportCompletionRequest,
    ReportFailureRequest,
    SubmitMsmRequest,
    TaskAssignment,
    TaskCancel,
    TaskMessage,
    WatchJobRequest,
)

NODE = NodeInfo(hostname="h", arch="aarch64", cores=4, curves=["bn254"], bench_points_per_sec=1e5)


async def _as_worker(
    c: rpc.GrpcClient, worker_id: str, buffer: int
) -> tuple[trio.MemoryReceiveChannel[TaskMessage], Callable[[], Awaitable[None]]]:
    """Register ``worker_id`` through raw client ``c``: (its task messages, the coroutine
    function that keeps its ReceiveTasks stream open, for a nursery)."""
    reg = await c.call("register_worker", RegisterWorkerRequest(worker_id=worker_id, node=NODE))
    send, recv = trio.open_memory_channel[TaskMessage](buffer)

    async def stream() -> None:
        await c.stream(
            "receive_tasks",
            ReceiveTasksRequest(worker_id=worker_id, session_id=reg.session_id),
            send.send_nowait,
        )

    return recv, stream


async def _partial(c: rpc.GrpcClient, sid: str, a: TaskAssignment) -> bytes:
    """What worker "w" (session sid) reports for task a: its bases fetched, its partial sum."""
    from zkedge import ec
    from zkedge.msm import BaseTable, msm

    chunks = await c.collect(
        "fetch_bases",
        FetchBasesRequest(
            worker_id="w", session_id=sid, table_hash=a.table_hash, start=a.start, count=a.count
        ),
    )
    bases = b"".join(ch.data for ch in chunks)[: a.count * 64]
    part = msm(BaseTable.from_bytes("bn254", "G1", bases, "mont"), a.scalars)
    return ec.encode("bn254", "G1", part, "be")


async def test_register_heartbeat_and_status(nursery: trio.Nursery, store: Path) -> None:
    with trio.fail_after(20):
        coord = await start_coordinator(nursery, store)
        async with client(port_of(coord)) as c:
            reg = await c.call("register_worker", RegisterWorkerRequest(worker_id="w1", node=NODE))
            assert reg.session_id and reg.heartbeat_interval_ms == 5000
            assert reg.max_missed_heartbeats == 3 and reg.bases_block_points == 16
            load = LoadReport(load_average=0.5, cpu_utilization=0.25, has_temperature=True)
            hb = await c.call(
                "send_heartbeat",
                HeartbeatRequest(worker_id="w1", session_id=reg.session_id, load_report=load),
            )
            assert hb.state == "active"
            st = await c.call("get_status", GetStatusRequest())
            (w,) = st.workers
            assert w.worker_id == "w1" and w.node.arch == "aarch64"
            assert w.load_report.cpu_utilization == 0.25 and w.capacity_points_per_sec > 0
            assert coord.capacity("w1") > 0


async def test_unknown_worker_is_told_to_register(nursery: trio.Nursery, store: Path) -> None:
    with trio.fail_after(20):
        coord = await start_coordinator(nursery, store)
        async with client(port_of(coord)) as c:
            for session in ("s", ""):
                calls = [
                    ("send_heartbeat", HeartbeatRequest(worker_id="ghost", session_id=session)),
                    (
                        "receive_tasks",
                        ReceiveTasksRequest(worker_id="ghost", session_id=session),
                    ),
                    (
                        "receive_cancels",
                        ReceiveTasksRequest(worker_id="ghost", session_id=session),
                    ),
                    (
                        "report_completion",
                        ReportCompletionRequest(
                            worker_id="ghost", task_id="t", attempt=1, session_id=session
                        ),
                    ),
                    (
                        "report_failure",
                        ReportFailureRequest(
                            worker_id="ghost", task_id="t", attempt=1, session_id=session
                        ),
                    ),
                    (
                        "fetch_bases",
                        FetchBasesRequest(
                            worker_id="ghost", table_hash="0" * 64, count=1, session_id=session
                        ),
                    ),
                    (
                        "measure_link",
                        MeasureLinkRequest(worker_id="ghost", session_id=session, bytes=1),
                    ),
                ]
                for name, req in calls:
                    with pytest.raises(rpc.RpcError) as info:
                        if name in (
                            "fetch_bases",
                            "receive_tasks",
                            "receive_cancels",
                            "measure_link",
                        ):
                            await c.collect(name, req)
                        else:
                            await c.call(name, req)
                    if session:  # an unknown session: register (again)
                        assert info.value.status == "NOT_FOUND", name
                        assert "RegisterWorker" in info.value.message
                    else:  # no session at all: every worker RPC needs one
                        assert info.value.status == "INVALID_ARGUMENT", name
            reg = await c.call("register_worker", RegisterWorkerRequest(worker_id="w", node=NODE))
            with pytest.raises(rpc.RpcError) as info:  # a stale session is unknown too
                await c.call("send_heartbeat", HeartbeatRequest(worker_id="w", session_id="old"))
            assert info.value.status == "NOT_FOUND"
            with pytest.raises(rpc.RpcError) as info:
                await c.collect("receive_tasks", ReceiveTasksRequest(worker_id="w", session_id="x"))
            assert info.value.status == "NOT_FOUND"
            assert reg.session_id


async def test_malformed_requests_get_invalid_argument(nursery: trio.Nursery, store: Path) -> None:
    with trio.fail_after(30):
        coord = await start_coordinator(nursery, store)
        async with client(port_of(coord)) as c:
            reg = await c.call("register_worker", RegisterWorkerRequest(worker_id="w", node=NODE))
            sid = reg.session_id
            bad = [
                ("register_worker", RegisterWorkerRequest(worker_id="", node=NODE)),
                ("register_worker", RegisterWorkerRequest(worker_id="x" * 500, node=NODE)),
                ("register_worker", RegisterWorkerRequest(worker_id="w2")),  # no node facts
                (
                    "register_worker",
                    RegisterWorkerRequest(
                        worker_id="w2", node=NodeInfo(bench_points_per_sec=math.nan)
                    ),
                ),
                (
                    "register_worker",
                    RegisterWorkerRequest(worker_id="w2", node=NodeInfo(curves=["p256"])),
                ),
                (
                    "register_worker",
                    RegisterWorkerRequest(
                        worker_id="w2", node=NODE, cached=[CachedRange(table_hash="zz")]
                    ),
                ),
                (
                    "send_heartbeat",
                    HeartbeatRequest(
                        worker_id="w", session_id=sid, load_report=LoadReport(cpu_utilization=2.0)
                    ),
                ),
                (
                    "send_heartbeat",
                    HeartbeatRequest(
                        worker_id="w", session_id=sid, load_report=LoadReport(load_average=-1)
                    ),
                ),
                ("send_heartbeat", HeartbeatRequest(worker_id="")),
                ("report_completion", ReportCompletionRequest(worker_id="w", task_id="t")),
                ("report_failure", ReportFailureRequest(worker_id="w", task_id="", attempt=1)),
                (
                    "report_completion",
                    ReportCompletionRequest(
                        worker_id="w", task_id="t", attempt=1, compute_seconds=-1.0
                    ),
                ),
                (
                    "report_completion",
                    ReportCompletionRequest(worker_id="w", task_id="t", attempt=1, cpu_share=1.5),
                ),
                ("submit_msm", SubmitMsmRequest(curve="bn254", group="G1", bases=b"x" * 63)),
                ("submit_msm", SubmitMsmRequest(curve="nope", group="G1")),
                (
                    "submit_msm",
                    SubmitMsmRequest(curve="bn254", group="G3", bases=bytes(64), scalars=bytes(32)),
                ),
                (
                    "submit_msm",
                    SubmitMsmRequest(curve="bn254", group="G1", bases=bytes(64), scalars=bytes(64)),
                ),
            ]
            for name, req in bad:
                with pytest.raises(rpc.RpcError) as info:
                    await c.call(name, req)
                assert info.value.status == "INVALID_ARGUMENT", (name, req, info.value)
            # a table exists now? no: bad submissions stored nothing. Make one and ask past its end.
            job = await c.call(
                "submit_msm",
                SubmitMsmRequest(
                    curve="bn254", group="G1", bases=bytes(64 * 4), scalars=bytes(128)
                ),
            )
            assert job.job_id
            table = coord._scheduler_or_raise().jobs[job.job_id].msms[0].table_hash
            for start, count in ((0, 0), (3, 2), (2**63, 2**63)):
                with pytest.raises(rpc.RpcError) as info:
                    await c.collect(
                        "fetch_bases",
                        FetchBasesRequest(
                            worker_id="w", table_hash=table, start=start, count=count
                        ),
                    )
                assert info.value.status == "INVALID_ARGUMENT"
            with pytest.raises(rpc.RpcError) as info:
                await c.collect("watch_job", WatchJobRequest(job_id="nope"))
            assert info.value.status == "NOT_FOUND"
            # still healthy
            hb = await c.call("send_heartbeat", HeartbeatRequest(worker_id="w", session_id=sid))
            assert hb.state == "active"


async def test_token_is_required_on_every_rpc(nursery: trio.Nursery, store: Path) -> None:
    with trio.fail_after(20):
        coord = await start_coordinator(nursery, store)
        for token in (None, "wrong", TOKEN + "x", ""):
            async with client(port_of(coord), token=token) as c:
                for name, req in (
                    ("register_worker", RegisterWorkerRequest(worker_id="w", node=NODE)),
                    ("send_heartbeat", HeartbeatRequest(worker_id="w")),
                    ("get_status", GetStatusRequest()),
                ):
                    with pytest.raises(rpc.RpcError) as info:
                        await c.call(name, req)
                    assert info.value.status == "UNAUTHENTICATED"
                with pytest.raises(rpc.RpcError) as info:
                    await c.collect("receive_tasks", ReceiveTasksRequest(worker_id="w"))
                assert info.value.status == "UNAUTHENTICATED"
        assert not coord.workers()
        open_coord = await start_coordinator(nursery, None, token=None)
        async with client(port_of(open_coord), token=None) as c:
            await c.call("register_worker", RegisterWorkerRequest(worker_id="w", node=NODE))


async def test_stream_push_completion_and_idempotent_reports(
    nursery: trio.Nursery, store: Path
) -> None:
    native_or_skip()
    from zkedge import ec
    from zkedge.msm import msm

    table, scalars = make_table("bn254", "G1", 48)
    with trio.fail_after(60):
        coord = await start_coordinator(nursery, store, pipeline_depth=1)
        async with client(port_of(coord)) as c:
            recv, stream = await _as_worker(c, "w", 100)
            (sid,) = [w.session_id for w in coord.workers() if w.worker_id == "w"]
            async with trio.open_nursery() as local:
                local.start_soon(stream)
                handle = await coord.submit_msm("bn254", "G1", table, scalars)
                first: TaskAssignment | None = None
                while not handle.done:
                    a = (await recv.receive()).assign
                    res = await _partial(c, sid, a)
                    if first is None:  # a wrong-length result is refused outright
                        with pytest.raises(rpc.RpcError) as info:
                            await c.call(
                                "report_completion",
                                ReportCompletionRequest(
                                    worker_id="w",
                                    task_id=a.task_id,
                                    attempt=a.attempt,
                                    result=b"1",
                                    session_id=sid,
                                ),
                            )
                        assert info.value.status == "INVALID_ARGUMENT"
                        with pytest.raises(rpc.RpcError) as info:  # not this worker's session
                            await c.call(
                                "report_completion",
                                ReportCompletionRequest(
                                    worker_id="w",
                                    task_id=a.task_id,
                                    attempt=a.attempt,
                                    result=res,
                                    session_id="forged",
                                ),
                            )
                        assert info.value.status == "NOT_FOUND"
                    req = ReportCompletionRequest(
                        worker_id="w", task_id=a.task_id, attempt=a.attempt, result=res,
                        session_id=sid,
                    )  # fmt: skip
                    ack = await c.call("report_completion", req)
                    assert ack.accepted, ack.detail
                    dup = await c.call("report_completion", req)
                    assert not dup.accepted and "already" in dup.detail
                    late = await c.call(
                        "report_failure",
                        ReportFailureRequest(
                            worker_id="w",
                            task_id=a.task_id,
                            attempt=a.attempt,
                            error="late",
                            session_id=sid,
                        ),
                    )
                    assert not late.accepted
                    other = ReportCompletionRequest(
                        worker_id="w", task_id=a.task_id, attempt=a.attempt + 5, result=res,
                        session_id=sid,
                    )  # fmt: skip
                    assert not (await c.call("report_completion", other)).accepted
                    first = first or a
                assert await handle.result() == msm(table, scalars)
                p = handle.progress
                assert p.points_done == p.points_total == 48 and p.tasks_done == p.tasks_total
                assert sum(pr.count for pr in handle.partials()) == 48
                updates = await c.collect("watch_job", WatchJobRequest(job_id=handle.id))
                assert updates[-1].state == "done"
                assert updates[-1].results[0] == ec.encode(
                    "bn254", "G1", await handle.result(), "be"
                )
                local.cancel_scope.cancel()


async def test_messages_of_megabytes_both_ways(nursery: trio.Nursery, store: Path) -> None:
    """A 1.3 MB SubmitMsm up and a 0.6 MB task down arrive intact, both ends having agreed on
    HTTP/2 frames of up to rpc.MAX_FRAME_SIZE (h2's default is 16 KiB)."""
    native_or_skip()
    from zkedge import ec
    from zkedge.curves import BN254
    from zkedge.fleet.coordinator import SizingPolicy
    from zkedge.msm import table_hash

    n = 20_000
    g = ec.encode("bn254", "G1", ec.generator(BN254, "G1"), "mont")
    bases = g * n
    scalars = b"".join((i * 7919 + 3).to_bytes(32, "little") for i in range(n))
    policy = SizingPolicy(min_points=1 << 15, block_points=4096)
    with trio.fail_after(60):
        coord = await start_coordinator(nursery, store, policy=policy, pipeline_depth=1)
        async with client(port_of(coord)) as c:
            recv, stream = await _as_worker(c, "w", 10)
            async with trio.open_nursery() as local:
                local.start_soon(stream)
                resp = await c.call(
                    "submit_msm",
                    SubmitMsmRequest(curve="bn254", group="G1", bases=bases, scalars=scalars),
                )
                assert resp.job_id and coord.has_table(table_hash("bn254", "G1", bases))
                a = (await recv.receive()).assign
                assert (a.start, a.count) == (0, n) and a.scalars == scalars
                h2conn = c._channel._protocol.connection._connection  # type: ignore[union-attr]
                assert h2conn.max_inbound_frame_size == rpc.MAX_FRAME_SIZE
                assert h2conn.max_outbound_frame_size == rpc.MAX_FRAME_SIZE
                local.cancel_scope.cancel()


async def test_submit_msm_names_a_known_table_by_hash(nursery: trio.Nursery, store: Path) -> None:
    """SubmitMsm with table_hash instead of bases: NOT_FOUND until the table is known, then the
    same job as with the bases; both at once, or a hash of the other group, is refused."""
    native_or_skip()
    from zkedge.msm import table_hash

    table, scalars = make_table("bn254", "G1", 20)
    mont = table.to_bytes()
    sc = b"".join(k.to_bytes(32, "little") for k in scalars)
    digest = table_hash("bn254", "G1", mont)
    with trio.fail_after(30):
        coord = await start_coordinator(nursery, store)
        async with client(port_of(coord)) as c:
            by_hash = SubmitMsmRequest(curve="bn254", group="G1", table_hash=digest, scalars=sc)
            with pytest.raises(rpc.RpcError) as info:
                await c.call("submit_msm", by_hash)
            assert info.value.status == "NOT_FOUND"
            first = SubmitMsmRequest(curve="bn254", group="G1", bases=mont, scalars=sc)
            await c.call("submit_msm", first)
            assert coord.has_table(digest)
            job = (await c.call("submit_msm", by_hash)).job_id
            assert coord.job(job) is not None
            for bad in (
                SubmitMsmRequest(
                    curve="bn254", group="G1", bases=mont, table_hash=digest, scalars=sc
                ),
                SubmitMsmRequest(curve="bn254", group="G2", table_hash=digest, scalars=sc),
            ):
                with pytest.raises(rpc.RpcError) as info:
                    await c.call("submit_msm", bad)
                assert info.value.status == "INVALID_ARGUMENT"


async def test_fetch_zkey_serves_a_kept_zkey_and_refuses_the_rest(
    nursery: trio.Nursery, store: Path
) -> None:
    """FetchZkey: the file from any offset, in chunks that add up to it; an unknown zkey is
    NOT_FOUND, a malformed hash or an offset past the end INVALID_ARGUMENT, no session
    INVALID_ARGUMENT, a quarantined worker FAILED_PRECONDITION."""
    import hashlib

    from zkedge.fleet.proto.coordinator.v1 import FetchZkeyRequest

    native_or_skip()
    data = (
        Path(__file__).resolve().parents[1] / "fixtures" / "bn128" / "circuit.zkey"
    ).read_bytes()
    with trio.fail_after(30):
        coord = await start_coordinator(nursery, store)
        digest = await coord.proofs.add_zkey(data)
        assert digest == hashlib.sha256(data).hexdigest()
        async with client(port_of(coord)) as c:
            reg = await c.call("register_worker", RegisterWorkerRequest(worker_id="z", node=NODE))

            def req(**kw: object) -> FetchZkeyRequest:
                return FetchZkeyRequest(**{"worker_id": "z", "session_id": reg.session_id, **kw})

            for offset in (0, 1000, len(data)):
                chunks = await c.collect("fetch_zkey", req(zkey_hash=digest, offset=offset))
                assert b"".join(ch.data for ch in chunks) == data[offset:]
                assert all(ch.total_bytes == len(data) for ch in chunks)
            bad = [
                (req(zkey_hash="ab" * 32), "NOT_FOUND"),
                (req(zkey_hash="xyz"), "INVALID_ARGUMENT"),
                (req(zkey_hash=digest, offset=len(data) + 1), "INVALID_ARGUMENT"),
                (FetchZkeyRequest(worker_id="z", zkey_hash=digest), "INVALID_ARGUMENT"),
            ]
            for r, status in bad:
                with pytest.raises(rpc.RpcError) as info:
                    await c.collect("fetch_zkey", r)
                assert info.value.status == status, r
            coord.quarantine("z", "test")
            with pytest.raises(rpc.RpcError) as info:
                await c.collect("fetch_zkey", req(zkey_hash=digest))
            assert info.value.status == "FAILED_PRECONDITION"


async def test_a_call_on_a_connection_grpclib_closed_is_connection_lost(
    nursery: trio.Nursery,
) -> None:
    """grpclib deletes a lost connection's transport; a call made on it afterwards (the CLI's
    cancel after a broken watch) is ConnectionLost, which callers handle, not AttributeError.
    Other errors pass unchanged."""
    with trio.fail_after(20):
        coord = await start_coordinator(nursery, None)
        async with client(port_of(coord)) as c:

            async def lost() -> None:
                raise AttributeError("'Connection' object has no attribute '_transport'")

            async def bug() -> None:
                raise AttributeError("'X' object has no attribute 'y'")

            with pytest.raises(rpc.ConnectionLost):
                await c._run(lost)
            with pytest.raises(AttributeError):
                await c._run(bug)


async def test_cancellations_also_come_on_their_own_stream(
    nursery: trio.Nursery, store: Path
) -> None:
    """A worker that opens ReceiveCancels gets every cancellation there as well as on its task
    stream (where it would wait behind the data sent before it); a second ReceiveCancels
    replaces the first, which ends."""
    table, scalars = make_table("bn254", "G1", 64)
    with trio.fail_after(30):
        coord = await start_coordinator(nursery, store, pipeline_depth=2)
        async with client(port_of(coord)) as c:
            control = c  # a worker opens it on its control connection; one does here
            recv, stream = await _as_worker(c, "w", 100)
            (sid,) = [w.session_id for w in coord.workers() if w.worker_id == "w"]
            req = ReceiveTasksRequest(worker_id="w", session_id=sid)
            old: list[TaskCancel] = []
            got: list[TaskCancel] = []
            async with trio.open_nursery() as local:
                local.start_soon(stream)
                ended = trio.Event()

                async def first() -> None:
                    await control.stream("receive_cancels", req, old.append)
                    ended.set()

                local.start_soon(first)
                while not any(w.cancels for w in coord.workers()):
                    await trio.sleep(0.01)
                local.start_soon(control.stream, "receive_cancels", req, got.append)
                await ended.wait()  # replaced by the second
                handle = await coord.submit_msm("bn254", "G1", table, scalars)
                msg = await recv.receive()
                sent = (msg.assign.task_id, msg.assign.attempt)
                handle.cancel()
                while not got:
                    await trio.sleep(0.01)
                on_tasks: list[tuple[str, int]] = []
                while len(on_tasks) < len(got):
                    msg = await recv.receive()
                    if msg.cancel.task_id:
                        on_tasks.append((msg.cancel.task_id, msg.cancel.attempt))
                local.cancel_scope.cancel()
    assert old == []
    assert [(x.task_id, x.attempt) for x in got] == on_tasks
    assert sent in on_tasks


async def test_measure_link_sends_the_filler_asked_for_a_few_times_a_session(
    nursery: trio.Nursery, store: Path
) -> None:
    """MeasureLink streams exactly the bytes asked for, in chunks of at most 64 KiB; a size
    outside 1..1 MiB is INVALID_ARGUMENT, a session's fifth call RESOURCE_EXHAUSTED, and a new
    session may measure again."""
    with trio.fail_after(20):
        coord = await start_coordinator(nursery, store)
        async with client(port_of(coord)) as c:
            reg = await c.call("register_worker", RegisterWorkerRequest(worker_id="w", node=NODE))

            def req(n: int, sid: str = reg.session_id) -> MeasureLinkRequest:
                return MeasureLinkRequest(worker_id="w", session_id=sid, bytes=n)

            for n in (0, (1 << 20) + 1):
                with pytest.raises(rpc.RpcError) as info:
                    await c.collect("measure_link", req(n))
                assert (
                    info.value.status == "INVALID_ARGUMENT" and "1..1048576" in info.value.message
                )
            sizes = [1, 65536, 65537, 1 << 20]
            for n in sizes:
                chunks = await c.collect("measure_link", req(n))
                assert sum(len(ch.data) for ch in chunks) == n
                assert all(0 < len(ch.data) <= 65536 and not any(ch.data) for ch in chunks)
            with pytest.raises(rpc.RpcError) as info:
                await c.collect("measure_link", req(1))
            assert info.value.status == "RESOURCE_EXHAUSTED"
            assert coord._scheduler_or_raise().dispatcher.bytes_sent["probe"] == sum(sizes)
            again = await c.call("register_worker", RegisterWorkerRequest(worker_id="w", node=NODE))
            chunks = await c.collect("measure_link", req(10, again.session_id))
            assert [len(ch.data) for ch in chunks] == [10]


async def test_a_worker_reports_its_link_before_its_first_task(
    nursery: trio.Nursery, store: Path, tmp_path: Path
) -> None:
    """A zkedge worker times MeasureLink's filler right after registering and sends the rate in
    a heartbeat at once (the interval is 5 s here), so the coordinator knows the link before
    it carves a first job."""
    native_or_skip()
    with trio.fail_after(30):
        coord = await start_coordinator(nursery, store)
        (w,) = await start_workers(nursery, coord, tmp_path, ["a"])
        with trio.fail_after(3):
            while not (
                (rec := next((x for x in coord.workers() if x.worker_id == "a"), None)) is not None
                and rec.load is not None
                and rec.load.recv_bytes_per_sec > 0
            ):
                await trio.sleep(0.02)
        assert coord._scheduler_or_raise().dispatcher.bytes_sent["probe"] == 256 << 10
        assert rec.tasks_done == 0 and w.link.rate == rec.load.recv_bytes_per_sec


async def test_stream_reports_acks_each_report_in_order_and_ends_on_a_bad_one(
    nursery: trio.Nursery, store: Path
) -> None:
    """StreamReports: the reports of a job's tasks over one stream, each answered as
    ReportCompletion answers it (accepted, then a duplicate refused); the job completes. A
    malformed report ends the stream with INVALID_ARGUMENT, a forged session with NOT_FOUND,
    and a new stream works again."""
    native_or_skip()
    from zkedge.msm import msm

    table, scalars = make_table("bn254", "G1", 48)
    with trio.fail_after(60):
        coord = await start_coordinator(nursery, store, pipeline_depth=1)
        async with client(port_of(coord)) as c:
            recv, stream = await _as_worker(c, "w", 100)
            (sid,) = [w.session_id for w in coord.workers() if w.worker_id == "w"]
            async with trio.open_nursery() as local:
                local.start_soon(stream)
                handle = await coord.submit_msm("bn254", "G1", table, scalars)
                acks: list[tuple[bool, str]] = []
                async with c.exchange("stream_reports") as ask:
                    while not handle.done:
                        a = (await recv.receive()).assign
                        req = ReportCompletionRequest(
                            worker_id="w", task_id=a.task_id, attempt=a.attempt, session_id=sid,
                            result=await _partial(c, sid, a),
                        )  # fmt: skip
                        for _ in range(2):
                            ack = await ask(req)
                            acks.append((ack.accepted, ack.detail))
                assert await handle.result() == msm(table, scalars)
                assert acks and all(ok for ok, _ in acks[::2])
                assert all(not ok and "already" in why for ok, why in acks[1::2])
                no_attempt = ReportCompletionRequest(worker_id="w", task_id="t", session_id=sid)
                forged = ReportCompletionRequest(
                    worker_id="w", task_id="t", attempt=1, session_id="forged"
                )
                for bad, status in ((no_attempt, "INVALID_ARGUMENT"), (forged, "NOT_FOUND")):
                    with pytest.raises(rpc.RpcError) as info:
                        async with c.exchange("stream_reports") as ask:
                            await ask(bad)
                    assert info.value.status == status
                async with c.exchange("stream_reports") as ask:
                    late = ReportCompletionRequest(
                        worker_id="w", task_id="gone", attempt=1, session_id=sid
                    )
                    assert not (await ask(late)).accepted
                local.cancel_scope.cancel()
