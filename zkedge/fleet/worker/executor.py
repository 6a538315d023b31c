"""Runs one task through the native core in a worker thread: an MSM range, or a whole proof.

The native call releases the GIL and uses ``threads`` threads inside C, so the trio loop (and its
heartbeats) keeps running while the board computes.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # zkedge.msm loads the native core: imported where it runs
    from zkedge.groth16.zkey import Zkey
    from zkedge.msm import BaseTable, MsmStop

# The last base buffers window tasks made into tables, by identity: the tasks of an MSM split
# by windows each compute over the whole table, a run the worker's cache hands out as the same
# bytes object, and adopting it checks every coordinate against p again (5 ms for 2^18
# points). Only window tasks: a worker that takes them holds whole tables anyway.
_TABLES: OrderedDict[tuple[int, str, str], tuple[bytes, BaseTable]] = OrderedDict()
_TABLES_KEPT = 2
_TABLES_LOCK = threading.Lock()

__all__ = [
    "TaskResult",
    "compute_partial",
    "compute_proof",
    "cpu_share",
    "run_partial",
    "run_proof",
]


@dataclass(frozen=True)
class TaskResult:
    """A result ("be" bytes: a partial sum, or A || B || C), the seconds spent on it and the
    share of its threads' cores it had meanwhile (0: not measured)."""

    result: bytes
    seconds: float
    cpu_share: float = 0.0


def cpu_share(cpu_seconds: float, seconds: float, threads: int | None, count: int) -> float:
    """The share of its cores a native MSM of ``count`` points on ``threads`` threads (None or
    0: every core this process may use) had: the process's CPU seconds over wall seconds
    times those cores, at most 1 (the process's other threads count too). 0 when unmeasurable."""
    if not (seconds > 0 and cpu_seconds >= 0):
        return 0.0
    from zkedge.msm import available_cores

    cores = available_cores()
    nt = 1 if count < 256 else min(threads or cores, cores)  # the native core's own rule
    return min(1.0, cpu_seconds / (seconds * max(1, nt)))


def compute_partial(
    curve: str,
    group: str,
    bases_mont: bytes,
    scalars: bytes,
    threads: int | None,
    stop: MsmStop | None = None,
    *,
    start: int = 0,
    windows: tuple[int, tuple[int, ...]] | None = None,
    count: int | None = None,
) -> TaskResult:
    """sum(scalars[i] * bases[start + i]) (blocking; call in a thread): ``bases_mont`` may
    hold more points than the task, as a run of cached blocks does. A window task
    (``windows``: its first bit and window widths) takes ``count`` values of its windows' bits
    instead of scalars (:func:`zkedge.msm.msm_windows`).
    Raises :class:`zkedge.msm.MsmCancelled` if ``stop`` is set before it finishes."""
    from zkedge import ec
    from zkedge.msm import BaseTable, msm, msm_windows, window_values_bytes

    t0, c0 = time.perf_counter(), time.process_time()
    if windows is not None:
        table = _table(curve, group, bases_mont)
        lo, widths = windows
        n = len(scalars) // window_values_bytes(lo, lo + sum(widths)) if count is None else count
        point = msm_windows(
            table, scalars, lo, widths, start=start, count=n, threads=threads, stop=stop
        )
    else:
        n = len(scalars) // 32
        table = BaseTable.from_bytes(curve, group, bases_mont, encoding="mont", check="none")
        point = msm(table, scalars, start=start, threads=threads, stop=stop)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    share = cpu_share(cpu, seconds, threads, n)
    return TaskResult(ec.encode(curve, group, point, "be"), seconds, share)


def _table(curve: str, group: str, bases_mont: bytes) -> BaseTable:
    """The table over these base bytes: the one made last time for the same ``bytes``
    object (immutable, so checked once), else a new one (see :data:`_TABLES`)."""
    from zkedge.msm import BaseTable

    if type(bases_mont) is not bytes:
        return BaseTable.from_bytes(curve, group, bases_mont, encoding="mont", check="none")
    key = (id(bases_mont), curve, group)
    with _TABLES_LOCK:
        hit = _TABLES.get(key)
        if hit is not None and hit[0] is bases_mont:
            _TABLES.move_to_end(key)
            return hit[1]
    table = BaseTable.from_bytes(curve, group, bases_mont, encoding="mont", check="none")
    with _TABLES_LOCK:
        _TABLES[key] = (bases_mont, table)
        while len(_TABLES) > _TABLES_KEPT:
            _TABLES.popitem(last=False)
    return table


async def run_partial(
    curve: str,
    group: str,
    bases_mont: bytes,
    scalars: bytes,
    threads: int | None,
    stop: MsmStop | None = None,
    *,
    start: int = 0,
    windows: tuple[int, tuple[int, ...]] | None = None,
    count: int | None = None,
) -> TaskResult:
    """:func:`compute_partial` in a thread. Setting ``stop`` (the worker does when the
    coordinator cancels the attempt) ends it with :class:`zkedge.msm.MsmCancelled` within
    about 256 points. If the caller is cancelled (shutdown), the thread is abandoned and the
    stop flag set, so the native MSM ends too instead of holding the cores."""
    from zkedge.msm import run_stoppable

    return await run_stoppable(
        functools.partial(
            compute_partial,
            curve,
            group,
            bases_mont,
            scalars,
            threads,
            start=start,
            windows=windows,
            count=count,
        ),
        stop,
    )


def compute_proof(
    zk: Zkey, witness: bytes, threads: int | None, stop: MsmStop | None = None
) -> TaskResult:
    """A whole Groth16 proof of ``witness`` (n_vars * 32 bytes, little-endian standard form)
    as A || B || C ("be"), with the seconds it took (blocking; call in a thread). The blinding
    is this worker's; the coordinator re-randomises the proof anyway."""
    from zkedge import ec
    from zkedge.groth16.prover import prove_points
    from zkedge.groth16.wtns import Witness

    h = zk.header
    if len(witness) != 32 * h.n_vars:
        raise ValueError(f"witness of {len(witness)} bytes for a zkey of {h.n_vars} signals")
    t0 = time.perf_counter()
    wit = Witness("task", h.curve, h.n_vars, witness)
    res = prove_points(zk, wit, threads=threads, stop=stop)
    c = h.curve
    out = ec.encode(c, "G1", res.a, "be") + ec.encode(c, "G2", res.b, "be")
    out += ec.encode(c, "G1", res.c, "be")
    return TaskResult(out, time.perf_counter() - t0)


async def run_proof(
    zk: Zkey, witness: bytes, threads: int | None, stop: MsmStop | None = None
) -> TaskResult:
    """:func:`compute_proof` in a thread, stoppable like :func:`run_partial`."""
    from zkedge.msm import run_stoppable

    return await run_stoppable(functools.partial(compute_proof, zk, witness, threads), stop)
