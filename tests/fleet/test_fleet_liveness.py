"""Heartbeat timeouts, requeueing and reconnect backoff, on trio's fake clock (no real sleeps)."""

from __future__ import annotations

import itertools
import random

import pytest
import trio
import trio.testing

from zkedge.fleet import rpc
from zkedge.fleet.coordinator.model import Assignment, NodeFacts, Order
from zkedge.fleet.coordinator.registry import ACTIVE, DEAD, SUSPECT, Registry
from zkedge.fleet.coordinator.scheduler import Scheduler
from zkedge.fleet.coordinator.sizing import SizingPolicy
from zkedge.fleet.coordinator.store import Store
from zkedge.fleet.worker.client import Backoff, SessionEnded, reconnect_loop

POLICY = SizingPolicy(target_seconds=1.0, min_points=8, block_points=8)


def fleet(interval: float = 5.0) -> tuple[Registry, Scheduler]:
    reg = Registry(POLICY, heartbeat_interval=interval, max_missed=3)
    return reg, Scheduler(Store(None), reg, POLICY, pipeline_depth=1)


def job(sched: Scheduler, n: int = 64) -> None:
    h = sched.add_table("bn254", "G1", bytes(64 * n))
    sched.submit("t", [(h, n, bytes(32 * n))])


def assignments(recv: trio.MemoryReceiveChannel[Order]) -> list[str]:
    out: list[str] = []
    while True:
        try:
            msg = recv.receive_nowait()
        except (trio.WouldBlock, trio.EndOfChannel):
            return out
        if isinstance(msg, Assignment):
            out.append(msg.task_id)


async def test_missed_heartbeats_mark_dead_and_requeue(
    autojump_clock: trio.testing.MockClock,
) -> None:
    reg, sched = fleet()
    a = reg.register("a", NodeFacts(bench_points_per_sec=1000.0), {}, None)
    b = reg.register("b", NodeFacts(bench_points_per_sec=1000.0), {}, None)
    ra, rb = reg.open_stream(a), reg.open_stream(b)
    job(sched)
    a_tasks = [k for k, _ in a.inflight]
    assert a_tasks and b.inflight
    assignments(rb)
    with trio.fail_after(60):
        t0 = trio.current_time()
        while a.state != DEAD:
            await trio.sleep(1.25)
            reg.heartbeat(b, None)  # b keeps beating, a is silent
            reg.sweep()
            if trio.current_time() - t0 > 8:
                assert a.state in (SUSPECT, DEAD)
        dead_after = trio.current_time() - t0
    assert 15.0 < dead_after <= 16.25  # 3 missed 5-second intervals
    assert not a.inflight and a.stream is None
    # a's task is requeued at once; b (pipeline depth 1, busy) takes it as soon as it is free
    assert set(a_tasks) <= {t.id for t in sched.pending}
    (b_task, b_attempt), *_ = b.inflight
    assert sched.fail("b", b_task, b_attempt, "transient error", handed_back=False)[0]
    assert a_tasks[0] in {k for k, _ in b.inflight}
    assert sched.tasks[a_tasks[0]].attempts == 2 and sched.tasks[a_tasks[0]].strikes == 1
    assert b.state == ACTIVE
    assignments(ra)
    with pytest.raises(trio.EndOfChannel):
        ra.receive_nowait()


async def test_suspect_gets_nothing_until_it_beats_again(
    autojump_clock: trio.testing.MockClock,
) -> None:
    reg, sched = fleet()
    a = reg.register("a", NodeFacts(bench_points_per_sec=1000.0), {}, None)
    reg.open_stream(a)
    with trio.fail_after(60):
        await trio.sleep(8)
    reg.sweep()
    assert a.state == SUSPECT and not a.assignable
    job(sched)
    assert not a.inflight
    assert reg.heartbeat(a, None)
    sched.dispatch()
    assert a.state == ACTIVE and a.inflight


async def test_broken_stream_requeues_at_once(autojump_clock: trio.testing.MockClock) -> None:
    reg, sched = fleet()
    a = reg.register("a", NodeFacts(bench_points_per_sec=1000.0), {}, None)
    b = reg.register("b", NodeFacts(bench_points_per_sec=1000.0), {}, None)
    reg.open_stream(a)
    send = a.stream
    assert send is not None
    job(sched, 16)  # two tasks: one each
    (task_id, attempt), *_ = a.inflight
    reg.stream_closed(a, send)  # what the gRPC layer does when the stream breaks
    rb = reg.open_stream(b)
    sched.dispatch()
    assert task_id in assignments(rb) or task_id in {k for k, _ in b.inflight}
    ok, why = sched.fail("a", task_id, attempt, "late", handed_back=False)
    assert not ok and "lost" in why  # a late report for the superseded attempt is ignored


async def test_reconnect_backoff_is_exponential_with_jitter(
    autojump_clock: trio.testing.MockClock,
) -> None:
    times: list[float] = []

    async def session() -> bool:
        times.append(trio.current_time())
        if len(times) <= 6:
            raise rpc.ConnectionLost("refused")
        return True

    backoff = Backoff(0.5, 4.0, random.Random(7))
    with trio.fail_after(100):
        await reconnect_loop(session, backoff, lambda: False)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    bases = [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    for gap, base in zip(gaps, bases, strict=True):
        assert base / 2 <= gap <= base + 1e-9
    assert len(set(round(g, 6) for g in gaps[3:])) > 1  # jittered, not lockstep


async def test_backoff_resets_after_a_good_session(autojump_clock: trio.testing.MockClock) -> None:
    calls: list[float] = []

    async def session() -> bool:
        calls.append(trio.current_time())
        n = len(calls)
        if n in (1, 2, 3):
            raise SessionEnded("broke")
        if n == 4:
            return False  # registered and ran, then the coordinator went away
        if n == 5:
            raise SessionEnded("broke again")
        return True

    backoff = Backoff(1.0, 60.0, random.Random(1))
    with trio.fail_after(600):
        await reconnect_loop(session, backoff, lambda: False)
    assert calls[3] - calls[2] >= 2.0  # third failure backed off >= 4/2
    assert calls[4] - calls[3] == 0  # a good session reconnects at once
    assert calls[5] - calls[4] <= 1.0  # and the backoff started over


def test_backoff_validation() -> None:
    b = Backoff(1.0, 8.0, random.Random(0))
    assert [b.next() <= x for x in (1, 2, 4, 8, 8)] == [True] * 5
    b.reset()
    assert b.next() <= 1.0
