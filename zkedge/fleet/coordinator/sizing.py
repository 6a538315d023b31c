"""Adaptive task sizing: a pure policy (no I/O, no clock) the scheduler asks for decisions.

* Capacity of a worker is its MSM throughput: an EWMA over completed tasks, the startup
  micro-benchmark until then. Samples are normalised to an unloaded, unthrottled board of the
  same size (divided by the load/throttle factor when measured) and scaled by the factor now,
  so a load spike or the throttle flag shrinks the worker's next share at once.
* Work is counted in *units*: one unit is one BN254 G1 point with a full-size scalar. A point
  costs its group's weight (:data:`GROUP_COST`: a G2 point is several G1 points), and a point
  whose scalar is small (0, 1, a counter: circom witnesses are full of them) costs a fraction
  of that (:func:`block_units`), so two ranges of equal length can differ several-fold.
* Pippenger's cost per point falls with n, so rates are kept per "log-size unit":
  ``rate(n) = k * g(n)`` with ``g(n) = max(1, log2(n) - 2)``, n the task's point count.
* A task is sized to take about ``target_seconds`` on its worker, but never more than
  ``tail_fraction`` of the worker's proportional share of what is left (factoring), so tasks
  shrink toward the end of a job and all workers finish together.
* A straggling attempt is re-issued to an idle worker (first result wins).
* Ranges whose base points a worker already caches are preferred for it (locality).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "GROUP_COST",
    "SMALL_SCALAR_COST",
    "CapacityEstimate",
    "LoadSnapshot",
    "SizingPolicy",
    "attempt_deadline",
    "block_units",
    "fair_share",
    "group_cost",
    "load_factor",
    "pick_start",
    "should_speculate",
    "size_gain",
    "task_size",
]

#: Cost of one point relative to a BN254 G1 point, full-size scalars, one thread, 2^13 points
#: (measured on x86-64 with the assembly multiplication; ARM's C path keeps the ratios close).
GROUP_COST: dict[tuple[str, str], float] = {
    ("bn254", "G1"): 1.0,
    ("bn254", "G2"): 2.7,
    ("bls12_381", "G1"): 1.65,
    ("bls12_381", "G2"): 4.5,
}
#: A scalar below 2^64 (0, 1, small integers) against a full-size one: it fills few windows.
SMALL_SCALAR_COST = 0.1


def group_cost(curve: str, group: str) -> float:
    """Work units per point of (curve, group) with a full-size scalar."""
    return GROUP_COST.get((curve, group), 1.0)


def block_units(scalars: bytes, block: int, weight: float = 1.0) -> list[float]:
    """Work units of each ``block``-point slice of an MSM's scalars (32-byte LE each).

    A scalar counts as full-size when it is 2^64 or more, else as :data:`SMALL_SCALAR_COST`;
    ``weight`` is the group's :func:`group_cost`. Counted by the native core (a fraction of a
    millisecond for 2^16 scalars: it runs in the coordinator's event loop at every submit).
    """
    from zkedge.msm import scalar_block_counts

    n = len(scalars) // 32
    out = []
    for b, nbig in enumerate(scalar_block_counts(memoryview(scalars)[: 32 * n], block)):
        cnt = min(block, n - b * block)
        out.append(weight * (nbig + SMALL_SCALAR_COST * (cnt - nbig)))
    return out


@dataclass(frozen=True)
class SizingPolicy:
    """Knobs of the sizing policy (all times in seconds, sizes in points)."""

    target_seconds: float = 2.0
    min_points: int = 4096
    max_points: int = 1 << 22
    block_points: int = 4096  # alignment of task ranges = base cache block size
    tail_fraction: float = 0.75  # factoring: at most this share of a worker's fair remainder
    ewma_alpha: float = 0.4
    throttle_factor: float = 0.5  # capacity multiplier while the board reports throttling
    hot_celsius: float = 80.0  # above this, scale capacity down ...
    hot_factor: float = 0.8  # ... by this much (the SoC is about to throttle)
    # A rate sample this close to the estimate: the rate is settled, and a worker's whole
    # share goes out in one task (factoring's smaller tasks cost more per point than the
    # imbalance an estimate this close leaves: bench/fleet.py)
    settled_deviation: float = 0.2
    straggler_ratio: float = 1.5  # attempt slower than this x expected is a straggler
    speculate_min_seconds: float = 0.2  # never speculate before an attempt ran this long
    deadline_ratio: float = 8.0  # attempt presumed lost after this x expected ...
    deadline_min_seconds: float = 60.0  # ... and at least this long
    # Extra time of carving the witness MSMs aligned (four shorter ranges, three times the
    # tasks), as a share of their compute time (bench/traffic.py: about half on 2^16): alignment
    # is chosen when the scalar bytes it saves take longer on the worker's link (0: whenever
    # the worker has measured its link)
    align_cost: float = 0.5
    # MSMs of at least this many points are split by windows when every live worker can take
    # window tasks (see zkedge.fleet.coordinator.dispatch); 0: always split by points
    window_min_points: int = 1 << 15

    def __post_init__(self) -> None:
        if self.target_seconds <= 0:
            raise ValueError("target_seconds must be positive")
        if not 1 <= self.block_points <= self.min_points <= self.max_points:
            raise ValueError("need 1 <= block_points <= min_points <= max_points")
        if not 0 < self.tail_fraction <= 1:
            raise ValueError("tail_fraction must be in (0, 1]")
        if not 0 < self.ewma_alpha <= 1:
            raise ValueError("ewma_alpha must be in (0, 1]")
        if self.window_min_points < 0:
            raise ValueError("window_min_points must be >= 0")


@dataclass(frozen=True)
class LoadSnapshot:
    """The part of a heartbeat's load report the policy looks at."""

    cpu_utilization: float = 0.0  # 0..1 over the worker's CPUs
    own_cpu_utilization: float = 0.0  # 0..1, the worker's own share of it
    throttled: bool = False
    temperature_c: float | None = None


#: Smallest CPU share a task's report may set (a share near 0 is a measuring artefact).
MIN_CPU_SHARE = 0.05


def load_factor(
    policy: SizingPolicy, load: LoadSnapshot | None, cpu_share: float | None = None
) -> float:
    """Multiplier in (0, 1] for what a board delivers now relative to idle and cool.

    CPU time others use on the worker's CPUs is time our MSM threads share: with an external
    busy share ``e`` the fair-share scheduler leaves about ``1 / (1 + e)`` of the board.
    ``cpu_share``, the share of its cores a recent task had (its report's ``cpu_share``),
    replaces that estimate: the heartbeat's utilisation averages over its whole interval,
    seconds the worker sat idle while other processes ran included. Throttling and heat slow
    the clock, which a CPU share does not see: they scale either.
    """
    if cpu_share is not None and math.isfinite(cpu_share):
        factor = min(1.0, max(MIN_CPU_SHARE, cpu_share))
    elif load is not None:
        external = min(1.0, max(0.0, load.cpu_utilization - load.own_cpu_utilization))
        factor = 1.0 / (1.0 + external)
    else:
        factor = 1.0
    if load is None:
        return factor
    if load.throttled:
        factor *= policy.throttle_factor
    elif load.temperature_c is not None and load.temperature_c >= policy.hot_celsius:
        factor *= policy.hot_factor
    return factor


#: Bounds on a worker's normalised rate (units/s per unit of :func:`size_gain`). A board does a
#: few thousand to a few million points a second; anything outside these bounds is a measuring
#: artefact or a lie, and would make sizes or expected times non-finite.
MIN_RATE = 1e-3
MAX_RATE = 1e10
#: Largest task the policy sizes (points), whatever the rates say.
MAX_TASK_POINTS = 1 << 40


def _clamp_rate(k: float) -> float | None:
    if not math.isfinite(k) or k <= 0:
        return None
    return min(max(k, MIN_RATE), MAX_RATE)


def size_gain(n: int) -> float:
    """Relative per-point speed of an MSM of n points (Pippenger: about log2(n) - 2)."""
    return max(1.0, math.log2(max(n, 2)) - 2.0)


@dataclass
class CapacityEstimate:
    """EWMA of a worker's normalised throughput (work units/s per unit of :func:`size_gain`)."""

    policy: SizingPolicy
    k: float | None = None  # normalised rate; None until a benchmark or task is seen
    samples: int = 0
    deviation: float = math.inf  # |last sample / the estimate it updated - 1|

    @property
    def settled(self) -> bool:
        """Whether the last two tasks agree on the rate: the second came within
        ``settled_deviation`` of the estimate the first left (a worker's whole share can then
        go out in one task; while unsettled, factoring's smaller tasks absorb the error)."""
        return self.samples >= 2 and self.deviation <= self.policy.settled_deviation

    def observe(self, units: float, seconds: float, factor: float, n: int | None = None) -> None:
        """Fold in ``units`` of work over ``n`` points (default: as many points as units) done
        in ``seconds`` while the load factor was ``factor``."""
        if not (units > 0 and seconds > 0 and factor > 0) or not math.isfinite(units):
            return
        n = min(int(units) if n is None else n, MAX_TASK_POINTS)
        sample = _clamp_rate(units / seconds / size_gain(n) / factor)
        if sample is None:
            return
        if self.k is None or self.samples == 0:
            self.k = sample  # the first real task replaces the micro-benchmark outright
        else:
            self.deviation = abs(sample / self.k - 1)
            a = self.policy.ewma_alpha
            self.k = a * sample + (1 - a) * self.k
        self.samples += 1

    def seed(self, points_per_sec: float, n: int, factor: float) -> None:
        """Use the startup micro-benchmark (``n`` points) until a task completes."""
        if self.samples == 0 and points_per_sec > 0 and factor > 0:
            k = _clamp_rate(points_per_sec / size_gain(n) / factor)
            if k is not None:
                self.k = k

    def rate(self, n: int, factor: float) -> float:
        """Expected units/s for an n-point task at load factor ``factor`` (0 if unknown)."""
        if self.k is None:
            return 0.0
        return self.k * size_gain(n) * factor

    def seconds_for(self, units: float, factor: float, n: int | None = None) -> float:
        """Expected seconds for ``units`` of work over ``n`` points (default: as many points as
        units; inf if unknown)."""
        if not math.isfinite(units):
            return math.inf
        r = self.rate(min(int(units) if n is None else n, MAX_TASK_POINTS), factor)
        return units / r if r > 0 else math.inf

    def points_for(self, seconds: float, factor: float) -> int:
        """Largest amount of work (units, or points of full-size BN254 G1 scalars) expected to
        finish within ``seconds`` (fixed-point steps on g(n))."""
        if self.k is None or not (factor > 0 and seconds > 0):
            return 0
        n = min(self.k * factor * seconds * size_gain(1 << 16), MAX_TASK_POINTS)
        for _ in range(3):
            n = min(self.k * factor * seconds * size_gain(int(n)), MAX_TASK_POINTS)
        return int(n) if math.isfinite(n) else MAX_TASK_POINTS


def fair_share(
    capacity: float,
    fleet_capacity: float,
    remaining: float,
    inflight_here: float = 0,
    inflight_total: float = 0,
) -> float | None:
    """The work (units) still due to a worker of ``capacity`` (units/s, in the units of
    ``fleet_capacity``): its part of all unfinished work, less what it holds (at most 0 when it
    already holds more). None while either capacity is unknown (see :func:`task_size` for the
    other arguments)."""
    if fleet_capacity > 0 and capacity > 0:
        return (remaining + inflight_total) * (capacity / fleet_capacity) - inflight_here
    return None


def task_size(
    policy: SizingPolicy,
    *,
    worker_rate_k: float,
    worker_factor: float,
    fleet_capacity: float,
    remaining: float,
    free_here: int,
    inflight_here: float = 0,
    inflight_total: float = 0,
    to_points: Callable[[float], int] | None = None,
    free_units: float | None = None,
    worker_capacity: float | None = None,
) -> int:
    """Points to hand one worker next (0: none, it already holds its share).

    ``fleet_capacity`` is the sum of all live workers' current capacities (units/s, at a
    nominal size or each at the size of its share: ``worker_capacity`` is then this worker's,
    else ``worker_rate_k * worker_factor``), ``remaining`` the work not yet assigned in
    all running jobs, ``free_here`` the points of the free interval the task is carved from.
    ``inflight_here`` / ``inflight_total`` are the work already handed out and not finished,
    to this worker / to all: a worker's share is of all unfinished work, less what it holds, so
    queueing a second task (the pipeline) does not cut the job into ever smaller pieces. Small
    pieces cost more in total: Pippenger's cost per point falls as n grows.
    Work is in units (see the module docstring); ``to_points`` turns the chosen amount of work
    into points from the start of the free interval (default: one unit per point).
    ``free_units`` is the work of the whole free interval: when it fits in the worker's full
    share it goes out whole, since a cut costs more in total than it gains in balance (a cut G2
    MSM of a 2^16 proof costs 25-30% more than the whole one; measured on the 2^16 bench proof,
    cutting the last free MSM by factoring anyway was 10% slower).
    """
    if remaining <= 0 or free_here <= 0:
        return 0
    est = CapacityEstimate(policy, k=worker_rate_k)
    by_time = est.points_for(policy.target_seconds, worker_factor) if worker_rate_k > 0 else 0
    mine = worker_rate_k * worker_factor if worker_capacity is None else worker_capacity
    fair = fair_share(mine, fleet_capacity, remaining, inflight_here, inflight_total)
    known = fair is not None
    if fair is None:
        share = remaining
    elif fair <= 0 and inflight_here > 0:
        return 0
    else:
        share = max(fair, 0.0)
    whole = free_units is not None and free_units <= share
    if known and whole and (by_time <= 0 or (free_units or 0.0) <= by_time):
        return free_here
    by_tail = share * policy.tail_fraction
    units = min(by_time, by_tail) if by_time > 0 else by_tail
    units = min(units, MAX_TASK_POINTS) if math.isfinite(units) else MAX_TASK_POINTS
    size = to_points(units) if to_points is not None else math.ceil(units)
    if inflight_here > 0 and size < policy.min_points:
        return 0  # a sliver of a share is not worth a task: the worker is busy anyway
    size = max(policy.min_points, min(size, policy.max_points))
    size = min(size, free_here)
    if free_here - size < policy.min_points:  # never leave a sliver behind
        size = free_here
    return size


def should_speculate(
    policy: SizingPolicy,
    *,
    elapsed: float,
    expected: float,
    idle_expected: float,
    transfer: float = 0.0,
    idle_transfer: float = 0.0,
) -> bool:
    """Re-issue a running attempt to an idle worker?

    ``elapsed`` is the time since the attempt started on its worker, of which about
    ``transfer`` went to getting its data there (scalars, missing bases); ``expected`` is its
    compute time. The copy would take ``idle_expected`` to compute after ``idle_transfer`` to
    get its data to the idle worker. Yes when the attempt is a straggler (computed
    ``straggler_ratio`` x longer than expected: transfer time is not straggling) and the
    copy's transfer takes less than the original has computed so far, or when the idle worker
    would finish the whole task, transfer included, before the original is expected to.
    """
    if elapsed < policy.speculate_min_seconds or not math.isfinite(idle_expected):
        return False
    copy = idle_expected + idle_transfer
    computing = elapsed - transfer
    if math.isfinite(expected) and computing > policy.straggler_ratio * expected:
        return idle_transfer < computing
    remaining = expected + transfer - elapsed if math.isfinite(expected) else math.inf
    return copy * 1.2 < remaining


def attempt_deadline(policy: SizingPolicy, expected: float) -> float:
    """Seconds after which a silent attempt is presumed lost and its task requeued."""
    if not math.isfinite(expected):
        return policy.deadline_min_seconds * 5
    return max(policy.deadline_min_seconds, policy.deadline_ratio * expected)


def pick_start(
    free: Sequence[tuple[int, int]], held_blocks: Iterable[int], block: int
) -> tuple[int, int]:
    """Choose where to carve the next task: (index into ``free``, start point).

    ``free`` is a list of half-open free intervals ``(start, end)``; ``held_blocks`` are the
    block indices the worker already caches. The first free block the worker holds wins;
    otherwise the start of the largest free interval (so other workers' cached ranges, which
    tend to be at the other ends, stay free for them).
    """
    if not free:
        raise ValueError("no free interval")
    held = sorted(set(held_blocks))
    if held:
        for i, (s, e) in enumerate(free):
            first = -(-s // block)  # first block starting inside [s, e)
            for b in held:
                if b < first and b * block < s and (b + 1) * block > s:
                    return i, s  # a partially consumed held block at the interval start
                if first <= b and b * block < e:
                    return i, b * block
    i = max(range(len(free)), key=lambda j: free[j][1] - free[j][0])
    return i, free[i][0]
