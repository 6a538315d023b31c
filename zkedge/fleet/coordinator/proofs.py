"""Proofs as the coordinator's own jobs (``SubmitProof``).

A submitted proof waits a moment (``settle``, so proofs submitted together are shaped
together), then gets its shape (:func:`zkedge.fleet.coordinator.shape.choose_shape`): *split*
runs :func:`zkedge.fleet.coordinator.prove_groth16` (H here, the five MSMs on the fleet,
blinding drawn here, the pairing check, and on a wrong partial sum the re-runs, blame and
quarantine); *whole* runs ``prove_whole`` (one worker
proves, the coordinator re-randomises and checks, and settles an invalid proof itself). Whoever
submits the proof (the CLI, a device, a client written from the proto alone) gets that
defence. Zkeys are named by the sha256 of the file and parsed once; the most recent ones stay
in memory, with the file that workers fetch for whole proofs (a client whose zkey is gone is
told NOT_FOUND and sends it again).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import secrets
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import trio

from zkedge.fleet.common import JobFailed, ProofRejected
from zkedge.fleet.coordinator.shape import (
    SPLIT,
    WHOLE,
    choose_shape,
    split_seconds,
    takes_whole,
    whole_seconds,
)
from zkedge.groth16 import FormatError, Zkey, read_wtns, read_zkey
from zkedge.groth16.wtns import Witness

if TYPE_CHECKING:
    from zkedge.fleet.coordinator._coordinator import Coordinator
    from zkedge.fleet.coordinator.registry import WorkerRecord

__all__ = ["ProofJob", "ProofJobs", "zkey_hash"]

log = logging.getLogger("zkedge.fleet.coordinator")


def zkey_hash(data: bytes | memoryview) -> str:
    """The name of a zkey in ``SubmitProof``: the sha256 hex of the file's bytes."""
    return hashlib.sha256(data).hexdigest()


@dataclass(eq=False)
class ProofJob:
    """One submitted proof: its state and, once done, snarkjs's proof.json and public.json."""

    id: str
    zkey_hash: str
    watched: bool
    state: str = "running"
    error: str = ""
    proof_json: str = ""
    public_json: str = ""
    quarantined: list[str] = field(default_factory=list)
    times: dict[str, float] = field(default_factory=dict)
    finished: trio.Event = field(default_factory=trio.Event)
    scope: trio.CancelScope = field(default_factory=trio.CancelScope)
    watchers: int = 0
    unwatched_since: float | None = None
    shape: str = ""  # "split" or "whole" once chosen

    def end(self, state: str, error: str = "") -> None:
        """Finish the job (once)."""
        if self.finished.is_set():
            return
        self.state, self.error = state, error
        self.finished.set()


class ProofJobs:
    """The proof jobs of one coordinator and the zkeys they use."""

    def __init__(
        self,
        coord: Coordinator,
        *,
        keep_zkeys: int = 4,
        history: int = 100,
        settle: float = 0.02,
        shape: str | None = None,
    ) -> None:
        if keep_zkeys < 1:
            raise ValueError("keep_zkeys must be >= 1")
        if settle < 0:
            raise ValueError("settle must be >= 0 seconds")
        if shape not in (None, SPLIT, WHOLE):
            raise ValueError(f"shape must be None, {SPLIT!r} or {WHOLE!r}")
        self._coord = coord
        self.keep_zkeys = keep_zkeys
        self.history = history
        self.settle = settle
        self.shape = shape  # None: chosen per proof; else every proof gets this one
        self.jobs: OrderedDict[str, ProofJob] = OrderedDict()
        self._zkeys: OrderedDict[str, Zkey] = OrderedDict()
        self._files: dict[str, bytes] = {}  # the zkey files of _zkeys, for FetchZkey
        self._wasms: OrderedDict[str, Any] = OrderedDict()  # sha256 -> WitnessCalculator
        self._nursery: trio.Nursery | None = None
        self._ready: list[tuple[ProofJob, Zkey, Witness]] = []
        self._wake = trio.Event()

    def attach(self, nursery: trio.Nursery) -> None:
        """Run proof jobs in ``nursery`` (the coordinator's, while it serves)."""
        self._nursery = nursery
        self._ready.clear()
        self._wake = trio.Event()
        nursery.start_soon(self._shape_loop)

    def zkey_file(self, digest: str) -> bytes | None:
        """The bytes of a kept zkey file (what FetchZkey serves), or None."""
        return self._files.get(digest)

    def has_zkey(self, digest: str) -> bool:
        """Whether a zkey with this hash is in memory."""
        return digest in self._zkeys

    async def add_zkey(self, data: bytes) -> str:
        """Parse a zkey file (in a thread) and keep it; returns its hash. Raises FormatError."""
        digest = await trio.to_thread.run_sync(zkey_hash, data)
        if digest not in self._zkeys:
            zk = await trio.to_thread.run_sync(read_zkey, data)
            self._zkeys[digest] = zk
            self._files[digest] = data
            while len(self._zkeys) > self.keep_zkeys:
                old, _ = self._zkeys.popitem(last=False)
                self._files.pop(old, None)
        self._zkeys.move_to_end(digest)
        return digest

    def has_wasm(self, digest: str) -> bool:
        """Whether a witness calculator with this hash (sha256 of the .wasm) is in memory."""
        return digest in self._wasms

    async def add_wasm(self, data: bytes) -> str:
        """Compile a circom witness calculator (in a thread) and keep it; returns its hash.
        Raises :class:`zkedge.circom.CircomError` (WasmtimeUnavailable where wasmtime is
        missing, InputError for a file that is not one)."""
        from zkedge.circom import WitnessCalculator

        digest = await trio.to_thread.run_sync(zkey_hash, data)
        if digest not in self._wasms:
            self._wasms[digest] = await trio.to_thread.run_sync(WitnessCalculator, data)
            while len(self._wasms) > self.keep_zkeys:
                self._wasms.popitem(last=False)
        self._wasms.move_to_end(digest)
        return digest

    async def witness_from_inputs(self, wasm_digest: str, input_json: str) -> bytes:
        """The .wtns bytes for ``input_json`` (input.json's text) with a kept calculator.
        Raises KeyError (unknown calculator), ValueError (not JSON) or CircomError."""
        calc = self._wasms[wasm_digest]
        inputs = json.loads(input_json)
        if not isinstance(inputs, dict):
            raise ValueError("input.json must be a JSON object of signal names")
        data: bytes = await trio.to_thread.run_sync(calc.wtns, inputs)
        return data

    async def submit(self, digest: str, witness: bytes, *, watched: bool) -> ProofJob:
        """Start a proof of ``witness`` with the zkey named ``digest``. Raises KeyError for an
        unknown zkey, FormatError for a witness that does not fit it."""
        if self._nursery is None:
            raise RuntimeError("coordinator is not serving")
        zk = self._zkeys[digest]
        wit = await trio.to_thread.run_sync(read_wtns, witness)
        if wit.curve.name != zk.curve.name or wit.n != zk.header.n_vars:
            raise FormatError(
                "witness",
                f"{wit.n} {wit.curve.name} values for a zkey of {zk.header.n_vars} "
                f"{zk.curve.name} signals",
            )
        job = ProofJob(secrets.token_hex(8), digest, watched)
        self.jobs[job.id] = job
        while len(self.jobs) > self.history:
            oldest = next(iter(self.jobs.values()))
            if not oldest.finished.is_set():
                break
            self.jobs.popitem(last=False)
        self._ready.append((job, zk, wit))
        self._wake.set()
        return job

    async def _shape_loop(self) -> None:
        """Give waiting proofs their shape and start them, a ``settle`` after the first of a
        burst arrives."""
        while True:
            await self._wake.wait()
            self._wake = trio.Event()
            await trio.sleep(self.settle)
            try:
                self._start_ready()
            except Exception as exc:  # a fault of ours fails the waiting proofs, not the server
                log.exception("shaping proof jobs failed")
                for job, _, _ in self._ready:
                    job.end("failed", f"internal error: {type(exc).__name__}: {exc}")
                self._ready.clear()

    def _start_ready(self) -> None:
        """Shape and start every waiting proof (see the module docstring): the idle workers
        are those with nothing in flight, less the whole proofs already waiting for one."""
        assert self._nursery is not None
        sched = self._coord._scheduler_or_raise()
        workers = [w for w in self._coord.workers() if w.assignable]
        idle = max(0, sum(1 for w in workers if not w.inflight) - len(sched.dispatcher.proofs))
        self._ready = [r for r in self._ready if not r[0].finished.is_set()]
        while self._ready:  # each leaves the list only once started
            job, zk, wit = self._ready[0]
            size = len(self._files.get(job.zkey_hash, b""))
            capable = sum(
                1 for w in workers if takes_whole(w.node, zk.curve.name, size, len(wit.data))
            )
            sooner = False
            if self.shape is None and size and capable and len(self._ready) <= idle:
                sooner = self._whole_sooner(job, zk, wit, size, workers)
            shape = self.shape or choose_shape(
                ready=len(self._ready), idle=idle, capable=capable, whole_sooner=sooner
            )
            if size == 0:
                shape = SPLIT  # its zkey left memory meanwhile: no worker could fetch it
            job.shape = shape
            idle = 0 if shape == SPLIT else max(0, idle - 1)
            self._nursery.start_soon(self._run, job, zk, wit, size)
            self._ready.pop(0)

    def _whole_sooner(
        self, job: ProofJob, zk: Zkey, wit: Witness, size: int, workers: list[WorkerRecord]
    ) -> bool:
        """Whether one worker would finish this proof sooner than the split, by the capacities
        and links the workers measured (never while one has not measured its link): the split
        sends the witness and H's evaluations over the links, a whole proof the witness (and
        the zkey to a worker without it) over one. Both estimates go to the debug log."""
        if not workers or any(
            w.load is None or w.load.recv_bytes_per_sec <= 0 or not w.capacity.k for w in workers
        ):
            return False
        from zkedge.fleet.coordinator.sizing import block_units, group_cost
        from zkedge.msm import pack_scalars

        h = zk.header
        curve = h.curve.name
        policy = self._coord.policy
        g1, g2 = group_cost(curve, "G1"), group_cost(curve, "G2")
        # A, B1 and C over the witness in G1, B in G2 (C's few public values left in), and
        # H's full-size evaluations
        wu = sum(block_units(wit.data, policy.block_points))
        work = wu * (3 * g1 + g2) + h.domain_size * g1
        packed = all(w.node.packed_scalars for w in workers)
        wbytes = len(pack_scalars(wit.data)) if packed else len(wit.data)
        split = split_seconds(
            work,
            [w.capacity.rate(max(1, h.n_vars // len(workers)), w.factor(policy)) for w in workers],
            wbytes + 32 * h.domain_size,
            [w.load.recv_bytes_per_sec for w in workers if w.load is not None],
        )
        whole = min(
            (
                whole_seconds(
                    work,
                    w.capacity.rate(h.n_vars, w.factor(policy)),
                    wbytes + (0 if job.zkey_hash in w.zkeys else size),
                    w.load.recv_bytes_per_sec,
                    w.load.rtt_seconds,
                )
                for w in workers
                if w.load is not None and takes_whole(w.node, curve, size, len(wit.data))
            ),
            default=math.inf,
        )
        log.debug("proof job %s: split %.2f s, whole %.2f s (estimates)", job.id, split, whole)
        return whole < split

    async def _run(self, job: ProofJob, zk: Zkey, wit: Witness, size: int) -> None:
        from zkedge.fleet.coordinator._groth16 import prove_groth16, prove_whole

        with job.scope:
            try:
                if job.shape == WHOLE:
                    try:
                        res = await prove_whole(self._coord, zk, wit, job.zkey_hash, size)
                    except JobFailed as exc:  # no worker finished it: split it instead
                        log.warning("proof job %s: whole proof failed (%s); splitting", job.id, exc)
                        job.shape = SPLIT
                        res = await prove_groth16(self._coord, zk, wit)
                else:
                    res = await prove_groth16(self._coord, zk, wit)
            except ProofRejected as exc:
                job.end("failed", str(exc))
            except (JobFailed, FormatError, ValueError) as exc:
                job.end("failed", f"{type(exc).__name__}: {exc}")
            except Exception as exc:  # a fault of the coordinator: this job fails, not it
                log.exception("proof job %s failed", job.id)
                job.end("failed", f"internal error: {type(exc).__name__}: {exc}")
            else:
                proof, public = res.to_json()
                job.proof_json = json.dumps(proof)
                job.public_json = json.dumps(public)
                job.quarantined = list(res.quarantined)
                job.times = dict(res.times)
                job.end("done")
                log.info(
                    "proof job %s (%s) done in %.2f s%s",
                    job.id,
                    job.shape,
                    sum(res.times.values()),
                    f"; quarantined {', '.join(res.quarantined)}" if res.quarantined else "",
                )
        if not job.finished.is_set():  # the scope was cancelled
            job.end("cancelled", job.error or "cancelled")

    def cancel(self, job: ProofJob, reason: str) -> bool:
        """Cancel a running proof job (its MSM jobs are cancelled with it); False if it had
        ended."""
        if job.finished.is_set():
            return False
        job.error = f"cancelled: {reason}"
        job.scope.cancel()
        log.info("proof job %s cancelled: %s", job.id, reason)
        return True

    def check_watchers(self, now: float, grace: float) -> None:
        """Cancel watched proof jobs that nobody has followed for ``grace`` seconds."""
        if not math.isfinite(grace):
            return
        for job in list(self.jobs.values()):
            if job.finished.is_set() or not job.watched or job.watchers:
                job.unwatched_since = None
                continue
            if job.unwatched_since is None:
                job.unwatched_since = now
            elif now - job.unwatched_since > grace:
                self.cancel(job, f"no client has watched it for {grace:g} s (not detached)")
