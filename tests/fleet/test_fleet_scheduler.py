"""Scheduler rules without sockets: retry limits, deadlines, re-registration, bad partial sums,
recovery from the store."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
from support.fleet import native_or_skip

from zkedge.fleet.coordinator import JobFailed
from zkedge.fleet.coordinator.model import Assignment, Cancellation, NodeFacts
from zkedge.fleet.coordinator.registry import Registry
from zkedge.fleet.coordinator.scheduler import Scheduler
from zkedge.fleet.coordinator.sizing import SizingPolicy, size_gain
from zkedge.fleet.coordinator.store import Store

POLICY = SizingPolicy(target_seconds=1.0, min_points=8, block_points=8, deadline_min_seconds=10)


def setup(store: Store | None = None, **kw: int) -> tuple[Registry, Scheduler]:
    reg = Registry(POLICY)
    return reg, Scheduler(store or Store(None), reg, POLICY, **kw)


def submit(sched: Scheduler, n: int = 16) -> str:
    h = sched.add_table("bn254", "G1", bytes(64 * n))
    return sched.submit("t", [(h, n, bytes(32 * n))]).id


async def test_retry_limit_fails_the_job() -> None:
    reg, sched = setup(max_attempts=2, pipeline_depth=1)
    w = reg.register("w", NodeFacts(bench_points_per_sec=1e3), {}, None)
    reg.open_stream(w)
    job = sched.jobs[submit(sched, 8)]
    for i in range(2):
        ((task_id, attempt),) = w.inflight
        assert attempt == i + 1
        ok, _ = sched.fail("w", task_id, attempt, "boom", handed_back=False)
        assert ok
    assert job.state == "failed" and "boom" in (job.error or "")
    with pytest.raises(JobFailed):
        job.results()
    assert not w.inflight


async def test_hand_back_is_not_a_strike() -> None:
    reg, sched = setup(max_attempts=1, pipeline_depth=1)
    a = reg.register("a", NodeFacts(bench_points_per_sec=1e3), {}, None)
    reg.open_stream(a)
    job = sched.jobs[submit(sched, 8)]
    ((task_id, attempt),) = a.inflight
    assert sched.fail("a", task_id, attempt, "bye", handed_back=True)[0]
    assert job.state == "running" and sched.tasks[task_id].strikes == 0
    assert a.draining and not a.inflight  # a is leaving: nothing new for it
    b = reg.register("b", NodeFacts(bench_points_per_sec=1e3), {}, None)
    reg.open_stream(b)
    sched.dispatch()
    assert (task_id, 2) in b.inflight


async def test_silent_attempt_times_out_and_is_requeued(
    autojump_clock: trio.testing.MockClock,
) -> None:
    reg, sched = setup(pipeline_depth=1)
    a = reg.register("a", NodeFacts(bench_points_per_sec=1e6), {}, None)
    reg.open_stream(a)
    submit(sched, 8)
    ((task_id, _),) = a.inflight
    with trio.fail_after(100):
        await trio.sleep(POLICY.deadline_min_seconds + 1)
    sched.tick()
    task = sched.tasks[task_id]
    assert task.strikes == 1 and task.runs[1].state == "lost"
    assert (task_id, 2) in a.inflight  # re-issued (the only worker gets it again)


async def test_reregistration_requeues_old_session() -> None:
    reg, sched = setup(pipeline_depth=1)
    a = reg.register("a", NodeFacts(bench_points_per_sec=1e3), {}, None)
    reg.open_stream(a)
    submit(sched, 8)
    ((task_id, _),) = a.inflight
    a2 = reg.register("a", NodeFacts(bench_points_per_sec=1e3), {}, None)  # the board rebooted
    assert a2.session_id != a.session_id and a.stream is None
    assert sched.tasks[task_id].runs[1].state == "lost"
    assert sched.fail("a", task_id, 1, "late", handed_back=False) == (False, "attempt already lost")
    reg.open_stream(a2)
    sched.dispatch()
    assert (task_id, 2) in a2.inflight


async def test_bad_partial_sum_is_a_failure() -> None:
    native_or_skip()
    reg, sched = setup(pipeline_depth=1)
    a = reg.register("a", NodeFacts(bench_points_per_sec=1e3), {}, None)
    reg.open_stream(a)
    submit(sched, 8)
    ((task_id, attempt),) = a.inflight
    ok, why = sched.complete("a", task_id, attempt, b"\x01" * 64, 0.1)  # (1, 1): not on the curve
    assert not ok and "bad partial" in why
    assert sched.tasks[task_id].strikes == 1 and (task_id, 2) in a.inflight


async def test_recovery_rebuilds_free_ranges(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    reg, sched = setup(Store(path), pipeline_depth=1)
    a = reg.register("a", NodeFacts(bench_points_per_sec=1e3), {}, None)
    reg.open_stream(a)
    job_id = submit(sched, 40)
    ((task_id, attempt),) = a.inflight
    task = sched.tasks[task_id]
    sched.store.close()
    # a new coordinator on the same store: the carved task is pending, the rest is free
    _, sched2 = setup(Store(path))
    (job,) = sched2.recover()
    assert job.id == job_id and job.state == "running"
    assert [t.id for t in sched2.pending] == [task_id]
    assert sched2.pending[0].attempts == attempt
    covered = sorted([(task.start, task.start + task.count), *job.msms[0].free])
    assert covered[0][0] == 0 and covered[-1][1] == 40
    assert sum(e - s for s, e in covered) == 40


def test_store_keeps_results_apart_from_scalars(tmp_path: Path) -> None:
    """Results live in their own table (writing them must not rewrite the scalars), and a
    store written before that (results in msms.result) still reads back."""
    path = tmp_path / "s.sqlite"
    store = Store(path)
    scal = bytes(range(256)) * 64
    store.add_job("j1", "t", [("h", 512, scal), ("h", 512, scal)])
    store.add_job("j2", "t", [("h", 512, scal)])
    store.finish_job("j1", "done", [b"r0", b"r1"], None)
    assert store.job_row("j1") == ("done", None, [b"r0", b"r1"])
    assert store.job_row("j2") == ("running", None, [None])
    (job,) = store.unfinished_jobs()
    assert job.id == "j2" and job.msms[0].scalars == scal and job.msms[0].result is None
    # the old layout: a result written into msms
    store._db.execute("UPDATE msms SET result = ? WHERE job_id = 'j2'", (b"old",))
    store._db.execute("UPDATE jobs SET state = 'done' WHERE id = 'j2'")
    store.close()
    store = Store(path)
    assert store.job_row("j2") == ("done", None, [b"old"])
    assert store.job_row("j1") == ("done", None, [b"r0", b"r1"])
    store.close()


def test_msm_cost_profile_follows_the_scalars() -> None:
    """An MSM's work profile: cheap ranges (small scalars) cost little, G2 costs more than G1,
    and points_for inverts cost."""
    from zkedge.fleet.coordinator.model import MsmState
    from zkedge.fleet.coordinator.sizing import SMALL_SCALAR_COST, group_cost

    n, b = 100, 8
    full = (3 << 250).to_bytes(32, "little")
    scal = full * 40 + (1).to_bytes(32, "little") * 60  # dense head, cheap tail
    m1 = MsmState(0, "bn254", "G1", "h", n, scal, [(0, n)], b)
    m2 = MsmState(1, "bn254", "G2", "h", n, scal, [(0, n)], b)
    assert m1.cost(0, 40) == pytest.approx(40.0)
    assert m1.cost(40, 60) == pytest.approx(60 * SMALL_SCALAR_COST)
    assert m1.cost(0, n) == pytest.approx(40 + 60 * SMALL_SCALAR_COST)
    assert m2.cost(0, n) == pytest.approx(group_cost("bn254", "G2") * m1.cost(0, n))
    for start in (0, 3, 37, 40, 41, 99):
        for count in range(1, n - start + 1, 7):
            assert m1.points_for(start, m1.cost(start, count)) == count
    assert m1.points_for(0, 1e9) == n
    assert m1.points_for(50, 0.0) == 1


async def test_tasks_are_sized_by_cost_not_length() -> None:
    """Two equal workers, one job: a dense G2 MSM and a G1 MSM of small scalars, same length.
    The cheap MSM goes out whole; the G2 one is cut so that each worker's share of the work,
    not of the points, is fair."""
    policy = SizingPolicy(target_seconds=1e6, min_points=64, block_points=64)
    reg = Registry(policy)
    sched = Scheduler(Store(None), reg, policy, pipeline_depth=2)
    n = 4096
    h1 = sched.add_table("bn254", "G2", bytes(128 * n))
    h2 = sched.add_table("bn254", "G1", bytes(64 * n))
    dense = (5 << 240).to_bytes(32, "little") * n
    ones = (1).to_bytes(32, "little") * n
    ws = []
    for name in ("a", "b"):
        w = reg.register(name, NodeFacts(bench_points_per_sec=1e4), {}, None)
        reg.open_stream(w)
        ws.append(w)
    job = sched.submit("t", [(h1, n, dense), (h2, n, ones)])
    tasks = list(job.tasks.values())
    cheap = [t for t in tasks if t.msm.idx == 1]
    assert len(cheap) == 1 and cheap[0].count == n  # a whole range that fits a share
    g2 = sorted((t for t in tasks if t.msm.idx == 0), key=lambda t: t.start)
    assert sum(t.count for t in g2) < n  # G2 work is cut, and not all handed out at once
    total = job.msms[0].cost(0, n) + job.msms[1].cost(0, n)
    held = {w.worker_id: sum(a.task.units for a in w.inflight.values()) for w in ws}
    assert 0.3 * total <= min(held.values()) <= max(held.values()) <= 0.5 * total


async def test_held_work_counts_what_is_left(autojump_clock: trio.testing.MockClock) -> None:
    """A running attempt holds only the part of its work its expected time says is left; a
    queued one holds all of it. So when a new MSM arrives while one worker is nearly done and
    the other idle, both get a part (counting the old task whole gave it all to the idle one)."""
    from zkedge.fleet.coordinator.model import inflight_units

    policy = SizingPolicy(target_seconds=1e6, min_points=64, block_points=64)
    reg = Registry(policy)
    sched = Scheduler(Store(None), reg, policy, pipeline_depth=2)
    n = 2048
    dense = (5 << 240).to_bytes(32, "little") * n
    h = sched.add_table("bn254", "G1", bytes(64 * n))
    a = reg.register("a", NodeFacts(bench_points_per_sec=1e4), {}, None)
    reg.open_stream(a)
    sched.submit("x", [(h, n, dense)])
    ((att),) = a.inflight.values()
    assert att.task.count == n and 0 < att.expected < 100
    assert inflight_units(a.inflight, trio.current_time()) == pytest.approx(n)
    await trio.sleep(0.5 * att.expected)
    assert inflight_units(a.inflight, trio.current_time()) == pytest.approx(0.5 * n, rel=1e-6)
    await trio.sleep(0.4 * att.expected)  # a is 90% through its task
    b = reg.register("b", NodeFacts(bench_points_per_sec=1e4), {}, None)
    reg.open_stream(b)
    job = sched.submit("y", [(h, n, dense)])
    mine = {
        w.worker_id: sum(
            t.count
            for t in job.tasks.values()
            if t.worker_id is None and any(k[0] == t.id for k in w.inflight)
        )
        for w in (a, b)
    }
    assert mine["a"] > 0 and 0 < mine["b"] < n
    queued = [x for x in a.inflight.values() if x.task.job is job]
    assert inflight_units(a.inflight, trio.current_time()) == pytest.approx(
        0.1 * n + sum(x.task.units for x in queued), rel=1e-6
    )


async def test_idle_worker_takes_a_task_queued_elsewhere(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A task still queued behind another on a busy worker moves to a worker that falls idle
    with nothing else to do (the queued copy is cancelled; one result is counted)."""
    policy = SizingPolicy(target_seconds=1e6, min_points=64, block_points=64)
    reg = Registry(policy)
    sched = Scheduler(Store(None), reg, policy, pipeline_depth=2)
    n = 1024
    dense = (5 << 240).to_bytes(32, "little") * n
    h = sched.add_table("bn254", "G1", bytes(64 * n))
    a = reg.register("a", NodeFacts(bench_points_per_sec=1e4), {}, None)
    a_stream = reg.open_stream(a)
    other = (6 << 240).to_bytes(32, "little") * (n // 2)  # not dense's: no aligned group
    job = sched.submit("x", [(h, n, dense), (h, n // 2, other)])
    assert len(a.inflight) == 2  # one running, one queued behind it
    queued = next(x for x in a.inflight.values() if not math.isfinite(x.started))
    b = reg.register("b", NodeFacts(bench_points_per_sec=1e4), {}, None)
    b_stream = reg.open_stream(b)
    sched.dispatch()
    assert [x.task for x in b.inflight.values()] == [queued.task]
    assert len(a.inflight) == 1 and queued.state == "cancelled"
    msgs = _drain(a_stream)
    assert [m.task_id for m in msgs if isinstance(m, Cancellation)] == [queued.task.id]
    (moved,) = _drain(b_stream)
    assert isinstance(moved, Assignment)
    assert (moved.task_id, moved.attempt) == (queued.task.id, 2)
    # the late result of the cancelled copy is ignored; the new attempt's counts
    ok, _ = sched.complete("a", queued.task.id, 1, _g1_be(), 0.1)
    assert not ok
    ok, _ = sched.complete("b", queued.task.id, 2, _g1_be(), 0.1)
    assert ok and job.tasks[queued.task.id].worker_id == "b"


def _drain(ch: trio.MemoryReceiveChannel[Any]) -> list[Any]:
    out = []
    while True:
        try:
            out.append(ch.receive_nowait())
        except trio.WouldBlock:
            return out


def _g1_be() -> bytes:
    from zkedge import ec

    return ec.encode("bn254", "G1", ec.generator("bn254", "G1"), "be")


async def test_finished_jobs_beyond_the_window_drop_their_scalars(tmp_path: Path) -> None:
    """Only the most recent keep_scalars finished jobs keep their scalars, in memory and in the
    store; older ones keep their results."""
    store = Store(tmp_path / "s.sqlite")
    reg = Registry(POLICY)
    sched = Scheduler(store, reg, POLICY, pipeline_depth=1, keep_scalars=2)
    a = reg.register("a", NodeFacts(bench_points_per_sec=1e3), {}, None)
    reg.open_stream(a)
    h = sched.add_table("bn254", "G1", bytes(64 * 8))
    jobs = []
    for i in range(5):
        job = sched.submit("t", [(h, 8, (i + 1).to_bytes(32, "little") * 8)])
        while a.inflight:
            ((task_id, attempt),) = a.inflight
            assert sched.complete("a", task_id, attempt, _g1_be(), 0.1)[0]
        assert job.state == "done"
        jobs.append(job)

    def stored(job_id: str) -> int:
        (n,) = store._db.execute(
            "SELECT SUM(LENGTH(scalars)) FROM msms WHERE job_id = ?", (job_id,)
        ).fetchone()
        return int(n)

    assert [stored(j.id) for j in jobs] == [0, 0, 0, 256, 256]
    assert [bool(j.msms[0].scalars) for j in jobs] == [False, False, False, True, True]
    assert all(store.job_row(j.id)[2][0] for j in jobs)  # type: ignore[index]


async def test_watch_sends_the_final_update_when_the_job_ends_between_updates() -> None:
    """A job that finishes while the watcher is between updates still gets its final update
    (the stream used to end there, and the client saw "running" as the last state)."""
    from types import SimpleNamespace

    from zkedge.fleet.coordinator.service import _JobWatch

    reg, sched = setup(pipeline_depth=1)
    w = reg.register("w", NodeFacts(bench_points_per_sec=1e3), {}, None)
    reg.open_stream(w)
    job = sched.jobs[submit(sched, 8)]
    watch = _JobWatch(SimpleNamespace(job_update=lambda j: j.state), job)  # type: ignore[arg-type]
    assert await watch.receive() == "running"
    ((task_id, attempt),) = w.inflight
    assert sched.complete("w", task_id, attempt, _g1_be(), 0.1)[0]
    assert job.finished.is_set()
    assert await watch.receive() == "done"
    assert await watch.receive() is None


def test_tables_beyond_the_memory_bound_are_read_back_from_the_store(tmp_path: Path) -> None:
    """With a store file, base tables beyond ``table_memory`` bytes leave memory, least
    recently used first, and come back from the store when a job or worker needs them."""
    store = Store(tmp_path / "s.sqlite")
    policy = SizingPolicy(target_seconds=1.0, min_points=8, block_points=8)
    sched = Scheduler(store, Registry(policy), policy, table_memory=2 * 64 * 8)
    tabs = [bytes([k + 1]) * (64 * 8) for k in range(3)]  # 8 (fake) points each
    h = [sched.add_table("bn254", "G1", t) for t in tabs]
    assert sched.tables.in_memory() == [h[1], h[2]]  # h[0] left memory
    assert sched.table(h[0]) == ("bn254", "G1", 8, tabs[0])  # read back ...
    assert sched.tables.in_memory() == [h[2], h[0]]  # ... and h[1] made room
    job = sched.submit("x", [(h[1], 8, bytes(32 * 8))])
    assert job.msms[0].table_n == 8 and h[1] in sched.tables.in_memory()


def test_in_memory_store_keeps_one_copy_of_each_table() -> None:
    """Without a store file the scheduler's copy is the only one (not also in SQLite), and
    nothing leaves memory, whatever the bound."""
    policy = SizingPolicy(target_seconds=1.0, min_points=8, block_points=8)
    store = Store(None)
    sched = Scheduler(store, Registry(policy), policy, table_memory=0)
    h = [sched.add_table("bn254", "G1", bytes([k + 1]) * (64 * 8)) for k in range(3)]
    assert sched.tables.in_memory() == h
    assert all(store.get_table(x) is None for x in h)


def test_prune_deletes_old_finished_jobs_and_unnamed_tables(tmp_path: Path) -> None:
    """prune keeps the newest finished jobs and every running one, deletes the rest with their
    MSMs, tasks and results, and (asked) the tables no kept job names; the CLI does the same
    on a file and says what it did; bad input is a clear error."""
    import subprocess
    import sys

    path = tmp_path / "s.sqlite"
    store = Store(path)
    for h in ("ta", "tb", "tc"):
        store.put_table(h, "bn254", "G1", 1, bytes(64))
    for i, h in enumerate(["ta", "tb", "tb", "tc"]):
        store.add_job(f"j{i}", "t", [(h, 1, bytes(32))])
        store.add_task(f"t{i}", f"j{i}", 0, 0, 1)
        store._db.execute("UPDATE jobs SET created = ? WHERE id = ?", (float(i), f"j{i}"))
    for i in (0, 1, 2):
        store.finish_job(f"j{i}", "failed" if i == 1 else "done", [b"r"], None)
        store._db.execute("UPDATE jobs SET finished = ? WHERE id = ?", (10.0 + i, f"j{i}"))

    def count(table: str) -> int:
        (n,) = store._db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
        return int(n)

    with pytest.raises(ValueError, match="keep_jobs"):
        store.prune(-1)
    assert store.prune(5) == (0, 0)
    assert store.prune(2) == (1, 0)  # j0, the oldest finished; j3 is running
    assert store.job_row("j0") is None and store.job_row("j1") is not None
    assert (count("jobs"), count("msms"), count("tasks"), count("msm_results")) == (3, 3, 3, 2)
    assert store.prune(1, tables=True) == (1, 1)  # j1 (failed), then "ta": no job names it
    assert store.get_table("ta") is None and store.get_table("tb") is not None
    assert store.job_row("j3") == ("running", None, [None])
    store.close()

    def prune(store_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "zkedge.cli._fleet", "prune", "--store", str(store_file)]
        return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=60)

    done = prune(path, "--keep-jobs", "0", "--tables", "--vacuum")
    assert done.returncode == 0, done.stderr
    assert "deleted 1 finished job(s) and 1 base table(s)" in done.stdout
    store = Store(path)
    assert store.job_row("j2") is None and store.get_table("tb") is None
    assert store.get_table("tc") is not None  # the running job j3 names it
    store.close()
    bad = prune(tmp_path / "none.sqlite")
    assert bad.returncode == 2 and "no store file" in bad.stderr
    (tmp_path / "junk.sqlite").write_bytes(b"not a database" * 100)
    junk = prune(tmp_path / "junk.sqlite")
    assert junk.returncode == 1 and "error:" in junk.stderr and "Traceback" not in junk.stderr


def test_in_memory_store_keeps_no_copy_of_a_jobs_scalars(tmp_path: Path) -> None:
    """The scalars in the store serve recovery only: a store in memory keeps none (the job
    keeps its own), a store file keeps them all."""
    scal = bytes(range(256)) * 4
    for store, want in ((Store(None), b""), (Store(tmp_path / "s.sqlite"), scal)):
        store.add_job("j", "t", [("h", 32, scal)])
        (job,) = store.unfinished_jobs()
        assert job.msms[0].scalars == want
        store.close()


def _settled_pair(
    rate: float,
    samples: int,
    n: int,
    held: tuple[range, range],
    shares: tuple[float, float] = (1.0, 1.0),
) -> tuple[Scheduler, str, list[Any], bytes]:
    """Workers "a" and "b" on links of ``rate`` bytes/s, with ``samples`` tasks' worth of an
    agreeing rate estimate, the CPU shares ``shares`` and the 64-point blocks ``held`` of a
    table of ``n`` points; and the dense scalars of a job over it."""
    from zkedge.fleet.coordinator.model import LoadSample

    policy = SizingPolicy(target_seconds=1e6, min_points=64, block_points=64)
    reg = Registry(policy)
    sched = Scheduler(Store(None), reg, policy, pipeline_depth=2)
    h = sched.add_table("bn254", "G1", bytes(64 * n))
    ws = []
    for name, blocks, share in zip(("a", "b"), held, shares, strict=True):
        w = reg.register(name, NodeFacts(bench_points_per_sec=1e4), {}, None)
        reg.heartbeat(w, LoadSample(recv_bytes_per_sec=rate, rtt_seconds=0.001))
        w.capacity.k, w.capacity.samples, w.capacity.deviation = 1e3, samples, 0.02
        w.note_cpu_share(share)
        w.held[h] = set(blocks)
        reg.open_stream(w)
        ws.append(w)
    return sched, h, ws, (5 << 240).to_bytes(32, "little") * n


def _held_run_setup(rate: float, samples: int) -> tuple[Scheduler, str, list[Any], bytes, int]:
    """Two equal workers; "a" holds the first 9 of 16 blocks of the table, "b" the rest."""
    return (*_settled_pair(rate, samples, 1024, (range(9), range(9, 16))), 1024)


def _ranges(w: Any) -> list[tuple[int, int]]:
    return sorted((a.task.start, a.task.count) for a in w.inflight.values())


async def test_settled_workers_on_fast_links_take_their_share_not_an_old_run() -> None:
    """A held run longer than the worker's share would freeze an old imbalance: on a fast
    link, a worker whose rate has settled takes its whole share in one task instead (the
    bases it lacks move sooner than it would compute the difference)."""
    sched, h, (a, b), dense, n = _held_run_setup(1e9, samples=2)
    sched.submit("x", [(h, n, dense)])
    assert _ranges(a) == [(0, n // 2)]
    assert sum(count for _, count in _ranges(b)) == n // 2


async def test_slow_links_and_unsettled_rates_keep_the_held_run() -> None:
    """On a slow link the bases would take longer than the work they balance, and while a
    rate has not settled factoring sizes the task: either way the range ends where the run
    of blocks the worker holds ends, and its bases stay put."""
    for rate, samples in ((1e5, 2), (1e9, 1)):
        sched, h, (a, _b), dense, n = _held_run_setup(rate, samples)
        sched.submit("x", [(h, n, dense)])
        assert _ranges(a)[0] == (0, 576), (rate, samples)


async def test_a_reported_cpu_share_normalises_the_rate() -> None:
    """A task that had half its core computed at half the board's rate: the estimate the
    coordinator keeps is the whole board's, and the next share is sized at half of it."""
    reg, sched = setup(pipeline_depth=1)
    a = reg.register("a", NodeFacts(bench_points_per_sec=1e3), {}, None)
    reg.open_stream(a)
    submit(sched, 64)
    ((task_id, attempt),) = a.inflight
    task = sched.tasks[task_id]
    ok, _ = sched.complete("a", task_id, attempt, _g1_be(), 2.0, cpu_share=0.5)
    assert ok
    units = task.compute_units
    assert a.capacity.k == pytest.approx(units / 2.0 / size_gain(task.count) / 0.5)
    assert a.factor(POLICY) == pytest.approx(0.5)


async def test_shares_count_the_per_point_speed_of_their_size() -> None:
    """Pippenger's per-point speed grows with n: a worker with twice the capacity of another
    gets more than two thirds of a job, as its larger share computes each point faster
    (shares in proportion to capacities at one size left it a block short)."""
    n = 4096
    whole = range(n // 64)
    sched, h, ws, dense = _settled_pair(1e9, 2, n, (whole, whole), shares=(1.0, 0.5))
    sched.submit("x", [(h, n, dense)])
    a, b = (sum(count for _, count in _ranges(w)) for w in ws)
    assert a + b == n
    assert a >= 2 * n / 3 + 64, (a, b)
