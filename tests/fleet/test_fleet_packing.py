"""Packed scalars: task scalars and whole-proof witnesses travel without their high zero bytes
to workers that declare NodeInfo.packed_scalars. The encoding against a reference written
here, unreadable input, the dispatcher's choice per worker and slice, the transfer estimate,
and real workers over gRPC (results equal local MSMs; a corrupt packing fails one attempt)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st
from support.fleet import (
    assignments,
    failure_reasons,
    native_or_skip,
    start_coordinator,
    start_workers,
)

from zkedge.fleet.coordinator import MsmSpec
from zkedge.fleet.coordinator.model import MsmState, NodeFacts
from zkedge.fleet.coordinator.registry import Registry
from zkedge.fleet.coordinator.scheduler import Scheduler
from zkedge.fleet.coordinator.sizing import SizingPolicy
from zkedge.fleet.coordinator.store import Store
from zkedge.fleet.coordinator.wire import task_message
from zkedge.msm import pack_scalars, packed_block_bytes, unpack_scalars

R = 21888242871839275222246405745257275088548364400416034343698204186575808495617  # bn254 r

# values as circom witnesses hold them: zero, one, small counters, and full-size field elements
values = st.one_of(
    st.sampled_from([0, 1, 2, 255, 256, 2**64 - 1, 2**64, R - 1]),
    st.integers(0, 2**16),
    st.integers(0, 2**256 - 1),
)


def reference_pack(vals: list[int]) -> bytes:
    out = bytearray()
    for v in vals:
        raw = v.to_bytes(32, "little").rstrip(b"\0")
        out += bytes([len(raw)]) + raw
    return bytes(out)


def raw(vals: list[int]) -> bytes:
    return b"".join(v.to_bytes(32, "little") for v in vals)


@settings(max_examples=300, deadline=None)
@given(st.lists(values, max_size=80), st.integers(1, 9))
def test_packing_matches_the_reference_and_round_trips(vals: list[int], block: int) -> None:
    data = raw(vals)
    packed = pack_scalars(data)
    assert packed == reference_pack(vals)
    assert unpack_scalars(packed, len(vals)) == data
    sizes = packed_block_bytes(data, block)
    assert len(sizes) == -(-len(vals) // block)
    assert sizes == [len(reference_pack(vals[i : i + block])) for i in range(0, len(vals), block)]


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200), st.integers(0, 40))
def test_unpacking_any_bytes_gives_n_values_or_a_one_line_error(blob: bytes, n: int) -> None:
    """Whatever arrives, unpacking returns exactly n values whose packing reads back the same,
    or raises ValueError in one line; it never reads past the input or crashes."""
    try:
        out = unpack_scalars(blob, n)
    except ValueError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("packed scalars")
        return
    assert len(out) == 32 * n
    assert unpack_scalars(pack_scalars(out), n) == out


@pytest.mark.parametrize(
    ("blob", "n", "match"),
    [
        (b"\x21" + bytes(33), 1, "value 0 is malformed"),  # a length over 32
        (b"\x00\x03\x01\x02", 2, "value 1 is malformed or cut short"),
        (b"\x00\x00", 1, "bytes left over after 1 values"),
        (b"\x00", 2, "1 bytes cannot hold 2 values"),
    ],
)
def test_unreadable_packings_name_what_is_wrong(blob: bytes, n: int, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        unpack_scalars(blob, n)


def test_wire_bytes_estimates_the_packing_of_a_range() -> None:
    vals = [0, 1] * 40 + [R - 1] * 40  # 1 and 2 bytes a value, then 33 (counted as 32 at most)
    n = len(vals)
    m = MsmState(0, "bn254", "G1", "h", n, raw(vals), [(0, n)], block=8)
    assert m.wire_bytes(0, n, packed=False) == 32 * n
    assert m.wire_bytes(0, 80, packed=True) == len(pack_scalars(raw(vals[:80])))  # whole blocks
    assert m.wire_bytes(80, 40, packed=True) == 32 * 40  # packing would not pay: never above raw
    part = m.wire_bytes(3, 5, packed=True)  # inside one block: its share of the block's bytes
    assert part == pytest.approx(5 / 8 * len(pack_scalars(raw(vals[:8]))))


ONE_TASK = SizingPolicy(target_seconds=1e6, min_points=8, block_points=8)


@pytest.mark.parametrize("declares", [True, False])
async def test_a_worker_gets_packed_scalars_only_when_it_reads_them_and_they_are_shorter(
    declares: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    import zkedge.msm

    packs: list[int] = []  # the ranges packed: the full-size one never is (known from submit)

    def counted(scalars: bytes) -> bytes:
        packs.append(len(scalars) // 32)
        return pack_scalars(scalars)

    monkeypatch.setattr(zkedge.msm, "pack_scalars", counted)
    reg = Registry(ONE_TASK)
    sched = Scheduler(Store(None), reg, ONE_TASK, pipeline_depth=3)
    node = NodeFacts(bench_points_per_sec=1e4, packed_scalars=declares)
    recv = reg.open_stream(reg.register("w", node, {}, None))
    n = 64
    small = raw([i % 3 for i in range(n)])  # a witness of bits and small values
    big = raw([R - 1 - i for i in range(n)])  # full-size: packing is longer (33 a value)
    tables = [sched.add_table("bn254", "G1", bytes([k]) * (64 * n)) for k in range(2)]
    sched.submit("g16", [(tables[0], n, small), (tables[1], n, big)])
    got = {a.table_hash: a for a in assignments(recv)}
    a_small, a_big = got[tables[0]], got[tables[1]]
    assert not a_big.packed and bytes(a_big.scalars) == big
    msg = task_message(a_small).assign
    if declares:
        assert a_small.packed and msg.scalars == b"" and len(msg.packed_scalars) < len(small) // 8
        assert unpack_scalars(msg.packed_scalars, n) == small
        assert sched.dispatcher.packing_saved == len(small) - len(msg.packed_scalars)
    else:
        assert not a_small.packed and msg.scalars == small and msg.packed_scalars == b""
        assert sched.dispatcher.packing_saved == 0
    assert sched.dispatcher.scalar_bytes_sent == len(big) + len(msg.scalars or msg.packed_scalars)
    assert packs == ([n] if declares else [])


async def test_real_workers_compute_from_packed_scalars(
    nursery: trio.Nursery, tmp_path: Path
) -> None:
    """Two workers over gRPC, a proof-like job (a small-valued witness over three tables, and
    full-size scalars): the results equal local MSMs and most witness bytes stay home."""
    native_or_skip()
    from support.fleet import make_table

    from zkedge.msm import msm

    n = 256
    wit = [i % 5 if i % 7 else 2**40 + i for i in range(n)]
    tables = [make_table("bn254", "G1", n, seed=s)[0] for s in (1, 2)]
    g2, full = make_table("bn254", "G2", n, seed=3)
    policy = SizingPolicy(target_seconds=1e-3, min_points=32, block_points=32)
    with trio.fail_after(60):
        coord = await start_coordinator(nursery, None, policy=policy)
        await start_workers(nursery, coord, tmp_path, ["w0", "w1"])
        specs = [MsmSpec("bn254", "G1", t, wit) for t in tables]
        specs += [MsmSpec("bn254", "G2", g2, wit), MsmSpec("bn254", "G2", g2, full)]
        handle = await coord.submit_job(specs, label="packed")
        expect = [msm(t, wit) for t in tables] + [msm(g2, wit), msm(g2, full)]
        assert await handle.results() == expect
        d = coord._scheduler_or_raise().dispatcher
        assert d.packing_saved > 32 * n // 2
        assert all(r.state == "active" for r in coord.workers())


async def test_a_corrupt_packing_fails_that_attempt_and_the_task_runs_again(
    nursery: trio.Nursery, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A packing the worker cannot read (cut short here) is reported as that attempt's
    failure with the reason; a later attempt carries a good one and the job finishes."""
    native_or_skip()
    from support.fleet import make_table

    from zkedge.fleet.coordinator.dispatch import Dispatcher
    from zkedge.msm import msm

    n = 64
    table, _ = make_table("bn254", "G1", n, seed=4)
    scalars = [i % 4 for i in range(n)]
    real = Dispatcher._pack
    spoiled: list[int] = []

    def spoil(self: Dispatcher, w: Any, data: bytes) -> tuple[bytes, bool]:
        out, packed = real(self, w, data)
        if packed and not spoiled:
            spoiled.append(len(out))
            return out[:-1], True
        return out, packed

    monkeypatch.setattr(Dispatcher, "_pack", spoil)
    with trio.fail_after(60):
        coord = await start_coordinator(nursery, None, policy=ONE_TASK)
        reasons = failure_reasons(coord, monkeypatch)
        await start_workers(nursery, coord, tmp_path, ["w"])
        handle = await coord.submit_job([MsmSpec("bn254", "G1", table, scalars)], label="bad")
        assert await handle.results() == [msm(table, scalars)]
    assert spoiled and "packed scalars" in reasons[0] and "\n" not in reasons[0]
    # the worker kept nothing under the slice's hash: the next attempt that leaves it out
    # is answered "not in the cache" and gets it again (no strike)
    assert all("not in the worker's cache" in r for r in reasons[1:])
