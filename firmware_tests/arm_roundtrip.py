"""Host side of the emulated worker round trip (``tools/arm64_rootfs.sh``, step 5).

Waits until the worker ``--worker`` has registered with the coordinator (and checks that it
reports ``--expect-machine``), then submits MSM jobs with ``zkedge msm`` (the fleet CLI), and
checks each result against a local MSM computed on the host and that the worker did the work.
Prints one line per job and ``N passed, N failed``; exit code 1 on any failure.

Usage: ``arm_roundtrip.py --coordinator 127.0.0.1:PORT --worker ID [--points N]``
(the token comes from ``$ZKEDGE_TOKEN``, as for the fleet CLI).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def fleet(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """``zkedge.cli._fleet`` of the INSTALLED zkedge: ``-P`` keeps the working directory off
    the path (in a checkout, its zkedge/ has no compiled core)."""
    return subprocess.run(
        [sys.executable, "-P", "-m", "zkedge.cli._fleet", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=os.environ.copy(),
    )


def _norm(d: Any) -> Any:
    """snake_case/camelCase-insensitive keys (betterproto's to_dict uses camelCase)."""
    if isinstance(d, dict):
        return {k.replace("_", "").lower(): _norm(v) for k, v in d.items()}
    if isinstance(d, list):
        return [_norm(x) for x in d]
    return d


def wait_for_worker(coord: str, worker: str, deadline: float) -> dict[str, Any]:
    last = ""
    while time.monotonic() < deadline:
        r = fleet("status", "--coordinator", coord, "--json", timeout=60)
        if r.returncode == 0:
            st = _norm(json.loads(r.stdout))
            for w in st.get("workers", []):
                if w.get("workerid") == worker:
                    return dict(w)
        else:
            last = r.stderr.strip()[-200:]
        time.sleep(2)
    raise TimeoutError(f"worker {worker!r} did not register in time ({last})")


def make_job(curve: str, group: str, n: int) -> tuple[bytes, bytes, str]:
    """Random bases (mont bytes), scalars (LE bytes) and the expected result ("be" hex)."""
    from zkedge import ec, get_curve
    from zkedge.msm import BaseTable, msm

    c = get_curve(curve)
    step = ec.mul(c, group, ec.generator(c, group), secrets.randbelow(c.r - 1) + 1)
    acc = ec.mul(c, group, ec.generator(c, group), secrets.randbelow(c.r - 1) + 1)
    pts = []
    for _ in range(n):
        pts.append(acc)
        acc = ec.add(c, group, acc, step)
    table = BaseTable.from_points(c, group, pts)
    scalars = b"".join(secrets.randbelow(c.r).to_bytes(32, "little") for _ in range(n))
    want = ec.encode(c, group, msm(table, scalars), "be").hex()
    return table.to_bytes(), scalars, want


def run_job(coord: str, worker: str, curve: str, group: str, n: int, tmp: Path) -> tuple[bool, str]:
    bases, scalars, want = make_job(curve, group, n)
    (tmp / "bases").write_bytes(bases)
    (tmp / "scalars").write_bytes(scalars)
    t0 = time.monotonic()
    r = fleet(
        "msm", "--coordinator", coord, "--curve", curve, "--group", group,
        "--bases", str(tmp / "bases"), "--bases-encoding", "mont",
        "--scalars", str(tmp / "scalars"),
        timeout=900,
    )  # fmt: skip
    dt = time.monotonic() - t0
    if r.returncode != 0:
        return False, f"zkedge msm failed ({r.returncode}): {r.stderr.strip()[-400:]}"
    x = re.search(r"result\.x = 0x([0-9a-f]*)", r.stdout)
    y = re.search(r"result\.y = 0x([0-9a-f]*)", r.stdout)
    got = (x.group(1) + y.group(1)) if x and y else ""
    share = re.search(rf"^{re.escape(worker)}\s+(\d+)\s+\S+\s+(\d+)\s+([\d.]+)", r.stdout, re.M)
    pts = int(share.group(1)) if share else 0
    tasks = int(share.group(2)) if share else 0
    compute = float(share.group(3)) if share else 0.0
    ok = got == want and pts == n
    detail = (
        f"{curve} {group} n={n}: {'match' if got == want else 'MISMATCH'}; worker {worker} did "
        f"{pts}/{n} points in {tasks} tasks, compute {compute:.2f} s, job {dt:.1f} s"
        f" ({n / max(compute, 1e-9):,.0f} points/s on the worker)"
    )
    if got != want:
        detail += f"\n    got  {got[:64]}...\n    want {want[:64]}..."
    return ok, detail


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--coordinator", required=True)
    ap.add_argument("--worker", required=True)
    ap.add_argument("--points", type=int, default=20000, help="points of the BN254 G1 job")
    ap.add_argument("--expect-machine", help="the worker's reported arch, e.g. aarch64")
    ap.add_argument("--register-timeout", type=float, default=600)
    args = ap.parse_args(argv)
    t0 = time.monotonic()
    passed = failed = 0
    try:
        w = wait_for_worker(args.coordinator, args.worker, t0 + args.register_timeout)
    except TimeoutError as exc:
        print(f"FAIL: {exc}")
        print("0 passed, 1 failed")
        return 1
    node = w.get("node", {})
    print(
        f"worker {args.worker} registered after {time.monotonic() - t0:.1f} s: arch "
        f"{node.get('arch')}, cores {node.get('cores')}, build {node.get('nativebuild')!r}, "
        f"startup bench {float(node.get('benchpointspersec', 0)):,.0f} points/s"
    )
    if args.expect_machine and node.get("arch") != args.expect_machine:
        print(f"FAIL: worker arch {node.get('arch')!r}, expected {args.expect_machine!r}")
        failed += 1
    else:
        passed += 1
    jobs = [
        ("bn254", "G1", args.points),
        ("bls12_381", "G1", max(1, args.points // 4)),
        ("bn254", "G2", max(1, args.points // 8)),
    ]
    with tempfile.TemporaryDirectory() as d:
        for curve, group, n in jobs:
            ok, detail = run_job(args.coordinator, args.worker, curve, group, n, Path(d))
            print(("ok   " if ok else "FAIL ") + detail, flush=True)
            passed, failed = passed + ok, failed + (not ok)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
