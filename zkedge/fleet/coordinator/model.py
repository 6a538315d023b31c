"""The coordinator's domain: jobs of MSMs, their range tasks and attempts, whole-proof tasks,
and the orders the scheduler sends workers. Plain dataclasses, no wire messages: the service
converts at the edge (:mod:`zkedge.fleet.coordinator.wire`).

A job holds one or more MSMs (any curve/group/table each, e.g. the five MSMs of a Groth16
proof). A task is a fixed range of one MSM; an *attempt* is one assignment of it to a worker,
numbered 1, 2, ...

A whole-proof job holds no MSM but one :class:`ProofTask`: a worker proves a Groth16 statement
whole (the zkey by hash, the witness) and returns A, B, C; the proof-job layer above
(:mod:`zkedge.fleet.coordinator.proofs`) checks and re-randomises it.
"""

from __future__ import annotations

import bisect
import itertools
import math
from dataclasses import dataclass, field

import trio

from zkedge.curves import Point
from zkedge.fleet.common import JobFailed
from zkedge.fleet.coordinator.sizing import block_units, group_cost
from zkedge.fleet.scalar_lru import scalars_hash

__all__ = [
    "CANCELLED",
    "DEFAULT_RECEIVE_BYTES",
    "DONE",
    "FAILED",
    "LOST",
    "PENDING",
    "RUNNING",
    "Assignment",
    "Attempt",
    "Cancellation",
    "Job",
    "LoadSample",
    "MsmState",
    "NodeFacts",
    "Order",
    "PartialResult",
    "Progress",
    "ProofTask",
    "ProveOrder",
    "Task",
    "VerifyRequest",
    "align_scalars",
    "clock",
]

RUNNING, DONE, FAILED, LOST, CANCELLED, PENDING = (
    "running",
    "done",
    "failed",
    "lost",
    "cancelled",
    "pending",
)


DEFAULT_RECEIVE_BYTES = 4 << 20
"""Receive limit assumed for a worker that declares none (grpc-go's and grpc-core's default)."""


@dataclass(frozen=True)
class NodeFacts:
    """What a worker is (from its registration): the facts placement and status use."""

    hostname: str = ""
    arch: str = ""
    cores: int = 0
    memory_bytes: int = 0
    curves: tuple[str, ...] = ()
    native_build: str = ""
    bench_points_per_sec: float = 0.0
    threads: int = 0
    version: str = ""
    scalar_cache_bytes: int = 0
    max_receive_bytes: int = 0  # largest task message it accepts (0: unknown, see dispatch)
    proof_tasks: bool = False  # runs whole-proof tasks
    packed_scalars: bool = False  # reads packed scalars and witnesses (see zkedge.msm)
    window_tasks: bool = False  # runs window tasks (see zkedge.msm.msm_windows)


@dataclass(frozen=True)
class LoadSample:
    """A worker's load as of its last heartbeat (``None`` fields: the board cannot tell)."""

    load_average: float = 0.0
    cpu_utilization: float = 0.0
    own_cpu_utilization: float = 0.0
    mem_available_bytes: int = 0
    temperature_c: float | None = None
    throttled: bool | None = None
    throttle_bits: int = 0
    tasks_in_flight: int = 0
    recent_points_per_sec: float = 0.0
    rtt_seconds: float = 0.0  # heartbeat round trip the worker measured (0: unknown)
    recv_bytes_per_sec: float = 0.0  # its download rate from the coordinator (0: unknown)


@dataclass(frozen=True)
class Assignment:
    """An order to a worker: compute the partial sum of one task's range (one attempt).
    ``scalars`` is empty when the worker holds the slice (``scalars_hash`` names it), and
    packed (:func:`zkedge.msm.pack_scalars`) when ``packed``."""

    task_id: str
    attempt: int
    job_id: str
    curve: str
    group: str
    table_hash: str
    table_n: int
    start: int
    count: int
    scalars: bytes | memoryview
    expected_seconds: float
    scalars_hash: str
    packed: bool = False
    # a window task: the windows of these widths from scalar bit window_lo, ``scalars`` their
    # values (zkedge.msm.scalar_window_bits); empty for a range of whole scalars
    window_lo: int = 0
    window_widths: tuple[int, ...] = ()


@dataclass(frozen=True)
class Cancellation:
    """An order to a worker: stop this attempt (its result is no longer wanted)."""

    task_id: str
    attempt: int


@dataclass(frozen=True)
class ProveOrder:
    """An order to a worker: prove this witness whole with the zkey named ``zkey_hash``."""

    task_id: str
    attempt: int
    job_id: str
    curve: str
    zkey_hash: str
    zkey_bytes: int
    witness: bytes
    expected_seconds: float
    packed: bool = False  # the witness is packed (zkedge.msm.pack_scalars)


Order = Assignment | Cancellation | ProveOrder


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

    ``lead``/``offset``: MSMs of one job whose scalars are the same vector (equal, or a suffix
    of the longest: the A, B1, B2 and C MSMs of a Groth16 proof all take the witness) form a
    group led by the longest; point i of this MSM is scalar ``i + offset`` of the leader's.
    Their ranges are carved aligned on that vector, so one slice of scalars, sent once, serves
    them all (see :mod:`zkedge.fleet.coordinator.dispatch`). ``lead`` is -1 outside a group.
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
    # (start, count) -> hash, with start counted in the group leader's points (``offset`` added):
    # the members of a group share their leader's dict (see align_scalars)
    hashes: dict[tuple[int, int], str] = field(default_factory=dict)
    lead: int = -1  # index of the group's leader in the job (-1: in no group)
    offset: int = 0  # this MSM's point 0 is the leader's scalar ``offset``
    # Work units a point's scalar costs on the wire (0: transfer not counted; see
    # Scheduler.submit): a group's members share the leader's slice and count none.
    byte_units: float = 0.0
    # Work units a byte on the wire costs, and whether the bytes are counted packed: when set,
    # a range's transfer is counted from its own bytes (a packed witness is full-size in some
    # places and a byte a value in others), ``byte_units`` is then their average a point.
    wire_units: float = 0.0
    wire_packed: bool = False
    # Bytes of the packed scalars of the first i blocks (zkedge.msm.pack_scalars), made when
    # first asked for (:meth:`wire_bytes`).
    packed_cum: list[int] = field(default_factory=list)
    # Window widths when the MSM is split by windows (zkedge.msm.window_plan): its tasks are
    # (windows, points) rectangles; empty while it is split by points only (see
    # Dispatcher.plan_windows). Set once, when its first tasks are carved.
    plan: tuple[int, ...] = ()
    cells_done: int = 0  # (points x windows) of its accepted tasks (see Task.cells)
    values_pending: bool = False  # a thread is making its window tasks' values

    @property
    def nwin(self) -> int:
        """Windows a point's scalar is cut into for the tasks (1 unless split by windows)."""
        return max(1, len(self.plan))

    def window_bits(self, w0: int, w1: int) -> tuple[int, int]:
        """Scalar bits [lo, hi) of the plan's windows [w0, w1)."""
        lo = sum(self.plan[:w0])
        return lo, lo + sum(self.plan[w0:w1])

    def scalar_slice(self, start: int, count: int) -> bytes:
        """The scalars of points [start, start + count) (a copy, for the wire)."""
        return self.scalars[32 * start : 32 * (start + count)]

    def scalar_hash(self, start: int, count: int) -> str:
        """The hash (zkedge.fleet.scalar_lru) of those scalars, computed in place once per range
        of the group: the A, B1 and B2 tasks of a proof often share one (and C a part of it),
        and a worker that holds the slice gets no copy of it."""
        key = (start + self.offset, count)
        h = self.hashes.get(key)
        if h is None:
            view = memoryview(self.scalars)[32 * start : 32 * (start + count)]
            h = self.hashes[key] = scalars_hash(view)
        return h

    def wire_bytes(self, start: int, count: int, packed: bool) -> float:
        """Bytes the scalars of points [start, start + count) take on the wire: 32 a point, or
        their packing (linear inside a block) for a worker that reads packed scalars."""
        if not packed or count <= 0:
            return 32.0 * count
        if not self.packed_cum:
            from zkedge.msm import packed_block_bytes

            sizes = packed_block_bytes(memoryview(self.scalars)[: 32 * self.n], self.block)
            self.packed_cum = list(itertools.accumulate(sizes, initial=0))

        def at(x: int) -> float:
            b, r = divmod(x, self.block)
            if r == 0:
                return float(self.packed_cum[b])
            width = min(self.block, self.n - b * self.block)
            return self.packed_cum[b] + (self.packed_cum[b + 1] - self.packed_cum[b]) * r / width

        return min(32.0 * count, at(start + count) - at(start))

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

    def compute_cost(self, start: int, count: int) -> float:
        """Compute work of points [start, start + count) (what a worker's MSM costs)."""
        return self._at(start + count) - self._at(start)

    def transfer_cost(self, start: int, count: int) -> float:
        """Work units the transfer of points [start, start + count)'s scalars counts for."""
        if self.wire_units > 0:
            return self.wire_units * self.wire_bytes(start, count, self.wire_packed)
        return self.byte_units * count

    def cost(self, start: int, count: int) -> float:
        """Work of points [start, start + count) with their scalars' transfer
        (:meth:`transfer_cost`): what shares and sizes balance."""
        return self.compute_cost(start, count) + self.transfer_cost(start, count)

    def points_for(self, start: int, units: float) -> int:
        """Fewest points from ``start`` whose work (:meth:`cost`) reaches ``units`` (at most
        n - start)."""
        if self.byte_units > 0:
            lo, hi = 1, self.n - start
            if hi <= 1 or self.cost(start, hi) <= units:
                return max(1, hi)
            while lo < hi:  # the smallest count whose cost reaches units (cost grows with it)
                mid = (lo + hi) // 2
                if self.cost(start, mid) >= units:
                    hi = mid
                else:
                    lo = mid + 1
            return lo
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
    prefer: str | None = None  # worker it was carved for (aligned with that worker's range)
    # windows [w0, w1) of the MSM's plan (MsmState.plan) for a window task; (0, 0): every bit
    # of the range's scalars
    windows: tuple[int, int] = (0, 0)
    # a window task's values, made with its MSM's others in one pass (dropped once it is
    # done; a re-run makes them again)
    values: bytes | memoryview | None = None

    @property
    def windowed(self) -> bool:
        """Whether this is a window task (some windows of its points' scalars)."""
        return self.windows[1] > self.windows[0]

    @property
    def fraction(self) -> float:
        """The share of its points' work this task does (its windows of the plan's)."""
        if not self.windowed:
            return 1.0
        return (self.windows[1] - self.windows[0]) / self.msm.nwin

    @property
    def cells(self) -> int:
        """Its (points x windows): the tasks of an MSM sum to n x MsmState.nwin."""
        w = self.windows[1] - self.windows[0] if self.windowed else self.msm.nwin
        return self.count * w

    @property
    def units(self) -> float:
        """Estimated work of this range (sizing units), its scalars' transfer included."""
        return self.msm.cost(self.start, self.count) * self.fraction

    @property
    def compute_units(self) -> float:
        """Estimated compute work of this range (what the worker's MSM costs)."""
        return self.msm.compute_cost(self.start, self.count) * self.fraction

    def running(self) -> list[Attempt]:
        """Attempts still out on workers."""
        return [a for a in self.runs.values() if a.state == RUNNING]


@dataclass(eq=False)
class ProofTask:
    """A whole Groth16 proof for one worker: the zkey by hash, the witness values.

    ``units`` estimates its work in sizing units (its five MSMs, what the capacity model
    knows how to time); ``count`` is their points. ``memory`` is what a worker needs for it.
    """

    id: str
    job: Job
    curve: str
    zkey_hash: str
    zkey_bytes: int
    witness: bytes
    units: float
    count: int
    memory: int
    state: str = PENDING
    attempts: int = 0
    strikes: int = 0
    runs: dict[int, Attempt] = field(default_factory=dict)
    result: bytes | None = None
    worker_id: str | None = None
    winning_attempt: int = 0
    compute_seconds: float = 0.0

    def running(self) -> list[Attempt]:
        """Attempts still out on workers."""
        return [a for a in self.runs.values() if a.state == RUNNING]

    @property
    def compute_units(self) -> float:
        """Estimated compute work (its five MSMs)."""
        return self.units


@dataclass(eq=False)
class Attempt:
    """One assignment of a task (a range, or a whole proof) to a worker."""

    task: Task | ProofTask
    number: int
    worker_id: str
    started: float  # inf while queued behind another attempt on the same worker
    expected: float
    deadline: float
    state: str = RUNNING
    verify: VerifyRequest | None = None
    session_id: str = ""  # the worker session it was sent down; only that session reports it
    transfer: float = 0.0  # expected seconds to get its data to the worker (counted in
    # the time since ``started``: the straggler test and the deadline add it)
    sent: float = 0.0  # when the order went down the worker's stream
    # its order carries data (scalars, a witness); one naming scalars the worker holds does
    # not, and takes no place in the worker's pipeline (see Dispatcher.dispatch)
    carries: bool = True


@dataclass(eq=False)
class VerifyRequest:
    """A request to recompute a finished task on a different worker."""

    task: Task
    exclude: frozenset[str]
    replace: bool
    done: trio.Event = field(default_factory=trio.Event)
    outcome: PartialResult | None = None
    error: str | None = None


def align_scalars(msms: list[MsmState]) -> None:
    """Group the MSMs whose scalars are another's (equal, or its suffix) under the longest
    (sets ``lead`` and ``offset``, and the members share the leader's slice hashes; see
    :class:`MsmState`). MSMs without scalars stay apart."""
    leaders: list[MsmState] = []
    for m in sorted(msms, key=lambda x: -len(x.scalars)):
        if not m.scalars:
            continue
        for lead in leaders:
            if lead.scalars.endswith(m.scalars):
                m.lead, m.offset = lead.idx, (len(lead.scalars) - len(m.scalars)) // 32
                lead.lead = lead.idx
                m.hashes = lead.hashes  # one hash per range of the shared vector
                break
        else:
            leaders.append(m)


def clock() -> float:
    """trio's clock inside a trio run (a fake one in tests), else 0 (scheduler unit tests drive
    jobs outside a run)."""
    try:
        return trio.current_time()
    except RuntimeError:
        return 0.0


class Job:
    """A submitted job; awaitable through :class:`zkedge.fleet.coordinator.JobHandle`."""

    def __init__(
        self, job_id: str, label: str, msms: list[MsmState], *, watched: bool = False
    ) -> None:
        self.id = job_id
        self.label = label
        self.msms = msms
        self.tasks: dict[str, Task] = {}
        self.state = RUNNING  # then DONE, FAILED or CANCELLED
        self.error: str | None = None
        self.finished = trio.Event()
        self._changed = trio.Event()
        self.points_total = sum(m.n for m in msms)
        self.points_done = 0
        # A watched job belongs to its WatchJob streams: with none open for the coordinator's
        # grace period it is cancelled (a client that is gone leaves no work behind).
        self.watched = watched
        self.watchers = 0
        self.unwatched_since: float | None = None  # None: from the scheduler's next tick
        # Since when no live worker can take some of its remaining work (None: one can).
        self.stuck_since: float | None = None
        self.submitted_at = clock()  # or, recovered, the coordinator's start
        self.ended_at: float | None = None
        self.proof: ProofTask | None = None  # set for a whole-proof job (no MSMs)

    @property
    def outcome(self) -> str:
        """``running``, ``done``, ``failed`` or ``cancelled``."""
        return self.state

    def progress(self) -> Progress:
        """Current progress snapshot."""
        if self.proof is not None:
            done = int(self.proof.state == DONE)
            return Progress(self.state, self.points_done, self.points_total, done, 1)
        done = sum(1 for t in self.tasks.values() if t.state == DONE)
        return Progress(self.state, self.points_done, self.points_total, done, len(self.tasks))

    def watch_started(self) -> None:
        """A WatchJob stream of the job opened."""
        self.watchers += 1

    def watch_ended(self) -> None:
        """A WatchJob stream of the job closed: the grace period starts when none is left."""
        self.watchers = max(0, self.watchers - 1)
        if self.watchers == 0:
            self.unwatched_since = trio.current_time()

    def touch(self) -> None:
        """Wake everyone waiting in :meth:`wait_changed`."""
        self._changed.set()
        self._changed = trio.Event()

    async def wait_changed(self) -> None:
        """Sleep until the job's progress or state changes."""
        await self._changed.wait()

    def results(self) -> list[Point]:
        """Per-MSM results (raises :class:`zkedge.fleet.common.JobFailed` if the job failed)."""
        if self.state in (FAILED, CANCELLED):
            raise JobFailed(self.error or f"job {self.state}")
        return [m.result for m in self.msms]

    def proof_result(self) -> tuple[bytes, str]:
        """A whole-proof job's A || B || C ("be") and the worker that proved it (raises
        :class:`zkedge.fleet.common.JobFailed` if the job failed)."""
        if self.state in (FAILED, CANCELLED):
            raise JobFailed(self.error or f"job {self.state}")
        t = self.proof
        if t is None or t.result is None or t.worker_id is None:
            raise ValueError(f"job {self.id} is not a finished whole-proof job")
        return t.result, t.worker_id

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
        """worker id -> (points, tasks, compute seconds) of accepted results; a window task
        counts its points times its share of the windows (Task.cells over MsmState.nwin)."""
        acc: dict[str, tuple[float, int, float]] = {}
        t0 = self.proof
        if t0 is not None and t0.state == DONE and t0.worker_id is not None:
            acc[t0.worker_id] = (t0.count, 1, t0.compute_seconds)
        for t in self.tasks.values():
            if t.state == DONE and t.worker_id is not None:
                p, k, s = acc.get(t.worker_id, (0.0, 0, 0.0))
                acc[t.worker_id] = (p + t.cells / t.msm.nwin, k + 1, s + t.compute_seconds)
        return {w: (round(p), k, s) for w, (p, k, s) in acc.items()}


def inflight_units(inflight: dict[tuple[str, int], Attempt], now: float) -> float:
    """Work the ordinary attempts a worker holds still have to do: all of a queued one, the
    part of a running one its expected time says is left. Counting a half-done task whole
    made a worker that had just started a long task look as loaded as one about to finish
    it, and the next MSM went to the wrong one."""
    left = 0.0
    for a in inflight.values():  # (a whole proof counts by its five MSMs' units)
        if a.verify is not None:
            continue
        frac = 1.0
        if math.isfinite(a.started) and math.isfinite(a.expected) and a.expected > 0:
            frac = min(1.0, max(0.0, 1.0 - (now - a.started) / a.expected))
        left += a.task.units * frac
    return left
