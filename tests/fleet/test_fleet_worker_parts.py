"""Worker pieces that need no network: the on-disk base cache and the OS probe."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from zkedge.fleet.worker.cache import BaseCache
from zkedge.fleet.worker.probe import Probe, ThrottleState

H1, H2 = "a" * 64, "b" * 64


def test_cache_roundtrip_lru_and_bound(tmp_path: Path) -> None:
    c = BaseCache(tmp_path, max_bytes=300, memory_bytes=0)
    c.put(H1, 16, 0, b"x" * 100)
    c.put(H1, 16, 1, b"y" * 100)
    c.put(H1, 16, 2, b"z" * 100)
    assert c.get(H1, 16, 0) == b"x" * 100  # touch block 0: now block 1 is least recent
    c.put(H2, 16, 0, b"w" * 100)
    assert c.get(H1, 16, 1) is None
    assert c.get(H1, 16, 0) == b"x" * 100 and c.total_bytes == 300
    assert len([p for p in tmp_path.iterdir()]) == 3


def test_cache_survives_restart_and_reports_ranges(tmp_path: Path) -> None:
    c = BaseCache(tmp_path, max_bytes=1 << 20)
    for i in (0, 1, 2, 5):
        c.put(H1, 16, i, bytes(64))
    c.put(H2, 8, 3, bytes(64))
    (tmp_path / ".tmpcrash").write_bytes(b"partial")
    (tmp_path / "unrelated.txt").write_text("keep")
    d = BaseCache(tmp_path, max_bytes=1 << 20)
    assert d.get(H1, 16, 5) == bytes(64)
    assert not (tmp_path / ".tmpcrash").exists() and (tmp_path / "unrelated.txt").exists()
    ranges = sorted((r.table_hash, r.start, r.count) for r in d.ranges())
    assert ranges == [(H1, 0, 48), (H1, 80, 16), (H2, 24, 8)]


def test_cache_lru_order_from_mtime(tmp_path: Path) -> None:
    c = BaseCache(tmp_path, max_bytes=1 << 20)
    c.put(H1, 16, 0, bytes(10))
    c.put(H1, 16, 1, bytes(10))
    old = time.time() - 100
    os.utime(tmp_path / f"{H1}.16.1", (old, old))
    d = BaseCache(tmp_path, max_bytes=10)  # shrinking the bound evicts the older block
    assert (H1, 16, 0) in d and (H1, 16, 1) not in d


def _run(c: BaseCache, first: int, last: int) -> tuple[bytes, int]:
    got = c.run(H1, 16, first, last)
    assert got is not None, (first, last)
    return got


def test_cache_run_joins_once_and_keeps_memory_bounded(tmp_path: Path) -> None:
    """A run of blocks comes back joined; asked again, or for a part of it, it is the same
    object (no copy) with the block it starts at; its blocks are still readable one by one,
    and memory counts each byte once."""
    c = BaseCache(tmp_path, max_bytes=1 << 20, memory_bytes=1000)
    blocks = [bytes([i]) * 100 for i in range(6)]
    for i, b in enumerate(blocks[:5]):
        c.put(H1, 16, i, b)
    c.put(H1, 16, 5, b"e" * 40)  # a table's short last block
    assert c.run(H1, 16, 0, 6) is None  # block 6 is not cached
    run, at = _run(c, 1, 3)
    assert (run, at) == (b"".join(blocks[1:4]), 1) and _run(c, 1, 3)[0] is run
    part, at = _run(c, 2, 3)
    assert part is run and at == 1  # part of a held run: the run itself
    assert c.get(H1, 16, 2) == blocks[2] and c._hot_bytes == 540  # the run and 0, 4, 5
    tail, at = _run(c, 3, 5)  # overlaps the first run, which leaves memory
    assert (tail, at) == (blocks[3] + blocks[4] + b"e" * 40, 3)
    assert c.get(H1, 16, 5) == b"e" * 40 and c._hot_bytes <= 1000
    assert _run(c, 3, 5)[0] is tail
    assert _run(c, 1, 3) == (b"".join(blocks[1:4]), 1)  # from the disk again
    assert c._hot_bytes <= 1000
    c2 = BaseCache(tmp_path, max_bytes=1 << 20, memory_bytes=150)
    big, _ = _run(c2, 0, 2)  # over the memory layer: joined, not kept
    assert big == b"".join(blocks[:3]) and _run(c2, 0, 2)[0] is not big
    assert c2._hot_bytes <= 150


def test_cache_run_drops_with_an_evicted_block(tmp_path: Path) -> None:
    c = BaseCache(tmp_path, max_bytes=300, memory_bytes=1000)
    for i in range(3):
        c.put(H1, 16, i, bytes([i]) * 100)
    assert c.run(H1, 16, 0, 2) is not None
    c.put(H2, 16, 0, b"w" * 100)  # the disk bound evicts block 0, and with it the run
    assert c.run(H1, 16, 0, 2) is None and c.get(H1, 16, 1) == bytes([1]) * 100
    assert c._hot_bytes == 200  # block 1 read back from disk, and H2's block


def test_cache_reads_while_a_thread_writes(tmp_path: Path) -> None:
    """The worker writes fetched blocks from a thread while its event loop reads runs and
    blocks: every read is whole and right, however the two interleave (bounded in time)."""
    import random
    import threading

    c = BaseCache(tmp_path, max_bytes=40 * 64, memory_bytes=12 * 64)  # evictions all the time

    def block(i: int) -> bytes:
        return bytes([i]) * 64

    done = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        rng = random.Random(1)
        try:
            while not done.is_set():
                i = rng.randrange(48)
                c.put(H1, 16, i, block(i))
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    t = threading.Thread(target=writer)
    t.start()
    rng = random.Random(2)
    deadline = time.monotonic() + 1.5
    try:
        while time.monotonic() < deadline and not errors:
            first = rng.randrange(46)
            last = first + rng.randrange(3)
            got = c.run(H1, 16, first, last)
            if got is not None:
                data, at = got
                want = b"".join(block(i) for i in range(first, last + 1))
                assert data[(first - at) * 64 : (last - at + 1) * 64] == want
            b = c.get(H1, 16, first)
            assert b is None or b == block(first)
    finally:
        done.set()
        t.join(timeout=10)
    assert not errors, errors
    assert c._hot_bytes <= c.memory_bytes and c.total_bytes <= c.max_bytes


def test_partial_from_a_run_that_starts_earlier() -> None:
    """A task whose bases are part of a longer held run computes over its own points only."""
    import random

    from support.fleet import native_or_skip

    native_or_skip()
    from zkedge import ec
    from zkedge.curves import BN254
    from zkedge.fleet.worker.executor import compute_partial
    from zkedge.msm import BaseTable, msm

    g = ec.generator(BN254, "G1")
    points = [ec.mul(BN254, "G1", g, k + 2) for k in range(40)]
    table = BaseTable.from_points(BN254, "G1", points)
    rng = random.Random(4)
    scalars = b"".join(rng.randrange(BN254.r).to_bytes(32, "little") for _ in range(25))
    res = compute_partial("bn254", "G1", table.to_bytes(), scalars, 1, start=9)
    assert ec.decode(BN254, "G1", res.result, "be") == msm(table, scalars, start=9)
    assert res.result != compute_partial("bn254", "G1", table.to_bytes(), scalars, 1).result


def test_cache_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        BaseCache(tmp_path, max_bytes=0)
    with pytest.raises(ValueError):
        BaseCache(tmp_path).put("short", 16, 0, b"")


def write(root: Path, rel: str, text: str) -> None:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)


def test_probe_reads_a_raspberry_pi(tmp_path: Path) -> None:
    write(tmp_path, "proc/loadavg", "1.50 0.80 0.40 2/300 1234\n")
    write(tmp_path, "proc/meminfo", "MemTotal:  3884000 kB\nMemAvailable:  2000000 kB\n")
    write(tmp_path, "sys/class/thermal/thermal_zone0/temp", "61234\n")
    write(tmp_path, "sys/class/thermal/thermal_zone1/temp", "45000\n")
    write(tmp_path, "sys/devices/platform/soc/soc:firmware/get_throttled", "0x50005\n")
    stat = "cpu  1 1 1 1\ncpu0 100 0 100 800 0 0 0 0\ncpu1 100 0 100 800 0 0 0 0\n"
    write(tmp_path, "proc/stat", stat)
    p = Probe(tmp_path, cpus={0})
    p.cpu_utilization()
    write(tmp_path, "proc/stat", stat.replace("cpu0 100 0 100 800", "cpu0 175 0 100 825"))
    util, own = p.cpu_utilization()
    assert util == pytest.approx(0.75) and 0 <= own <= util
    r = p.load_report(tasks_in_flight=1, recent_pps=123.0)
    assert r.load_average == 1.5 and r.mem_available_bytes == 2000000 * 1024
    assert r.has_temperature and r.soc_temperature_c == pytest.approx(61.234)
    assert r.has_throttle_flag and r.throttled and r.throttle_bits == 0x50005
    assert r.tasks_in_flight == 1 and r.recent_points_per_sec == 123.0
    node = p.node_info(threads=1, bench_pps=10.0)
    assert node.cores == 1 and node.memory_bytes == 3884000 * 1024
    assert not ThrottleState(0x50000).throttled  # only "happened since boot" bits


def test_probe_tolerates_missing_files(tmp_path: Path) -> None:
    p = Probe(tmp_path / "nothing-here", cpus={0, 1})
    r = p.load_report()
    assert r.load_average == 0 and not r.has_temperature and not r.has_throttle_flag
    assert p.memory() == (0, 0) and p.cpu_utilization() == (0.0, 0.0)
    write(tmp_path, "proc/loadavg", "garbage")
    write(tmp_path, "sys/class/thermal/thermal_zone0/temp", "n/a")
    q = Probe(tmp_path, cpus={0})
    assert q.load_avg() == 0 and q.temperature() is None


def test_probe_on_this_machine() -> None:
    p = Probe()
    p.cpu_utilization()
    r = p.load_report()
    assert 0 <= r.cpu_utilization <= 1 and r.mem_available_bytes > 0


async def test_worker_stops_while_coordinator_unreachable(tmp_path: Path) -> None:
    import socket

    import trio

    from zkedge.fleet.worker import Worker, WorkerConfig

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = WorkerConfig(
        coordinator=f"127.0.0.1:{port}",
        worker_id="w",
        cache_dir=tmp_path,
        benchmark=False,
        backoff_initial=10.0,
        backoff_max=60.0,
    )
    worker = Worker(cfg)
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(worker.run)
            await trio.sleep(0.3)  # refused, now in a 5..10 s backoff
            worker.stop()
    assert worker.sessions == 0


def test_worker_config_validates() -> None:
    from zkedge.fleet.worker import WorkerConfig

    for bad in (
        {"coordinator": "nohostport"},
        {"coordinator": "h:1", "threads": 0},
        {"coordinator": "h:1", "backoff_initial": 0},
        {"coordinator": "h:1", "drain_grace": -1},
        {"coordinator": "h:1", "scalar_cache_bytes": -1},
    ):
        with pytest.raises(ValueError):
            WorkerConfig(**bad)


def test_shipped_worker_toml_parses() -> None:
    """packaging/worker.toml (what the Raspberry Pi guide installs) uses only known keys."""
    from zkedge.fleet.worker.config_file import load_worker_config

    cfg = load_worker_config(Path(__file__).parents[2] / "packaging" / "worker.toml")
    assert cfg["scalar_cache_mb"] == 32 and cfg["cache_memory_mb"] == 64
    assert cfg["keep_freed_mb"] == 16


def test_keep_freed_mb_from_flag_and_file(tmp_path: Path) -> None:
    """`zkedge worker --keep-freed-mb` (zkedge.fleet.alloc): default 16, 0 allowed (off), settable
    in the config file, the flag winning over the file."""
    import argparse

    from zkedge.cli import _fleet as fleet_cli
    from zkedge.fleet.worker.config_file import apply_config

    ap = argparse.ArgumentParser()
    fleet_cli.register(ap.add_subparsers())
    args = apply_config(ap.parse_args(["worker", "--coordinator", "h:1"]))
    assert args.keep_freed_mb == fleet_cli.KEEP_FREED_MB_WORKER == 16
    cfg = tmp_path / "worker.toml"
    cfg.write_text('coordinator = "h:1"\nkeep_freed_mb = 0\n')
    assert apply_config(ap.parse_args(["worker", "--config", str(cfg)])).keep_freed_mb == 0
    flag = ap.parse_args(["worker", "--config", str(cfg), "--keep-freed-mb", "8"])
    assert apply_config(flag).keep_freed_mb == 8
    assert ap.parse_args(["coordinator"]).keep_freed_mb == 64


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "calls"])
async def test_reports_go_out_in_order_without_holding_the_next_task(
    tmp_path: Path, stream: bool
) -> None:
    """A completion report is queued and the executor goes on at once; the reporter sends
    the reports in the order the tasks finished and counts each once answered: over a
    StreamReports stream, or, from a coordinator without one (UNIMPLEMENTED at the first
    report), by ReportCompletion calls, the refused report first."""
    from collections.abc import AsyncIterator, Awaitable, Callable
    from contextlib import asynccontextmanager
    from typing import Any

    import trio

    from zkedge.fleet import rpc
    from zkedge.fleet.proto.coordinator.v1 import TaskAssignment
    from zkedge.fleet.worker import Worker, WorkerConfig
    from zkedge.fleet.worker.client import _Session
    from zkedge.fleet.worker.executor import TaskResult

    sent: list[tuple[str, str]] = []
    answer = trio.Event()

    class SlowControl:
        async def call(self, method: str, req: Any) -> None:
            await answer.wait()  # the coordinator answers late (a slow link)
            sent.append((method, req.task_id))

        @asynccontextmanager
        async def exchange(self, method: str) -> AsyncIterator[Callable[[Any], Awaitable[None]]]:
            async def ask(req: Any) -> None:
                await answer.wait()
                if not stream:
                    raise rpc.RpcError("UNIMPLEMENTED", method)
                sent.append((method, req.task_id))

            yield ask

    worker = Worker(WorkerConfig(coordinator="127.0.0.1:1", cache_dir=tmp_path / "c"))
    sess = _Session(worker, SlowControl(), SlowControl(), "s", 4096)  # type: ignore[arg-type]
    res = TaskResult(result=b"r", seconds=0.1)
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(sess.reporter)
            for i in range(3):
                await sess.report_done(TaskAssignment(task_id=f"t{i}", attempt=1), res, 0.0)
            assert sent == [] and sess.reports_pending == 3  # nothing waited for an answer
            answer.set()
            await sess.reports_flushed.wait()
            how = "stream_reports" if stream else "report_completion"
            assert sent == [(how, "t0"), (how, "t1"), (how, "t2")] and worker.tasks_done == 3
            nursery.cancel_scope.cancel()


async def test_prefetch_on_a_slow_link_wants_only_the_share_and_its_neighbours(
    tmp_path: Path,
) -> None:
    """On a link that moves a whole table quickly, idle-time prefetch fetches every missing
    block; where the table would take longer than ``prefetch_whole_seconds``, only the blocks
    the worker's tasks used and the ones next to them."""
    from zkedge.fleet.worker.client import Worker, WorkerConfig, _Session

    worker = Worker(WorkerConfig(coordinator="127.0.0.1:1", cache_dir=tmp_path / "c"))
    sess = _Session(worker, None, None, "s", 16)  # type: ignore[arg-type]
    sess.tables[H1] = ("bn254", "G1", 16 * 10)  # ten blocks of 1 KiB
    for i in (4, 5):
        worker.cache.put(H1, 16, i, bytes(1024))
    sess.used[H1] = {4, 5}
    worker.link.rate = 1e9  # the table in 10 us
    assert sess.next_prefetch() == (H1, 0, 4)
    worker.link.rate = 2048.0  # 5 s: the blocks its tasks used, and their neighbours
    assert sess.next_prefetch() == (H1, 3, 1)
    worker.cache.put(H1, 16, 3, bytes(1024))
    assert sess.next_prefetch() == (H1, 6, 1)
    worker.cache.put(H1, 16, 6, bytes(1024))
    assert sess.next_prefetch() is None
    sess.used[H1].add(9)
    assert sess.next_prefetch() == (H1, 8, 1)


async def test_a_cancelled_fetch_keeps_the_blocks_that_arrived(tmp_path: Path) -> None:
    """A base fetch cancelled midway (a prefetch a task's arrival calls back) caches the
    blocks that arrived whole and check out, and counts the blocks still to come."""
    import hashlib
    from typing import Any

    import trio

    from zkedge.fleet.proto.coordinator.v1 import BasesChunk
    from zkedge.fleet.worker.client import Worker, WorkerConfig, _Session

    blocks = [bytes([i]) * 1024 for i in range(4)]
    sent = trio.Event()

    class Bulk:
        async def stream(self, method: str, req: Any, on_message: Any) -> None:
            for i in (0, 1):  # two of the four blocks, then the link stalls
                data = blocks[i]
                digest = hashlib.sha256(data).hexdigest()
                on_message(BasesChunk(start=16 * i, count=16, data=data, sha256=digest))
            on_message(BasesChunk(start=32, count=16, data=blocks[2], sha256="bad"))
            sent.set()
            await trio.sleep_forever()

    worker = Worker(WorkerConfig(coordinator="127.0.0.1:1", cache_dir=tmp_path / "c"))
    sess = _Session(worker, None, Bulk(), "s", 16)  # type: ignore[arg-type]
    got: dict[int, bytes] = {}
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:

            async def fetch() -> None:
                await sess.fetch_blocks(H1, 0, 64, got, prefetch=True)

            nursery.start_soon(fetch)
            await sent.wait()
            assert sess.prefetch_left == 1  # three of four arrived (one of them corrupt)
            nursery.cancel_scope.cancel()
    assert got == {0: blocks[0], 1: blocks[1]}
    assert worker.cache.get(H1, 16, 1) == blocks[1] and worker.cache.get(H1, 16, 2) is None
