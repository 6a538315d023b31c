#!/usr/bin/env python3
"""Throughput: N Groth16 proofs submitted at once to a coordinator with W one-thread workers,
against the same N proofs made one after another by a local one-thread prover, in interleaved
rounds of the same run.

    .venv/bin/python bench/throughput.py                      # 8 proofs, 2 workers, 2^14
    .venv/bin/python bench/throughput.py --proofs 8 --workers 2 --size 14 --rounds 3
    .venv/bin/python bench/throughput.py --shape split        # every proof cut into MSM ranges

The circuit is bench/groth16.py's chain circuit of about 15/16 * 2^size constraints (fast
setup, built on demand under build/groth16-bench/). The fleet is real processes on this host:
`zkedge coordinator` (in memory, ``--proof-shape`` as given) and W `zkedge worker --threads 1`.
A client submits the N proofs at once with SubmitProof and follows each with WatchJob; the
fleet's time runs from the first submission to the last proof. The local reference is one
process that has read the zkey and proves N times with one thread (what a gateway proving on
its own would do). Beside it, W such processes share the N proofs at once: no scheduler, no
network, the most W one-thread provers get out of this host (on a VM whose cores share
caches or hyperthreads, well under W times one). Both sides are warm: one untimed batch
first (workers fetch the zkey, the coordinator parses it). Every fleet proof is checked by
zkedge's verifier, and one per round by snarkjs when it is installed. Shapes come from the
coordinator's log ("proof job ... (whole) done").
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchlib import groth16_bench  # noqa: E402  (bench/, this script's directory)

g16bench = groth16_bench()

PY = sys.executable

# n sequential one-thread proofs in one process with the zkey read once: it says "ready",
# waits for a line on stdin, proves, and prints the seconds.
LOCAL_CHILD = r"""
import json, sys, time
from zkedge.groth16.prover import load_inputs, prove_points
zkey, wtns, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
zk, wit = load_inputs(zkey, wtns)
zk.load_tables()
print("ready", flush=True)
sys.stdin.readline()
t = time.monotonic()
for _ in range(n):
    prove_points(zk, wit, threads=1)
print(json.dumps({"seconds": time.monotonic() - t}), flush=True)
"""


def log(msg: str) -> None:
    print(f"[throughput] {msg}", file=sys.stderr, flush=True)


class Fleet:
    """A coordinator process and W worker processes on 127.0.0.1."""

    def __init__(self, workers: int, shape: str, tmp: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        cli = [PY, "-m", "zkedge.cli._fleet"]
        self.procs: list[subprocess.Popen[str]] = []
        self.lines: list[str] = []
        coord = subprocess.Popen(
            [*cli, "coordinator", "--bind", "127.0.0.1:0", "--store", ":memory:",
             "--proof-shape", shape],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        )  # fmt: skip
        self.procs.append(coord)
        assert coord.stdout is not None
        deadline = time.monotonic() + 60
        addr = None
        while addr is None and time.monotonic() < deadline:
            line = coord.stdout.readline()
            if not line:
                break
            m = re.search(r"listening on (\S+:\d+)", line)
            addr = m.group(1) if m else None
        if addr is None:
            self.close()
            raise RuntimeError("the coordinator did not start")
        self.addr = addr
        threading.Thread(target=self._read, args=(coord,), daemon=True).start()
        for i in range(workers):
            argv = [*cli, "worker", "--coordinator", addr, "--id", f"bw{i}", "--threads", "1",
                    "--cache-dir", str(tmp / f"bw{i}")]  # fmt: skip
            self.procs.append(
                subprocess.Popen(
                    argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True, env=env
                )
            )

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.lines.append(line)

    def shapes(self) -> dict[str, int]:
        """Proof jobs done so far by shape (from the coordinator's log)."""
        out: dict[str, int] = {}
        for line in self.lines:
            m = re.search(r"proof job \S+ \((\w+)\) done", line)
            if m:
                out[m.group(1)] = out.get(m.group(1), 0) + 1
        return out

    def cpu(self) -> tuple[float, float]:
        """CPU seconds used so far by the coordinator and by all workers."""
        tick = os.sysconf("SC_CLK_TCK")

        def one(pid: int) -> float:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / tick

        return one(self.procs[0].pid), sum(one(p.pid) for p in self.procs[1:])

    def close(self) -> None:
        for p in reversed(self.procs):
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


async def _wait_workers(addr: str, n: int) -> None:
    import trio

    from zkedge.fleet.client import open_coordinator

    with trio.fail_after(120):
        async with open_coordinator(addr) as c:
            while sum(1 for w in (await c.status()).workers if w.stream_open) < n:
                await trio.sleep(0.2)


async def _batch(
    addr: str, zkey: bytes, digest: str, wtns: bytes, n: int
) -> tuple[float, list[Any]]:
    """Submit n proofs at once, follow each to its end: (seconds, last updates)."""
    import trio

    from zkedge.fleet.client import open_coordinator

    finals: list[Any] = [None] * n
    async with open_coordinator(addr) as c:
        t0 = time.monotonic()

        async def one(i: int) -> None:
            sub = await c.submit_proof(wtns, zkey_hash=digest, zkey=lambda: zkey)
            finals[i] = await c.watch(sub.job_id)

        with trio.fail_after(1800):
            async with trio.open_nursery() as nursery:
                for i in range(n):
                    nursery.start_soon(one, i)
        return time.monotonic() - t0, finals


def _local(d: Path, n: int, processes: int = 1) -> float:
    """Seconds for n one-thread proofs shared by ``processes`` local provers started together
    (each has read the zkey first), from the start signal to the last proof."""
    shares = [n // processes + (i < n % processes) for i in range(processes)]
    procs = [
        subprocess.Popen(
            [PY, "-c", LOCAL_CHILD, str(d / "circuit.zkey"), str(d / "witness.wtns"), str(k)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for k in shares
        if k > 0
    ]
    try:
        for p in procs:
            assert p.stdout is not None
            if p.stdout.readline().strip() != "ready":
                raise RuntimeError("a local prover did not start")
        t0 = time.monotonic()
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        for p in procs:
            if p.wait(timeout=3600):
                raise RuntimeError("a local prover failed")
        return time.monotonic() - t0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def _check(d: Path, finals: list[Any], tmp: Path, snarkjs: bool) -> None:
    """Every proof verifies (zkedge's verifier); the first also with snarkjs when asked."""
    from zkedge.groth16.verifier import explain_verify
    from zkedge.groth16.vkey import read_vkey

    vk = read_vkey(d / "verification_key.json")
    for u in finals:
        if u.state != "done":
            raise RuntimeError(f"proof job {u.job_id} {u.state}: {u.error}")
        why = explain_verify(vk, json.loads(u.public_json), json.loads(u.proof_json))
        if why is not None:
            raise RuntimeError(f"proof of job {u.job_id} does not verify: {why}")
    if snarkjs:
        pf, pb = tmp / "proof.json", tmp / "public.json"
        pf.write_text(finals[0].proof_json)
        pb.write_text(finals[0].public_json)
        if not g16bench.snarkjs_verifies_files(d / "verification_key.json", pb, pf):
            raise RuntimeError("snarkjs rejects a fleet proof")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--proofs", type=int, default=8, help="proofs per batch (default 8)")
    ap.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    ap.add_argument("--size", type=int, default=14, help="log2 of the circuit size (default 14)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    ap.add_argument(
        "--shape", choices=["auto", "split", "whole"], default="auto",
        help="the coordinator's --proof-shape (default auto)",
    )  # fmt: skip
    args = ap.parse_args()
    if min(args.proofs, args.workers, args.rounds) < 1:
        ap.error("--proofs, --workers and --rounds must be >= 1")
    import hashlib

    import trio

    d, constraints, _ = g16bench.circuit_for(args.size, "fast")
    zkey = (d / "circuit.zkey").read_bytes()
    wtns = (d / "witness.wtns").read_bytes()
    digest = hashlib.sha256(zkey).hexdigest()
    snarkjs = g16bench.have_snarkjs()
    rows = []
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        fleet = Fleet(args.workers, args.shape, tmp)
        try:
            trio.run(_wait_workers, fleet.addr, args.workers)
            log(f"{args.workers} workers connected; warm-up batch of {args.proofs}")
            _, finals = trio.run(_batch, fleet.addr, zkey, digest, wtns, args.proofs)
            _check(d, finals, tmp, False)
            warm = fleet.shapes()
            for r in range(args.rounds):
                local = _local(d, args.proofs)
                par = _local(d, args.proofs, args.workers)
                before, cpu0 = fleet.shapes(), fleet.cpu()
                secs, finals = trio.run(_batch, fleet.addr, zkey, digest, wtns, args.proofs)
                cpu1 = fleet.cpu()
                _check(d, finals, tmp, snarkjs)
                after = fleet.shapes()
                shapes = {k: after.get(k, 0) - before.get(k, 0) for k in after}
                cpu = (cpu1[0] - cpu0[0], cpu1[1] - cpu0[1])
                rows.append((local, par, secs, shapes, cpu))
                log(f"round {r + 1}: local {local:.2f} s, {args.workers} local provers "
                    f"{par:.2f} s, fleet {secs:.2f} s, shapes {shapes}, "
                    f"CPU s coordinator {cpu[0]:.2f}, workers {cpu[1]:.2f}")  # fmt: skip
        finally:
            fleet.close()
    n = args.proofs
    print(
        f"\n{n} proofs of a {constraints}-constraint circuit (2^{args.size}); "
        f"{args.workers} one-thread workers, --proof-shape {args.shape}; "
        f"local: {n} sequential one-thread proofs, zkey read once; warm-up shapes {warm}"
    )
    w = args.workers
    print(f"{'round':>5} | {'local s':>7} | {f'{w} local s':>9} | {'fleet s':>7} | "
          f"{'local /min':>10} | {'fleet /min':>10} | {f'{w} local ÷ local':>15} | "
          f"{'fleet ÷ local':>13} | {'coord CPU s':>11} | {'workers CPU s':>13} | "
          "shapes")  # fmt: skip
    print("-" * 140)
    ratios, ceilings = [], []
    for i, (local, par, secs, shapes, cpu) in enumerate(rows, 1):
        ratio, ceiling = local / secs, local / par
        ratios.append(ratio)
        ceilings.append(ceiling)
        shown = ", ".join(f"{k} {v}" for k, v in sorted(shapes.items()))
        print(f"{i:>5} | {local:7.2f} | {par:9.2f} | {secs:7.2f} | {60 * n / local:10.1f} | "
              f"{60 * n / secs:10.1f} | {ceiling:15.2f} | {ratio:13.2f} | {cpu[0]:11.2f} | "
              f"{cpu[1]:13.2f} | {shown}")  # fmt: skip
    print(
        f"\n{w} local provers at once ÷ one (this host's ceiling for {w} workers): median "
        f"{statistics.median(ceilings):.2f}, min {min(ceilings):.2f}, max {max(ceilings):.2f}"
    )
    print(
        f"throughput ratio (fleet ÷ local): median {statistics.median(ratios):.2f}, "
        f"min {min(ratios):.2f}, max {max(ratios):.2f}"
        + ("; every fleet proof verified, one per round also by snarkjs" if snarkjs else
           "; every fleet proof verified (snarkjs not installed)")
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
