#!/usr/bin/env python3
"""Bytes a fleet proof moves: per proof, what the coordinator sends its workers (task scalars,
whole-proof witnesses, bases, zkeys), with a fresh witness each time.

    .venv/bin/python bench/traffic.py                     # 2^16 chain circuit, 2 workers, 5 proofs
    .venv/bin/python bench/traffic.py --size 14 --proofs 8 --shape whole

A coordinator runs in this process (in memory) with W `zkedge worker --threads 1` processes on
127.0.0.1, each with a fresh cache (the first proof is cold: its workers fetch bases). Each
proof's witness is computed from new inputs with the circuit's wasm (bench/groth16.py's chain
circuit, fast setup), so no proof finds its scalars in a worker's cache from the one before.
``--shape split`` proves with the fleet prover (H here, the five MSMs on the workers);
``--shape whole`` submits each proof as a whole-proof task. The counts are the coordinator's
``zkedge_sent_bytes_total`` counters ("packed away": ``zkedge_packing_saved_bytes_total``, what
packing kept off the wire); every proof is checked by zkedge's verifier. Workers
heartbeat every second here, and the second proof waits 1.5 s, so the coordinator knows each
worker's measured link from then on (it decides by it whether to carve the witness MSMs
aligned; ``--align-cost 0`` aligns on any measured link).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchlib import groth16_bench  # noqa: E402  (bench/, this script's directory)

g16bench = groth16_bench()
KINDS = ("scalars", "witness", "bases", "zkey")


async def run(
    d: Path, wasm: Path, workers: int, proofs: int, shape: str, align_cost: float | None
) -> list[dict[str, Any]]:
    """Prove ``proofs`` times on a fresh fleet; per proof its seconds, bytes by kind, tasks."""
    import trio

    from zkedge.circom import WitnessCalculator
    from zkedge.fleet.coordinator import Coordinator
    from zkedge.fleet.coordinator._groth16 import prove_groth16, prove_whole
    from zkedge.groth16 import read_wtns, read_zkey
    from zkedge.groth16.verifier import explain_verify
    from zkedge.groth16.vkey import vkey_from_zkey

    zkey_bytes = (d / "circuit.zkey").read_bytes()
    calc = WitnessCalculator(wasm.read_bytes())
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        async with trio.open_nursery() as nursery:
            from zkedge.fleet.coordinator import SizingPolicy

            policy = SizingPolicy() if align_cost is None else SizingPolicy(align_cost=align_cost)
            # heartbeats every second: the workers' link measurements reach the coordinator
            # before the second proof (they come with heartbeats)
            coord = await nursery.start(
                Coordinator(store=None, policy=policy, heartbeat_interval=1.0).serve
            )
            digest = await coord.proofs.add_zkey(zkey_bytes)
            zk = read_zkey(d / "circuit.zkey")
            vk = vkey_from_zkey(zk)
            cli = [sys.executable, "-m", "zkedge.cli._fleet", "worker"]
            argvs = [
                [*cli, "--coordinator", f"127.0.0.1:{coord.port}", "--id", f"tw{i}",
                 "--threads", "1", "--cache-dir", f"{tmp}/tw{i}"]
                for i in range(workers)
            ]  # fmt: skip
            procs = [
                subprocess.Popen(a, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                for a in argvs
            ]
            try:
                with trio.fail_after(120):
                    while sum(1 for w in coord.workers() if w.assignable) < workers:
                        await trio.sleep(0.1)
                disp = coord._scheduler_or_raise().dispatcher
                sent = disp.bytes_sent
                for i in range(proofs):
                    wit = read_wtns(calc.wtns({"x": str(1000 + i), "y": "7"}))
                    before = dict(sent)
                    packed_before = disp.packing_saved
                    t0 = time.monotonic()
                    with trio.fail_after(600):
                        if shape == "whole":
                            res = await prove_whole(coord, zk, wit, digest, len(zkey_bytes))
                        else:
                            res = await prove_groth16(coord, zk, wit)
                    secs = time.monotonic() - t0
                    why = explain_verify(vk, res.public, (res.a, res.b, res.c))
                    if why is not None:
                        raise RuntimeError(f"proof {i} does not verify: {why}")
                    rows.append(
                        {
                            "seconds": secs,
                            "bytes": {k: sent[k] - before.get(k, 0) for k in KINDS},
                            "tasks": sum(v[1] for v in res.shares.values()),
                            "packed": disp.packing_saved - packed_before,
                        }
                    )
                    print(f"[traffic] proof {i + 1}: {secs:.2f} s, {rows[-1]}", file=sys.stderr)
                    if i == 0:
                        await trio.sleep(1.5)  # a heartbeat with the measured link
            finally:
                for p in procs:
                    p.terminate()
                for p in procs:
                    p.wait(timeout=30)
                nursery.cancel_scope.cancel()
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=16, help="log2 of the circuit size (default 16)")
    ap.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    ap.add_argument("--proofs", type=int, default=5, help="proofs, the first cold (default 5)")
    ap.add_argument("--shape", choices=["split", "whole"], default="split")
    ap.add_argument(
        "--align-cost",
        type=float,
        default=None,
        help="SizingPolicy.align_cost (0: carve the witness MSMs aligned on any measured link; "
        "default: the policy's, which on loopback finds the bytes too cheap to align for)",
    )
    args = ap.parse_args()
    if min(args.workers, args.proofs) < 1:
        ap.error("--workers and --proofs must be >= 1")
    import trio

    d, constraints, _ = g16bench.circuit_for(args.size, "fast")
    wasm = g16bench.circuit_wasm(d)
    rows = trio.run(run, d, wasm, args.workers, args.proofs, args.shape, args.align_cost)
    print(
        f"\n{constraints}-constraint circuit (2^{args.size}), {args.workers} one-thread "
        f"workers, shape {args.shape}, align_cost {args.align_cost}, a fresh witness per "
        "proof; MB sent to the workers"
    )
    print(f"{'proof':>5} | {'s':>6} | {'tasks':>5} | " + " | ".join(f"{k:>8}" for k in KINDS)
          + f" | {'total':>8} | {'packed away':>11}")  # fmt: skip
    print("-" * 90)
    totals = []
    for i, r in enumerate(rows, 1):
        b = r["bytes"]
        total = sum(b.values())
        if i > 1:
            totals.append(total)
        mb = " | ".join(f"{b[k] / 1e6:8.2f}" for k in KINDS)
        print(
            f"{i:>5} | {r['seconds']:6.2f} | {r['tasks']:>5} | {mb} | {total / 1e6:8.2f} | "
            f"{r['packed'] / 1e6:11.2f}"
        )
    if totals:
        print(
            f"\nwarm proofs (2..{len(rows)}): median {statistics.median(totals) / 1e6:.2f} MB, "
            f"max {max(totals) / 1e6:.2f} MB sent per proof; the first (cold) "
            f"{sum(rows[0]['bytes'].values()) / 1e6:.2f} MB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
