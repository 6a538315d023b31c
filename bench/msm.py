"""MSM benchmark: zkedge against py_ecc, py-arkworks-bls12381 and ffjavascript, one table.

Everything in the table is measured in the same run, on the same points and scalars:

* zkedge ``msm()`` at 1 thread and at all threads, over a sub-range of one loaded base table;
* py_ecc: the naive sum (multiply + add) timed on a few points, per-point cost x n (marked *);
* py-arkworks-bls12381: ``G1Point.multiexp_unchecked`` (BLS12-381 G1), its Python entry point
  timed on ready lists of ``G1Point`` / ``Scalar`` objects (their list conversion included);
* ffjavascript 0.3.1: BN254 G1 ``multiExpAffine`` single-threaded (``bench/ffjs_msm.js``), fed the
  same bases ('mont' layout) and scalars through files; timed inside node.

The references' runs are interleaved with extra zkedge 1-thread runs (one before each), so on a
machine whose speed drifts both sides of a ratio see the same stretch of time.

Ratios are reference time / zkedge one-thread time. Points are generated fast (G1: A_i + B_j
with a batch inversion in gmpy2; G2: a chain of native additions) and cached in build/bench/.

    .venv/bin/python bench/msm.py                 # n = 2^10 .. 2^18 (a few minutes)
    .venv/bin/python bench/msm.py --quick         # n = 2^10 .. 2^12, for `make demo`
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gmpy2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import zkedge  # noqa: E402
from zkedge import _lib, ec, msm  # noqa: E402
from zkedge.curves import BLS12_381, BN254, Curve  # noqa: E402

CACHE = ROOT / "build" / "bench"
BENCH = Path(__file__).resolve().parent
FFJS_SCRIPT = BENCH / "ffjs_msm.js"
FFJS_MODULE = BENCH / "node_modules" / "ffjavascript"
G2_MAX_LOG = 14


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --- inputs ---


def _g1_points(c: Curve, n: int, seed: str) -> bytes:
    """n distinct G1 points A_i + B_j ('be'), affine additions with one batch inversion."""
    k = math.isqrt(max(n - 1, 0)) + 1
    rng = random.Random(seed)
    G = c.g1

    def rnd_point() -> tuple[int, int]:
        return ec.mul(c, "G1", G, rng.randrange(1, c.r))  # type: ignore[return-value]

    A = [rnd_point() for _ in range(k)]
    B = [rnd_point() for _ in range(k)]
    p = gmpy2.mpz(c.p)
    pairs = [(A[i // k], B[i % k]) for i in range(n)]
    dx = [gmpy2.mpz(b[0] - a[0]) % p for a, b in pairs]
    # Montgomery's trick: prefix products, one inversion, walk back
    pre = [gmpy2.mpz(1)] * (n + 1)
    for i, d in enumerate(dx):
        pre[i + 1] = pre[i] * d % p
    inv = gmpy2.invert(pre[n], p) if n else gmpy2.mpz(1)
    out = bytearray()
    inv_dx: list[Any] = [0] * n
    for i in range(n - 1, -1, -1):
        inv_dx[i] = inv * pre[i] % p
        inv = inv * dx[i] % p
    fb = c.fp_bytes
    for (a, b), idx in zip(pairs, inv_dx, strict=True):
        lam = (b[1] - a[1]) * idx % p
        x3 = (lam * lam - a[0] - b[0]) % p
        y3 = (lam * (a[0] - x3) - a[1]) % p
        out += int(x3).to_bytes(fb, "big") + int(y3).to_bytes(fb, "big")
    for i in rng.sample(range(n), min(n, 3)):  # spot-check against the native add
        a, b = pairs[i]
        pb = 2 * fb
        assert ec.add(c, "G1", a, b) == ec.decode(c, "G1", bytes(out[i * pb : (i + 1) * pb]))
    return bytes(out)


def _g2_points(c: Curve, n: int, seed: str) -> bytes:
    """n G2 points P_i = P_{i-1} + Q ('be'), one native addition each."""
    rng = random.Random(seed)
    cur = ec.encode(c, "G2", ec.mul(c, "G2", c.g2, rng.randrange(1, c.r)))
    step = ec.encode(c, "G2", ec.mul(c, "G2", c.g2, rng.randrange(1, c.r)))
    out = []
    for _ in range(n):
        out.append(cur)
        cur = _lib.point_op(c, "G2", "add", cur, step)
    return b"".join(out)


def bases(c: Curve, group: str, n: int) -> bytes:
    """n 'be' points of the group, cached under build/bench/ (prefixes of the largest set)."""
    pb = c.point_bytes(group)  # type: ignore[arg-type]
    CACHE.mkdir(parents=True, exist_ok=True)
    for f in sorted(CACHE.glob(f"points-{c.name}-{group}-*.be")):
        if f.stat().st_size >= n * pb:
            return f.read_bytes()[: n * pb]
    log(f"generating {n} {c.name} {group} points (cached in {CACHE}) ...")
    t = time.perf_counter()
    gen = _g1_points if group == "G1" else _g2_points
    data = gen(c, n, seed=f"bases-{c.name}-{group}")
    for old in CACHE.glob(f"points-{c.name}-{group}-*.be"):  # smaller sets are prefixes now
        old.unlink()
    (CACHE / f"points-{c.name}-{group}-{n}.be").write_bytes(data)
    log(f"  {time.perf_counter() - t:.1f} s")
    return data


def scalars(c: Curve, n: int) -> list[int]:
    rng = random.Random(f"scalars-{c.name}")
    return [rng.randrange(c.r) for _ in range(n)]


def le(ks: list[int]) -> bytes:
    return b"".join(k.to_bytes(32, "little") for k in ks)


def best_of(fn: Callable[[], Any], repeats: int) -> tuple[float, float, Any]:
    """Best wall and best process-CPU time in ms over repeats, and the last result.

    CPU time is what single-threaded runs are compared by: on a shared machine it does not
    count the time other processes hold the cores.
    """
    wall, cpu, res = math.inf, math.inf, None
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        res = fn()
        cpu = min(cpu, time.process_time() - c)
        wall = min(wall, time.perf_counter() - t)
    return wall * 1e3, cpu * 1e3, res


def crit_path(fn: Callable[[], Any], nthreads: int, repeats: int) -> float:
    """CPU critical path (ms) of a multi-threaded native call, robust to other load.

    The calling thread is the native pool's thread 0, so its CPU time is thread_time() and the
    workers' is the rest of process_time(); with the workers' share split evenly, the longest
    thread's CPU time bounds the elapsed time on an otherwise idle machine from below.
    """
    best = math.inf
    for _ in range(repeats):
        t0, p0 = time.thread_time(), time.process_time()
        fn()
        main_cpu = time.thread_time() - t0
        others = time.process_time() - p0 - main_cpu
        best = min(best, max(main_cpu, others / max(nthreads - 1, 1)))
    return best * 1e3


# --repeats: one count for every timed implementation (zkedge, arkworks, ffjavascript), e.g.
# 7 at n = 2^16 to see past a noisy machine; None keeps the defaults below.
REPEATS: int | None = None


def repeats_for(n: int, quick: bool) -> int:
    if REPEATS is not None:
        return REPEATS
    if quick:
        return 2
    return 5 if n <= 1 << 12 else 3 if n <= 1 << 15 else 2


# --- references ---


def pyecc_per_point_ms(c: Curve, group: str, be: bytes, ks: list[int], m: int) -> tuple[float, Any]:
    """py_ecc naive sum over the first m points: ms per point, and the affine result."""
    pe: Any
    if c.name == "bn254":
        from py_ecc import optimized_bn128 as pe
    else:
        from py_ecc import optimized_bls12_381 as pe
    pb = c.point_bytes(group)  # type: ignore[arg-type]
    pts = [ec.to_py_ecc(c, group, ec.decode(c, group, be[i * pb : (i + 1) * pb])) for i in range(m)]
    zero = pe.Z1 if group == "G1" else pe.Z2
    t = time.process_time()
    acc = zero
    for p, k in zip(pts, ks[:m], strict=True):
        acc = pe.add(acc, pe.multiply(p, k))
    ms = (time.process_time() - t) * 1e3 / m
    return ms, ec.from_py_ecc(c, group, acc)


def arkworks_times(
    be: bytes, ks: list[int], sizes: list[int], quick: bool, zk_once: Callable[[int], None]
) -> dict[int, tuple[float, bytes]]:
    """BLS12-381 G1 multiexp_unchecked per size: (CPU ms, 'be' result); it runs on one thread.

    Each timed run follows one zkedge 1-thread run at the same size (``zk_once``), so both
    sides are sampled over the same stretch of a noisy machine."""
    import py_arkworks_bls12381 as ark

    pb = 96
    nmax = max(sizes)
    pts = [ark.G1Point.from_xy_bytes_unchecked_be(be[i * pb : (i + 1) * pb]) for i in range(nmax)]
    scs = [ark.Scalar(k) for k in ks[:nmax]]
    out = {}
    for n in sizes:
        p, s = pts[:n], scs[:n]
        cpu, res = math.inf, None
        for _ in range(repeats_for(n, quick)):
            zk_once(n)
            _, c, res = best_of(functools.partial(ark.G1Point.multiexp_unchecked, p, s), 1)
            cpu = min(cpu, c)
        assert res is not None
        out[n] = (cpu, bytes(res.to_xy_bytes_be()))
    return out


def ensure_ffjs() -> str | None:
    """Why ffjavascript can't run (None if it can); installs bench/node_modules if npm exists."""
    node = shutil.which("node")
    if not node:
        return "node not found"
    if not FFJS_MODULE.is_dir():
        npm = shutil.which("npm")
        if not npm:
            return "ffjavascript not installed (cd bench && npm ci)"
        log("installing ffjavascript into bench/node_modules (npm ci) ...")
        cmd = [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"]
        rc = subprocess.run(cmd, cwd=BENCH, check=False).returncode
        if rc != 0 or not FFJS_MODULE.is_dir():
            return "npm ci failed in bench/"
    return None


def ffjs_times(
    be: bytes, ks: list[int], sizes: list[int], quick: bool, zk_once: Callable[[int], None]
) -> dict[int, tuple[float, bytes]]:
    """ffjavascript BN254 G1 multiExpAffine single-threaded per size: (CPU ms, 'be' result).

    In rounds: one zkedge 1-thread run per size (``zk_once``), then one node process timing
    one run per size (after its own warm-up), so both sides are sampled over the same stretch
    of a noisy machine; the best of the rounds is kept."""
    nmax = max(sizes)
    mont = ec.convert(BN254, "G1", be[: 64 * nmax], "be", "mont")
    bf, sf = CACHE / f"ffjs-bases-{nmax}.bin", CACHE / f"ffjs-scalars-{nmax}.bin"
    bf.write_bytes(mont)
    sf.write_bytes(le(ks[:nmax]))
    reps = REPEATS if REPEATS is not None else 2 if quick else 3 if nmax <= 1 << 15 else 2
    cmd = ["node", str(FFJS_SCRIPT), str(bf), str(sf), ",".join(map(str, sizes)), "1"]
    out: dict[int, tuple[float, bytes]] = {}
    for _ in range(reps):
        for n in sizes:
            zk_once(n)
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=1800)
        for line in proc.stdout.splitlines():
            d = json.loads(line)
            n, cpu = int(d["n"]), float(d["cpu_ms"])
            if n not in out or cpu < out[n][0]:
                out[n] = (cpu, bytes.fromhex(d["result"]))
    return out


# --- the run ---


@dataclass
class Row:
    curve: Curve
    group: str
    n: int
    zk1: float = math.nan  # CPU ms, 1 thread
    zk1_wall: float = math.nan
    zkn: float = math.nan  # wall ms, all threads
    zkn_crit: float = math.nan  # CPU critical path of the all-threads run (see crit_path)
    pyecc: float = math.nan
    ark: float = math.nan
    ffjs: float = math.nan
    checks: list[str] = field(default_factory=list)


def run(args: argparse.Namespace) -> list[Row]:
    nthreads = zkedge.native_info()["threads"]
    logs = list(range(args.min_log, args.max_log + 1))
    rows: list[Row] = []
    plan = [(BN254, "G1"), (BLS12_381, "G1"), (BN254, "G2")]
    for c, g in plan:
        sizes = [1 << k for k in logs if g == "G1" or k <= G2_MAX_LOG]
        if not sizes:
            continue
        nmax = max(sizes)
        be = bases(c, g, nmax)
        ks = scalars(c, nmax)
        sb = le(ks)
        table = msm.BaseTable.from_bytes(c, g, be, "be", check="curve")
        log(f"{c.name} {g}: zkedge ...")
        got: dict[int, Any] = {}
        for n in sizes:
            row = Row(c, g, n)
            reps = repeats_for(n, args.quick)
            s = sb[: 32 * n]
            one = functools.partial(msm.msm, table, s, 0, n, threads=1)
            alln = functools.partial(msm.msm, table, s, 0, n, threads=nthreads)
            row.zk1_wall, row.zk1, got[n] = best_of(one, reps)
            row.zkn, _, resn = best_of(alln, reps)
            row.zkn_crit = crit_path(alln, nthreads, reps)
            if resn != got[n]:
                row.checks.append("1t != all-threads")
            rows.append(row)
        by_n = {r.n: r for r in rows if r.curve is c and r.group == g}

        def zk_once(
            n: int,
            by_n: dict[int, Row] = by_n,
            table: Any = table,
            sb: bytes = sb,
            got: dict[int, Any] = got,
        ) -> None:
            """One more zkedge 1-thread run, interleaved with a reference's runs."""
            wall, cpu, res = best_of(
                functools.partial(msm.msm, table, sb[: 32 * n], 0, n, threads=1), 1
            )
            row = by_n[n]
            row.zk1, row.zk1_wall = min(row.zk1, cpu), min(row.zk1_wall, wall)
            if res != got[n]:
                row.checks.append("1t run differs")

        if not args.no_pyecc:
            m = 4 if g == "G1" else 2
            log(f"{c.name} {g}: py_ecc ({m} points) ...")
            per, res = pyecc_per_point_ms(c, g, be, ks, m)
            if msm.msm(table, sb[: 32 * m], 0, m, threads=1) != res:
                by_n[sizes[0]].checks.append("py_ecc sample differs")
            for n in sizes:
                by_n[n].pyecc = per * n
        if c is BLS12_381 and g == "G1" and not args.no_arkworks:
            log("bls12_381 G1: py-arkworks-bls12381 ...")
            for n, (ms, res) in arkworks_times(be, ks, sizes, args.quick, zk_once).items():
                by_n[n].ark = ms
                if res != ec.encode(c, g, got[n]):
                    by_n[n].checks.append("arkworks differs")
        if c is BN254 and g == "G1" and not args.no_node:
            why = ensure_ffjs()
            if why:
                log(f"ffjavascript skipped: {why}")
            else:
                log("bn254 G1: ffjavascript (single thread) ...")
                for n, (ms, res) in ffjs_times(be, ks, sizes, args.quick, zk_once).items():
                    by_n[n].ffjs = ms
                    if res != ec.encode(c, g, got[n]):
                        by_n[n].checks.append("ffjavascript differs")
    return rows


def fmt_ms(v: float) -> str:
    if math.isnan(v):
        return "-"
    return f"{v:.1f}" if v < 1000 else f"{v:.0f}"


def fmt_x(ref: float, zk: float) -> str:
    return "" if math.isnan(ref) else f"{ref / zk:.1f}x"


def print_table(rows: list[Row], nthreads: int) -> None:
    head = (
        f"{'curve':<10}{'grp':<4}{'n':>6} {'zk 1t cpu':>10} {'1t wall':>9} "
        f"{f'{nthreads}t wall':>9} "
        f"{'spd':>6} {'spd est':>7} {'py_ecc* cpu':>12} {'':>7} {'arkworks cpu':>12} {'':>6} "
        f"{'ffjs-1t cpu':>11} {'':>6}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r.curve.name:<10}{r.group:<4}{'2^' + str(r.n.bit_length() - 1):>6} "
            f"{fmt_ms(r.zk1):>10} {fmt_ms(r.zk1_wall):>9} {fmt_ms(r.zkn):>9} "
            f"{r.zk1_wall / r.zkn:>5.2f}x {r.zk1 / r.zkn_crit:>6.2f}x "
            f"{fmt_ms(r.pyecc):>12} {fmt_x(r.pyecc, r.zk1):>7} "
            f"{fmt_ms(r.ark):>12} {fmt_x(r.ark, r.zk1):>6} "
            f"{fmt_ms(r.ffjs):>11} {fmt_x(r.ffjs, r.zk1):>6}"
            + (f"  !! {', '.join(r.checks)}" if r.checks else "")
        )
    print(
        f"times in ms, best of {REPEATS if REPEATS is not None else '2-5'} runs. cpu = process "
        "CPU time (single-threaded runs; immune to\n"
        "other load), wall = elapsed. x = reference cpu / zkedge 1-thread cpu; spd = 1t wall / "
        f"{nthreads}t wall.\n"
        f"spd est = 1t cpu / CPU critical path of the {nthreads}-thread run (busiest thread): the "
        "speed-up an idle machine would show; an estimate, not a measurement.\n"
        "py_ecc*: naive sum (multiply + add) timed on 4 points (G2: 2), per-point cost x n: "
        "EXTRAPOLATED, not run at n.\n"
        "arkworks: py-arkworks-bls12381 G1Point.multiexp_unchecked on lists of G1Point/Scalar "
        "(single-threaded here).\n"
        "ffjs-1t: ffjavascript 0.3.1 G1.multiExpAffine, singleThread build, timed inside node.\n"
        "zkedge: msm(table, scalar bytes, start=0, count=n) over one loaded base table; where a\n"
        "reference runs, every reference run follows one more zkedge 1-thread run (interleaved:\n"
        "both best-of times come from the same stretch of time), and 'zk 1t' is the best of all."
    )


def print_memory(rows: list[Row]) -> None:
    seen = set()
    for r in rows:
        key = (r.curve.name, r.group)
        if key in seen:
            continue
        seen.add(key)
        n = max(x.n for x in rows if (x.curve.name, x.group) == key)
        c, g = r.curve, r.group
        pb = c.point_bytes(g)  # type: ignore[arg-type]
        t = msm.BaseTable.from_bytes(c, g, bases(c, g, 4), check="none")
        per_pt = t.nbytes / t.n
        w = msm.window_size(c, n)
        # batch-affine buckets (n >= 1024): affine point + XYZZ fallback + a state byte each;
        # the scalars' signed digits are recoded on the fly, 256 at a time (no n-sized scratch)
        per_bucket = pb + 2 * pb + 1 if n >= 1024 else 2 * pb
        if n >= 1024 and w >= 12:
            # the batch-affine reduction's scratch (msm_template.inc ba_reduce): a converted
            # point, a segment slot, two pointers, two field elements and an index per bucket
            fe = c.fp_bytes * (1 if g == "G1" else 2)
            per_bucket += pb + pb + 2 * 8 + 2 * fe + 4
        bucket = (1 << (w - 1)) * per_bucket
        print(
            f"memory {c.name} {g}: table {per_pt:.0f} B/point = raw affine x||y {pb} B/point; "
            f"at n=2^{n.bit_length() - 1}: window c={w}, buckets 2^(c-1) x {per_bucket} B = "
            f"{bucket / 1024:.0f} KiB per thread (O(2^c)); no scratch proportional to n"
        )


def print_targets(rows: list[Row]) -> None:
    def at(c: Curve, g: str, n: int) -> Row | None:
        return next((r for r in rows if r.curve is c and r.group == g and r.n == n), None)

    n16 = 1 << 16
    a, b = at(BN254, "G1", n16), at(BLS12_381, "G1", n16)
    if a is None or b is None:
        print("targets: need n = 2^16 (run without --quick / with --max-log >= 16)")
        return

    def verdict(ok: bool) -> str:
        return "MET" if ok else "MISSED"

    if not math.isnan(a.ffjs):
        x = a.ffjs / a.zk1
        print(f"target BN254 G1 2^16 1t >= 10x ffjavascript-1t: {x:.1f}x  {verdict(x >= 10)}")
    if not math.isnan(b.ark):
        x = b.ark / b.zk1
        print(f"target BLS12-381 G1 2^16 1t >= 3x arkworks: {x:.1f}x  {verdict(x >= 3)}")
    for r in (a, b):
        x, est = r.zk1_wall / r.zkn, r.zk1 / r.zkn_crit
        print(
            f"target {r.curve.name} G1 2^16 all threads >= 1.8x 1t: measured {x:.2f}x "
            f"{verdict(x >= 1.8)} (load-free estimate {est:.2f}x)"
        )


def window_grid(args: argparse.Namespace) -> int:
    """One-thread BN254 G1 and G2 MSMs of random scalars at every window size 9..15 and the
    one the native core picks (``zk_msm_window``), best CPU time of the repeats per cell:
    what the window cost model is fitted to. Each size's windows run in turn, c = 9..15, then
    again, so drift weighs on all alike."""
    c = BN254
    print(f"window grid, {c.name}, one thread, best CPU ms of {REPEATS or 3}; load "
          f"{os.getloadavg()[0]:.2f}")  # fmt: skip
    print(f"{'group':<6}{'n':>8}{'picked':>8}{'best':>6}{'picked/best':>13}  ms at c = 9..15")
    for group in ("G1", "G2"):
        for k in range(max(args.min_log, 10), args.max_log + 1):
            n = 1 << k
            t = msm.BaseTable.from_bytes(c, group, bases(c, group, n), check="none")
            ks = le(scalars(c, n))
            picked = msm.window_size(c, n, threads=1)
            cpu = dict.fromkeys(range(9, 16), math.inf)
            for _ in range(REPEATS or 3):
                for w in cpu:
                    run = functools.partial(msm.msm, t, ks, threads=1, window=w)
                    cpu[w] = min(cpu[w], best_of(run, 1)[1])
            best = min(cpu, key=lambda w: cpu[w])
            cells = " ".join(f"{cpu[w]:7.1f}" for w in cpu)
            print(f"{group:<6}{n:>8}{picked:>8}{best:>6}{cpu[picked] / cpu[best]:>13.3f}  {cells}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="zkedge MSM benchmark (one table, same run)")
    ap.add_argument("--min-log", type=int, default=10)
    ap.add_argument("--max-log", type=int, default=18)
    ap.add_argument("--quick", action="store_true", help="n = 2^10 .. 2^12, fewer repeats")
    ap.add_argument("--no-node", action="store_true", help="skip ffjavascript")
    ap.add_argument("--no-arkworks", action="store_true", help="skip py-arkworks-bls12381")
    ap.add_argument("--no-pyecc", action="store_true", help="skip py_ecc")
    ap.add_argument(
        "--repeats", type=int, default=None, help="timed runs per size for every implementation"
    )
    ap.add_argument(
        "--windows",
        action="store_true",
        help="instead: one-thread times at every window size (what the window model is fitted to)",
    )
    args = ap.parse_args(argv)
    global REPEATS
    if args.repeats is not None:
        if args.repeats < 1:
            ap.error("--repeats must be at least 1")
        REPEATS = args.repeats
    if args.quick:
        args.max_log = min(args.max_log, 12)
    if not 1 <= args.min_log <= args.max_log <= 22:
        ap.error("need 1 <= --min-log <= --max-log <= 22")
    if args.windows:
        return window_grid(args)
    info = zkedge.native_info()
    load0 = os.getloadavg()
    rows = run(args)
    load1 = os.getloadavg()
    print(
        f"zkedge MSM benchmark: {info['module']} ({info['limb_bits']}-bit limbs, "
        f"{info['compiler']}), {info['threads']} threads; "
        f"load average {load0[0]:.2f} -> {load1[0]:.2f}"
    )
    print_table(rows, info["threads"])
    print_memory(rows)
    print_targets(rows)
    bad = [r for r in rows if r.checks]
    if bad:
        print(f"RESULT MISMATCH in {len(bad)} row(s): see '!!' above")
        return 1
    print("all results agree (zkedge 1t = all threads = arkworks = ffjavascript = py_ecc sample)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
