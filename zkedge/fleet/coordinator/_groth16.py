"""Groth16 across the fleet: H on the coordinator, the five MSMs on the workers.

The coordinator process reads the zkey and witness. With remote workers it submits the four
witness MSMs (A, B1, C in G1; B in G2) as one job at once, computes the H evaluations (native
NTT) while the fleet works on them, then submits the H MSM as a second job. With a worker on
its own host (sharing its CPUs) it computes H first and submits all five MSMs as one job.
Bases are the zkey's point sections (workers fetch each range once and cache it by content
hash: later proofs with the same zkey send only scalars), C's led by a point at infinity for
each public signal and the constant: C then takes the whole witness, as A, B1 and B do, so
one slice of the witness serves all four MSMs with no range cut at C's first private signal
(:func:`_whole_witness_c`). It adds alpha/beta/delta and
the blinding r, s (which never leave this process) and verifies the proof (native pairing
check) before returning it.

A wrong partial sum makes the check fail. Then every task is re-run on another worker; each
task whose two results disagree is recomputed here (the tie-breaker), the worker(s) that
returned a wrong sum are quarantined, the correct sums are used, and the proof is checked
again.

:func:`prove_whole` is the other shape: one worker proves the witness whole (a whole-proof
task). The worker's blinding is not trusted: the coordinator re-randomises the proof with its
own t, u (A' = A/t, B' = t*B + u*delta2, C' = C + (u/t)*A, again a valid proof of the same
statement, distributed as a fresh one) and checks it. An invalid proof is settled here: the
coordinator proves the witness itself; if its own proof holds, the worker lied and is
quarantined, otherwise the witness does not satisfy the circuit.
"""

from __future__ import annotations

import secrets
import socket
import time
from typing import TYPE_CHECKING, Any, cast

import trio

from zkedge import ec
from zkedge.curves import Curve, G1Affine, G2Affine, Point
from zkedge.fleet.common import ProofRejected
from zkedge.fleet.coordinator._coordinator import MsmSpec
from zkedge.fleet.coordinator.scheduler import split_proof
from zkedge.fleet.coordinator.shape import proof_memory
from zkedge.fleet.coordinator.sizing import group_cost
from zkedge.groth16 import Source
from zkedge.groth16.plan import MsmTask, ProofPlan, plan_proof
from zkedge.groth16.prover import (
    ProofResult,
    compute_h,
    finish_proof,
    load_inputs,
    prove_points,
    public_signals,
)
from zkedge.groth16.verifier import explain_verify
from zkedge.groth16.vkey import vkey_from_zkey
from zkedge.groth16.wtns import Witness
from zkedge.groth16.zkey import PointSet, Zkey
from zkedge.msm import BaseTable, msm_in_thread

if TYPE_CHECKING:
    from zkedge.fleet.coordinator._coordinator import Coordinator

__all__ = ["FleetProof", "prove_groth16", "prove_whole", "rerandomize", "workers_share_this_host"]


class FleetProof(ProofResult):
    """A proof made on the fleet, with each worker's share and any quarantined workers."""

    __slots__ = ("job_id", "quarantined", "shares")
    shares: dict[str, tuple[int, int, float]]
    quarantined: list[str]
    job_id: str

    def __init__(
        self,
        curve: Curve,
        a: G1Affine | None,
        b: G2Affine | None,
        c: G1Affine | None,
        public: list[int],
        times: dict[str, float],
        *,
        shares: dict[str, tuple[int, int, float]] | None = None,
        quarantined: list[str] | None = None,
        job_id: str = "",
    ) -> None:
        super().__init__(curve, a, b, c, public, times)
        self.shares = {} if shares is None else shares
        self.quarantined = [] if quarantined is None else quarantined
        self.job_id = job_id


def workers_share_this_host(coord: Coordinator) -> bool:
    """Whether an assignable worker reports this machine's hostname: it shares the CPUs the
    coordinator's own work (H) needs, so overlapping the two only makes both slower."""
    host = socket.gethostname()
    return any(w.assignable and w.node.hostname == host for w in coord.workers())


async def prove_groth16(
    coord: Coordinator,
    zkey: Zkey | Source,
    witness: Witness | Source,
    *,
    threads: int | None = None,
    verify: bool = True,
    rerun_timeout: float = 120.0,
    h_first: bool | None = None,
) -> FleetProof:
    """Prove on the fleet of ``coord`` (a serving :class:`zkedge.fleet.coordinator.Coordinator`).

        ``threads`` is for the H computation here; ``rerun_timeout`` bounds each re-run during blame
        (a task no other worker re-runs in time is recomputed here). Cancelling the call cancels its
    jobs on the fleet. ``h_first``: compute H before
        handing out any MSM, then submit all five as one job; by default when a worker runs on this
        host (it would share the CPUs H needs), else H overlaps the witness MSMs. Raises
        :class:`ProofRejected` if the proof still fails after blame, ``JobFailed`` if the fleet
        cannot finish the MSMs.
    """
    times: dict[str, float] = {}
    t = time.monotonic()
    zk, wit = await trio.to_thread.run_sync(load_inputs, zkey, witness)
    times["read"] = time.monotonic() - t
    h = zk.header
    plan: ProofPlan = plan_proof(h)
    wtasks = [_whole_witness_c(tk) for tk in plan.tasks if tk.count > 0 and tk.source == "witness"]
    htasks = [tk for tk in plan.tasks if tk.count > 0 and tk.source == "h"]
    scal = {"witness": wit.data}

    async def table_ref(which: PointSet, group: str) -> str:
        # The zkey's tables are added (copied, hashed) once per coordinator; later proofs
        # name them by content hash.
        digest = zk.fleet_tables.get(which)
        if digest is None or not coord.has_table(digest):
            digest = await coord.add_table(h.curve, group, _fleet_bases(zk, which))
            zk.fleet_tables[which] = digest
        return digest

    async def specs(tks: list[MsmTask]) -> list[Any]:
        return [
            MsmSpec(
                h.curve,
                tk.group,
                await table_ref(tk.msm, tk.group),
                tk.scalar_slice(scal[tk.source]),
            )
            for tk in tks
        ]

    if h_first is None:
        h_first = workers_share_this_host(coord)
    t = time.monotonic()
    jobs: list[tuple[Any, list[MsmTask]]] = []
    tasks: list[MsmTask] = []
    points: list[Point] = []
    try:
        if not h_first:
            # The witness MSMs (A, B1, B in G2, C) go out first; H is computed meanwhile.
            jobs.append(
                (await coord.submit_job(await specs(wtasks), label="groth16 A/B/C"), wtasks)
            )
        t1 = time.monotonic()
        scal["h"] = await trio.to_thread.run_sync(lambda: compute_h(zk, wit, threads=threads))
        times["h"] = time.monotonic() - t1
        if h_first:
            # All five MSMs in one job: the scheduler sees the whole proof and can hand out whole
            # MSMs (no cuts, cached ranges) balanced across the workers.
            alltasks = wtasks + htasks
            jobs.append((await coord.submit_job(await specs(alltasks), label="groth16"), alltasks))
        elif htasks:
            jobs.append((await coord.submit_job(await specs(htasks), label="groth16 H"), htasks))
        for handle, tks in jobs:
            points += await handle.results()
            tasks += tks
    except BaseException:
        # Cancelled (or failed) here: the fleet stops working on this proof's jobs at once.
        _cancel_jobs([handle for handle, _ in jobs], "the proof was cancelled")
        raise
    times["fleet msm"] = time.monotonic() - t
    sums: dict[PointSet, Point] = {name: None for name in ("A", "B1", "B2", "C", "H")}
    for tk, pt in zip(tasks, points, strict=True):
        sums[tk.msm] = pt
    r, s = secrets.randbelow(h.curve.r), secrets.randbelow(h.curve.r)
    vk = vkey_from_zkey(zk)
    pub = public_signals(zk, wit)

    async def check(sm: dict[PointSet, Point]) -> tuple[Any, str | None]:
        abc = finish_proof(h, sm, r, s)
        if not verify:
            return abc, None
        why = await trio.to_thread.run_sync(explain_verify, vk, pub, abc)
        return abc, why

    t = time.monotonic()
    (a, b, c), why = await check(sums)
    times["verify"] = time.monotonic() - t
    quarantined: list[str] = []
    if why is not None:
        t = time.monotonic()
        sums, quarantined = await _blame(coord, jobs, zk, scal, threads, rerun_timeout)
        (a, b, c), why = await check(sums)
        times["blame"] = time.monotonic() - t
        if why is not None:
            raise ProofRejected(f"fleet proof invalid after re-running every task: {why}")
    shares: dict[str, tuple[int, int, float]] = {}
    for handle, _ in jobs:
        for wid, (npts, ntasks, secs) in handle.shares().items():
            p0, t0, s0 = shares.get(wid, (0, 0, 0.0))
            shares[wid] = (p0 + npts, t0 + ntasks, s0 + secs)
    return FleetProof(
        h.curve, a, b, c, pub, times,
        shares=shares, quarantined=quarantined, job_id=",".join(hd.id for hd, _ in jobs),
    )  # fmt: skip


def _whole_witness_c(tk: MsmTask) -> MsmTask:
    """C's task over the whole witness: its scalars from 0, and as many points more, which
    :func:`_fleet_bases` puts at infinity (they add nothing)."""
    if tk.msm != "C" or tk.start != 0 or tk.scalar_start == 0:
        return tk
    return MsmTask(tk.index, tk.msm, tk.group, tk.start, tk.count + tk.scalar_start, tk.source, 0)


def _fleet_bases(zk: Zkey, which: PointSet) -> bytes | memoryview | BaseTable:
    """The bases of a point section as the fleet gets them (C's: :func:`_c_bases`)."""
    if which == "C":
        return _c_bases(zk)
    raw = zk.raw.get(which)
    return raw if raw is not None else zk.table(which)


def _c_bases(zk: Zkey) -> bytes:
    """C's section led by a point at infinity (zero bytes) for each public signal and the
    constant, so C's points line up with the witness (:func:`_whole_witness_c`)."""
    h = zk.header
    raw = zk.raw.get("C")
    pad = bytes((h.n_public + 1) * h.curve.point_bytes("G1"))
    return pad + bytes(raw if raw is not None else zk.table("C").to_bytes())


def _cancel_jobs(handles: list[Any], reason: str) -> None:
    """Cancel the jobs still running (a coordinator that stopped serving runs none)."""
    for handle in handles:
        try:
            handle.cancel(reason)
        except RuntimeError:
            pass


async def _blame(
    coord: Coordinator,
    jobs: list[tuple[Any, list[MsmTask]]],
    zk: Zkey,
    scal: dict[str, bytes],
    threads: int | None,
    rerun_timeout: float,
) -> tuple[dict[PointSet, Point], list[str]]:
    """Re-run every task on another worker; recompute here the tasks whose results disagree
    (or that no other worker could re-run in time); quarantine the workers that were wrong."""
    curve = zk.curve
    partials = [(p, tks[p.msm_index]) for handle, tks in jobs for p in handle.partials()]
    alt: dict[str, Any] = {}

    async def rerun(p: Any) -> None:
        # Only if another worker can take it; otherwise the local recomputation below decides.
        if any(w.assignable and w.worker_id != p.worker_id for w in coord.workers()):
            with trio.move_on_after(rerun_timeout):
                alt[p.task_id] = await coord.rerun_task(p.task_id, exclude=[p.worker_id])

    async with trio.open_nursery() as nursery:
        for p, _ in partials:
            nursery.start_soon(rerun, p)
    bad: set[str] = set()
    fixed: list[tuple[MsmTask, Point]] = []
    c_table: BaseTable | None = None
    for p, tk in partials:
        other = alt.get(p.task_id)
        if other is not None and other.point == p.point:
            fixed.append((tk, p.point))
            continue
        lo = (tk.scalar_start + p.start) * 32
        scalars = scal[tk.source][lo : lo + p.count * 32]
        if tk.msm == "C":
            if c_table is None:  # the padded table the fleet computed C on
                c_table = BaseTable.from_bytes(curve, "G1", _c_bases(zk), "mont")
            table = c_table
        else:
            table = zk.table(tk.msm)
        truth = await msm_in_thread(
            table, scalars, start=tk.start + p.start, count=p.count, threads=threads
        )
        for res in (p, other):
            if res is not None and res.point != truth:
                bad.add(res.worker_id)
        fixed.append((tk, truth))
    for w in sorted(bad):
        coord.quarantine(w, "wrong Groth16 partial sum")
    sums: dict[PointSet, Point] = {name: None for name in ("A", "B1", "B2", "C", "H")}
    for tk, pt in fixed:
        sums[tk.msm] = ec.add(curve, tk.group, sums[tk.msm], pt)
    return sums, sorted(bad)


def rerandomize(
    zk: Zkey, a: Point, b: Point, c: Point, t: int, u: int
) -> tuple[Point, Point, Point]:
    """(A/t, t*B + u*delta2, C + (u/t)*A): e(A', B') = e(A, B) * e((u/t)*A, delta2), which the
    change of C pays for, so a valid proof stays valid; ``t`` must be nonzero mod r."""
    curve = zk.curve
    q = curve.r
    t %= q
    if t == 0:
        raise ValueError("t must be nonzero mod r")
    ti = pow(t, -1, q)
    a2 = ec.mul(curve, "G1", a, ti)
    b2 = ec.add(
        curve, "G2", ec.mul(curve, "G2", b, t), ec.mul(curve, "G2", zk.header.delta2, u % q)
    )
    c2 = ec.add(curve, "G1", c, ec.mul(curve, "G1", a, (u * ti) % q))
    return a2, b2, c2


async def prove_whole(
    coord: Coordinator,
    zk: Zkey,
    wit: Witness,
    zkey_hash: str,
    zkey_bytes: int,
    *,
    threads: int | None = None,
) -> FleetProof:
    """Prove on one worker (a whole-proof task; the zkey named by ``zkey_hash``, which the
    coordinator serves with FetchZkey), re-randomise and check the proof, and settle an
    invalid one here (see the module docstring). Cancelling the call cancels the task.
    Raises :class:`ProofRejected` if the witness does not satisfy the circuit, ``JobFailed``
    if no worker finishes the task."""
    times: dict[str, float] = {}
    h = zk.header
    curve = h.curve
    tasks = [tk for tk in plan_proof(h).tasks if tk.count > 0]
    units = sum(tk.count * group_cost(curve.name, tk.group) for tk in tasks)
    sched = coord._scheduler_or_raise()
    t0 = time.monotonic()
    job = sched.submit_proof(
        curve.name,
        zkey_hash,
        zkey_bytes,
        wit.data,
        units=units,
        points=sum(tk.count for tk in tasks),
        memory=proof_memory(zkey_bytes),
    )
    try:
        await job.finished.wait()
    finally:
        sched.cancel_job(job, "the proof was cancelled")  # a no-op once it has ended
    raw, worker = job.proof_result()
    times["fleet proof"] = time.monotonic() - t0
    t0 = time.monotonic()
    vk = vkey_from_zkey(zk)
    pub = public_signals(zk, wit)
    q = curve.r

    def check() -> tuple[Point, Point, Point, str | None]:
        a, b, c = split_proof(curve.name, raw)
        abc = rerandomize(zk, a, b, c, 1 + secrets.randbelow(q - 1), secrets.randbelow(q))
        return (*abc, explain_verify(vk, pub, abc))

    a2, b2, c2, why = await trio.to_thread.run_sync(check)
    times["verify"] = time.monotonic() - t0
    shares = {worker: (job.points_total, 1, job.proof.compute_seconds if job.proof else 0.0)}
    if why is None:
        return FleetProof(
            curve,
            cast(G1Affine | None, a2),
            cast(G2Affine | None, b2),
            cast(G1Affine | None, c2),
            pub,
            times,
            shares=shares,
            job_id=job.id,
        )
    t0 = time.monotonic()
    mine = await trio.to_thread.run_sync(lambda: prove_points(zk, wit, threads=threads))
    own = await trio.to_thread.run_sync(explain_verify, vk, pub, (mine.a, mine.b, mine.c))
    times["blame"] = time.monotonic() - t0
    if own is not None:
        raise ProofRejected(
            f"the witness does not satisfy the circuit: the coordinator's own proof fails "
            f"too ({own})"
        )
    coord.quarantine(worker, "invalid whole proof")
    return FleetProof(
        curve, mine.a, mine.b, mine.c, pub, times, quarantined=[worker], job_id=job.id
    )
