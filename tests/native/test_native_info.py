"""native_info() and the build switch: ZKEDGE_NATIVE=32 selects the 32-bit-limb build."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

import zkedge
from zkedge import _lib

ROOT = Path(__file__).resolve().parents[2]


def test_native_info_fields() -> None:
    info = zkedge.native_info()
    assert set(info) == {"limb_bits", "compiler", "asm", "ifma", "threads", "module"}
    assert isinstance(info["ifma"], bool)
    assert info["limb_bits"] in (32, 64)
    assert isinstance(info["compiler"], str) and info["compiler"]
    assert isinstance(info["threads"], int) and info["threads"] >= 1
    assert info["threads"] <= (os.cpu_count() or 1)
    if hasattr(os, "sched_getaffinity"):
        assert info["threads"] == len(os.sched_getaffinity(0))
    assert info["module"] in ("zkedge._native", "zkedge._native32")


def test_env_selects_the_build() -> None:
    """The loaded build matches ZKEDGE_NATIVE (the Makefile runs this suite both ways)."""
    info = zkedge.native_info()
    if os.environ.get("ZKEDGE_NATIVE", "") == "32":
        assert info == {**info, "limb_bits": 32, "module": "zkedge._native32"}
    else:
        assert info["module"] == "zkedge._native"
        if platform.machine().lower() in ("x86_64", "amd64", "aarch64", "arm64"):
            assert info["limb_bits"] == 64
    assert _lib.limb_bits() == info["limb_bits"]


@pytest.mark.parametrize(("env", "bits"), [("32", 32), ("", None)])
def test_env_switch_in_a_fresh_process(env: str, bits: int | None) -> None:
    code = "import json, zkedge; print(json.dumps(zkedge.native_info()))"
    e = {**os.environ, "ZKEDGE_NATIVE": env, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=e, capture_output=True, text=True, check=True, timeout=60
    )
    info = json.loads(out.stdout)
    if bits == 32:
        assert info["limb_bits"] == 32 and info["module"] == "zkedge._native32"
    else:
        assert info["module"] == "zkedge._native" and info["limb_bits"] in (32, 64)
