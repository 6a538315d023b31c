"""Helpers for fleet tests: coordinators on 127.0.0.1 port 0, raw clients, base tables."""

from __future__ import annotations

import hashlib
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio

from zkedge.fleet import rpc
from zkedge.fleet.coordinator import Coordinator, SizingPolicy
from zkedge.fleet.coordinator.model import Assignment
from zkedge.fleet.proto.coordinator.v1 import CoordinatorServiceBase

TOKEN = "s3cret-token"
SMALL = SizingPolicy(target_seconds=0.05, min_points=16, block_points=16, tail_fraction=0.5)


def native_or_skip() -> Any:
    """The native MSM module; fleet integration tests use the real core, never a mock."""
    return pytest.importorskip("zkedge.msm", reason="zkedge native core not built")


async def start_workers(
    nursery: trio.Nursery, coord: Coordinator, tmp: Path, ids: list[str], **kw: Any
) -> list[Any]:
    """In-process workers (real native core), one thread each, without the startup benchmark."""
    from zkedge.fleet.worker import Worker, WorkerConfig

    kw.setdefault("benchmark", False)
    out = []
    for wid in ids:
        cfg = WorkerConfig(
            coordinator=f"127.0.0.1:{coord.port}",
            worker_id=wid,
            threads=1,
            cache_dir=tmp / f"cache-{wid}",
            token=TOKEN,
            **kw,
        )
        out.append(await nursery.start(Worker(cfg).run))
    return out


async def start_coordinator(nursery: trio.Nursery, store: Path | None, **kw: Any) -> Coordinator:
    kw.setdefault("policy", SMALL)
    kw.setdefault("token", TOKEN)
    coord: Coordinator = await nursery.start(Coordinator(store=store, **kw).serve)
    return coord


def port_of(coord: Coordinator) -> int:
    """The port a coordinator started by :func:`start_coordinator` listens on (``serve`` sets
    it before reporting started)."""
    if coord.port is None:
        raise RuntimeError("the coordinator is not serving")
    return coord.port


@asynccontextmanager
async def client(port: int, token: str | None = TOKEN) -> AsyncIterator[rpc.GrpcClient]:
    async with rpc.open_client(CoordinatorServiceBase, "127.0.0.1", port, token=token) as c:
        yield c


def make_table(curve: str, group: str, n: int, seed: int = 1) -> tuple[Any, list[int]]:
    """A BaseTable of n distinct points and n random scalars (0 and 1 included)."""
    from zkedge import ec
    from zkedge.curves import get_curve
    from zkedge.msm import BaseTable

    c = get_curve(curve)
    rng = random.Random(seed)
    g = ec.mul(c, group, ec.generator(c, group), rng.randrange(1, c.r))
    pts, acc = [], g
    for _ in range(n):
        pts.append(acc)
        acc = ec.add(c, group, acc, g)
    scalars = [rng.randrange(c.r) for _ in range(n)]
    scalars[0], scalars[-1] = 0, 1
    return BaseTable.from_points(c, group, pts), scalars


def assignments(recv: trio.MemoryReceiveChannel[Any]) -> list[Assignment]:
    """The MSM assignments waiting on a worker's order stream (cancellations and whole-proof
    orders skipped), without blocking."""
    out: list[Assignment] = []
    while True:
        try:
            msg = recv.receive_nowait()
        except trio.WouldBlock:
            return out
        if isinstance(msg, Assignment):
            out.append(msg)


def failure_reasons(coord: Coordinator, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The error of every failure a worker reports to ``coord`` from now on, in order (the
    scheduler's ``fail`` wrapped: the failures go on as before)."""
    sched = coord._scheduler_or_raise()
    real_fail = sched.fail
    reasons: list[str] = []

    def fail(*args: Any, **kw: Any) -> Any:
        reasons.append(args[3])
        return real_fail(*args, **kw)

    monkeypatch.setattr(sched, "fail", fail)
    return reasons


class TaskStreamService:
    """A bare ``CoordinatorService`` for transport tests: ``ReceiveTasks`` streams the given
    messages and ends; ``SubmitMsm`` answers the SHA-256 of its bases, "|" and its scalars
    (what the server received); every other RPC is UNIMPLEMENTED."""

    def __init__(self, messages: list[Any]) -> None:
        self.messages = messages

    async def receive_tasks(self, request: Any) -> Any:
        left = list(self.messages)

        class Source:
            async def receive(self) -> Any:
                return left.pop(0) if left else None

            def close(self) -> None:
                pass

        return Source()

    async def submit_msm(self, request: Any) -> Any:
        from zkedge.fleet.proto.coordinator.v1 import SubmitMsmResponse

        digest = hashlib.sha256(request.bases + b"|" + request.scalars).hexdigest()
        return SubmitMsmResponse(job_id=digest)

    def __getattr__(self, name: str) -> Any:
        if name.endswith("_sync"):  # (rpc looks for a sync fast path of each RPC)
            raise AttributeError(name)

        async def unimplemented(request: Any) -> Any:
            raise rpc.RpcError("UNIMPLEMENTED", name)

        return unimplemented
