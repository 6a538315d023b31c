"""The one client of a running coordinator: every CLI command and remote proving use it.

:func:`open_coordinator` connects (host:port, shared token, TLS) and yields a
:class:`CoordinatorClient` whose methods are the client-side RPCs: submit an MSM, watch a job,
read the fleet's status. :func:`prove_remote` builds a Groth16 proof on top of it: H here, the
five MSMs as fleet jobs, blinding here (r and s never leave this process), then the pairing
check.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio

from zkedge import ec
from zkedge.curves import Point
from zkedge.fleet import rpc as _rpc
from zkedge.fleet.common import JobFailed, ProofRejected, TlsConfig, client_context, parse_hostport
from zkedge.fleet.proto.coordinator.v1 import (
    CancelJobRequest,
    CancelJobResponse,
    CoordinatorServiceBase,
    GetStatusRequest,
    GetStatusResponse,
    JobUpdate,
    ListJobsRequest,
    SubmitMsmRequest,
    SubmitProofRequest,
    SubmitProofResponse,
    WatchJobRequest,
)
from zkedge.fleet.status import status_json
from zkedge.groth16 import Progress, ProofResult, explain_verify, vkey_from_zkey
from zkedge.groth16.plan import MsmTask, plan_proof
from zkedge.groth16.prover import compute_h, finish_proof, public_signals
from zkedge.groth16.wtns import Witness
from zkedge.groth16.zkey import PointSet, Zkey
from zkedge.msm import table_hash

__all__ = [
    "ConnectionLost",
    "CoordinatorClient",
    "JobFailed",
    "RemoteProof",
    "RpcError",
    "open_coordinator",
    "prove_on_coordinator",
    "prove_remote",
    "status_json",
]

RpcError = _rpc.RpcError
ConnectionLost = _rpc.ConnectionLost


@dataclass(frozen=True)
class MsmOutcome:
    """A finished MSM job: the result point ("be" bytes, x then y) and the last update."""

    result: bytes
    update: JobUpdate


class CoordinatorClient:
    """Client-side RPCs of one connection (from :func:`open_coordinator`)."""

    def __init__(self, rpc: _rpc.GrpcClient) -> None:
        self._rpc = rpc

    async def submit_msm(
        self,
        curve: str,
        group: str,
        scalars: bytes,
        *,
        bases: bytes | None = None,
        table: str | None = None,
        detach: bool = False,
    ) -> str:
        """Submit one MSM; returns the job id. ``bases`` are the table's "mont" bytes, or
        ``table`` names a table the coordinator already has by content hash (NOT_FOUND as an
        :class:`RpcError` when it has not). Unless ``detach``, the coordinator cancels the job
        when no :meth:`watch` has followed it for its grace period (30 s by default)."""
        req = SubmitMsmRequest(
            curve=curve,
            group=group,
            scalars=scalars,
            table_hash=table or "",
            bases=bases or b"",
            detach=detach,
        )
        reply = await self._rpc.call("submit_msm", req)
        job_id: str = reply.job_id
        return job_id

    async def watch(
        self, job_id: str, on_update: Callable[[JobUpdate], None] | None = None
    ) -> JobUpdate:
        """Follow a job until the coordinator ends the stream; returns the last update."""
        last: list[JobUpdate] = []

        def seen(u: JobUpdate) -> None:
            last[:] = [u]
            if on_update is not None:
                on_update(u)

        await self._rpc.stream("watch_job", WatchJobRequest(job_id=job_id), seen)
        if not last:
            raise JobFailed(f"job {job_id}: the coordinator sent no update")
        return last[0]

    async def msm(
        self,
        curve: str,
        group: str,
        scalars: bytes,
        *,
        table: str | None = None,
        bases: Callable[[], bytes] | None = None,
        on_update: Callable[[JobUpdate], None] | None = None,
        on_submit: Callable[[str], None] | None = None,
    ) -> MsmOutcome:
        """Submit and watch one MSM. With ``table`` the coordinator is asked by hash first and
        ``bases()`` is sent only when it does not have that table. ``on_submit(job_id)`` is
        called once the job exists (a caller that may be interrupted can cancel it)."""
        if table is None and bases is None:
            raise ValueError("give bases or a table hash")
        first = bases() if table is None and bases is not None else None
        try:
            job = await self.submit_msm(curve, group, scalars, table=table, bases=first)
        except RpcError as exc:
            if exc.status != "NOT_FOUND" or bases is None:
                raise
            job = await self.submit_msm(curve, group, scalars, bases=bases())
        if on_submit is not None:
            on_submit(job)
        u = await self.watch(job, on_update)
        if u.state != "done" or not u.results:
            raise JobFailed(f"job {job} {u.state}: {u.error or 'no result'}")
        return MsmOutcome(bytes(u.results[0]), u)

    async def submit_proof(
        self,
        witness: bytes,
        *,
        zkey_hash: str | None = None,
        zkey: Callable[[], bytes] | None = None,
        detach: bool = False,
    ) -> SubmitProofResponse:
        """Submit a Groth16 proof job (the coordinator proves, checks and blames). With
        ``zkey_hash`` the coordinator is asked by hash first and ``zkey()`` (the file's bytes)
        is sent only when it does not have that zkey."""
        if zkey_hash is None and zkey is None:
            raise ValueError("give the zkey or its hash")
        if zkey_hash is not None:
            try:
                req = SubmitProofRequest(zkey_hash=zkey_hash, witness=witness, detach=detach)
                reply: SubmitProofResponse = await self._rpc.call("submit_proof", req)
                return reply
            except RpcError as exc:
                if exc.status != "NOT_FOUND" or zkey is None:
                    raise
        assert zkey is not None
        req = SubmitProofRequest(zkey=zkey(), witness=witness, detach=detach)
        reply = await self._rpc.call("submit_proof", req)
        return reply

    async def cancel_job(self, job_id: str, reason: str = "") -> CancelJobResponse:
        """Cancel a job (its attempts stop on the workers); ``cancelled`` is False when it had
        already ended. An unknown job is NOT_FOUND (:class:`RpcError`)."""
        reply: CancelJobResponse = await self._rpc.call(
            "cancel_job", CancelJobRequest(job_id=job_id, reason=reason)
        )
        return reply

    async def list_jobs(self, running_only: bool = False) -> list[JobUpdate]:
        """The jobs the coordinator keeps (running and recently finished), oldest first."""
        reply = await self._rpc.call("list_jobs", ListJobsRequest(running_only=running_only))
        jobs: list[JobUpdate] = reply.jobs
        return jobs

    async def status(self) -> GetStatusResponse:
        """The fleet's workers, their load and shares, and the jobs."""
        reply: GetStatusResponse = await self._rpc.call("get_status", GetStatusRequest())
        return reply


@asynccontextmanager
async def open_coordinator(
    address: str, *, token: str | None = None, tls: TlsConfig | None = None
) -> AsyncIterator[CoordinatorClient]:
    """Connect to the coordinator at ``HOST:PORT``; ``token`` defaults to $ZKEDGE_TOKEN, and
    ``tls`` (:class:`zkedge.fleet.common.TlsConfig`: the CA, a client cert for mutual TLS) turns
    TLS on."""
    host, port = parse_hostport(address)
    tok = token if token is not None else os.environ.get("ZKEDGE_TOKEN")
    ssl_ctx = client_context(tls) if tls is not None else None
    async with _rpc.open_client(
        CoordinatorServiceBase,
        host,
        port,
        token=tok,
        ssl_context=ssl_ctx,
        server_name=tls.server_name if tls is not None else None,
    ) as rpc:
        yield CoordinatorClient(rpc)


@dataclass(frozen=True)
class RemoteProof:
    """A proof the coordinator made and checked: snarkjs's proof.json and public.json objects,
    the workers it quarantined on the way, and the job's id."""

    proof: dict[str, Any]
    public: list[str]
    quarantined: list[str]
    job_id: str


def prove_on_coordinator(
    coordinator: str,
    zkey: str | os.PathLike[str],
    witness: str | os.PathLike[str] | bytes | None = None,
    *,
    inputs: str | None = None,
    wasm: str | os.PathLike[str] | None = None,
    token: str | None = None,
    tls: TlsConfig | None = None,
    detach: bool = False,
) -> RemoteProof:
    """``zkedge prove --coordinator HOST:PORT``: the proof as the coordinator's own job
    (``SubmitProof``): it computes H, runs the MSMs on its fleet, draws the blinding, checks the
    proof and, when a worker lied, re-runs, blames and quarantines before answering. The zkey
    travels once per coordinator (named by its sha256 afterwards). Give the ``witness`` (a
    .wtns path or its bytes), or ``inputs`` (input.json's text) with the circuit's ``wasm``:
    the coordinator then computes the witness (the wasm, too, travels once). Interrupted
    (``KeyboardInterrupt``, or cancelled), it cancels the job before the exception propagates.
    Raises :class:`zkedge.fleet.common.JobFailed` when the job ends without a proof."""
    if (witness is None) == (inputs is None) or (inputs is not None and wasm is None):
        raise ValueError("give the witness, or the inputs and the wasm")
    zkey_path = Path(zkey)
    if isinstance(witness, bytes):
        wtns = witness
    elif witness is not None:
        wtns = Path(witness).read_bytes()
    else:
        wtns = b""
    wasm_path = Path(wasm) if wasm is not None else None
    digest = hashlib.sha256(zkey_path.read_bytes()).hexdigest()
    wasm_digest = hashlib.sha256(wasm_path.read_bytes()).hexdigest() if wasm_path else ""
    job: list[str] = []

    async def submit(client: CoordinatorClient) -> str:
        # name the zkey and the wasm by hash; send whichever the coordinator says it lacks
        send_zkey = send_wasm = False
        while True:
            req = SubmitProofRequest(
                zkey_hash="" if send_zkey else digest,
                zkey=zkey_path.read_bytes() if send_zkey else b"",
                witness=wtns,
                detach=detach,
                input_json=inputs or "",
                wasm_hash="" if send_wasm or wasm_path is None else wasm_digest,
                wasm=wasm_path.read_bytes() if send_wasm and wasm_path is not None else b"",
            )
            try:
                reply: SubmitProofResponse = await client._rpc.call("submit_proof", req)
                return reply.job_id
            except RpcError as exc:
                if exc.status != "NOT_FOUND":
                    raise
                if "no zkey" in exc.message and not send_zkey:
                    send_zkey = True
                elif "no wasm" in exc.message and not send_wasm and wasm_path is not None:
                    send_wasm = True
                else:
                    raise

    async def go() -> JobUpdate:
        async with open_coordinator(coordinator, token=token, tls=tls) as client:
            try:
                job.append(await submit(client))
                return await client.watch(job[0])
            except BaseException:
                with trio.CancelScope(shield=True):
                    await _cancel_jobs(client, job, "the proving client was interrupted")
                raise

    last = trio.run(go)
    if last.state != "done" or not last.proof_json:
        raise JobFailed(f"proof job {last.job_id} {last.state}: {last.error or 'no proof'}")
    return RemoteProof(
        json.loads(last.proof_json), json.loads(last.public_json), list(last.quarantined), job[0]
    )


def prove_remote(
    coordinator: str,
    zk: Zkey,
    wit: Witness,
    *,
    threads: int | None = None,
    progress: bool = False,
    token: str | None = None,
    tls: TlsConfig | None = None,
) -> ProofResult:
    """H here, the five MSMs as jobs on a running coordinator, blinding here, then the proof is
    verified: a proof whose witness and blinding never leave this process, at the price of the
    coordinator's blame (an invalid result is :class:`zkedge.fleet.common.ProofRejected`;
    :func:`prove_on_coordinator` has the coordinator prove, blame and quarantine).

    Interrupted (``KeyboardInterrupt``, or cancelled), it cancels the jobs it submitted before
    the exception propagates, so the fleet stops working on them at once; should that fail (the
    coordinator unreachable), the coordinator cancels them once their watch streams have been
    gone for its grace period."""
    times: dict[str, float] = {}
    h = zk.header
    t = time.monotonic()
    hvec = compute_h(zk, wit, threads=threads)
    times["h"] = time.monotonic() - t
    tasks = [tk for tk in plan_proof(h).tasks if tk.count > 0]
    scal = {"witness": wit.data, "h": hvec}
    results: dict[int, bytes] = {}
    done: dict[int, int] = {}
    submitted: list[str] = []
    prog = Progress("zkedge prove (fleet)", sum(tk.count for tk in tasks) or 1, enabled=progress)

    async def one(client: CoordinatorClient, tk: MsmTask) -> None:
        def on_update(u: JobUpdate) -> None:
            done[tk.index] = u.points_done
            prog.update(sum(done.values()), f"msm {tk.msm}")

        digest = await trio.to_thread.run_sync(_table_digest, zk, tk.msm, tk.group)
        try:
            out = await client.msm(
                h.curve.name,
                tk.group,
                tk.scalar_slice(scal[tk.source]),
                table=digest,
                bases=lambda: _bases_mont(zk, tk.msm),
                on_update=on_update,
                on_submit=submitted.append,
            )
        except JobFailed as exc:
            raise JobFailed(f"fleet job for MSM {tk.msm} failed: {exc}") from None
        results[tk.index] = out.result

    async def go() -> None:
        async with open_coordinator(coordinator, token=token, tls=tls) as client:
            try:
                async with trio.open_nursery() as nursery:
                    for tk in tasks:
                        nursery.start_soon(one, client, tk)
            except BaseException:
                with trio.CancelScope(shield=True):
                    await _cancel_jobs(client, submitted, "the proving client was interrupted")
                raise

    t = time.monotonic()
    trio.run(go)
    prog.close()
    times["fleet msm"] = time.monotonic() - t
    sums: dict[PointSet, Point] = {name: None for name in ("A", "B1", "B2", "C", "H")}
    for tk in tasks:
        sums[tk.msm] = ec.decode(h.curve, tk.group, results[tk.index], "be", check="subgroup")
    r, s = secrets.randbelow(h.curve.r), secrets.randbelow(h.curve.r)
    a, b, c = finish_proof(h, sums, r, s)
    pub = public_signals(zk, wit)
    why = explain_verify(vkey_from_zkey(zk), pub, (a, b, c))
    if why is not None:
        raise ProofRejected(f"the fleet's MSM results give an invalid proof: {why}")
    return ProofResult(h.curve, a, b, c, pub, times)


async def _cancel_jobs(client: CoordinatorClient, job_ids: list[str], reason: str) -> None:
    """Cancel jobs on the coordinator (best effort, within 5 s: an interrupted client must
    exit promptly; the coordinator's watch grace period ends whatever is left)."""
    with trio.move_on_after(5):
        for job_id in job_ids:
            try:
                await client.cancel_job(job_id, reason)
            except (RpcError, ConnectionLost):
                pass


def _table_digest(zk: Zkey, which: PointSet, group: str) -> str:
    """The coordinator's content hash of one of the zkey's tables (kept on the Zkey)."""
    digest = zk.fleet_tables.get(which)
    if digest is None:
        raw = zk.raw.get(which)
        digest = table_hash(
            zk.curve.name, group, raw if raw is not None else _bases_mont(zk, which)
        )
        zk.fleet_tables[which] = digest
    return digest


def _bases_mont(zk: Zkey, which: PointSet) -> bytes:
    raw = zk.raw.get(which)
    if raw is not None:
        return bytes(raw)
    data: bytes = zk.table(which).to_bytes()
    return data
