"""gRPC handlers of ``CoordinatorService``: validate requests, call the registry and scheduler.

Plain trio code: :func:`zkedge.fleet.rpc.serve_grpc` calls these methods (after the token check)
and turns :class:`zkedge.fleet.rpc.RpcError` into gRPC statuses. Nothing a client sends can crash
the coordinator: malformed input is INVALID_ARGUMENT, unknown ids NOT_FOUND.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import betterproto
import trio

from zkedge.curves import CURVES, check_group, get_curve
from zkedge.fleet.coordinator.registry import DEAD, QUARANTINED, WorkerRecord
from zkedge.fleet.proto.coordinator.v1 import (
    BasesChunk,
    FetchBasesRequest,
    GetStatusRequest,
    GetStatusResponse,
    HeartbeatRequest,
    HeartbeatResponse,
    JobUpdate,
    LoadReport,
    ReceiveTasksRequest,
    RegisterWorkerRequest,
    RegisterWorkerResponse,
    ReportAck,
    ReportCompletionRequest,
    ReportFailureRequest,
    SubmitMsmRequest,
    SubmitMsmResponse,
    TaskMessage,
    WatchJobRequest,
    WorkerShare,
    WorkerStatus,
)
from zkedge.fleet.rpc import RpcError

if TYPE_CHECKING:
    from zkedge.fleet.coordinator._coordinator import Coordinator
    from zkedge.fleet.coordinator.registry import Registry
    from zkedge.fleet.coordinator.scheduler import Job, Scheduler

__all__ = ["CoordinatorService"]

_MAX_ID = 128


def _check_id(value: str, what: str) -> str:
    if not value or len(value) > _MAX_ID or not value.isprintable():
        raise RpcError("INVALID_ARGUMENT", f"{what} must be 1..{_MAX_ID} printable characters")
    return value


def _check_load(load: LoadReport) -> None:
    numbers = (
        load.load_average,
        load.cpu_utilization,
        load.own_cpu_utilization,
        load.soc_temperature_c,
        load.recent_points_per_sec,
    )
    if not all(math.isfinite(x) for x in numbers) or load.load_average < 0:
        raise RpcError("INVALID_ARGUMENT", "load report has non-finite or negative numbers")
    if not (0 <= load.cpu_utilization <= 1 and 0 <= load.own_cpu_utilization <= 1):
        raise RpcError("INVALID_ARGUMENT", "cpu utilisation must be within 0..1")


def _load_of(load: LoadReport) -> LoadReport | None:
    """A validated load report, or None if the message did not carry one."""
    if not betterproto.serialized_on_wire(load):
        return None
    _check_load(load)
    return load


class _Source:
    """A :class:`zkedge.fleet.rpc.TrioStream` over a memory channel, with a close callback."""

    def __init__(self, recv: trio.MemoryReceiveChannel[TaskMessage], on_close: object) -> None:
        self._recv = recv
        self._on_close = on_close

    async def receive(self) -> TaskMessage | None:
        try:
            return await self._recv.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            return None

    def close(self) -> None:
        self._recv.close()
        if callable(self._on_close):
            self._on_close()


class _ListSource:
    """A :class:`zkedge.fleet.rpc.TrioStream` over precomputed messages."""

    def __init__(self, items: Sequence[betterproto.Message]) -> None:
        self._items = list(items)

    async def receive(self) -> betterproto.Message | None:
        await trio.lowlevel.checkpoint()
        return self._items.pop(0) if self._items else None

    def close(self) -> None:
        self._items.clear()


class _JobWatch:
    """A :class:`zkedge.fleet.rpc.TrioStream` of a job's updates until it finishes."""

    def __init__(self, service: CoordinatorService, job: Job) -> None:
        self._svc = service
        self._job = job
        self._first = True
        self._ended = False

    async def receive(self) -> JobUpdate | None:
        if self._ended:
            return None
        # The final update always goes out, even when the job finished while the previous
        # one was being sent (ending the stream then left the client with "running").
        if not self._first and not self._job.finished.is_set():
            await self._job.wait_changed()
        self._first = False
        if self._job.finished.is_set():
            self._ended = True
        return self._svc.job_update(self._job)

    def close(self) -> None:
        self._ended = True


class CoordinatorService:
    """Implementation of every RPC of ``zkedge.coordinator.v1.CoordinatorService``."""

    def __init__(self, coord: Coordinator) -> None:
        self._coord = coord

    @property
    def _reg(self) -> Registry:
        return self._coord._registry_or_raise()

    @property
    def _sched(self) -> Scheduler:
        return self._coord._scheduler_or_raise()

    def _live(self, worker_id: str, session_id: str = "") -> WorkerRecord:
        _check_id(worker_id, "worker_id")
        rec = self._reg.get(worker_id, session_id or None)
        if rec is None:
            raise RpcError("NOT_FOUND", f"unknown worker {worker_id!r}: call RegisterWorker again")
        return rec

    def _known(self, worker_id: str) -> WorkerRecord:
        """Any record for the id, even dead: late reports are acknowledged, not refused."""
        _check_id(worker_id, "worker_id")
        rec: WorkerRecord | None = self._reg.workers.get(worker_id)
        if rec is None:
            raise RpcError("NOT_FOUND", f"unknown worker {worker_id!r}: call RegisterWorker again")
        return rec

    # ------------------------------------------------------------------ worker RPCs
    async def register_worker(self, req: RegisterWorkerRequest) -> RegisterWorkerResponse:
        _check_id(req.worker_id, "worker_id")
        node = req.node
        if not betterproto.serialized_on_wire(node) or not math.isfinite(node.bench_points_per_sec):
            raise RpcError("INVALID_ARGUMENT", "node facts missing or malformed")
        if node.bench_points_per_sec < 0:
            raise RpcError("INVALID_ARGUMENT", "bench_points_per_sec must be >= 0")
        for c in node.curves:
            if c.lower() not in CURVES:
                raise RpcError("INVALID_ARGUMENT", f"unknown curve {c!r}")
        load = _load_of(req.load_report)
        block = self._coord.policy.block_points
        cached: dict[str, set[int]] = {}
        for r in req.cached:
            if len(r.table_hash) != 64:
                raise RpcError("INVALID_ARGUMENT", "cached ranges need a sha256 hex table hash")
            first = -(-r.start // block)
            last = (r.start + r.count) // block
            cached.setdefault(r.table_hash, set()).update(range(first, last))
        rec = self._reg.register(req.worker_id, node, cached, load)
        self._sched.dispatch()
        return RegisterWorkerResponse(
            session_id=rec.session_id,
            heartbeat_interval_ms=round(self._reg.heartbeat_interval * 1000),
            max_missed_heartbeats=self._reg.max_missed,
            bases_block_points=block,
        )

    async def send_heartbeat(self, req: HeartbeatRequest) -> HeartbeatResponse:
        return self.send_heartbeat_sync(req)

    def send_heartbeat_sync(self, req: HeartbeatRequest) -> HeartbeatResponse:
        """Heartbeats never wait, so they take the bridge's fast path (see zkedge.fleet.rpc)."""
        rec = self._live(req.worker_id, req.session_id)
        if self._reg.heartbeat(rec, _load_of(req.load_report)):
            self._sched.dispatch()
        return HeartbeatResponse(
            heartbeat_interval_ms=round(self._reg.heartbeat_interval * 1000), state=rec.state
        )

    async def receive_tasks(self, req: ReceiveTasksRequest) -> _Source:
        rec = self._live(req.worker_id, req.session_id)
        recv = self._reg.open_stream(rec)
        send = rec.stream
        reg = self._reg
        sched = self._sched

        def closed() -> None:
            if send is not None:
                send.close()
                reg.stream_closed(rec, send)
                sched.dispatch()

        self._sched.dispatch()
        return _Source(recv, closed)

    async def report_completion(self, req: ReportCompletionRequest) -> ReportAck:
        self._known(req.worker_id)
        _check_id(req.task_id, "task_id")
        if req.attempt < 1:
            raise RpcError("INVALID_ARGUMENT", "attempt numbers start at 1")
        if not math.isfinite(req.compute_seconds) or req.compute_seconds < 0:
            raise RpcError("INVALID_ARGUMENT", "compute_seconds must be finite and >= 0")
        task = self._sched.tasks.get(req.task_id)
        if task is not None:
            want = get_curve(task.msm.curve).point_bytes(check_group(task.msm.group))
            if len(req.result) != want:
                raise RpcError("INVALID_ARGUMENT", f"result must be {want} bytes")
        ok, detail = self._sched.complete(
            req.worker_id, req.task_id, req.attempt, bytes(req.result), req.compute_seconds
        )
        return ReportAck(accepted=ok, detail=detail)

    async def report_failure(self, req: ReportFailureRequest) -> ReportAck:
        self._known(req.worker_id)
        _check_id(req.task_id, "task_id")
        if req.attempt < 1:
            raise RpcError("INVALID_ARGUMENT", "attempt numbers start at 1")
        ok, detail = self._sched.fail(
            req.worker_id,
            req.task_id,
            req.attempt,
            req.error[:1000],
            req.handed_back,
            req.scalars_missing,
        )
        return ReportAck(accepted=ok, detail=detail)

    async def fetch_bases(self, req: FetchBasesRequest) -> _ListSource:
        rec = self._known(req.worker_id)
        if rec.state in (DEAD, QUARANTINED):
            raise RpcError("FAILED_PRECONDITION", f"worker is {rec.state}")
        table = self._sched.table(req.table_hash)
        if table is None:
            raise RpcError("NOT_FOUND", f"unknown table {req.table_hash!r}")
        curve, group, n, data = table
        if req.count == 0 or req.start + req.count > n:
            raise RpcError("INVALID_ARGUMENT", f"range must be non-empty and within 0..{n}")
        pb = get_curve(curve).point_bytes(check_group(group))
        block = self._coord.policy.block_points
        chunks = []
        first, last = req.start // block, (req.start + req.count - 1) // block
        for b in range(first, last + 1):
            s, e = b * block, min(n, (b + 1) * block)
            piece = data[s * pb : e * pb]
            chunks.append(
                BasesChunk(
                    table_hash=req.table_hash,
                    curve=curve,
                    group=group,
                    table_n=n,
                    start=s,
                    count=e - s,
                    data=piece,
                    sha256=hashlib.sha256(piece).hexdigest(),
                )
            )
        rec.held.setdefault(req.table_hash, set()).update(range(first, last + 1))
        return _ListSource(chunks)

    # ------------------------------------------------------------------ operator RPCs
    async def submit_msm(self, req: SubmitMsmRequest) -> SubmitMsmResponse:
        bases: bytes | str = req.bases
        if req.table_hash:
            if req.bases:
                raise RpcError("INVALID_ARGUMENT", "give bases or table_hash, not both")
            if not self._coord.has_table(req.table_hash):
                raise RpcError("NOT_FOUND", f"no base table with hash {req.table_hash[:80]!r}")
            bases = req.table_hash
        try:
            handle = await self._coord.submit_msm(req.curve, req.group, bases, req.scalars)
        except ValueError as exc:
            raise RpcError("INVALID_ARGUMENT", str(exc)) from None
        return SubmitMsmResponse(job_id=handle.id)

    async def watch_job(self, req: WatchJobRequest) -> _JobWatch | _ListSource:
        job = self._sched.jobs.get(req.job_id)
        if job is None:
            row = self._sched.store.job_row(req.job_id)
            if row is None:
                raise RpcError("NOT_FOUND", f"unknown job {req.job_id!r}")
            state, error, results = row
            done = JobUpdate(
                job_id=req.job_id,
                state=state,
                error=error or "",
                results=[r for r in results if r is not None],
            )
            return _ListSource([done])
        return _JobWatch(self, job)

    def job_update(self, job: Job) -> JobUpdate:
        """A JobUpdate for a job (results once done)."""
        from zkedge import ec

        results = []
        if job.state == "done":
            results = [ec.encode(m.curve, m.group, m.result, "be") for m in job.msms]
        shares = [
            WorkerShare(worker_id=wid, points=points, tasks=tasks, compute_seconds=secs)
            for wid, (points, tasks, secs) in sorted(job.shares().items())
        ]
        p = job.progress()
        return JobUpdate(
            job_id=job.id,
            state=job.state,
            points_total=p.points_total,
            points_done=p.points_done,
            results=results,
            error=job.error or "",
            shares=shares,
        )

    async def get_status(self, req: GetStatusRequest) -> GetStatusResponse:
        now = trio.current_time()
        policy = self._coord.policy
        workers = [
            WorkerStatus(
                worker_id=w.worker_id,
                state=w.state,
                node=w.node,
                load_report=w.load or LoadReport(),
                capacity_points_per_sec=w.capacity_pps(policy),
                seconds_since_heartbeat=now - w.last_heartbeat,
                tasks_in_flight=len(w.inflight),
                points_done=w.points_done,
                stream_open=w.stream is not None,
            )
            for w in sorted(self._reg.workers.values(), key=lambda w: w.worker_id)
        ]
        jobs = [self.job_update(j) for j in self._sched.jobs.values()]
        running = sum(len(w.inflight) for w in self._reg.workers.values())
        return GetStatusResponse(
            workers=workers,
            jobs=jobs,
            tasks_pending=len(self._sched.pending),
            tasks_running=running,
        )
