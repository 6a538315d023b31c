"""Interop: a client built with the official ``grpcio`` from the same .proto talks to us.

The stubs are generated at test time with ``grpc_tools.protoc`` into tmp_path (under another
file name, so the generated modules cannot clash with the ``zkedge`` package).
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.fleet import (
    TOKEN,
    TaskStreamService,
    make_table,
    native_or_skip,
    port_of,
    start_coordinator,
)

PROTO = Path(__file__).resolve().parents[2] / "protos/zkedge/coordinator/v1/coordinator.proto"


def generate(tmp: Path) -> tuple[ModuleType, ModuleType]:
    grpc_tools = pytest.importorskip("grpc_tools.protoc")
    src = tmp / "proto"
    src.mkdir()
    shutil.copy(PROTO, src / "zkinterop.proto")
    rc = grpc_tools.main(
        [
            "protoc",
            f"-I{src}",
            f"-I{Path(grpc_tools.__file__).parent / '_proto'}",
            f"--python_out={tmp}",
            f"--grpc_python_out={tmp}",
            str(src / "zkinterop.proto"),
        ]
    )
    assert rc == 0
    sys.path.insert(0, str(tmp))
    try:
        mods = []
        for name in ("zkinterop_pb2", "zkinterop_pb2_grpc"):
            spec = importlib.util.spec_from_file_location(name, tmp / f"{name}.py")
            assert spec and spec.loader
            mod = importlib.util.module_from_spec(spec)
            sys.modules[name] = mod
            spec.loader.exec_module(mod)
            mods.append(mod)
        return mods[0], mods[1]
    finally:
        sys.path.remove(str(tmp))


def blocking_session(
    pb2: Any, pb2_grpc: Any, port: int, n: int, streamed: bool = False
) -> dict[str, Any]:
    """What a third-party worker would do with grpcio: register, beat, take a task, report
    (``streamed``: over StreamReports, and then a forged session's report on a new one)."""
    import queue

    import grpc

    from zkedge import ec
    from zkedge.msm import BaseTable, msm

    md = (("authorization", f"Bearer {TOKEN}"),)
    out: dict[str, Any] = {}
    with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        stub = pb2_grpc.CoordinatorServiceStub(ch)
        node = pb2.NodeInfo(hostname="grpcio", arch="x86_64", cores=1, bench_points_per_sec=1e4)
        reg = stub.RegisterWorker(pb2.RegisterWorkerRequest(worker_id="gw", node=node), metadata=md)
        hb = stub.SendHeartbeat(
            pb2.HeartbeatRequest(
                worker_id="gw",
                session_id=reg.session_id,
                load_report=pb2.LoadReport(load_average=0.1, cpu_utilization=0.5),
            ),
            metadata=md,
        )
        out["hb_state"] = hb.state
        probe = stub.MeasureLink(
            pb2.MeasureLinkRequest(worker_id="gw", session_id=reg.session_id, bytes=100_000),
            metadata=md,
        )
        out["probe"] = [len(c.data) for c in probe]
        try:
            stub.SendHeartbeat(
                pb2.HeartbeatRequest(worker_id="gw"), metadata=(("authorization", "x"),)
            )
        except grpc.RpcError as exc:
            out["bad_token"] = exc.code()
        try:
            stub.SendHeartbeat(
                pb2.HeartbeatRequest(worker_id="nobody", session_id="s"), metadata=md
            )
        except grpc.RpcError as exc:
            out["unknown"] = exc.code()
        try:  # another worker's id without its session
            stub.ReceiveTasks(pb2.ReceiveTasksRequest(worker_id="gw"), metadata=md).next()
        except grpc.RpcError as exc:
            out["no_session"] = exc.code()
        garbage = ch.unary_unary(
            "/zkedge.coordinator.v1.CoordinatorService/SendHeartbeat",
            request_serializer=None,
            response_deserializer=None,
        )
        try:
            garbage(b"\xff\xff\xff\xff\x0f", metadata=md)
        except grpc.RpcError as exc:
            out["garbage"] = exc.code()
        stream = stub.ReceiveTasks(
            pb2.ReceiveTasksRequest(worker_id="gw", session_id=reg.session_id), metadata=md
        )
        reports: queue.Queue[Any] = queue.Queue()
        acks = stub.StreamReports(iter(reports.get, None), metadata=md) if streamed else None
        done = 0
        for msg in stream:
            if msg.WhichOneof("kind") != "assign":
                continue
            a = msg.assign
            data = b"".join(
                c.data
                for c in stub.FetchBases(
                    pb2.FetchBasesRequest(
                        worker_id="gw",
                        session_id=reg.session_id,
                        table_hash=a.table_hash,
                        start=a.start,
                        count=a.count,
                    ),
                    metadata=md,
                )
            )
            off = a.start % reg.bases_block_points
            bases = data[off * 64 : (off + a.count) * 64]
            point = msm(BaseTable.from_bytes(a.curve, a.group, bases, "mont"), a.scalars)
            report = pb2.ReportCompletionRequest(
                worker_id="gw",
                task_id=a.task_id,
                attempt=a.attempt,
                result=ec.encode(a.curve, a.group, point, "be"),
                compute_seconds=0.01,
                cpu_share=0.9,
                session_id=reg.session_id,
            )
            if acks is not None:
                reports.put(report)
                ack = next(acks)
            else:
                ack = stub.ReportCompletion(report, metadata=md)
            assert ack.accepted, ack.detail
            done += a.count
            if done >= n:
                break
        stream.cancel()
        if acks is not None:
            reports.put(report)  # again: refused, as a duplicate
            again = next(acks)
            out["again"] = (again.accepted, again.detail)
            reports.put(None)
            out["rest"] = list(acks)
            bad = pb2.ReportCompletionRequest(worker_id="gw", task_id="t", session_id="s")
            try:
                list(stub.StreamReports(iter([bad]), metadata=md))
            except grpc.RpcError as exc:
                out["bad_report"] = exc.code()
    return out


@pytest.mark.parametrize("streamed", [False, True], ids=["calls", "stream"])
async def test_grpcio_client_registers_beats_and_runs_a_task(
    nursery: trio.Nursery, tmp_path: Path, streamed: bool
) -> None:
    native_or_skip()
    import grpc

    from zkedge.msm import msm

    pb2, pb2_grpc = generate(tmp_path)
    # 4096 points: the task's scalars (128 KiB) and the bases chunks are large enough for
    # zkedge.fleet._codec's one-copy path, so grpcio reads what that path writes.
    table, scalars = make_table("bn254", "G1", 4096)
    with trio.fail_after(60):
        coord = await start_coordinator(nursery, tmp_path / "s.sqlite")
        handle = await coord.submit_msm("bn254", "G1", table, scalars)
        res = await trio.to_thread.run_sync(
            blocking_session, pb2, pb2_grpc, port_of(coord), 4096, streamed
        )
        if streamed:
            assert res["again"][0] is False and "already" in res["again"][1]
            assert res["rest"] == [] and res["bad_report"] == grpc.StatusCode.NOT_FOUND
        assert res["hb_state"] == "active"
        assert res["probe"] == [65536, 100_000 - 65536]
        assert res["bad_token"] == grpc.StatusCode.UNAUTHENTICATED
        assert res["unknown"] == grpc.StatusCode.NOT_FOUND
        assert res["no_session"] == grpc.StatusCode.INVALID_ARGUMENT
        assert res["garbage"] == grpc.StatusCode.INVALID_ARGUMENT
        assert await handle.result() == msm(table, scalars)
        assert {p.worker_id for p in handle.partials()} == {"gw"}


def blocking_cancel(pb2: Any, pb2_grpc: Any, port: int, bases: bytes, scalars: bytes) -> Any:
    """What a third-party client would do with grpcio: submit, list, cancel, watch the end."""
    import grpc

    md = (("authorization", f"Bearer {TOKEN}"),)
    out: dict[str, Any] = {}
    with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        stub = pb2_grpc.CoordinatorServiceStub(ch)
        job = stub.SubmitMsm(
            pb2.SubmitMsmRequest(
                curve="bn254", group="G1", bases=bases, scalars=scalars, detach=True
            ),
            metadata=md,
        ).job_id
        listed = stub.ListJobs(pb2.ListJobsRequest(running_only=True), metadata=md)
        out["listed"] = [(j.job_id, j.state, j.detach) for j in listed.jobs]
        first = stub.CancelJob(
            pb2.CancelJobRequest(job_id=job, reason="grpcio says so"), metadata=md
        )
        again = stub.CancelJob(pb2.CancelJobRequest(job_id=job), metadata=md)
        out["job"] = job
        out["first"] = (first.job_id, first.cancelled, first.state)
        out["again"] = (again.cancelled, again.state)
        last = list(stub.WatchJob(pb2.WatchJobRequest(job_id=job), metadata=md))[-1]
        out["watched"] = (last.state, last.error)
        for bad in ("", "unknown-job"):
            try:
                stub.CancelJob(pb2.CancelJobRequest(job_id=bad), metadata=md)
            except grpc.RpcError as exc:
                out[f"cancel {bad!r}"] = exc.code()
    return out


async def test_grpcio_client_cancels_a_job(nursery: trio.Nursery, tmp_path: Path) -> None:
    native_or_skip()
    import grpc

    pb2, pb2_grpc = generate(tmp_path)
    table, scalars = make_table("bn254", "G1", 64)
    data = b"".join(s.to_bytes(32, "little") for s in scalars)
    with trio.fail_after(60):
        coord = await start_coordinator(nursery, None)  # no worker: the job waits
        res = await trio.to_thread.run_sync(
            blocking_cancel, pb2, pb2_grpc, port_of(coord), table.to_bytes(), data
        )
    job = res["job"]
    assert res["listed"] == [(job, "running", True)]
    assert res["first"] == (job, True, "cancelled")
    assert res["again"] == (False, "cancelled")
    assert res["watched"] == ("cancelled", "cancelled: grpcio says so")
    assert res["cancel ''"] == grpc.StatusCode.INVALID_ARGUMENT
    assert res["cancel 'unknown-job'"] == grpc.StatusCode.NOT_FOUND
    assert coord._scheduler_or_raise().running == {}


def grpcio_prover(pb2: Any, pb2_grpc: Any, port: int, ready: Any) -> dict[str, Any]:
    """A third-party worker built with grpcio that takes whole-proof tasks: it fetches the
    zkey with FetchZkey, checks its sha256, proves (with zkedge's prover, as any Groth16
    prover would do) and reports A || B || C."""
    import grpc

    from zkedge import ec
    from zkedge.groth16 import read_zkey
    from zkedge.groth16.prover import prove_points
    from zkedge.groth16.wtns import Witness

    md = (("authorization", f"Bearer {TOKEN}"),)
    out: dict[str, Any] = {}
    with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        stub = pb2_grpc.CoordinatorServiceStub(ch)
        node = pb2.NodeInfo(hostname="grpcio", cores=1, proof_tasks=True, curves=["bn254"])
        reg = stub.RegisterWorker(pb2.RegisterWorkerRequest(worker_id="gp", node=node), metadata=md)
        stream = stub.ReceiveTasks(
            pb2.ReceiveTasksRequest(worker_id="gp", session_id=reg.session_id), metadata=md
        )
        ready.set()
        for msg in stream:
            if msg.WhichOneof("kind") != "prove":
                continue
            a = msg.prove
            chunks = list(
                stub.FetchZkey(
                    pb2.FetchZkeyRequest(
                        worker_id="gp", session_id=reg.session_id, zkey_hash=a.zkey_hash
                    ),
                    metadata=md,
                )
            )
            data = b"".join(c.data for c in chunks)
            out["chunks"] = [(c.offset, c.total_bytes) for c in chunks]
            out["hash_ok"] = hashlib.sha256(data).hexdigest() == a.zkey_hash
            out["size_ok"] = len(data) == a.zkey_bytes
            zk = read_zkey(data)
            wit = Witness("task", zk.curve, len(a.witness) // 32, a.witness)
            res = prove_points(zk, wit, threads=1)
            c = zk.curve
            result = (
                ec.encode(c, "G1", res.a) + ec.encode(c, "G2", res.b) + ec.encode(c, "G1", res.c)
            )
            ack = stub.ReportCompletion(
                pb2.ReportCompletionRequest(
                    worker_id="gp",
                    task_id=a.task_id,
                    attempt=a.attempt,
                    result=result,
                    compute_seconds=0.1,
                    session_id=reg.session_id,
                ),
                metadata=md,
            )
            out["accepted"] = ack.accepted
            break
        stream.cancel()
        try:
            stub.FetchZkey(
                pb2.FetchZkeyRequest(worker_id="gp", session_id=reg.session_id, zkey_hash="ab"),
                metadata=md,
            ).next()
        except grpc.RpcError as exc:
            out["bad_hash"] = exc.code()
    return out


def grpcio_submitter(pb2: Any, pb2_grpc: Any, port: int, zkey: bytes, wtns: bytes) -> Any:
    """A third-party client built with grpcio: SubmitProof, then WatchJob to the end."""
    md = (("authorization", f"Bearer {TOKEN}"),)
    with grpc_channel(port) as ch:
        stub = pb2_grpc.CoordinatorServiceStub(ch)
        sub = stub.SubmitProof(pb2.SubmitProofRequest(zkey=zkey, witness=wtns), metadata=md)
        updates = list(stub.WatchJob(pb2.WatchJobRequest(job_id=sub.job_id), metadata=md))
        return sub, updates[-1]


def grpc_channel(port: int) -> Any:
    import grpc

    return grpc.insecure_channel(f"127.0.0.1:{port}")


async def test_grpcio_worker_and_client_run_a_whole_proof(
    nursery: trio.Nursery, tmp_path: Path
) -> None:
    """SubmitProof and WatchJob from one grpcio client; the whole-proof task (ProveAssignment,
    FetchZkey, ReportCompletion) on a grpcio worker; the coordinator re-randomises and checks
    the proof, which then verifies."""
    native_or_skip()
    import json
    import threading

    import grpc

    from zkedge.groth16.verifier import explain_verify
    from zkedge.groth16.vkey import read_vkey

    pb2, pb2_grpc = generate(tmp_path)
    d = Path(__file__).resolve().parents[1] / "fixtures" / "bn128"
    zkey, wtns = (d / "circuit.zkey").read_bytes(), (d / "witness.wtns").read_bytes()
    ready = threading.Event()
    with trio.fail_after(120):
        coord = await start_coordinator(nursery, None)
        coord.proofs.shape = "whole"
        out: dict[str, Any] = {}

        async def worker() -> None:
            out.update(
                await trio.to_thread.run_sync(grpcio_prover, pb2, pb2_grpc, port_of(coord), ready)
            )

        nursery.start_soon(worker)
        await trio.to_thread.run_sync(ready.wait)
        sub, last = await trio.to_thread.run_sync(
            grpcio_submitter, pb2, pb2_grpc, port_of(coord), zkey, wtns
        )
        while "bad_hash" not in out:
            await trio.sleep(0.05)
    assert sub.zkey_hash == hashlib.sha256(zkey).hexdigest()
    assert last.state == "done", last.error
    assert out["hash_ok"] and out["size_ok"] and out["accepted"]
    assert out["chunks"][-1][1] == len(zkey) and out["bad_hash"] == grpc.StatusCode.INVALID_ARGUMENT
    assert coord.proofs.jobs[sub.job_id].shape == "whole"
    vk = read_vkey(d / "verification_key.json")
    proof = json.loads(last.proof_json)
    assert explain_verify(vk, json.loads(last.public_json), proof) is None


def test_codec_and_google_protobuf_read_each_other(tmp_path: Path) -> None:
    """zkedge.fleet._codec's one-copy path writes what Google's protobuf reads, and reads what it
    writes, for a task with large scalars and a large bases chunk."""
    import os

    from zkedge.fleet import _codec
    from zkedge.fleet.proto.coordinator.v1 import BasesChunk, TaskAssignment, TaskMessage

    pb2, _ = generate(tmp_path)
    big = os.urandom(_codec.THRESHOLD * 2 + 3)
    ours = TaskMessage(
        assign=TaskAssignment(
            task_id="t1",
            attempt=3,
            curve="bn254",
            count=9,
            scalars=big,
            scalars_hash="h",
            expected_seconds=0.25,
        )
    )
    theirs = pb2.TaskMessage.FromString(_codec.encode(ours))
    assert theirs.WhichOneof("kind") == "assign"
    a = theirs.assign
    assert (a.task_id, a.attempt, a.curve, a.count, a.scalars, a.scalars_hash) == (
        "t1",
        3,
        "bn254",
        9,
        big,
        "h",
    )
    assert a.expected_seconds == 0.25
    assert _codec.decode(theirs.SerializeToString(), TaskMessage) == ours
    chunk = BasesChunk(table_hash="x", count=5, data=big, sha256="s")
    their_chunk = pb2.BasesChunk.FromString(_codec.encode(chunk))
    assert (their_chunk.data, their_chunk.count, their_chunk.sha256) == (big, 5, "s")
    assert _codec.decode(their_chunk.SerializeToString(), BasesChunk) == chunk


@pytest.fixture(scope="module")
def pb2_module(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    return generate(tmp_path_factory.mktemp("pb2"))[0]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_message_type_through_google_protobuf(
    pb2_module: ModuleType, data: st.DataObject
) -> None:
    """Google's protobuf parses what zkedge.fleet._codec writes for every message of the
    contract, and the codec reads back the same message from what Google's protobuf writes."""
    from support.messages import CONTRACT, message_of

    from zkedge.fleet import _codec

    cls = data.draw(st.sampled_from(CONTRACT))
    msg = data.draw(message_of(cls))
    theirs = getattr(pb2_module, cls.__name__).FromString(_codec.encode(msg))
    assert _codec.decode(theirs.SerializeToString(), cls) == msg


async def test_grpcio_reads_messages_the_bulk_path_sends(
    nursery: trio.Nursery, tmp_path: Path
) -> None:
    """Messages of several frames, over grpcio's flow-control windows, written by the bulk send
    path (``rpc.install_bulk_send``), arrive whole at a grpcio client."""
    import grpc

    from zkedge.fleet import _codec, rpc
    from zkedge.fleet.proto.coordinator.v1 import (
        CoordinatorServiceBase,
        TaskAssignment,
        TaskMessage,
    )

    pb2, pb2_grpc = generate(tmp_path)
    sizes = [(1 << 20) + 1, 3 * (1 << 20) + 7, _codec.THRESHOLD + 1]
    blobs = [hashlib.sha256(bytes([i])).digest() * (n // 32) + bytes(n % 32) for i, n in
             enumerate(sizes)]  # fmt: skip
    sent = [TaskMessage(assign=TaskAssignment(task_id=str(i), scalars=b))
            for i, b in enumerate(blobs)]  # fmt: skip

    def consume(port: int) -> list[tuple[str, bytes]]:
        md = (("authorization", f"Bearer {TOKEN}"),)
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            stub = pb2_grpc.CoordinatorServiceStub(ch)
            stream = stub.ReceiveTasks(pb2.ReceiveTasksRequest(worker_id="g"), metadata=md)
            return [(m.assign.task_id, m.assign.scalars) for m in stream]

    with trio.fail_after(60):
        port = await nursery.start(
            lambda task_status: rpc.serve_grpc(
                CoordinatorServiceBase, TaskStreamService(sent), "127.0.0.1", 0, token=TOKEN,
                task_status=task_status,
            )
        )  # fmt: skip
        got = await trio.to_thread.run_sync(consume, port)
    assert got == [(str(i), b) for i, b in enumerate(blobs)]
