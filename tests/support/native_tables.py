"""Chains of subgroup points with known discrete logs, built with the native core, as MSM
base tables (test_native_msm.py and test_native_msm_stop.py share them).

Unlike :mod:`support.native_ref`, this calls zkedge (the native point add, ``BaseTable``); the
steps and the check of the newest point come from native_ref's py_ecc pool.
"""

from __future__ import annotations

import random

from support.native_ref import be_bytes, mul_ref, pool
from zkedge import _lib, msm
from zkedge.curves import Curve

_CHAINS: dict[tuple[str, str], tuple[list[int], list[bytes]]] = {}


def chain(c: Curve, g: str, n: int) -> tuple[list[int], bytes]:
    """n subgroup points P_i = P_{i-1} + D_{i mod 5} ('be' bytes) and their discrete logs.

    Built with the native add on raw bytes (fast), extended on demand and shared between
    tests (prefixes); the steps D come from the py_ecc pool, and the newest point is checked
    against py_ecc.
    """
    dl, pts = _CHAINS.setdefault((c.name, g), ([], []))
    if len(pts) < n:
        steps = [(d, be_bytes(c, g, pt)) for d, pt in pool(c, g)[1:]]
        if not pts:
            a0, p0 = pool(c, g)[0]
            dl.append(a0)
            pts.append(be_bytes(c, g, p0))
        while len(pts) < n:
            d, db = steps[len(pts) % len(steps)]
            dl.append((dl[-1] + d) % c.r)
            pts.append(_lib.point_op(c, g, "add", pts[-1], db))  # type: ignore[arg-type]
        assert pts[-1] == be_bytes(c, g, mul_ref(c, g, dl[-1]))
    return dl[:n], b"".join(pts[:n])


def table_of(c: Curve, g: str, n: int) -> tuple[list[int], msm.BaseTable]:
    dlogs, be = chain(c, g, n)
    return dlogs, msm.BaseTable.from_bytes(c, g, be, check="curve")


def rand_scalars(c: Curve, n: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    return [rng.randrange(c.r) for _ in range(n)]


def reduction_cases(c: Curve, n: int) -> list[tuple[str, list[int], list[int]]]:
    """(name, index of the base for each term, scalars): inputs that stress the batch-affine
    buckets and their reduction (equal buckets, folded fallbacks, doublings, cancellations;
    test_native_msm.py and test_native_msm_ifma.py)."""
    rng = random.Random(11)
    r = c.r
    few = [1, 2, 3, r - 1, r - 2, 1 << 12, r - (1 << 12)]
    return [
        ("random", list(range(n)), [rng.randrange(r) for _ in range(n)]),
        ("ones", list(range(n)), [1] * n),
        ("one-base-random", [0] * n, [rng.randrange(r) for _ in range(n)]),
        ("one-base-few", [0] * n, [rng.choice(few) for _ in range(n)]),
        ("two-bases-pm", [i % 2 for i in range(n)], [rng.choice(few) for _ in range(n)]),
        ("digit-ladder", [0] * n, [(i % 4096) + 1 for i in range(n)]),
    ]
