"""Paths of the bundled Groth16 fixtures and native-core availability (test helpers)."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SNARKJS = FIXTURES / "node_modules" / "snarkjs" / "build" / "cli.cjs"
CURVES = ["bn128", "bls12381"]


def fixture_dir(name: str) -> Path:
    """A bundled circuit directory (tests/fixtures/<name>)."""
    return FIXTURES / name


def have_native() -> bool:
    """True when the native core (MSM + NTT) imports."""
    try:
        import zkedge.msm
        import zkedge.ntt  # noqa: F401
    except ImportError:
        return False
    return True


needs_native = pytest.mark.skipif(not have_native(), reason="native core not built (make native)")
