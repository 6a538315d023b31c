#!/usr/bin/env python3
"""Groth16 benchmark: zkedge local, rapidsnark (--rapidsnark PATH), `snarkjs groth16 prove`
on 1 core and on all cores (taskset), and zkedge across 2 local worker processes, on the same
zkey and witness.

    .venv/bin/python bench/groth16.py                 # sizes 2^12, 2^14, 2^16
    .venv/bin/python bench/groth16.py --sizes 12,14 --repeat 3 --fleet 0
    .venv/bin/python bench/groth16.py --sizes 14,15,16 --setup fast --fleet 0 \
        --rapidsnark /path/to/rapidsnark/prover --windows --command /path/to/venv/bin/zkedge

Circuits (tests/fixtures/circuits/chain.circom.in: half bit decompositions, whose witness
values are 0/1, half chained multiplications) of about 15/16 * 2^k constraints are generated on
demand and cached under build/groth16-bench/. With --setup auto, sizes whose powers of tau is
cached in build/fixtures/ptau/ are set up by snarkjs (on 2 busy cores the ptau took 3 min for
2^12, 16 min for 2^14, over an hour for 2^16); others by tests/fixtures/fast_setup.py (same zkey
format, known toxic waste: ~5 min at 2^16). Every run is a fresh process pinned with taskset to
the first 1 (or all) of this process's CPUs; the provers take turns within each round (zkedge,
rapidsnark, snarkjs), and the fastest whole-process wall time of the rounds is kept. Peak memory
is that process's max RSS. Each zkedge and rapidsnark proof is checked with snarkjs. --windows
also times `zkedge prove --windows` (window tables made once per size by `zkedge zkey windows`,
kept beside the zkey; the command checks its proof before writing it) in the same rounds.
zkedge's bytecode is compiled first, as an installed wheel has it: where PYTHONDONTWRITEBYTECODE
is set, every child would otherwise compile each module changed since the last compile.
--command times another `zkedge` executable in the 'prove s' column (e.g. the bin/zkedge of a
venv with the wheel installed: the development venv's editable install loads setuptools' import
hook, and pathlib with it, in every interpreter, which an installed package does not).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the fixtures package: build.py, fast_setup.py

from fixtures import build as fixtures  # noqa: E402

BENCH = ROOT / "build" / "groth16-bench"
PY = sys.executable
CLI = [PY, "-m", "zkedge"]  # the `zkedge` command timed in the 'prove s' column (--command)

# Runs in a fresh interpreter: read + prove, report times and peak RSS as JSON. The peak is
# VmHWM, this process image's own: ru_maxrss also counts the parent's peak at the fork and exec
# (this script's, hundreds of MB after a fast setup).
ZKEDGE_CHILD = r"""
import json, resource, sys, time
t0 = time.monotonic()
from zkedge.groth16.prover import load_inputs, prove_points
from zkedge.groth16.proofjson import dump_json
t_import = time.monotonic() - t0
zkey, wtns, proof, public, threads = sys.argv[1:6]
t1 = time.monotonic()
zk, wit = load_inputs(zkey, wtns)  # as `zkedge prove`: tables are loaded as the MSMs come
t_read = time.monotonic() - t1
t2 = time.monotonic()
res = prove_points(zk, wit, threads=int(threads) or None)
t_prove = time.monotonic() - t2
p, pub = res.to_json()
dump_json(p, proof); dump_json(pub, public)
try:
    with open("/proc/self/status") as f:
        peak = next(int(ln.split()[1]) for ln in f if ln.startswith("VmHWM:"))
except (OSError, StopIteration):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"import": t_import, "read": t_read, "prove": t_prove, "steps": res.times,
                  "maxrss_kb": peak}))
"""

# Runs in a fresh interpreter: a coordinator here and N worker processes (1 thread each); one cold
# proof (workers fetch and cache the bases), then R warm ones (only scalars travel), the fastest
# kept (best of R, as for the local runs).
FLEET_CHILD = r"""
import json, resource, subprocess, sys, tempfile, time
from pathlib import Path
import trio
from zkedge.fleet.coordinator import Coordinator
from zkedge.fleet.coordinator._groth16 import prove_groth16
from zkedge.groth16.prover import load_inputs
from zkedge.groth16.proofjson import dump_json
zkey, wtns, proof, public, nworkers, repeat = sys.argv[1:7]

async def main():
    out = {}
    procs = []
    with tempfile.TemporaryDirectory() as tmp:
        async with trio.open_nursery() as nursery:
            coord = await nursery.start(Coordinator(store=None).serve)
            for i in range(int(nworkers)):  # worker processes, one thread each
                procs.append(subprocess.Popen(
                    [sys.executable, "-m", "zkedge.cli._fleet", "worker", "--coordinator",
                     f"127.0.0.1:{coord.port}", "--id", f"w{i}", "--threads", "1",
                     "--no-benchmark", "--cache-dir", str(Path(tmp) / f"w{i}")],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            while len(coord.workers()) < int(nworkers):
                await trio.sleep(0.05)
            try:
                for label in ["cold"] + ["warm"] * max(1, int(repeat)):
                    t = time.monotonic()
                    zk, wit = load_inputs(zkey, wtns)
                    res = await prove_groth16(coord, zk, wit)
                    took = time.monotonic() - t
                    if label == "cold":  # one proof from empty caches, as for a new witness
                        sent, saved, _ = coord.scalar_traffic()
                        out["scalars_cold_mb"] = [sent / 2**20, saved / 2**20]
                    fleet = took - res.times.get("verify", 0.0)
                    out.setdefault(label + "_all", []).append(fleet)
                    prev = out.get(label, 0.0) - out.get(label + "_steps", {}).get("verify", 0.0)
                    if label in out and fleet >= prev:
                        continue
                    out[label] = took
                    out[label + "_steps"] = res.times
                    out[label + "_shares"] = res.shares
                sent, saved, resent = coord.scalar_traffic()
                out["scalars_mb"] = [sent / 2**20, saved / 2**20, resent]
            finally:
                for p in procs:
                    p.terminate()
                for p in procs:
                    p.wait()
            p, pub = res.to_json()
            dump_json(p, proof); dump_json(pub, public)
            nursery.cancel_scope.cancel()
    out["maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(out))

trio.run(main)
"""

# Wraps a command: wall time and the child's peak RSS (never below this wrapper's own, about
# 10 MB, which the child's accounting starts from).
WRAP_CHILD = r"""
import json, resource, subprocess, sys, time
t0 = time.monotonic()
p = subprocess.run(sys.argv[1:], capture_output=True, text=True)
t = time.monotonic() - t0
if p.returncode:
    sys.exit(p.stdout + p.stderr)
print(json.dumps({"wall": t, "maxrss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def circuit_for(k: int, setup: str) -> tuple[Path, int, int]:
    """(dir with circuit.zkey + witness.wtns, constraints, wires) for the 2^k bench circuit.

    setup "snarkjs": powers of tau + groth16 setup + contribution; "fast": tests/fixtures/
    fast_setup.py (known toxic waste, minutes instead of an hour at 2^16; same file format)."""
    import json as _json

    d = BENCH / (f"chain{k}" if setup == "snarkjs" else f"chain{k}-fast")
    target = (1 << k) * 15 // 16 - 8
    nbits = target // 2 // 35
    nmul = target - 35 * nbits
    if not (d / "circuit.zkey").is_file() or not (d / "witness.wtns").is_file():
        d.mkdir(parents=True, exist_ok=True)
        src = d / "chain.circom"
        tmpl = (ROOT / "tests" / "fixtures" / "circuits" / "chain.circom.in").read_text()
        src.write_text(tmpl.replace("NBITS", str(nbits)).replace("NMUL", str(nmul)))
        log(f"building 2^{k} circuit ({nbits} bit blocks, {nmul} multiplications, {setup} setup)")
        inputs: list[dict[str, object]] = [{"x": "5", "y": "7"}]
        if setup == "snarkjs":
            times = fixtures.build_circuit(
                src, d, prime="bn128", curve="bn128", power=k, inputs=inputs
            )
        else:
            from fixtures import fast_setup

            times = {}
            t = time.monotonic()
            r1cs, wasm = fixtures.compile_circuit(src, "bn128", fixtures.WORK / "circom" / d.name)
            times["compile"] = time.monotonic() - t
            (d / "circuit.r1cs").write_bytes(r1cs.read_bytes())
            t = time.monotonic()
            fast_setup.fast_setup(d / "circuit.r1cs", d / "circuit.zkey")
            times["fast setup"] = time.monotonic() - t
            fixtures.snarkjs("zkey", "export", "verificationkey", d / "circuit.zkey",
                             d / "verification_key.json")  # fmt: skip
            (d / "input.json").write_text(_json.dumps(inputs[0]))
            t = time.monotonic()
            fixtures.snarkjs("wtns", "calculate", wasm, d / "input.json", d / "witness.wtns")
            times["witness"] = time.monotonic() - t
        log("  " + ", ".join(f"{a} {b:.1f} s" for a, b in times.items()))
    from zkedge.groth16.r1cs import read_r1cs_header

    h = read_r1cs_header(d / "circuit.r1cs")
    return d, h.n_constraints, h.n_wires


def circuit_wasm(d: Path) -> Path:
    """The witness calculator (.wasm) of a bench circuit from :func:`circuit_for` (compiled
    again when the build cache lost it)."""
    out = fixtures.WORK / "circom" / d.name
    wasm = out / "chain_js" / "chain.wasm"
    if not wasm.is_file():
        fixtures.compile_circuit(d / "chain.circom", "bn128", out)
    return wasm


def pinned(cpus: list[int] | None, cmd: list[str]) -> list[str]:
    """cmd under `taskset -c CPUS` (None: unpinned)."""
    if cpus is None:
        return cmd
    return ["taskset", "-c", ",".join(map(str, cpus)), *cmd]


def run_zkedge(d: Path, threads: int, out: Path, cpus: list[int] | None = None) -> dict[str, Any]:
    t0 = time.monotonic()
    proc = subprocess.run(
        pinned(
            cpus,
            [
                PY,
                "-c",
                ZKEDGE_CHILD,
                str(d / "circuit.zkey"),
                str(d / "witness.wtns"),
                str(out / "proof.json"),
                str(out / "public.json"),
                str(threads),
            ],
        ),
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    wall = time.monotonic() - t0
    if proc.returncode:
        raise RuntimeError(proc.stdout + proc.stderr)
    res: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    res["wall"] = wall
    return res


def run_fleet(d: Path, workers: int, out: Path, repeat: int) -> dict[str, Any]:
    proc = subprocess.run(
        [
            PY,
            "-c",
            FLEET_CHILD,
            str(d / "circuit.zkey"),
            str(d / "witness.wtns"),
            str(out / "proof.json"),
            str(out / "public.json"),
            str(workers),
            str(repeat),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if proc.returncode:
        raise RuntimeError(proc.stdout + proc.stderr)
    res: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return res


def run_wrapped(cmd: list[str]) -> dict[str, float]:
    """Wall time and peak RSS of one whole process (WRAP_CHILD)."""
    proc = subprocess.run([PY, "-c", WRAP_CHILD, *cmd], capture_output=True, text=True, check=False)
    if proc.returncode:
        raise RuntimeError(proc.stdout + proc.stderr)
    res: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return res


def run_snarkjs(d: Path, out: Path, cpus: list[int] | None = None) -> dict[str, float]:
    return run_wrapped(
        pinned(
            cpus,
            [
                "node",
                str(fixtures.SNARKJS),
                "groth16",
                "prove",
                str(d / "circuit.zkey"),
                str(d / "witness.wtns"),
                str(out / "sj_proof.json"),
                str(out / "sj_public.json"),
            ],
        )
    )


def run_rapidsnark(
    prover: Path, d: Path, out: Path, cpus: list[int] | None = None
) -> dict[str, float]:
    """`prover <zkey> <wtns> <proof.json> <public.json>` (rapidsnark's command line)."""
    return run_wrapped(
        pinned(
            cpus,
            [
                str(prover),
                str(d / "circuit.zkey"),
                str(d / "witness.wtns"),
                str(out / "rs_proof.json"),
                str(out / "rs_public.json"),
            ],
        )
    )


def windows_for(d: Path) -> Path:
    """The circuit's window file (`zkedge zkey windows`), made once and kept beside the zkey."""
    path = d / "circuit.windows"
    if not path.is_file() or path.stat().st_mtime < (d / "circuit.zkey").stat().st_mtime:
        t0 = time.monotonic()
        cmd = [PY, "-m", "zkedge", "zkey", "windows", str(d / "circuit.zkey"), str(path)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT)
        if proc.returncode:
            raise RuntimeError(proc.stdout + proc.stderr)
        log(f"{proc.stdout.strip()} in {time.monotonic() - t0:.1f} s")
    return path


def run_cli(
    d: Path, out: Path, cpus: list[int] | None = None, *, windows: bool = False
) -> dict[str, float]:
    """`zkedge prove -q` as a whole process: the command a user runs (the zkedge column's child
    calls the API, which skips the command line's parsing and exit). With ``windows``, `zkedge
    prove --windows` (it verifies the proof before writing); its files are prefixed win_."""
    extra = ["--windows", str(windows_for(d))] if windows else []
    prefix = "win_" if windows else "cli_"
    return run_wrapped(
        pinned(
            cpus,
            [
                *CLI,
                "prove",
                "-q",
                *extra,
                str(d / "circuit.zkey"),
                str(d / "witness.wtns"),
                str(out / f"{prefix}proof.json"),
                str(out / f"{prefix}public.json"),
            ],
        )
    )


def snarkjs_verifies_files(vkey: Path, public: Path, proof: Path) -> bool:
    """Whether `snarkjs groth16 verify` accepts the proof."""
    proc = subprocess.run(
        ["node", str(fixtures.SNARKJS), "groth16", "verify", str(vkey), str(public), str(proof)],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.returncode == 0


def snarkjs_verifies(d: Path, out: Path, prefix: str = "") -> bool:
    proc = subprocess.run(
        [
            "node",
            str(fixtures.SNARKJS),
            "groth16",
            "verify",
            str(d / "verification_key.json"),
            str(out / f"{prefix}public.json"),
            str(out / f"{prefix}proof.json"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.returncode == 0


def have_snarkjs() -> bool:
    """Whether node and the fixtures' snarkjs are installed (`make node`)."""
    import shutil

    return shutil.which("node") is not None and Path(fixtures.SNARKJS).is_file()


def zero_one_msm(d: Path) -> tuple[float, float, float]:
    """(fraction of 0/1 witness values, MSM-A seconds with the witness, with random scalars):
    what skipping zero digits and single-digit ones saves."""
    import secrets

    from zkedge.groth16 import read_wtns, read_zkey
    from zkedge.msm import msm

    zk = read_zkey(d / "circuit.zkey")
    wit = read_wtns(d / "witness.wtns")
    table = zk.table("A")
    rnd = b"".join(secrets.randbelow(zk.curve.r).to_bytes(32, "little") for _ in range(wit.n))
    best = [1e9, 1e9]
    for _ in range(3):
        for i, sc in enumerate((wit.data, rnd)):
            t = time.perf_counter()
            msm(table, sc)
            best[i] = min(best[i], time.perf_counter() - t)
    vals = wit.values()
    return sum(1 for v in vals if v in (0, 1)) / len(vals), best[0], best[1]


def best_of(runs: list[dict[str, Any]], key: str = "wall") -> dict[str, Any]:
    """The run with the smallest `key`, with every run's `key` under "all"."""
    best = dict(min(runs, key=lambda r: float(r[key])))
    best["all"] = [round(float(r[key]), 3) for r in runs]
    return best


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="12,14,16", help="comma-separated log2 sizes")
    ap.add_argument("--repeat", type=int, default=2, help="rounds per configuration (best kept)")
    ap.add_argument("--no-snarkjs", action="store_true", help="skip snarkjs timings")
    ap.add_argument("--fleet", type=int, default=2, help="local workers (0: no fleet run)")
    ap.add_argument(
        "--cores",
        default=None,
        help="comma-separated core counts, each run pinned with taskset to that many of this "
        "process's CPUs (default: 1 and all)",
    )
    ap.add_argument(
        "--rapidsnark",
        type=Path,
        default=None,
        metavar="PATH",
        help="rapidsnark's prover binary: timed in the same rounds as zkedge",
    )
    ap.add_argument(
        "--command",
        type=Path,
        default=None,
        metavar="PATH",
        help="the `zkedge` executable to time as the command (default: python -m zkedge)",
    )
    ap.add_argument(
        "--windows",
        action="store_true",
        help="also time `zkedge prove --windows` (window tables made once per size)",
    )
    ap.add_argument(
        "--setup",
        choices=["auto", "snarkjs", "fast"],
        default="auto",
        help="zkey from snarkjs (needs a ptau: slow above 2^14) or tests/fixtures/fast_setup.py "
        "(insecure, same format); auto: snarkjs when its ptau is cached, else fast",
    )
    return ap.parse_args()


def log_fleet(k: int, n: int, fl: dict[str, Any]) -> None:
    warm = fl["warm_steps"]
    log(
        f"2^{k} fleet x{n}: cold {fl['cold']:.2f} s, best warm {fl['warm']:.2f} s (without the "
        f"check: all warm {sorted(round(x, 2) for x in fl['warm_all'])}) "
        f"({', '.join(f'{a} {b:.2f}' for a, b in warm.items())}), "
        f"shares {fl['warm_shares']}; task scalars of the cold proof: "
        f"{fl['scalars_cold_mb'][0]:.1f} MB sent, "
        f"{fl['scalars_cold_mb'][1]:.1f} MB left out (held by the worker); all proofs "
        f"(one witness, so warm ones find C and H held too): "
        f"{fl['scalars_mb'][0]:.1f} MB sent, {fl['scalars_mb'][1]:.1f} MB left out, "
        f"{fl['scalars_mb'][2]} resent"
    )


def log_row(row: dict[str, Any]) -> None:
    k, c, zk = row["k"], row["cores"], row["zk"]
    log(
        f"2^{k} {c} cores: zkedge process {zk['wall']:.2f} s (all {zk['all']}): import "
        f"{zk['import']:.2f}, read {zk['read']:.2f}, prove {zk['prove']:.2f} s, "
        f"{zk['maxrss_kb'] / 1024:.0f} MB; "
        + ", ".join(f"{a} {b:.2f}" for a, b in zk["steps"].items())
    )
    for who, name in (
        ("cli", "zkedge prove"),
        ("win", "zkedge prove --windows"),
        ("rs", "rapidsnark"),
        ("sj", "snarkjs"),
    ):
        if who in row:
            r = row[who]
            log(
                f"2^{k} {c} cores: {name} {r['wall']:.2f} s (all {r['all']}), "
                f"{r['maxrss_kb'] / 1024:.0f} MB"
            )


def measure(args: argparse.Namespace, k: int, cores: list[int]) -> list[dict[str, Any]]:
    """One row per core count for the 2^k circuit: the provers take turns in each round."""
    setup = args.setup
    if setup == "auto":
        ptau = fixtures.WORK / "ptau" / f"bn128_{k}.ptau"
        cached = ptau.is_file() or (BENCH / f"chain{k}" / "circuit.zkey").is_file()
        setup = "snarkjs" if cached else "fast"
    d, ncons, nwires = circuit_for(k, setup)
    out = BENCH / f"out{k}"
    out.mkdir(parents=True, exist_ok=True)
    cpus_all = sorted(os.sched_getaffinity(0))
    runs: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for rnd in range(args.repeat):
        for c in cores:
            cpus = cpus_all[:c]
            runs.setdefault(("zk", c), []).append(run_zkedge(d, 0, out, cpus))
            if rnd == 0 and not snarkjs_verifies(d, out):
                raise SystemExit(f"snarkjs rejects zkedge's 2^{k} proof ({c} cores)")
            runs.setdefault(("cli", c), []).append(run_cli(d, out, cpus))
            if rnd == 0 and not snarkjs_verifies(d, out, "cli_"):
                raise SystemExit(f"snarkjs rejects `zkedge prove`'s 2^{k} proof ({c} cores)")
            if args.windows:
                runs.setdefault(("win", c), []).append(run_cli(d, out, cpus, windows=True))
                if rnd == 0 and not snarkjs_verifies(d, out, "win_"):
                    raise SystemExit(
                        f"snarkjs rejects zkedge's 2^{k} proof with windows ({c} cores)"
                    )
            if args.rapidsnark is not None:
                runs.setdefault(("rs", c), []).append(run_rapidsnark(args.rapidsnark, d, out, cpus))
                if rnd == 0 and not snarkjs_verifies(d, out, "rs_"):
                    raise SystemExit(f"snarkjs rejects rapidsnark's 2^{k} proof ({c} cores)")
            if not args.no_snarkjs:
                runs.setdefault(("sj", c), []).append(run_snarkjs(d, out, cpus))
    fleet = None
    if args.fleet:
        fleet = run_fleet(d, args.fleet, out, args.repeat)
        if not snarkjs_verifies(d, out):
            raise SystemExit(f"snarkjs rejects zkedge's 2^{k} fleet proof")
        log_fleet(k, args.fleet, fleet)
    rows = []
    for c in cores:
        row: dict[str, Any] = {
            "setup": setup, "dir": str(d), "k": k, "constraints": ncons, "wires": nwires,
            "cores": c, "fleet": fleet if c == len(cpus_all) else None,
        }  # fmt: skip
        for who in ("zk", "cli", "win", "rs", "sj"):
            if (who, c) in runs:
                row[who] = best_of(runs[who, c])
        log_row(row)
        rows.append(row)
    return rows


COLS = [
    ("size", 5), ("constr", 7), ("cores", 5), ("zkedge s", 8), ("r+p s", 6), ("MB", 5),
    ("prove s", 7), ("windows s", 9), ("MB", 5), ("rapidsn s", 9), ("MB", 5), ("snarkjs s", 9),
    ("MB", 5), ("zk/rs", 5), ("cli/rs", 6), ("win/rs", 6), ("zk/sj", 5), ("fleet s", 7),
    ("check s", 7), ("fl/zk", 5),
]  # fmt: skip


def row_cells(row: dict[str, Any]) -> list[str]:
    """The table cells of one row ("-" where a prover was not run)."""
    z, cli, win = row["zk"], row.get("cli"), row.get("win")
    rs, sj, fl = row.get("rs"), row.get("sj"), row.get("fleet")
    zt = float(z["wall"])
    cells = [
        f"2^{row['k']}" + ("*" if row["setup"] == "fast" else ""),
        str(row["constraints"]), str(row["cores"]),
        f"{zt:.2f}", f"{z['read'] + z['prove']:.2f}", f"{z['maxrss_kb'] / 1024:.0f}",
        f"{cli['wall']:.2f}" if cli else "-",
    ]  # fmt: skip
    for r in (win, rs, sj):
        cells += [f"{r['wall']:.2f}", f"{r['maxrss_kb'] / 1024:.0f}"] if r else ["-", "-"]
    cells.append(f"{zt / rs['wall']:.2f}" if rs else "-")
    cells.append(f"{cli['wall'] / rs['wall']:.2f}" if rs and cli else "-")
    cells.append(f"{win['wall'] / rs['wall']:.2f}" if rs and win else "-")
    cells.append(f"{zt / sj['wall']:.2f}" if sj else "-")
    if fl:
        fleet_s = fl["warm"] - fl["warm_steps"]["verify"]  # read + H + MSMs + blinding
        cells += [f"{fleet_s:.2f}", f"{fl['warm_steps']['verify']:.2f}", f"{fleet_s / zt:.2f}"]
    else:
        cells += ["-", "-", "-"]
    return cells


def print_table(rows: list[dict[str, Any]], ncpu: int, repeat: int) -> None:
    print(
        f"\nGroth16 prove, BN254, {ncpu} cores ({os.uname().machine}); best of {repeat} rounds, "
        "each prover's run pinned with taskset to the given cores and the provers taking turns "
        "within a round. Times are whole-process wall seconds (zkedge: interpreter start, "
        "imports, reading and proving; its read+prove alone in 'r+p s'); MB = peak RSS (of "
        "rapidsnark and snarkjs: at least the timing wrapper's, about 10 MB)."
    )
    print(
        "zk/rs, zk/sj: zkedge's process time divided by rapidsnark's, snarkjs's (below 1: zkedge "
        "faster); 'prove s' and cli/rs: the `zkedge prove` command; 'windows s' and win/rs: "
        "`zkedge prove --windows` (with its check of the proof). fleet (all-cores rows): "
        "coordinator + worker processes (1 thread each) "
        f"on this machine, warm base cache, best of {repeat} warm proofs; 'fleet s' includes H, "
        "MSMs and blinding, not the py_ecc check of the proof (given apart). * = zkey from "
        "tests/fixtures/fast_setup.py (same format, insecure) instead of snarkjs."
    )
    hdr = " ".join(f"{name:>{w}}" for name, w in COLS)
    print(hdr)
    print("-" * len(hdr))
    for row in rows:
        print(" ".join(f"{c:>{w}}" for c, (_, w) in zip(row_cells(row), COLS, strict=True)))


def main() -> int:
    args = parse_args()
    if not fixtures.node_available():
        log("node toolchain missing: run `make node`")
        return 2
    if args.rapidsnark is not None and not os.access(args.rapidsnark, os.X_OK):
        log(f"{args.rapidsnark} is not an executable")
        return 2
    if args.command is not None:
        if not os.access(args.command, os.X_OK):
            log(f"{args.command} is not an executable")
            return 2
        CLI[:] = [str(args.command)]
    import compileall

    compileall.compile_dir(str(ROOT / "zkedge"), quiet=1)
    ncpu = len(os.sched_getaffinity(0))
    wanted = {int(c) for c in args.cores.split(",")} if args.cores else {1, ncpu}
    cores = sorted({min(max(c, 1), ncpu) for c in wanted})
    rows = []
    for k in (int(s) for s in args.sizes.split(",")):
        rows += measure(args, k, cores)
    print_table(rows, ncpu, args.repeat)
    print("\nwitness 0/1 values are cheap (MSM over section 5 'A', all threads, best of 3):")
    for row in rows:
        if row["cores"] == cores[-1]:
            frac, tw, tr = zero_one_msm(Path(row["dir"]))
            print(
                f"  2^{row['k']}: witness ({frac:.0%} 0/1) {tw:.3f} s vs random scalars "
                f"{tr:.3f} s ({tr / tw:.1f}x)"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
