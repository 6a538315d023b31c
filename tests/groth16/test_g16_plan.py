"""Splitting a proof into MSM tasks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.g16_paths import fixture_dir

from zkedge.groth16 import read_zkey
from zkedge.groth16.plan import MSM_NAMES, ProofPlan, plan_proof, split_range


@given(st.integers(0, 10_000), st.integers(1, 64))
def test_split_range_tiles(n: int, parts: int) -> None:
    rs = split_range(n, parts)
    pos = 0
    for start, count in rs:
        assert start == pos and (count > 0 or n == 0)
        pos += count
    assert pos == n
    sizes = [c for _, c in rs]
    assert max(sizes) - min(sizes) <= 1


def test_split_range_bad() -> None:
    with pytest.raises(ValueError):
        split_range(10, 0)


def test_plan_fixture() -> None:
    zk = read_zkey(fixture_dir("bn128") / "circuit.zkey")
    h = zk.header
    one = plan_proof(h)
    assert [t.msm for t in one.tasks] == list(MSM_NAMES)
    one.check_cover()
    c = one.tasks_for("C")[0]
    assert c.scalar_start == h.n_public + 1 and c.count == h.n_vars - h.n_public - 1
    assert one.tasks_for("H")[0].source == "h" and one.tasks_for("B2")[0].group == "G2"
    many = plan_proof(h, max_task_cost=100)
    many.check_cover()
    assert all(t.cost <= 100 for t in many.tasks)
    assert [t.index for t in many.tasks] == list(range(len(many.tasks)))
    assert many.total_cost == pytest.approx(one.total_cost)
    assert len(many.tasks_for("B2")) > len(many.tasks_for("A"))  # G2 points cost more
    with pytest.raises(ValueError):
        plan_proof(h, max_task_cost=0)


def test_plan_scalar_slices() -> None:
    zk = read_zkey(fixture_dir("bls12381") / "circuit.zkey")
    plan = plan_proof(zk.header, max_task_cost=17)
    wit = bytes(range(256)) * (zk.header.n_vars * 32 // 256 + 1)
    for msm in ("A", "C"):
        parts = b"".join(t.scalar_slice(wit) for t in plan.tasks_for(msm))
        lo = 0 if msm == "A" else (zk.header.n_public + 1) * 32
        assert parts == wit[lo : zk.header.n_vars * 32]


def test_check_cover_detects_gaps() -> None:
    zk = read_zkey(fixture_dir("bls12381") / "circuit.zkey")
    plan = plan_proof(zk.header, max_task_cost=20)
    broken = ProofPlan(plan.n_vars, plan.n_public, plan.domain_size, plan.tasks[1:])
    with pytest.raises(ValueError, match="A"):
        broken.check_cover()
