"""The embeddable coordinator: a gRPC server plus scheduler, started with ``nursery.start``;
optionally an HTTP server for ``/metrics``, ``/healthz``, ``/api/status`` and a status page."""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio

from zkedge.curves import Curve, Point, check_group, get_curve
from zkedge.fleet import rpc
from zkedge.fleet.common import TlsConfig, parse_hostport, server_context
from zkedge.fleet.coordinator import _page
from zkedge.fleet.coordinator.metrics import CoordinatorMetrics
from zkedge.fleet.coordinator.model import Job, PartialResult, Progress
from zkedge.fleet.coordinator.proofs import ProofJobs
from zkedge.fleet.coordinator.registry import Registry, WorkerRecord
from zkedge.fleet.coordinator.scheduler import Scheduler
from zkedge.fleet.coordinator.service import CoordinatorService
from zkedge.fleet.coordinator.sizing import SizingPolicy
from zkedge.fleet.coordinator.store import Store, StoreError
from zkedge.fleet.http import Response, serve_http
from zkedge.fleet.proto.coordinator.v1 import CoordinatorServiceBase
from zkedge.fleet.status import status_json
from zkedge.msm import BaseTable, table_hash

__all__ = ["MAX_MESSAGE", "Coordinator", "JobHandle", "MsmSpec"]

log = logging.getLogger("zkedge.fleet.coordinator")


@dataclass(frozen=True)
class MsmSpec:
    """One MSM of a job: ``bases`` is a ``zkedge.msm.BaseTable``, its "mont" bytes, or the
    content hash (``str``) of a table already added with :meth:`Coordinator.add_table`, which
    is neither copied nor hashed again; ``scalars`` are ints or ``32*n`` little-endian bytes (n
    may be below the table size: the MSM uses the first n bases)."""

    curve: str | Curve
    group: str
    bases: Any
    scalars: bytes | Sequence[int]


def _scalars_bytes(curve: Curve, scalars: bytes | Sequence[int]) -> bytes:
    if isinstance(scalars, bytes | bytearray | memoryview):
        data = bytes(scalars)
        if not data or len(data) % 32:
            raise ValueError("scalar bytes must be a non-empty multiple of 32")
        return data
    r = curve.r
    return b"".join((int(s) % r).to_bytes(32, "little") for s in scalars)


def _bases_bytes(curve: Curve, group: str, bases: Any) -> bytes:
    if isinstance(bases, bytes | bytearray | memoryview):
        return bytes(bases)
    to_bytes = getattr(bases, "to_bytes", None)
    if to_bytes is None:
        raise ValueError("bases must be a BaseTable or its mont bytes")
    if get_curve(bases.curve).name != curve.name or bases.group != group:
        raise ValueError("BaseTable curve/group differ from the MSM's")
    data = to_bytes()
    if not isinstance(data, bytes):
        raise ValueError("BaseTable.to_bytes() must return bytes")
    return data


class JobHandle:
    """A submitted job: progress, per-MSM results and per-task partial sums."""

    def __init__(self, coord: Coordinator, job: Job) -> None:
        self._coord = coord
        self._job = job

    @property
    def id(self) -> str:
        """Job id (stable across coordinator restarts)."""
        return self._job.id

    @property
    def progress(self) -> Progress:
        """Current progress snapshot."""
        return self._job.progress()

    @property
    def done(self) -> bool:
        """Finished (successfully or not)."""
        return self._job.finished.is_set()

    async def wait_progress(self) -> Progress:
        """Sleep until progress changes; returns the new snapshot."""
        if not self._job.finished.is_set():
            await self._job.wait_changed()
        return self._job.progress()

    async def results(self) -> list[Point]:
        """Wait for the job; one point per MSM. Raises :class:`JobFailed`."""
        await self._job.finished.wait()
        return self._job.results()

    async def result(self) -> Point:
        """Wait for a single-MSM job and return its point. Raises :class:`JobFailed`."""
        res = await self.results()
        if len(res) != 1:
            raise ValueError(f"job has {len(res)} MSMs; use results()")
        return res[0]

    def partials(self) -> list[PartialResult]:
        """Accepted partial sums per task (worker id, range, attempt, point)."""
        return self._job.partials()

    def shares(self) -> dict[str, tuple[int, int, float]]:
        """worker id -> (points, tasks, compute seconds)."""
        return self._job.shares()

    def cancel(self, reason: str = "cancelled") -> bool:
        """End the job now as cancelled (``results()`` raises :class:`JobFailed`); its running
        attempts are stopped on the workers. False if it had already ended."""
        return self._coord._scheduler_or_raise().cancel_job(self._job, reason)


#: Largest request body per RPC (bytes); ``"*"``: every RPC not named. Only SubmitMsm carries
#: bulk data (a base table); a worker's messages are small. ``Coordinator(max_message=...)``
#: overrides entries; a request over its limit gets RESOURCE_EXHAUSTED before it is read.
MAX_MESSAGE: dict[str, int] = {
    "*": 64 << 10,
    "register_worker": 1 << 20,
    "submit_msm": 512 << 20,
    "submit_proof": 512 << 20,
}


def _survive(step: Callable[[], object], what: str) -> None:
    """Run one periodic step; an error in it is logged, and the loop goes on (one worker's or
    one job's data must not stop the coordinator)."""
    try:
        step()
    except Exception:
        log.exception("%s failed; continuing", what)


class Coordinator:
    """The fleet coordinator, embeddable in a trio application.

    ``coord = await nursery.start(Coordinator(bind="0.0.0.0:50051", store="jobs.sqlite").serve)``
    returns once the server listens (``coord.port`` is the bound port, useful with port 0).
    ``store=None`` keeps jobs in memory only. ``token`` requires ``authorization: Bearer <token>``
    metadata on every RPC; ``tls`` enables TLS (see :class:`TlsConfig`). With a store file, at
    most ``table_memory`` bytes of base tables stay in memory (least recently used leave it and
    are read back from the store when needed; None: no bound); in memory only, all stay.
    ``max_message`` overrides per-RPC request size limits (``MAX_MESSAGE`` in this module);
    ``max_connections_per_peer`` bounds the connections one address may hold open.
    ``watch_grace``: a job submitted over gRPC without ``detach`` is cancelled once no WatchJob
    stream has followed it for this many seconds (its client is gone). ``no_worker_timeout``: a
    job some of whose work no live worker can take (curve, receive limit, memory; no worker at
    all) fails after this many seconds, saying why. ``math.inf`` turns either off.
    A worker declared dead leaves the registry ``forget_dead_after`` seconds later (None:
    never). ``http="HOST:PORT"`` also serves ``/metrics`` (Prometheus text format),
    ``/healthz``, ``/api/status`` (JSON) and a status page at ``/`` (``http_port`` is the bound
    port). The gRPC port also answers the standard health check (``grpc.health.v1.Health``),
    without the token. ``proof_shape``: "split" or "whole" runs every submitted proof in that
    shape; None chooses per proof (:func:`zkedge.fleet.coordinator.shape.choose_shape`).
    """

    def __init__(
        self,
        bind: str = "127.0.0.1:0",
        store: str | Path | None = "jobs.sqlite",
        token: str | None = None,
        *,
        tls: TlsConfig | None = None,
        policy: SizingPolicy | None = None,
        heartbeat_interval: float = 5.0,
        max_missed: int = 3,
        max_attempts: int = 5,
        pipeline_depth: int = 2,
        tick_interval: float = 0.1,
        table_memory: int | None = 1 << 30,
        max_message: Mapping[str, int] | None = None,
        max_connections_per_peer: int = 64,
        watch_grace: float = 30.0,
        no_worker_timeout: float = 60.0,
        forget_dead_after: float | None = 600.0,
        http: str | None = None,
        proof_shape: str | None = None,
    ) -> None:
        self.host, self.requested_port = parse_hostport(bind)
        self.http_host: str | None = None
        self.http_requested_port: int | None = None
        if http is not None:
            self.http_host, self.http_requested_port = parse_hostport(http)
        if forget_dead_after is not None and forget_dead_after < 0:
            raise ValueError("forget_dead_after must be >= 0 seconds (or None: never)")
        self.forget_dead_after = forget_dead_after
        if table_memory is not None and table_memory < 0:
            raise ValueError("table_memory must be >= 0 (or None: no bound)")
        self.table_memory = table_memory
        if token is not None and not token:
            raise ValueError("token must be non-empty (or None for no token)")
        if heartbeat_interval <= 0 or tick_interval <= 0:
            raise ValueError("intervals must be positive")
        self.store_path = store
        self.token = token
        self.tls = tls
        self.policy = policy or SizingPolicy()
        self.heartbeat_interval = heartbeat_interval
        self.max_missed = max_missed
        self.max_attempts = max_attempts
        self.pipeline_depth = pipeline_depth
        self.tick_interval = tick_interval
        self.max_message = {**MAX_MESSAGE, **(max_message or {})}
        if any(v < 1 for v in self.max_message.values()):
            raise ValueError("message size limits must be >= 1 byte")
        if max_connections_per_peer < 1:
            raise ValueError("max_connections_per_peer must be >= 1")
        self.max_connections_per_peer = max_connections_per_peer
        if not (watch_grace > 0 and no_worker_timeout > 0):
            raise ValueError("watch_grace and no_worker_timeout must be > 0 (math.inf: never)")
        self.watch_grace = watch_grace
        self.no_worker_timeout = no_worker_timeout
        self.port: int | None = None
        self.http_port: int | None = None
        self._registry: Registry | None = None
        self._scheduler: Scheduler | None = None
        self._service: CoordinatorService | None = None
        self._started_at = 0.0
        self.metrics = CoordinatorMetrics(self._parts)
        """This coordinator's Prometheus registry and recent job times."""
        self.proofs = ProofJobs(self, shape=proof_shape)
        """Proofs submitted as jobs (``SubmitProof``), run while the coordinator serves."""

    def _parts(self) -> tuple[Registry, Scheduler] | None:
        if self._registry is None or self._scheduler is None:
            return None
        return self._registry, self._scheduler

    # ------------------------------------------------------------------ running
    async def serve(
        self, *, task_status: trio.TaskStatus[Coordinator] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Serve until cancelled; ``task_status.started(self)`` once listening."""
        rpc.install_frame_repr()
        store = Store(self.store_path)
        try:
            registry = Registry(
                self.policy,
                heartbeat_interval=self.heartbeat_interval,
                max_missed=self.max_missed,
                quarantined=store.quarantined(),
                forget_dead_after=self.forget_dead_after,
            )
            scheduler = Scheduler(
                store,
                registry,
                self.policy,
                max_attempts=self.max_attempts,
                pipeline_depth=self.pipeline_depth,
                table_memory=self.table_memory,
                watch_grace=self.watch_grace,
                no_worker_timeout=self.no_worker_timeout,
            )
            scheduler.on_task = self.metrics.task
            scheduler.on_job_end = self.metrics.job_end
            scheduler.recover()
            self._registry, self._scheduler = registry, scheduler
            self._service = service = CoordinatorService(self)
            self._started_at = trio.current_time()
            ssl_ctx = server_context(self.tls) if self.tls is not None else None
            async with trio.open_nursery() as nursery:
                self.proofs.attach(nursery)

                async def grpc(task_status: trio.TaskStatus[int]) -> None:
                    await rpc.serve_grpc(
                        CoordinatorServiceBase,
                        service,
                        self.host,
                        self.requested_port,
                        token=self.token,
                        ssl_context=ssl_ctx,
                        limits=self.max_message,
                        max_connections_per_peer=self.max_connections_per_peer,
                        extra_handlers=[rpc.health_service()],
                        task_status=task_status,
                    )

                self.port = await nursery.start(grpc)
                if self.http_host is not None and self.http_requested_port is not None:
                    self.http_port = await nursery.start(
                        functools.partial(
                            serve_http, self._routes(), self.http_host, self.http_requested_port
                        )
                    )
                nursery.start_soon(self._liveness_loop, registry)
                nursery.start_soon(self._tick_loop, scheduler)
                scheduler.dispatcher.spawn = nursery.start_soon
                log.info(
                    "coordinator serving gRPC on %s:%d%s%s",
                    self.host,
                    self.port,
                    " (TLS)" if ssl_ctx is not None else "",
                    f", HTTP on {self.http_host}:{self.http_port}" if self.http_port else "",
                )
                task_status.started(self)
        finally:
            self._registry = self._scheduler = self._service = None
            self.http_port = None
            store.close()

    # ------------------------------------------------------------------ HTTP
    def _routes(self) -> dict[str, Callable[[], Response]]:
        def metrics() -> Response:
            return Response(200, self.metrics.exposition(), "text/plain; version=0.0.4")

        def healthz() -> Response:
            if self._service is None:
                return Response(503, b"not serving\n")
            return Response(200, b"ok\n")

        def api_status() -> Response:
            body = json.dumps(self.status(), separators=(",", ":")).encode()
            return Response(200, body, "application/json")

        def page() -> Response:
            return Response(200, _page.STATUS_PAGE.encode(), "text/html; charset=utf-8")

        return {"/metrics": metrics, "/healthz": healthz, "/api/status": api_status, "/": page}

    def status(self) -> dict[str, Any]:
        """The fleet now as JSON-ready data (numbers as numbers), as ``/api/status`` serves
        it: GetStatus's workers, jobs and task counts (camelCase keys, as ``zkedge status
        --json``), each job's ``label``, ``outcome`` and ``ageSeconds``, the ``recentJobs``
        with their times, and ``coordinator`` facts."""
        service = self._service
        sched = self._scheduler_or_raise()
        if service is None:
            raise RuntimeError("coordinator is not serving")
        out = status_json(service.status())
        now = trio.current_time()
        for j in out.get("jobs", []):
            job = sched.jobs.get(j.get("jobId", ""))
            if job is not None:
                j["label"] = job.label
                j["outcome"] = job.outcome  # "cancelled" where state says "failed"
                j["ageSeconds"] = (job.ended_at or now) - job.submitted_at
        out["recentJobs"] = [
            {
                "jobId": r.job_id,
                "kind": r.kind,
                "outcome": r.outcome,
                "seconds": r.seconds,
                "points": r.points,
                "ended": r.ended,
            }
            for r in self.metrics.recent
        ]
        out["coordinator"] = {
            "address": f"{self.host}:{self.port}",
            "uptimeSeconds": now - self._started_at,
            "time": time.time(),
            "heartbeatInterval": self.heartbeat_interval,
        }
        return out

    async def _liveness_loop(self, registry: Registry) -> None:
        while True:
            await trio.sleep(self.heartbeat_interval / 4)
            _survive(registry.sweep, "liveness sweep")

    async def _tick_loop(self, scheduler: Scheduler) -> None:
        while True:
            await trio.sleep(self.tick_interval)
            _survive(scheduler.tick, "scheduler tick")
            _survive(
                lambda: self.proofs.check_watchers(trio.current_time(), self.watch_grace),
                "proof job watch check",
            )

    def _registry_or_raise(self) -> Registry:
        if self._registry is None:
            raise RuntimeError("coordinator is not serving (await nursery.start(coord.serve))")
        return self._registry

    def _scheduler_or_raise(self) -> Scheduler:
        if self._scheduler is None:
            raise RuntimeError("coordinator is not serving (await nursery.start(coord.serve))")
        return self._scheduler

    # ------------------------------------------------------------------ jobs
    async def submit_msm(
        self,
        curve: str | Curve,
        group: str,
        bases: Any,
        scalars: bytes | Sequence[int],
        *,
        watched: bool = False,
    ) -> JobHandle:
        """Spread sum(scalars[i] * bases[i]) over the fleet; ``await handle.result()``."""
        return await self.submit_job(
            [MsmSpec(curve, group, bases, scalars)], label="msm", watched=watched
        )

    async def add_table(self, curve: str | Curve, group: str, bases: Any) -> str:
        """Add a base table (``BaseTable`` or "mont" bytes) and return its content hash, which
        later :class:`MsmSpec` can give instead of the bases. Hashing runs in a thread: a
        Groth16 zkey's tables are tens of MB, and hashing them per proof cost about 60 ms."""
        sched = self._scheduler_or_raise()
        c = get_curve(curve)
        g = check_group(group)
        data: Callable[[], bytes]
        if isinstance(bases, bytes | bytearray | memoryview):
            view = memoryview(bases).cast("B")  # hashed in place: no copy if already known
            digest = await trio.to_thread.run_sync(table_hash, c.name, g, view)
            data = view.tobytes
        elif isinstance(bases, BaseTable) and (bases.curve.name, bases.group) == (c.name, g):
            # hashed once per table object, in a thread; known, no thread hop (about a
            # millisecond before a job's first task goes out, on a loaded 2-core host)
            known_hash = bases.cached_hash
            if known_hash is None:
                known_hash = await trio.to_thread.run_sync(bases.content_hash)
            digest = known_hash
            data = bases.to_bytes
        else:
            mont = _bases_bytes(c, g, bases)
            digest = await trio.to_thread.run_sync(table_hash, c.name, g, mont)
            data = functools.partial(bytes, mont)
        known = sched.table(digest)
        if known is not None and known[:2] == (c.name, g):
            return digest  # a table the scheduler knows is not copied again
        return sched.add_table(c.name, g, data(), digest=digest)

    def has_table(self, digest: str) -> bool:
        """Whether a base table with this content hash is known here (memory or store)."""
        return self._scheduler_or_raise().table(digest) is not None

    async def submit_job(
        self, msms: Sequence[MsmSpec], label: str = "job", *, watched: bool = False
    ) -> JobHandle:
        """One job of several MSMs (e.g. the G1 and G2 MSMs of a Groth16 proof).

        ``watched=True`` makes the job belong to its WatchJob streams (what ``SubmitMsm``
        without ``detach`` does): with none open for ``watch_grace`` seconds it is cancelled.
        Jobs submitted here are not watched by default: cancel them with
        :meth:`JobHandle.cancel` (``prove_groth16`` does when it is cancelled)."""
        sched = self._scheduler_or_raise()
        prepared = []
        for spec in msms:
            c = get_curve(spec.curve)
            g = check_group(spec.group)
            if isinstance(spec.bases, str):
                t = sched.table(spec.bases)
                if t is None or t[0] != c.name or t[1] != g:
                    raise ValueError(f"no {c.name} {g} base table with hash {spec.bases!r}")
                h = spec.bases
            else:
                h = await self.add_table(c, g, spec.bases)
            if type(spec.scalars) is bytes:  # only checked: no thread hop
                scalars = _scalars_bytes(c, spec.scalars)
            else:  # a copy, or integers to convert: in a thread
                scalars = await trio.to_thread.run_sync(_scalars_bytes, c, spec.scalars)
            prepared.append((h, len(scalars) // 32, scalars))
        return JobHandle(self, sched.submit(label, prepared, watched=watched))

    def cancel_job(self, job_id: str, reason: str = "cancelled") -> bool:
        """Cancel a running job by id (see :meth:`JobHandle.cancel`); False if it had ended.
        ``KeyError`` for a job this coordinator does not keep."""
        job = self._scheduler_or_raise().jobs.get(job_id)
        if job is None:
            raise KeyError(job_id)
        return self._scheduler_or_raise().cancel_job(job, reason)

    def job(self, job_id: str) -> JobHandle | None:
        """Handle of a job known to this coordinator (including ones recovered from the store)."""
        job = self._scheduler_or_raise().jobs.get(job_id)
        return None if job is None else JobHandle(self, job)

    async def prove_groth16(self, zkey: Any, witness: Any, **kw: Any) -> Any:
        """Groth16 proof over this fleet: :func:`zkedge.fleet.coordinator.prove_groth16`
        (H here, the five MSMs on the workers, blame and re-runs on a bad proof)."""
        from zkedge.fleet.coordinator._groth16 import prove_groth16

        return await prove_groth16(self, zkey, witness, **kw)

    # ------------------------------------------------------------------ blame and fleet control
    async def rerun_task(
        self, task_id: str, *, exclude: Sequence[str] = (), replace: bool = False
    ) -> PartialResult:
        """Recompute a finished task on a worker not in ``exclude`` (the original worker is
        always excluded) and return that partial sum. ``replace=True`` also adopts it as the
        task's result and recomputes the MSM's total. Wrap in ``trio.fail_after`` to bound it."""
        sched = self._scheduler_or_raise()
        task = sched.tasks.get(task_id)
        if task is None:
            raise KeyError(f"unknown task {task_id!r}")
        excl = set(exclude)
        if task.worker_id is not None:
            excl.add(task.worker_id)
        v = sched.request_verify(task_id, sorted(excl), replace)
        try:
            await v.done.wait()  # failed or lost attempts are re-dispatched meanwhile
        finally:
            sched.drop_verify(v)
        assert v.outcome is not None
        return v.outcome

    def quarantine(self, worker_id: str, reason: str = "wrong partial sum") -> None:
        """Give a worker no more tasks (persisted); its running attempts go elsewhere."""
        try:
            self._scheduler_or_raise().store.quarantine(worker_id, reason)
        except StoreError as exc:
            log.error("quarantine of %s is not persisted: %s", worker_id, exc)
        self._registry_or_raise().quarantine(worker_id, reason)
        self._scheduler_or_raise().dispatch()

    def release(self, worker_id: str) -> None:
        """Undo :meth:`quarantine`."""
        self._scheduler_or_raise().store.unquarantine(worker_id)
        self._registry_or_raise().release(worker_id)
        self._scheduler_or_raise().dispatch()

    def set_policy(self, policy: SizingPolicy) -> None:
        """Switch the sizing policy at runtime (new tasks only); block size must not change."""
        if policy.block_points != self.policy.block_points:
            raise ValueError("block_points cannot change while serving (workers cache by it)")
        self.policy = policy
        if self._scheduler is not None and self._registry is not None:
            self._scheduler.policy = policy
            self._registry.policy = policy
            for w in self._registry.workers.values():
                w.capacity.policy = policy

    def workers(self) -> list[WorkerRecord]:
        """Current registry records (read-only view for status pages and tests)."""
        return list(self._registry_or_raise().workers.values())

    def scalar_traffic(self) -> tuple[int, int, int]:
        """Task scalars sent (bytes), left out because the worker held them (bytes), and
        resent after a worker reported a slice missing (times), since start."""
        d = self._scheduler_or_raise().dispatcher
        return d.scalar_bytes_sent, d.scalar_bytes_saved, d.scalar_resends

    def capacity(self, worker_id: str) -> float:
        """Current capacity estimate of a worker in points/s (0 if unknown)."""
        rec = self._registry_or_raise().workers.get(worker_id)
        return 0.0 if rec is None else rec.capacity_pps(self.policy)
