"""Runs one MSM range task through the native core in a worker thread.

The native call releases the GIL and uses ``threads`` threads inside C, so the trio loop (and its
heartbeats) keeps running while the board computes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import trio

__all__ = ["TaskResult", "compute_partial", "run_partial"]


@dataclass(frozen=True)
class TaskResult:
    """A partial sum ("be" bytes) and the seconds spent in the native MSM."""

    result: bytes
    seconds: float


def compute_partial(
    curve: str, group: str, bases_mont: bytes, scalars: bytes, threads: int | None
) -> TaskResult:
    """sum(scalars[i] * bases[i]) over the given range (blocking; call in a thread)."""
    from zkedge import ec
    from zkedge.msm import BaseTable, msm

    t0 = time.perf_counter()
    table = BaseTable.from_bytes(curve, group, bases_mont, encoding="mont", check="none")
    point = msm(table, scalars, threads=threads)
    seconds = time.perf_counter() - t0
    return TaskResult(ec.encode(curve, group, point, "be"), seconds)


async def run_partial(
    curve: str, group: str, bases_mont: bytes, scalars: bytes, threads: int | None
) -> TaskResult:
    """:func:`compute_partial` in a thread; on cancellation the thread is abandoned (its result
    discarded) so shutdown is not held hostage by a long MSM."""
    return await trio.to_thread.run_sync(
        compute_partial, curve, group, bases_mont, scalars, threads, abandon_on_cancel=True
    )
