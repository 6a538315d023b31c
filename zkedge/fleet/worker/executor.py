"""Runs one MSM range task through the native core in a worker thread.

The native call releases the GIL and uses ``threads`` threads inside C, so the trio loop (and its
heartbeats) keeps running while the board computes.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # zkedge.msm loads the native core: imported where it runs
    from zkedge.msm import MsmStop

__all__ = ["TaskResult", "compute_partial", "run_partial"]


@dataclass(frozen=True)
class TaskResult:
    """A partial sum ("be" bytes) and the seconds spent in the native MSM."""

    result: bytes
    seconds: float


def compute_partial(
    curve: str,
    group: str,
    bases_mont: bytes,
    scalars: bytes,
    threads: int | None,
    stop: MsmStop | None = None,
) -> TaskResult:
    """sum(scalars[i] * bases[i]) over the given range (blocking; call in a thread).
    Raises :class:`zkedge.msm.MsmCancelled` if ``stop`` is set before it finishes."""
    from zkedge import ec
    from zkedge.msm import BaseTable, msm

    t0 = time.perf_counter()
    table = BaseTable.from_bytes(curve, group, bases_mont, encoding="mont", check="none")
    point = msm(table, scalars, threads=threads, stop=stop)
    seconds = time.perf_counter() - t0
    return TaskResult(ec.encode(curve, group, point, "be"), seconds)


async def run_partial(
    curve: str,
    group: str,
    bases_mont: bytes,
    scalars: bytes,
    threads: int | None,
    stop: MsmStop | None = None,
) -> TaskResult:
    """:func:`compute_partial` in a thread. Setting ``stop`` (the worker does when the
    coordinator cancels the attempt) ends it with :class:`zkedge.msm.MsmCancelled` within
    about 256 points. If the caller is cancelled (shutdown), the thread is abandoned and the
    stop flag set, so the native MSM ends too instead of holding the cores."""
    from zkedge.msm import run_stoppable

    return await run_stoppable(
        functools.partial(compute_partial, curve, group, bases_mont, scalars, threads), stop
    )
