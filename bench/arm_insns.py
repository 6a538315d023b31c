"""Retired aarch64 instructions per field product and per MSM point, assembly against C.

Speed cannot be timed under qemu-user, but what a board executes can be counted: qemu's
``-d in_asm`` log lists the guest instructions of every translation block (TB) as it is
translated, and ``-d exec,nochain`` logs every TB execution (``nochain`` stops qemu from
chaining TBs, so none runs unlogged). The instructions retired between two points of the
program are then the sum, over the TBs executed in between, of each TB's instruction count.
This qemu has no TCG plugins (no libinsn.so), and this way needs none.

bench/arm_insns.c builds the whole native core into one static program and marks regions with
calls to a no-op function: K1 and K2 rounds of 8 chained BN254 Fp products (4 limbs), the same
for BLS12-381 Fp (6 limbs), then one BN254 G1 MSM of N points (one thread, the window zk_msm
chooses). The per-product count is the difference of the two product regions over the
difference of their product counts, so the fixed costs cancel; it includes the loop's share
(a compare and a branch per 8 products) and, on the C path, the call into the out-of-line C
product. The MSM count is its region's over N. The program is built twice with
aarch64-linux-gnu-gcc -O2 (the KAT flags): as is (the assembly on from load) and with
-DZK_NO_ASM (the C path only), and both must print the same checksum.

Usage: python bench/arm_insns.py [--points N] [--out DIR]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CC = "aarch64-linux-gnu-gcc"
QEMU = "qemu-aarch64-static"
NM = "aarch64-linux-gnu-nm"
K1, K2 = 16, 48  # rounds of 8 products in the two product regions
IN_ASM = re.compile(r"^0x([0-9a-f]+):\s")


def build(out: Path, asm: bool) -> Path:
    """The static aarch64 driver, with the assembly (asm) or without (-DZK_NO_ASM)."""
    flags = [x for x in (ROOT / "native" / "warnings.flags").read_text().split() if x[:1] == "-"]
    exe = out / ("arm_insns.asm" if asm else "arm_insns.c")
    cmd = [CC, "-O2", "-std=c11", *flags, "-Werror", "-pthread", "-fno-strict-aliasing"]
    cmd += ["-static", *([] if asm else ["-DZK_NO_ASM"]), f"-I{ROOT / 'native'}"]
    cmd += ["-o", str(exe), str(ROOT / "bench" / "arm_insns.c")]
    subprocess.run(cmd, check=True)
    return exe


def mark_address(exe: Path) -> int:
    for line in subprocess.run(
        [NM, str(exe)], check=True, capture_output=True, text=True
    ).stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == "zk_bench_mark":
            return int(parts[0], 16)
    raise SystemExit(f"{exe}: no zk_bench_mark symbol")


def count_regions(exe: Path, args: list[str]) -> tuple[list[int], str]:
    """Instructions retired in each region between successive zk_bench_mark() calls, and the
    program's output. The log streams through a pipe (it runs to gigabytes for a large MSM)."""
    mark = mark_address(exe)
    tb_size: dict[int, int] = {}
    regions: list[int] = []
    inside = False
    count = 0
    pc = -1
    with tempfile.TemporaryFile("w+") as stdout:
        proc = subprocess.Popen(
            [QEMU, "-d", "in_asm,exec,nochain", str(exe), *args],
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1 << 20,
        )
        assert proc.stderr is not None
        for line in proc.stderr:
            if line.startswith("Trace "):
                # Trace 0: 0x7f.. [flags/pc/..] symbol
                start = int(line.split("/", 2)[1], 16)
                if start == mark:
                    if inside:
                        regions.append(count)
                    inside = not inside
                    count = 0
                elif inside:
                    count += tb_size[start]
            elif line.startswith("IN:"):
                pc = -1
            elif line.startswith("0x"):
                m = IN_ASM.match(line)
                if m:
                    if pc < 0:
                        pc = int(m.group(1), 16)
                        tb_size[pc] = 0
                    tb_size[pc] += 1
        if proc.wait() != 0:
            raise SystemExit(f"{exe} failed under {QEMU}")
        stdout.seek(0)
        return regions, stdout.read().strip()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=4096, help="MSM size (default 2^12)")
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "arm_insns", help="build dir")
    args = ap.parse_args()
    for tool in (CC, QEMU, NM):
        if not shutil.which(tool):
            print(f"needs {tool} (apt: gcc-aarch64-linux-gnu, qemu-user-static)", file=sys.stderr)
            return 1
    args.out.mkdir(parents=True, exist_ok=True)
    rows: dict[str, list[float]] = {}
    outputs = []
    for asm in (False, True):
        regions, output = count_regions(build(args.out, asm), [str(K1), str(K2), str(args.points)])
        if len(regions) != 5:
            raise SystemExit(f"expected 5 marked regions, got {len(regions)}")
        outputs.append(output.split("checksum=")[-1])
        per = 8 * (K2 - K1)
        rows.setdefault("4-limb product (BN254 Fp)", []).append((regions[1] - regions[0]) / per)
        rows.setdefault("6-limb product (BLS12-381 Fp)", []).append((regions[3] - regions[2]) / per)
        rows.setdefault(f"BN254 G1 MSM point (n = {args.points})", []).append(
            regions[4] / args.points
        )
    if outputs[0] != outputs[1]:
        raise SystemExit(f"the C and assembly builds disagree: checksums {outputs}")
    print(f"{'instructions per':<34} {'C path':>9} {'asm path':>9} {'C / asm':>8}")
    for name, (c, a) in rows.items():
        print(f"{name:<34} {c:>9.1f} {a:>9.1f} {c / a:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
