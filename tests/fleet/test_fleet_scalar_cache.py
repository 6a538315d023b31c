"""Scalars sent once: a worker keeps recent task scalars by hash and the coordinator leaves out
the ones it holds (zkedge.fleet.scalar_lru). The mirror rule, the scheduler's messages, the fallback
when the worker lacks a slice after all, and real workers over gRPC."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st
from support.fleet import assignments, make_table, native_or_skip, start_coordinator, start_workers

from zkedge.fleet.coordinator import MsmSpec
from zkedge.fleet.coordinator.model import LoadSample, NodeFacts
from zkedge.fleet.coordinator.registry import Registry
from zkedge.fleet.coordinator.scheduler import Scheduler
from zkedge.fleet.coordinator.sizing import SizingPolicy
from zkedge.fleet.coordinator.store import Store
from zkedge.fleet.scalar_lru import SliceLru, scalars_hash

ONE_TASK = SizingPolicy(target_seconds=1e6, min_points=8, block_points=8)


@settings(max_examples=200, deadline=None)
@given(
    cap=st.integers(0, 40),
    ops=st.lists(st.tuples(st.integers(0, 6), st.integers(1, 16)), max_size=60),
)
def test_mirror_follows_the_worker(cap: int, ops: list[tuple[int, int]]) -> None:
    """The coordinator's size-only mirror and the worker's cache, fed the same assignments in
    order, hold the same keys in the same order: a slice left out is always there."""
    mirror, worker = SliceLru(cap), SliceLru(cap)
    sizes: dict[str, int] = {}
    for k, size in ops:
        key = f"k{k}"
        size = sizes.setdefault(key, size)  # a hash names one content, so one size
        omitted = mirror.touch(key)
        if not omitted:
            mirror.put(key, size)
            worker.put(key, size, bytes(size))
        else:
            assert worker.get(key) == bytes(size)
        assert mirror.keys() == worker.keys()
        assert mirror.used == worker.used <= cap


def test_lru_evicts_least_recent_and_skips_oversized() -> None:
    lru = SliceLru(10)
    lru.put("a", 4, b"a" * 4)
    lru.put("b", 4, b"b" * 4)
    assert lru.get("a") == b"a" * 4  # a is now the most recent
    lru.put("c", 4, b"c" * 4)  # over budget: b goes
    assert lru.keys() == ["a", "c"] and lru.used == 8
    lru.put("big", 11, b"x" * 11)
    assert "big" not in lru and lru.keys() == ["a", "c"]
    lru.discard("a")
    assert lru.keys() == ["c"] and lru.used == 4


def _shared_job(sched: Scheduler, n: int = 64) -> tuple[bytes, list[str]]:
    """Three MSMs over different tables with the same scalars (as A, B1, B2 of a proof)."""
    scalars = b"".join((7 * i + 3).to_bytes(32, "little") for i in range(n))
    tables = [sched.add_table("bn254", "G1", bytes([k]) * (64 * n)) for k in range(3)]
    sched.submit("g16", [(h, n, scalars) for h in tables])
    return scalars, tables


async def test_shared_scalars_travel_once_to_a_caching_worker() -> None:
    reg = Registry(ONE_TASK)
    sched = Scheduler(Store(None), reg, ONE_TASK, pipeline_depth=3)
    w = reg.register("w", NodeFacts(bench_points_per_sec=1e4, scalar_cache_bytes=1 << 20), {}, None)
    recv = reg.open_stream(w)
    scalars, _ = _shared_job(sched)
    got = assignments(recv)
    assert len(got) == 3
    assert {a.scalars_hash for a in got} == {scalars_hash(scalars)}
    assert [len(a.scalars) for a in got] == [len(scalars), 0, 0]
    assert sched.dispatcher.scalar_bytes_sent == len(scalars)
    assert sched.dispatcher.scalar_bytes_saved == 2 * len(scalars)


async def test_a_shared_vector_is_hashed_once_per_range(monkeypatch: pytest.MonkeyPatch) -> None:
    """A, B1, B2 and C of a proof (C a suffix of the witness) hash each range of the shared
    vector once between them, and C's ranges are named as the same points of the others'."""
    import zkedge.fleet.coordinator.model as model

    hashed: list[int] = []

    def counted(data: bytes | memoryview) -> str:
        hashed.append(len(data) // 32)
        return scalars_hash(data)

    monkeypatch.setattr(model, "scalars_hash", counted)
    reg = Registry(ONE_TASK)
    sched = Scheduler(Store(None), reg, ONE_TASK, pipeline_depth=8)
    w = reg.register("w", NodeFacts(bench_points_per_sec=1e4, scalar_cache_bytes=1 << 20), {}, None)
    recv = reg.open_stream(w)
    n, k = 64, 16
    scalars = b"".join((7 * i + 3).to_bytes(32, "little") for i in range(n))
    tables = [sched.add_table("bn254", "G1", bytes([j]) * (64 * n)) for j in range(4)]
    job = sched.submit(
        "g16", [*((h, n, scalars) for h in tables[:3]), (tables[3], n - k, scalars[32 * k :])]
    )
    got = assignments(recv)
    offset = {h: 0 for h in tables[:3]} | {tables[3]: k}
    ranges = {(a.start + offset[a.table_hash], a.count) for a in got}  # in the witness's points
    assert sum(a.count for a in got) == 3 * n + n - k  # every point of every MSM, once
    assert sorted(hashed) == sorted(c for _, c in ranges)  # one hash per range of the vector
    for a in got:
        lo = 32 * (a.start + offset[a.table_hash])
        assert a.scalars_hash == scalars_hash(scalars[lo : lo + 32 * a.count])
    msms = job.msms
    assert msms[0].hashes is msms[1].hashes is msms[2].hashes is msms[3].hashes
    assert msms[3].scalar_hash(0, n - k) == msms[0].scalar_hash(k, n - k)


async def test_worker_without_a_cache_gets_every_slice() -> None:
    reg = Registry(ONE_TASK)
    sched = Scheduler(Store(None), reg, ONE_TASK, pipeline_depth=3)
    w = reg.register("w", NodeFacts(bench_points_per_sec=1e4), {}, None)  # an older worker
    recv = reg.open_stream(w)
    scalars, _ = _shared_job(sched)
    got = assignments(recv)
    assert [bytes(a.scalars) for a in got] == [scalars] * 3
    assert all(a.scalars_hash == "" for a in got)
    assert sched.dispatcher.scalar_bytes_saved == 0


async def test_missing_slice_is_sent_again_without_a_strike() -> None:
    reg = Registry(ONE_TASK)
    sched = Scheduler(Store(None), reg, ONE_TASK, max_attempts=1, pipeline_depth=3)
    w = reg.register("w", NodeFacts(bench_points_per_sec=1e4, scalar_cache_bytes=1 << 20), {}, None)
    recv = reg.open_stream(w)
    scalars, _ = _shared_job(sched)
    omitted = [a for a in assignments(recv) if not a.scalars]
    assert len(omitted) == 2
    a = omitted[0]
    ok, _ = sched.fail("w", a.task_id, a.attempt, "not cached", False, scalars_missing=True)
    assert ok and sched.tasks[a.task_id].strikes == 0 and sched.dispatcher.scalar_resends == 1
    (again,) = assignments(recv)  # max_attempts=1, yet the task runs again
    assert (again.task_id, again.attempt) == (a.task_id, 2)
    assert bytes(again.scalars) == scalars


async def test_new_stream_starts_a_new_mirror() -> None:
    reg = Registry(ONE_TASK)
    sched = Scheduler(Store(None), reg, ONE_TASK, pipeline_depth=1)
    w = reg.register("w", NodeFacts(bench_points_per_sec=1e4, scalar_cache_bytes=1 << 20), {}, None)
    reg.open_stream(w)
    _shared_job(sched)
    assert w.scalars is not None and len(w.scalars) == 1
    reg.open_stream(w)  # what the old stream carried may never have arrived
    assert w.scalars is not None and len(w.scalars) == 0


@pytest.mark.parametrize("worker_keeps", [True, False])
async def test_real_workers_share_scalars_across_msms(
    nursery: trio.Nursery, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, worker_keeps: bool
) -> None:
    """One worker, a G1 and a G2 MSM over the same scalars (as B1 and B2 of a proof): the
    second MSM's scalars are left out and the results equal local MSMs. When the worker's
    cache turns out empty (as after a restart of the cache), it says so, gets the scalars
    again and the job still finishes with the right results."""
    native_or_skip()
    from zkedge.msm import msm

    if not worker_keeps:
        import zkedge.fleet.worker.client as client_mod

        monkeypatch.setattr(client_mod, "SliceLru", lambda cap: SliceLru(0))
    n = 16  # = min_points: each MSM goes out as one task, so both name the same slice
    t1, s = make_table("bn254", "G1", n, seed=5)
    t2, _ = make_table("bn254", "G2", n, seed=6)
    policy = SizingPolicy(target_seconds=1e6, min_points=n, block_points=n)
    with trio.fail_after(60):
        coord = await start_coordinator(nursery, None, policy=policy)
        (w,) = await start_workers(nursery, coord, tmp_path, ["w"])
        handle = await coord.submit_job(
            [MsmSpec("bn254", "G1", t1, s), MsmSpec("bn254", "G2", t2, s)], label="shared"
        )
        assert await handle.results() == [msm(t1, s), msm(t2, s)]
        sent, saved, resent = coord.scalar_traffic()
        sent += coord._scheduler_or_raise().dispatcher.packing_saved  # as 32-byte scalars
        if worker_keeps:
            assert (sent, saved, resent) == (32 * n, 32 * n, 0)
        else:
            assert resent >= 1 and sent == 32 * n * (1 + resent)
        assert all(r.state == "active" for r in coord.workers())
        w.stop()


def _groth16_like(
    sched: Scheduler, n: int, off: int, wit: bytes = b"", h: bytes = b""
) -> tuple[bytes, bytes]:
    """The five MSMs of a proof: A, B1 (G1) and B2 (G2) over the witness, C over the witness
    from ``off`` on, H over other scalars (small ones unless given)."""
    wit = wit or b"".join((11 * i + 5).to_bytes(32, "little") for i in range(n))
    h = h or b"".join((13 * i + 1).to_bytes(32, "little") for i in range(n))
    g1 = [sched.add_table("bn254", "G1", bytes([k]) * (64 * n)) for k in range(4)]
    g2 = sched.add_table("bn254", "G2", bytes([9]) * (128 * n))
    sched.submit(
        "groth16",
        [(g1[0], n, wit), (g1[1], n, wit), (g2, n, wit), (g1[2], n - off, wit[32 * off :]),
         (g1[3], n, h)],
    )  # fmt: skip
    return wit, h


async def test_witness_msms_are_carved_aligned_so_each_slice_travels_once() -> None:
    """Two caching workers, a proof cut into many ranges: A, B1, B2 and C ranges go out
    aligned on the witness, claimed by one worker, so each witness slice crosses the wire once
    (and the C range that starts at the offset once more); H's scalars once. Without the
    alignment, independently carved ranges rarely share a slice."""
    policy = SizingPolicy(target_seconds=1e-3, min_points=8, block_points=8)
    reg = Registry(policy)
    sched = Scheduler(Store(None), reg, policy, pipeline_depth=1000)
    node = NodeFacts(bench_points_per_sec=1e4, scalar_cache_bytes=1 << 20)
    slow = LoadSample(rtt_seconds=0.005, recv_bytes_per_sec=1e5)  # 100 kB/s: bytes are dear
    recvs = [reg.open_stream(reg.register(w, node, {}, slow)) for w in ("w0", "w1")]
    n, off = 256, 3
    wit, h = _groth16_like(sched, n, off)
    got = [assignments(r) for r in recvs]
    assert sum(a.count for g in got for a in g) == 4 * n - off + n  # every point assigned
    assert all(g for g in got) and len(got[0]) + len(got[1]) > 10  # both workers, many ranges
    sent = sched.dispatcher.scalar_bytes_sent
    assert len(wit) + len(h) <= sent <= len(wit) + len(h) + 32 * (policy.block_points + off)
    # every group range a worker got names a slice it got the bytes of
    for g in got:
        have = {a.scalars_hash for a in g if a.scalars}
        assert all(a.scalars_hash in have for a in g)


async def test_on_a_fast_link_the_witness_msms_go_out_whole() -> None:
    """Alignment costs compute (shorter ranges); a worker whose measured link moves the
    witness in far less time than that gets whole MSMs (a worker that has measured nothing
    too), A, B1 and B2 each cut at C's offset: the witness from there is C's slice as well, so
    one copy of the witness serves all four."""
    policy = SizingPolicy(target_seconds=1e6, min_points=8, block_points=8)
    for load in (LoadSample(rtt_seconds=0.0002, recv_bytes_per_sec=1e12), None):
        reg = Registry(policy)
        sched = Scheduler(Store(None), reg, policy, pipeline_depth=1000)
        node = NodeFacts(bench_points_per_sec=1e4, scalar_cache_bytes=1 << 20)
        recv = reg.open_stream(reg.register("w", node, {}, load))
        n, off = 256, 3
        wit, h = _groth16_like(sched, n, off)
        got = assignments(recv)
        assert sorted(a.count for a in got) == [off] * 3 + [n - off] * 4 + [n]
        assert sched.dispatcher.scalar_bytes_sent == len(wit) + len(h)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 3), min_size=1, max_size=40),
    st.floats(0.01, 50.0),
    st.integers(0, 39),
    st.floats(0.0, 5000.0),
)
def test_points_for_counts_the_transfer_of_each_point(
    kinds: list[int], byte_units: float, start: int, units: float
) -> None:
    """With transfer counted, points_for is still the fewest points from start whose cost
    reaches the units (or all that are left)."""
    from zkedge.fleet.coordinator.model import MsmState

    values = [0, 1, 1 << 40, (1 << 200) + 7]
    n = len(kinds)
    scalars = b"".join(values[k].to_bytes(32, "little") for k in kinds)
    m = MsmState(0, "bn254", "G1", "h", n, scalars, [(0, n)], 4, byte_units=byte_units)
    start = min(start, n - 1)
    got = m.points_for(start, units)
    assert 1 <= got <= n - start
    if got < n - start:
        assert m.cost(start, got) >= units - 1e-9
    if got > 1:
        assert m.cost(start, got - 1) < units


async def test_a_slow_measured_link_makes_fresh_scalars_weigh_more() -> None:
    """Once a worker has measured its link, an MSM's points carry their transfer in its cost:
    the group's leader and H count it, the group's members (sharing the slice) do not."""
    policy = SizingPolicy(target_seconds=1e-3, min_points=8, block_points=8)
    reg = Registry(policy)
    sched = Scheduler(Store(None), reg, policy, pipeline_depth=1000)
    node = NodeFacts(bench_points_per_sec=1e4, scalar_cache_bytes=1 << 20)
    reg.open_stream(reg.register("w", node, {}, LoadSample(recv_bytes_per_sec=1e5)))
    _groth16_like(sched, 64, 3)
    (job,) = sched.jobs.values()
    a, b1, b2, c, h = job.msms
    assert a.byte_units > 0 and h.byte_units == a.byte_units
    assert b1.byte_units == b2.byte_units == c.byte_units == 0
    assert h.cost(0, 8) == pytest.approx(h.compute_cost(0, 8) + 8 * h.byte_units)


async def test_ranges_on_held_scalars_ride_along_in_the_pipeline() -> None:
    """Aligned ranges after the first of a group name a slice the worker holds: they take no
    place in its pipeline. With a depth of 2, each worker gets at most two slices and at once
    every range that shares them, so a second slice travels while the first group computes."""
    policy = SizingPolicy(target_seconds=1e-3, min_points=8, block_points=8)
    reg = Registry(policy)
    sched = Scheduler(Store(None), reg, policy, pipeline_depth=2)
    node = NodeFacts(bench_points_per_sec=1e4, scalar_cache_bytes=1 << 20)
    slow = LoadSample(rtt_seconds=0.005, recv_bytes_per_sec=1e5)
    recvs = [reg.open_stream(reg.register(w, node, {}, slow)) for w in ("w0", "w1")]
    _groth16_like(sched, 256, 3)
    riders = 0
    for recv in recvs:
        got = assignments(recv)
        carrying = [a for a in got if a.scalars]
        assert 1 <= len(carrying) <= 2 and len(got) <= 4 * 2
        assert all(a.scalars_hash in {c.scalars_hash for c in carrying} for a in got)
        riders += len(got) - len(carrying)
    assert riders >= 6  # B1 and B2 (and C) of each worker's witness slices
    assert not any(t.prefer for t in sched.dispatcher.pending)  # nothing claimed left behind


async def test_on_measured_links_a_fresh_scalar_msm_is_carved_at_most_a_share_at_a_time() -> None:
    """H's fresh scalars on measured links: a carve takes at most the worker's share of that
    MSM (half here: two equal workers), so H goes out in pieces; on unmeasured links a
    worker whose share of the job covers all of H gets it in one range."""
    for load, most in ((LoadSample(rtt_seconds=0.005, recv_bytes_per_sec=1e5), 128), (None, 256)):
        policy = SizingPolicy(target_seconds=1e6, min_points=8, block_points=8)
        reg = Registry(policy)
        sched = Scheduler(Store(None), reg, policy, pipeline_depth=1000)
        node = NodeFacts(bench_points_per_sec=1e4, scalar_cache_bytes=1 << 20)
        recvs = [reg.open_stream(reg.register(w, node, {}, load)) for w in ("w0", "w1")]
        _groth16_like(sched, 256, 3)
        (job,) = sched.jobs.values()
        h_table = job.msms[4].table_hash
        got = [a.count for r in recvs for a in assignments(r) if a.table_hash == h_table]
        assert sum(got) == 256 and (max(got) <= most if load else max(got) == most)


async def test_on_measured_links_a_witness_group_is_carved_a_share_of_its_work_at_a_time() -> None:
    """The witness group on measured links: a carve takes at most the worker's share of the
    group's work, its compute and its packed bytes, so where the witness is full-size (dear to
    compute and to send) a share is fewer points than where it is small. Each worker's first
    range is a witness slice (the fewest bytes for its work: it starts computing soonest); H's
    full-size scalars come after, their transfer overlapping that compute."""
    policy = SizingPolicy(target_seconds=1e6, min_points=8, block_points=8)
    reg = Registry(policy)
    sched = Scheduler(Store(None), reg, policy, pipeline_depth=1000)
    node = NodeFacts(bench_points_per_sec=1e4, scalar_cache_bytes=1 << 20, packed_scalars=True)
    slow = LoadSample(rtt_seconds=0.005, recv_bytes_per_sec=1e5)
    recvs = [reg.open_stream(reg.register(w, node, {}, slow)) for w in ("w0", "w1")]
    n, off = 256, 3
    values = [(1 << 250) + 7 * i for i in range(n // 2)] + [i % 3 for i in range(n // 2)]
    wit = b"".join(v.to_bytes(32, "little") for v in values)
    h = b"".join(((1 << 251) + i).to_bytes(32, "little") for i in range(n))
    _groth16_like(sched, n, off, wit, h)
    (job,) = sched.jobs.values()
    a_table, h_table = job.msms[0].table_hash, job.msms[4].table_hash
    got = [assignments(r) for r in recvs]
    a_ranges = sorted((a.start, a.count) for g in got for a in g if a.table_hash == a_table)
    assert sum(c for _, c in a_ranges) == n
    first_full = dict(a_ranges)[off]  # [0, off) is a range of its own (C starts at off)
    assert 0 < first_full < n // 2 - off  # a share of the work, not half the points
    for g in got:
        assert g[0].table_hash != h_table and any(a.table_hash == h_table for a in g)


async def test_without_measured_links_the_carve_order_is_unchanged() -> None:
    """Nothing measured, nothing counted: the witness group is not carved aligned and the
    first carve is the MSM with the most work (H's full-size scalars here)."""
    policy = SizingPolicy(target_seconds=1e6, min_points=8, block_points=8)
    reg = Registry(policy)
    sched = Scheduler(Store(None), reg, policy, pipeline_depth=1)
    node = NodeFacts(bench_points_per_sec=1e4, scalar_cache_bytes=1 << 20, packed_scalars=True)
    recv = reg.open_stream(reg.register("w0", node, {}, None))
    n = 64
    h = b"".join(((1 << 251) + i).to_bytes(32, "little") for i in range(n))
    _groth16_like(sched, n, 3, h=h)
    (job,) = sched.jobs.values()
    (first,) = assignments(recv)
    assert first.table_hash == job.msms[4].table_hash and first.count == n
