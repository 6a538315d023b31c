"""Behaviour that is about processes: real worker processes killed with SIGKILL, drained with
SIGTERM, and a coordinator restarted on the same SQLite store."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import trio
from support.fleet import TOKEN, make_table, native_or_skip, port_of, start_coordinator

from zkedge.fleet.coordinator import Coordinator

ROOT = Path(__file__).resolve().parents[2]


@asynccontextmanager
async def worker_process(
    port: int, wid: str, tmp: Path, *extra: str
) -> AsyncIterator[trio.Process]:
    """A ``zkedge worker`` process; killed (and reaped) on exit if still running."""
    env = dict(os.environ, ZKEDGE_TOKEN=TOKEN, ZKEDGE_LOG="INFO")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    cmd = [
        sys.executable,
        "-m",
        "zkedge.cli._fleet",
        "worker",
        "--coordinator",
        f"127.0.0.1:{port}",
        "--id",
        wid,
        "--threads",
        "1",
        "--cache-dir",
        str(tmp / f"cache-{wid}"),
        "--no-benchmark",
        "--backoff-initial",
        "0.2",
        *extra,
    ]
    with open(tmp / f"{wid}.log", "ab") as log:
        proc = await trio.lowlevel.open_process(cmd, stdout=log, stderr=log, env=env)
        try:
            yield proc
        finally:
            if proc.returncode is None:
                proc.kill()
            with trio.CancelScope(shield=True):
                await proc.wait()


async def wait_registered(coord: Coordinator, ids: set[str]) -> None:
    while not ids <= {w.worker_id for w in coord.workers() if w.stream is not None}:
        await trio.sleep(0.05)


async def test_sigkill_mid_task_reruns_elsewhere(nursery: trio.Nursery, tmp_path: Path) -> None:
    native_or_skip()
    from zkedge.msm import msm

    table, scalars = make_table("bn254", "G1", 64, seed=11)
    with trio.fail_after(60):
        coord = await start_coordinator(nursery, tmp_path / "s.sqlite", pipeline_depth=1)
        async with (
            worker_process(port_of(coord), "victim", tmp_path, "--debug-task-delay", "2") as victim,
            worker_process(port_of(coord), "survivor", tmp_path, "--debug-task-delay", "0.05"),
        ):
            await wait_registered(coord, {"victim", "survivor"})
            handle = await coord.submit_msm("bn254", "G1", table, scalars)
            rec = {w.worker_id: w for w in coord.workers()}["victim"]
            while not rec.inflight:
                await trio.sleep(0.01)
            (task_id, _), *_ = rec.inflight
            victim.send_signal(signal.SIGKILL)
            assert await handle.result() == msm(table, scalars)
            assert victim.returncode == -signal.SIGKILL
        parts = handle.partials()
        assert {p.worker_id for p in parts} == {"survivor"}
        assert sum(p.count for p in parts) == 64 and handle.progress.points_done == 64
        task = coord._scheduler_or_raise().tasks[task_id]
        assert task.attempts >= 2 and task.worker_id == "survivor"


async def test_coordinator_restart_on_same_store(nursery: trio.Nursery, tmp_path: Path) -> None:
    native_or_skip()
    from zkedge.msm import msm

    table, scalars = make_table("bn254", "G1", 128, seed=12)
    store = tmp_path / "jobs.sqlite"
    with trio.fail_after(90):
        async with trio.open_nursery() as first:
            coord = await start_coordinator(first, store, pipeline_depth=1)
            port = coord.port
            assert port is not None
            async with (
                worker_process(port, "a", tmp_path, "--debug-task-delay", "0.3"),
                worker_process(port, "b", tmp_path, "--debug-task-delay", "0.3"),
            ):
                await wait_registered(coord, {"a", "b"})
                handle = await coord.submit_msm("bn254", "G1", table, scalars)
                job_id = handle.id
                while handle.progress.tasks_done < 2:
                    await handle.wait_progress()
                assert not handle.done
                first.cancel_scope.cancel()  # the coordinator dies mid-job
                await trio.sleep(0)
                async with trio.open_nursery() as second:
                    coord2 = await start_coordinator(second, store, bind=f"127.0.0.1:{port}")
                    h2 = coord2.job(job_id)
                    assert h2 is not None and h2.progress.points_done >= 32
                    assert await h2.result() == msm(table, scalars)
                    assert h2.progress.points_done == 128
                    assert sum(p.count for p in h2.partials()) == 128
                    second.cancel_scope.cancel()


async def test_sigterm_hands_back_and_exits_cleanly(nursery: trio.Nursery, tmp_path: Path) -> None:
    native_or_skip()
    from zkedge.msm import msm

    table, scalars = make_table("bn254", "G1", 32, seed=13)
    with trio.fail_after(60):
        coord = await start_coordinator(nursery, None, pipeline_depth=1)
        async with worker_process(
            port_of(coord), "leaving", tmp_path, "--debug-task-delay", "30", "--drain-grace", "0.5"
        ) as leaving:
            await wait_registered(coord, {"leaving"})
            handle = await coord.submit_msm("bn254", "G1", table, scalars)
            rec = {w.worker_id: w for w in coord.workers()}["leaving"]
            while not rec.inflight:
                await trio.sleep(0.01)
            (task_id, _), *_ = rec.inflight
            while not rec.held:  # the worker fetched its bases: it is inside the task now
                await trio.sleep(0.01)
            await trio.sleep(0.3)
            leaving.send_signal(signal.SIGTERM)
            with trio.fail_after(10):
                assert await leaving.wait() == 0
        task = coord._scheduler_or_raise().tasks[task_id]
        assert task.strikes == 0  # handed back, not held against the task
        async with worker_process(port_of(coord), "next", tmp_path):
            assert await handle.result() == msm(table, scalars)
        assert {p.worker_id for p in handle.partials()} == {"next"}


async def test_cli_msm_and_status(nursery: trio.Nursery, tmp_path: Path) -> None:
    native_or_skip()
    from zkedge import ec
    from zkedge.msm import msm

    table, scalars = make_table("bn254", "G1", 50, seed=14)
    (tmp_path / "bases.bin").write_bytes(ec.convert("bn254", "G1", table.to_bytes(), "mont", "be"))
    (tmp_path / "scalars.bin").write_bytes(b"".join(s.to_bytes(32, "little") for s in scalars))
    env = dict(os.environ, ZKEDGE_TOKEN=TOKEN)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    cli = [sys.executable, "-m", "zkedge.cli._fleet"]
    with trio.fail_after(60):
        coord = await start_coordinator(nursery, None)
        target = ["--coordinator", f"127.0.0.1:{coord.port}"]
        async with worker_process(port_of(coord), "cli-w", tmp_path):
            await wait_registered(coord, {"cli-w"})
            done = await trio.run_process(
                [
                    *cli,
                    "msm",
                    *target,
                    "--bases",
                    str(tmp_path / "bases.bin"),
                    "--bases-encoding",
                    "be",
                    "--scalars",
                    str(tmp_path / "scalars.bin"),
                ],
                capture_stdout=True,
                capture_stderr=True,
                env=env,
            )
            out = done.stdout.decode()
            want = msm(table, scalars)
            assert want is not None
            assert f"result.x = 0x{want[0]:064x}" in out and "cli-w" in out
            st = await trio.run_process(
                [*cli, "status", *target], capture_stdout=True, capture_stderr=True, env=env
            )
            assert "cli-w" in st.stdout.decode() and "active" in st.stdout.decode()
            bad = await trio.run_process(
                [*cli, "status", *target, "--token", "nope"],
                capture_stdout=True,
                capture_stderr=True,
                env=env,
                check=False,
            )
            assert bad.returncode == 1 and b"UNAUTHENTICATED" in bad.stderr


async def test_worker_from_toml_config(nursery: trio.Nursery, tmp_path: Path) -> None:
    cfg = tmp_path / "worker.toml"
    with trio.fail_after(60):
        coord = await start_coordinator(nursery, None)
        (tmp_path / "token").write_text(TOKEN + "\n")
        cfg.write_text(
            f'coordinator = "127.0.0.1:{coord.port}"\nworker_id = "toml-w"\nthreads = 1\n'
            f'benchmark = false\n[cache]\ndir = "cache"\nsize_mb = 8\n'
            f'[auth]\ntoken_file = "token"\n'
        )
        env = {k: v for k, v in os.environ.items() if k != "ZKEDGE_TOKEN"}
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(
            os.pathsep
        )
        cmd = [sys.executable, "-m", "zkedge.cli._fleet", "worker", "--config", str(cfg)]
        proc = await trio.lowlevel.open_process(cmd, env=env)
        try:
            await wait_registered(coord, {"toml-w"})
            (rec,) = coord.workers()
            assert rec.node.threads == 1
            assert (tmp_path / "cache").is_dir()
            proc.send_signal(signal.SIGTERM)
            assert await proc.wait() == 0
        finally:
            if proc.returncode is None:
                proc.kill()
            with trio.CancelScope(shield=True):
                await proc.wait()
