"""Worker registry: who is in the fleet, what each node is, its load, liveness and task stream.

Liveness is judged on trio's clock (so tests can use a fake clock): a worker silent for more than
``heartbeat_interval`` is *suspect* (gets no new tasks), silent for ``max_missed`` intervals it is
*dead* and the scheduler requeues its tasks; ``forget_dead_after`` seconds later it leaves the
registry (and the status listings). Quarantined workers get nothing until released. Every
change of a worker's state is logged (logger ``zkedge.fleet.coordinator``).
"""

from __future__ import annotations

import logging
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

import trio

from zkedge.fleet.common import BENCH_POINTS
from zkedge.fleet.coordinator.model import Attempt, Cancellation, LoadSample, NodeFacts, Order
from zkedge.fleet.coordinator.sizing import (
    CapacityEstimate,
    LoadSnapshot,
    SizingPolicy,
    load_factor,
)
from zkedge.fleet.scalar_lru import SliceLru

__all__ = [
    "ACTIVE",
    "DEAD",
    "QUARANTINED",
    "SHARE_HORIZON",
    "STATES",
    "SUSPECT",
    "Registry",
    "WorkerRecord",
]

log = logging.getLogger("zkedge.fleet.coordinator")

ACTIVE, SUSPECT, DEAD, QUARANTINED = "active", "suspect", "dead", "quarantined"
STATES = (ACTIVE, SUSPECT, DEAD, QUARANTINED)
"""Every state a worker record can be in."""
_NOMINAL_N = 1 << 16  # size at which "capacity" (points/s) is reported
SHARE_HORIZON = 0.2
"""Seconds of compute over which a worker's reported CPU shares are averaged (see
:meth:`WorkerRecord.note_cpu_share`)."""
# Largest scalar cache a worker's mirror believes in (a bad NodeInfo cannot make the
# coordinator leave out scalars the worker never kept: it would only cost round trips).
MAX_SCALAR_CACHE = 1 << 30


def snapshot(load: LoadSample | None) -> LoadSnapshot | None:
    """The policy's view of a heartbeat load sample."""
    if load is None:
        return None
    return LoadSnapshot(
        cpu_utilization=load.cpu_utilization,
        own_cpu_utilization=load.own_cpu_utilization,
        throttled=bool(load.throttled),
        temperature_c=load.temperature_c,
    )


@dataclass(eq=False)
class WorkerRecord:
    """Everything the coordinator knows about one worker."""

    worker_id: str
    session_id: str
    node: NodeFacts
    capacity: CapacityEstimate
    registered_at: float
    last_heartbeat: float
    state: str = ACTIVE
    load: LoadSample | None = None
    stream: trio.MemorySendChannel[Order] | None = None
    # the session's ReceiveCancels stream, when the worker opened one (cancellations only)
    cancels: trio.MemorySendChannel[Cancellation] | None = None
    inflight: dict[tuple[str, int], Attempt] = field(default_factory=dict)
    held: dict[str, set[int]] = field(default_factory=dict)  # table hash -> cached blocks
    zkeys: set[str] = field(default_factory=set)  # zkey hashes it holds (whole-proof tasks)
    link_probes: int = 0  # MeasureLink calls of this session
    points_done: int = 0
    tasks_done: int = 0
    compute_seconds: float = 0.0
    draining: bool = False  # handed a task back: shutting down, give it nothing new
    snap: LoadSnapshot | None = None  # the policy's view of ``load``
    # the share of its cores the worker's last reported task had (0..1; None: none measured),
    # and the heartbeats since: it stands for the board's load until a second heartbeat
    cpu_share: float | None = None
    beats_since_share: int = 0
    # Mirror of the worker's scalar cache (zkedge.fleet.scalar_lru): slices it holds by hash, as of
    # the assignments sent so far on this session's stream. None: the worker keeps none.
    scalars: SliceLru | None = None
    dead_since: float | None = None  # trio time it was declared dead

    def set_load(self, load: LoadSample | None) -> None:
        """Remember a load report (and the plain snapshot the sizing policy reads)."""
        if load is not None:
            self.load = load
            self.snap = snapshot(load)
            self.beats_since_share += 1

    def note_cpu_share(self, share: float, seconds: float = math.inf) -> None:
        """A finished task's measured share of its cores (> 0) over its ``seconds`` of compute,
        folded into :attr:`cpu_share` with the weight ``1 - exp(-seconds / SHARE_HORIZON)``:
        a long task's share stands for the board's load, a short one's mostly measures the
        moments other processes happened to run (on a host the coordinator shares, a task of
        a few milliseconds can see half its core taken while the next sees none of it)."""
        if self.cpu_share is None or self.beats_since_share > 1:
            self.cpu_share = share
        else:
            a = -math.expm1(-max(0.0, seconds) / SHARE_HORIZON)
            self.cpu_share = a * share + (1 - a) * self.cpu_share
        self.beats_since_share = 0

    def factor(self, policy: SizingPolicy) -> float:
        """Current load/throttle factor: the last task's CPU share while no more than one
        heartbeat came after it (its interval then overlaps the task), else the heartbeat's
        utilisation; throttling and heat from the last load report either way."""
        share = self.cpu_share if self.beats_since_share <= 1 else None
        return load_factor(policy, self.snap, share)

    def task_factor(self, policy: SizingPolicy, share: float) -> float:
        """The factor one task ran at: its own CPU share (0: not measured, then
        :meth:`factor`), with throttling and heat from the last load report."""
        return load_factor(policy, self.snap, share) if share > 0 else self.factor(policy)

    def transfer_seconds(self, nbytes: int) -> float:
        """Expected seconds to get ``nbytes`` to the worker: its reported round trip plus the
        bytes at its reported download rate (0 for what it has not measured)."""
        load = self.load
        if load is None:
            return 0.0
        rate = load.recv_bytes_per_sec
        return load.rtt_seconds + (nbytes / rate if rate > 0 else 0.0)

    def capacity_pps(self, policy: SizingPolicy) -> float:
        """Expected points/s now, at a nominal task size (0 if unknown)."""
        return self.capacity.rate(_NOMINAL_N, self.factor(policy))

    @property
    def assignable(self) -> bool:
        """May receive new tasks: active with an open stream."""
        return self.state == ACTIVE and self.stream is not None and not self.draining


class Registry:
    """Workers by id, with registration, heartbeats and the liveness sweep."""

    def __init__(
        self,
        policy: SizingPolicy,
        *,
        heartbeat_interval: float = 5.0,
        max_missed: int = 3,
        quarantined: dict[str, str] | None = None,
        on_lost: Callable[[WorkerRecord, str], None] | None = None,
        forget_dead_after: float | None = 600.0,
    ) -> None:
        if heartbeat_interval <= 0 or max_missed < 1:
            raise ValueError("heartbeat_interval must be > 0 and max_missed >= 1")
        if forget_dead_after is not None and forget_dead_after < 0:
            raise ValueError("forget_dead_after must be >= 0 (or None: never)")
        self.forget_dead_after = forget_dead_after
        self.policy = policy
        self.heartbeat_interval = heartbeat_interval
        self.max_missed = max_missed
        self.workers: dict[str, WorkerRecord] = {}
        self.quarantined: dict[str, str] = dict(quarantined or {})
        self.on_lost = on_lost or (lambda rec, why: None)

    def register(
        self,
        worker_id: str,
        node: NodeFacts,
        cached: dict[str, set[int]],
        load: LoadSample | None,
    ) -> WorkerRecord:
        """(Re-)register a worker; a previous session's tasks are requeued."""
        now = trio.current_time()
        old = self.workers.get(worker_id)
        if old is not None:
            self._lose(old, "re-registered")
        cap = old.capacity if old is not None else CapacityEstimate(self.policy)
        rec = WorkerRecord(
            worker_id=worker_id,
            session_id=secrets.token_hex(8),
            node=node,
            capacity=cap,
            registered_at=now,
            last_heartbeat=now,
            held=cached,
        )
        rec.set_load(load)
        if node.scalar_cache_bytes:
            rec.scalars = SliceLru(min(node.scalar_cache_bytes, MAX_SCALAR_CACHE))
        if old is not None:
            rec.points_done, rec.tasks_done = old.points_done, old.tasks_done
            rec.compute_seconds = old.compute_seconds
        if worker_id in self.quarantined:
            rec.state = QUARANTINED
        cap.seed(node.bench_points_per_sec, BENCH_POINTS, rec.factor(self.policy))
        self.workers[worker_id] = rec
        log.info(
            "worker %s %s (host %s, %s, %d threads, benchmark %.0f points/s)%s",
            worker_id,
            "registered" if old is None else "re-registered",
            node.hostname or "?",
            node.arch or "?",
            node.threads,
            node.bench_points_per_sec,
            f"; quarantined: {self.quarantined[worker_id]}" if rec.state == QUARANTINED else "",
        )
        return rec

    def get(self, worker_id: str, session_id: str | None = None) -> WorkerRecord | None:
        """The live record for an id (and session, if given); None if unknown or dead."""
        rec = self.workers.get(worker_id)
        if rec is None or rec.state == DEAD:
            return None
        if session_id and rec.session_id != session_id:
            return None
        return rec

    def heartbeat(self, rec: WorkerRecord, load: LoadSample | None) -> bool:
        """Record a heartbeat; returns True if the worker became assignable again."""
        rec.last_heartbeat = trio.current_time()
        rec.set_load(load)
        if rec.state == SUSPECT:
            rec.state = ACTIVE
            log.info("worker %s heartbeats again: active", rec.worker_id)
            return True
        return False

    def open_stream(self, rec: WorkerRecord) -> trio.MemoryReceiveChannel[Order]:
        """Attach a fresh task stream to a worker (closing an older one)."""
        if rec.stream is not None:
            rec.stream.close()
            self._lose(rec, "stream replaced", keep_state=True)
        send, recv = trio.open_memory_channel[Order](math.inf)
        rec.stream = send
        if rec.scalars is not None:  # what went down an older stream may never have arrived
            rec.scalars = SliceLru(rec.scalars.capacity)
        return recv

    def open_cancels(self, rec: WorkerRecord) -> trio.MemoryReceiveChannel[Cancellation]:
        """Attach a fresh cancellation stream to a worker (closing an older one)."""
        if rec.cancels is not None:
            rec.cancels.close()
        send, recv = trio.open_memory_channel[Cancellation](math.inf)
        rec.cancels = send
        return recv

    def cancels_closed(self, rec: WorkerRecord, send: trio.MemorySendChannel[Cancellation]) -> None:
        """The ReceiveCancels stream ``send`` belonged to ended."""
        if rec.cancels is send:
            rec.cancels = None

    def stream_closed(self, rec: WorkerRecord, send: trio.MemorySendChannel[Order]) -> None:
        """The ReceiveTasks stream ``send`` belonged to ended; requeue if it was the current one."""
        if rec.stream is send:
            rec.stream = None
            self._lose(rec, "task stream closed", keep_state=True)

    def sweep(self) -> list[WorkerRecord]:
        """Mark silent workers suspect/dead and forget the long dead; returns the newly dead."""
        now = trio.current_time()
        dead = []
        for rec in list(self.workers.values()):
            if rec.state == DEAD:
                since = rec.dead_since if rec.dead_since is not None else now
                if self.forget_dead_after is not None and now - since >= self.forget_dead_after:
                    del self.workers[rec.worker_id]
                    log.info("worker %s forgotten: dead for %.0f s", rec.worker_id, now - since)
                continue
            if rec.state == QUARANTINED:
                continue
            silent = now - rec.last_heartbeat
            if silent > self.max_missed * self.heartbeat_interval:
                rec.state = DEAD
                rec.dead_since = now
                log.warning(
                    "worker %s dead: heartbeat lost (silent for %.1f s)", rec.worker_id, silent
                )
                self._lose(rec, f"no heartbeat for {silent:.1f}s")
                dead.append(rec)
            elif silent > 1.5 * self.heartbeat_interval and rec.state != SUSPECT:
                rec.state = SUSPECT
                log.info(
                    "worker %s suspect: no heartbeat for %.1f s (no new tasks)",
                    rec.worker_id,
                    silent,
                )
        return dead

    def quarantine(self, worker_id: str, reason: str) -> None:
        """Stop giving a worker tasks (its running attempts are requeued elsewhere)."""
        self.quarantined[worker_id] = reason
        log.warning("worker %s quarantined: %s", worker_id, reason)
        rec = self.workers.get(worker_id)
        if rec is not None and rec.state != DEAD:
            rec.state = QUARANTINED
            self._lose(rec, f"quarantined: {reason}", keep_state=True)

    def release(self, worker_id: str) -> None:
        """Undo :meth:`quarantine`."""
        if self.quarantined.pop(worker_id, None) is not None:
            log.info("worker %s released from quarantine", worker_id)
        rec = self.workers.get(worker_id)
        if rec is not None and rec.state == QUARANTINED:
            rec.state = ACTIVE

    def _lose(self, rec: WorkerRecord, why: str, keep_state: bool = False) -> None:
        """Hand the worker's attempts back to the scheduler; dead/replaced sessions lose their
        stream too (``keep_state``: the stream is gone already or stays, e.g. quarantine)."""
        if not keep_state and rec.stream is not None:
            rec.stream.close()
            rec.stream = None
        if not keep_state and rec.cancels is not None:
            rec.cancels.close()
            rec.cancels = None
        self.on_lost(rec, why)
