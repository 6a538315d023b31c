"""Bit windows: one MSM split by the bits of its scalars instead of by its points.

An MSM of n points cut into point ranges costs more than the whole (Pippenger's cost per point
falls as n grows: two halves of a 2^18 MSM take a third to a half longer than the whole on two
threads). Cut by bits instead, every part keeps all n points: sum(s_i * P_i) is the sum over
windows j of 2^(j * w) * sum(s_ij * P_i), where s_ij holds bits [j * w, (j + 1) * w) of s_i,
and a window of w bits costs about w / 254 of the full MSM (the native core's bucket method
runs one pass per window of its own). A job of one large MSM is therefore computed as k window
MSMs over the same table when at least k workers can each take the whole table; each window
MSM is an ordinary MSM of the job (carved into ranges only if a worker's share asks for it),
and the coordinator adds the windows' results, each doubled into place.

Pure decisions here; the scheduler applies them (``Scheduler.submit``) and the store keeps the
window width with the job, so a recovered job is split the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from zkedge.curves import Point

if TYPE_CHECKING:
    from zkedge.fleet.coordinator.model import MsmState

__all__ = ["choose_windows", "combine", "window_scalars"]


def choose_windows(n: int, min_points: int, capable: int, bits: int, most: int = 4) -> int:
    """Width in bits of the windows to cut one MSM of ``n`` points into, or 0 to leave it
    whole: when ``n`` reaches ``min_points`` (0: never) and at least two workers can each take
    the whole table (``capable``), as many windows as such workers (at most ``most``), over
    the ``bits`` of the curve's scalars."""
    k = min(capable, most)
    if min_points <= 0 or n < min_points or k < 2:
        return 0
    return -(-bits // k)


def window_scalars(scalars: bytes, width: int, bits: int) -> list[bytes]:
    """The scalars of each window (32-byte LE values below 2^width), low bits first."""
    from zkedge.msm import scalar_window

    return [scalar_window(scalars, lo, min(width, bits - lo)) for lo in range(0, bits, width)]


def combine(parts: Sequence[MsmState], width: int) -> Point:
    """The MSM from its windows' results: the sum over j of 2^(j * width) times part j's, by
    Horner's rule from the top window down."""
    from zkedge import ec

    curve, group = parts[0].curve, parts[0].group
    acc: Point = None
    for m in reversed(parts):
        if acc is not None:
            acc = ec.mul(curve, group, acc, 1 << width)
        acc = ec.add(curve, group, acc, m.result)
    return acc
