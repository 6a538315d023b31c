"""Scheduler: jobs made of MSMs, carved into range tasks on demand, each run as attempts.

A job holds one or more MSMs (any curve/group/table each, e.g. the five MSMs of a Groth16
proof). Tasks are carved lazily from each MSM's free intervals when a worker has a free slot, so
their size follows the worker's current capacity (see :mod:`zkedge.fleet.coordinator.sizing`).
A task is a fixed range; an *attempt* is one assignment of it to a worker, numbered 1, 2, ...
Reports name (task id, attempt) and are idempotent: only the first completion of a task counts, and
reports for attempts that are finished, lost (worker declared dead / stream broken) or cancelled
are acknowledged and ignored.

Everything here is synchronous state changed from trio tasks; :meth:`Scheduler.dispatch` is
called after every state change and pushes assignments into the workers' stream channels.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import logging
import math
import secrets
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import trio

from zkedge.curves import Point, check_group, get_curve
from zkedge.fleet.common import JobFailed
from zkedge.fleet.coordinator.registry import Registry, WorkerRecord
from zkedge.fleet.coordinator.sizing import (
    SizingPolicy,
    attempt_deadline,
    block_units,
    group_cost,
    pick_start,
    should_speculate,
    task_size,
)
from zkedge.fleet.coordinator.store import Store, StoredJob
from zkedge.fleet.proto.coordinator.v1 import TaskAssignment, TaskCancel, TaskMessage
from zkedge.fleet.scalar_lru import scalars_hash
from zkedge.msm import table_hash

log = logging.getLogger("zkedge.fleet.coordinator")

__all__ = [
    "Attempt",
    "Job",
    "JobFailed",
    "MsmState",
    "PartialResult",
    "Progress",
    "Scheduler",
    "Task",
    "table_hash",
]

RUNNING, DONE, FAILED, LOST, CANCELLED, PENDING = (
    "running",
    "done",
    "failed",
    "lost",
    "cancelled",
    "pending",
)


@dataclass(frozen=True)
class Progress:
    """A snapshot of a job's progress."""

    state: str
    points_done: int
    points_total: int
    tasks_done: int
    tasks_total: int

    @property
    def fraction(self) -> float:
        """Share of points whose partial sums are in (0..1)."""
        return self.points_done / self.points_total if self.points_total else 1.0


@dataclass(frozen=True)
class PartialResult:
    """The accepted partial sum of one task (what a Groth16 checker needs to find a liar)."""

    task_id: str
    msm_index: int
    start: int
    count: int
    worker_id: str
    attempt: int
    point: Point
    encoded: bytes  # "be" encoding


@dataclass(eq=False)
class MsmState:
    """One MSM of a job: its table, scalars, free (unassigned) intervals and result.

    ``cum[i]`` is the work (sizing units: see :mod:`zkedge.fleet.coordinator.sizing`) of the first
    ``i`` blocks of ``block`` points, from the group's weight and the scalars' sizes, so ranges
    are sized by what they cost rather than by their length.
    """

    idx: int
    curve: str
    group: str
    table_hash: str
    n: int
    scalars: bytes
    free: list[tuple[int, int]]
    block: int = 4096
    result: Point = None
    done: bool = False
    cum: list[float] = field(default_factory=list)
    table_n: int = 0  # points in the whole table (the MSM may use a prefix)
    hashes: dict[tuple[int, int], str] = field(default_factory=dict)  # (start, count) -> hash

    def scalar_slice(self, start: int, count: int) -> bytes:
        """The scalars of points [start, start + count) (a copy, for the wire)."""
        return self.scalars[32 * start : 32 * (start + count)]

    def scalar_hash(self, start: int, count: int) -> str:
        """The hash (zkedge.fleet.scalar_lru) of those scalars, computed in place once per range:
        the A, B1 and B2 tasks of a proof often share one, and a worker that holds the slice
        gets no copy of it."""
        h = self.hashes.get((start, count))
        if h is None:
            view = memoryview(self.scalars)[32 * start : 32 * (start + count)]
            h = self.hashes[(start, count)] = scalars_hash(view)
        return h

    def __post_init__(self) -> None:
        if not self.cum:
            units = block_units(self.scalars, self.block, group_cost(self.curve, self.group))
            self.cum = list(itertools.accumulate(units, initial=0.0))

    def _at(self, x: int) -> float:
        """Work of points [0, x), linear inside a block."""
        b, r = divmod(x, self.block)
        if r == 0:
            return self.cum[b]
        width = min(self.block, self.n - b * self.block)
        return self.cum[b] + (self.cum[b + 1] - self.cum[b]) * r / width

    def cost(self, start: int, count: int) -> float:
        """Work of points [start, start + count)."""
        return self._at(start + count) - self._at(start)

    def points_for(self, start: int, units: float) -> int:
        """Fewest points from ``start`` whose work reaches ``units`` (at most n - start)."""
        goal = self._at(start) + units
        if goal >= self.cum[-1]:
            return self.n - start
        b = bisect.bisect_right(self.cum, goal) - 1  # goal falls inside block b
        lo = b * self.block
        width = min(self.block, self.n - lo)
        step = (self.cum[b + 1] - self.cum[b]) / width
        x = lo + (math.ceil((goal - self.cum[b]) / step - 1e-9) if step > 0 else 0)
        return max(1, min(self.n, x) - start)


@dataclass(eq=False)
class Task:
    """A fixed range of one MSM."""

    id: str
    job: Job
    msm: MsmState
    start: int
    count: int
    state: str = PENDING
    attempts: int = 0  # attempts issued so far (numbers 1..attempts)
    strikes: int = 0  # failures and losses, against the retry limit
    runs: dict[int, Attempt] = field(default_factory=dict)
    result: bytes | None = None
    point: Point = None
    worker_id: str | None = None
    winning_attempt: int = 0
    compute_seconds: float = 0.0

    @property
    def units(self) -> float:
        """Estimated work of this range (sizing units)."""
        return self.msm.cost(self.start, self.count)

    def running(self) -> list[Attempt]:
        """Attempts still out on workers."""
        return [a for a in self.runs.values() if a.state == RUNNING]


@dataclass(eq=False)
class Attempt:
    """One assignment of a task to a worker."""

    task: Task
    number: int
    worker_id: str
    started: float  # inf while queued behind another attempt on the same worker
    expected: float
    deadline: float
    state: str = RUNNING
    verify: _Verify | None = None


@dataclass(eq=False)
class _Verify:
    """A request to recompute a finished task on a different worker."""

    task: Task
    exclude: frozenset[str]
    replace: bool
    done: trio.Event = field(default_factory=trio.Event)
    outcome: PartialResult | None = None
    error: str | None = None


class Job:
    """A submitted job; awaitable through :class:`zkedge.fleet.coordinator.JobHandle`."""

    def __init__(self, job_id: str, label: str, msms: list[MsmState]) -> None:
        self.id = job_id
        self.label = label
        self.msms = msms
        self.tasks: dict[str, Task] = {}
        self.state = RUNNING
        self.error: str | None = None
        self.finished = trio.Event()
        self._changed = trio.Event()
        self.points_total = sum(m.n for m in msms)
        self.points_done = 0

    def progress(self) -> Progress:
        """Current progress snapshot."""
        done = sum(1 for t in self.tasks.values() if t.state == DONE)
        return Progress(self.state, self.points_done, self.points_total, done, len(self.tasks))

    def touch(self) -> None:
        """Wake everyone waiting in :meth:`wait_changed`."""
        self._changed.set()
        self._changed = trio.Event()

    async def wait_changed(self) -> None:
        """Sleep until the job's progress or state changes."""
        await self._changed.wait()

    def results(self) -> list[Point]:
        """Per-MSM results (raises :class:`JobFailed` if the job failed)."""
        if self.state == FAILED:
            raise JobFailed(self.error or "job failed")
        return [m.result for m in self.msms]

    def partials(self) -> list[PartialResult]:
        """Accepted partial sums, in MSM then range order."""
        out = []
        for t in sorted(self.tasks.values(), key=lambda t: (t.msm.idx, t.start)):
            if t.state == DONE and t.result is not None and t.worker_id is not None:
                out.append(
                    PartialResult(
                        t.id,
                        t.msm.idx,
                        t.start,
                        t.count,
                        t.worker_id,
                        t.winning_attempt,
                        t.point,
                        t.result,
                    )
                )
        return out

    def shares(self) -> dict[str, tuple[int, int, float]]:
        """worker id -> (points, tasks, compute seconds) of accepted results."""
        out: dict[str, tuple[int, int, float]] = {}
        for t in self.tasks.values():
            if t.state == DONE and t.worker_id is not None:
                p, k, s = out.get(t.worker_id, (0, 0, 0.0))
                out[t.worker_id] = (p + t.count, k + 1, s + t.compute_seconds)
        return out


def _ec() -> Any:
    from zkedge import ec  # native-backed; imported lazily so pure parts load without it

    return ec


def _inflight_units(w: WorkerRecord, now: float) -> float:
    """Work the ordinary attempts a worker holds still have to do: all of a queued one, the
    part of a running one its expected time says is left. Counting a half-done task whole
    made a worker that had just started a long task look as loaded as one about to finish
    it, and the next MSM went to the wrong one."""
    left = 0.0
    for a in w.inflight.values():
        if a.verify is not None:
            continue
        frac = 1.0
        if math.isfinite(a.started) and math.isfinite(a.expected) and a.expected > 0:
            frac = min(1.0, max(0.0, 1.0 - (now - a.started) / a.expected))
        left += a.task.units * frac
    return left


class Scheduler:
    """Jobs, tasks, attempts and dispatch; see the module docstring."""

    def __init__(
        self,
        store: Store,
        registry: Registry,
        policy: SizingPolicy,
        *,
        max_attempts: int = 5,
        pipeline_depth: int = 2,
        history: int = 100,
        keep_scalars: int = 4,
        table_memory: int | None = None,
    ) -> None:
        if max_attempts < 1 or pipeline_depth < 1:
            raise ValueError("max_attempts and pipeline_depth must be >= 1")
        if table_memory is not None and table_memory < 0:
            raise ValueError("table_memory must be >= 0 (or None: no bound)")
        # Base tables in memory, least recently used first; beyond ``table_memory`` bytes the
        # oldest leave memory (a persistent store still has them: table() reloads on demand).
        self.table_memory = table_memory
        self._table_bytes = 0
        self.store = store
        self.registry = registry
        self.policy = policy
        self.max_attempts = max_attempts
        self.pipeline_depth = pipeline_depth
        self._held_total = 0.0  # work held by assignable workers, during a dispatch pass
        self.history = history
        self.keep_scalars = keep_scalars
        self.jobs: dict[str, Job] = {}  # running jobs and the most recent finished ones
        self.running: dict[str, Job] = {}
        self.tasks: dict[str, Task] = {}
        self.pending: list[Task] = []  # fixed ranges waiting for a (new) attempt
        self._verifies: list[_Verify] = []
        self._tables: OrderedDict[str, tuple[str, str, int, bytes]] = OrderedDict()
        self._ids = itertools.count(1)
        self._dispatching = False
        registry.on_lost = self.worker_lost
        # Task scalars put on the wire, left out because the worker held them, and sent again
        # after a worker reported them missing (bytes, bytes, count).
        self.scalar_bytes_sent = 0
        self.scalar_bytes_saved = 0
        self.scalar_resends = 0

    # ------------------------------------------------------------------ tables and jobs
    def add_table(self, curve: str, group: str, mont: bytes, digest: str | None = None) -> str:
        """Store a base table (mont bytes) and return its content hash (``digest``: that hash,
        already computed by the caller with :func:`table_hash`)."""
        c = get_curve(curve)
        pb = c.point_bytes(check_group(group))
        if not mont or len(mont) % pb:
            raise ValueError(f"bases must be a non-empty multiple of {pb} bytes")
        h = digest if digest is not None else table_hash(c.name, group, mont)
        if self.table(h) is None:
            if self.store.persistent:
                self.store.put_table(h, c.name, group, len(mont) // pb, mont)
            self._keep_table(h, (c.name, group, len(mont) // pb, mont))
        return h

    def table(self, h: str) -> tuple[str, str, int, bytes] | None:
        """(curve, group, n, mont bytes) for a content hash, from memory or the store."""
        t = self._tables.get(h)
        if t is not None:
            self._tables.move_to_end(h)
            return t
        t = self.store.get_table(h) if self.store.persistent else None
        if t is not None:
            self._keep_table(h, t)
        return t

    def tables_in_memory(self) -> list[str]:
        """Hashes of the base tables held in memory, least recently used first."""
        return list(self._tables)

    def _keep_table(self, h: str, t: tuple[str, str, int, bytes]) -> None:
        self._tables[h] = t
        self._table_bytes += len(t[3])
        if self.table_memory is None or not self.store.persistent:
            return  # an in-memory store has no other copy to reload from
        while self._table_bytes > self.table_memory and len(self._tables) > 1:
            _, old = self._tables.popitem(last=False)
            self._table_bytes -= len(old[3])

    def submit(self, label: str, msms: Sequence[tuple[str, int, bytes]]) -> Job:
        """New job from ``(table_hash, n, scalars)`` triples (tables already added)."""
        if not msms:
            raise ValueError("a job needs at least one MSM")
        job_id = secrets.token_hex(8)
        states = []
        for i, (h, n, scalars) in enumerate(msms):
            t = self.table(h)
            if t is None:
                raise ValueError(f"unknown table {h}")
            if not 0 < n <= t[2] or len(scalars) != 32 * n:
                raise ValueError(f"MSM {i}: need 0 < n <= {t[2]} and 32*n scalar bytes")
            states.append(
                MsmState(
                    i, t[0], t[1], h, n, scalars, [(0, n)], self.policy.block_points, table_n=t[2]
                )
            )
        self.store.add_job(job_id, label, [(m.table_hash, m.n, m.scalars) for m in states])
        job = Job(job_id, label, states)
        self.jobs[job_id] = job
        self.running[job_id] = job
        self.dispatch()
        return job

    def recover(self) -> list[Job]:
        """Rebuild unfinished jobs from the store after a restart."""
        ec = None
        for sj in self.store.unfinished_jobs():
            job = self._rebuild(sj)
            for t in job.tasks.values():
                if t.state == DONE and t.result is not None:
                    ec = ec or _ec()
                    t.point = ec.decode(t.msm.curve, t.msm.group, t.result, "be", check="none")
            self.jobs[job.id] = job
            self.running[job.id] = job
            for m in job.msms:
                self._maybe_finish_msm(job, m)
        return list(self.jobs.values())

    def _rebuild(self, sj: StoredJob) -> Job:
        msms = []
        for sm in sj.msms:
            t = self.table(sm.table_hash)
            if t is None:
                raise RuntimeError(f"store is missing table {sm.table_hash}")
            msms.append(
                MsmState(
                    sm.idx,
                    t[0],
                    t[1],
                    sm.table_hash,
                    sm.n,
                    sm.scalars,
                    [],
                    self.policy.block_points,
                    table_n=t[2],
                )
            )
        job = Job(sj.id, sj.label, msms)
        covered: dict[int, list[tuple[int, int]]] = {m.idx: [] for m in msms}
        for st in sj.tasks:
            m = msms[st.msm_idx]
            task = Task(st.id, job, m, st.start, st.count, attempts=st.attempts)
            if st.state == DONE and st.result is not None:
                task.state, task.result, task.worker_id = DONE, st.result, st.worker_id
                task.compute_seconds = st.compute_seconds or 0.0
                job.points_done += st.count
            else:
                self.pending.append(task)
            job.tasks[task.id] = task
            self.tasks[task.id] = task
            covered[m.idx].append((st.start, st.start + st.count))
        for m in msms:
            pos, free = 0, []
            for s, e in sorted(covered[m.idx]):
                if s > pos:
                    free.append((pos, s))
                pos = max(pos, e)
            if pos < m.n:
                free.append((pos, m.n))
            m.free = free
        return job

    def cancel_job(self, job: Job, reason: str = "cancelled") -> None:
        """Fail a job and call back its running attempts."""
        self._fail_job(job, reason)

    # ------------------------------------------------------------------ dispatch
    def dispatch(self) -> None:
        """Fill every assignable worker's pipeline; then consider speculative re-issues.

        Cheap when there is nothing to do (it runs on every heartbeat state change and tick).
        """
        if self._dispatching or not (self.running or self._verifies):
            return
        self._dispatching = True
        try:
            work = bool(self._verifies or self.pending) or any(
                m.free for j in self.running.values() for m in j.msms
            )
            workers = [w for w in self.registry.workers.values() if w.assignable]
            if not workers:
                return
            if work:
                fleet = self._fleet_capacity(workers)
                # work out on workers, counted once per pass; _start adds what it hands out
                now = trio.current_time()
                self._held_total = sum(_inflight_units(w, now) for w in workers)
                progress = True
                while progress:
                    progress = False
                    for w in sorted(workers, key=lambda w: len(w.inflight)):
                        if not w.assignable or len(w.inflight) >= self.pipeline_depth:
                            continue
                        if self._assign_next(w, fleet):
                            progress = True
            self._speculate(workers)
        finally:
            self._dispatching = False

    def _fleet_capacity(self, workers: list[WorkerRecord]) -> float:
        return sum((w.capacity.k or 0.0) * w.factor(self.policy) for w in workers)

    def _assign_next(self, w: WorkerRecord, fleet: float) -> bool:
        # 1. verification re-runs (Groth16 blame finding), never on an excluded worker
        for v in self._verifies:
            if w.worker_id not in v.exclude and not any(
                a.verify is v and a.state == RUNNING for a in v.task.runs.values()
            ):
                return self._start(w, v.task, verify=v)
        # 2. requeued fixed ranges, preferring ones the worker caches
        candidates = [t for t in self.pending if t.job.state == RUNNING]
        if candidates:
            best = max(
                candidates, key=lambda t: self._held_fraction(w, t.msm.table_hash, t.start, t.count)
            )
            self.pending.remove(best)
            return self._start(w, best)
        self.pending = candidates
        # 3. carve a new range from the oldest running job with free points
        remaining = sum(
            m.cost(a, e - a) for j in self.running.values() for m in j.msms for a, e in m.free
        )
        mine = _inflight_units(w, trio.current_time())
        for job in self.running.values():
            pick: tuple[bool, float, MsmState, int, int, int] | None = None
            for m in job.msms:
                if not m.free:
                    continue
                i, start = pick_start(
                    m.free, w.held.get(m.table_hash, ()), self.policy.block_points
                )
                e = m.free[i][1]
                whole = m.cost(start, e - start)
                size = task_size(
                    self.policy,
                    worker_rate_k=w.capacity.k or 0.0,
                    worker_factor=w.factor(self.policy),
                    fleet_capacity=fleet,
                    remaining=remaining,
                    free_here=e - start,
                    inflight_here=mine,
                    inflight_total=self._held_total,
                    to_points=functools.partial(m.points_for, start),
                    free_units=whole,
                )
                if size <= 0:
                    return False
                # A whole free range that fits the share beats a piece of a bigger one (no
                # split, no extra fixed cost); among equals, the most work first.
                key = (size == e - start, whole, m, i, start, size)
                if pick is None or key[:2] > pick[:2]:
                    pick = key
            if pick is None:
                continue
            _, _, m, i, start, size = pick
            e = m.free[i][1]
            if start + size < e and size % self.policy.block_points:
                size = max(
                    self.policy.block_points,
                    (start + size) // self.policy.block_points * self.policy.block_points - start,
                )
            task = self._carve(job, m, i, start, size)
            return self._start(w, task)
        return False

    def _held_fraction(self, w: WorkerRecord, h: str, start: int, count: int) -> float:
        blocks = w.held.get(h)
        if not blocks:
            return 0.0
        b = self.policy.block_points
        want = range(start // b, (start + count - 1) // b + 1)
        return sum(1 for x in want if x in blocks) / len(want)

    def _carve(self, job: Job, m: MsmState, i: int, start: int, size: int) -> Task:
        s, e = m.free[i]
        stop = start + size
        pieces = [(a, b) for a, b in ((s, start), (stop, e)) if b > a]
        m.free[i : i + 1] = pieces
        task = Task(f"{job.id}.{m.idx}.{start}", job, m, start, size)
        self.store.add_task(task.id, job.id, m.idx, start, size)
        job.tasks[task.id] = task
        self.tasks[task.id] = task
        return task

    def _start(self, w: WorkerRecord, task: Task, verify: _Verify | None = None) -> bool:
        if w.stream is None:
            return False
        task.attempts += 1
        now = trio.current_time()
        expected = w.capacity.seconds_for(task.units, w.factor(self.policy), task.count)
        began = now if not w.inflight else math.inf  # workers run one task at a time
        att = Attempt(
            task,
            task.attempts,
            w.worker_id,
            began,
            expected,
            began + attempt_deadline(self.policy, expected),
            verify=verify,
        )
        task.runs[att.number] = att
        if verify is None:
            task.state = RUNNING
        self.store.task_attempts(task.id, task.attempts)
        m = task.msm
        scalars, h = b"", ""
        if w.scalars is None:  # a worker without a scalar cache gets every slice, no hash
            scalars = m.scalar_slice(task.start, task.count)
        else:
            # Leave the scalars out when the worker holds them; either way the worker's cache
            # sees this assignment next, and the mirror follows it (zkedge.fleet.scalar_lru).
            h = m.scalar_hash(task.start, task.count)
            if w.scalars.touch(h):
                self.scalar_bytes_saved += 32 * task.count
            else:
                w.scalars.put(h, 32 * task.count)
                scalars = m.scalar_slice(task.start, task.count)
        self.scalar_bytes_sent += len(scalars)
        msg = TaskMessage(
            assign=TaskAssignment(
                task_id=task.id,
                attempt=att.number,
                job_id=task.job.id,
                curve=m.curve,
                group=m.group,
                table_hash=m.table_hash,
                table_n=m.table_n,
                start=task.start,
                count=task.count,
                scalars=scalars,
                expected_seconds=expected if math.isfinite(expected) else 0.0,
                scalars_hash=h,
            )
        )
        try:
            w.stream.send_nowait(msg)
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            att.state = LOST
            self._requeue(task)
            return False
        w.inflight[(task.id, att.number)] = att
        if verify is None:
            self._held_total += task.units
        return True

    def _steal_queued(self, idle: list[WorkerRecord], now: float) -> None:
        """Move attempts still queued behind another task on a busy worker to idle workers that
        would finish them sooner (the queued copy is cancelled before it starts; if the busy
        worker reached it meanwhile, the first result wins as with speculation)."""
        for w in list(idle):
            best: tuple[float, Attempt] | None = None
            for other in self.registry.workers.values():
                if other is w or not other.inflight:
                    continue
                ahead = sum(  # what the busy worker must finish before it reaches its queue
                    max(0.0, a.expected - (now - a.started)) if math.isfinite(a.started) else 0.0
                    for a in other.inflight.values()
                )
                for att in other.inflight.values():
                    if math.isfinite(att.started) or att.verify is not None:
                        continue
                    if att.task.state != RUNNING or len(att.task.running()) != 1:
                        continue
                    t = att.task
                    mine = w.capacity.seconds_for(t.units, w.factor(self.policy), t.count)
                    gain = ahead + att.expected - mine
                    if math.isfinite(gain) and gain > 0 and (best is None or gain > best[0]):
                        best = (gain, att)
            if best is not None:
                att = best[1]
                self._cancel(att)
                if self._start(w, att.task):
                    idle.remove(w)

    def _speculate(self, workers: list[WorkerRecord]) -> None:
        if self.pending or any(m.free for j in self.running.values() for m in j.msms):
            return
        idle = [w for w in workers if w.assignable and not w.inflight]
        if not idle:
            return
        now = trio.current_time()
        self._steal_queued(idle, now)
        for job in list(self.running.values()):
            for task in job.tasks.values():
                if task.state != RUNNING or not idle:
                    continue
                runs = task.running()
                if len(runs) != 1 or runs[0].verify is not None:
                    continue
                att = runs[0]
                cand = [w for w in idle if w.worker_id != att.worker_id]
                if not cand:
                    continue
                units, n = task.units, task.count
                best = min(
                    cand, key=lambda w: w.capacity.seconds_for(units, w.factor(self.policy), n)
                )
                idle_expected = best.capacity.seconds_for(units, best.factor(self.policy), n)
                if should_speculate(
                    self.policy,
                    elapsed=now - att.started,
                    expected=att.expected,
                    idle_expected=idle_expected,
                ) and self._start(best, task):
                    idle.remove(best)

    # ------------------------------------------------------------------ reports
    def _attempt(self, worker_id: str, task_id: str, attempt: int) -> tuple[Attempt | None, str]:
        task = self.tasks.get(task_id)
        if task is None:
            return None, "unknown task"
        att = task.runs.get(attempt)
        if att is None:
            return None, "unknown attempt"
        if att.worker_id != worker_id:
            return None, "attempt was assigned to another worker"
        if att.state != RUNNING:
            return None, f"attempt already {att.state}"
        return att, ""

    def complete(
        self, worker_id: str, task_id: str, attempt: int, result: bytes, compute_seconds: float
    ) -> tuple[bool, str]:
        """A worker's result for (task, attempt): (accepted, detail). Idempotent."""
        att, why = self._attempt(worker_id, task_id, attempt)
        if att is None:
            return False, why
        task = att.task
        w = self.registry.workers.get(worker_id)
        try:
            point = _ec().decode(task.msm.curve, task.msm.group, result, "be", check="curve")
        except ValueError as exc:
            self.fail(worker_id, task_id, attempt, f"bad partial sum: {exc}", handed_back=False)
            return False, f"bad partial sum: {exc}"
        att.state = DONE
        if w is not None:
            w.inflight.pop((task_id, attempt), None)
            self._promote(w)
            if compute_seconds > 0:
                w.capacity.observe(task.units, compute_seconds, w.factor(self.policy), task.count)
                w.compute_seconds += compute_seconds
        if att.verify is not None:
            self._finish_verify(att, point, result)
            self.dispatch()
            return True, "verification result"
        if task.state == DONE:
            self.dispatch()
            return False, "task already completed by another attempt"
        task.state, task.result, task.point = DONE, result, point
        task.worker_id, task.winning_attempt = worker_id, attempt
        task.compute_seconds = compute_seconds
        if w is not None:
            w.points_done += task.count
            w.tasks_done += 1
        self.store.task_done(task.id, result, worker_id, compute_seconds)
        for other in task.running():
            if other.verify is None:
                self._cancel(other)
        job = task.job
        job.points_done += task.count
        self._maybe_finish_msm(job, task.msm)
        job.touch()
        self.dispatch()
        return True, "accepted"

    def fail(
        self,
        worker_id: str,
        task_id: str,
        attempt: int,
        error: str,
        handed_back: bool,
        scalars_missing: bool = False,
    ) -> tuple[bool, str]:
        """A worker's failure (or hand-back) of (task, attempt): (accepted, detail).

        ``scalars_missing``: the assignment left its scalars out and the worker's cache lacked
        them (the mirror was wrong); no strike, and the next assignment carries them."""
        att, why = self._attempt(worker_id, task_id, attempt)
        if att is None:
            return False, why
        att.state = FAILED
        w = self.registry.workers.get(worker_id)
        if w is not None:
            w.inflight.pop((task_id, attempt), None)
            self._promote(w)
            if handed_back:
                w.draining = True
            if scalars_missing and w.scalars is not None:
                self.scalar_resends += 1
                m = att.task.msm
                w.scalars.discard(m.scalar_hash(att.task.start, att.task.count))
        if att.verify is not None:
            att.verify.error = error
            att.verify.exclude = att.verify.exclude | {worker_id}  # try someone else
            self.dispatch()
            return True, "verification attempt failed; will retry elsewhere"
        task = att.task
        if not handed_back and not scalars_missing:
            task.strikes += 1
        if task.strikes >= self.max_attempts:
            self._fail_job(task.job, f"task {task.id} failed {task.strikes} times: {error}")
        elif task.state != DONE and not task.running():
            self._requeue(task)
        self.dispatch()
        return True, "requeued" if task.state == PENDING else "recorded"

    def worker_lost(self, w: WorkerRecord, why: str) -> None:
        """Requeue every attempt the worker was running (dead, stream broken, quarantined)."""
        if w.inflight:
            log.info(
                "worker %s lost (%s): requeueing %d attempts", w.worker_id, why, len(w.inflight)
            )
        for att in list(w.inflight.values()):
            att.state = LOST
            task = att.task
            if att.verify is None:
                task.strikes += 1
                if task.strikes >= self.max_attempts:
                    self._fail_job(task.job, f"task {task.id} lost {task.strikes} times ({why})")
                elif task.state != DONE and not task.running():
                    self._requeue(task)
        w.inflight.clear()
        self.dispatch()

    def tick(self) -> None:
        """Periodic: deadlines (presume silent attempts lost) and speculation."""
        now = trio.current_time()
        for w in list(self.registry.workers.values()):
            for key, att in list(w.inflight.items()):
                if now > att.deadline:
                    att.state = LOST
                    w.inflight.pop(key, None)
                    self._promote(w)
                    task = att.task
                    task.strikes += 1
                    if task.strikes >= self.max_attempts:
                        self._fail_job(task.job, f"task {task.id} timed out {task.strikes} times")
                    elif task.state != DONE and not task.running() and att.verify is None:
                        self._requeue(task)
        self.dispatch()

    def _promote(self, w: WorkerRecord) -> None:
        """The worker finished something: its oldest queued attempt is now running."""
        queued = [a for a in w.inflight.values() if math.isinf(a.started)]
        if queued and not any(math.isfinite(a.started) for a in w.inflight.values()):
            att = queued[0]
            att.started = trio.current_time()
            att.deadline = att.started + attempt_deadline(self.policy, att.expected)

    def _requeue(self, task: Task) -> None:
        if task.state != DONE and task not in self.pending and task.job.state == RUNNING:
            task.state = PENDING
            self.pending.append(task)

    def _cancel(self, att: Attempt) -> None:
        att.state = CANCELLED
        w = self.registry.workers.get(att.worker_id)
        if w is None:
            return
        w.inflight.pop((att.task.id, att.number), None)
        self._promote(w)
        if w.stream is not None:
            try:
                w.stream.send_nowait(
                    TaskMessage(cancel=TaskCancel(task_id=att.task.id, attempt=att.number))
                )
            except (trio.ClosedResourceError, trio.BrokenResourceError):
                pass

    def _maybe_finish_msm(self, job: Job, m: MsmState) -> None:
        if m.done or m.free:
            return
        tasks = [t for t in job.tasks.values() if t.msm is m]
        if any(t.state != DONE for t in tasks) or sum(t.count for t in tasks) != m.n:
            return
        ec = _ec()
        acc: Point = None
        for t in tasks:
            acc = ec.add(m.curve, m.group, acc, t.point)
        m.result, m.done = acc, True
        if all(x.done for x in job.msms):
            job.state = DONE
            self.store.finish_job(
                job.id, DONE, [ec.encode(x.curve, x.group, x.result, "be") for x in job.msms], None
            )
            self._finished(job)

    def _finished(self, job: Job) -> None:
        """Bookkeeping when a job ends: wake waiters, keep only a bounded history."""
        self.running.pop(job.id, None)
        job.finished.set()
        job.touch()
        done = [j for j in self.jobs.values() if j.state != RUNNING]
        for old in done[: max(0, len(done) - self.keep_scalars)]:
            if any(m.scalars for m in old.msms):
                for m in old.msms:  # memory: only recent jobs can have tasks re-run
                    m.scalars = b""
                # and disk: a Groth16 proof stores ~10 MB of scalars a finished job no longer needs
                self.store.drop_scalars(old.id)
        for old in done[: max(0, len(done) - self.history)]:
            del self.jobs[old.id]
            for t in old.tasks:
                self.tasks.pop(t, None)

    def _fail_job(self, job: Job, error: str) -> None:
        if job.state != RUNNING:
            return
        job.state, job.error = FAILED, error
        for t in job.tasks.values():
            for att in t.running():
                self._cancel(att)
        self.pending = [t for t in self.pending if t.job is not job]
        self.store.finish_job(job.id, FAILED, None, error)
        self._finished(job)

    # ------------------------------------------------------------------ verification / blame
    def request_verify(self, task_id: str, exclude: Sequence[str], replace: bool) -> _Verify:
        """Queue a re-run of a finished task on a worker not in ``exclude``."""
        task = self.tasks.get(task_id)
        if task is None:
            raise KeyError(task_id)
        if task.state != DONE:
            raise ValueError(f"task {task_id} is not finished")
        if not task.msm.scalars:
            raise ValueError(f"task {task_id} is too old to re-run (its scalars were released)")
        v = _Verify(task, frozenset(exclude), replace)
        self._verifies.append(v)
        self.dispatch()
        return v

    def drop_verify(self, v: _Verify) -> None:
        """Forget a verification request (its caller gave up)."""
        if v in self._verifies:
            self._verifies.remove(v)

    def _finish_verify(self, att: Attempt, point: Point, encoded: bytes) -> None:
        v = att.verify
        assert v is not None
        task = v.task
        if v in self._verifies:
            self._verifies.remove(v)
        v.outcome = PartialResult(
            task.id, task.msm.idx, task.start, task.count, att.worker_id, att.number, point, encoded
        )
        if v.replace and task.job.state == DONE:
            task.point, task.result = point, encoded
            task.worker_id, task.winning_attempt = att.worker_id, att.number
            self.store.task_done(task.id, encoded, att.worker_id, 0.0)
            m = task.msm
            m.done = False
            self._maybe_finish_msm_again(task.job, m)
        v.done.set()

    def _maybe_finish_msm_again(self, job: Job, m: MsmState) -> None:
        ec = _ec()
        acc: Point = None
        for t in job.tasks.values():
            if t.msm is m:
                acc = ec.add(m.curve, m.group, acc, t.point)
        m.result, m.done = acc, True
        self.store.finish_job(
            job.id, DONE, [ec.encode(x.curve, x.group, x.result, "be") for x in job.msms], None
        )
        job.touch()
