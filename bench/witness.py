#!/usr/bin/env python3
"""Witness calculation: ``zkedge wtns calculate`` (circom's wasm in wasmtime, in-process)
against ``snarkjs wtns calculate`` (Node.js), on the same wasm and input.json.

    .venv/bin/python bench/witness.py                       # shapes, pubmix, chain 2^12..2^16
    .venv/bin/python bench/witness.py --sizes 14 --repeat 3

Every run is a whole process, as a user runs it; the two commands alternate within each
repeat (zkedge, snarkjs, zkedge, snarkjs, ...) so that both see the same machine load, and
each pair's outputs are compared byte for byte. "cold" is zkedge's first run with an empty
compiled-module cache (wasmtime compiles the module and saves it); the other zkedge runs load
the cached module. The chain circuits (tests/fixtures/circuits/chain.circom.in, about
15/16 * 2^k constraints) are compiled on demand into build/witness-bench/. Ratio = snarkjs
median / zkedge median (above 1: zkedge is faster), for wall time and for CPU time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the fixtures package: build.py

from fixtures import build as fixtures  # noqa: E402

BENCH = ROOT / "build" / "witness-bench"
ZKEDGE = [sys.executable, "-m", "zkedge", "wtns", "calculate"]
SNARKJS = ["node", str(fixtures.SNARKJS), "wtns", "calculate"]
CIRCOM_FIXTURES = ROOT / "tests" / "circom" / "fixtures"


def chain_wasm(k: int) -> tuple[Path, Path]:
    """(wasm, input.json) of the 2^k chain circuit, compiled once into build/."""
    d = BENCH / f"chain{k}"
    wasm = d / "chain_js" / "chain.wasm"
    if not wasm.is_file():
        d.mkdir(parents=True, exist_ok=True)
        target = (1 << k) * 15 // 16 - 8
        nbits = target // 2 // 35
        nmul = target - 35 * nbits
        tmpl = (ROOT / "tests/fixtures/circuits/chain.circom.in").read_text()
        src = tmpl.replace("NBITS", str(nbits)).replace("NMUL", str(nmul))
        (d / "chain.circom").write_text(src)
        t = time.monotonic()
        fixtures.compile_circuit(d / "chain.circom", "bn128", d)
        fixtures.log(f"compiled chain 2^{k} in {time.monotonic() - t:.1f} s")
    inp = d / "input.json"
    inp.write_text(json.dumps({"x": "5", "y": "7"}))
    return wasm, inp


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one whole process; CPU (user + system, all its threads) moves
    less than wall time on a shared machine."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.monotonic()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.monotonic() - t
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def bench(name: str, wasm: Path, inp: Path, repeat: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "ZKEDGE_WASM_CACHE": str(Path(tmp) / "cache")}
        zk_out, sj_out = Path(tmp) / "zk.wtns", Path(tmp) / "sj.wtns"
        cold, _ = timed([*ZKEDGE, str(wasm), str(inp), str(zk_out)], env)
        zk, sj, zk_cpu, sj_cpu = [], [], [], []
        for _ in range(repeat):
            wall, cpu = timed([*ZKEDGE, str(wasm), str(inp), str(zk_out)], env)
            zk.append(wall)
            zk_cpu.append(cpu)
            wall, cpu = timed([*SNARKJS, str(wasm), str(inp), str(sj_out)], env)
            sj.append(wall)
            sj_cpu.append(cpu)
            if zk_out.read_bytes() != sj_out.read_bytes():
                raise SystemExit(f"{name}: zkedge's witness differs from snarkjs's")
        n = (zk_out.stat().st_size - 64) // 32
    return {
        "circuit": name,
        "witness": n,
        "wasm_kb": wasm.stat().st_size // 1024,
        "cold": cold,
        "zkedge": statistics.median(zk),
        "zkedge_best": min(zk),
        "snarkjs": statistics.median(sj),
        "snarkjs_best": min(sj),
        "zkedge_cpu": statistics.median(zk_cpu),
        "snarkjs_cpu": statistics.median(sj_cpu),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="12,14,16", help="chain circuit sizes (log2), '' for none")
    ap.add_argument("--repeat", type=int, default=5, help="runs of each command (default 5)")
    ap.add_argument("--json", type=Path, help="also write the rows to this file")
    args = ap.parse_args()
    if not fixtures.node_available():
        fixtures.log("node toolchain missing: run `make node`")
        return 2
    cases = [
        ("shapes", CIRCOM_FIXTURES / "shapes/circuit.wasm", CIRCOM_FIXTURES / "shapes/input.json"),
        (
            "pubmix (Poseidon)",
            CIRCOM_FIXTURES / "pubmix_bn128/circuit.wasm",
            ROOT / "tests/fixtures/bn128/input.json",
        ),
    ]
    for k in (int(s) for s in args.sizes.split(",") if s):
        cases.append((f"chain 2^{k}", *chain_wasm(k)))
    rows = []
    head = (
        f"{'circuit':18} {'witness':>8} {'wasm KB':>8} {'zkedge cold':>11} {'zkedge':>8} "
        f"{'snarkjs':>8} {'ratio':>6} {'zk CPU':>7} {'sj CPU':>7} {'ratio':>6}"
    )
    print(head)
    print("-" * len(head))
    for name, wasm, inp in cases:
        r = bench(name, wasm, inp, args.repeat)
        rows.append(r)
        ratio = float(str(r["snarkjs"])) / float(str(r["zkedge"]))
        cpu_ratio = float(str(r["snarkjs_cpu"])) / float(str(r["zkedge_cpu"]))
        print(
            f"{name:18} {r['witness']:>8} {r['wasm_kb']:>8} {r['cold']:>10.2f}s "
            f"{r['zkedge']:>7.2f}s {r['snarkjs']:>7.2f}s {ratio:>5.2f}x "
            f"{r['zkedge_cpu']:>6.2f}s {r['snarkjs_cpu']:>6.2f}s {cpu_ratio:>5.2f}x",
            flush=True,
        )
    print(
        f"\nmedians of {args.repeat} whole-process runs each, interleaved: wall time, then CPU "
        "time (user + system); ratio = snarkjs / zkedge"
    )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
