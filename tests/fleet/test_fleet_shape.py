"""The shape of a proof (split or whole), which workers can take a whole proof, the
re-randomisation of a worker's proof, and the worker's zkey store."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import trio
from support.g16_paths import fixture_dir, needs_native

from zkedge.fleet.coordinator.model import NodeFacts
from zkedge.fleet.coordinator.shape import (
    SPLIT,
    WHOLE,
    choose_shape,
    proof_memory,
    split_seconds,
    takes_whole,
    whole_seconds,
)
from zkedge.fleet.worker.zkeys import ZkeyStore


@pytest.mark.parametrize(
    ("ready", "idle", "capable", "shape"),
    [
        (1, 2, 2, SPLIT),  # one proof, two idle workers: cut it, use both
        (2, 2, 2, SPLIT),  # as many proofs as idle workers: not outnumbered
        (3, 2, 2, WHOLE),  # more proofs than idle workers: nobody would idle
        (1, 0, 2, WHOLE),  # every worker busy: a whole proof waits for the first free one
        (8, 2, 1, WHOLE),
        (8, 2, 0, SPLIT),  # nobody can hold it whole
    ],
)
def test_choose_shape(ready: int, idle: int, capable: int, shape: str) -> None:
    assert choose_shape(ready=ready, idle=idle, capable=capable) == shape


def test_a_lone_proof_goes_whole_only_when_one_worker_would_be_sooner() -> None:
    """With idle workers a proof is split, unless one worker would finish it sooner (slow
    links); and never whole when nobody can take it."""
    assert choose_shape(ready=1, idle=2, capable=2, whole_sooner=True) == WHOLE
    assert choose_shape(ready=1, idle=2, capable=2, whole_sooner=False) == SPLIT
    assert choose_shape(ready=1, idle=2, capable=0, whole_sooner=True) == SPLIT


def test_split_and_whole_estimates() -> None:
    """The split is bound by the fleet's compute or its links, whichever is slower (they
    overlap); a whole proof waits for its bytes, then computes alone."""
    # 1000 units over two workers of 1000 units/s: compute 0.5 s; 2 MB over two 1 MB/s links
    assert split_seconds(1000, [1000, 1000], 2e6, [1e6, 1e6]) == 1.0
    assert split_seconds(1000, [1000, 1000], 2e5, [1e6, 1e6]) == 0.5
    assert whole_seconds(1000, 1000, 1e6, 1e6, rtt=0.01) == 2.01
    for bad in ([], [0.0]):
        assert split_seconds(1000, bad, 1, [1e6]) == math.inf
    assert split_seconds(1000, [1000, 1000], 1, [1e6, 0.0]) == math.inf  # a link not measured
    assert whole_seconds(1000, 0.0, 1, 1e6) == math.inf
    assert whole_seconds(1000, 1000, 1, 0.0) == math.inf


@needs_native
@pytest.mark.parametrize(
    ("rate", "held", "shape"),
    [
        (1e12, True, SPLIT),  # fast links: two workers compute it sooner
        (2e3, True, WHOLE),  # 16 kbit/s: H's evaluations would take longer than proving
        (2e3, False, SPLIT),  # ... but not when the zkey itself has to cross first
    ],
)
async def test_the_shape_of_a_lone_proof_follows_the_measured_links(
    nursery: trio.Nursery, rate: float, held: bool, shape: str
) -> None:
    """Two idle workers that can prove whole, with links measured at ``rate`` bytes/s: a lone
    proof is split unless one of them, holding the zkey, would finish it sooner."""
    from support.fleet import client, port_of, start_coordinator

    from zkedge.fleet.proto.coordinator.v1 import (
        LoadReport,
        NodeInfo,
        ReceiveTasksRequest,
        RegisterWorkerRequest,
    )

    d = fixture_dir("bn128")
    zkey, wtns = (d / "circuit.zkey").read_bytes(), (d / "witness.wtns").read_bytes()
    digest = hashlib.sha256(zkey).hexdigest()
    node = NodeInfo(
        hostname="h", cores=1, bench_points_per_sec=1e5, proof_tasks=True, packed_scalars=True
    )
    load = LoadReport(rtt_seconds=0.005, recv_bytes_per_sec=rate)
    with trio.fail_after(30):
        coord = await start_coordinator(nursery, None)
        async with client(port_of(coord)) as c, trio.open_nursery() as streams:
            for wid in ("w0", "w1"):
                reg = await c.call(
                    "register_worker",
                    RegisterWorkerRequest(
                        worker_id=wid,
                        node=node,
                        load_report=load,
                        cached_zkeys=[digest] if held else [],
                    ),
                )
                req = ReceiveTasksRequest(worker_id=wid, session_id=reg.session_id)
                streams.start_soon(c.stream, "receive_tasks", req, lambda _: None)
            while sum(1 for w in coord.workers() if w.assignable) < 2:
                await trio.sleep(0.01)
            await coord.proofs.add_zkey(zkey)
            job = await coord.proofs.submit(digest, wtns, watched=False)
            while not job.shape:
                await trio.sleep(0.01)
            job.scope.cancel()
            streams.cancel_scope.cancel()
    assert job.shape == shape


def test_choose_shape_refuses_impossible_counts() -> None:
    for ready, idle in ((0, 1), (1, -1)):
        with pytest.raises(ValueError):
            choose_shape(ready=ready, idle=idle, capable=1)
    with pytest.raises(ValueError):
        choose_shape(ready=1, idle=1, capable=-1)


def test_takes_whole_follows_the_node_facts() -> None:
    zkey, wit = 10 << 20, 1 << 20
    ok = NodeFacts(proof_tasks=True)
    assert takes_whole(ok, "bn254", zkey, wit)
    assert not takes_whole(NodeFacts(), "bn254", zkey, wit)  # does not run them
    assert not takes_whole(NodeFacts(proof_tasks=True, curves=("bls12_381",)), "bn254", zkey, wit)
    assert takes_whole(NodeFacts(proof_tasks=True, curves=("bn254",)), "bn254", zkey, wit)
    # the witness must fit the receive limit (4 MiB when undeclared)
    assert not takes_whole(ok, "bn254", zkey, 4 << 20)
    assert takes_whole(
        NodeFacts(proof_tasks=True, max_receive_bytes=8 << 20), "bn254", zkey, 4 << 20
    )
    # half the memory must hold three times the zkey
    mem = 2 * proof_memory(zkey)
    assert takes_whole(NodeFacts(proof_tasks=True, memory_bytes=mem), "bn254", zkey, wit)
    assert not takes_whole(NodeFacts(proof_tasks=True, memory_bytes=mem - 1), "bn254", zkey, wit)


@needs_native
@pytest.mark.parametrize("name", ["bn128", "bls12381"])
def test_rerandomized_proofs_verify_and_look_fresh(name: str) -> None:
    """A' = A/t, B' = tB + u delta2, C' = C + (u/t) A: valid again, and unlike the original;
    a wrong proof stays wrong."""
    from zkedge import ec
    from zkedge.fleet.coordinator._groth16 import rerandomize
    from zkedge.groth16.prover import load_inputs, prove_points
    from zkedge.groth16.verifier import explain_verify
    from zkedge.groth16.vkey import vkey_from_zkey

    d = fixture_dir(name)
    zk, wit = load_inputs(d / "circuit.zkey", d / "witness.wtns")
    res = prove_points(zk, wit, threads=1)
    vk = vkey_from_zkey(zk)
    assert explain_verify(vk, res.public, (res.a, res.b, res.c)) is None
    a2, b2, c2 = rerandomize(zk, res.a, res.b, res.c, 12345, 678)
    assert explain_verify(vk, res.public, (a2, b2, c2)) is None
    assert a2 != res.a and b2 != res.b and c2 != res.c
    bad_c = ec.add(zk.curve, "G1", res.c, ec.generator(zk.curve, "G1"))
    assert explain_verify(vk, res.public, rerandomize(zk, res.a, res.b, bad_c, 5, 7)) is not None
    with pytest.raises(ValueError):
        rerandomize(zk, res.a, res.b, res.c, zk.curve.r, 1)


def _serve(data: bytes, cut: int | None = None) -> Callable[..., Any]:
    """A FetchZkey stand-in: chunks of 1000 bytes from the offset (stopping at ``cut``)."""
    calls: list[int] = []

    async def fetch(digest: str, offset: int, write: Callable[[int, bytes], None]) -> None:
        calls.append(offset)
        end = len(data) if cut is None else cut
        for pos in range(offset, end, 1000):
            write(pos, data[pos : min(end, pos + 1000)])
        if cut is not None:
            raise ConnectionError("link dropped")

    fetch.calls = calls  # type: ignore[attr-defined]
    return fetch


@needs_native
async def test_zkey_store_downloads_checks_resumes_and_evicts(tmp_path: Path) -> None:
    data = (fixture_dir("bn128") / "circuit.zkey").read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    store = ZkeyStore(tmp_path / "zk", keep=1)
    # a broken download leaves its part; the next one resumes from there
    with pytest.raises(ConnectionError):
        await store.get(digest, len(data), _serve(data, cut=2500))
    assert (tmp_path / "zk" / f"{digest}.part").stat().st_size == 2500
    resume = _serve(data)
    zk = await store.get(digest, len(data), resume)
    assert resume.calls == [2500] and zk.curve.name == "bn254"  # type: ignore[attr-defined]
    assert store.hashes() == [digest]
    # held: no fetch; the parsed zkey is reused
    assert await store.get(digest, len(data), _serve(b"")) is zk
    # bytes that are not the file named are refused and not kept
    other = hashlib.sha256(b"x").hexdigest()
    with pytest.raises(ValueError, match="sha256"):
        await store.get(other, len(data), _serve(data))
    assert not list((tmp_path / "zk").glob(f"{other}*"))
    with pytest.raises(ValueError):
        store.path("../etc/passwd")
    # a second zkey evicts the first (keep=1)
    data2 = (fixture_dir("bls12381") / "circuit.zkey").read_bytes()
    d2 = hashlib.sha256(data2).hexdigest()
    await trio.sleep(0.01)
    await store.get(d2, len(data2), _serve(data2))
    assert store.hashes() == [d2]


async def test_a_worker_cannot_loop_a_whole_proof_by_claiming_missing_scalars() -> None:
    """``scalars_missing`` means nothing for a whole proof (its witness travels with it): each
    such report is a strike, and the job fails after max_attempts instead of cycling."""
    from zkedge.fleet.coordinator.model import ProveOrder
    from zkedge.fleet.coordinator.registry import Registry
    from zkedge.fleet.coordinator.scheduler import Scheduler
    from zkedge.fleet.coordinator.sizing import SizingPolicy
    from zkedge.fleet.coordinator.store import Store

    policy = SizingPolicy()
    reg = Registry(policy)
    sched = Scheduler(Store(None), reg, policy, max_attempts=3, pipeline_depth=1)
    w = reg.register("w", NodeFacts(proof_tasks=True, bench_points_per_sec=1e4), {}, None)
    recv = reg.open_stream(w)
    job = sched.submit_proof("bn254", "ab" * 32, 1000, b"\x00" * 64, units=10, points=10, memory=0)
    for _ in range(3):
        order = recv.receive_nowait()
        assert isinstance(order, ProveOrder)
        sched.fail("w", order.task_id, order.attempt, "no", False, scalars_missing=True)
    assert job.state == "failed" and "failed 3 times" in (job.error or "")
