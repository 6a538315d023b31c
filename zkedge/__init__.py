"""zkedge: a fleet of small ARM boards as one zero-knowledge prover.

The prover API is importable directly (``zkedge.msm``, ``zkedge.ntt``, ``zkedge.groth16``); the
coordinator and worker live in ``zkedge.fleet.coordinator`` and ``zkedge.fleet.worker``.
"""

from __future__ import annotations

from zkedge.curves import BLS12_381 as BLS12_381
from zkedge.curves import BN254 as BN254
from zkedge.curves import Curve as Curve
from zkedge.curves import get_curve as get_curve

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (zkedge.record)
if TYPE_CHECKING:
    from typing import Any

__version__ = "0.1.0"


def native_available() -> bool:
    """Whether the compiled native core loads here (the pure-Python reference paths serve
    when it does not)."""
    try:
        from zkedge import _lib  # noqa: F401
    except ImportError:
        return False
    return True


def native_info() -> dict[str, Any]:
    """Facts about the loaded native core: limb width, compiler, assembly in use, whether the
    8-lane AVX-512 IFMA code is on (BN254 MSMs and coset NTT), default threads, module."""
    from zkedge import _lib

    return {
        "limb_bits": _lib.limb_bits(),
        "compiler": _lib.compiler(),
        "asm": _lib.asm_name(),
        "ifma": _lib.set_ifma(),
        "threads": _lib.cpu_count(),
        "module": _lib.MODULE_NAME,
    }


__all__ = [
    "BLS12_381",
    "BN254",
    "Curve",
    "__version__",
    "get_curve",
    "native_available",
    "native_info",
]
