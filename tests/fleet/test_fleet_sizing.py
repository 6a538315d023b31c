"""The adaptive sizing policy, as a pure function of capacities, load and what is left."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zkedge.fleet.coordinator.sizing import (
    SMALL_SCALAR_COST,
    CapacityEstimate,
    LoadSnapshot,
    SizingPolicy,
    attempt_deadline,
    block_units,
    group_cost,
    load_factor,
    pick_start,
    should_speculate,
    size_gain,
    task_size,
)

POLICY = SizingPolicy(target_seconds=1.0, min_points=256, block_points=256, tail_fraction=0.5)


def simulate(policy: SizingPolicy, rates: dict[str, float], n: int) -> dict[str, float]:
    """Event simulation: idle workers pull tasks sized by the policy; returns finish times."""
    caps = {w: CapacityEstimate(policy) for w in rates}
    for w, r in rates.items():
        caps[w].seed(r, 1 << 13, 1.0)
    free = n
    clock = dict.fromkeys(rates, 0.0)
    done_points = dict.fromkeys(rates, 0)
    while free > 0:
        w = min(clock, key=lambda k: clock[k])
        fleet = sum(c.k or 0 for c in caps.values())
        size = task_size(
            policy,
            worker_rate_k=caps[w].k or 0,
            worker_factor=1.0,
            fleet_capacity=fleet,
            remaining=free,
            free_here=free,
        )
        free -= size
        secs = size / (rates[w] * size_gain(size) / size_gain(1 << 13))
        clock[w] += secs
        done_points[w] += size
        caps[w].observe(size, secs, 1.0)
    return clock


def test_policy_validates() -> None:
    with pytest.raises(ValueError):
        SizingPolicy(target_seconds=0)
    with pytest.raises(ValueError):
        SizingPolicy(min_points=10, block_points=100)
    with pytest.raises(ValueError):
        SizingPolicy(tail_fraction=0)


def test_heterogeneous_capacities_give_proportional_shares() -> None:
    fast, slow = CapacityEstimate(POLICY), CapacityEstimate(POLICY)
    fast.seed(300_000, 1 << 13, 1.0)
    slow.seed(100_000, 1 << 13, 1.0)
    fleet = (fast.k or 0) + (slow.k or 0)
    kw = dict(worker_factor=1.0, fleet_capacity=fleet, remaining=1 << 20, free_here=1 << 20)
    policy = SizingPolicy(target_seconds=100.0, min_points=256, block_points=256)
    a = task_size(policy, worker_rate_k=fast.k or 0, **kw)  # type: ignore[arg-type]
    b = task_size(policy, worker_rate_k=slow.k or 0, **kw)  # type: ignore[arg-type]
    assert a / b == pytest.approx(3.0, rel=0.02)


def test_whole_job_makespan_close_to_ideal_and_balanced() -> None:
    rates = {"a": 400_000.0, "b": 100_000.0, "c": 250_000.0}
    n = 1 << 20
    finish = simulate(POLICY, rates, n)
    ideal = n / sum(r * size_gain(1 << 16) / size_gain(1 << 13) for r in rates.values())
    assert max(finish.values()) < 1.15 * ideal
    assert max(finish.values()) - min(finish.values()) < 0.15 * ideal


def test_load_spike_shrinks_share() -> None:
    cap = CapacityEstimate(POLICY)
    cap.seed(200_000, 1 << 13, 1.0)
    idle = load_factor(POLICY, LoadSnapshot(cpu_utilization=0.1, own_cpu_utilization=0.1))
    busy = load_factor(POLICY, LoadSnapshot(cpu_utilization=1.0, own_cpu_utilization=0.0))
    assert idle == 1.0 and busy == pytest.approx(0.5)
    kw = dict(worker_rate_k=cap.k or 0, fleet_capacity=2 * (cap.k or 0), remaining=1 << 22)
    big = task_size(POLICY, worker_factor=idle, free_here=1 << 22, **kw)  # type: ignore[arg-type]
    small = task_size(POLICY, worker_factor=busy, free_here=1 << 22, **kw)  # type: ignore[arg-type]
    assert small < 0.6 * big


def test_throttle_flag_and_heat_shrink_share() -> None:
    cool = load_factor(POLICY, LoadSnapshot())
    throttled = load_factor(POLICY, LoadSnapshot(throttled=True))
    hot = load_factor(POLICY, LoadSnapshot(temperature_c=85.0))
    assert throttled == pytest.approx(POLICY.throttle_factor)
    assert hot == pytest.approx(POLICY.hot_factor)
    cap = CapacityEstimate(POLICY)
    cap.seed(100_000, 1 << 13, 1.0)
    assert cap.rate(1 << 16, throttled) < cap.rate(1 << 16, cool)


def test_tail_shrinks() -> None:
    k = 10_000.0
    sizes = []
    remaining = 1 << 20
    policy = SizingPolicy(target_seconds=1000.0, min_points=256, block_points=256)
    while remaining > 0:
        s = task_size(
            policy,
            worker_rate_k=k,
            worker_factor=1.0,
            fleet_capacity=2 * k,
            remaining=remaining,
            free_here=remaining,
        )
        sizes.append(s)
        remaining -= s
    body = sizes[:-1]  # the last task may absorb a sliver below min_points
    assert all(a >= b for a, b in itertools.pairwise(body))
    assert sizes[0] > 8 * sizes[-2]
    assert all(s >= policy.min_points for s in sizes)


def test_capacity_ewma_normalises_for_load() -> None:
    cap = CapacityEstimate(POLICY)
    cap.seed(100_000, 1 << 13, 1.0)
    # the first real task replaces the benchmark; measured at half speed under load 0.5
    cap.observe(1 << 16, (1 << 16) / 50_000, 0.5)
    assert cap.rate(1 << 16, 1.0) == pytest.approx(100_000, rel=1e-9)
    assert cap.rate(1 << 16, 0.5) == pytest.approx(50_000, rel=1e-9)
    cap.observe(1 << 16, (1 << 16) / 200_000, 1.0)
    r = cap.rate(1 << 16, 1.0)
    assert 100_000 < r < 200_000  # moved toward the new sample, not all the way
    assert cap.seconds_for(cap.points_for(1.0, 1.0), 1.0) == pytest.approx(1.0, rel=0.01)


def test_speculation_rules() -> None:
    p = POLICY
    assert not should_speculate(p, elapsed=0.1, expected=0.05, idle_expected=0.01)  # too early
    assert should_speculate(p, elapsed=3.1, expected=2.0, idle_expected=10.0)  # straggler
    assert should_speculate(p, elapsed=1.0, expected=10.0, idle_expected=2.0)  # idle is faster
    assert not should_speculate(p, elapsed=1.0, expected=2.0, idle_expected=2.0)
    assert not should_speculate(p, elapsed=1.0, expected=2.0, idle_expected=math.inf)
    # time on the wire is not straggling: 1.93 s since it was sent, 1.8 s of it the transfer
    assert not should_speculate(p, elapsed=1.93, expected=0.107, idle_expected=0.1, transfer=1.8)
    assert should_speculate(p, elapsed=1.93, expected=0.107, idle_expected=0.1, transfer=0.1)
    # a copy whose own transfer eats what it could save is not sent
    assert not should_speculate(p, elapsed=1.0, expected=10.0, idle_expected=2.0, idle_transfer=8)
    assert not should_speculate(p, elapsed=3.1, expected=2.0, idle_expected=1.0, idle_transfer=4)
    assert attempt_deadline(p, 1.0) == p.deadline_min_seconds
    assert attempt_deadline(p, 100.0) == 100.0 * p.deadline_ratio


def test_locality_prefers_cached_blocks() -> None:
    free = [(0, 1024), (2048, 4096)]
    assert pick_start(free, [], 256) == (1, 2048)  # largest free interval
    assert pick_start(free, [9], 256) == (1, 9 * 256)
    assert pick_start(free, [2, 9], 256) == (0, 512)
    assert pick_start(free, [5], 256) == (1, 2048)  # block 5 is not free
    with pytest.raises(ValueError):
        pick_start([], [], 256)


def test_inflight_counts_toward_the_share() -> None:
    """A worker's share is of all unfinished work less what it already holds: the other worker
    gets a full share rather than a share of the rest, and a worker holding its share gets 0."""
    policy = SizingPolicy(target_seconds=1e6, min_points=256, block_points=256, tail_fraction=1.0)
    n = 1 << 20

    def size(remaining: int, here: int = 0, total: int = 0) -> int:
        return task_size(
            policy,
            worker_rate_k=10_000.0,
            worker_factor=1.0,
            fleet_capacity=20_000.0,
            remaining=remaining,
            free_here=remaining,
            inflight_here=here,
            inflight_total=total,
        )

    first = size(n)
    assert first == n // 2
    assert size(n - first, total=first) == n // 2  # not half of the remaining half
    assert size(n // 2, here=first, total=first) == 0  # holds its share already
    assert size(n // 4, here=first // 2, total=first) > 0  # finished part of it: more
    # a worker with nothing in flight always gets work while any is left
    assert size(300, here=0, total=n) >= 256


def test_block_units_weigh_scalars_and_groups() -> None:
    """Full-size scalars cost 1 unit, small ones (0, 1, < 2^64) SMALL_SCALAR_COST, times the
    group's weight; the last block may be short."""
    r = 21888242871839275222246405745257275088548364400416903090008666212781218463041
    big = [
        (r - 1).to_bytes(32, "little"),
        (1 << 64).to_bytes(32, "little"),
        (1 << 200).to_bytes(32, "little"),
    ]
    small = [bytes(32), (1).to_bytes(32, "little"), (2**64 - 1).to_bytes(32, "little")]
    scal = b"".join(big * 2 + small * 2 + big[:1])  # 13 scalars, blocks of 6: 6 big | 6 small | 1
    assert block_units(scal, 6) == pytest.approx([6.0, 6 * SMALL_SCALAR_COST, 1.0])
    w = group_cost("bn254", "G2")
    assert w > 2 and group_cost("bls12_381", "G1") > group_cost("bn254", "G1") == 1.0
    assert block_units(scal, 6, w) == pytest.approx([6 * w, 6 * w * SMALL_SCALAR_COST, w])
    assert block_units(b"", 6) == []


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 31), st.integers(0, 255)).map(
            lambda t: bytes(t[0]) + bytes([t[1]]) + bytes(31 - t[0])
        ),
        max_size=40,
    ),
    st.integers(1, 9),
)
def test_block_units_match_a_plain_count(scalars: list[bytes], block: int) -> None:
    """The native count agrees with counting in Python: one non-zero byte anywhere in 8..31
    makes a scalar full-size (every position and value tried, blocks of every length)."""
    data = b"".join(scalars)
    want = []
    for lo in range(0, len(scalars), block):
        part = scalars[lo : lo + block]
        nbig = sum(1 for x in part if any(x[8:]))
        want.append(nbig + SMALL_SCALAR_COST * (len(part) - nbig))
    assert block_units(data, block) == pytest.approx(want)


def test_scalar_block_counts_reject_bad_arguments() -> None:
    from zkedge import _lib

    with pytest.raises(ValueError):
        _lib.scalar_block_counts(bytes(64), 0)
    with pytest.raises(ValueError):
        _lib.scalar_block_counts(bytes(63), 4)
    assert _lib.scalar_block_counts(b"", 4) == []


def test_whole_range_within_the_share_is_not_cut() -> None:
    """A free range whose work fits the worker's full share goes out whole (a cut adds work);
    a bigger one is cut by factoring; a worker already holding work gets no sliver."""
    policy = SizingPolicy(target_seconds=1e6, min_points=256, block_points=256, tail_fraction=0.5)

    def size(free_units: float, free_here: int = 1 << 16, **kw: float) -> int:
        args: dict[str, float] = {"remaining": 4 * free_units} | kw
        return task_size(
            policy,
            worker_rate_k=10_000.0,
            worker_factor=1.0,
            fleet_capacity=20_000.0,
            free_here=free_here,
            free_units=free_units,
            to_points=lambda u: math.ceil(u),
            **args,
        )

    # share = half of 4 * 1000 = 2000 >= 1000: whole, though tail_fraction * share = 1000 < 65536
    assert size(1000.0) == 1 << 16
    assert size(3000.0, remaining=4000.0) == 1000  # over the share: cut to 0.5 * 2000
    # share (3000 + 2400) / 2 - 2300 = 400, times 0.5 = 200 < min_points: no sliver for a busy
    # worker, but an idle one still gets its minimum
    assert size(3000.0, remaining=3000.0, inflight_here=2300.0, inflight_total=2400.0) == 0
    assert size(3000.0, remaining=3000.0, inflight_here=0.0, inflight_total=4700.0) >= 256


def test_link_meter_averages_round_trips_and_large_downloads() -> None:
    from zkedge.fleet.worker.client import LinkMeter

    m = LinkMeter(alpha=0.5, min_bytes=1000)
    assert (m.rtt, m.rate) == (0.0, 0.0)
    m.round_trip(0.010)
    m.round_trip(0.030)
    assert m.rtt == pytest.approx(0.020)
    m.download(500, 0.001)  # too small to say anything about the rate
    assert m.rate == 0.0
    m.download(2_000_000, 1.0)
    m.download(1_000_000, 1.0)
    assert m.rate == pytest.approx(1_500_000)


async def test_transfer_seconds_from_the_reported_link() -> None:
    from zkedge.fleet.coordinator.model import LoadSample, NodeFacts
    from zkedge.fleet.coordinator.registry import Registry

    reg = Registry(SizingPolicy())
    w = reg.register("w", NodeFacts(), {}, None)
    assert w.transfer_seconds(10_000_000) == 0.0  # nothing measured: no transfer time assumed
    w.set_load(LoadSample(rtt_seconds=0.01, recv_bytes_per_sec=2.5e6))  # 20 Mbit/s
    assert w.transfer_seconds(5_000_000) == pytest.approx(2.01)


def test_a_rate_settles_when_two_tasks_agree() -> None:
    """The first task replaces the micro-benchmark; the estimate is settled once a later
    sample lands within ``settled_deviation`` of it, and unsettled again by one that does not."""
    p = SizingPolicy(settled_deviation=0.1)
    est = CapacityEstimate(p)
    est.seed(1e5, 1 << 16, 1.0)
    assert not est.settled
    n = 1 << 16
    est.observe(1e5, 1.0, 1.0, n)
    assert not est.settled and est.samples == 1
    est.observe(1.05e5, 1.0, 1.0, n)
    assert est.settled and est.deviation == pytest.approx(0.05, rel=1e-6)
    est.observe(2e5, 1.0, 1.0, n)
    assert not est.settled


async def test_a_tasks_cpu_share_stands_for_the_load_until_a_second_heartbeat() -> None:
    """The heartbeat's utilisation averages over seconds the worker sat idle; a task's
    measured share of its cores replaces it (throttling still scales it, as a CPU share does
    not see a slower clock), until a second heartbeat comes after the task."""
    from zkedge.fleet.coordinator.model import LoadSample, NodeFacts
    from zkedge.fleet.coordinator.registry import Registry

    busy = LoadSnapshot(cpu_utilization=1.0, own_cpu_utilization=0.2)
    assert load_factor(POLICY, busy) == pytest.approx(1 / 1.8)
    assert load_factor(POLICY, busy, 0.97) == pytest.approx(0.97)
    assert load_factor(POLICY, None, 0.5) == pytest.approx(0.5)
    assert load_factor(POLICY, LoadSnapshot(throttled=True), 0.8) == pytest.approx(
        0.8 * POLICY.throttle_factor
    )
    assert load_factor(POLICY, None, 0.0) == pytest.approx(0.05)  # a floor, never 0
    reg = Registry(POLICY)
    w = reg.register("w", NodeFacts(), {}, None)
    hb = LoadSample(cpu_utilization=1.0, own_cpu_utilization=0.2)
    reg.heartbeat(w, hb)
    assert w.factor(POLICY) == pytest.approx(1 / 1.8)
    w.note_cpu_share(0.5)
    assert w.factor(POLICY) == pytest.approx(0.5)
    reg.heartbeat(w, hb)  # its interval overlaps the task
    assert w.factor(POLICY) == pytest.approx(0.5)
    reg.heartbeat(w, hb)  # idle since the task: the heartbeat's view again
    assert w.factor(POLICY) == pytest.approx(1 / 1.8)


async def test_cpu_shares_average_over_compute_time() -> None:
    """A task's share weighs by its length: a few milliseconds in which the coordinator took
    half the core barely move the factor, a long task's share mostly replaces it, and after two
    heartbeats with no task between them the next share stands alone."""
    import math

    from zkedge.fleet.coordinator.model import LoadSample, NodeFacts
    from zkedge.fleet.coordinator.registry import SHARE_HORIZON, Registry

    reg = Registry(POLICY)
    w = reg.register("w", NodeFacts(), {}, None)
    w.note_cpu_share(1.0, 0.2)
    assert w.factor(POLICY) == pytest.approx(1.0)  # the first share stands alone
    w.note_cpu_share(0.5, 0.012)
    a = 1 - math.exp(-0.012 / SHARE_HORIZON)
    assert w.factor(POLICY) == pytest.approx(1 - 0.5 * a) and w.factor(POLICY) > 0.95
    before = w.factor(POLICY)
    w.note_cpu_share(0.5, 5 * SHARE_HORIZON)
    a = 1 - math.exp(-5)
    assert w.factor(POLICY) == pytest.approx(a * 0.5 + (1 - a) * before)
    hb = LoadSample(cpu_utilization=0.1, own_cpu_utilization=0.1)
    reg.heartbeat(w, hb)
    reg.heartbeat(w, hb)
    w.note_cpu_share(0.8, 0.001)
    assert w.factor(POLICY) == pytest.approx(0.8)


def test_cpu_share_of_a_native_msm() -> None:
    """CPU seconds over wall seconds times the threads the native core uses (one below 256
    points), at most 1; 0 when there is nothing to measure."""
    from zkedge.fleet.worker.executor import cpu_share

    assert cpu_share(0.5, 1.0, 1, 4096) == pytest.approx(0.5)
    assert cpu_share(1.0, 1.0, 2, 4096) == pytest.approx(0.5 if _cores() >= 2 else 1.0)
    assert cpu_share(0.5, 1.0, 8, 100) == pytest.approx(0.5)  # small: one thread
    assert cpu_share(1.3, 1.0, 1, 4096) == 1.0
    assert cpu_share(0.5, 0.0, 1, 4096) == 0.0


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0))
