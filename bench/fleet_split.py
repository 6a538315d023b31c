#!/usr/bin/env python3
"""What one worker computes when an MSM is split over k workers: by points (n/k points, every
window) against by windows (W/k windows, every point), one thread, in this process.

For each k the two are timed alternately (the worker's share of a split by points: the first
n/k points; by windows: the first W/k windows of the plan, over all n points, the last one in
part), so the machine's drift weighs on both alike. The ratio is windows over points: below 1
the split by windows leaves each worker less to do. Transfer and scheduling are not in it (see
``bench/fleet.py`` for whole jobs).

A second table times what the coordinator does per job of a split by windows: the values of
every task of a plan for k workers (each worker's equal stretch of the (window, point) line as
the dispatcher cuts it: a part window at each end, one window, the rest) in one pass
(``scalar_window_bits_many``), against copying the scalars once (the same bytes read, about as
many written: the floor of such a pass), alternated.

    .venv/bin/python bench/fleet_split.py [--log-n 18] [--workers 2,4,8] [--repeat 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fleet import make_inputs  # noqa: E402  (bench/fleet.py)

from zkedge.curves import BN254  # noqa: E402
from zkedge.fleet.alloc import retain_freed_memory  # noqa: E402
from zkedge.msm import (  # noqa: E402
    msm,
    msm_windows,
    scalar_window_bits,
    scalar_window_bits_many,
    window_plan,
)


def plan_tasks(n: int, starts: list[int], k: int) -> list[tuple[int, int, int, int]]:
    """(start, count, lo, hi) of every window task of k equal stretches of the (window, point)
    line: a stretch's part windows at its ends, its first whole window, the rest."""
    nwin = len(starts) - 1
    tasks: list[tuple[int, int, int, int]] = []
    for j in range(k):
        pos, end = nwin * n * j // k, nwin * n * (j + 1) // k
        full: list[int] = []
        while pos < end:
            wi, p = divmod(pos, n)
            stop = min(end, (wi + 1) * n)
            if p == 0 and stop - pos == n:
                full.append(wi)
            else:
                tasks.append((p, stop - pos, starts[wi], starts[wi + 1]))
            pos = stop
        if full:
            tasks.append((0, n, starts[full[0]], starts[full[0] + 1]))
        if len(full) > 1:
            tasks.append((0, n, starts[full[1]], starts[full[-1] + 1]))
    return tasks


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--log-n", type=int, default=18)
    ap.add_argument("--workers", default="2,4,8")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    retain_freed_memory()
    n = 1 << args.log_n
    print(f"# building {n} bases ...", file=sys.stderr)
    table, _ = make_inputs(n)  # bench/fleet.py's bases
    rng = random.Random(7)
    scalars = b"".join(rng.randrange(BN254.r).to_bytes(32, "little") for _ in range(n))
    plan = window_plan(BN254, n)
    starts = [sum(plan[:k]) for k in range(len(plan) + 1)]
    print(f"\nBN254 G1, n = 2^{args.log_n}; plan {len(plan)} windows of {max(plan)} bits; "
          f"one thread; median of {args.repeat}")  # fmt: skip
    print(f"{'workers':>8}{'by points s':>13}{'by windows s':>14}{'windows/points':>16}")
    for k in (int(x) for x in args.workers.split(",")):
        share = len(plan) / k  # windows a worker computes
        whole = int(share)
        part = round((share - whole) * n)
        tasks = [(0, n, 0, whole)] if whole else []
        if part:
            tasks.append((0, part, whole, whole + 1))
        values = []
        for s, c, w0, w1 in tasks:
            view = scalars[32 * s : 32 * (s + c)]
            values.append((s, c, w0, w1, scalar_window_bits(BN254, view, starts[w0], starts[w1])))
        pts, wins = [], []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            msm(table, scalars[: 32 * (n // k)], count=n // k, threads=1)
            pts.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            for s, c, w0, w1, vals in values:
                msm_windows(table, vals, starts[w0], plan[w0:w1], start=s, count=c, threads=1)
            wins.append(time.perf_counter() - t0)
        p, w = statistics.median(pts), statistics.median(wins)
        print(f"{k:>8}{p:>13.4f}{w:>14.4f}{w / p:>16.2f}")

    print(f"\nthe coordinator's values of a plan's tasks, one pass; median of {args.repeat}")
    print(f"{'workers':>8}{'tasks':>7}{'copy ms':>10}{'values ms':>11}{'values/copy':>13}")
    for k in (int(x) for x in args.workers.split(",")):
        tasks = plan_tasks(n, starts, k)
        copies, passes = [], []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            bytes(bytearray(scalars))
            copies.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            scalar_window_bits_many(BN254, scalars, tasks)
            passes.append(time.perf_counter() - t0)
        c, v = statistics.median(copies), statistics.median(passes)
        print(f"{k:>8}{len(tasks):>7}{1e3 * c:>10.2f}{1e3 * v:>11.2f}{v / c:>13.2f}")


if __name__ == "__main__":
    main()
