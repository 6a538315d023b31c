"""Peak memory of a fleet worker with a 64 MiB cache bound, proving ranges of 2^16-point tables.

A 2^16-constraint Groth16 proof needs MSMs over five base tables of ~2^16 points each: A, B1,
C and H in G1 and B2 in G2 (BN254: 4 x 4 MiB + 8 MiB = 24 MiB of points; BLS12-381: 36 MiB).
This bench starts a coordinator and ONE worker process (``zkedge worker --cache-mb 64``, the
real CLI: registration, FetchBases of only the ranges it is given, the bounded on-disk + memory
cache, the native MSM), submits those five MSMs per curve with a small task-size target so the
worker gets many ranges, checks every result against a local MSM, and reads the worker's
memory from ``/proc/<pid>/status``: RSS after start-up (idle), peak RSS (VmHWM) at the end, and
the cache's size on disk. It is what a 1 GB board must afford.

The tables are synthetic (distinct random points, random scalars) with the shapes of a 2^16-
constraint circuit's proving key, not a real zkey: the worker only ever sees points and scalars,
so its memory does not depend on where they came from.

Usage: ``python bench/worker_memory.py [--log2 16] [--curves bn254,bls12_381] [--rounds 2]``
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS / VmHWM / VmSize of a process in bytes (empty when gone)."""
    out: dict[str, int] = {}
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return out
    for line in text.splitlines():
        m = re.match(r"(VmRSS|VmHWM|VmSize|VmPeak):\s+(\d+) kB", line)
        if m:
            out[m.group(1)] = int(m.group(2)) * 1024
    return out


def fleet(*args: str, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "zkedge.cli._fleet", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
    )


def table(curve: str, group: str, n: int, distinct: int = 256) -> tuple[bytes, bytes, str]:
    """n points (mont bytes), n scalars, and the expected MSM ("be" hex).

    ``distinct`` random points are tiled up to n (making 2^16 distinct points in Python is the
    slow part of this bench, and the worker's memory does not depend on repeats); every table
    has its own random points, so its content hash, and the worker's cache blocks, are new.
    """
    from zkedge import ec, get_curve
    from zkedge.msm import BaseTable, msm

    c = get_curve(curve)
    g = ec.generator(c, group)
    step = ec.mul(c, group, g, secrets.randbelow(c.r - 1) + 1)
    acc = ec.mul(c, group, g, secrets.randbelow(c.r - 1) + 1)
    pts = []
    for _ in range(min(n, distinct)):
        pts.append(acc)
        acc = ec.add(c, group, acc, step)
    chunk = BaseTable.from_points(c, group, pts).to_bytes()
    reps = -(-n // len(pts))
    data = (chunk * reps)[: n * c.point_bytes(group)]  # type: ignore[arg-type]
    t = BaseTable.from_bytes(c, group, data, encoding="mont", check="none")
    scalars = b"".join(secrets.randbelow(c.r).to_bytes(32, "little") for _ in range(n))
    return data, scalars, ec.encode(c, group, msm(t, scalars), "be").hex()


def wait_registered(addr: str, wid: str, env: dict[str, str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = fleet("status", "--coordinator", addr, "--json", env=env, timeout=60)
        if r.returncode == 0 and f'"{wid}"' in r.stdout:
            return
        time.sleep(1)
    raise TimeoutError("worker did not register")


def dir_bytes(d: Path) -> int:
    return sum(f.stat().st_size for f in d.rglob("*") if f.is_file()) if d.exists() else 0


def run(
    log2: int,
    curves: list[str],
    cache_mb: int,
    threads: int | None,
    rounds: int = 1,
    keep_freed_mb: int = 16,
) -> dict[str, Any]:
    n = 1 << log2
    tmp = Path(tempfile.mkdtemp(prefix="zkedge-wmem-"))
    env = {**os.environ, "ZKEDGE_TOKEN": secrets.token_hex(8)}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    addr = f"127.0.0.1:{port}"
    wid = "wmem"
    logs = [(tmp / "coordinator.log").open("w"), (tmp / "worker.log").open("w")]
    coord = subprocess.Popen(
        [sys.executable, "-m", "zkedge.cli._fleet", "coordinator", "--bind", addr,
         "--store", ":memory:", "--target-seconds", "0.25", "--block-points", "4096"],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=logs[0],
    )  # fmt: skip
    wcmd = [sys.executable, "-m", "zkedge.cli._fleet", "worker", "--coordinator", addr, "--id",
            wid, "--cache-mb", str(cache_mb), "--cache-dir", str(tmp / "cache"),
            "--keep-freed-mb", str(keep_freed_mb)]  # fmt: skip
    if threads:
        wcmd += ["--threads", str(threads)]
    worker = subprocess.Popen(wcmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=logs[1])
    result: dict[str, Any] = {
        "log2": log2,
        "points": n,
        "cache_mb": cache_mb,
        "keep_freed_mb": keep_freed_mb,
        "jobs": [],
    }
    peak_sampled = 0
    try:
        wait_registered(addr, wid, env, 300)
        time.sleep(1.0)
        result["idle_rss"] = proc_status(worker.pid).get("VmRSS", 0)
        result["idle_hwm"] = proc_status(worker.pid).get("VmHWM", 0)
        total_bases = 0
        for curve in [c for _ in range(rounds) for c in curves]:
            # the five MSMs of a 2^log2-constraint Groth16 proof: A, B1, C, H in G1; B2 in G2
            for name, group in (("A", "G1"), ("B1", "G1"), ("C", "G1"), ("H", "G1"), ("B2", "G2")):
                bases, scalars, want = table(curve, group, n)
                total_bases += len(bases)
                (tmp / "bases").write_bytes(bases)
                (tmp / "scalars").write_bytes(scalars)
                del bases, scalars
                t0 = time.monotonic()
                proc = subprocess.Popen(
                    [sys.executable, "-m", "zkedge.cli._fleet", "msm", "--coordinator", addr,
                     "--curve", curve, "--group", group, "--bases", str(tmp / "bases"),
                     "--scalars", str(tmp / "scalars")],
                    env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                )  # fmt: skip
                while proc.poll() is None:  # sample the worker's RSS while it works
                    peak_sampled = max(peak_sampled, proc_status(worker.pid).get("VmRSS", 0))
                    time.sleep(0.05)
                out, err = proc.communicate()
                dt = time.monotonic() - t0
                x = re.search(r"result\.x = 0x([0-9a-f]*)", out)
                y = re.search(r"result\.y = 0x([0-9a-f]*)", out)
                got = (x.group(1) + y.group(1)) if x and y else ""
                share = re.search(rf"^{wid}\s+(\d+)\s+\S+\s+(\d+)", out, re.M)
                st = proc_status(worker.pid)
                job = {
                    "curve": curve,
                    "msm": name,
                    "group": group,
                    "ok": got == want and proc.returncode == 0,
                    "tasks": int(share.group(2)) if share else 0,
                    "seconds": round(dt, 2),
                    "rss_after": st.get("VmRSS", 0),
                    "hwm_after": st.get("VmHWM", 0),
                    "cache_disk": dir_bytes(tmp / "cache"),
                }
                if not job["ok"]:
                    job["error"] = (err.strip() or out.strip())[-300:]
                result["jobs"].append(job)
        st = proc_status(worker.pid)
        result["peak_rss"] = st.get("VmHWM", 0)
        result["peak_rss_sampled"] = peak_sampled
        result["total_bases_bytes"] = total_bases
        result["cache_disk_bytes"] = dir_bytes(tmp / "cache")
    finally:
        for p in (worker, coord):
            p.terminate()
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for f in logs:
            f.close()
    return result


def mib(b: int) -> str:
    return f"{b / (1 << 20):7.1f} MiB"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--log2", type=int, default=16, help="points per table: 2^LOG2")
    ap.add_argument("--curves", default="bn254,bls12_381")
    ap.add_argument("--cache-mb", type=int, default=64)
    ap.add_argument(
        "--keep-freed-mb", type=int, default=16, help="the worker's --keep-freed-mb (0: off)"
    )
    ap.add_argument("--threads", type=int)
    ap.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="proofs per curve (new tables each time), so more "
        "points pass through the worker than its cache bounds allow",
    )
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    r = run(
        args.log2, args.curves.split(","), args.cache_mb, args.threads, args.rounds,
        args.keep_freed_mb,
    )  # fmt: skip
    if args.json:
        print(json.dumps(r, indent=2))
    else:
        print(
            f"worker with --cache-mb {r['cache_mb']} --keep-freed-mb {r['keep_freed_mb']}, "
            f"tables of 2^{r['log2']} points"
        )
        print(f"  idle RSS after registration {mib(r.get('idle_rss', 0))}")
        print(f"{'curve':<10}{'msm':<4}{'grp':<4}{'ok':<4}{'tasks':>6}{'s':>7}"
              f"{'RSS after':>13}{'peak so far':>13}{'cache disk':>13}")  # fmt: skip
        for j in r["jobs"]:
            print(
                f"{j['curve']:<10}{j['msm']:<4}{j['group']:<4}{'yes' if j['ok'] else 'NO':<4}"
                f"{j['tasks']:>6}{j['seconds']:>7.1f}{mib(j['rss_after']):>13}"
                f"{mib(j['hwm_after']):>13}{mib(j['cache_disk']):>13}"
            )
            if not j["ok"]:
                print(f"    error: {j.get('error', 'wrong result')}")
        print(f"  bases proven: {mib(r.get('total_bases_bytes', 0))} in total")
        print(f"  worker peak RSS (VmHWM): {mib(r.get('peak_rss', 0))}"
              f" (sampled max {mib(r.get('peak_rss_sampled', 0))})")  # fmt: skip
        print(f"  cache on disk at the end: {mib(r.get('cache_disk_bytes', 0))}")
    return 0 if r["jobs"] and all(j["ok"] for j in r["jobs"]) else 1


if __name__ == "__main__":
    sys.exit(main())
