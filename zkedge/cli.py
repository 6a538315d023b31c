"""The ``zkedge`` command: one entry point for every subcommand.

Each layer registers its own subcommands (``register(subparsers)``); this module only builds the
parser, so ``zkedge --help`` lists everything and importing it stays cheap.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import trio

from . import __version__


def _cmd_info(args: argparse.Namespace) -> int:
    from . import native_info

    info = native_info()
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        for k, v in info.items():
            print(f"{k:10} {v}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from .groth16.demo import run_demo
    from .groth16.distributed import run_fleet_demo

    out = Path(args.out)
    print("== zkedge demo: Groth16 proof of the bundled circuit ==")
    print("\n-- on this machine (native core, all threads) --")
    ok_local = run_demo(out / "local")
    print(f"\n-- across the fleet: coordinator + {args.workers} local workers over gRPC --")
    ok_fleet = trio.run(lambda: run_fleet_demo(out, workers=args.workers))
    ok = ok_local and ok_fleet and _snarkjs_verify(out)
    print(f"\ndemo {'PASSED' if ok else 'FAILED'}: proof.json and public.json are in {out}/")
    return 0 if ok else 1


def find_snarkjs() -> str | None:
    """A ``snarkjs`` command: on PATH, else the one `make node` installs in a checkout (with
    an editable install); None without one."""
    import shutil

    local = Path(__file__).resolve().parent.parent / "tests/fixtures/node_modules/.bin/snarkjs"
    return shutil.which("snarkjs") or (str(local) if local.exists() else None)


def _snarkjs_verify(out: Path) -> bool:
    """Have snarkjs itself check the fleet's proof, when there is one to run."""
    import shutil
    import subprocess

    from .groth16.demo import demo_circuit

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


def build_parser() -> argparse.ArgumentParser:
    """The full ``zkedge`` argument parser."""
    from . import fleet_cli, selftest
    from .groth16 import cli as groth16_cli

    ap = argparse.ArgumentParser(
        prog="zkedge", description="A fleet of small ARM boards as one zero-knowledge prover."
    )
    ap.add_argument("--version", action="version", version=f"zkedge {__version__}")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")
    fleet_cli.register(sub)
    groth16_cli.register(sub)
    selftest.register(sub)

    p = sub.add_parser("demo", help="prove the bundled circuit locally and across local workers")
    p.add_argument("--out", default="out", help="directory for proof.json and public.json")
    p.add_argument("--workers", type=int, default=2, help="local workers (default 2)")
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("info", help="show the native build (limb width, compiler, threads)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_info)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``zkedge`` with ``argv`` (default: the process arguments)."""
    logging.basicConfig(level=os.environ.get("ZKEDGE_LOG", "WARNING"))
    args = build_parser().parse_args(argv)
    rc: int = args.func(args)
    return rc


if __name__ == "__main__":
    sys.exit(main())
