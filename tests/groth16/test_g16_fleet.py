"""Groth16 across the fleet: a coordinator and two in-process workers on 127.0.0.1."""

from __future__ import annotations

import contextvars
from pathlib import Path
from typing import Any

import pytest
import trio
from support.g16_paths import fixture_dir, needs_native

pytestmark = [needs_native]

BN = fixture_dir("bn128")
BLS = fixture_dir("bls12381")
ROLE: contextvars.ContextVar[str] = contextvars.ContextVar("g16_worker_role", default="honest")


async def start_fleet(nursery: trio.Nursery, tmp: Path, n: int = 2, liar: int | None = None) -> Any:
    from zkedge.fleet.coordinator import Coordinator, SizingPolicy
    from zkedge.fleet.worker import Worker, WorkerConfig

    policy = SizingPolicy(target_seconds=0.05, min_points=16, block_points=16)
    coord = await nursery.start(Coordinator(store=None, policy=policy).serve)
    for i in range(n):
        cfg = WorkerConfig(
            coordinator=f"127.0.0.1:{coord.port}",
            worker_id=f"w{i}",
            threads=1,
            cache_dir=tmp / f"w{i}",
            benchmark=False,
        )
        token = ROLE.set("liar" if i == liar else "honest")
        try:
            await nursery.start(Worker(cfg).run)
        finally:
            ROLE.reset(token)
    return coord


def _make_workers_lie(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers started with ROLE "liar" add the generator to every partial sum they report
    (an on-curve, wrong result)."""
    import zkedge.fleet.worker.client as wc
    from zkedge import ec
    from zkedge.fleet.worker.executor import TaskResult, run_partial

    real = run_partial

    async def lying(
        curve: str, group: str, bases: bytes, scalars: bytes, threads: Any, stop: Any = None
    ) -> Any:
        res = await real(curve, group, bases, scalars, threads, stop)
        if ROLE.get() != "liar":
            return res
        pt = ec.decode(curve, group, res.result, "be")
        bad = ec.add(curve, group, pt, ec.generator(curve, group))
        return TaskResult(ec.encode(curve, group, bad, "be"), res.seconds)

    monkeypatch.setattr(wc, "run_partial", lying)


@pytest.mark.parametrize("name", ["bn128", "bls12381"])
async def test_fleet_proof_verifies(name: str, tmp_path: Path, snarkjs_verify: Any) -> None:
    """Both plans: H first and one job (the default here, the workers share this host), and H
    overlapping a first job of the witness MSMs (as with workers on other machines)."""
    from zkedge.fleet.coordinator._groth16 import prove_groth16, workers_share_this_host

    d = fixture_dir(name)
    async with trio.open_nursery() as nursery:
        coord = await start_fleet(nursery, tmp_path)
        assert workers_share_this_host(coord)
        with trio.fail_after(120):
            res = await prove_groth16(coord, d / "circuit.zkey", d / "witness.wtns")
            # the same zkey again: workers reuse their cached bases
            res2 = await prove_groth16(
                coord, d / "circuit.zkey", d / "witness2.wtns", h_first=False
            )
        nursery.cancel_scope.cancel()
    assert "," not in res.job_id and len(res2.job_id.split(",")) == 2
    assert res.quarantined == [] and set(res.shares) <= {"w0", "w1"}
    assert sum(v[0] for v in res.shares.values()) > 0
    proof, public = res.to_json()
    assert snarkjs_verify(d / "verification_key.json", public, proof, tmp_path)
    proof2, public2 = res2.to_json()
    assert public2 != public
    assert snarkjs_verify(d / "verification_key.json", public2, proof2, tmp_path)


@pytest.mark.parametrize("n", [3, 1])
async def test_lying_worker_is_caught(
    n: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, snarkjs_verify: Any
) -> None:
    """3 workers: re-runs elsewhere disagree, the coordinator settles it and quarantines the
    liar. 1 worker: nobody can re-run, the coordinator recomputes the tasks itself."""
    from zkedge.fleet.coordinator._groth16 import prove_groth16

    _make_workers_lie(monkeypatch)
    d = BLS
    async with trio.open_nursery() as nursery:
        coord = await start_fleet(nursery, tmp_path, n=n, liar=n // 2)
        with trio.fail_after(180):
            res = await prove_groth16(coord, d / "circuit.zkey", d / "witness.wtns")
        nursery.cancel_scope.cancel()
    assert res.quarantined == [f"w{n // 2}"]
    proof, public = res.to_json()
    assert snarkjs_verify(d / "verification_key.json", public, proof, tmp_path)


def test_cli_prove_through_remote_coordinator(
    tmp_path: Path, snarkjs_verify: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``zkedge prove ... --coordinator HOST:PORT`` against real coordinator/worker processes,
    twice: a proof job on the coordinator; the second proof names the zkey by hash only."""
    import os
    import re
    import subprocess
    import sys
    import time

    from zkedge.cli._groth16 import main

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    py = [sys.executable, "-m", "zkedge.cli._fleet"]
    procs: list[subprocess.Popen[Any]] = []
    try:
        coord = subprocess.Popen(
            [*py, "coordinator", "--bind", "127.0.0.1:0", "--store", ":memory:"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        )  # fmt: skip
        procs.append(coord)
        assert coord.stdout is not None
        deadline = time.monotonic() + 30
        addr = None
        while addr is None and time.monotonic() < deadline:
            line = coord.stdout.readline()
            m = re.search(r"listening on (\S+:\d+)", line)
            addr = m.group(1) if m else None
        assert addr, "coordinator did not start"
        for i in range(2):
            argv = [*py, "worker", "--coordinator", addr, "--id", f"rw{i}", "--threads", "1",
                    "--no-benchmark", "--cache-dir", str(tmp_path / f"rw{i}")]  # fmt: skip
            procs.append(
                subprocess.Popen(
                    argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
                )
            )
        d = BLS
        proof, public = tmp_path / "proof.json", tmp_path / "public.json"
        import zkedge.fleet.proto.coordinator.v1 as pb

        sent: list[bool] = []  # per SubmitProof: did it carry the zkey?

        class Recording(pb.SubmitProofRequest):
            def __post_init__(self) -> None:
                super().__post_init__()
                sent.append(bool(self.zkey))

        import zkedge.fleet.client

        monkeypatch.setattr(zkedge.fleet.client, "SubmitProofRequest", Recording)
        for wtns in ("witness.wtns", "witness2.wtns"):
            sent.clear()
            rc = main(["prove", str(d / "circuit.zkey"), str(d / wtns), str(proof),
                       str(public), "--coordinator", addr, "-q"])  # fmt: skip
            assert rc == 0
            assert snarkjs_verify(d / "verification_key.json", public, proof, tmp_path)
            # first proof: names the zkey by hash, is told NOT_FOUND and sends it; the second
            # names it only
            first = wtns == "witness.wtns"
            assert sent == ([False, True] if first else [False]), sent
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            if p.stdout is not None:
                p.stdout.close()


async def test_second_proof_sends_only_scalars(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bases are fetched once per zkey and cached; the next proof fetches none."""
    from zkedge.fleet.coordinator._groth16 import prove_groth16
    from zkedge.fleet.worker.cache import BaseCache

    puts: list[int] = []
    real_put = BaseCache.put

    def counting_put(self: Any, *args: Any, **kw: Any) -> Any:
        puts.append(1)
        return real_put(self, *args, **kw)

    monkeypatch.setattr(BaseCache, "put", counting_put)
    d = BLS
    async with trio.open_nursery() as nursery:
        coord = await start_fleet(nursery, tmp_path, n=1)
        with trio.fail_after(120):
            await prove_groth16(coord, d / "circuit.zkey", d / "witness.wtns")
            first = len(puts)
            res = await prove_groth16(coord, d / "circuit.zkey", d / "witness2.wtns")
        nursery.cancel_scope.cancel()
    assert first > 0 and len(puts) == first
    assert res.public != []


async def test_same_zkey_object_adds_its_tables_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A parsed Zkey proved twice on one coordinator: its five point tables are added (copied
    and hashed) once; the second proof names them by content hash."""
    from zkedge.fleet.coordinator import Coordinator
    from zkedge.fleet.coordinator._groth16 import prove_groth16
    from zkedge.groth16.prover import load_inputs

    added: list[str] = []
    real_add = Coordinator.add_table

    async def counting_add(self: Any, *args: Any, **kw: Any) -> str:
        digest: str = await real_add(self, *args, **kw)
        added.append(digest)
        return digest

    monkeypatch.setattr(Coordinator, "add_table", counting_add)
    d = BLS
    zk, wit = load_inputs(d / "circuit.zkey", d / "witness.wtns")
    async with trio.open_nursery() as nursery:
        coord = await start_fleet(nursery, tmp_path, n=1)
        with trio.fail_after(120):
            res1 = await prove_groth16(coord, zk, wit)
            first = list(added)
            res2 = await prove_groth16(coord, zk, wit)
        nursery.cancel_scope.cancel()
    assert len(first) == len(set(first)) == 5 and added == first
    assert set(zk.fleet_tables.values()) == set(first)
    assert res1.public == res2.public and (res1.a, res1.c) != (res2.a, res2.c)  # fresh r, s


async def test_a_lying_worker_through_the_client_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, snarkjs_verify: Any
) -> None:
    """A proof submitted over gRPC (what ``zkedge prove --coordinator`` and any client written
    from the proto do) with a lying worker in the fleet: the coordinator re-runs, blames and
    quarantines, and the client gets a valid proof."""
    from zkedge.fleet.client import prove_on_coordinator

    _make_workers_lie(monkeypatch)
    d = BN
    async with trio.open_nursery() as nursery:
        coord = await start_fleet(nursery, tmp_path, n=3, liar=1)
        with trio.fail_after(180):
            res = await trio.to_thread.run_sync(
                lambda: prove_on_coordinator(
                    f"127.0.0.1:{coord.port}", d / "circuit.zkey", d / "witness.wtns"
                )
            )
        states = {w.worker_id: w.state for w in coord.workers()}
        nursery.cancel_scope.cancel()
    assert res.quarantined == ["w1"] and states["w1"] == "quarantined"
    pf, pb = tmp_path / "proof.json", tmp_path / "public.json"
    import json

    pf.write_text(json.dumps(res.proof))
    pb.write_text(json.dumps(res.public))
    assert snarkjs_verify(d / "verification_key.json", pb, pf, tmp_path)


async def test_submit_proof_refuses_bad_input_and_cancels(tmp_path: Path) -> None:
    """SubmitProof: a zkey that is not one, an unknown hash, no witness, a witness of another
    circuit; then a proof job cancelled while it waits for workers ends as cancelled."""
    from support.fleet import client

    from zkedge.fleet import rpc
    from zkedge.fleet.coordinator import Coordinator
    from zkedge.fleet.proto.coordinator.v1 import (
        CancelJobRequest,
        SubmitProofRequest,
        WatchJobRequest,
    )

    zkey = (BN / "circuit.zkey").read_bytes()
    wtns = (BN / "witness.wtns").read_bytes()
    other = (BLS / "witness.wtns").read_bytes()
    async with trio.open_nursery() as nursery:
        coord = await nursery.start(Coordinator(store=None, token="t").serve)
        async with client(coord.port, token="t") as c:
            bad = [
                (SubmitProofRequest(zkey=b"not a zkey", witness=wtns), "INVALID_ARGUMENT"),
                (SubmitProofRequest(zkey_hash="ab" * 32, witness=wtns), "NOT_FOUND"),
                (SubmitProofRequest(zkey=zkey), "INVALID_ARGUMENT"),
                (SubmitProofRequest(zkey=zkey, witness=other), "INVALID_ARGUMENT"),
                (SubmitProofRequest(zkey=zkey, witness=b"junk"), "INVALID_ARGUMENT"),
            ]
            for req, status in bad:
                with pytest.raises(rpc.RpcError) as info:
                    await c.call("submit_proof", req)
                assert info.value.status == status, (req.zkey_hash, info.value)
            # no workers: the job waits; cancelling it ends it as cancelled
            with trio.fail_after(30):
                reply = await c.call("submit_proof", SubmitProofRequest(zkey=zkey, witness=wtns))
                again = await c.call(
                    "submit_proof", SubmitProofRequest(zkey_hash=reply.zkey_hash, witness=wtns)
                )
                assert again.job_id != reply.job_id
                done = await c.call("cancel_job", CancelJobRequest(job_id=reply.job_id))
                assert done.cancelled and done.state == "cancelled"
                (last,) = await c.collect("watch_job", WatchJobRequest(job_id=reply.job_id))
                assert last.state == "cancelled" and last.label == "proof"
        nursery.cancel_scope.cancel()


async def test_inputs_over_the_fleet(tmp_path: Path, snarkjs_verify: Any) -> None:
    """``zkedge groth16 fullprove ... --coordinator``: the device sends input.json and the
    circuit's wasm (the wasm once: named by hash afterwards); the coordinator computes the
    witness and proves; snarkjs accepts the proof. A failing input is INVALID_ARGUMENT."""
    pytest.importorskip("wasmtime")
    import hashlib

    from support.circom_paths import pubmix

    from zkedge.cli import main
    from zkedge.fleet.client import RpcError, prove_on_coordinator

    wasm = pubmix("bn128")
    inputs = wasm.parent / "input.json"
    async with trio.open_nursery() as nursery:
        coord = await start_fleet(nursery, tmp_path)
        addr = f"127.0.0.1:{coord.port}"
        proof, public = tmp_path / "proof.json", tmp_path / "public.json"
        argv = ["groth16", "fullprove", str(inputs), str(wasm), str(BN / "circuit.zkey"),
                str(proof), str(public), "--coordinator", addr, "-q"]  # fmt: skip
        with trio.fail_after(120):
            assert await trio.to_thread.run_sync(main, argv) == 0
            assert snarkjs_verify(BN / "verification_key.json", public, proof, tmp_path)
            assert coord.proofs.has_wasm(hashlib.sha256(wasm.read_bytes()).hexdigest())
            with pytest.raises(RpcError) as info:  # a signal the circuit does not have
                await trio.to_thread.run_sync(
                    lambda: prove_on_coordinator(
                        addr, BN / "circuit.zkey", inputs='{"nope": 1}', wasm=wasm
                    )
                )
            assert info.value.status == "INVALID_ARGUMENT"
        nursery.cancel_scope.cancel()
