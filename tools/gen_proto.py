#!/usr/bin/env python3
"""Regenerate the betterproto code in zkedge/fleet/proto/ from protos/ (``--check``: fail if stale).

One command so the checked-in code can never drift from the .proto: ``make proto`` writes it,
``make proto-check`` (part of ``make test``) regenerates into a temporary directory and compares.
Generated files keep betterproto's DO-NOT-EDIT header.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
OUT = ROOT / "zkedge" / "fleet" / "proto"
# proto package -> subpackage of zkedge.proto it is generated into
PACKAGES = {"zkedge/coordinator/v1": "coordinator/v1"}
PKG_DOC = '"""Generated gRPC/protobuf code (betterproto). DO NOT EDIT: run `make proto`."""\n'


def _plugin() -> Path:
    """The betterproto protoc plugin installed next to this interpreter."""
    plugin = Path(sys.executable).parent / "protoc-gen-python_betterproto"
    if not plugin.exists():
        raise SystemExit(f"betterproto compiler plugin not found at {plugin}")
    return plugin


def generate(out: Path) -> None:
    """Write the generated package tree rooted at ``out`` (the zkedge/fleet/proto directory)."""
    protos = sorted(str(p.relative_to(PROTO_ROOT)) for p in PROTO_ROOT.rglob("*.proto"))
    with tempfile.TemporaryDirectory() as raw:
        cmd = [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{PROTO_ROOT}",
            f"--plugin=protoc-gen-python_betterproto={_plugin()}",
            f"--python_betterproto_out={raw}",
            *protos,
        ]
        env = dict(os.environ, PYTHONHASHSEED="0")
        subprocess.run(cmd, check=True, cwd=PROTO_ROOT, env=env)
        out.mkdir(parents=True, exist_ok=True)
        (out / "__init__.py").write_text(PKG_DOC)
        for src_pkg, dst_pkg in PACKAGES.items():
            src = Path(raw) / src_pkg / "__init__.py"
            dst_dir = out / dst_pkg
            dst_dir.mkdir(parents=True, exist_ok=True)
            # intermediate packages
            parent = dst_dir.parent
            while parent != out:
                (parent / "__init__.py").write_text(PKG_DOC)
                parent = parent.parent
            shutil.copyfile(src, dst_dir / "__init__.py")


def _tree(path: Path) -> set[str]:
    return {
        str(p.relative_to(path))
        for p in path.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def check() -> int:
    """Regenerate into a temporary directory; return 1 (and say what) if zkedge/proto differs."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "proto"
        generate(fresh)
        want, have = _tree(fresh), _tree(OUT) if OUT.exists() else set()
        stale = sorted(want ^ have)
        stale += sorted(
            f for f in want & have if not filecmp.cmp(fresh / f, OUT / f, shallow=False)
        )
        if stale:
            print("zkedge/proto is stale (run `make proto`):", *stale, sep="\n  ", file=sys.stderr)
            return 1
    print("zkedge/fleet/proto is up to date")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="fail if the checked-in code is stale")
    args = ap.parse_args()
    if args.check:
        return check()
    if OUT.exists():
        shutil.rmtree(OUT)
    generate(OUT)
    print(f"generated {sorted(_tree(OUT))} in {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
