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


async def start_fleet(
    nursery: trio.Nursery,
    tmp: Path,
    n: int = 2,
    liar: int | None = None,
    shape: str | None = "split",
    extra: dict[int, dict[str, Any]] | None = None,
) -> Any:
    """A coordinator and ``n`` in-process workers w0.. (``extra[i]``: more WorkerConfig
    fields for worker i). ``shape``: every proof job's shape (None: chosen per proof)."""
    from zkedge.fleet.coordinator import Coordinator, SizingPolicy
    from zkedge.fleet.worker import Worker, WorkerConfig

    policy = SizingPolicy(target_seconds=0.05, min_points=16, block_points=16)
    coord = await nursery.start(Coordinator(store=None, policy=policy).serve)
    coord.proofs.shape = shape
    for i in range(n):
        cfg = WorkerConfig(
            coordinator=f"127.0.0.1:{coord.port}",
            worker_id=f"w{i}",
            threads=1,
            cache_dir=tmp / f"w{i}",
            benchmark=False,
            **(extra or {}).get(i, {}),
        )
        token = ROLE.set("liar" if i == liar else "honest")
        try:
            await nursery.start(Worker(cfg).run)
        finally:
            ROLE.reset(token)
    return coord


def _make_workers_lie(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers started with ROLE "liar" add the generator to every partial sum they report
    and to the C of every whole proof (on-curve, wrong results)."""
    import zkedge.fleet.worker.client as wc
    from zkedge import ec
    from zkedge.curves import get_curve
    from zkedge.fleet.worker.executor import TaskResult, run_partial, run_proof

    real = run_partial
    real_proof = run_proof

    async def lying_proof(zk: Any, witness: bytes, threads: Any, stop: Any = None) -> Any:
        res = await real_proof(zk, witness, threads, stop)
        if ROLE.get() != "liar":
            return res
        c = zk.curve
        cut = get_curve(c).point_bytes("G1") + get_curve(c).point_bytes("G2")
        pt = ec.decode(c, "G1", res.result[cut:], "be")
        bad = ec.add(c, "G1", pt, ec.generator(c, "G1"))
        return TaskResult(res.result[:cut] + ec.encode(c, "G1", bad, "be"), res.seconds)

    monkeypatch.setattr(wc, "run_proof", lying_proof)

    async def lying(
        curve: str,
        group: str,
        bases: bytes,
        scalars: bytes,
        threads: Any,
        stop: Any = None,
        **kw: Any,
    ) -> Any:
        res = await real(curve, group, bases, scalars, threads, stop, **kw)
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


async def _submit_all(port: int, zkey: bytes, witnesses: list[bytes]) -> list[Any]:
    """SubmitProof every witness at once (one client), then follow each job to its end."""
    from support.fleet import client

    from zkedge.fleet.proto.coordinator.v1 import SubmitProofRequest, WatchJobRequest

    async with client(port, token=None) as c:
        first = await c.call("submit_proof", SubmitProofRequest(zkey=zkey, witness=witnesses[0]))
        ids = [first.job_id]

        async def one(w: bytes) -> None:
            req = SubmitProofRequest(zkey_hash=first.zkey_hash, witness=w)
            ids.append((await c.call("submit_proof", req)).job_id)

        async with trio.open_nursery() as n:
            for w in witnesses[1:]:
                n.start_soon(one, w)
        finals = []
        for job_id in ids:
            updates = await c.collect("watch_job", WatchJobRequest(job_id=job_id))
            finals.append(updates[-1])
        return finals


async def test_whole_proofs_when_proofs_outnumber_idle_workers(
    tmp_path: Path, snarkjs_verify: Any
) -> None:
    """Four proofs at once over two workers: the shape rule hands out whole proofs (each
    worker proves some of them, the coordinator re-randomises and checks each), the zkey is
    fetched once per worker, and snarkjs accepts every proof."""
    import json

    d = BN
    zkey = (d / "circuit.zkey").read_bytes()
    wits = [(d / name).read_bytes() for name in ("witness.wtns", "witness2.wtns")] * 2
    async with trio.open_nursery() as nursery:
        coord = await start_fleet(nursery, tmp_path, shape=None)
        with trio.fail_after(120):
            finals = await _submit_all(coord.port, zkey, wits)
        shapes = [coord.proofs.jobs[f.job_id].shape for f in finals]
        done = {w.worker_id: w.tasks_done for w in coord.workers()}
        states = {w.worker_id: w.state for w in coord.workers()}
        packing = coord._scheduler_or_raise().dispatcher.packing_saved
        nursery.cancel_scope.cancel()
    assert [f.state for f in finals] == ["done"] * 4, [f.error for f in finals]
    assert packing > 0  # the witnesses went packed (the workers declare it)
    assert states == {"w0": "active", "w1": "active"}  # every re-randomised proof held
    assert all(not f.quarantined for f in finals)
    assert shapes.count("whole") >= 3, shapes
    assert all(v > 0 for v in done.values()), done  # both workers proved
    assert len(list((tmp_path / "w0-zkeys").glob("*.zkey"))) == 1
    for i, f in enumerate(finals):
        pf, pb = tmp_path / f"proof{i}.json", tmp_path / f"public{i}.json"
        pf.write_text(f.proof_json)
        pb.write_text(f.public_json)
        assert snarkjs_verify(d / "verification_key.json", pb, pf, tmp_path)
    assert len({json.loads(f.proof_json)["pi_a"][0] for f in finals}) == 4


@pytest.mark.parametrize("n", [1, 2])
async def test_a_lying_worker_with_whole_proof_tasks(
    n: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, snarkjs_verify: Any
) -> None:
    """Whole proofs through the client path with a liar (w0) in the fleet: the coordinator
    finds the proof invalid, proves the witness itself, quarantines the liar, and the client
    gets a valid proof."""
    import json

    from zkedge.fleet.client import prove_on_coordinator

    _make_workers_lie(monkeypatch)
    d = BLS
    async with trio.open_nursery() as nursery:
        coord = await start_fleet(nursery, tmp_path, n=n, liar=0, shape="whole")
        # with two workers, the honest one gets no whole proofs until the liar has one
        got = []
        with trio.fail_after(180):
            while "w0" not in got:
                res = await trio.to_thread.run_sync(
                    lambda: prove_on_coordinator(
                        f"127.0.0.1:{coord.port}", d / "circuit.zkey", d / "witness.wtns"
                    )
                )
                got += res.quarantined
                pf, pb = tmp_path / "proof.json", tmp_path / "public.json"
                pf.write_text(json.dumps(res.proof))
                pb.write_text(json.dumps(res.public))
                assert snarkjs_verify(d / "verification_key.json", pb, pf, tmp_path)
        states = {w.worker_id: w.state for w in coord.workers()}
        nursery.cancel_scope.cancel()
    assert got == ["w0"] and states["w0"] == "quarantined"
    assert all(s == "active" for w, s in states.items() if w != "w0")


async def test_a_witness_that_does_not_satisfy_the_circuit_blames_no_worker(
    tmp_path: Path,
) -> None:
    """A whole proof of a wrong witness is invalid whoever proves it: the coordinator's own
    proof fails too, the job fails saying so, and no worker is quarantined."""
    d = BN
    wtns = bytearray((d / "witness.wtns").read_bytes())
    wtns[-1] ^= 1  # the last signal's top byte: still below r, no longer a solution
    zkey = (d / "circuit.zkey").read_bytes()
    async with trio.open_nursery() as nursery:
        coord = await start_fleet(nursery, tmp_path, n=1, shape="whole")
        with trio.fail_after(120):
            (final,) = await _submit_all(coord.port, zkey, [bytes(wtns)])
        states = {w.worker_id: w.state for w in coord.workers()}
        nursery.cancel_scope.cancel()
    assert final.state == "failed" and "does not satisfy the circuit" in final.error
    assert states == {"w0": "active"}


async def test_cancelling_a_whole_proof_stops_the_worker(tmp_path: Path) -> None:
    """CancelJob on a whole-proof job: its task is called back and the worker stops it; the
    scheduler holds nothing of it afterwards."""
    from support.fleet import client

    from zkedge.fleet.proto.coordinator.v1 import CancelJobRequest, SubmitProofRequest

    d = BN
    async with trio.open_nursery() as nursery:
        coord = await start_fleet(
            nursery, tmp_path, n=1, shape="whole", extra={0: {"task_delay": 30.0}}
        )
        async with client(coord.port, token=None) as c:
            with trio.fail_after(30):
                req = SubmitProofRequest(
                    zkey=(d / "circuit.zkey").read_bytes(),
                    witness=(d / "witness.wtns").read_bytes(),
                    detach=True,
                )
                job_id = (await c.call("submit_proof", req)).job_id
                while not any(w.inflight for w in coord.workers()):
                    await trio.sleep(0.05)
                reply = await c.call("cancel_job", CancelJobRequest(job_id=job_id))
                assert reply.cancelled
                sched = coord._scheduler_or_raise()
                while any(w.inflight for w in coord.workers()) or sched.running:
                    await trio.sleep(0.05)
        assert coord.proofs.jobs[job_id].state == "cancelled"
        nursery.cancel_scope.cancel()


async def test_whole_proofs_go_only_to_workers_that_take_them(tmp_path: Path) -> None:
    """w0 declares no proof tasks: with every proof whole, w1 proves them all."""
    d = BN
    zkey = (d / "circuit.zkey").read_bytes()
    wits = [(d / "witness.wtns").read_bytes()] * 3
    async with trio.open_nursery() as nursery:
        coord = await start_fleet(
            nursery, tmp_path, shape="whole", extra={0: {"proof_tasks": False}}
        )
        with trio.fail_after(120):
            finals = await _submit_all(coord.port, zkey, wits)
        done = {w.worker_id: w.tasks_done for w in coord.workers()}
        nursery.cancel_scope.cancel()
    assert [f.state for f in finals] == ["done"] * 3
    assert done == {"w0": 0, "w1": 3}


async def test_a_fault_while_shaping_fails_the_waiting_proofs_not_the_coordinator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in the shape rule ends the proofs waiting for a shape as failed, with the reason;
    the coordinator keeps serving and proves the next one."""
    import zkedge.fleet.coordinator.proofs as proofs_mod

    d = BN
    zkey = (d / "circuit.zkey").read_bytes()
    wtns = (d / "witness.wtns").read_bytes()

    def broken(*a: Any) -> bool:
        raise ZeroDivisionError("shape rule bug")

    async with trio.open_nursery() as nursery:
        coord = await start_fleet(nursery, tmp_path, n=1, shape=None)
        with trio.fail_after(120):
            monkeypatch.setattr(proofs_mod, "takes_whole", broken)
            (bad,) = await _submit_all(coord.port, zkey, [wtns])
            monkeypatch.undo()
            (good,) = await _submit_all(coord.port, zkey, [wtns])
        nursery.cancel_scope.cancel()
    assert bad.state == "failed" and "internal error: ZeroDivisionError" in bad.error
    assert good.state == "done"
