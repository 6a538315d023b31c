"""Jobs that can be cancelled, routed to workers that can take them, and bounded in time.

Cancellation: the CancelJob RPC and ``zkedge cancel``/``zkedge jobs``, Ctrl-C on
``zkedge prove --coordinator``, cancelling an embedded ``prove_groth16``, and jobs whose client
is gone (no WatchJob stream for the grace period). Routing: curves, receive limits and memory.
Deadlines: a job no worker can take fails with the reason.
"""

from __future__ import annotations

import math
import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
from support.fleet import (
    TOKEN,
    make_table,
    native_or_skip,
    port_of,
    start_coordinator,
    start_workers,
)

from zkedge.fleet.client import RpcError, open_coordinator
from zkedge.fleet.coordinator import Coordinator, JobFailed, SizingPolicy
from zkedge.fleet.coordinator.dispatch import TASK_OVERHEAD, task_cap, unplaceable
from zkedge.fleet.coordinator.model import NodeFacts
from zkedge.fleet.coordinator.registry import Registry
from zkedge.fleet.coordinator.scheduler import Scheduler
from zkedge.fleet.coordinator.store import Store

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"


def _env() -> dict[str, str]:
    env = dict(os.environ, ZKEDGE_TOKEN=TOKEN)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def _busy(coord: Coordinator) -> list[str]:
    """Jobs running and attempts in flight on any worker (what should be gone after a cancel)."""
    sched = coord._scheduler_or_raise()
    out = [f"job {j}" for j in sched.running]
    out += [f"attempt {k}" for w in coord.workers() for k in w.inflight]
    out += [f"pending {t.id}" for t in sched.pending]
    return out


# ---------------------------------------------------------------------- scheduler clocks
def _scheduler(**kw: Any) -> Scheduler:
    policy = SizingPolicy(target_seconds=0.05, min_points=16, block_points=16)
    return Scheduler(Store(None), Registry(policy), policy, **kw)


def _submit(sched: Scheduler, curve: str = "bn254", *, watched: bool = False) -> Any:
    table, scalars = make_table(curve, "G1", 40, seed=3)
    h = sched.add_table(curve, "G1", table.to_bytes())
    data = b"".join(s.to_bytes(32, "little") for s in scalars)
    return sched.submit("msm", [(h, len(scalars), data)], watched=watched)


async def test_a_job_nobody_watches_is_cancelled_after_the_grace_period(
    autojump_clock: trio.testing.MockClock,
) -> None:
    native_or_skip()
    sched = _scheduler(watch_grace=30.0, no_worker_timeout=math.inf)
    orphan = _submit(sched, watched=True)
    watched = _submit(sched, watched=True)
    detached = _submit(sched, watched=False)
    watched.watch_started()
    sched.tick()  # the grace period starts at the first tick after submission
    await trio.sleep(29)
    sched.tick()
    assert orphan.state == "running"
    await trio.sleep(2)
    sched.tick()
    assert orphan.state == "cancelled" and "no client has watched it" in (orphan.error or "")
    with pytest.raises(JobFailed, match="cancelled"):
        orphan.results()
    await trio.sleep(100)  # a watcher keeps it; a detached job needs none
    sched.tick()
    assert watched.state == "running" and detached.state == "running"
    watched.watch_ended()  # the client went away: the grace period starts now
    await trio.sleep(29)
    sched.tick()
    assert watched.state == "running"
    await trio.sleep(2)
    sched.tick()
    assert watched.state == "cancelled" and detached.state == "running"


async def test_a_job_no_worker_can_take_fails_after_the_deadline(
    autojump_clock: trio.testing.MockClock,
) -> None:
    native_or_skip()
    sched = _scheduler(no_worker_timeout=60.0)
    nobody = _submit(sched)
    await trio.sleep(1)
    sched.tick()
    await trio.sleep(59)
    sched.tick()
    assert nobody.state == "running"
    await trio.sleep(2)
    sched.tick()
    assert nobody.state == "failed"
    assert nobody.error == "no worker can take this job: no worker is connected"

    sched.registry.register("bn-only", NodeFacts(curves=("bn254",)), {}, None)
    bls = _submit(sched, "bls12_381")
    bn = _submit(sched, "bn254")
    sched.tick()
    await trio.sleep(61)
    sched.tick()
    assert bls.state == "failed"
    assert bls.error == (
        "no worker can take this job: MSM 0 (bls12_381 G1): no worker with curve bls12_381"
    )
    assert bn.state == "running"  # a worker can take it (it has no stream yet: it waits)


async def test_routing_caps_follow_curves_receive_limits_and_memory() -> None:
    reg = Registry(SizingPolicy())
    old = reg.register("old", NodeFacts(), {}, None)  # no curves, no limit: all, 4 MiB
    assert task_cap(old, "bls12_381", "G2") == ((4 << 20) - TASK_OVERHEAD) // 32
    bn = reg.register("bn", NodeFacts(curves=("bn254",), max_receive_bytes=1 << 30), {}, None)
    assert task_cap(bn, "bls12_381", "G1") == 0
    assert task_cap(bn, "bn254", "G1") == ((1 << 30) - TASK_OVERHEAD) // 32
    small = reg.register(
        "small", NodeFacts(memory_bytes=1 << 20, max_receive_bytes=1 << 30), {}, None
    )
    # half of 1 MiB for a task needing 2 * (64 + 32) bytes per BN254 G1 point
    assert task_cap(small, "bn254", "G1") == (1 << 19) // (2 * 96)
    # every task message stays under the worker's limit
    for limit in (TASK_OVERHEAD + 32, 4 << 20, 8 << 20):
        w = reg.register("w", NodeFacts(max_receive_bytes=limit), {}, None)
        assert 32 * task_cap(w, "bn254", "G1") + TASK_OVERHEAD <= limit


async def test_unplaceable_names_the_reason() -> None:
    native_or_skip()
    sched = _scheduler()
    job = _submit(sched, "bls12_381")
    reg = sched.registry
    reg.register("bn", NodeFacts(curves=("bn254",)), {}, None)
    workers = list(reg.workers.values())
    assert unplaceable(job, workers, []) == "MSM 0 (bls12_381 G1): no worker with curve bls12_381"
    tiny = reg.register("tiny", NodeFacts(max_receive_bytes=10), {}, None)
    why = unplaceable(job, [*workers, tiny], [])
    assert why is not None and "too small" in why
    reg.register("all", NodeFacts(), {}, None)
    assert unplaceable(job, list(reg.workers.values()), []) is None


# ---------------------------------------------------------------------- routing on a real fleet
async def test_tasks_go_only_to_workers_that_can_take_them(
    nursery: trio.Nursery, tmp_path: Path
) -> None:
    native_or_skip()
    from zkedge.msm import msm

    with trio.fail_after(60):
        coord = await start_coordinator(nursery, None, no_worker_timeout=1.0)
        # a bn254-only worker, alone at first: a bls12_381 job fails after the deadline
        await start_workers(nursery, coord, tmp_path, ["bn-only"], curves=("bn254",))
        bls_table, bls_scalars = make_table("bls12_381", "G1", 64, seed=5)
        lonely = await coord.submit_msm("bls12_381", "G1", bls_table, bls_scalars)
        with pytest.raises(JobFailed, match="no worker with curve bls12_381"):
            await lonely.result()
        assert lonely.partials() == []
        # a worker with every curve and a small receive limit (20 scalars per message)
        limit = TASK_OVERHEAD + 32 * 20
        await start_workers(nursery, coord, tmp_path, ["small-rx"], max_receive_bytes=limit)
        handle = await coord.submit_msm("bls12_381", "G1", bls_table, bls_scalars)
        assert await handle.result() == msm(bls_table, bls_scalars)
        assert {p.worker_id for p in handle.partials()} == {"small-rx"}
        assert max(p.count for p in handle.partials()) <= 20
        bn_table, bn_scalars = make_table("bn254", "G1", 200, seed=6)
        bn = await coord.submit_msm("bn254", "G1", bn_table, bn_scalars)
        assert await bn.result() == msm(bn_table, bn_scalars)
        assert all(p.count <= 20 for p in bn.partials() if p.worker_id == "small-rx")


# ---------------------------------------------------------------------- cancellation
async def test_cancel_job_rpc_stops_the_workers(nursery: trio.Nursery, tmp_path: Path) -> None:
    native_or_skip()
    table, scalars = make_table("bn254", "G1", 64, seed=7)
    scalar_bytes = b"".join(s.to_bytes(32, "little") for s in scalars)
    with trio.fail_after(60):
        coord = await start_coordinator(nursery, None)
        (worker,) = await start_workers(nursery, coord, tmp_path, ["slow"], task_delay=60.0)
        address = f"127.0.0.1:{port_of(coord)}"
        async with open_coordinator(address, token=TOKEN) as client:
            job_id = await client.submit_msm(
                "bn254", "G1", scalar_bytes, bases=table.to_bytes(), detach=True
            )
            while not any(w.inflight for w in coord.workers()):
                await trio.sleep(0.02)
            listed = await client.list_jobs(running_only=True)
            assert [(j.job_id, j.state, j.label, j.detach) for j in listed] == [
                (job_id, "running", "msm", True)
            ]
            reply = await client.cancel_job(job_id, "operator says stop")
            assert (reply.job_id, reply.cancelled, reply.state) == (job_id, True, "cancelled")
            with trio.fail_after(2):  # the worker drops the attempt at once, not after 60 s
                while worker.tasks_stopped < 1:
                    await trio.sleep(0.02)
            assert _busy(coord) == []
            again = await client.cancel_job(job_id)
            assert (again.cancelled, again.state) == (False, "cancelled")
            final = await client.watch(job_id)
            assert final.state == "cancelled" and final.error == "cancelled: operator says stop"
            assert await client.list_jobs(running_only=True) == []
            with pytest.raises(RpcError) as exc:
                await client.cancel_job("no-such-job")
            assert exc.value.status == "NOT_FOUND"

            # the CLI: zkedge msm --detach, zkedge jobs, zkedge cancel
            (tmp_path / "bases.bin").write_bytes(table.to_bytes())
            (tmp_path / "scalars.bin").write_bytes(scalar_bytes)
            cli = [sys.executable, "-m", "zkedge.cli._fleet"]
            target = ["--coordinator", address]
            sub = await trio.run_process(
                [*cli, "msm", *target, "--bases", str(tmp_path / "bases.bin"), "--scalars",
                 str(tmp_path / "scalars.bin"), "--detach"],
                capture_stdout=True, env=_env(),
            )  # fmt: skip
            cli_job = sub.stdout.decode().strip()
            assert cli_job in coord._scheduler_or_raise().running
            jobs = await trio.run_process(
                [*cli, "jobs", *target, "--running"], capture_stdout=True, env=_env()
            )
            assert cli_job in jobs.stdout.decode() and job_id not in jobs.stdout.decode()
            out = await trio.run_process(
                [*cli, "cancel", cli_job, *target], capture_stdout=True, env=_env()
            )
            assert out.stdout.decode().strip() == f"job {cli_job} cancelled"
            assert _busy(coord) == []


async def test_a_client_that_goes_away_leaves_no_work(
    nursery: trio.Nursery, tmp_path: Path
) -> None:
    """SubmitMsm without detach: once the watch stream is gone for the grace period, the job
    is cancelled (here 0.5 s of real time)."""
    native_or_skip()
    table, scalars = make_table("bn254", "G1", 64, seed=8)
    scalar_bytes = b"".join(s.to_bytes(32, "little") for s in scalars)
    with trio.fail_after(30):
        coord = await start_coordinator(nursery, None, watch_grace=0.5)
        await start_workers(nursery, coord, tmp_path, ["slow"], task_delay=60.0)
        async with open_coordinator(f"127.0.0.1:{port_of(coord)}", token=TOKEN) as client:
            job_id = await client.submit_msm("bn254", "G1", scalar_bytes, bases=table.to_bytes())
            with trio.move_on_after(1.0):  # a watcher keeps the job alive past the grace
                await client.watch(job_id)
        job = coord.job(job_id)
        assert job is not None
        await trio.sleep(0.2)
        assert job.progress.state == "running"
        while not job.done:
            await trio.sleep(0.05)
        assert job.progress.state == "cancelled"
        assert _busy(coord) == []


async def test_cancelling_an_embedded_proof_cancels_its_jobs(
    nursery: trio.Nursery, tmp_path: Path
) -> None:
    native_or_skip()
    from zkedge.fleet.coordinator import prove_groth16

    d = FIXTURES / "bn128"
    with trio.fail_after(60):
        coord = await start_coordinator(nursery, None)
        await start_workers(nursery, coord, tmp_path, ["a", "b"], task_delay=30.0)
        with trio.CancelScope() as scope:

            async def interrupt() -> None:
                while not any(w.inflight for w in coord.workers()):
                    await trio.sleep(0.02)
                scope.cancel()

            nursery.start_soon(interrupt)
            await prove_groth16(coord, d / "circuit.zkey", d / "witness.wtns")
        assert scope.cancelled_caught
        assert _busy(coord) == []
        jobs = coord._scheduler_or_raise().jobs.values()
        assert jobs and all(j.state == "cancelled" for j in jobs)


async def test_ctrl_c_on_remote_prove_cancels_its_jobs(
    nursery: trio.Nursery, tmp_path: Path
) -> None:
    """``zkedge prove --coordinator`` interrupted with SIGINT: exit 130, and 5 s later no job
    of it is running or pending and no worker holds an attempt of it (the grace period for
    vanished watchers is far longer: the client cancelled them itself)."""
    native_or_skip()
    d = FIXTURES / "bn128"
    with trio.fail_after(90):
        coord = await start_coordinator(nursery, None, watch_grace=600.0)
        await start_workers(nursery, coord, tmp_path, ["a", "b"], task_delay=30.0)
        cmd = [sys.executable, "-m", "zkedge", "prove", str(d / "circuit.zkey"),
               str(d / "witness.wtns"), str(tmp_path / "proof.json"),
               str(tmp_path / "public.json"), "--coordinator", f"127.0.0.1:{port_of(coord)}",
               "-q"]  # fmt: skip
        with open(tmp_path / "prove.log", "wb") as log:
            proc = await trio.lowlevel.open_process(cmd, stdout=log, stderr=log, env=_env())
            try:
                sched = coord._scheduler_or_raise()
                while not any(w.inflight for w in coord.workers()):
                    await trio.sleep(0.05)
                await trio.sleep(0.5)  # the client has submitted all of its jobs
                proc.send_signal(signal.SIGINT)
                with trio.fail_after(20):
                    rc = await proc.wait()
            finally:
                if proc.returncode is None:
                    proc.kill()
                    with trio.CancelScope(shield=True):
                        await proc.wait()
        assert rc == 130, (tmp_path / "prove.log").read_text()
        await trio.sleep(5)
        assert _busy(coord) == []
        states = {j.label: j.state for j in sched.jobs.values()}
        assert set(states.values()) == {"cancelled"}, states
