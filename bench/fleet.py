#!/usr/bin/env python3
"""Fleet benchmark: adaptive vs static sizing on a heterogeneous pair, and fleet overhead.

A coordinator (in this process) and two worker processes, each pinned to its own core with
``taskset``; a CPU burner shares the second worker's core. BN254 G1 MSM at n = 2^18 (default).
Prints makespans with adaptive sizing (the MSM split by windows, as the coordinator does by
default for such an MSM, and split by points only), with a static equal split by points, the
ideal (n over the sum of the workers' measured rates), and the fleet's overhead against one
local 2-thread MSM (no burner), each configuration interleaved with the others. It also
prints the CPU a job takes in the fleet (this process and both workers) against the local
MSM's: with the coordinator and the workers on the same cores, that ratio is a floor for the
overhead that no scheduling can go below.

    .venv/bin/python bench/fleet.py [--log-n 18] [--repeat 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import trio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from zkedge import ec  # noqa: E402
from zkedge.curves import BN254  # noqa: E402
from zkedge.fleet.alloc import retain_freed_memory  # noqa: E402
from zkedge.fleet.coordinator import Coordinator, SizingPolicy  # noqa: E402
from zkedge.msm import BaseTable, msm  # noqa: E402

BURNER = "import os\nwhile True:\n    pass\n"


def make_inputs(n: int) -> tuple[BaseTable, bytes]:
    rng = random.Random(2026)
    g = ec.mul(BN254, "G1", BN254.g1, rng.randrange(1, BN254.r))
    pts, acc = [], g
    for _ in range(n):
        pts.append(acc)
        acc = ec.add(BN254, "G1", acc, g)
    scalars = b"".join(rng.randrange(BN254.r).to_bytes(32, "little") for _ in range(n))
    return BaseTable.from_points(BN254, "G1", pts), scalars


def pinned(core: int, cmd: list[str], log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    prefix = ["taskset", "-c", str(core)] if shutil.which("taskset") else []
    with open(log, "ab") as f:
        return subprocess.Popen(prefix + cmd, stdout=f, stderr=f, env=env)


Shares = dict[str, tuple[int, int, float]]
"""worker id -> (points, tasks, compute seconds), as ``MsmHandle.shares()`` reports them."""


def fresh_scalars(rng: random.Random, n: int) -> bytes:
    """n random scalars of 252 bits (below r): every job gets its own, as a proof's do, so
    the fleet moves them each time (a worker keeps the slices it was sent, and the same
    scalars again would cost no transfer)."""
    data = bytearray(rng.randbytes(32 * n))
    data[31::32] = bytes(b & 0x0F for b in data[31::32])
    return bytes(data)


async def run_job(coord: Coordinator, table: BaseTable, scalars: bytes) -> tuple[float, Shares]:
    t0 = time.perf_counter()
    h = await coord.submit_msm("bn254", "G1", table, scalars)
    await h.result()
    return time.perf_counter() - t0, h.shares()


def cpu_seconds(pids: list[int]) -> float:
    """CPU seconds (user + system) of this process and of the processes ``pids`` so far
    (Linux /proc; 0 for a process it cannot read)."""
    total = time.process_time()
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def spread(ratios: list[float]) -> str:
    """The lowest and highest of per-run ratios, as overheads: the machine's noise beside the
    median."""
    return f"{min(ratios) - 1:+.0%} to {max(ratios) - 1:+.0%}"


def fmt_shares(shares: Shares, makespan: float) -> str:
    """Per worker: points, tasks, and busy share of the makespan (compute time / makespan)."""
    return ", ".join(
        f"{w}:{p}pts/{k}t/busy {s / makespan:.0%}" for w, (p, k, s) in sorted(shares.items())
    )


async def bench(args: argparse.Namespace) -> None:
    n = 1 << args.log_n
    print(f"# building {n} bases ...", file=sys.stderr)
    table, scalars = make_inputs(n)
    want = msm(table, scalars, threads=2)
    rng = random.Random(7)
    tmp = Path(tempfile.mkdtemp(prefix="zkedge-bench-"))
    adaptive = SizingPolicy(
        target_seconds=args.target_seconds,
        min_points=args.min_points,
        block_points=4096,
        tail_fraction=args.tail_fraction,
    )
    by_points = dataclasses.replace(adaptive, window_min_points=0)
    static = SizingPolicy(
        target_seconds=1e6,
        min_points=n // 2,
        max_points=n // 2,
        block_points=4096,
        tail_fraction=1.0,
        speculate_min_seconds=1e9,
        window_min_points=0,
    )
    procs: list[subprocess.Popen[bytes]] = []
    rows: list[tuple[str, float, str]] = []
    try:
        async with trio.open_nursery() as nursery:
            coord = await nursery.start(
                Coordinator(store=None, policy=adaptive, pipeline_depth=2).serve
            )
            for core, wid in ((0, "core0"), (1, "core1+burner")):
                cmd = [
                    sys.executable,
                    "-m",
                    "zkedge.cli._fleet",
                    "worker",
                    "--coordinator",
                    f"127.0.0.1:{coord.port}",
                    "--id",
                    wid,
                    "--threads",
                    "1",
                    "--cache-dir",
                    str(tmp / wid),
                ]
                procs.append(pinned(core, cmd, tmp / f"{wid}.log"))
            while len([w for w in coord.workers() if w.stream is not None]) < 2:
                await trio.sleep(0.1)
            # warm-up: bases reach the workers' caches, capacities are learned and settle (two
            # tasks that agree on a worker's rate: see CapacityEstimate.settled)
            for i in range(3):
                t, _ = await run_job(coord, table, fresh_scalars(rng, n))
                print(f"# warm-up {i + 1} {t:.2f}s", file=sys.stderr)

            # no burner: local 2-thread MSM and fleet runs interleaved, so that whatever else
            # runs on the machine weighs on both alike; the overhead is the median ratio
            local, no_burn, ratios, pts, pt_ratios = [], [], [], [], []
            local_cpu = fleet_cpu = 0.0
            pids = [p.pid for p in procs]
            for _ in range(args.repeat):
                sc = fresh_scalars(rng, n)
                c0 = cpu_seconds([])
                t0 = time.perf_counter()
                await trio.to_thread.run_sync(functools.partial(msm, table, sc, threads=2))
                local.append(time.perf_counter() - t0)
                local_cpu += cpu_seconds([]) - c0
                coord.set_policy(adaptive)
                c0 = cpu_seconds(pids)
                t, shares = await run_job(coord, table, sc)
                fleet_cpu += cpu_seconds(pids) - c0
                no_burn.append(t)
                ratios.append(t / local[-1])
                coord.set_policy(by_points)
                tp, shares_p = await run_job(coord, table, sc)
                pts.append(tp)
                pt_ratios.append(tp / local[-1])
                print(
                    f"# no burner: local {local[-1]:.3f}s, fleet {t:.3f}s "
                    f"({fmt_shares(shares, t)}), by points {tp:.3f}s ({fmt_shares(shares_p, tp)})",
                    file=sys.stderr,
                )
            coord.set_policy(adaptive)
            cpu_local, cpu_fleet = local_cpu / args.repeat, fleet_cpu / args.repeat
            t_local = statistics.median(local)
            t_fleet = statistics.median(no_burn)
            overhead = statistics.median(ratios) - 1
            overhead_p = statistics.median(pt_ratios) - 1
            rows.append(("fleet adaptive, no burner", t_fleet, fmt_shares(shares, t)))
            rows.append(
                ("fleet by points, no burner", statistics.median(pts), fmt_shares(shares_p, tp))
            )

            procs.append(pinned(1, [sys.executable, "-c", BURNER], tmp / "burner.log"))
            await trio.sleep(args.settle)
            await run_job(coord, table, fresh_scalars(rng, n))  # let the EWMA see the burner

            # burner: adaptive and static interleaved; ideal from each adaptive run's own rates
            adapt: list[float] = []
            stat: list[float] = []
            ideals: list[float] = []
            adapt_p: list[float] = []
            ideals_p: list[float] = []
            rates_pts: dict[str, int] = {}
            rates_s: dict[str, float] = {}
            for _ in range(args.repeat):
                coord.set_policy(adaptive)
                t, shares = await run_job(coord, table, fresh_scalars(rng, n))
                adapt.append(t)
                print(f"# burner: adaptive {t:.3f}s  {fmt_shares(shares, t)}", file=sys.stderr)
                run_rates = {w: p / s for w, (p, _k, s) in shares.items() if s > 0}
                ideals.append(n / sum(run_rates.values()))
                for w, (p, _k, s) in shares.items():
                    rates_pts[w] = rates_pts.get(w, 0) + p
                    rates_s[w] = rates_s.get(w, 0.0) + s
                adapt_shares = shares
                coord.set_policy(by_points)
                t, shares = await run_job(coord, table, fresh_scalars(rng, n))
                adapt_p.append(t)
                run_rates = {w: p / s for w, (p, _k, s) in shares.items() if s > 0}
                ideals_p.append(n / sum(run_rates.values()))
                print(f"# burner: by points {t:.3f}s  {fmt_shares(shares, t)}", file=sys.stderr)
                coord.set_policy(static)
                t, shares = await run_job(coord, table, fresh_scalars(rng, n))
                stat.append(t)
            t_adapt = statistics.median(adapt)
            t_static = statistics.median(stat)
            t_ideal = statistics.median(ideals)
            adapt_ratios = [a / i for a, i in zip(adapt, ideals, strict=True)]
            vs_ideal = statistics.median(adapt_ratios) - 1
            vs_ideal_p = (
                statistics.median([a / i for a, i in zip(adapt_p, ideals_p, strict=True)]) - 1
            )
            rows.append(
                ("fleet adaptive, burner on core 1", t_adapt, fmt_shares(adapt_shares, adapt[-1]))
            )
            rows.append(("fleet by points, burner on core 1", statistics.median(adapt_p), ""))
            rates = {w: rates_pts[w] / rates_s[w] for w in rates_pts if rates_s[w] > 0}
            rows.append(("fleet static equal split, burner", t_static, fmt_shares(shares, t)))
            coord.set_policy(adaptive)
            h = await coord.submit_msm("bn254", "G1", table, scalars)
            assert await h.result() == want, "fleet result differs from the local MSM"
            nursery.cancel_scope.cancel()
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)

    print(
        f"\nBN254 G1 MSM, n = 2^{args.log_n} = {n}; median of {args.repeat}; "
        f"workers 1 thread each, pinned to cores 0 and 1"
    )
    print(
        f"policy: tail_fraction={args.tail_fraction}, min_points={args.min_points}, "
        f"target_seconds={args.target_seconds}; machine load average {os.getloadavg()[0]:.2f}"
    )
    print(f"{'configuration':<36}{'seconds':>9}  shares")
    print(f"{'local msm, 2 threads (no fleet)':<36}{t_local:>9.3f}")
    for name, t, sh in rows:
        print(f"{name:<36}{t:>9.3f}  {sh}")
    print(
        f"{'ideal with burner: n / sum(rates)':<36}{t_ideal:>9.3f}  "
        + ", ".join(f"{w}:{r:,.0f}pt/s" for w, r in sorted(rates.items()))
    )
    print()
    print(
        f"adaptive vs ideal:  {vs_ideal:+.1%} (median of per-run ratios, runs "
        f"{spread(adapt_ratios)}; target: within +10%)"
    )
    print(f"by points vs ideal: {vs_ideal_p:+.1%} (median of per-run ratios)")
    print(f"static vs ideal:    {t_static / t_ideal - 1:+.1%} (medians)")
    print(
        f"fleet overhead vs local 2-thread MSM (no burner): {overhead:+.1%}"
        f"   (median of interleaved pairs, pairs {spread(ratios)}; target: at most +10%)"
    )
    print(f"split by points only, overhead vs local: {overhead_p:+.1%} (pairs {spread(pt_ratios)})")
    print(
        f"CPU a job, no burner: fleet (coordinator and workers) {cpu_fleet * 1e3:.0f} ms, "
        f"local {cpu_local * 1e3:.0f} ms: {cpu_fleet / cpu_local - 1:+.1%}, the overhead "
        "that remains on cores shared by all (fleet CPU over local CPU)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--log-n", type=int, default=18)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--target-seconds", type=float, default=2.0)
    ap.add_argument("--tail-fraction", type=float, default=SizingPolicy.tail_fraction)
    ap.add_argument("--min-points", type=int, default=8192)
    ap.add_argument("--settle", type=float, default=3.0, help="seconds after starting the burner")
    ap.add_argument(
        "--no-retain-memory",
        action="store_true",
        help="leave glibc's malloc thresholds alone in the coordinator (see zkedge.fleet.alloc)",
    )
    args = ap.parse_args()
    if not args.no_retain_memory:
        retain_freed_memory()  # as `zkedge coordinator` does; the workers do it themselves
    trio.run(bench, args)


if __name__ == "__main__":
    main()
