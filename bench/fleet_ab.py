#!/usr/bin/env python3
"""One proof at a time over a fleet, two source trees against each other: each tree's
`zkedge coordinator` and two `zkedge worker --threads 1` processes, a client of this tree
submitting proofs one after another (SubmitProof, then WatchJob to the end), the trees
alternated round by round.

    .venv/bin/python bench/fleet_ab.py --old /path/to/old/checkout --rounds 3

The old checkout needs its compiled module (copy zkedge/_native*.so from this tree when
native/ did not change, or build it there). Per tree: 2 warm-up proofs, then ``--proofs``
timed ones, in every round. Prints each tree's median, min and max, and new ÷ old.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchlib import groth16_bench  # noqa: E402  (bench/, this script's directory)


def start_fleet(tree: Path, tmp: str) -> tuple[str, list[subprocess.Popen[str]]]:
    """The tree's coordinator and two workers; (address, processes)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    cli = [sys.executable, "-m", "zkedge.cli._fleet"]
    coord = subprocess.Popen(
        [*cli, "coordinator", "--bind", "127.0.0.1:0", "--store", ":memory:"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=tmp,
    )  # fmt: skip
    procs = [coord]
    assert coord.stdout is not None
    addr = None
    deadline = time.monotonic() + 60
    while addr is None and time.monotonic() < deadline:
        line = coord.stdout.readline()
        if not line:
            break
        m = re.search(r"listening on (\S+:\d+)", line)
        addr = m.group(1) if m else None
    if addr is None:
        coord.kill()
        raise RuntimeError(f"{tree}: the coordinator did not start")
    for i in range(2):
        argv = [*cli, "worker", "--coordinator", addr, "--id", f"ab{i}", "--threads", "1",
                "--cache-dir", f"{tmp}/ab{i}"]  # fmt: skip
        procs.append(
            subprocess.Popen(
                argv,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                text=True,
                env=env,
                cwd=tmp,
            )
        )
    return addr, procs


async def timed_proofs(addr: str, zkey: bytes, wtns: bytes, n: int) -> list[float]:
    """2 warm-up proofs, then n timed ones, one at a time."""
    import trio

    from zkedge.fleet.client import open_coordinator

    digest = hashlib.sha256(zkey).hexdigest()
    out = []
    with trio.fail_after(1800):
        async with open_coordinator(addr) as c:
            while sum(1 for w in (await c.status()).workers if w.stream_open) < 2:
                await trio.sleep(0.2)
            for i in range(n + 2):
                t0 = time.monotonic()
                sub = await c.submit_proof(wtns, zkey_hash=digest, zkey=lambda: zkey)
                u = await c.watch(sub.job_id)
                if u.state != "done":
                    raise RuntimeError(f"proof {sub.job_id} {u.state}: {u.error}")
                if i >= 2:
                    out.append(time.monotonic() - t0)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", type=Path, required=True, help="the other checkout")
    ap.add_argument("--new", type=Path, default=ROOT, help="default: this checkout")
    ap.add_argument("--size", type=int, default=16, help="log2 of the circuit (default 16)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--proofs", type=int, default=3, help="timed proofs per tree and round")
    args = ap.parse_args()
    import trio

    d, constraints, _ = groth16_bench().circuit_for(args.size, "fast")
    zkey = (d / "circuit.zkey").read_bytes()
    wtns = (d / "witness.wtns").read_bytes()
    res: dict[str, list[float]] = {"old": [], "new": []}
    for r in range(args.rounds):
        for name, tree in (("old", args.old), ("new", args.new)):
            with tempfile.TemporaryDirectory() as tmp:
                addr, procs = start_fleet(tree.resolve(), tmp)
                try:
                    res[name] += trio.run(timed_proofs, addr, zkey, wtns, args.proofs)
                finally:
                    for p in procs:
                        p.terminate()
                    for p in procs:
                        p.wait(timeout=30)
            shown = ", ".join(f"{x:.2f}" for x in res[name][-args.proofs :])
            print(f"[fleet_ab] round {r + 1} {name}: {shown} s", file=sys.stderr)
    print(f"\n{constraints}-constraint circuit, one proof at a time, 2 one-thread workers")
    for name, v in res.items():
        print(f"{name}: median {statistics.median(v):.3f} s, min {min(v):.3f}, "
              f"max {max(v):.3f} ({len(v)} proofs)")  # fmt: skip
    ratio = statistics.median(res["new"]) / statistics.median(res["old"])
    print(f"new ÷ old (medians): {ratio:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
