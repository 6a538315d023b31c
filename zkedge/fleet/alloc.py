"""Keep freed large buffers in the process heap instead of handing them back to the kernel.

A fleet process moves megabytes per task (scalars in, bases once per table) through several
short-lived buffers: the protobuf message, HTTP/2 frames, socket buffers. glibc serves such
sizes with ``mmap`` and unmaps them when freed (or trims them off the top of the heap), so every
task's buffers are fresh pages, and a page fault per 4 KiB costs about 0.8 ms per MiB on the
2-core EPYC VM (more on a board). With glibc's mmap and trim thresholds raised, freed buffers
stay in the heap and the next task reuses them: a 4 MiB task's delivery time in
``bench/transfer.py`` drops about 2x. The price is that the process keeps up to ``trim_bytes``
of freed memory instead of returning it.

``zkedge worker`` and ``zkedge coordinator`` call :func:`retain_freed_memory` at start; an app
that embeds the coordinator can call it too. Elsewhere than on glibc it does nothing.
"""

from __future__ import annotations

import ctypes
import sys

__all__ = ["retain_freed_memory"]

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def retain_freed_memory(trim_bytes: int = 64 << 20, mmap_bytes: int = 32 << 20) -> bool:
    """Serve allocations below ``mmap_bytes`` from the heap and keep up to ``trim_bytes`` of
    freed heap; True if glibc took both settings. glibc caps the mmap threshold (32 MiB on
    64-bit, 16 MiB on 32-bit builds), so smaller values are tried in turn."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False  # not glibc (musl has no mallopt)
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    size = mmap_bytes
    while size >= 1 << 20 and not mallopt(_M_MMAP_THRESHOLD, size):
        size >>= 1
    return size >= 1 << 20 and bool(mallopt(_M_TRIM_THRESHOLD, trim_bytes))
