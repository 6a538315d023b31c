"""Distributed MSMs over in-process workers (real native core), checked against local MSM and
py_ecc; multi-MSM jobs, partial sums, re-runs for blame finding, quarantine, speculation."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest
import trio
from support.fleet import make_table, native_or_skip, start_coordinator, start_workers

from zkedge.curves import G1Affine
from zkedge.fleet.coordinator import MsmSpec
from zkedge.fleet.worker import Worker


async def stop(workers: list[Worker]) -> None:
    for w in workers:
        w.stop()


@pytest.mark.parametrize(
    ("curve", "group", "n"),
    [("bn254", "G1", 200), ("bls12_381", "G1", 120), ("bn254", "G2", 60), ("bls12_381", "G2", 40)],
)
async def test_distributed_msm_equals_local(
    nursery: trio.Nursery, tmp_path: Path, curve: str, group: str, n: int
) -> None:
    native_or_skip()
    from zkedge.msm import msm

    table, scalars = make_table(curve, group, n)
    with trio.fail_after(90):
        coord = await start_coordinator(nursery, tmp_path / "s.sqlite")
        workers = await start_workers(nursery, coord, tmp_path, ["a", "b", "c"])
        handle = await coord.submit_msm(curve, group, table, scalars)
        seen = []
        while not handle.done:
            seen.append((await handle.wait_progress()).points_done)
        assert await handle.result() == msm(table, scalars)
        assert seen == sorted(seen) and seen[-1] == n
        parts = handle.partials()
        assert sorted((p.start, p.start + p.count) for p in parts)[0][0] == 0
        assert sum(p.count for p in parts) == n
        assert len({p.worker_id for p in parts}) >= 2  # spread over the fleet
        # each worker that computed reported the share of its cores it had
        recs = {w.worker_id: w for w in coord.workers()}
        for wid in {p.worker_id for p in parts}:
            share = recs[wid].cpu_share
            assert share is not None and 0.05 <= share <= 1.0, (wid, share)
        await stop(workers)


async def test_small_msm_matches_py_ecc(nursery: trio.Nursery, tmp_path: Path) -> None:
    native_or_skip()
    from py_ecc import optimized_bn128 as bn

    from zkedge import ec

    table, scalars = make_table("bn254", "G1", 24, seed=5)
    pts = [
        cast(G1Affine, ec.decode("bn254", "G1", table.to_bytes()[64 * i : 64 * i + 64], "mont"))
        for i in range(24)
    ]
    want = None
    for p, s in zip(pts, scalars, strict=True):
        term = bn.multiply((bn.FQ(p[0]), bn.FQ(p[1]), bn.FQ(1)), s)
        want = term if want is None else bn.add(want, term)
    assert want is not None
    wx, wy = bn.normalize(want)
    with trio.fail_after(60):
        coord = await start_coordinator(nursery, None)
        workers = await start_workers(nursery, coord, tmp_path, ["a", "b", "c"])
        handle = await coord.submit_msm("bn254", "G1", table.to_bytes(), scalars)
        assert await handle.result() == (int(wx), int(wy))
        await stop(workers)


async def test_groth16_style_job_rerun_and_quarantine(
    nursery: trio.Nursery, tmp_path: Path
) -> None:
    native_or_skip()
    from zkedge.msm import msm

    t1, s1 = make_table("bn254", "G1", 96, seed=2)
    t2, s2 = make_table("bn254", "G2", 32, seed=3)
    with trio.fail_after(90):
        coord = await start_coordinator(nursery, tmp_path / "s.sqlite")
        workers = await start_workers(nursery, coord, tmp_path, ["a", "b", "c"])
        handle = await coord.submit_job(
            [MsmSpec("bn254", "G1", t1, s1), MsmSpec("bn254", "G2", t2, s2[:20])], label="groth16"
        )
        r1, r2 = await handle.results()
        assert r1 == msm(t1, s1) and r2 == msm(t2, s2[:20])
        parts = handle.partials()
        assert {p.msm_index for p in parts} == {0, 1}
        # blame finding: recompute one task elsewhere; same partial, another worker
        p = parts[0]
        again = await coord.rerun_task(p.task_id)
        assert again.worker_id != p.worker_id and again.point == p.point
        # quarantine: the worker gets no more tasks; release brings it back
        coord.quarantine(p.worker_id, "test")
        rec = {w.worker_id: w for w in coord.workers()}[p.worker_id]
        assert rec.state == "quarantined"
        h2 = await coord.submit_msm("bn254", "G1", t1, s1)
        assert await h2.result() == r1
        assert p.worker_id not in {q.worker_id for q in h2.partials()}
        coord.release(p.worker_id)
        assert rec.state == "active"
        await stop(workers)


async def test_tables_named_by_hash(
    nursery: trio.Nursery, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """add_table returns the content hash; an MsmSpec naming it computes the same MSM as one
    carrying the table; an unknown hash, or one of another group, is a clear error. A
    BaseTable is hashed once: submitting it again does not hash its points again."""
    native_or_skip()
    import zkedge.msm
    from zkedge.msm import msm, table_hash

    t1, s1 = make_table("bn254", "G1", 80, seed=4)
    with trio.fail_after(90):
        coord = await start_coordinator(nursery, tmp_path / "s.sqlite")
        workers = await start_workers(nursery, coord, tmp_path, ["a", "b"])
        digest = await coord.add_table("bn254", "G1", t1)
        assert digest == table_hash("bn254", "G1", t1.to_bytes()) and coord.has_table(digest)
        assert t1.content_hash() == digest

        def no_rehash(*a: object) -> str:
            raise AssertionError("a BaseTable was hashed twice")

        monkeypatch.setattr(zkedge.msm, "table_hash", no_rehash)
        assert await coord.add_table("bn254", "G1", t1) == digest
        h0 = await coord.submit_msm("bn254", "G1", t1, s1[:20])
        assert await h0.result() == msm(t1, s1[:20])
        monkeypatch.undo()
        with pytest.raises(ValueError, match="curve/group differ"):
            await coord.add_table("bn254", "G2", t1)
        assert not coord.has_table("0" * 64)
        handle = await coord.submit_job([MsmSpec("bn254", "G1", digest, s1[:50])])
        (r,) = await handle.results()
        assert r == msm(t1, s1[:50])
        with pytest.raises(ValueError, match="no bn254 G1 base table"):
            await coord.submit_job([MsmSpec("bn254", "G1", "0" * 64, s1)])
        with pytest.raises(ValueError, match="no bn254 G2 base table"):
            await coord.submit_job([MsmSpec("bn254", "G2", digest, s1[:10])])
        await stop(workers)


async def test_straggler_is_reissued_first_result_wins(
    nursery: trio.Nursery, tmp_path: Path
) -> None:
    native_or_skip()
    from zkedge.msm import msm

    table, scalars = make_table("bn254", "G1", 64, seed=4)
    with trio.fail_after(60):
        coord = await start_coordinator(nursery, None)
        fast = await start_workers(nursery, coord, tmp_path, ["fast"])
        slow = await start_workers(nursery, coord, tmp_path, ["slow"], task_delay=30.0)
        handle = await coord.submit_msm("bn254", "G1", table, scalars)
        t0 = trio.current_time()
        assert await handle.result() == msm(table, scalars)
        assert trio.current_time() - t0 < 20  # did not wait for the slow worker's 30 s
        assert {p.worker_id for p in handle.partials()} == {"fast"}
        assert any(p.attempt > 1 for p in handle.partials())  # a re-issued attempt won
        # the slow worker's attempt was called back
        assert coord.metrics.tasks.labels("cancelled")._value.get() >= 1
        await stop(fast + slow)


async def test_cancelling_a_job_stops_the_msm_on_the_board(
    nursery: trio.Nursery, tmp_path: Path
) -> None:
    """handle.cancel() while the worker computes: the coordinator's TaskCancel sets the
    worker's MsmStop, so the native MSM ends early (``tasks_stopped``) instead of running to
    its end and reporting a result nobody wants. One task of 2^17 BN254 G2 points: well over
    a second at one thread here, against the 0.3 s the test waits before cancelling."""
    native_or_skip()
    import random

    from zkedge.curves import BN254
    from zkedge.fleet.coordinator import JobFailed, SizingPolicy
    from zkedge.msm import BaseTable

    small, _ = make_table("bn254", "G2", 1024)
    table = BaseTable.from_bytes("bn254", "G2", small.to_bytes() * 128, "mont", check="none")
    rng = random.Random(7)
    scalars = [rng.randrange(BN254.r) for _ in range(len(table))]
    one_task = SizingPolicy(target_seconds=100.0, min_points=4096, block_points=4096)
    with trio.fail_after(60):
        coord = await start_coordinator(nursery, None, policy=one_task)
        [w] = await start_workers(nursery, coord, tmp_path, ["w"])
        handle = await coord.submit_msm("bn254", "G2", table, scalars)
        while not w._busy:
            await trio.sleep(0.01)
        await trio.sleep(0.3)  # bases fetched (or nearly): the MSM runs
        handle.cancel()
        with pytest.raises(JobFailed, match="cancelled"):
            await handle.result()
        while not (w.tasks_stopped or w.tasks_done):
            await trio.sleep(0.01)
        # the running attempt stopped; an attempt queued behind it may have started before its
        # own TaskCancel arrived, and then it stops too: none runs to its end
        assert w.tasks_stopped >= 1 and w.tasks_done == 0
        await stop([w])


async def test_idle_workers_prefetch_the_tables_of_recent_tasks(
    nursery: trio.Nursery, tmp_path: Path
) -> None:
    """After a job that touched only part of a table, an idle worker fetches the rest of its
    blocks (the coordinator learns it holds them), and a later MSM over the whole table
    fetches nothing."""
    native_or_skip()
    from zkedge.msm import msm

    t1, s1 = make_table("bn254", "G1", 96, seed=9)
    with trio.fail_after(90):
        coord = await start_coordinator(nursery, None)
        (w,) = await start_workers(nursery, coord, tmp_path, ["p"], prefetch_idle=0.2)
        h = await coord.submit_msm("bn254", "G1", t1, s1[:16])  # the first block only
        assert await h.result() == msm(t1, s1[:16])
        digest = t1.content_hash()
        block = coord.policy.block_points
        blocks = set(range(-(-96 // block)))
        (rec,) = coord.workers()
        rest = 64 * (96 - block)  # bytes of the blocks the job did not touch
        while rec.held.get(digest, set()) != blocks or w.metrics.prefetched._value.get() < rest:
            await trio.sleep(0.05)
        assert w.metrics.prefetched._value.get() == rest
        sent = dict(coord._scheduler_or_raise().dispatcher.bytes_sent)
        h2 = await coord.submit_msm("bn254", "G1", t1, s1)
        assert await h2.result() == msm(t1, s1)
        assert coord._scheduler_or_raise().dispatcher.bytes_sent["bases"] == sent["bases"]
        await stop([w])


async def test_a_prefetch_the_coordinator_refuses_leaves_the_session_up(
    nursery: trio.Nursery, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the coordinator answers a prefetch with an error (a table it no longer has), the
    worker stops prefetching that table; its session stays up and it takes the next task."""
    native_or_skip()
    from zkedge.msm import msm

    t1, s1 = make_table("bn254", "G1", 96, seed=11)
    t2, s2 = make_table("bn254", "G1", 16, seed=12)
    with trio.fail_after(90):
        coord = await start_coordinator(nursery, None)
        (w,) = await start_workers(nursery, coord, tmp_path, ["q"], prefetch_idle=0.2)
        assert await (await coord.submit_msm("bn254", "G1", t1, s1[:16])).result() == msm(
            t1, s1[:16]
        )
        sched = coord._scheduler_or_raise()
        gone = t1.content_hash()
        real = sched.table
        refused = trio.Event()

        def table(h: str) -> object:
            if h == gone:
                refused.set()
                return None
            return real(h)

        monkeypatch.setattr(sched, "table", table)
        await refused.wait()  # the worker asked for the rest of t1 and was told NOT_FOUND
        await trio.sleep(0.5)
        assert w.sessions == 1 and w.registered
        assert await (await coord.submit_msm("bn254", "G1", t2, s2)).result() == msm(t2, s2)
        assert w.sessions == 1
        await stop([w])
