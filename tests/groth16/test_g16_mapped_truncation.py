"""A zkey (or window file) truncated by another process while a proof reads its mapping: the
reads past the new end give zeros instead of SIGBUS ending the process, and the proof fails
with a one-line FormatError naming the file. Run in a child process: without the guard the
child dies of SIGBUS, and the test says so instead of taking pytest down with it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bn128"

CHILD = r"""
import os, sys
from zkedge.groth16 import FormatError
from zkedge.groth16.prover import prove_points
from zkedge.groth16.zkey import read_zkey

path, wtns, keep = sys.argv[1], sys.argv[2], int(sys.argv[3])
zk = read_zkey(path)  # mapped; the point sections not read yet
zk.evict("coefs")
for which in ("a", "b1", "b2", "c", "h"):
    zk.evict(which)
if keep >= 0:
    os.truncate(path, keep)  # another process rewrites the file in place
else:  # a cache touches it for its LRU order: not a change
    os.utime(path)
try:
    prove_points(zk, wtns, threads=2)
except FormatError as e:
    print("FormatError:", e)
    sys.exit(3)
print("proved")
"""


@pytest.mark.parametrize("faulthandler", [False, True])
@pytest.mark.parametrize("keep_fraction", [0.5, 0.9])
def test_a_zkey_truncated_under_a_proof_is_an_error_not_a_crash(
    tmp_path: Path, keep_fraction: float, faulthandler: bool
) -> None:
    """Cut in half, the sections past the new end fault (the guard maps zeros); cut at 90%,
    the rest of the last page reads as zeros without a fault (the guard sees the size). With
    Python's faulthandler on (its SIGBUS handler was there first), the same."""
    zkey = tmp_path / "circuit.zkey"
    shutil.copyfile(FIXTURES / "circuit.zkey", zkey)
    proc = _child(zkey, int(zkey.stat().st_size * keep_fraction), faulthandler)
    assert proc.returncode != -signal.SIGBUS, "the child died of SIGBUS"
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "file changed while in use" in proc.stdout and str(zkey) in proc.stdout


def test_a_zkey_only_touched_proves(tmp_path: Path) -> None:
    """A zkey whose times change under the proof (the worker's zkey cache touches files for
    its LRU order) is no error."""
    zkey = tmp_path / "circuit.zkey"
    shutil.copyfile(FIXTURES / "circuit.zkey", zkey)
    proc = _child(zkey, -1, False)
    assert proc.returncode == 0 and "proved" in proc.stdout, proc.stdout + proc.stderr


def _child(zkey: Path, keep: int, faulthandler: bool) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    flags = ["-X", "faulthandler"] if faulthandler else []
    return subprocess.run(
        [sys.executable, *flags, "-c", CHILD, str(zkey), str(FIXTURES / "witness.wtns"), str(keep)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
