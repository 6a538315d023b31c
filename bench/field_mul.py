"""BN254 Fp products per nanosecond: the core's one-at-a-time kernel against its 8 IFMA lanes.

The MSMs spend most of their time in batches of independent affine additions, six Montgomery
products each. The core's scalar kernel computes one product at a time (MULX/ADX assembly,
4 x 64-bit limbs); on CPUs with AVX-512 IFMA, BN254 G1 MSMs run those batches eight additions
at a time with native/ifma.h's lane product (five 52-bit limbs per 64-bit lane).
bench/field_mul.c builds the whole core into one program, checks the lane product against the
scalar one on random inputs over the range the additions feed it (below 2p), then times both,
interleaved (four independent chains each). Prints medians and their ratio; where the build
or the CPU has no IFMA, only the scalar kernel.

Usage: python bench/field_mul.py [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def build(out: Path) -> Path:
    """The driver, compiled as the extension module is (-O3, the warning set, -Werror)."""
    cc = os.environ.get("CC") or shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        raise SystemExit("no C compiler (gcc or cc) on PATH")
    flags = [x for x in (ROOT / "native" / "warnings.flags").read_text().split() if x[:1] == "-"]
    exe = out / "field_mul"
    cmd = [cc, "-O3", "-std=c11", *flags, "-Werror", "-pthread", "-fno-strict-aliasing"]
    cmd += [f"-I{ROOT / 'native'}", "-o", str(exe), str(ROOT / "bench" / "field_mul.c")]
    subprocess.run(cmd, check=True)
    return exe


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=4_000_000, help="products per chain and run")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        exe = build(Path(tmp))
        proc = subprocess.run([str(exe), str(args.rounds)], capture_output=True, text=True)
    if proc.returncode != 0:
        print(proc.stdout + proc.stderr, file=sys.stderr)
        raise SystemExit("field_mul: the IFMA lane product disagrees with the scalar one")
    times: dict[str, list[float]] = {"scalar": [], "ifma": []}
    checked = 0
    asm = "?"
    for line in proc.stdout.splitlines():
        key, _, value = line.partition(" ")
        if key in times and value != "none":
            times[key].append(float(value))
        elif key == "checked":
            checked = int(value)
        elif key == "asm":
            asm = value.split()[0]
    core = statistics.median(times["scalar"])
    label = "core (MULX/ADX assembly)" if asm == "1" else "core (C, no assembly on this CPU)"
    print(f"BN254 Fp Montgomery product, median of {len(times['scalar'])} interleaved runs")
    print(f"{'kernel':34s} {'ns/product':>10s} {'vs core':>8s}")
    print(f"{label:34s} {core:10.2f} {1.0:8.2f}")
    if times["ifma"]:
        ifma = statistics.median(times["ifma"])
        print(f"{'AVX-512 IFMA, per lane (8 lanes)':34s} {ifma:10.2f} {ifma / core:8.2f}")
        print(f"lane products checked against the scalar kernel: {checked} (inputs below 2p)")
    else:
        print("AVX-512 IFMA: not in this build or on this CPU")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
