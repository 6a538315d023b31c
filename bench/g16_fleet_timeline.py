"""Timeline of Groth16 proofs across a local fleet: where the fleet's time goes.

A coordinator in this process and N worker processes (1 thread each), as in bench/groth16.py;
the scheduler's task sends and completions and the coordinator's H computation are logged with
their times, and each proof prints its fleet MSM time, H time and task count (``--log`` also
prints the events of the last proof). Diagnostic only: it wraps scheduler internals.

    .venv/bin/python bench/g16_fleet_timeline.py build/groth16-bench/chain16-fast --proofs 6
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import trio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from zkedge.fleet.coordinator import Coordinator  # noqa: E402
from zkedge.fleet.coordinator import _groth16 as D  # noqa: E402
from zkedge.fleet.coordinator import dispatch as DP  # noqa: E402
from zkedge.fleet.coordinator import scheduler as S  # noqa: E402
from zkedge.groth16.prover import compute_h, load_inputs  # noqa: E402

LOG: list[tuple[Any, ...]] = []
T0 = [0.0]


def _hook() -> None:
    start, complete = DP.Dispatcher._start, S.Scheduler.complete

    def logged_start(self: Any, w: Any, task: Any, verify: Any = None) -> bool:
        ok: bool = start(self, w, task, verify)
        now = time.monotonic() - T0[0]
        LOG.append((now, "send", w.worker_id, task.id, task.msm.group, task.count, task.units))
        return ok

    def logged_complete(self: Any, worker_id: str, task_id: str, *a: Any, **k: Any) -> Any:
        LOG.append((time.monotonic() - T0[0], "done", worker_id, task_id, a[2] if a else 0.0))
        return complete(self, worker_id, task_id, *a, **k)

    def logged_h(*a: Any, **k: Any) -> bytes:
        LOG.append((time.monotonic() - T0[0], "h start"))
        out: bytes = compute_h(*a, **k)
        LOG.append((time.monotonic() - T0[0], "h end"))
        return out

    DP.Dispatcher._start = logged_start  # type: ignore[method-assign]
    S.Scheduler.complete = logged_complete  # type: ignore[method-assign]
    D.compute_h = logged_h  # type: ignore[attr-defined]  # the name _groth16 calls


async def run(d: Path, workers: int, proofs: int, show_log: bool) -> None:
    procs = []
    with tempfile.TemporaryDirectory() as tmp:
        async with trio.open_nursery() as nursery:
            coord = await nursery.start(Coordinator(store=None).serve)
            for i in range(workers):
                cmd = [sys.executable, "-m", "zkedge.cli._fleet", "worker", "--coordinator",
                       f"127.0.0.1:{coord.port}", "--id", f"w{i}", "--threads", "1",
                       "--no-benchmark", "--cache-dir", str(Path(tmp) / f"w{i}")]  # fmt: skip
                procs.append(
                    subprocess.Popen(
                        cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                    )
                )
            try:
                while len(coord.workers()) < workers:
                    await trio.sleep(0.05)
                zk, wit = load_inputs(d / "circuit.zkey", d / "witness.wtns")
                for i in range(proofs):
                    LOG.clear()
                    T0[0] = time.monotonic()
                    res = await D.prove_groth16(coord, zk, wit)
                    sends = sum(1 for e in LOG if e[1] == "send")
                    print(f"proof {i}: fleet msm {res.times['fleet msm']:.3f} s, "
                          f"h {res.times['h']:.3f} s, {sends} tasks")  # fmt: skip
                if show_log:
                    for e in LOG:
                        print(
                            f"  {e[0]:7.3f}",
                            *(f"{x:.3f}" if isinstance(x, float) else x for x in e[1:]),
                        )
            finally:
                for p in procs:
                    p.terminate()
                for p in procs:
                    p.wait()
            nursery.cancel_scope.cancel()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("circuit", type=Path, help="directory with circuit.zkey and witness.wtns")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--proofs", type=int, default=4, help="warm proofs after the first (cold)")
    ap.add_argument("--log", action="store_true", help="print the last proof's events")
    args = ap.parse_args()
    _hook()
    trio.run(run, args.circuit, args.workers, args.proofs + 1, args.log)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
