"""``zkedge demo``: the bundled circuit proved here, then across a coordinator and local workers.

The fleet half starts a real coordinator and workers in this process (gRPC over 127.0.0.1), so
the demo runs the same code a fleet of boards does.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, TextIO

import trio

from zkedge.groth16 import dump_json
from zkedge.groth16.demo import demo_circuit, run_demo

__all__ = ["cmd_demo", "find_snarkjs", "register", "run_fleet_demo", "snarkjs_verify"]


def register(subparsers: Any) -> None:
    """Add ``demo`` to an ``argparse`` subparsers object."""
    p = subparsers.add_parser(
        "demo", help="prove the bundled circuit locally and across local workers"
    )
    p.add_argument("--out", default="out", help="directory for proof.json and public.json")
    p.add_argument("--workers", type=int, default=2, help="local workers (default 2)")
    p.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    out = Path(args.out)
    print("== zkedge demo: Groth16 proof of the bundled circuit ==")
    print("\n-- on this machine (native core, all threads) --")
    ok_local = run_demo(out / "local")
    print(f"\n-- across the fleet: coordinator + {args.workers} local workers over gRPC --")
    ok_fleet = trio.run(lambda: run_fleet_demo(out, workers=args.workers))
    ok = ok_local and ok_fleet and snarkjs_verify(out)
    print(f"\ndemo {'PASSED' if ok else 'FAILED'}: proof.json and public.json are in {out}/")
    return 0 if ok else 1


def find_snarkjs() -> str | None:
    """A ``snarkjs`` command: on PATH, else the one `make node` installs in a checkout (with
    an editable install); None without one."""
    local = Path(__file__).resolve().parents[2] / "tests/fixtures/node_modules/.bin/snarkjs"
    return shutil.which("snarkjs") or (str(local) if local.exists() else None)


def snarkjs_verify(out: Path) -> bool:
    """Have snarkjs itself check the fleet's proof, when there is one to run."""
    snarkjs = find_snarkjs()
    if snarkjs is None or shutil.which("node") is None:
        why = "no snarkjs on PATH" if snarkjs is None else "no node on PATH to run snarkjs"
        print(f"snarkjs cross-check skipped: {why}")
        return True
    vkey = demo_circuit() / "verification_key.json"
    cmd = [
        snarkjs,
        "groth16",
        "verify",
        str(vkey),
        str(out / "public.json"),
        str(out / "proof.json"),
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    ok = res.returncode == 0 and "OK" in res.stdout
    print(f"snarkjs groth16 verify ({snarkjs}): {'OK' if ok else 'REJECTED'}")
    if not ok:
        print(res.stdout + res.stderr)
    return ok


async def run_fleet_demo(
    outdir: str | Path = ".",
    *,
    workers: int = 2,
    circuit: str | Path | None = None,
    threads_per_worker: int = 1,
    out: TextIO | None = None,
) -> bool:
    """Start a coordinator and ``workers`` local workers, prove the bundled circuit across
    them, verify, print each worker's share and the times, write proof.json/public.json."""
    # the fleet is imported here, not with the CLI: `zkedge prove` needs none of it
    from zkedge.fleet.coordinator import Coordinator, prove_groth16
    from zkedge.fleet.worker import Worker, WorkerConfig

    w = out if out is not None else sys.stdout
    d = Path(circuit) if circuit is not None else demo_circuit()
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="zkedge-demo-") as tmp:
        async with trio.open_nursery() as nursery:
            coord = await nursery.start(Coordinator(bind="127.0.0.1:0", store=None).serve)
            for i in range(workers):
                cfg = WorkerConfig(
                    coordinator=f"127.0.0.1:{coord.port}",
                    worker_id=f"demo-worker-{i + 1}",
                    threads=threads_per_worker,
                    cache_dir=Path(tmp) / f"w{i + 1}",
                    benchmark=False,
                )
                await nursery.start(Worker(cfg).run)
            print(f"coordinator on 127.0.0.1:{coord.port}, {workers} local workers", file=w)
            t0 = time.monotonic()
            res = await prove_groth16(coord, d / "circuit.zkey", d / "witness.wtns")
            total = time.monotonic() - t0
            nursery.cancel_scope.cancel()
    proof, public = res.to_json()
    dump_json(proof, outdir / "proof.json")
    dump_json(public, outdir / "public.json")
    print(f"proof over the fleet in {total * 1000:.0f} ms: "
          + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in res.times.items()), file=w)  # fmt: skip
    pts = sum(v[0] for v in res.shares.values()) or 1
    print(f"{'worker':<16}{'points':>10}{'share':>8}{'tasks':>7}{'compute s':>11}", file=w)
    for wid, (n, ntasks, secs) in sorted(res.shares.items()):
        print(f"{wid:<16}{n:>10}{n / pts:>8.1%}{ntasks:>7}{secs:>11.3f}", file=w)
    print(f"proof VALID (checked before returning); wrote {outdir / 'proof.json'}", file=w)
    return True
