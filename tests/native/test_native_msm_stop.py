"""Stopping a running MSM: zkedge.msm.MsmStop over zk_msm_stoppable.

An unset flag changes nothing; a set one makes the call raise MsmCancelled, whether it was set
before the call or by another thread while the core computes (both MSM paths, several
threads). Results are checked against the plain call, which test_native_msm.py checks against
py_ecc."""

from __future__ import annotations

import os
import threading
import time

import pytest
from support.native_ref import CURVE_GROUP_IDS, CURVE_GROUPS
from support.native_tables import rand_scalars, table_of

from zkedge import _lib, msm
from zkedge.curves import BN254, Curve

cg = pytest.mark.parametrize(("c", "g"), CURVE_GROUPS, ids=CURVE_GROUP_IDS)


@cg
@pytest.mark.parametrize("n", [100, 1500])  # the XYZZ path, the batch-affine path
def test_unset_flag_changes_nothing(c: Curve, g: str, n: int) -> None:
    _, t = table_of(c, g, n)
    ks = rand_scalars(c, n, seed=n)
    stop = msm.MsmStop()
    assert msm.msm(t, ks, threads=2, stop=stop) == msm.msm(t, ks, threads=2)
    assert not stop.is_set()


@cg
def test_flag_set_before_the_call(c: Curve, g: str) -> None:
    _, t = table_of(c, g, 300)
    stop = msm.MsmStop()
    stop.set()
    for n in (0, 1, 300):
        with pytest.raises(msm.MsmCancelled, match="stopped before it finished"):
            msm.msm(t, rand_scalars(c, n, seed=1), stop=stop)
    assert stop.is_set()


def test_bad_flag() -> None:
    _, t = table_of(BN254, "G1", 4)
    with pytest.raises(TypeError, match="MsmStop"):
        msm.msm(t, [1, 2, 3, 4], stop=bytearray(4))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="4-byte"):
        _lib.msm(BN254, "G1", t._data, 0, 1, bytes(32), 1, 0, bytearray(2))


@pytest.mark.parametrize("xyzz", [False, True], ids=["batch-affine", "xyzz"])
@pytest.mark.parametrize("threads", [1, 2])
def test_flag_set_while_it_runs(monkeypatch: pytest.MonkeyPatch, xyzz: bool, threads: int) -> None:
    """A BN254 G2 MSM over 2^17 points takes over half a second here even on two threads; the
    flag is set 50 ms in. Raising at all proves the core saw it mid-way: had it finished
    first, it would have returned the point."""
    if xyzz:
        monkeypatch.setenv("ZKEDGE_MSM_XYZZ", "1")
    _, small = table_of(BN254, "G2", 1024)
    t = msm.BaseTable.from_bytes(BN254, "G2", small.to_bytes() * 128, "mont", check="none")
    scalars = os.urandom(32 * len(t))  # values >= r are reduced by the core
    stop = msm.MsmStop()
    outcome: list[BaseException | object] = []

    def run() -> None:
        try:
            outcome.append(msm.msm(t, scalars, threads=threads, stop=stop))
        except BaseException as exc:  # handed to the test thread
            outcome.append(exc)

    th = threading.Thread(target=run)
    th.start()
    time.sleep(0.05)
    stop.set()
    th.join(timeout=60)
    assert not th.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], msm.MsmCancelled), outcome


def test_msm_in_thread_result_and_cancellation() -> None:
    """zkedge.msm.msm_in_thread: the same point as msm(); cancelling the trio caller sets the
    MSM's stop flag (so the abandoned thread ends, test_flag_set_while_it_runs shows how)."""
    import trio

    _, small = table_of(BN254, "G2", 1024)
    t = msm.BaseTable.from_bytes(BN254, "G2", small.to_bytes() * 128, "mont", check="none")
    ks = rand_scalars(BN254, 300, seed=3)

    async def main() -> None:
        assert await msm.msm_in_thread(t, ks, 5, 300, threads=2) == msm.msm(t, ks, 5, 300)
        stop = msm.MsmStop()
        with trio.move_on_after(0.05) as scope:
            await msm.msm_in_thread(t, os.urandom(32 * len(t)), threads=1, stop=stop)
        assert scope.cancelled_caught and stop.is_set()

    trio.run(main)
