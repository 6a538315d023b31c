"""Bit windows: a job of one large MSM computed as window MSMs over the same table, one per
worker that can take the whole table. The window arithmetic against py_ecc-checked native
MSMs, the choice, the scheduler's jobs (assignments, the store, recovery after a restart),
and real workers over gRPC (the client gets the one MSM's result)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st
from support.fleet import (
    client,
    make_table,
    native_or_skip,
    port_of,
    start_coordinator,
    start_workers,
)

from zkedge.fleet.coordinator.model import Assignment, MsmState, NodeFacts
from zkedge.fleet.coordinator.registry import Registry
from zkedge.fleet.coordinator.scheduler import Scheduler
from zkedge.fleet.coordinator.sizing import SizingPolicy
from zkedge.fleet.coordinator.store import Store
from zkedge.fleet.coordinator.windows import choose_windows, combine, window_scalars

BITS = 254  # bn254's r


@pytest.mark.parametrize(
    ("n", "min_points", "capable", "expect"),
    [
        (1 << 18, 1 << 16, 2, 127),
        (1 << 18, 1 << 16, 3, 85),
        (1 << 18, 1 << 16, 9, 64),  # at most four windows
        (1 << 15, 1 << 16, 2, 0),  # too small: point ranges
        (1 << 18, 1 << 16, 1, 0),  # one worker can hold the table: nothing to share
        (1 << 18, 0, 2, 0),  # switched off
    ],
)
def test_choose_windows(n: int, min_points: int, capable: int, expect: int) -> None:
    assert choose_windows(n, min_points, capable, BITS) == expect


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 254), st.integers(0, 2**32))
def test_windows_add_up_to_the_msm(width: int, seed: int) -> None:
    """The window MSMs, each doubled into place, sum to the MSM itself (native MSMs, whose
    results tests/native checks against py_ecc)."""
    native_or_skip()
    from zkedge.msm import msm

    table, scalars = make_table("bn254", "G1", 24, seed=seed % 1000 + 1)
    raw = b"".join(s.to_bytes(32, "little") for s in scalars)
    parts = window_scalars(raw, width, BITS)
    assert len(parts) == -(-BITS // width)
    states = []
    for j, part in enumerate(parts):
        m = MsmState(j, "bn254", "G1", "h", 24, part, [], 8)
        m.result = msm(table, part)
        states.append(m)
    assert combine(states, width) == msm(table, scalars)


def _assignments(recv: trio.MemoryReceiveChannel[Any]) -> list[Assignment]:
    out: list[Assignment] = []
    while True:
        try:
            msg = recv.receive_nowait()
        except trio.WouldBlock:
            return out
        if isinstance(msg, Assignment):
            out.append(msg)


POLICY = SizingPolicy(target_seconds=1e6, min_points=8, block_points=8, window_min_points=64)


async def test_a_large_msm_goes_out_as_whole_windows_one_per_worker(tmp_path: Path) -> None:
    """Two workers that can each take the whole table: the job's one MSM becomes two window
    MSMs over all 128 points, each worker gets one whole; the store keeps the MSM once with the
    window width, and a coordinator restarted on it rebuilds the windows and their tasks."""
    path = tmp_path / "s.sqlite"
    reg = Registry(POLICY)
    sched = Scheduler(Store(path), reg, POLICY, pipeline_depth=2)
    node = NodeFacts(bench_points_per_sec=1e4)
    recvs = [reg.open_stream(reg.register(w, node, {}, None)) for w in ("w0", "w1")]
    n = 128
    scalars = b"".join(
        ((2**253 - 1) // (i + 3) * 7 % 2**253).to_bytes(32, "little") for i in range(n)
    )
    h = sched.add_table("bn254", "G1", bytes([3]) * (64 * n))
    job = sched.submit("big", [(h, n, scalars)])
    assert job.window_bits == 127 and [m.n for m in job.msms] == [n, n]
    got = [_assignments(r) for r in recvs]
    assert sorted((a.start, a.count) for g in got for a in g) == [(0, n), (0, n)]
    lows = window_scalars(scalars, 127, BITS)
    sent = sorted(bytes(a.scalars) for g in got for a in g)
    assert sent == sorted(lows)
    # what the store holds: the MSM as submitted, and the width
    (stored,) = sched.store.unfinished_jobs()
    assert stored.window_bits == 127 and [m.scalars for m in stored.msms] == [scalars]
    sched.store.close()
    reg2 = Registry(POLICY)
    sched2 = Scheduler(Store(path), reg2, POLICY)
    (again,) = sched2.recover()
    assert again.window_bits == 127 and [m.scalars for m in again.msms] == lows
    assert sorted(t.msm.idx for t in sched2.pending) == [0, 1]
    sched2.store.close()


async def test_small_msms_several_msms_and_opting_out_keep_point_ranges() -> None:
    reg = Registry(POLICY)
    sched = Scheduler(Store(None), reg, POLICY, pipeline_depth=2)
    for w in ("w0", "w1"):
        reg.open_stream(reg.register(w, NodeFacts(bench_points_per_sec=1e4), {}, None))
    h = sched.add_table("bn254", "G1", bytes([3]) * (64 * 128))
    s = bytes(32 * 128)
    assert sched.submit("small", [(h, 32, s[: 32 * 32])]).window_bits == 0
    assert sched.submit("two", [(h, 128, s), (h, 128, s)]).window_bits == 0
    assert sched.submit("no", [(h, 128, s)], windows=False).window_bits == 0


async def test_real_workers_compute_a_windowed_msm_for_a_grpc_client(
    nursery: trio.Nursery, tmp_path: Path
) -> None:
    """SubmitMsm over gRPC, two workers: the job runs as windows and WatchJob gives the one
    MSM's result, equal to a local MSM."""
    native_or_skip()
    from zkedge import ec
    from zkedge.fleet.proto.coordinator.v1 import SubmitMsmRequest, WatchJobRequest
    from zkedge.msm import msm

    n = 256
    table, scalars = make_table("bn254", "G1", n, seed=11)
    raw = b"".join(s.to_bytes(32, "little") for s in scalars)
    with trio.fail_after(60):
        coord = await start_coordinator(nursery, None, policy=POLICY)
        await start_workers(nursery, coord, tmp_path, ["w0", "w1"])
        while sum(1 for w in coord.workers() if w.assignable) < 2:
            await trio.sleep(0.05)
        async with client(port_of(coord)) as c:
            sub = await c.call(
                "submit_msm",
                SubmitMsmRequest(
                    curve="bn254", group="G1", bases=table.to_bytes(), scalars=raw, detach=True
                ),
            )
            finals: list[Any] = []
            await c.stream("watch_job", WatchJobRequest(job_id=sub.job_id), finals.append)
        job = coord._scheduler_or_raise().jobs[sub.job_id]
        assert job.window_bits == 127 and len(job.msms) == 2
        (result,) = finals[-1].results
        assert ec.decode("bn254", "G1", result, "be") == msm(table, scalars)
