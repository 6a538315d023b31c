"""The worker: registers, heartbeats, receives tasks on one stream, computes, reports.

One *session* = one channel + registration + heartbeat loop + task stream + executor. Any
break (coordinator gone, stream closed, "unknown worker") ends the session; the worker then
reconnects with exponential backoff and jitter and registers again (the coordinator requeues
whatever the old session had in flight). :meth:`Worker.stop` (SIGTERM in the CLI) drains: the
running task may finish within ``drain_grace`` seconds, everything else is handed back.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import os
import random
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import betterproto
import trio

from zkedge.curves import check_group, get_curve
from zkedge.fleet import rpc
from zkedge.fleet.common import BENCH_POINTS, TlsConfig, client_context, parse_hostport
from zkedge.fleet.http import Response, serve_http
from zkedge.fleet.proto.coordinator.v1 import (
    BasesChunk,
    CoordinatorServiceBase,
    FetchBasesRequest,
    FetchZkeyRequest,
    HeartbeatRequest,
    MeasureLinkRequest,
    ProveAssignment,
    ReceiveTasksRequest,
    RegisterWorkerRequest,
    ReportCompletionRequest,
    ReportFailureRequest,
    TaskAssignment,
    TaskCancel,
    TaskMessage,
)
from zkedge.fleet.scalar_lru import SliceLru
from zkedge.fleet.worker.cache import BaseCache
from zkedge.fleet.worker.executor import TaskResult, run_partial, run_proof
from zkedge.fleet.worker.metrics import WorkerMetrics
from zkedge.fleet.worker.probe import Probe, micro_benchmark
from zkedge.fleet.worker.zkeys import ZkeyStore

if TYPE_CHECKING:  # zkedge.msm loads the native core: imported where a task runs
    from zkedge.msm import MsmStop

__all__ = ["Backoff", "LinkMeter", "Worker", "WorkerConfig", "reconnect_loop"]

log = logging.getLogger("zkedge.fleet.worker")


@dataclass
class WorkerConfig:
    """Everything a worker is configured with (CLI flags today, a TOML file later)."""

    coordinator: str  # HOST:PORT
    worker_id: str | None = None  # default: the hostname
    threads: int | None = None  # default: the CPUs this process may use
    cache_dir: Path | None = None  # default: $XDG_CACHE_HOME/zkedge/bases
    cache_bytes: int = 1 << 30
    cache_memory_bytes: int = 64 << 20
    scalar_cache_bytes: int = 32 << 20  # recent task scalars by hash (zkedge.fleet.scalar_lru)
    token: str | None = None
    tls: TlsConfig | None = None
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    drain_grace: float = 30.0
    benchmark: bool = True
    probe_root: Path = Path("/")
    task_delay: float = 0.0  # fault-injection knob for tests: extra seconds per task
    # Largest task message this worker accepts (NodeInfo.max_receive_bytes): grpclib sets no
    # limit of its own, so this is what the coordinator sizes tasks by.
    max_receive_bytes: int = 64 << 20
    # Curves to take tasks of (NodeInfo.curves); None: every curve the native core has.
    curves: tuple[str, ...] | None = None
    http: str | None = None  # HOST:PORT serving /metrics and /healthz
    proof_tasks: bool = True  # take whole-proof tasks (NodeInfo.proof_tasks)
    # Fetch the missing blocks of the tables recent tasks named while the link is idle (a few
    # blocks per request, given up at once when a task arrives), so later ranges find their
    # bases here.
    prefetch: bool = True
    prefetch_idle: float = 1.0  # seconds without a task before prefetching starts
    link_probe_bytes: int = 256 << 10  # MeasureLink filler timed after registering (0: none)
    # On a link that needs longer than this for a whole table, idle-time prefetch fetches only
    # the blocks next to those its tasks used (its share moves a block or so between proofs).
    prefetch_whole_seconds: float = 1.0
    zkey_dir: Path | None = None  # default: "zkeys" beside the base cache directory
    keep_zkeys: int = 2  # zkey files kept on disk

    def __post_init__(self) -> None:
        parse_hostport(self.coordinator)  # validate early
        if self.http is not None:
            parse_hostport(self.http)
        if self.threads is not None and self.threads < 1:
            raise ValueError("threads must be >= 1")
        if self.backoff_initial <= 0 or self.backoff_max < self.backoff_initial:
            raise ValueError("need 0 < backoff_initial <= backoff_max")
        if self.drain_grace < 0:
            raise ValueError("drain_grace must be >= 0")
        if self.scalar_cache_bytes < 0:
            raise ValueError("scalar_cache_bytes must be >= 0")
        if self.max_receive_bytes < 0:
            raise ValueError("max_receive_bytes must be >= 0 (0: unknown, taken as 4 MiB)")
        if self.keep_zkeys < 1:
            raise ValueError("keep_zkeys must be >= 1")


class Backoff:
    """Exponential backoff with "equal jitter": the k-th delay is uniform in
    [b/2, b] with b = min(maximum, initial * 2^k); :meth:`reset` after a good session."""

    def __init__(self, initial: float, maximum: float, rng: random.Random | None = None) -> None:
        self.initial, self.maximum = initial, maximum
        self.rng = rng or random.Random()
        self.attempt = 0

    def next(self) -> float:
        """Delay before the next reconnection attempt."""
        base = min(self.maximum, self.initial * 2.0**self.attempt)
        self.attempt += 1
        jitter: float = self.rng.random()
        return base / 2 + jitter * base / 2

    def reset(self) -> None:
        """Back to the initial delay."""
        self.attempt = 0


class LinkMeter:
    """The worker's link to the coordinator as it sees it: the round trip of heartbeats and
    the rate of bulk downloads (at least ``min_bytes``), each a moving average (``alpha`` for
    the newest sample). Reported in every heartbeat, so the coordinator can tell transfer time
    from compute time."""

    def __init__(self, alpha: float = 0.3, min_bytes: int = 64 << 10) -> None:
        self.alpha = alpha
        self.min_bytes = min_bytes
        self.rtt = 0.0
        self.rate = 0.0

    def _mix(self, old: float, new: float) -> float:
        return new if old == 0 else self.alpha * new + (1 - self.alpha) * old

    def round_trip(self, seconds: float) -> None:
        """A unary call to the coordinator took ``seconds``."""
        if seconds > 0:
            self.rtt = self._mix(self.rtt, seconds)

    def download(self, nbytes: int, seconds: float) -> None:
        """``nbytes`` arrived from the coordinator in ``seconds`` (small ones are ignored)."""
        if nbytes >= self.min_bytes and seconds > 0:
            self.rate = self._mix(self.rate, nbytes / seconds)


class SessionEnded(Exception):
    """A session ended in a way that calls for reconnecting (with backoff)."""


async def reconnect_loop(
    session: Callable[[], Awaitable[bool]],
    backoff: Backoff,
    stopping: Callable[[], bool],
    wait: Callable[[float], Awaitable[None]] = trio.sleep,
) -> None:
    """Run ``session()`` until it returns True (done) or ``stopping()``; back off after failures.

    ``session`` returns False after a session that got going (registered), which resets the
    backoff, and raises ``SessionEnded`` / :class:`zkedge.fleet.rpc.ConnectionLost` /
    :class:`zkedge.fleet.rpc.RpcError` when it could not connect or broke. Each failure is
    logged with the delay before the next attempt: a refused token or a TLS failure as an
    error, an unreachable coordinator as a warning.
    """
    while not stopping():
        try:
            if await session():
                return
            backoff.reset()
            continue
        except (SessionEnded, rpc.ConnectionLost, rpc.RpcError) as exc:
            error: Exception = exc
        if stopping():
            return
        delay = backoff.next()
        _log_retry(error, delay)
        await wait(delay)


def _log_retry(exc: Exception, delay: float) -> None:
    """One log line for a failed or ended session, saying when the next attempt is."""
    retry = f"retrying in {delay:.1f} s"
    if isinstance(exc, rpc.RpcError) and exc.status in ("UNAUTHENTICATED", "PERMISSION_DENIED"):
        log.error(
            "the coordinator refused this worker (%s: %s): check the token (--token, "
            "$ZKEDGE_TOKEN, [auth] in worker.toml) or the client certificate; %s",
            exc.status,
            exc.message,
            retry,
        )
    elif isinstance(exc, rpc.ConnectionLost) and exc.tls:
        log.error("TLS with the coordinator failed: %s; %s", exc, retry)
    elif isinstance(exc, rpc.ConnectionLost):
        log.warning(
            "coordinator unreachable: %s (TLS on one side only looks like this too); %s",
            exc,
            retry,
        )
    else:
        log.info("session ended: %s; %s", exc, retry)


class Worker:
    """A fleet worker. ``await nursery.start(Worker(cfg).run)`` returns after it first registers."""

    def __init__(self, config: WorkerConfig) -> None:
        self.config = config
        self.worker_id = config.worker_id or socket.gethostname()
        self.probe = Probe(config.probe_root)
        self.threads = config.threads or len(self.probe.cpus)
        cache_dir = Path(
            config.cache_dir
            or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "zkedge" / "bases"
        )
        self.cache = BaseCache(cache_dir, config.cache_bytes, config.cache_memory_bytes)
        self.zkeys = ZkeyStore(
            config.zkey_dir or cache_dir.parent / f"{cache_dir.name}-zkeys", config.keep_zkeys
        )
        self.bench_pps = 0.0
        self.recent_pps = 0.0
        self.link = LinkMeter()
        self.tasks_done = 0
        self.tasks_stopped = 0  # attempts whose MSM was stopped (cancelled, or handed back)
        self.sessions = 0
        self.metrics = WorkerMetrics()
        """This worker's Prometheus registry (``/metrics`` with ``WorkerConfig.http``)."""
        self.http_port: int | None = None
        self.registered = False
        self._stop = trio.Event()
        self._stopped = False
        self._busy = 0
        self._started: Callable[[Worker], None] | None = None

    def stop(self) -> None:
        """Ask the worker to drain and exit (what SIGTERM does)."""
        self._stop.set()

    async def run(self, *, task_status: trio.TaskStatus[Worker] = trio.TASK_STATUS_IGNORED) -> None:
        """Benchmark, then serve sessions until :meth:`stop`; ``started`` after registering.
        With ``config.http`` the HTTP server (``/metrics``, ``/healthz``) listens first, so a
        failure to listen there ends ``run`` with an ``OSError`` at once."""
        rpc.install_frame_repr()
        async with trio.open_nursery() as nursery:
            if self.config.http is not None:
                host, port = parse_hostport(self.config.http)
                self.http_port = await nursery.start(
                    functools.partial(serve_http, self._routes(), host, port)
                )
                log.info("worker %s: HTTP on %s:%d", self.worker_id, host, self.http_port)
            if self.config.benchmark:
                self.bench_pps = await trio.to_thread.run_sync(
                    micro_benchmark, self.threads, BENCH_POINTS
                )
            self._started = task_status.started
            backoff = Backoff(self.config.backoff_initial, self.config.backoff_max)
            await reconnect_loop(self._session, backoff, self._stop.is_set, self._backoff_wait)
            nursery.cancel_scope.cancel()

    def _routes(self) -> dict[str, Callable[[], Response]]:
        def metrics() -> Response:
            return Response(200, self.metrics.exposition(), "text/plain; version=0.0.4")

        def healthz() -> Response:
            if self.registered:
                return Response(200, b"ok: registered\n")
            return Response(503, b"not registered with the coordinator\n")

        return {"/metrics": metrics, "/healthz": healthz}

    async def _backoff_wait(self, delay: float) -> None:
        """Sleep before reconnecting, but wake at once when asked to stop."""
        with trio.move_on_after(delay):
            await self._stop.wait()

    def _mark_started(self) -> None:
        if self._started is not None:
            started, self._started = self._started, None
            started(self)

    # ------------------------------------------------------------------ one session
    async def _session(self) -> bool:

        host, port = parse_hostport(self.config.coordinator)
        ssl_ctx = client_context(self.config.tls) if self.config.tls is not None else None

        # Two connections: control (register, heartbeats, reports) and bulk (the task stream,
        # base fetches). On a slow link a task's scalars fill the bulk connection's buffers for
        # seconds; a heartbeat or report queued behind them would arrive late and make the
        # coordinator think the worker is gone.
        async with rpc.open_clients(
            CoordinatorServiceBase,
            host,
            port,
            2,
            token=self.config.token,
            ssl_context=ssl_ctx,
            server_name=self.config.tls.server_name if self.config.tls is not None else None,
        ) as (client, bulk):
            node = self.probe.node_info(self.threads, self.bench_pps)
            node.scalar_cache_bytes = self.config.scalar_cache_bytes
            node.max_receive_bytes = self.config.max_receive_bytes
            node.proof_tasks = self.config.proof_tasks
            node.packed_scalars = True
            node.window_tasks = True
            if self.config.curves is not None:
                node.curves = list(self.config.curves)
            reg = await client.call(
                "register_worker",
                RegisterWorkerRequest(
                    worker_id=self.worker_id,
                    node=node,
                    cached=self.cache.ranges(),
                    cached_zkeys=self.zkeys.hashes()[:64] if self.config.proof_tasks else [],
                    load_report=self.probe.load_report(
                        0, self.recent_pps, self.link.rtt, self.link.rate
                    ),
                ),
            )
            self.sessions += 1
            self.metrics.sessions.inc()
            sess = _Session(self, client, bulk, reg.session_id, reg.bases_block_points)
            interval = max(reg.heartbeat_interval_ms, 10) / 1000
            log.info(
                "worker %s %s with %s (%d threads, heartbeat every %.1f s)",
                self.worker_id,
                "registered" if self.sessions == 1 else "re-registered",
                self.config.coordinator,
                self.threads,
                interval,
            )
            ended: str | None = None
            self.registered = True
            self.metrics.registered.set(1)
            try:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(sess.heartbeats, interval)
                    nursery.start_soon(sess.stream)
                    nursery.start_soon(sess.execute)
                    nursery.start_soon(sess.reporter)
                    nursery.start_soon(sess.cancels)
                    nursery.start_soon(sess.prefetch)
                    nursery.start_soon(sess.measure_link)
                    nursery.start_soon(sess.drain_on_stop, nursery.cancel_scope)
                    self._mark_started()
            except* (SessionEnded, rpc.ConnectionLost, rpc.RpcError) as group:
                ended = "; ".join(str(e) for e in group.exceptions)
            finally:
                self.registered = False
                self.metrics.registered.set(0)
            if ended is not None and not self._stopped:
                log.warning("session with %s ended: %s", self.config.coordinator, ended)
                return False
            return self._stopped


class _Session:
    """State of one registered session."""

    def __init__(
        self,
        worker: Worker,
        client: rpc.GrpcClient,
        bulk: rpc.GrpcClient,
        session_id: str,
        block_points: int,
    ) -> None:
        self.w = worker
        self.client = client  # control: heartbeats and reports
        self.bulk = bulk  # the task stream and base fetches
        self.session_id = session_id
        self.block = max(1, block_points)
        self.send, self.recv = trio.open_memory_channel[TaskAssignment | ProveAssignment](math.inf)
        self.cancelled: set[tuple[str, int]] = set()
        self.current: TaskAssignment | ProveAssignment | None = None
        self.current_stop: MsmStop | None = None  # stops the current task's native MSM
        self.current_scope: trio.CancelScope | None = None  # the current task's fetch and delay
        self.current_done = trio.Event()
        self.draining = False
        # Completion reports go out from their own task, in order, while the next task
        # computes: a report's round trip does not hold the cores idle between tasks.
        self.reports_send, self.reports_recv = trio.open_memory_channel[ReportCompletionRequest](
            math.inf
        )
        self.reports_pending = 0
        self.reports_flushed = trio.Event()
        # Scalars by hash, updated in stream order as the coordinator's mirror is
        # (zkedge.fleet.scalar_lru); assignments that named a slice we no longer hold:
        self.scalars = SliceLru(worker.config.scalar_cache_bytes)
        self.missing: set[tuple[str, int]] = set()
        # Assignments whose scalars could not be read (packed wrong): why, reported as failed.
        self.unreadable: dict[tuple[str, int], str] = {}
        # Tables recent tasks named (hash -> curve, group, points), for idle-time prefetch;
        # a task's arrival cancels the prefetch request in flight.
        self.tables: dict[str, tuple[str, str, int]] = {}
        self.used: dict[str, set[int]] = {}  # table hash -> blocks its tasks have used
        self.last_task = trio.current_time()
        self.prefetch_scope: trio.CancelScope | None = None
        self.prefetch_left = 0  # blocks of the prefetch request in flight not yet received

    async def heartbeats(self, interval: float) -> None:
        """Heartbeat every ``interval``; "unknown worker" ends the session (re-register)."""
        while True:
            await trio.sleep(interval)
            await self.beat()

    async def beat(self) -> None:
        """One heartbeat with the current load and link."""
        link = self.w.link
        load = self.w.probe.load_report(self.w._busy, self.w.recent_pps, link.rtt, link.rate)
        try:
            t0 = trio.current_time()
            await self.client.call(
                "send_heartbeat",
                HeartbeatRequest(
                    worker_id=self.w.worker_id, session_id=self.session_id, load_report=load
                ),
            )
            link.round_trip(trio.current_time() - t0)
        except rpc.RpcError as exc:
            if exc.status == "NOT_FOUND":
                raise SessionEnded("coordinator forgot us; registering again") from None
            raise

    async def measure_link(self) -> None:
        """Time the download rate on the bulk connection once, right after registering
        (MeasureLink), and send it in a heartbeat at once: the first proof is then carved
        knowing the link, and on a slow one its ranges are the ones warm proofs keep. A
        coordinator without the RPC is no fault: the rate then comes from the first tasks'
        data."""
        n = self.w.config.link_probe_bytes
        if n <= 0:
            return
        t0 = trio.current_time()
        try:
            chunks = await self.bulk.collect(
                "measure_link",
                MeasureLinkRequest(worker_id=self.w.worker_id, session_id=self.session_id, bytes=n),
            )
        except rpc.RpcError as exc:
            log.debug("link not measured: %s %s", exc.status, exc.message)
            return
        got = sum(len(ch.data) for ch in chunks)
        secs = trio.current_time() - t0
        self.w.link.download(got, secs)
        log.debug("link measured: %d bytes in %.3f s", got, secs)
        await self.beat()

    async def stream(self) -> None:
        """Receive assignments and cancellations until the coordinator ends the stream."""

        def on_message(msg: TaskMessage) -> None:
            kind, value = betterproto.which_one_of(msg, "kind")
            if kind in ("assign", "prove"):
                self.last_task = trio.current_time()
                if self.prefetch_scope is not None and self.prefetch_left > 1:
                    # the task's own traffic goes first; a request's last block, already on
                    # the wire, is let in (cancelled, its bytes would be spent for nothing)
                    self.prefetch_scope.cancel()
            if kind == "assign" and isinstance(value, TaskAssignment):
                self.unpack_scalars(value)
                self.resolve_scalars(value)
                self.tables.pop(value.table_hash, None)
                self.tables[value.table_hash] = (value.curve, value.group, value.table_n)
                while len(self.tables) > 8:
                    oldest = next(iter(self.tables))
                    del self.tables[oldest]
                    self.used.pop(oldest, None)
                self.send.send_nowait(value)
            elif kind == "prove" and isinstance(value, ProveAssignment):
                self.send.send_nowait(value)
            elif kind == "cancel" and isinstance(value, TaskCancel):
                self.cancel(value)

        await self.bulk.stream(
            "receive_tasks",
            ReceiveTasksRequest(worker_id=self.w.worker_id, session_id=self.session_id),
            on_message,
        )
        if not self.draining:
            raise SessionEnded("task stream closed by the coordinator")
        await trio.sleep_forever()

    def cancel(self, order: TaskCancel) -> None:
        """The coordinator called an attempt back (from either stream; the second is a no-op):
        skip it when it comes up, or stop it now when it is running."""
        key = (order.task_id, order.attempt)
        if key in self.cancelled:
            return
        self.cancelled.add(key)
        cur = self.current
        if cur is not None and (cur.task_id, cur.attempt) == key:
            if self.current_stop is not None:
                self.current_stop.set()  # free the cores now, not when the MSM ends
            if self.current_scope is not None:
                self.current_scope.cancel()  # stop fetching its bases too

    async def cancels(self) -> None:
        """Cancellations on the control connection (``ReceiveCancels``), where they do not
        wait behind the task stream's data. A coordinator without the RPC, or a stream that
        ends, leaves the task stream's copies (the session goes on)."""
        try:
            await self.client.stream(
                "receive_cancels",
                ReceiveTasksRequest(worker_id=self.w.worker_id, session_id=self.session_id),
                self.cancel,
            )
        except rpc.RpcError as exc:
            log.info("no cancellation stream (%s): cancellations come with the tasks", exc)

    def unpack_scalars(self, task: TaskAssignment) -> None:
        """Turn packed scalars (NodeInfo.packed_scalars) into the 32-byte form the cache and
        the MSM take; scalars that cannot be read fail the assignment with the reason."""
        if not task.packed_scalars:
            return
        from zkedge.msm import unpack_scalars

        try:
            if task.scalars:
                raise ValueError("both scalars and packed_scalars are set")
            task.scalars = unpack_scalars(task.packed_scalars, task.count)
        except ValueError as exc:
            self.unreadable[(task.task_id, task.attempt)] = str(exc)
        task.packed_scalars = b""

    def resolve_scalars(self, task: TaskAssignment) -> None:
        """Cache the assignment's scalars under their hash, or fill them in from the cache
        when the coordinator left them out (at receipt, in stream order, like its mirror)."""
        h = task.scalars_hash
        if not h or (task.task_id, task.attempt) in self.unreadable:
            return
        if task.scalars:
            self.scalars.put(h, len(task.scalars), bytes(task.scalars))
            return
        data = self.scalars.get(h)
        if data is None:
            self.missing.add((task.task_id, task.attempt))
        else:
            task.scalars = data

    async def execute(self) -> None:
        """Run assignments one at a time (each uses all the worker's threads)."""
        async for task in self.recv:
            if self.draining:
                await self.hand_back(task, "worker is shutting down")
                continue
            if (task.task_id, task.attempt) in self.cancelled:
                self.missing.discard((task.task_id, task.attempt))
                self.unreadable.pop((task.task_id, task.attempt), None)
                continue
            self.current, self.current_done = task, trio.Event()
            self.w._busy = 1
            try:
                await self.run_one(task)
            finally:
                self.w._busy = 0
                self.current = None
                self.current_stop = None
                self.current_scope = None
                self.current_done.set()

    async def run_one(self, task: TaskAssignment | ProveAssignment) -> None:
        """Fetch missing bases, compute the partial sum, report it (or the failure); or prove
        whole (:meth:`run_proof`)."""
        if isinstance(task, ProveAssignment):
            await self.run_proof(task)
            return
        if (task.task_id, task.attempt) in self.missing:
            self.missing.discard((task.task_id, task.attempt))
            why = f"scalars {task.scalars_hash[:16]} not in the worker's cache"
            await self.report_failure(task, why, scalars_missing=True)
            return
        unreadable = self.unreadable.pop((task.task_id, task.attempt), None)
        if unreadable is not None:
            self.w.metrics.tasks.labels("failed").inc()
            await self.report_failure(task, f"ValueError: {unreadable}")
            return
        from zkedge.msm import MsmCancelled, MsmStop

        stop = self.current_stop = MsmStop()
        try:
            with trio.CancelScope() as scope:
                self.current_scope = scope
                bases, at, fetch_s = await self.bases_for(task)
                if self.w.config.task_delay > 0:
                    await trio.sleep(self.w.config.task_delay)
            self.current_scope = None
            if stop.is_set() or scope.cancelled_caught:
                raise MsmCancelled("cancelled before it started")
            windows = (task.window_lo, tuple(task.window_widths)) if task.window_widths else None
            res: TaskResult = await run_partial(
                task.curve,
                task.group,
                bases,
                task.scalars,
                self.w.threads,
                stop,
                start=at,
                windows=windows,
                count=task.count,
            )
        except MsmCancelled:
            # The coordinator cancelled this attempt (its report would be ignored), or a drain
            # handed it back: nothing to report.
            log.info("task %s attempt %d stopped early", task.task_id, task.attempt)
            self.w.tasks_stopped += 1
            self.w.metrics.tasks.labels("stopped").inc()
            return
        except (ValueError, RuntimeError, MemoryError) as exc:
            log.warning("task %s attempt %d failed: %s", task.task_id, task.attempt, exc)
            self.w.metrics.tasks.labels("failed").inc()
            await self.report_failure(task, f"{type(exc).__name__}: {exc}")
            return
        if res.seconds > 0:
            pps = task.count / res.seconds
            self.w.recent_pps = (
                pps if self.w.recent_pps == 0 else 0.5 * pps + 0.5 * self.w.recent_pps
            )
        await self.report_done(task, res, fetch_s)
        self.w.metrics.points.inc(task.count)
        self.w.metrics.task_seconds.observe(res.seconds)
        log.debug(
            "task %s attempt %d done: %d points in %.3f s (bases fetched in %.3f s)",
            task.task_id,
            task.attempt,
            task.count,
            res.seconds,
            fetch_s,
        )

    async def run_proof(self, task: ProveAssignment) -> None:
        """Fetch the zkey if not held, prove the witness whole, report A || B || C."""
        from zkedge.msm import MsmCancelled, MsmStop

        stop = self.current_stop = MsmStop()
        try:
            with trio.CancelScope() as scope:
                self.current_scope = scope
                t0 = trio.current_time()
                if not self.w.config.proof_tasks:
                    raise ValueError("this worker does not take whole-proof tasks")
                got = self.w.zkeys.fetched_bytes
                zk = await self.w.zkeys.get(task.zkey_hash, task.zkey_bytes, self.fetch_zkey)
                fetch_s = trio.current_time() - t0
                self.w.link.download(self.w.zkeys.fetched_bytes - got, fetch_s)
                if zk.curve.name != task.curve:
                    raise ValueError(f"zkey is {zk.curve.name}, the task says {task.curve}")
                if self.w.config.task_delay > 0:
                    await trio.sleep(self.w.config.task_delay)
            self.current_scope = None
            if stop.is_set() or scope.cancelled_caught:
                raise MsmCancelled("cancelled before it started")
            witness = bytes(task.witness)
            if task.packed_witness:
                from zkedge.msm import unpack_scalars

                if witness:
                    raise ValueError("both witness and packed_witness are set")
                witness = unpack_scalars(task.packed_witness, zk.header.n_vars)
            res = await run_proof(zk, witness, self.w.threads, stop)
        except MsmCancelled:
            log.info("proof task %s attempt %d stopped early", task.task_id, task.attempt)
            self.w.tasks_stopped += 1
            self.w.metrics.tasks.labels("stopped").inc()
            return
        except (ValueError, RuntimeError, MemoryError, OSError, rpc.RpcError) as exc:
            log.warning("proof task %s attempt %d failed: %s", task.task_id, task.attempt, exc)
            self.w.metrics.tasks.labels("failed").inc()
            await self.report_failure(task, f"{type(exc).__name__}: {exc}")
            return
        await self.report_done(task, res, fetch_s)
        self.w.metrics.task_seconds.observe(res.seconds)
        log.debug(
            "proof task %s attempt %d done in %.3f s", task.task_id, task.attempt, res.seconds
        )

    async def report_done(
        self, task: TaskAssignment | ProveAssignment, res: TaskResult, fetch_s: float
    ) -> None:
        """Queue an attempt's result for :meth:`reporter` (which counts it once sent)."""
        self.reports_pending += 1
        self.reports_flushed = trio.Event()
        self.reports_send.send_nowait(
            ReportCompletionRequest(
                worker_id=self.w.worker_id,
                task_id=task.task_id,
                attempt=task.attempt,
                result=res.result,
                compute_seconds=res.seconds,
                fetch_seconds=fetch_s,
                session_id=self.session_id,
                cpu_share=res.cpu_share,
            )
        )

    async def reporter(self) -> None:
        """Send completion reports in the order the tasks finished, over one StreamReports
        stream, or by ReportCompletion calls to a coordinator without it; an error ends the
        session (the coordinator requeues what it did not hear of)."""
        req: ReportCompletionRequest | None = None
        try:
            async with self.client.exchange("stream_reports") as ask:
                async for req in self.reports_recv:
                    await ask(req)
                    req = None
                    self._reported()
            return
        except rpc.RpcError as exc:
            if exc.status != "UNIMPLEMENTED":
                raise
        log.info("the coordinator has no StreamReports: reporting by ReportCompletion calls")
        if req is not None:  # the report the stream refused
            await self.client.call("report_completion", req)
            self._reported()
        async for req in self.reports_recv:
            await self.client.call("report_completion", req)
            self._reported()

    def _reported(self) -> None:
        self.reports_pending -= 1
        self.w.tasks_done += 1
        self.w.metrics.tasks.labels("done").inc()
        if self.reports_pending == 0:
            self.reports_flushed.set()

    async def fetch_zkey(
        self, digest: str, offset: int, write: Callable[[int, bytes], None]
    ) -> None:
        """Stream a zkey from ``offset`` over the bulk connection into ``write``."""
        await self.bulk.stream(
            "fetch_zkey",
            FetchZkeyRequest(
                worker_id=self.w.worker_id,
                session_id=self.session_id,
                zkey_hash=digest,
                offset=offset,
            ),
            lambda ch: write(ch.offset, bytes(ch.data)) if ch.data else None,
        )

    def idle(self) -> bool:
        """Whether the link is likely idle: no task running or queued and none arrived for
        ``prefetch_idle`` seconds; or, on a link that moves a block in half a second,
        a task running with the next one already here (the coordinator sends the one after
        only when one finishes: a slower link would still be carrying a block then, and the
        next task would wait behind it)."""
        since = trio.current_time() - self.last_task
        queued = self.recv.statistics().current_buffer_used
        if self.current is None:
            return queued == 0 and since >= self.w.config.prefetch_idle
        rate = self.w.link.rate
        block_bytes = self.block * 128  # a block of G2 points, the larger kind (BN254)
        return queued >= 1 and since >= 0.1 and rate > 0 and block_bytes / rate <= 0.5

    def next_prefetch(self) -> tuple[str, int, int] | None:
        """(table hash, first block, blocks) of the next run of missing blocks to fetch, from
        the most recently used table; None when every table is held (or would not fit in a
        quarter of the cache). A run is at most four blocks, and on a slow link as many as
        its measured rate moves in half a second (at least one): a request is what a task's
        data may have to wait behind. Where a whole table takes longer than
        ``prefetch_whole_seconds`` at the measured rate, only the blocks its tasks used and
        their neighbours are wanted: the rest would hold the link for seconds, and with the
        link measured the worker's ranges stay put."""
        b = self.block
        cache = self.w.cache
        rate = self.w.link.rate
        for h, (curve, group, n) in reversed(self.tables.items()):
            pb = get_curve(curve).point_bytes(check_group(group))
            if n * pb > cache.max_bytes // 4:
                continue
            most = 4 if rate <= 0 else max(1, min(4, int(rate * 0.5 // (b * pb))))
            blocks = -(-n // b)
            want: range | set[int] = range(blocks)
            if rate > 0 and n * pb / rate > self.w.config.prefetch_whole_seconds:
                used = self.used.get(h, set())
                want = {j for i in used for j in (i - 1, i, i + 1) if 0 <= j < blocks}
            for i in sorted(want):
                if (h, b, i) not in cache:
                    run = 1
                    while run < most and i + run in want and (h, b, i + run) not in cache:
                        run += 1
                    return h, i, run
        return None

    async def prefetch(self) -> None:
        """While idle, fetch the missing blocks of recent tables, a few blocks a request."""
        if not self.w.config.prefetch:
            return
        while True:
            await trio.sleep(max(0.05, self.w.config.prefetch_idle / 4))
            if self.draining or not self.idle():
                continue
            nxt = self.next_prefetch()
            if nxt is None:
                continue
            h, first, count = nxt
            n = self.tables[h][2]
            lo, hi = first * self.block, min(n, (first + count) * self.block)
            got: dict[int, bytes] = {}
            try:
                with trio.CancelScope() as scope:
                    self.prefetch_scope = scope
                    await self.fetch_blocks(h, lo, hi, got, prefetch=True)
            except (rpc.RpcError, ValueError) as exc:  # a table it no longer has; corrupt data
                log.info("prefetch of table %s stopped: %s", h[:16], exc)
                self.tables.pop(h, None)
                continue
            finally:
                self.prefetch_scope = None
                self.prefetch_left = 0
            self.w.metrics.prefetched.inc(sum(len(d) for d in got.values()))

    async def report_failure(
        self,
        task: TaskAssignment | ProveAssignment,
        error: str,
        *,
        scalars_missing: bool = False,
        handed_back: bool = False,
    ) -> None:
        """Report that this attempt could not run (a strike unless scalars_missing or
        handed_back)."""
        await self.client.call(
            "report_failure",
            ReportFailureRequest(
                worker_id=self.w.worker_id,
                task_id=task.task_id,
                attempt=task.attempt,
                error=error,
                scalars_missing=scalars_missing,
                handed_back=handed_back,
                session_id=self.session_id,
            ),
        )

    async def bases_for(self, task: TaskAssignment) -> tuple[bytes, int, float]:
        """The task's base points (mont bytes, from cache or fetched, then cached): a buffer,
        the index of the task's first point in it, and the seconds spent fetching."""
        pb = get_curve(task.curve).point_bytes(check_group(task.group))
        b = self.block
        first, last = task.start // b, (task.start + task.count - 1) // b
        if task.table_hash in self.tables:
            self.used.setdefault(task.table_hash, set()).update(range(first, last + 1))
        fetch_s = 0.0
        held = self.w.cache.run(task.table_hash, b, first, last)  # held in memory: no copy
        if held is None:
            blocks: dict[int, bytes] = {}
            missing = []
            for i in range(first, last + 1):
                data = self.w.cache.get(task.table_hash, b, i)
                if data is None:
                    missing.append(i)
                else:
                    blocks[i] = data
            t0 = trio.current_time()
            if missing:
                lo, hi = missing[0] * b, min(task.table_n, (missing[-1] + 1) * b)
                blocks.update(await self.fetch_blocks(task.table_hash, lo, hi))
            fetch_s = trio.current_time() - t0
            try:
                held = b"".join(blocks[i] for i in range(first, last + 1)), first
            except KeyError:
                raise ValueError("coordinator did not send every base block") from None
        joined, at = held
        off = task.start - at * b
        if len(joined) < (off + task.count) * pb:
            raise ValueError("base range shorter than the task")
        return joined, off, fetch_s

    async def fetch_blocks(
        self,
        table_hash: str,
        lo: int,
        hi: int,
        out: dict[int, bytes] | None = None,
        *,
        prefetch: bool = False,
    ) -> dict[int, bytes]:
        """Fetch the blocks covering points [lo, hi) of a table over the bulk connection,
        check them, cache them; block index -> bytes (into ``out`` when given). The download
        times the link. Raises ValueError for a corrupt chunk (nothing of the request is
        cached then). Cancelled, it still caches the blocks that arrived whole and check out.
        ``prefetch``: count the blocks still to come in ``prefetch_left``."""
        out = {} if out is None else out
        chunks: list[BasesChunk] = []
        b = self.block
        if prefetch:
            self.prefetch_left = (hi - 1) // b - lo // b + 1

        def arrived(ch: BasesChunk) -> None:
            chunks.append(ch)
            if prefetch:
                self.prefetch_left -= 1

        t0 = trio.current_time()
        req = FetchBasesRequest(
            worker_id=self.w.worker_id,
            session_id=self.session_id,
            table_hash=table_hash,
            start=lo,
            count=hi - lo,
        )
        try:
            await self.bulk.stream("fetch_bases", req, arrived)
        except trio.Cancelled:
            with trio.CancelScope(shield=True):
                await self._keep(table_hash, [ch for ch in chunks if self._sound(ch)], out)
            raise
        self.w.link.download(sum(len(ch.data) for ch in chunks), trio.current_time() - t0)
        if not all(self._sound(ch) for ch in chunks):
            raise ValueError("corrupt base chunk from coordinator")
        await self._keep(table_hash, chunks, out)
        return out

    def _sound(self, ch: BasesChunk) -> bool:
        """A base chunk whose bytes match its sha256 and that starts on a block."""
        return hashlib.sha256(ch.data).hexdigest() == ch.sha256 and ch.start % self.block == 0

    async def _keep(self, table_hash: str, chunks: list[BasesChunk], out: dict[int, bytes]) -> None:
        """Cache checked base chunks (by block) and add them to ``out``."""
        b = self.block
        for ch in chunks:
            out[ch.start // b] = ch.data
            await trio.to_thread.run_sync(self.w.cache.put, table_hash, b, ch.start // b, ch.data)

    async def hand_back(self, task: TaskAssignment | ProveAssignment, why: str) -> None:
        """Return an attempt unrun (shutdown), so it is reassigned without a strike."""
        self.w.metrics.tasks.labels("handed_back").inc()
        try:
            await self.report_failure(task, why, handed_back=True)
        except (rpc.RpcError, rpc.ConnectionLost):
            pass  # the coordinator requeues it when our stream closes anyway

    async def drain_on_stop(self, scope: trio.CancelScope) -> None:
        """On :meth:`Worker.stop`: stop taking tasks, let the running one finish within the
        grace period, hand everything else back, then end the session."""
        await self.w._stop.wait()
        log.info("draining: handing back queued tasks, %s running", self.current is not None)
        self.draining = True
        self.w._stopped = True
        while True:
            try:
                task = self.recv.receive_nowait()
            except trio.WouldBlock:
                break
            await self.hand_back(task, "worker is shutting down")
        if self.current is not None:
            running = self.current
            with trio.move_on_after(self.w.config.drain_grace):
                await self.current_done.wait()
            if self.current is running:
                if self.current_stop is not None:
                    self.current_stop.set()  # stop the native MSM rather than abandon it
                if self.current_scope is not None:
                    self.current_scope.cancel()
                await self.hand_back(running, "worker is shutting down (task abandoned)")
        if self.reports_pending:  # results computed are worth sending
            with trio.move_on_after(self.w.config.drain_grace):
                await self.reports_flushed.wait()
        scope.cancel()
