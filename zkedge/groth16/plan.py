"""Split one Groth16 proof into MSM tasks (pure data: no native calls, no I/O).

A proof needs five MSMs over the zkey's point sections: A, B1, C and H in G1, and B (section
"B2") in G2. Each is cut into contiguous point ranges; a task is one range of one MSM. The
scalars of a task are a slice of the witness (A, B1, B2: witness[start:start+count]; C: the
private part, witness[nPublic+1+start:...]) or of the H evaluations (H: h[start:...]).
Partial sums of one MSM add up to the full MSM; blinding (r, s) is added afterwards by whoever
holds the secrets (see :func:`zkedge.groth16.prover.finish_proof`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from zkedge.groth16.zkey import PointSet, ZkeyHeader
from zkedge.record import Frozen

__all__ = ["G2_COST", "MSM_NAMES", "MsmTask", "ProofPlan", "plan_proof", "split_range"]

MSM_NAMES: tuple[PointSet, ...] = ("A", "B1", "B2", "C", "H")
#: a G2 point costs about this many G1 points in an MSM (Fp2 vs Fp arithmetic)
G2_COST = 3.0
TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (zkedge.record)
if TYPE_CHECKING:
    from typing import Literal

    ScalarSource = Literal["witness", "h"]
else:
    ScalarSource = str


class MsmTask(Frozen):
    """One range of one MSM: points [start, start+count) of section ``msm`` times the scalars
    [scalar_start, scalar_start+count) of ``source``."""

    __slots__ = ("count", "group", "index", "msm", "scalar_start", "source", "start")
    index: int
    msm: PointSet
    group: Literal["G1", "G2"]
    start: int
    count: int
    source: ScalarSource
    scalar_start: int

    def __init__(
        self,
        index: int,
        msm: PointSet,
        group: Literal["G1", "G2"],
        start: int,
        count: int,
        source: ScalarSource,
        scalar_start: int,
    ) -> None:
        self._set(index=index, msm=msm, group=group, start=start, count=count, source=source,
                  scalar_start=scalar_start)  # fmt: skip

    @property
    def cost(self) -> float:
        """Estimated work in G1-point units."""
        return self.count * (G2_COST if self.group == "G2" else 1.0)

    def scalar_slice(self, scalars: bytes | memoryview, fr_bytes: int = 32) -> bytes:
        """This task's scalars cut out of the full witness or H vector (LE, fr_bytes each)."""
        lo = self.scalar_start * fr_bytes
        return bytes(scalars[lo : lo + self.count * fr_bytes])


class ProofPlan(Frozen):
    """All MSM tasks of one proof."""

    __slots__ = ("domain_size", "n_public", "n_vars", "tasks")
    n_vars: int
    n_public: int
    domain_size: int
    tasks: tuple[MsmTask, ...]

    def __init__(
        self, n_vars: int, n_public: int, domain_size: int, tasks: tuple[MsmTask, ...]
    ) -> None:
        self._set(n_vars=n_vars, n_public=n_public, domain_size=domain_size, tasks=tasks)

    def msm_size(self, msm: PointSet) -> int:
        """Number of points in an MSM."""
        return {
            "A": self.n_vars,
            "B1": self.n_vars,
            "B2": self.n_vars,
            "C": self.n_vars - self.n_public - 1,
            "H": self.domain_size,
        }[msm]

    def tasks_for(self, msm: PointSet) -> list[MsmTask]:
        """The tasks of one MSM, in order."""
        return [t for t in self.tasks if t.msm == msm]

    @property
    def total_cost(self) -> float:
        """Estimated work of the whole proof in G1-point units."""
        return sum(t.cost for t in self.tasks)

    def check_cover(self) -> None:
        """Assert every MSM's tasks tile its points exactly once (ValueError otherwise)."""
        for msm in MSM_NAMES:
            pos = 0
            for t in self.tasks_for(msm):
                if t.start != pos or t.count <= 0:
                    raise ValueError(f"plan: {msm} task {t.index} starts at {t.start}, not {pos}")
                pos += t.count
            if pos != self.msm_size(msm):
                raise ValueError(f"plan: {msm} covers {pos} of {self.msm_size(msm)} points")


def split_range(n: int, parts: int) -> list[tuple[int, int]]:
    """Cut [0, n) into ``parts`` contiguous (start, count) ranges of near-equal size."""
    if parts < 1:
        raise ValueError(f"parts must be >= 1, got {parts}")
    parts = max(1, min(parts, n))
    base, extra = divmod(n, parts)
    out = []
    pos = 0
    for i in range(parts):
        cnt = base + (1 if i < extra else 0)
        out.append((pos, cnt))
        pos += cnt
    return out


def _ranges(n: int, max_cost: float | None, unit: float) -> Iterator[tuple[int, int]]:
    if n == 0:
        return
    if max_cost is None:
        yield (0, n)
        return
    per = max(1, int(max_cost // unit))
    yield from split_range(n, -(-n // per))


def plan_proof(
    header: ZkeyHeader | ProofPlan,
    *,
    max_task_cost: float | None = None,
    msms: Iterable[PointSet] = MSM_NAMES,
) -> ProofPlan:
    """Plan a proof: each MSM cut into ranges costing at most ``max_task_cost`` G1-point units
    (None: one task per MSM). Empty MSMs (e.g. C of a circuit with no private signals) get no
    task."""
    if max_task_cost is not None and max_task_cost <= 0:
        raise ValueError(f"max_task_cost must be positive, got {max_task_cost}")
    n_vars, n_public, domain = header.n_vars, header.n_public, header.domain_size
    sizes = {"A": n_vars, "B1": n_vars, "B2": n_vars, "C": n_vars - n_public - 1, "H": domain}
    tasks: list[MsmTask] = []
    for msm in msms:
        group: Literal["G1", "G2"] = "G2" if msm == "B2" else "G1"
        unit = G2_COST if group == "G2" else 1.0
        offset = n_public + 1 if msm == "C" else 0
        source: ScalarSource = "h" if msm == "H" else "witness"
        for start, count in _ranges(sizes[msm], max_task_cost, unit):
            tasks.append(MsmTask(len(tasks), msm, group, start, count, source, start + offset))
    return ProofPlan(n_vars, n_public, domain, tuple(tasks))
