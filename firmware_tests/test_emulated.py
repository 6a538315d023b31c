"""The emulation parts of the firmware tests: skipped on ARM boards (they test ARM from x86).

``run.sh`` cross-compiles the C known-answer tests for aarch64 and armhf and runs them under
qemu-user, plus the two host builds; ``make firmware-test`` runs it directly, this test lets
``pytest firmware_tests`` on a dev machine do the same (set ZKEDGE_FIRMWARE_EMULATION=0 to skip).
"""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

pytestmark = [
    pytest.mark.skipif(
        platform.machine().lower().startswith(("arm", "aarch64")),
        reason="on an ARM board: the native build is tested directly, not emulated",
    ),
    pytest.mark.skipif(
        os.environ.get("ZKEDGE_FIRMWARE_EMULATION", "1") == "0",
        reason="ZKEDGE_FIRMWARE_EMULATION=0",
    ),
    pytest.mark.slow,
]


def test_cross_compiled_kats_under_qemu() -> None:
    r = subprocess.run(["bash", str(HERE / "run.sh")], capture_output=True, text=True, timeout=3000)
    out = r.stdout + r.stderr
    if r.returncode == 0 and "skipped" in out and " 0 skipped" not in out:
        pytest.skip("some targets skipped (tools unavailable): " + out.splitlines()[-1])
    assert r.returncode == 0, out[-4000:]
    assert ", 0 failed" in out
