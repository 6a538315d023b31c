"""Proofs as the coordinator's own jobs (``SubmitProof``).

A proof job runs :func:`zkedge.fleet.coordinator.prove_groth16` in the coordinator's nursery:
H here, the five MSMs on the fleet, blinding drawn here, the pairing check, and on a wrong
partial sum the re-runs, blame and quarantine. Whoever submits the proof (the CLI, a device, a
client written from the proto alone) gets that defence. Zkeys are named by the sha256 of the
file and parsed once; the most recent ones stay in memory (a client whose zkey is gone is told
NOT_FOUND and sends it again).
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
from zkedge.groth16 import FormatError, Zkey, read_wtns, read_zkey

if TYPE_CHECKING:
    from zkedge.fleet.coordinator._coordinator import Coordinator

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

    def end(self, state: str, error: str = "") -> None:
        """Finish the job (once)."""
        if self.finished.is_set():
            return
        self.state, self.error = state, error
        self.finished.set()


class ProofJobs:
    """The proof jobs of one coordinator and the zkeys they use."""

    def __init__(self, coord: Coordinator, *, keep_zkeys: int = 4, history: int = 100) -> None:
        if keep_zkeys < 1:
            raise ValueError("keep_zkeys must be >= 1")
        self._coord = coord
        self.keep_zkeys = keep_zkeys
        self.history = history
        self.jobs: OrderedDict[str, ProofJob] = OrderedDict()
        self._zkeys: OrderedDict[str, Zkey] = OrderedDict()
        self._wasms: OrderedDict[str, Any] = OrderedDict()  # sha256 -> WitnessCalculator
        self._nursery: trio.Nursery | None = None

    def attach(self, nursery: trio.Nursery) -> None:
        """Run proof jobs in ``nursery`` (the coordinator's, while it serves)."""
        self._nursery = nursery

    def has_zkey(self, digest: str) -> bool:
        """Whether a zkey with this hash is in memory."""
        return digest in self._zkeys

    async def add_zkey(self, data: bytes) -> str:
        """Parse a zkey file (in a thread) and keep it; returns its hash. Raises FormatError."""
        digest = await trio.to_thread.run_sync(zkey_hash, data)
        if digest not in self._zkeys:
            zk = await trio.to_thread.run_sync(read_zkey, data)
            self._zkeys[digest] = zk
            while len(self._zkeys) > self.keep_zkeys:
                self._zkeys.popitem(last=False)
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
        self._nursery.start_soon(self._run, job, zk, wit)
        return job

    async def _run(self, job: ProofJob, zk: Zkey, wit: Any) -> None:
        from zkedge.fleet.coordinator._groth16 import prove_groth16

        with job.scope:
            try:
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
                    "proof job %s done in %.2f s%s",
                    job.id,
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
