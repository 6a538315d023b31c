"""``make status-screenshot``: a PNG of the coordinator's status page with a demo fleet.

Starts a coordinator (127.0.0.1, free ports, jobs in memory) and three in-process workers,
runs a few MSM jobs of different sizes (one cancelled), leaves a larger one running, and has
headless Chromium (Debian's ``chromium``) load the page and write the screenshot
(default ``build/status.png``).
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
from pathlib import Path

import trio

from zkedge import ec, msm
from zkedge.fleet.coordinator import Coordinator, SizingPolicy
from zkedge.fleet.worker import Worker, WorkerConfig

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def table(n: int) -> msm.BaseTable:
    g = ec.generator("bn254", "G1")
    pts = [ec.mul("bn254", "G1", g, k) for k in range(1, 65)]
    return msm.BaseTable.from_points("bn254", "G1", [pts[i % 64] for i in range(n)])


async def main(out: Path, browser: str) -> None:
    rng = random.Random(7)
    big = table(1 << 15)
    policy = SizingPolicy(target_seconds=0.2, min_points=1024, block_points=1024)
    with tempfile.TemporaryDirectory() as tmp:
        async with trio.open_nursery() as nursery:
            coord = await nursery.start(
                Coordinator("127.0.0.1:0", store=None, policy=policy, http="127.0.0.1:0").serve
            )
            workers = []
            for i, delay in enumerate([0.05, 0.1, 0.2]):
                cfg = WorkerConfig(
                    coordinator=f"127.0.0.1:{coord.port}",
                    worker_id=f"pi-rack-{i + 1}",
                    threads=1,
                    cache_dir=Path(tmp) / str(i),
                    task_delay=delay,
                )
                workers.append(await nursery.start(Worker(cfg).run))
            for n in [4096, 8192, 2048, 16384, 8192, 4096, 12288, 6144]:
                scalars = [rng.randrange(1 << 254) for _ in range(n)]
                await (await coord.submit_msm("bn254", "G1", big, scalars)).result()
            cancelled = await coord.submit_msm("bn254", "G1", big, [1] * 4096)
            cancelled.cancel("cancelled by the operator")
            for w in workers:  # slower from here on: the last job is still running when
                w.config.task_delay *= 20  # the browser looks
            scalars = [rng.randrange(1 << 254) for _ in range(big.n)]
            running = await coord.submit_msm("bn254", "G1", big, scalars)
            while running.progress.points_done < big.n // 3:
                await running.wait_progress()
            with tempfile.TemporaryDirectory() as profile:
                await trio.run_process(
                    [
                        browser,
                        *FLAGS,
                        f"--user-data-dir={profile}",
                        "--window-size=1360,1180",
                        "--virtual-time-budget=3000",
                        f"--screenshot={out.resolve()}",
                        f"http://127.0.0.1:{coord.http_port}/",
                    ],
                    capture_stdout=True,
                    capture_stderr=True,
                )
            nursery.cancel_scope.cancel()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=Path("build/status.png"))
    args = ap.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("error: chromium is not installed (apt-get install chromium)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    trio.run(main, args.out, chromium)
    print(f"wrote {args.out}")
