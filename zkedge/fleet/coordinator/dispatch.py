"""Placement: which worker gets which range, when, and how big.

:meth:`Dispatcher.dispatch` runs after every state change (a submit, a report, a heartbeat that
brings a worker back, a tick). It fills each assignable worker's pipeline (``pipeline_depth``
attempts that carry data: one running, the next queued behind it; attempts on scalars the
worker holds ride along free) in this order: re-runs asked for by blame;
whole-proof tasks (:class:`zkedge.fleet.coordinator.model.ProofTask`) for workers that can
take them (:func:`zkedge.fleet.coordinator.shape.takes_whole`), first those of a zkey the
worker holds; fixed ranges waiting (first those carved for this worker, then unclaimed ones,
preferring ranges whose bases the worker caches); a new range carved from the oldest running
job, sized by :mod:`zkedge.fleet.coordinator.sizing` to the worker's share of what is left;
last, for an idle worker, ranges carved for a busy one that it would finish sooner (the
transfer of their scalars included). When nothing is left to carve, idle workers take over
attempts queued on busy ones, then speculative copies of stragglers (the first result wins).

Scalars once: MSMs of a job that take the same scalar vector (the A, B1, B2 and C MSMs of a
Groth16 proof all take the witness; :func:`zkedge.fleet.coordinator.model.align_scalars`)
are carved aligned. A range carved from one of them brings the free ranges of the others at
the same scalars with it, claimed by the same worker (the range is shrunk so that together
they cost the worker's share), so one slice of the witness travels once and serves four
MSMs (the worker's scalar cache, :mod:`zkedge.fleet.scalar_lru`). It is done for a worker
whose measured link makes the bytes saved cost more time than the shorter ranges cost in
compute (``SizingPolicy.align_cost``): on a fast link whole MSMs are cheaper.

Bytes on measured links: a range's work counts the transfer of its own scalars (packed, a
full-size witness value takes 33 bytes, a 0 or 1 at most two; ``MsmState.transfer_cost``). A
carve of H or of the witness group takes at most the worker's share of that MSM's or group's
work, so both spread over every worker's link; and among the ranges a worker could be carved,
the one with the least transfer for its work comes first, so the worker computes while the
bulkier scalars (H's) are still on the wire.

Routing: a worker gets only tasks it can take (:func:`task_cap`): of a curve it declared (an
empty list: every curve), no larger than its receive limit allows (``32 * count`` bytes of
scalars plus :data:`TASK_OVERHEAD` within ``NodeInfo.max_receive_bytes``, 4 MiB when it
declares none) and than half its memory holds (:func:`task_memory`). :func:`unplaceable` says
why no live worker can take a job's remaining work; the scheduler fails such a job after its
``no_worker_timeout``.

Windows: a job of one MSM of at least ``SizingPolicy.window_min_points`` points with mostly
full-size scalars, when every live worker takes window tasks (``NodeInfo.window_tasks``) and
can hold its whole table, is split by windows instead (:meth:`Dispatcher.plan_windows`): the line of
(window, point) cells, window by window, is cut once into one stretch per worker in proportion
to the workers' capacities, and each stretch into a few tasks of whole windows over every point
(a stretch's ends may be part of a window). Every worker then computes at the full MSM's
cost per point (a share of the points costs more per point: Pippenger's cost per point falls
with n); its first task is small, so it starts while the rest of its share travels; and its
share does not depend on which bases it happens to cache. The values a window task carries
are only its windows' bits of each scalar (:func:`zkedge.msm.scalar_window_bits`).

Orders go down each worker's stream as :class:`zkedge.fleet.coordinator.model.Assignment` and
:class:`zkedge.fleet.coordinator.model.Cancellation`; the service turns them into wire messages.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Awaitable, Callable

import trio

from zkedge.curves import check_group, get_curve
from zkedge.fleet.coordinator.model import (
    CANCELLED,
    DEFAULT_RECEIVE_BYTES,
    DONE,
    LOST,
    PENDING,
    RUNNING,
    Assignment,
    Attempt,
    Cancellation,
    Job,
    MsmState,
    ProofTask,
    ProveOrder,
    Task,
    VerifyRequest,
    inflight_units,
)
from zkedge.fleet.coordinator.registry import ACTIVE, SUSPECT, Registry, WorkerRecord
from zkedge.fleet.coordinator.shape import takes_whole
from zkedge.fleet.coordinator.sizing import (
    SizingPolicy,
    attempt_deadline,
    fair_share,
    group_cost,
    pick_start,
    should_speculate,
    size_gain,
    task_size,
)
from zkedge.fleet.coordinator.store import Store, StoreError

log = logging.getLogger("zkedge.fleet.coordinator")

__all__ = [
    "DEFAULT_RECEIVE_BYTES",
    "POOL_LEAD",
    "TASK_OVERHEAD",
    "WINDOW_POOL",
    "WINDOW_TASKS",
    "Dispatcher",
    "task_cap",
    "task_memory",
    "unplaceable",
    "window_task_fits",
]

TASK_OVERHEAD = 1024
"""Bytes of a task message besides its scalars (ids, hashes, numbers, the gRPC prefix), with
room to spare: ids are at most 128 characters, hashes 64."""


def task_memory(curve: str, group: str, count: int) -> int:
    """Bytes a worker needs for a task of ``count`` points: its bases twice (the cached blocks
    and the joined range) and its scalars twice (the message and the native call)."""
    pb = get_curve(curve).point_bytes(check_group(group))
    return 2 * count * (pb + 32)


def task_cap(w: WorkerRecord, curve: str, group: str) -> int:
    """Most points of one task of this curve and group the worker can take (0: none): a
    curve it declared (empty: all), a message within its receive limit, and a task within
    half of its memory (when it reported its memory)."""
    node = w.node
    if node.curves and curve not in node.curves:
        return 0
    limit = node.max_receive_bytes or DEFAULT_RECEIVE_BYTES
    cap = max(0, (limit - TASK_OVERHEAD) // 32)
    if node.memory_bytes:
        per_point = task_memory(curve, group, 1)
        cap = min(cap, node.memory_bytes // 2 // per_point)
    return cap


WINDOW_TASKS = 2
"""Tasks of whole windows a worker's share of an MSM split by windows goes out in, at most
(more when its receive limit needs): one window, then the rest, so the first, small, arrives
and starts while the larger other travels. Fewer tasks cost less: each pays its windows' bucket
reduction and a few milliseconds of its own on the worker, and its round on the coordinator."""
WINDOW_POOL = 1
"""Windows at the end of an MSM split by windows that no worker is given: halves that the
first worker out of work takes (see :meth:`Dispatcher.plan_windows`)."""
POOL_LEAD = 0.025
"""Seconds before a worker is expected to run out of work that a piece of the pool is sent to
it: more than a report and the next order take on their way to a worker that shares its core
(5-11 ms on a loaded 2-core host), so estimates that are a little off still find the piece
there."""


def window_task_fits(w: WorkerRecord, curve: str, group: str, table_n: int, values: int) -> bool:
    """Whether the worker can take a window task of ``values`` bytes of values over a table
    of ``table_n`` points: a curve it declared, the message within its receive limit, and the
    whole table (:func:`task_memory`) within half its memory, when it reported its memory."""
    node = w.node
    if node.curves and curve not in node.curves:
        return False
    if values + TASK_OVERHEAD > (node.max_receive_bytes or DEFAULT_RECEIVE_BYTES):
        return False
    return not node.memory_bytes or task_memory(curve, group, table_n) <= node.memory_bytes // 2


def _live(w: WorkerRecord) -> bool:
    """Could take work now or soon (registered, not dead, quarantined or draining)."""
    return w.state in (ACTIVE, SUSPECT) and not w.draining


def unplaceable(job: Job, workers: list[WorkerRecord], pending: list[Task]) -> str | None:
    """Why no live worker can take some of the job's remaining work, or None if every MSM
    with work left has a worker that can take it (free ranges are cut to fit a worker;
    requeued tasks keep their size)."""
    live = [w for w in workers if _live(w)]
    if not live:
        return "no worker is connected"
    pt = job.proof
    if pt is not None and pt.state == PENDING:
        if not any(takes_whole(w.node, pt.curve, pt.zkey_bytes, len(pt.witness)) for w in live):
            return (
                f"no worker takes whole {pt.curve} proofs of a {pt.zkey_bytes}-byte zkey "
                "(proof tasks off, curve, receive limit or memory)"
            )
    fixed: dict[int, int] = {}
    for t in pending:
        if t.job is job:
            fixed[t.msm.idx] = max(fixed.get(t.msm.idx, 0), t.count)
    for m in job.msms:
        if m.done or not (m.free or m.idx in fixed):
            continue
        what = f"MSM {m.idx} ({m.curve} {m.group})"
        curve_ok = [w for w in live if not w.node.curves or m.curve in w.node.curves]
        if not curve_ok:
            return f"{what}: no worker with curve {m.curve}"
        caps = [task_cap(w, m.curve, m.group) for w in curve_ok]
        if max(caps) < 1:
            return f"{what}: every worker with curve {m.curve} is too small for one point"
        need = fixed.get(m.idx, 0)
        if need > max(caps):
            return (
                f"{what}: a task of {need} points is larger than any worker with curve "
                f"{m.curve} can take (at most {max(caps)} points: receive limit or memory)"
            )
    return None


class Dispatcher:
    """Places the pending work of the running jobs on the fleet (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        registry: Registry,
        policy: SizingPolicy,
        running: dict[str, Job],
        tasks: dict[str, Task],
        *,
        pipeline_depth: int = 2,
    ) -> None:
        if pipeline_depth < 1:
            raise ValueError("pipeline_depth must be >= 1")
        self.store = store
        self.registry = registry
        self.policy = policy
        self.running = running  # the scheduler's running jobs (shared, not copied)
        self.tasks = tasks  # the scheduler's tasks by id (shared)
        self.pipeline_depth = pipeline_depth
        self.pending: list[Task] = []  # fixed ranges waiting for a (new) attempt
        self.proofs: list[ProofTask] = []  # whole-proof tasks waiting for a (new) attempt
        self.verifies: list[VerifyRequest] = []  # blame re-runs waiting for a worker
        self._held_total = 0.0  # work held by assignable workers, during a dispatch pass
        self._caps: dict[str, float] = {}  # capacities at share size, during a dispatch pass
        self._dispatching = False
        self.on_store_error: Callable[[Job, str], None] = lambda job, why: None
        self.on_cancel: Callable[[], None] = lambda: None  # an attempt was called back
        # Runs an async function in the coordinator's nursery (None: a dispatcher without one
        # makes window tasks' values on the spot; see plan_windows)
        self.spawn: Callable[[Callable[[], Awaitable[None]]], None] | None = None
        self._wake: float | None = None  # when a dispatch is set for (see _wake_at)
        # Task scalars left out because the worker held them, and sent again after a worker
        # reported them missing (bytes, count); those sent are bytes_sent["scalars"].
        self.scalar_bytes_saved = 0
        self.scalar_resends = 0
        # Bytes of scalars and witnesses that packing kept off the wire (zkedge.msm.pack_scalars).
        self.packing_saved = 0
        # Bytes sent to workers by kind ("scalars", "witness" of whole proofs; the service adds
        # "bases", "zkey" and the "probe" filler of MeasureLink), and speculative copies
        # started (metrics, benchmarks).
        kinds = ("scalars", "witness", "bases", "zkey", "probe")
        self.bytes_sent: dict[str, int] = dict.fromkeys(kinds, 0)
        self.speculative_copies = 0

    @property
    def scalar_bytes_sent(self) -> int:
        """Task scalars put on the wire (bytes)."""
        return self.bytes_sent["scalars"]

    def dispatch(self) -> None:
        """Fill every assignable worker's pipeline; then consider speculative re-issues.

        Cheap when there is nothing to do (it runs on every heartbeat state change and tick).
        """
        if self._dispatching or not (self.running or self.verifies):
            return
        self._dispatching = True
        try:
            work = bool(self.verifies or self.pending or self.proofs) or any(
                m.free for j in self.running.values() for m in j.msms
            )
            workers = [w for w in self.registry.workers.values() if w.assignable]
            if not workers:
                return
            if work:
                try:
                    self._plan_new(workers)
                except StoreError as exc:
                    self._store_failed(exc)
                    return
                self._caps = self._capacities(workers)
                fleet = sum(self._caps.values())
                # work out on workers, counted once per pass; _start adds what it hands out
                now = trio.current_time()
                self._held_total = sum(inflight_units(w.inflight, now) for w in workers)
                progress = True
                while progress:
                    progress = False
                    for w in sorted(workers, key=lambda w: len(w.inflight)):
                        if not w.assignable:
                            continue
                        try:
                            full = self._pipeline_full(w)
                            if full is None:
                                continue
                            if self._ride_along(w) if full else self._assign_next(w, fleet):
                                progress = True
                        except StoreError as exc:
                            self._store_failed(exc)
                            return
            self._speculate(workers)
        finally:
            self._dispatching = False

    def _plan_new(self, workers: list[WorkerRecord]) -> None:
        """Split the untouched MSMs that qualify (see :meth:`window_split`) by windows."""
        for job in self.running.values():
            for m in job.msms:
                if not m.plan and m.free == [(0, m.n)]:
                    split = self.window_split(job, m, workers)
                    if split:
                        self.plan_windows(job, m, split)

    def window_split(
        self, job: Job, m: MsmState, workers: list[WorkerRecord]
    ) -> list[WorkerRecord]:
        """The workers an untouched MSM is split among by windows (empty: it is split by
        points): at least two live workers, all taking window tasks and able to hold the whole
        table, a job of this one MSM (the plan gives it each worker's whole capacity; the MSMs
        of a proof are balanced against each other range by range), of at least
        ``window_min_points`` points, with mostly full-size scalars (a small scalar leaves most
        windows empty, and every window task pays for every point)."""
        pol = self.policy
        if pol.window_min_points <= 0 or m.n < pol.window_min_points or len(job.msms) != 1:
            return []
        live = [w for w in workers if w.assignable]
        if len(live) < 2:
            return []
        one = 3  # bytes of one window's values a point, at the most
        if not all(
            w.node.window_tasks and window_task_fits(w, m.curve, m.group, m.table_n, m.n * one)
            for w in live
        ):
            return []
        if m.cum[-1] < 0.5 * m.n * group_cost(m.curve, m.group):
            return []
        return live

    def plan_windows(self, job: Job, m: MsmState, workers: list[WorkerRecord]) -> None:
        """Carve all of an untouched MSM into window tasks. The cells (window, point), window
        after window, are a line: its last :data:`WINDOW_POOL` windows are cut into halves
        that no worker is given (whoever runs out of work first takes the next, so the workers
        finish together though their rates are a little off); the rest into one stretch per
        worker in proportion to its capacity (cuts inside a window on a block boundary), each
        stretch into tasks of one, then the rest of its whole windows over every point (its
        ends part of a window), each within the worker's receive limit. The values of each
        worker's first window's worth of tasks (a part window at its start, and the next) are
        made now, the others' in a thread (:attr:`spawn`: the first tasks go out meanwhile),
        or, without one, those of each worker's first ``pipeline_depth`` tasks now and the
        others' when the first of them is sent."""
        from zkedge.msm import window_plan, window_values_bytes

        plan = window_plan(m.curve, m.n, 1)
        n, nwin, b = m.n, len(plan), self.policy.block_points
        caps = {w.worker_id: (w.capacity.k or 0.0) * w.factor(self.policy) for w in workers}
        known = [v for v in caps.values() if v > 0]
        fill = sum(known) / len(known) if known else 1.0  # a worker without a rate: the mean
        caps = {wid: v if v > 0 else fill for wid, v in caps.items()}
        total = sum(caps.values())
        line = nwin * n
        half = max(b, n // 2 // b * b)
        claimed = line - n * min(WINDOW_POOL, nwin // 4)
        m.plan, m.free = plan, []
        first: list[Task] = []
        pos, acc = 0, 0.0
        order = sorted(workers, key=lambda w: w.worker_id)
        for i, w in enumerate(order):
            acc += caps[w.worker_id]
            end = claimed if i == len(order) - 1 else round(claimed * acc / total)
            wi, p = divmod(end, n)
            end = min(claimed, wi * n + min(n, round(p / b) * b))
            if end <= pos:
                continue
            limit = (w.node.max_receive_bytes or DEFAULT_RECEIVE_BYTES) - TASK_OVERHEAD
            parts = self._stretch(m, pos, end, window_values_bytes, limit)
            lead = 0  # cells of this worker's tasks whose values are made now
            for k, part in enumerate(parts):
                t = self._carve_windows(job, m, part, w.worker_id)
                if (lead < n) if self.spawn is not None else (k < self.pipeline_depth):
                    first.append(t)
                    lead += t.cells
            pos = end
        while pos < line:  # the pool: half windows, or what is left of one
            wi, p = divmod(pos, n)
            stop = min((wi + 1) * n, wi * n + (p // half + 1) * half)
            if (wi + 1) * n - stop < b:
                stop = (wi + 1) * n
            self._carve_windows(job, m, ((wi, wi + 1), p, stop - wi * n), None)
            pos = stop
        self._make_values(m, first)
        if self.spawn is not None:
            m.values_pending = True
            self.spawn(functools.partial(self._values_later, job, m))

    async def _values_later(self, job: Job, m: MsmState) -> None:
        """Make the values of m's window tasks that have none in a thread (the native call
        leaves the event loop free to send the first tasks), then dispatch them."""
        from zkedge.msm import scalar_window_bits_many

        tasks = [t for t in job.tasks.values() if t.msm is m and t.windowed and t.values is None]
        made: list[memoryview] | None = None
        try:
            made = await trio.to_thread.run_sync(
                scalar_window_bits_many,
                m.curve,
                m.scalars,
                [(t.start, t.count, *m.window_bits(*t.windows)) for t in tasks],
            )
        except Exception:  # the tasks' values are then made when they are sent
            log.exception("making window task values failed")
        finally:
            m.values_pending = False
        if made is not None and job.state == RUNNING:
            for t, values in zip(tasks, made, strict=True):
                if t.values is None and t.state != DONE:
                    t.values = values
        self.dispatch()

    def _carve_windows(
        self, job: Job, m: MsmState, part: tuple[tuple[int, int], int, int], prefer: str | None
    ) -> Task:
        """A window task ((w0, w1), start, stop) of m, waiting, claimed by ``prefer``."""
        (w0, w1), start, stop = part
        t = Task(f"{job.id}.{m.idx}.w{w0}-{w1}.{start}", job, m, start, stop - start)
        t.windows, t.prefer = (w0, w1), prefer
        self.store.add_task(t.id, job.id, m.idx, t.start, t.count, t.windows)  # first: it may fail
        job.tasks[t.id] = t
        self.tasks[t.id] = t
        self.pending.append(t)
        return t

    @staticmethod
    def _make_values(m: MsmState, tasks: list[Task]) -> None:
        """Make the values of these window tasks of m in one pass over its scalars."""
        from zkedge.msm import scalar_window_bits_many

        if not tasks:
            return
        made = scalar_window_bits_many(
            m.curve, m.scalars, [(t.start, t.count, *m.window_bits(*t.windows)) for t in tasks]
        )
        for t, values in zip(tasks, made, strict=True):
            t.values = values

    @staticmethod
    def _stretch(
        m: MsmState, pos: int, end: int, values_bytes: Callable[[int, int], int], limit: int
    ) -> list[tuple[tuple[int, int], int, int]]:
        """The tasks ((w0, w1), start, stop) of cells [pos, end) of m's window line."""
        n = m.n
        parts: list[tuple[tuple[int, int], int, int]] = []
        full: list[int] = []
        while pos < end:
            wi, p = divmod(pos, n)
            if p == 0 and end - pos >= n:
                full.append(wi)
                pos += n
                continue
            stop = min(end, (wi + 1) * n)
            parts.append(((wi, wi + 1), p, stop - wi * n))
            pos = stop
        head = [x for x in parts if full and x[0][0] < full[0]]
        tail = [x for x in parts if x not in head]
        chunks: list[tuple[tuple[int, int], int, int]] = []
        k, size = 0, 1
        while k < len(full):
            left = len(full) - k
            take = left if left < 2 * size or len(chunks) + 1 >= WINDOW_TASKS else size
            w1 = k + take
            while (
                w1 > k + 1 and n * values_bytes(*m.window_bits(full[k], full[w1 - 1] + 1)) > limit
            ):
                w1 -= 1
            chunks.append(((full[k], full[w1 - 1] + 1), 0, n))
            k, size = w1, 2 * size
        return head + chunks + tail

    def _pipeline_full(self, w: WorkerRecord) -> bool | None:
        """Whether the worker holds ``pipeline_depth`` attempts whose orders carried data
        (None: it holds four times the depth in all, and takes nothing more). Attempts on
        scalars it already holds (the other members of an aligned group, which follow the
        first with its slice) cost no transfer and do not count, so the next group's slice
        travels while the worker computes the current one's ranges."""
        if len(w.inflight) >= 4 * self.pipeline_depth:
            return None
        return sum(1 for a in w.inflight.values() if a.carries) >= self.pipeline_depth

    def _holds_scalars(self, w: WorkerRecord, t: Task) -> bool:
        if t.windowed:
            return False  # a window task's values are made for it, never cached
        return w.scalars is not None and t.msm.scalar_hash(t.start, t.count) in w.scalars

    def _ride_along(self, w: WorkerRecord) -> bool:
        """Start a range carved for this worker whose scalars it holds (free to send) even
        though its pipeline is full."""
        for t in self.pending:
            if (
                t.prefer == w.worker_id
                and t.job.state == RUNNING
                and self._fits(w, t)
                and self._holds_scalars(w, t)
            ):
                self.pending.remove(t)
                return self._start(w, t)
        return False

    def _store_failed(self, exc: StoreError) -> None:
        """A store write failed while placing work: the running jobs cannot record their
        tasks, so they fail with the store's reason (nothing was sent for the failed write)."""
        log.error("%s: failing the running jobs", exc)
        for job in list(self.running.values()):
            self.on_store_error(job, str(exc))

    def _capacities(self, workers: list[WorkerRecord]) -> dict[str, float]:
        """Each worker's capacity (units/s) at the size of its share of the free work.
        Pippenger's per-point speed grows with n (``size_gain``), so a worker with a larger
        share computes each of its points faster: shares in proportion to capacities at one
        nominal size leave the faster worker short (a block of 4096 points in 2^18 with a
        burner on one core of two)."""
        kf = {w.worker_id: (w.capacity.k or 0.0) * w.factor(self.policy) for w in workers}
        total = sum(kf.values())
        left = sum(
            m.compute_cost(a, e - a)
            for j in self.running.values()
            for m in j.msms
            for a, e in m.free
        )
        if total <= 0 or left <= 0:
            return kf
        return {wid: v * size_gain(int(left * v / total)) for wid, v in kf.items()}

    def _assign_next(self, w: WorkerRecord, fleet: float) -> bool:
        # 1. verification re-runs (Groth16 blame finding), never on an excluded worker
        for v in self.verifies:
            if not self._fits(w, v.task):
                continue
            if w.worker_id not in v.exclude and not any(
                a.verify is v and a.state == RUNNING for a in v.task.runs.values()
            ):
                return self._start(w, v.task, verify=v)
        # 2. whole proofs, first those of a zkey the worker holds
        self.proofs = [t for t in self.proofs if t.job.state == RUNNING]
        fitting = [t for t in self.proofs if self._fits(w, t)]
        if fitting:
            pt = max(fitting, key=lambda t: t.zkey_hash in w.zkeys)  # the oldest among equals
            self.proofs.remove(pt)
            return self._start(w, pt)
        # 3. fixed ranges waiting: first those carved for this worker (aligned with a range it
        # has: their scalars are there), then unclaimed ones, preferring cached bases
        self.pending = [t for t in self.pending if t.job.state == RUNNING]
        candidates = [t for t in self.pending if self._fits(w, t)]
        # (window tasks whose values a thread is making wait for them; an unclaimed piece of
        # an MSM split by windows goes to a worker about to run out of work: taken into a busy
        # worker's queue early, it would wait there while another worker runs out of work)
        candidates = [
            t for t in candidates if not (t.values is None and t.windowed and t.msm.values_pending)
        ]
        pool = [t for t in candidates if t.prefer == w.worker_id] or [
            t
            for t in candidates
            if not self._claimed(t) and not (t.windowed and t.prefer is None and self._wait(w, t))
        ]
        if pool:
            return self._start(w, self._take_pending(w, pool))
        # 4. carve a new range from the oldest running job with free points
        remaining = sum(
            m.cost(a, e - a) for j in self.running.values() for m in j.msms for a, e in m.free
        )
        mine = inflight_units(w.inflight, trio.current_time())
        for job in self.running.values():
            pick: tuple[bool, bool, float, float, MsmState, int, int, int, bool] | None = None
            for m in job.msms:
                grouped = self._aligns(w, job, m)
                if grouped and m.lead != m.idx and job.msms[m.lead].free:
                    continue  # a group is carved from its leader's ranges, the rest follow
                cap = task_cap(w, m.curve, m.group) if m.free else 0
                if cap < 1:
                    continue
                i, start = pick_start(
                    m.free, w.held.get(m.table_hash, ()), self.policy.block_points
                )
                e = m.free[i][1]
                whole = m.cost(start, e - start)
                # a grouped range brings its aligned ranges along: size them all as one
                r = self._group_ratio(job, m, start, e - start) if grouped else 1.0
                if (m.lead < 0 or grouped) and m.byte_units > 0 and fleet > 0 and w.capacity.k:
                    # scalars on measured links (H, or a witness group carved aligned): a carve
                    # takes at most the worker's share of that MSM's (or group's) work, so its
                    # bytes spread over the workers' links, in several ranges whose transfers
                    # overlap the compute of the ones before (and an idle worker can take)
                    own = self._caps.get(w.worker_id, 0.0) / fleet
                    members = [x for x in job.msms if x is m or (grouped and x.lead == m.lead)]
                    share = own * sum(x.cost(0, x.n) for x in members)
                    b = self.policy.block_points
                    pts = _points_at_ratio(m, start, r, share)
                    cap = min(cap, max(self.policy.min_points, -(-pts // b) * b))
                size = task_size(
                    self.policy,
                    worker_rate_k=w.capacity.k or 0.0,
                    worker_factor=w.factor(self.policy),
                    fleet_capacity=fleet,
                    remaining=remaining,
                    free_here=e - start,
                    inflight_here=mine,
                    inflight_total=self._held_total,
                    to_points=functools.partial(_points_at_ratio, m, start, r),
                    free_units=whole * r,
                    worker_capacity=self._caps.get(w.worker_id),
                )
                if size <= 0:
                    return False
                size = min(size, cap)
                # A whole free range that fits the share beats a piece of a bigger one (no
                # split, no extra fixed cost); then a range whose bases the worker holds (warm
                # proofs keep their ranges); among equals, the most work first.
                held = start // self.policy.block_points in w.held.get(m.table_hash, ())
                # On a slow link, the range with the least transfer for its work first: the
                # worker starts computing sooner, and bulkier transfers overlap that compute
                # (tenths of the work: on a fast link the transfer is no part of it).
                work = m.cost(start, size) * r
                wire = round(m.transfer_cost(start, size) / work, 1) if work > 0 else 0.0
                key = (size == e - start, held, -wire, whole, m, i, start, size, grouped)
                if pick is None or key[:4] > pick[:4]:
                    pick = key
            if pick is None:
                continue
            _, _, _, _, m, i, start, size, grouped = pick
            e = m.free[i][1]
            if start + size < e and size % self.policy.block_points:
                size = max(
                    self.policy.block_points,
                    (start + size) // self.policy.block_points * self.policy.block_points - start,
                )
                size = min(size, task_cap(w, m.curve, m.group))
            reach = self._reach(w, job, m, start, e, grouped, fleet, remaining, mine)
            size = self._stay_put(w, m, start, size, e, reach)
            size = self._cut_at_offset(job, m, i, start, size, w, grouped)
            task = self._carve(job, m, i, start, size)
            if grouped:
                self._carve_aligned(job, task, w)
            return self._start(w, task)
        # 5. nothing left to carve and nothing to do: help with ranges carved for busy workers
        # when this worker would finish one sooner, its scalars' transfer here included
        helpable = [t for t in candidates if self._sooner_here(w, t)] if not w.inflight else []
        if helpable:
            return self._start(w, self._take_pending(w, helpable))
        return False

    @staticmethod
    def _left(w: WorkerRecord, now: float) -> float:
        """Expected seconds until the worker finishes the attempts it holds."""
        return sum(
            max(0.0, a.expected - (now - a.started)) if math.isfinite(a.started) else a.expected
            for a in w.inflight.values()
        )

    def _wait(self, w: WorkerRecord, t: Task) -> bool:
        """Whether an unclaimed piece t of an MSM split by windows (the pool) waits rather
        than go to worker w now. It goes to the worker expected to finish it first, what that
        worker holds counted, and only within :data:`POOL_LEAD` (plus t's transfer) of that
        worker running out of work: sent earlier, it would wait in the worker's queue while
        another worker runs out; sent when the worker reports, the worker idles for the
        report's and the order's way. A piece that waits sets a dispatch for when it is due
        (``_wake_at``). Without rates to go by, it waits while w is busy."""
        now = trio.current_time()
        left = self._left(w, now)
        finish = left + w.capacity.seconds_for(t.compute_units, w.factor(self.policy), t.count)
        if not math.isfinite(finish):
            return bool(w.inflight)
        others = [
            o
            for o in self.registry.workers.values()
            if o is not w and o.assignable and o.node.window_tasks and self._fits(o, t)
        ]
        for o in others:
            o_left = self._left(o, now)
            o_finish = o_left + o.capacity.seconds_for(
                t.compute_units, o.factor(self.policy), t.count
            )
            if o_finish < finish:
                if o.inflight and math.isfinite(o_left):
                    self._wake_at(now + o_left - POOL_LEAD)
                return True
        lead = POOL_LEAD + w.transfer_seconds(self._task_bytes(w, t))
        if left - lead > 1e-3:  # (a millisecond's slack: the wake-up lands on the edge)
            self._wake_at(now + left - lead)
            return True
        return False

    def _wake_at(self, when: float) -> None:
        """Dispatch again at ``when`` (trio time), in the coordinator's nursery; a dispatch
        already set for no later than that does instead (it sets the next)."""
        if self.spawn is None or when <= trio.current_time():
            return  # (due now: the worker in question takes it, or a report will bring it)
        if self._wake is not None and self._wake <= when:
            return
        self._wake = when
        self.spawn(functools.partial(self._dispatch_at, when))

    async def _dispatch_at(self, when: float) -> None:
        await trio.sleep_until(when)
        if self._wake == when:
            self._wake = None
        self.dispatch()

    def _cut_at_offset(
        self, job: Job, m: MsmState, i: int, start: int, size: int, w: WorkerRecord, grouped: bool
    ) -> int:
        """The size of the range to carve from ``start``: points below the group's largest
        offset have no aligned scalars in that member (C starts at the witness's first private
        signal), so a range across it is cut there and the rest waits, claimed by this worker,
        with the rest's slice the member's too (carved aligned, or whole: a whole A, B1 or B2
        from the offset on has C's slice, which then rides free)."""
        if m.lead < 0:
            return size
        cut = max(x.offset for x in job.msms if x.lead == m.lead) - m.offset
        if not start < cut < start + size:
            return size
        rest = self._carve(job, m, i, cut, start + size - cut)
        rest.prefer = w.worker_id
        self.pending.append(rest)
        if grouped:
            self._carve_aligned(job, rest, w)
        return cut - start

    def _sooner_here(self, w: WorkerRecord, t: Task) -> bool:
        """Whether idle worker w would finish a range claimed by another worker sooner than
        that worker (which holds its scalars and must first finish what it holds)."""
        now = trio.current_time()
        here = w.transfer_seconds(self._task_bytes(w, t)) + w.capacity.seconds_for(
            t.compute_units, w.factor(self.policy), t.count
        )
        owner = self.registry.workers.get(t.prefer or "")
        if owner is None or not owner.assignable:
            return True
        ahead = sum(
            max(0.0, a.expected + a.transfer - (now - a.started))
            if math.isfinite(a.started)
            else a.expected + a.transfer
            for a in owner.inflight.values()
        )
        there = ahead + owner.capacity.seconds_for(
            t.compute_units, owner.factor(self.policy), t.count
        )
        return not math.isfinite(there) or here < there

    def _reach(
        self,
        w: WorkerRecord,
        job: Job,
        m: MsmState,
        start: int,
        end: int,
        grouped: bool,
        fleet: float,
        remaining: float,
        mine: float,
    ) -> int:
        """The points from ``start`` that the worker's whole share takes (at most
        ``target_seconds`` of its work and ``max_points``); 0 while its rate is unsettled."""
        if not w.capacity.settled:
            return 0
        cap = self._caps.get(w.worker_id, 0.0)
        share = fair_share(cap, fleet, remaining, mine, self._held_total)
        if share is None or share <= 0:
            return 0
        by_time = w.capacity.points_for(self.policy.target_seconds, w.factor(self.policy))
        if by_time > 0:
            share = min(share, by_time)
        r = self._group_ratio(job, m, start, end - start) if grouped else 1.0
        return min(_points_at_ratio(m, start, r, share), self.policy.max_points)

    def _stay_put(
        self, w: WorkerRecord, m: MsmState, start: int, size: int, end: int, reach: int
    ) -> int:
        """Ranges that stay put: when the worker holds the block at ``start``, its range ends
        where the run of blocks it holds ends (within half to one and a half times the
        ``size`` asked for), so a warm proof's ranges match the last one's and fetch no bases;
        unless the worker's rate is settled (``reach``: the points its whole share takes from
        ``start``, 0 while unsettled) and the bases between the end of that run and the end of
        its share cross its measured link sooner than it computes them: then the range is its
        whole share in one task. On a fast link, a held run frozen from an earlier proof costs
        more in waiting than its bases cost to move, and factoring's small tasks cost more per
        point than one."""
        held = w.held.get(m.table_hash)
        b = self.policy.block_points
        if not held or start // b not in held:
            return size
        k = start // b
        while k + 1 in held:
            k += 1
        run = min(end, (k + 1) * b) - start
        cap = task_cap(w, m.curve, m.group)
        if reach > 0 and self._refit_pays(w, m, start, reach, run):
            fit = min(max(b, round(reach / b) * b), cap, end - start)
            return fit if end - start - fit >= self.policy.min_points else end - start
        if 0.5 * size <= run <= 1.5 * size and run <= cap and end - start - run >= 0:
            left = end - start - run
            if left == 0 or left >= self.policy.min_points:  # no sliver behind it
                return run
        return size

    def _refit_pays(self, w: WorkerRecord, m: MsmState, start: int, reach: int, run: int) -> bool:
        """Whether the bases of the points between the end of the held run and the end of the
        worker's share cross its measured link sooner than it computes those points."""
        rate = w.load.recv_bytes_per_sec if w.load is not None else 0.0
        if rate <= 0:
            return False
        if run == reach:
            return True
        lo, d = min(run, reach), abs(run - reach)
        pb = get_curve(m.curve).point_bytes(check_group(m.group))
        compute = w.capacity.seconds_for(m.compute_cost(start + lo, d), w.factor(self.policy), d)
        return w.transfer_seconds(d * pb) < compute

    def _claimed(self, t: Task) -> bool:
        """Whether a waiting range was carved for another worker that can still take it."""
        if t.prefer is None:
            return False
        other = self.registry.workers.get(t.prefer)
        return other is not None and other.assignable

    def _take_pending(self, w: WorkerRecord, pool: list[Task]) -> Task:
        """Remove and return the waiting range of ``pool`` whose scalars the worker holds, else
        the one whose bases it caches most of (the oldest among equals)."""
        best = max(
            pool,
            key=lambda t: (
                self._holds_scalars(w, t),  # free to send: its slice is there
                self._held_fraction(w, t.msm.table_hash, t.start, t.count),
            ),
        )
        self.pending.remove(best)
        return best

    def _aligned(
        self, job: Job, m: MsmState, start: int, count: int
    ) -> list[tuple[MsmState, int, int]]:
        """The free parts (msm, start, count) of the other MSMs of m's group aligned with
        points [start, start + count) of m (the same scalars)."""
        out = []
        a = start + m.offset
        b = a + count
        for m2 in job.msms:
            if m2 is m or m2.lead != m.lead or m2.done:
                continue
            s2, e2 = max(0, a - m2.offset), min(m2.n, b - m2.offset)
            for fs, fe in m2.free:
                lo, hi = max(s2, fs), min(e2, fe)
                if hi > lo:
                    out.append((m2, lo, hi - lo))
        return out

    def _aligns(self, w: WorkerRecord, job: Job, m: MsmState) -> bool:
        """Whether to carve m's group aligned for this worker: when the scalar bytes it saves
        take longer on the worker's link than the shorter ranges cost (each of four MSMs gets a
        part of the range: more tasks, and Pippenger's cost per point grows as n shrinks;
        ``SizingPolicy.align_cost`` of the compute time). Not on a link the worker has not
        measured."""
        if m.lead < 0:
            return False
        rate = w.load.recv_bytes_per_sec if w.load is not None else 0.0
        if rate <= 0:
            return False
        members = [x for x in job.msms if x.lead == m.lead and not x.done]
        free = sum(e - s for s, e in m.free)
        if free <= 0 or len(members) < 2:
            return False
        packed = w.node.packed_scalars
        # slices the other members would get again
        saved = sum(m.wire_bytes(s, e - s, packed) for s, e in m.free) * (len(members) - 1)
        work = sum(x.compute_cost(s, e - s) for x in members for s, e in x.free)
        secs = w.capacity.seconds_for(work, w.factor(self.policy), free)
        return saved / rate > self.policy.align_cost * secs

    def _group_ratio(self, job: Job, m: MsmState, start: int, count: int) -> float:
        """Work of points [start, start + count) of a grouped MSM and of its aligned free
        ranges, over the work of the range alone."""
        own = m.cost(start, count)
        if own <= 0:
            return 1.0
        return (
            own + sum(m2.cost(s2, c2) for m2, s2, c2 in self._aligned(job, m, start, count))
        ) / own

    def _carve_aligned(self, job: Job, task: Task, w: WorkerRecord) -> None:
        """Carve the free ranges of the task's group aligned with it, for the same worker (they
        wait in ``pending`` claimed by it; their scalars travel once, with the first)."""
        m = task.msm
        if m.lead < 0:
            return
        for m2, lo, cnt in self._aligned(job, m, task.start, task.count):
            cap = max(1, task_cap(w, m2.curve, m2.group))
            while cnt > 0:
                piece = min(cnt, cap)
                i2 = next(k for k, (fs, fe) in enumerate(m2.free) if fs <= lo < fe)
                sib = self._carve(job, m2, i2, lo, piece)
                sib.prefer = w.worker_id
                self.pending.append(sib)
                lo, cnt = lo + piece, cnt - piece

    def _fits(self, w: WorkerRecord, task: Task | ProofTask) -> bool:
        """Whether the worker can take this fixed range or whole proof (curve, receive limit,
        memory)."""
        if isinstance(task, ProofTask):
            return takes_whole(w.node, task.curve, task.zkey_bytes, len(task.witness))
        m = task.msm
        if task.windowed:
            return w.node.window_tasks and window_task_fits(
                w, m.curve, m.group, m.table_n, self._values_bytes(task)
            )
        return task.count <= task_cap(w, m.curve, m.group)

    @staticmethod
    def _values_bytes(task: Task) -> int:
        """Bytes of a window task's values."""
        from zkedge.msm import window_values_bytes

        return task.count * window_values_bytes(*task.msm.window_bits(*task.windows))

    def _held_fraction(self, w: WorkerRecord, h: str, start: int, count: int) -> float:
        blocks = w.held.get(h)
        if not blocks:
            return 0.0
        b = self.policy.block_points
        want = range(start // b, (start + count - 1) // b + 1)
        return sum(1 for x in want if x in blocks) / len(want)

    def _carve(self, job: Job, m: MsmState, i: int, start: int, size: int) -> Task:
        task = Task(f"{job.id}.{m.idx}.{start}", job, m, start, size)
        self.store.add_task(task.id, job.id, m.idx, start, size)  # first: it may fail
        s, e = m.free[i]
        stop = start + size
        pieces = [(a, b) for a, b in ((s, start), (stop, e)) if b > a]
        m.free[i : i + 1] = pieces
        job.tasks[task.id] = task
        self.tasks[task.id] = task
        return task

    def _start(
        self, w: WorkerRecord, task: Task | ProofTask, verify: VerifyRequest | None = None
    ) -> bool:
        if w.stream is None:
            return False
        if isinstance(task, ProofTask):
            return self._start_proof(w, task)
        self.store.task_attempts(task.id, task.attempts + 1)  # first: it may fail
        task.attempts += 1
        now = trio.current_time()
        expected = w.capacity.seconds_for(task.compute_units, w.factor(self.policy), task.count)
        began = now if not w.inflight else math.inf  # workers run one task at a time
        transfer = w.transfer_seconds(self._task_bytes(w, task))
        att = Attempt(
            task,
            task.attempts,
            w.worker_id,
            began,
            expected,
            began + attempt_deadline(self.policy, expected) + transfer,
            verify=verify,
            session_id=w.session_id,
            transfer=transfer,
            sent=now,
        )
        task.runs[att.number] = att
        if verify is None:
            task.state = RUNNING
        m = task.msm
        scalars: bytes | memoryview = b""
        h = ""
        lo = 0
        widths: tuple[int, ...] = ()
        if task.windowed:
            w0, w1 = task.windows
            lo = m.window_bits(w0, w1)[0]
            widths = m.plan[w0:w1]
            if task.values is None:
                # the first of m's tasks to go out without values (or a re-run of a finished
                # one): make its values and those of every other still to be done, in one pass
                self._make_values(
                    m,
                    [task]
                    + [
                        t
                        for t in task.job.tasks.values()
                        if t is not task
                        and t.msm is m
                        and t.windowed
                        and t.values is None
                        and t.state != DONE
                    ],
                )
            scalars = task.values or b""
        elif w.scalars is None:  # a worker without a scalar cache gets every slice, no hash
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
        att.carries = bool(scalars)
        packed = False
        # a range whose packing is no shorter (33 bytes a large value; the packed size of each
        # block is counted once per MSM) is not packed only to be thrown away
        if (
            isinstance(scalars, bytes)  # (a window task's values are a view, never packed)
            and scalars
            and not task.windowed
            and m.wire_bytes(task.start, task.count, w.node.packed_scalars) < len(scalars)
        ):
            scalars, packed = self._pack(w, scalars)
        self.bytes_sent["scalars"] += len(scalars)
        msg = Assignment(
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
            packed=packed,
            window_lo=lo,
            window_widths=widths,
        )
        return self._send(w, att, msg, held=verify is None)

    def _pack(self, w: WorkerRecord, scalars: bytes) -> tuple[bytes, bool]:
        """The scalars as the worker gets them: packed when it reads packed scalars and that
        is shorter (the bytes saved are counted), else as they are."""
        if not scalars or not w.node.packed_scalars:
            return scalars, False
        from zkedge.msm import pack_scalars

        packed = pack_scalars(scalars)
        if len(packed) >= len(scalars):
            return scalars, False
        self.packing_saved += len(scalars) - len(packed)
        return packed, True

    def _send(
        self, w: WorkerRecord, att: Attempt, msg: Assignment | ProveOrder, *, held: bool
    ) -> bool:
        """Put an attempt's order on the worker's stream and count it in flight (``held``:
        as the worker's work, which blame re-runs are not); a closed stream loses it."""
        assert w.stream is not None
        try:
            w.stream.send_nowait(msg)
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            att.state = LOST
            self.requeue(att.task)
            return False
        w.inflight[(att.task.id, att.number)] = att
        if held:
            self._held_total += att.task.units
        return True

    def _start_proof(self, w: WorkerRecord, task: ProofTask) -> bool:
        """Send a whole-proof task (not stored: proof jobs live in memory). Its expected time
        is its MSMs' at the worker's rate, plus a quarter for the rest of the prover; its
        deadline adds time to fetch a zkey the worker does not hold at 1 MB/s."""
        assert w.stream is not None
        task.attempts += 1
        now = trio.current_time()
        expected = 1.25 * w.capacity.seconds_for(task.units, w.factor(self.policy), task.count)
        began = now if not w.inflight else math.inf
        fetch = 0.0 if task.zkey_hash in w.zkeys else task.zkey_bytes / 1e6
        witness, packed = self._pack(w, task.witness)
        transfer = w.transfer_seconds(len(witness))
        att = Attempt(
            task,
            task.attempts,
            w.worker_id,
            began,
            expected,
            began + attempt_deadline(self.policy, expected) + fetch + transfer,
            session_id=w.session_id,
            transfer=transfer,
            sent=now,
        )
        task.runs[att.number] = att
        task.state = RUNNING
        msg = ProveOrder(
            task_id=task.id,
            attempt=att.number,
            job_id=task.job.id,
            curve=task.curve,
            zkey_hash=task.zkey_hash,
            zkey_bytes=task.zkey_bytes,
            witness=witness,
            expected_seconds=expected if math.isfinite(expected) else 0.0,
            packed=packed,
        )
        if not self._send(w, att, msg, held=True):
            return False
        self.bytes_sent["witness"] += len(witness)
        return True

    def _task_bytes(self, w: WorkerRecord, task: Task | ProofTask) -> int:
        """Bytes the worker must receive for a task: its scalars unless the worker holds them,
        and the base blocks of its range it does not hold (a whole proof: the witness)."""
        if isinstance(task, ProofTask):
            return len(task.witness)
        m = task.msm
        nbytes = 0
        if task.windowed:
            nbytes += self._values_bytes(task)
        elif w.scalars is None or m.scalar_hash(task.start, task.count) not in w.scalars:
            nbytes += int(m.wire_bytes(task.start, task.count, w.node.packed_scalars))
        b = self.policy.block_points
        held = w.held.get(m.table_hash, set())
        first, last = task.start // b, (task.start + task.count - 1) // b
        missing = sum(1 for i in range(first, last + 1) if i not in held)
        if missing:
            pb = get_curve(m.curve).point_bytes(check_group(m.group))
            nbytes += missing * b * pb
        return nbytes

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
                    if not self._fits(w, att.task):
                        continue
                    t = att.task
                    mine = w.capacity.seconds_for(t.compute_units, w.factor(self.policy), t.count)
                    mine += w.transfer_seconds(self._task_bytes(w, t))
                    gain = ahead + att.expected - mine
                    if math.isfinite(gain) and gain > 0 and (best is None or gain > best[0]):
                        best = (gain, att)
            if best is not None:
                att = best[1]
                self.cancel(att)
                if self._start(w, att.task):
                    idle.remove(w)

    def _speculate(self, workers: list[WorkerRecord]) -> None:
        if (
            self.pending
            or self.proofs
            or any(m.free for j in self.running.values() for m in j.msms)
        ):
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
                cand = [w for w in idle if w.worker_id != att.worker_id and self._fits(w, task)]
                if not cand:
                    continue
                units, n = task.compute_units, task.count
                best = min(
                    cand, key=lambda w: w.capacity.seconds_for(units, w.factor(self.policy), n)
                )
                idle_expected = best.capacity.seconds_for(units, best.factor(self.policy), n)
                if should_speculate(
                    self.policy,
                    elapsed=now - att.started,
                    expected=att.expected,
                    idle_expected=idle_expected,
                    transfer=att.transfer,
                    idle_transfer=best.transfer_seconds(self._task_bytes(best, task)),
                ) and self._start(best, task):
                    idle.remove(best)
                    self.speculative_copies += 1

    def promote(self, w: WorkerRecord) -> None:
        """The worker finished something: its oldest queued attempt is now running."""
        queued = [a for a in w.inflight.values() if math.isinf(a.started)]
        if queued and not any(math.isfinite(a.started) for a in w.inflight.values()):
            att = queued[0]
            att.started = trio.current_time()
            # its data travelled while the worker computed the one before: what is left of it
            att.transfer = max(0.0, att.transfer - (att.started - att.sent))
            att.deadline = att.started + attempt_deadline(self.policy, att.expected) + att.transfer
            t = att.task
            if isinstance(t, ProofTask) and t.zkey_hash not in w.zkeys:
                att.deadline += t.zkey_bytes / 1e6  # time to fetch the zkey at 1 MB/s

    def requeue(self, task: Task | ProofTask) -> None:
        """Put a task whose attempt ended without a result back in line."""
        if task.state == DONE or task.job.state != RUNNING:
            return
        if isinstance(task, ProofTask):
            if task not in self.proofs:
                task.state = PENDING
                self.proofs.append(task)
        elif task not in self.pending:
            task.state = PENDING
            task.prefer = None  # its worker failed or lost it: anyone may take it
            self.pending.append(task)

    def cancel(self, att: Attempt) -> None:
        """Call an attempt back (``TaskCancel``): its result is no longer wanted."""
        if att.state == RUNNING:
            self.on_cancel()
        att.state = CANCELLED
        w = self.registry.workers.get(att.worker_id)
        if w is None:
            return
        w.inflight.pop((att.task.id, att.number), None)
        self.promote(w)
        order = Cancellation(att.task.id, att.number)
        # down the task stream, and the cancellation stream when the worker has one (it does
        # not wait there behind bulk data); the worker takes the first and ignores the other
        for chan in (w.stream, w.cancels):
            if chan is not None:
                try:
                    chan.send_nowait(order)
                except (trio.ClosedResourceError, trio.BrokenResourceError):
                    pass


def _points_at_ratio(m: MsmState, start: int, ratio: float, units: float) -> int:
    """Points of m from ``start`` whose work, times ``ratio`` (its group's share), is
    ``units``."""
    return m.points_for(start, units / ratio)
