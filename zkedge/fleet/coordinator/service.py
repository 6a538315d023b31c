"""gRPC handlers of ``CoordinatorService``: validate requests, call the registry and scheduler.

Plain trio code: :func:`zkedge.fleet.rpc.serve_grpc` calls these methods (after the token check)
and turns :class:`zkedge.fleet.rpc.RpcError` into gRPC statuses. Nothing a client sends can crash
the coordinator: malformed input is INVALID_ARGUMENT, unknown ids NOT_FOUND.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import betterproto
import trio

from zkedge.curves import CURVES, check_group, get_curve
from zkedge.fleet.coordinator.proofs import ProofJob
from zkedge.fleet.coordinator.registry import DEAD, QUARANTINED, WorkerRecord
from zkedge.fleet.coordinator.store import StoreError
from zkedge.fleet.coordinator.tables import Table
from zkedge.fleet.coordinator.wire import (
    load_report,
    load_sample,
    node_facts,
    node_info,
    task_message,
)
from zkedge.fleet.proto.coordinator.v1 import (
    BasesChunk,
    CancelJobRequest,
    CancelJobResponse,
    FetchBasesRequest,
    FetchZkeyRequest,
    GetStatusRequest,
    GetStatusResponse,
    HeartbeatRequest,
    HeartbeatResponse,
    JobUpdate,
    LinkProbeChunk,
    ListJobsRequest,
    ListJobsResponse,
    LoadReport,
    MeasureLinkRequest,
    NodeInfo,
    ReceiveTasksRequest,
    RegisterWorkerRequest,
    RegisterWorkerResponse,
    ReportAck,
    ReportCompletionRequest,
    ReportFailureRequest,
    SubmitMsmRequest,
    SubmitMsmResponse,
    SubmitProofRequest,
    SubmitProofResponse,
    TaskCancel,
    WatchJobRequest,
    WorkerShare,
    WorkerStatus,
    ZkeyChunk,
)
from zkedge.fleet.rpc import Peer, RpcError
from zkedge.groth16 import FormatError

if TYPE_CHECKING:
    from zkedge.fleet.coordinator._coordinator import Coordinator
    from zkedge.fleet.coordinator.model import Cancellation, Job, LoadSample
    from zkedge.fleet.coordinator.registry import Registry
    from zkedge.fleet.coordinator.scheduler import Scheduler

__all__ = ["CoordinatorService"]

_MAX_ID = 128
_MAX_TEXT = 256  # node fact strings (hostname, arch, build, version)
# What a board can plausibly report; beyond these a number is an error or a lie.
_MAX_CORES = 4096
_MAX_BYTES = 1 << 50  # memory, cache sizes
_MAX_RATE = 1e12  # points per second
_MAX_SECONDS = 86400.0  # one task's compute or fetch time
_MAX_CACHED_RANGES = 4096
_MAX_CACHED_ZKEYS = 64
_MAX_CURVES = 8
MAX_PROBE_BYTES = 1 << 20  # MeasureLink: filler a call may ask for
MAX_PROBES = 4  # MeasureLink calls a session may make


def _check_id(value: str, what: str) -> str:
    if not value or len(value) > _MAX_ID or not value.isprintable():
        raise RpcError("INVALID_ARGUMENT", f"{what} must be 1..{_MAX_ID} printable characters")
    return value


def _bad(message: str) -> RpcError:
    return RpcError("INVALID_ARGUMENT", message)


def _in_range(value: float, lo: float, hi: float, what: str) -> None:
    if not (math.isfinite(value) and lo <= value <= hi):
        raise _bad(f"{what} must be within {lo:g}..{hi:g}, got {value!r}")


def _check_load(load: LoadReport) -> None:
    _in_range(load.load_average, 0, 1e6, "load_average")
    _in_range(load.cpu_utilization, 0, 1, "cpu_utilization")
    _in_range(load.own_cpu_utilization, 0, 1, "own_cpu_utilization")
    _in_range(load.mem_available_bytes, 0, _MAX_BYTES, "mem_available_bytes")
    _in_range(load.soc_temperature_c, -273.15, 1000, "soc_temperature_c")
    _in_range(load.recent_points_per_sec, 0, _MAX_RATE, "recent_points_per_sec")
    _in_range(load.rtt_seconds, 0, 3600, "rtt_seconds")
    _in_range(load.recv_bytes_per_sec, 0, _MAX_RATE, "recv_bytes_per_sec")
    _in_range(load.tasks_in_flight, 0, 1 << 20, "tasks_in_flight")


def _check_node(node: NodeInfo) -> None:
    if not betterproto.serialized_on_wire(node):
        raise _bad("node facts missing")
    for name in ("hostname", "arch", "native_build", "version"):
        if len(getattr(node, name)) > _MAX_TEXT:
            raise _bad(f"node.{name} is longer than {_MAX_TEXT} characters")
    _in_range(node.cores, 0, _MAX_CORES, "node.cores")
    _in_range(node.threads, 0, _MAX_CORES, "node.threads")
    _in_range(node.memory_bytes, 0, _MAX_BYTES, "node.memory_bytes")
    _in_range(node.scalar_cache_bytes, 0, _MAX_BYTES, "node.scalar_cache_bytes")
    _in_range(node.max_receive_bytes, 0, _MAX_BYTES, "node.max_receive_bytes")
    _in_range(node.bench_points_per_sec, 0, _MAX_RATE, "node.bench_points_per_sec")
    if len(node.curves) > _MAX_CURVES:
        raise _bad(f"node.curves lists more than {_MAX_CURVES} curves")
    for c in node.curves:
        if c.lower() not in CURVES:
            raise _bad(f"unknown curve {c[:40]!r}")


def _load_of(load: LoadReport) -> LoadSample | None:
    """A validated load sample, or None if the message did not carry a report."""
    if not betterproto.serialized_on_wire(load):
        return None
    _check_load(load)
    return load_sample(load)


class _Source:
    """A :class:`zkedge.fleet.rpc.TrioStream` of a worker's orders as wire messages, with a
    close callback."""

    def __init__(
        self,
        recv: trio.MemoryReceiveChannel[Any],
        on_close: object,
        wire: Callable[[Any], betterproto.Message] = task_message,
    ) -> None:
        self._recv = recv
        self._on_close = on_close
        self._wire = wire

    async def receive(self) -> betterproto.Message | None:
        try:
            return self._wire(await self._recv.receive())
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


class _BasesSource:
    """A :class:`zkedge.fleet.rpc.TrioStream` of a table's blocks ``first..last``, each cut from
    the table (one block's copy) when the previous one has been sent: a client that does not
    read holds the server to one block, not the range."""

    def __init__(
        self,
        digest: str,
        table: Table,
        block: int,
        first: int,
        last: int,
        sent: dict[str, int] | None = None,
    ) -> None:
        self._sent = sent if sent is not None else {}
        self._digest = digest
        self._table = table
        self._pb = get_curve(table.curve).point_bytes(check_group(table.group))
        self._block = block
        self._next = first
        self._last = last

    async def receive(self) -> BasesChunk | None:
        await trio.lowlevel.checkpoint()
        b = self._next
        if b > self._last:
            return None
        self._next += 1
        t = self._table
        s, e = b * self._block, min(t.n, (b + 1) * self._block)
        piece = t.mont[s * self._pb : e * self._pb]
        self._sent["bases"] = self._sent.get("bases", 0) + len(piece)
        return BasesChunk(
            table_hash=self._digest,
            curve=t.curve,
            group=t.group,
            table_n=t.n,
            start=s,
            count=e - s,
            data=piece,
            sha256=hashlib.sha256(piece).hexdigest(),
        )

    def close(self) -> None:
        self._next = self._last + 1


class _ZkeySource:
    """A :class:`zkedge.fleet.rpc.TrioStream` of a zkey file from an offset, one chunk at a
    time (a client that does not read holds the server to one chunk)."""

    CHUNK = 1 << 20

    def __init__(self, data: bytes, offset: int, sent: dict[str, int] | None = None) -> None:
        self._sent = sent if sent is not None else {}
        self._data = memoryview(data)
        self._pos = offset
        self._first = True

    async def receive(self) -> ZkeyChunk | None:
        await trio.lowlevel.checkpoint()
        pos, n = self._pos, len(self._data)
        if pos >= n and not self._first:
            return None
        self._first = False
        end = min(n, pos + self.CHUNK)
        self._pos = end
        self._sent["zkey"] = self._sent.get("zkey", 0) + end - pos
        return ZkeyChunk(offset=pos, total_bytes=n, data=bytes(self._data[pos:end]))

    def close(self) -> None:
        self._pos = len(self._data)
        self._first = False


class _ProbeSource:
    """A :class:`zkedge.fleet.rpc.TrioStream` of ``n`` zero bytes in chunks of at most
    :attr:`CHUNK` (MeasureLink: a worker times its download rate with them)."""

    CHUNK = 64 << 10
    _ZEROS = bytes(CHUNK)

    def __init__(self, n: int, sent: dict[str, int] | None = None) -> None:
        self._left = n
        self._sent = sent if sent is not None else {}

    async def receive(self) -> LinkProbeChunk | None:
        await trio.lowlevel.checkpoint()
        if self._left <= 0:
            return None
        k = min(self._left, self.CHUNK)
        self._left -= k
        self._sent["probe"] = self._sent.get("probe", 0) + k
        return LinkProbeChunk(data=self._ZEROS[:k])

    def close(self) -> None:
        self._left = 0


def _is_sha256(value: str) -> bool:
    """Lowercase hex of 32 bytes."""
    return len(value) == 64 and all(ch in "0123456789abcdef" for ch in value)


def proof_update(job: ProofJob, *, results: bool = True) -> JobUpdate:
    """A JobUpdate for a proof job (proof.json and public.json once done)."""
    return JobUpdate(
        job_id=job.id,
        state=job.state,
        error=job.error if job.state != "running" else "",
        label="proof",
        detach=not job.watched,
        proof_json=job.proof_json if results else "",
        public_json=job.public_json if results else "",
        quarantined=list(job.quarantined),
    )


class _ProofWatch:
    """A :class:`zkedge.fleet.rpc.TrioStream` of a proof job: its state now, then its end."""

    def __init__(self, job: ProofJob) -> None:
        self._job = job
        self._sent = 0  # 0: nothing yet, 1: the running state, 2: the end
        self._open = True
        job.watchers += 1

    async def receive(self) -> JobUpdate | None:
        if self._sent == 2:
            return None
        if self._sent == 1:
            await self._job.finished.wait()
        self._sent = 2 if self._job.finished.is_set() else 1
        return proof_update(self._job)

    def close(self) -> None:
        if self._open:
            self._open = False
            self._job.watchers -= 1


class _JobWatch:
    """A :class:`zkedge.fleet.rpc.TrioStream` of a job's updates until it finishes. While it is
    open the job counts as watched (see ``SubmitMsmRequest.detach``)."""

    def __init__(self, service: CoordinatorService, job: Job) -> None:
        self._svc = service
        self._job = job
        self._first = True
        self._ended = False
        self._counted = True
        job.watch_started()

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
        if self._counted:
            self._counted = False
            self._job.watch_ended()


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

    def _session(self, worker_id: str, session_id: str, *, alive: bool = True) -> WorkerRecord:
        """The worker record this (id, session) names. Every worker RPC after RegisterWorker
        presents its session: an empty one is refused, an unknown or replaced one is NOT_FOUND
        (the worker registers again). ``alive=False`` also finds a worker declared dead, whose
        late reports are acknowledged, not refused."""
        _check_id(worker_id, "worker_id")
        if not session_id:
            raise _bad("session_id is required (the one RegisterWorker returned)")
        rec = self._reg.workers.get(worker_id)
        if rec is None or rec.session_id != session_id or (alive and rec.state == DEAD):
            raise RpcError(
                "NOT_FOUND", f"no live session {session_id[:40]!r} of worker {worker_id!r}: "
                "call RegisterWorker again"
            )  # fmt: skip
        return rec

    # ------------------------------------------------------------------ worker RPCs
    async def register_worker(
        self, req: RegisterWorkerRequest, peer: Peer | None = None
    ) -> RegisterWorkerResponse:
        _check_id(req.worker_id, "worker_id")
        if peer is not None and peer.cert_names and req.worker_id not in peer.cert_names:
            # Mutual TLS: a worker registers only under an identity its certificate names.
            raise RpcError(
                "PERMISSION_DENIED",
                f"worker_id {req.worker_id!r} is not a name in this client's certificate",
            )
        node = req.node
        _check_node(node)
        load = _load_of(req.load_report)
        cached = self._cached_blocks(req)
        if len(req.cached_zkeys) > _MAX_CACHED_ZKEYS:
            raise _bad(f"more than {_MAX_CACHED_ZKEYS} cached zkeys")
        if any(not _is_sha256(h) for h in req.cached_zkeys):
            raise _bad("cached_zkeys must be sha256 hex digests")
        rec = self._reg.register(req.worker_id, node_facts(node), cached, load)
        rec.zkeys.update(req.cached_zkeys)
        self._sched.dispatch()
        return RegisterWorkerResponse(
            session_id=rec.session_id,
            heartbeat_interval_ms=round(self._reg.heartbeat_interval * 1000),
            max_missed_heartbeats=self._reg.max_missed,
            bases_block_points=self._coord.policy.block_points,
        )

    def _cached_blocks(self, req: RegisterWorkerRequest) -> dict[str, set[int]]:
        """The blocks of known tables a worker says it caches (ranges of tables this
        coordinator does not know are left out; a range past its table's end is refused)."""
        if len(req.cached) > _MAX_CACHED_RANGES:
            raise _bad(f"more than {_MAX_CACHED_RANGES} cached ranges")
        block = self._coord.policy.block_points
        cached: dict[str, set[int]] = {}
        for r in req.cached:
            if len(r.table_hash) != 64:
                raise _bad("cached ranges need a sha256 hex table hash")
            table = self._sched.table(r.table_hash)
            if table is None:
                continue
            if r.count == 0 or r.start + r.count > table.n:
                raise _bad(f"cached range {r.start}+{r.count} is outside its table (0..{table.n})")
            first = -(-r.start // block)
            last = (r.start + r.count) // block
            cached.setdefault(r.table_hash, set()).update(range(first, last))
        return cached

    async def send_heartbeat(self, req: HeartbeatRequest) -> HeartbeatResponse:
        return self.send_heartbeat_sync(req)

    def send_heartbeat_sync(self, req: HeartbeatRequest) -> HeartbeatResponse:
        """Heartbeats never wait, so they take the bridge's fast path (see zkedge.fleet.rpc)."""
        rec = self._session(req.worker_id, req.session_id)
        if self._reg.heartbeat(rec, _load_of(req.load_report)):
            self._sched.dispatch()
        return HeartbeatResponse(
            heartbeat_interval_ms=round(self._reg.heartbeat_interval * 1000), state=rec.state
        )

    async def receive_tasks(self, req: ReceiveTasksRequest) -> _Source:
        rec = self._session(req.worker_id, req.session_id)
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

    async def receive_cancels(self, req: ReceiveTasksRequest) -> _Source:
        rec = self._session(req.worker_id, req.session_id)
        recv = self._reg.open_cancels(rec)
        send = rec.cancels
        reg = self._reg

        def closed() -> None:
            if send is not None:
                send.close()
                reg.cancels_closed(rec, send)

        def wire(order: Cancellation) -> TaskCancel:
            return TaskCancel(task_id=order.task_id, attempt=order.attempt)

        return _Source(recv, closed, wire)

    async def report_completion(self, req: ReportCompletionRequest) -> ReportAck:
        return self.report_completion_sync(req)

    def report_completion_sync(self, req: ReportCompletionRequest) -> ReportAck:
        """Reports never wait either: the fast path, as for heartbeats."""
        self._session(req.worker_id, req.session_id, alive=False)
        _check_id(req.task_id, "task_id")
        if req.attempt < 1:
            raise _bad("attempt numbers start at 1")
        _in_range(req.compute_seconds, 0, _MAX_SECONDS, "compute_seconds")
        _in_range(req.fetch_seconds, 0, _MAX_SECONDS, "fetch_seconds")
        _in_range(req.cpu_share, 0, 1, "cpu_share")
        task = self._sched.tasks.get(req.task_id)
        if task is not None:
            want = get_curve(task.msm.curve).point_bytes(check_group(task.msm.group))
            if len(req.result) != want:
                raise _bad(f"result must be {want} bytes")
        whole = self._sched.proof_tasks.get(req.task_id)
        if whole is not None:
            c = get_curve(whole.curve)
            want = 2 * c.point_bytes("G1") + c.point_bytes("G2")
            if len(req.result) != want:
                raise _bad(f"a proof result must be {want} bytes (A, B, C)")
        ok, detail = self._sched.complete(
            req.worker_id,
            req.task_id,
            req.attempt,
            bytes(req.result),
            req.compute_seconds,
            session_id=req.session_id,
            cpu_share=req.cpu_share,
        )
        return ReportAck(accepted=ok, detail=detail)

    def stream_reports_sync(self, req: ReportCompletionRequest) -> ReportAck:
        """One report of a StreamReports stream: what ReportCompletion does with it."""
        return self.report_completion_sync(req)

    async def report_failure(self, req: ReportFailureRequest) -> ReportAck:
        return self.report_failure_sync(req)

    def report_failure_sync(self, req: ReportFailureRequest) -> ReportAck:
        """Failures never wait: the fast path, as for heartbeats."""
        self._session(req.worker_id, req.session_id, alive=False)
        _check_id(req.task_id, "task_id")
        if req.attempt < 1:
            raise _bad("attempt numbers start at 1")
        ok, detail = self._sched.fail(
            req.worker_id,
            req.task_id,
            req.attempt,
            req.error[:1000],
            req.handed_back,
            req.scalars_missing,
            session_id=req.session_id,
        )
        return ReportAck(accepted=ok, detail=detail)

    async def fetch_bases(self, req: FetchBasesRequest) -> _BasesSource:
        rec = self._session(req.worker_id, req.session_id)
        if rec.state == QUARANTINED:
            raise RpcError("FAILED_PRECONDITION", f"worker is {rec.state}")
        table = self._sched.table(req.table_hash)
        if table is None:
            raise RpcError("NOT_FOUND", f"unknown table {req.table_hash[:80]!r}")
        if req.count == 0 or req.start + req.count > table.n:
            raise _bad(f"range must be non-empty and within 0..{table.n}")
        block = self._coord.policy.block_points
        first, last = req.start // block, (req.start + req.count - 1) // block
        rec.held.setdefault(req.table_hash, set()).update(range(first, last + 1))
        return _BasesSource(
            req.table_hash, table, block, first, last, self._sched.dispatcher.bytes_sent
        )

    async def fetch_zkey(self, req: FetchZkeyRequest) -> _ZkeySource:
        rec = self._session(req.worker_id, req.session_id)
        if rec.state == QUARANTINED:
            raise RpcError("FAILED_PRECONDITION", f"worker is {rec.state}")
        if not _is_sha256(req.zkey_hash):
            raise _bad("zkey_hash must be a sha256 hex digest")
        data = self._coord.proofs.zkey_file(req.zkey_hash)
        if data is None:
            raise RpcError("NOT_FOUND", f"no zkey with hash {req.zkey_hash!r}")
        if req.offset > len(data):
            raise _bad(f"offset {req.offset} is past the zkey's {len(data)} bytes")
        rec.zkeys.add(req.zkey_hash)
        return _ZkeySource(data, req.offset, self._sched.dispatcher.bytes_sent)

    async def measure_link(self, req: MeasureLinkRequest) -> _ProbeSource:
        rec = self._session(req.worker_id, req.session_id)
        if not 1 <= req.bytes <= MAX_PROBE_BYTES:
            raise _bad(f"bytes must be 1..{MAX_PROBE_BYTES}")
        if rec.link_probes >= MAX_PROBES:
            raise RpcError(
                "RESOURCE_EXHAUSTED", f"a session may measure its link {MAX_PROBES} times"
            )
        rec.link_probes += 1
        return _ProbeSource(req.bytes, self._sched.dispatcher.bytes_sent)

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
            handle = await self._coord.submit_msm(
                req.curve, req.group, bases, req.scalars, watched=not req.detach
            )
        except ValueError as exc:
            raise RpcError("INVALID_ARGUMENT", str(exc)) from None
        except StoreError as exc:
            raise RpcError("UNAVAILABLE", str(exc)) from None
        return SubmitMsmResponse(job_id=handle.id)

    async def submit_proof(self, req: SubmitProofRequest) -> SubmitProofResponse:
        proofs = self._coord.proofs
        digest = req.zkey_hash
        if req.zkey:
            try:
                digest = await proofs.add_zkey(bytes(req.zkey))
            except FormatError as exc:
                raise _bad(str(exc)) from None
            if req.zkey_hash and req.zkey_hash != digest:
                raise _bad("zkey_hash is not the sha256 of the zkey sent")
        elif not digest:
            raise _bad("give the zkey, or the zkey_hash of one sent before")
        elif not proofs.has_zkey(digest):
            raise RpcError("NOT_FOUND", f"no zkey with hash {digest[:80]!r}: send the zkey")
        if req.wasm and not req.input_json:
            raise _bad("a wasm without input_json")
        witness = bytes(req.witness)
        if not witness and req.input_json:
            witness = await self._witness_from_inputs(req)
        if not witness:
            raise _bad("give the witness (.wtns bytes), or input_json and the circuit's wasm")
        try:
            job = await proofs.submit(digest, witness, watched=not req.detach)
        except FormatError as exc:
            raise _bad(str(exc)) from None
        except KeyError:  # dropped from memory meanwhile
            raise RpcError("NOT_FOUND", f"no zkey with hash {digest[:80]!r}: send it") from None
        return SubmitProofResponse(job_id=job.id, zkey_hash=digest)

    async def _witness_from_inputs(self, req: SubmitProofRequest) -> bytes:
        """The witness of a SubmitProof that sent input.json and the circuit's wasm."""
        from zkedge.circom import CircomError, WasmtimeUnavailable

        proofs = self._coord.proofs
        try:
            digest = req.wasm_hash
            if req.wasm:
                digest = await proofs.add_wasm(bytes(req.wasm))
            elif not digest:
                raise _bad("input_json needs the circuit's wasm (or the wasm_hash of one sent)")
            elif not proofs.has_wasm(digest):
                raise RpcError("NOT_FOUND", f"no wasm with hash {digest[:80]!r}: send the wasm")
            return await proofs.witness_from_inputs(digest, req.input_json)
        except WasmtimeUnavailable as exc:
            raise RpcError("FAILED_PRECONDITION", f"{exc}: send the witness instead") from None
        except (CircomError, ValueError, RecursionError) as exc:
            raise _bad(
                f"input_json: {exc}" if isinstance(exc, RecursionError) else str(exc)
            ) from None
        except KeyError:
            raise RpcError("NOT_FOUND", "no wasm with that hash: send the wasm") from None

    async def watch_job(self, req: WatchJobRequest) -> _JobWatch | _ListSource | _ProofWatch:
        proof = self._coord.proofs.jobs.get(req.job_id)
        if proof is not None:
            return _ProofWatch(proof)
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

    async def cancel_job(self, req: CancelJobRequest) -> CancelJobResponse:
        _check_id(req.job_id, "job_id")
        proof = self._coord.proofs.jobs.get(req.job_id)
        if proof is not None:
            ok = self._coord.proofs.cancel(proof, req.reason[:256] or "cancelled by a client")
            if ok:
                with trio.move_on_after(5):  # its MSM jobs are being cancelled with it
                    await proof.finished.wait()
            return CancelJobResponse(job_id=proof.id, cancelled=ok, state=proof.state)
        job = self._sched.jobs.get(req.job_id)
        if job is None:
            row = self._sched.store.job_row(req.job_id)
            if row is None:
                raise RpcError("NOT_FOUND", f"unknown job {req.job_id!r}")
            return CancelJobResponse(job_id=req.job_id, cancelled=False, state=row[0])
        reason = req.reason[:256] or "cancelled by a client"
        ok = self._sched.cancel_job(job, reason)
        return CancelJobResponse(job_id=job.id, cancelled=ok, state=job.state)

    async def list_jobs(self, req: ListJobsRequest) -> ListJobsResponse:
        jobs = [
            self.job_update(j, results=False)
            for j in self._sched.jobs.values()
            if not req.running_only or j.state == "running"
        ]
        jobs += [
            proof_update(p, results=False)
            for p in self._coord.proofs.jobs.values()
            if not req.running_only or p.state == "running"
        ]
        return ListJobsResponse(jobs=jobs)

    def job_update(self, job: Job, *, results: bool = True) -> JobUpdate:
        """A JobUpdate for a job (results once done, unless ``results=False``)."""
        from zkedge import ec

        encoded = []
        if results and job.state == "done":
            encoded = [ec.encode(m.curve, m.group, m.result, "be") for m in job.msms]
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
            results=encoded,
            error=job.error or "",
            shares=shares,
            label=job.label,
            detach=not job.watched,
        )

    async def get_status(self, req: GetStatusRequest) -> GetStatusResponse:
        return self.status()

    def status(self) -> GetStatusResponse:
        """The fleet now: workers, jobs, task counts (GetStatus, and the status page)."""
        now = trio.current_time()
        policy = self._coord.policy
        workers = [
            WorkerStatus(
                worker_id=w.worker_id,
                state=w.state,
                node=node_info(w.node),
                load_report=load_report(w.load),
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
