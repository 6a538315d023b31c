"""The shape of a proof on the fleet: split into MSM ranges, or whole on one worker.

Splitting a proof shortens it while workers would otherwise idle, at the price of the split's
overhead (H on the coordinator, five MSMs cut into ranges, partial sums combined, more traffic).
With more proofs waiting than workers idle, nobody idles anyway, and whole proofs (one per
worker, no cuts) finish more proofs per minute. On links so slow that the split's scalars
(the witness and H's evaluations) take longer on the wire than one worker takes to receive
the witness and prove, a lone proof is sooner whole too. :func:`choose_shape` is that rule,
a pure function of counts and of the two estimates (:func:`split_seconds`,
:func:`whole_seconds`); :func:`proof_memory` and :func:`takes_whole` say which workers can
hold a whole proof.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from zkedge.fleet.coordinator.model import DEFAULT_RECEIVE_BYTES, NodeFacts

__all__ = [
    "SPLIT",
    "WHOLE",
    "choose_shape",
    "proof_memory",
    "split_seconds",
    "takes_whole",
    "whole_seconds",
]

SPLIT, WHOLE = "split", "whole"

#: Bytes of a whole-proof task's message besides its witness (ids, hashes, numbers).
PROVE_OVERHEAD = 1024


def choose_shape(*, ready: int, idle: int, capable: int, whole_sooner: bool = False) -> str:
    """``WHOLE`` while the ``ready`` proofs (waiting for a shape, this one included) outnumber
    the ``idle`` workers and some worker (``capable``) can prove this one whole, or when one
    worker would finish it sooner than the split (``whole_sooner``: slow links, see
    :func:`split_seconds` and :func:`whole_seconds`); else ``SPLIT`` (one proof would leave
    workers idle: cutting it uses them all)."""
    if ready < 1 or idle < 0 or capable < 0:
        raise ValueError("need ready >= 1, idle >= 0, capable >= 0")
    return WHOLE if capable > 0 and (ready > idle or whole_sooner) else SPLIT


def split_seconds(
    work: float, compute_rates: Sequence[float], nbytes: float, link_rates: Sequence[float]
) -> float:
    """Expected seconds of a split proof's MSMs: ``work`` units over the workers'
    ``compute_rates`` (units/s), or the ``nbytes`` of scalars over their ``link_rates``
    (bytes/s), whichever takes longer (a worker computes one range while the next one's
    scalars travel, so the two overlap). inf when either is unknown."""
    c = sum(compute_rates)
    if c <= 0 or not link_rates or min(link_rates) <= 0:
        return math.inf
    return max(work / c, nbytes / sum(link_rates))


def whole_seconds(
    work: float, compute_rate: float, nbytes: float, link_rate: float, rtt: float = 0.0
) -> float:
    """Expected seconds of a whole proof on one worker: its ``nbytes`` (the witness, and the
    zkey unless the worker holds it) arrive at ``link_rate`` before it starts, then it computes
    all ``work`` units at ``compute_rate``. inf when either rate is unknown."""
    if compute_rate <= 0 or link_rate <= 0:
        return math.inf
    return rtt + nbytes / link_rate + work / compute_rate


def proof_memory(zkey_bytes: int) -> int:
    """Bytes a worker needs to prove with a zkey of this size: its native tables, the
    coefficients and the prover's vectors. A proof's peak memory above the worker's own is
    under twice the file (docs/perf-log.md); three times leaves room for its caches."""
    return 3 * zkey_bytes


def takes_whole(node: NodeFacts, curve: str, zkey_bytes: int, witness_bytes: int) -> bool:
    """Whether a worker can take a whole-proof task: it runs them, declared the curve (or
    none), its receive limit holds the witness, and half its memory (when known) holds
    :func:`proof_memory`."""
    if not node.proof_tasks or (node.curves and curve not in node.curves):
        return False
    if witness_bytes + PROVE_OVERHEAD > (node.max_receive_bytes or DEFAULT_RECEIVE_BYTES):
        return False
    return not node.memory_bytes or proof_memory(zkey_bytes) <= node.memory_bytes // 2
