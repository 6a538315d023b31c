"""MSMs split by windows: the dispatcher's choice and plan (every (window, point) cell in exactly
one task, stretches in proportion to capacity, a pool no worker is given), the wire form, a
restart that finds window tasks in the store, and real workers over gRPC (results equal local
MSMs; values cut short fail one attempt, which runs again)."""

from __future__ import annotations

import functools
import random
from pathlib import Path
from typing import Any

import pytest
import trio
from hypothesis import event, given, settings
from hypothesis import strategies as st
from support.fleet import (
    assignments,
    failure_reasons,
    native_or_skip,
    start_coordinator,
    start_workers,
)

from zkedge.fleet.coordinator import MsmSpec
from zkedge.fleet.coordinator.model import Assignment, NodeFacts, Task
from zkedge.fleet.coordinator.registry import Registry, WorkerRecord
from zkedge.fleet.coordinator.scheduler import Scheduler
from zkedge.fleet.coordinator.sizing import SizingPolicy
from zkedge.fleet.coordinator.store import Store
from zkedge.fleet.coordinator.wire import task_message

R = 21888242871839275222246405745257275088548364400416034343698204186575808495617  # bn254 r
N = 4096
POLICY = SizingPolicy(target_seconds=1e6, min_points=256, block_points=256, window_min_points=N)


def full(n: int, seed: int = 1) -> bytes:
    rng = random.Random(seed)
    return b"".join(rng.randrange(R).to_bytes(32, "little") for _ in range(n))


def fleet(
    rates: dict[str, float], store: Store | None = None, **facts: Any
) -> tuple[Registry, Scheduler, dict[str, WorkerRecord]]:
    reg = Registry(POLICY)
    sched = Scheduler(store or Store(None), reg, POLICY, pipeline_depth=2)
    recs = {}
    for wid, pps in rates.items():
        node = NodeFacts(bench_points_per_sec=pps, **{"window_tasks": True, **facts})
        recs[wid] = reg.register(wid, node, {}, None)
        reg.open_stream(recs[wid])
    return reg, sched, recs


async def both_streams(coord: Any) -> None:
    """Wait until both workers take tasks: an MSM is split by windows among the workers
    there when it is first dispatched."""
    while len([w for w in coord.workers() if w.stream is not None]) < 2:
        await trio.sleep(0.01)


def window_tasks(sched: Scheduler, job_id: str) -> list[Task]:
    return [t for t in sched.jobs[job_id].tasks.values() if t.windowed]


def cells(tasks: list[Task], n: int, nwin: int) -> list[int]:
    """How many tasks cover each (window, point) cell."""
    cover = [0] * (n * nwin)
    for t in tasks:
        for w in range(*t.windows):
            for i in range(t.start, t.start + t.count):
                cover[w * n + i] += 1
    return cover


async def test_an_msm_is_planned_by_windows_cell_by_cell_in_proportion_to_capacity() -> None:
    native_or_skip()
    _, sched, recs = fleet({"fast": 3e4, "slow": 1e4})
    h = sched.add_table("bn254", "G1", bytes(64 * N))
    job = sched.submit("msm", [(h, N, full(N))])
    m = job.msms[0]
    tasks = window_tasks(sched, job.id)
    assert m.plan and m.free == [] and len(tasks) == len(job.tasks)
    assert cells(tasks, N, len(m.plan)) == [1] * (N * len(m.plan))
    mine = {w: sum(t.cells for t in tasks if t.prefer == w) for w in recs}
    pool = [t for t in tasks if t.prefer is None]
    assert pool and all(t.count == N // 2 and t.windows[1] - t.windows[0] == 1 for t in pool)
    assert mine["fast"] == pytest.approx(3 * mine["slow"], rel=0.05)


async def test_orders_carry_their_windows_bits_and_the_task_message_says_so() -> None:
    native_or_skip()
    from zkedge.msm import scalar_window_bits

    reg = Registry(POLICY)
    sched = Scheduler(Store(None), reg, POLICY, pipeline_depth=2)
    streams = {}
    for wid in ("a", "b"):
        rec = reg.register(wid, NodeFacts(bench_points_per_sec=1e4, window_tasks=True), {}, None)
        streams[wid] = reg.open_stream(rec)
    h = sched.add_table("bn254", "G1", bytes(64 * N))
    scalars = full(N, 2)
    job = sched.submit("msm", [(h, N, scalars)])
    plan = job.msms[0].plan
    starts = [sum(plan[:k]) for k in range(len(plan))]
    for wid, recv in streams.items():
        orders: list[Assignment] = assignments(recv)
        assert len(orders) == 2, wid  # the pipeline's depth
        assert len(orders[0].window_widths) == 1  # the first is small: it starts sooner
        for a in orders:
            lo, widths = a.window_lo, a.window_widths
            w0 = starts.index(lo)
            assert widths == plan[w0 : w0 + len(widths)]
            view = scalars[32 * a.start : 32 * (a.start + a.count)]
            want = scalar_window_bits("bn254", view, lo, lo + sum(widths))
            assert bytes(a.scalars) == want and not a.packed and a.scalars_hash == ""
            msg = task_message(a).assign
            assert msg.window_lo == lo and list(msg.window_widths) == list(widths)
            assert msg.scalars == want


@pytest.mark.parametrize(
    ("why", "facts", "scalars", "n", "msms"),
    [
        ("a worker without window tasks", {"window_tasks": False}, None, N, 1),
        ("a worker that cannot hold the table", {"memory_bytes": 64 * N}, None, N, 1),
        ("small scalars", {}, b"".join((i % 7).to_bytes(32, "little") for i in range(N)), N, 1),
        ("below window_min_points", {}, None, N // 2, 1),
        ("a job of two MSMs (a proof's are balanced range by range)", {}, None, N, 2),
    ],
)
async def test_an_msm_is_split_by_points_when_windows_do_not_fit(
    why: str, facts: dict[str, Any], scalars: bytes | None, n: int, msms: int
) -> None:
    native_or_skip()
    reg, sched, _ = fleet({"a": 1e4})
    node = NodeFacts(bench_points_per_sec=1e4, **{"window_tasks": True, **facts})
    reg.open_stream(reg.register("b", node, {}, None))
    h = sched.add_table("bn254", "G1", bytes(64 * N))
    job = sched.submit("msm", [(h, n, scalars or full(n, seed=k)) for k in range(msms)])
    assert not any(m.plan for m in job.msms) and not window_tasks(sched, job.id), why


async def test_a_restart_computes_window_tasks_again_by_points(tmp_path: Path) -> None:
    """The plan is not stored: a recovered MSM whose tasks were window tasks is free again,
    and carving it anew replaces the old rows."""
    native_or_skip()
    path = tmp_path / "s.sqlite"
    store = Store(path)
    _, sched, _ = fleet({"a": 1e4, "b": 1e4}, store)
    h = sched.add_table("bn254", "G1", bytes(64 * N))
    job = sched.submit("msm", [(h, N, full(N))])
    assert window_tasks(sched, job.id)
    store.close()
    store = Store(path)
    reg = Registry(POLICY)
    again = Scheduler(store, reg, POLICY, pipeline_depth=2)
    (rec,) = again.recover()
    m = rec.msms[0]
    assert m.free == [(0, N)] and not m.plan and not rec.tasks and rec.points_done == 0
    a = reg.register("a", NodeFacts(bench_points_per_sec=1e4, window_tasks=True), {}, None)
    b = reg.register("b", NodeFacts(bench_points_per_sec=1e4, window_tasks=True), {}, None)
    reg.open_stream(a)
    reg.open_stream(b)
    again.dispatch()
    assert m.plan and cells(window_tasks(again, rec.id), N, len(m.plan)) == [1] * (N * len(m.plan))


async def test_real_workers_compute_an_msm_split_by_windows(
    nursery: trio.Nursery, tmp_path: Path
) -> None:
    native_or_skip()
    from support.fleet import make_table

    from zkedge.msm import msm

    table, scalars = make_table("bn254", "G1", N, seed=5)
    g2, k2 = make_table("bn254", "G2", N, seed=6)
    with trio.fail_after(120):
        coord = await start_coordinator(nursery, None, policy=POLICY)
        await start_workers(nursery, coord, tmp_path, ["w0", "w1"])
        await both_streams(coord)
        for spec, want in ((MsmSpec("bn254", "G1", table, scalars), msm(table, scalars)),
                           (MsmSpec("bn254", "G2", g2, k2), msm(g2, k2))):  # fmt: skip
            handle = await coord.submit_job([spec])
            assert await handle.results() == [want]
            job = coord._scheduler_or_raise().jobs[handle.id]
            assert job.msms[0].plan and all(t.windowed for t in job.tasks.values())
            assert sum(p for p, _, _ in job.shares().values()) == N


async def test_values_cut_short_fail_that_attempt_and_the_task_runs_again(
    nursery: trio.Nursery, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    native_or_skip()
    from support.fleet import make_table

    import zkedge.msm
    from zkedge.msm import msm

    real = zkedge.msm.scalar_window_bits_many
    spoiled: list[int] = []

    def spoil(curve: Any, scalars: Any, tasks: Any) -> list[memoryview]:
        out = real(curve, scalars, tasks)
        if not spoiled:
            spoiled.append(len(out[0]))
            out[0] = out[0][:-1]
        return out

    monkeypatch.setattr(zkedge.msm, "scalar_window_bits_many", spoil)
    table, scalars = make_table("bn254", "G1", N, seed=7)
    with trio.fail_after(120):
        coord = await start_coordinator(nursery, None, policy=POLICY)
        sched = coord._scheduler_or_raise()
        reasons = failure_reasons(coord, monkeypatch)
        await start_workers(nursery, coord, tmp_path, ["w0", "w1"])
        await both_streams(coord)
        handle = await coord.submit_job([MsmSpec("bn254", "G1", table, scalars)])
        assert all(t.windowed for t in sched.jobs[handle.id].tasks.values())
        assert await handle.results() == [msm(table, scalars)]
    assert spoiled and len(reasons) == 1
    assert reasons[0].startswith("ValueError: expected") and "\n" not in reasons[0]


def test_window_tasks_over_one_bases_object_check_the_table_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The worker's window tasks over the same cached run adopt it as a table once (every
    adoption checks each coordinate against p); a new bytes object is checked again."""
    native_or_skip()
    from support.fleet import make_table

    import zkedge._lib
    from zkedge.fleet.worker.executor import compute_partial
    from zkedge.msm import msm, scalar_window_bits, window_plan

    table, ks = make_table("bn254", "G1", 512, seed=8)
    raw = b"".join(k.to_bytes(32, "little") for k in ks)
    mont = table.to_bytes()
    checks: list[int] = []
    real = zkedge._lib.points_check

    def counted(*args: Any, **kw: Any) -> None:
        if kw.get("what") == "base point":  # a table adopted in place
            checks.append(1)
        real(*args, **kw)

    monkeypatch.setattr(zkedge._lib, "points_check", counted)
    plan = window_plan("bn254", 512)
    starts = [sum(plan[:k]) for k in range(len(plan) + 1)]
    from zkedge import ec

    total = None
    for w in range(len(plan)):
        vals = scalar_window_bits("bn254", raw, starts[w], starts[w + 1])
        res = compute_partial(
            "bn254", "G1", mont, vals, 1, windows=(starts[w], plan[w : w + 1]), count=512
        )
        total = ec.add("bn254", "G1", total, ec.decode("bn254", "G1", res.result, "be"))
    assert total == msm(table, ks)
    assert len(checks) == 1
    vals = scalar_window_bits("bn254", raw, 0, plan[0])
    compute_partial(
        "bn254", "G1", bytes(bytearray(mont)), vals, 1, windows=(0, plan[:1]), count=512
    )
    assert len(checks) == 2


async def test_a_rerun_of_a_finished_window_task_carries_its_values() -> None:
    """A finished task's values are dropped; a re-run (blame's verification) makes them
    again for that task."""
    native_or_skip()
    from zkedge import ec
    from zkedge.msm import scalar_window_bits

    g = ec.encode("bn254", "G1", ec.generator("bn254", "G1"), "be")
    reg = Registry(POLICY)
    sched = Scheduler(Store(None), reg, POLICY, pipeline_depth=2)
    streams, recs = {}, {}
    for wid in ("a", "b"):
        recs[wid] = reg.register(
            wid, NodeFacts(bench_points_per_sec=1e4, window_tasks=True), {}, None
        )
        streams[wid] = reg.open_stream(recs[wid])
    h = sched.add_table("bn254", "G1", bytes(64 * N))
    scalars = full(N, 3)
    job = sched.submit("msm", [(h, N, scalars)])
    with trio.fail_after(10):
        while job.state == "running":
            for wid, rec in recs.items():
                for task_id, attempt in list(rec.inflight):
                    sched.complete(wid, task_id, attempt, g, 0.01)
            await trio.sleep(0.01)
    assert job.state == "done"
    task = next(t for t in job.tasks.values() if t.worker_id == "a")
    assert task.values is None
    for recv in streams.values():
        assignments(recv)  # drain
    sched.request_verify(task.id, exclude=["a"], replace=False)
    (order,) = [a for a in assignments(streams["b"]) if a.task_id == task.id]
    lo, hi = job.msms[0].window_bits(*task.windows)
    view = scalars[32 * task.start : 32 * (task.start + task.count)]
    assert bytes(order.scalars) == scalar_window_bits("bn254", view, lo, hi) != b""


def _g1() -> bytes:
    from zkedge import ec

    return ec.encode("bn254", "G1", ec.generator("bn254", "G1"), "be")


def _down_to_the_pool(sched: Scheduler, recs: dict[str, WorkerRecord]) -> list[Task]:
    """Report running attempts until every worker's own tasks are out and each holds one
    attempt (nothing queued); the pool's pieces, still waiting."""
    d = sched.dispatcher
    for _ in range(100):
        mine = {t.prefer for t in d.pending if t.prefer is not None}
        busy = [w for w in recs.values() if w.worker_id in mine or len(w.inflight) > 1]
        if not busy:
            break
        for w in busy:
            att = min(w.inflight.values(), key=lambda a: a.started)
            sched.complete(w.worker_id, att.task.id, att.number, _g1(), att.expected)
    assert all(len(w.inflight) == 1 for w in recs.values())
    pool = [t for t in d.pending if t.windowed and t.prefer is None]
    assert len(pool) == 2
    return pool


def _ends_in(w: WorkerRecord, seconds: float) -> Any:
    """Make the worker's one attempt expected to end ``seconds`` from now (its expected
    length kept: a report of that length leaves the rate estimate as it is)."""
    (att,) = w.inflight.values()
    att.started = trio.current_time() - (att.expected - seconds)
    return att


def _holds(w: WorkerRecord, pool: list[Task]) -> int:
    return sum(a.task in pool for a in w.inflight.values())


@pytest.mark.parametrize("b_ends", [3.0, 0.56])
async def test_a_pool_piece_goes_to_the_worker_that_ends_it_first_when_that_one_is_due(
    autojump_clock: trio.testing.MockClock, b_ends: float
) -> None:
    """The pool's halves go to the worker expected to finish them first, what it holds
    counted, and only POOL_LEAD before it runs out of work: a piece sent earlier would wait in
    that worker's queue while another runs out, one sent on its report would leave it idle
    for the report's and the order's way. A dispatch is set for when a piece is due."""
    native_or_skip()
    from zkedge.fleet.coordinator.dispatch import POOL_LEAD

    _, sched, recs = fleet({"a": 1e3, "b": 1e3})  # a piece: about 0.1 s
    a, b = recs["a"], recs["b"]
    async with trio.open_nursery() as nursery:
        h = sched.add_table("bn254", "G1", bytes(64 * N))
        sched.submit("msm", [(h, N, full(N))])  # (values made on the spot: no thread)
        sched.dispatcher.spawn = nursery.start_soon
        pool = _down_to_the_pool(sched, recs)
        p = a.capacity.seconds_for(pool[0].compute_units, a.factor(POLICY), pool[0].count)
        assert 0.07 < p < 0.2 and POOL_LEAD < 0.05
        t0 = trio.current_time()
        att = _ends_in(a, 0.5)
        _ends_in(b, b_ends)
        sched.dispatch()
        assert _holds(a, pool) == _holds(b, pool) == 0  # a is 0.5 s from running out
        await trio.sleep_until(t0 + 0.5 - POOL_LEAD - 0.002)
        assert _holds(a, pool) == 0
        await trio.sleep_until(t0 + 0.5 - POOL_LEAD + 0.002)
        assert (_holds(a, pool), _holds(b, pool)) == (1, 0)  # due: a ends it first
        await trio.sleep_until(t0 + 0.5)
        sched.complete("a", att.task.id, att.number, _g1(), att.expected)  # a runs the piece
        if b_ends - 0.5 < p:  # b ends the other piece first (a: 2 pieces from now)
            await trio.sleep_until(t0 + b_ends - POOL_LEAD - 0.002)
            assert (_holds(a, pool), _holds(b, pool)) == (1, 0)
            await trio.sleep_until(t0 + b_ends - POOL_LEAD + 0.002)
            assert (_holds(a, pool), _holds(b, pool)) == (1, 1)
        else:  # a does (b: 2.5 s and a piece from now)
            await trio.sleep_until(t0 + 0.5 + p - POOL_LEAD - 0.002)
            assert (_holds(a, pool), _holds(b, pool)) == (1, 0)
            await trio.sleep_until(t0 + 0.5 + p - POOL_LEAD + 0.002)
            assert (_holds(a, pool), _holds(b, pool)) == (2, 0)
        nursery.cancel_scope.cancel()


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(st.integers(0, 255), st.integers(0, 2**32 - 1)),
    st.lists(st.one_of(st.integers(1, 15), st.integers(0, 2**32 - 1)), max_size=20),
    st.one_of(st.none(), st.integers(0, 600)),
    st.integers(0, 40),
    st.binary(min_size=1, max_size=1),
)
def test_any_window_order_a_worker_gets_computes_or_fails_in_one_line(
    lo: int, widths: list[int], nbytes: int | None, count: int, fill: bytes
) -> None:
    """Whatever window fields and values a task brings, the worker's computation gives a
    point or raises ValueError in one line (its failure report): never another error.
    (``nbytes`` None: as many bytes as the fields ask for, so some orders are good.)"""
    native_or_skip()
    from zkedge.fleet.worker.executor import compute_partial
    from zkedge.msm import window_values_bytes

    mont = _small_table()
    if nbytes is None:  # (absurd widths ask for absurd sizes: those get a few bytes)
        nbytes = min(count * window_values_bytes(lo, lo + sum(widths)), 1 << 16)
    try:
        res = compute_partial(
            "bn254", "G1", mont, fill * nbytes, 1, windows=(lo, tuple(widths)), count=count
        )
    except ValueError as exc:
        assert "\n" not in str(exc) and str(exc)
        event("refused")
        return
    event("computed")
    assert len(res.result) == 64


@functools.cache
def _small_table() -> bytes:
    from support.fleet import make_table

    return bytes(make_table("bn254", "G1", 40, seed=9)[0].to_bytes())
