"""BN254's coset transform (zk_fr_coset_evals) in AVX-512 IFMA lanes (native/ntt_ifma.inc)
against the one-at-a-time path and a Python reference.

The rest of the suite runs whichever path the machine takes; these tests switch between the
two in one process, over sizes that reach every part of the lane code: the in-vector stages
(half 4, 2, 1), vector stages inside the blocks, global stages before and after them (more
than one block per thread), thread counts that leave blocks uneven, and values at the ends
of the field.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zkedge import _lib
from zkedge.curves import BLS12_381, BN254
from zkedge.groth16.prover import coset_shift, ffjs_root

R = BN254.r


@pytest.fixture
def lanes() -> Iterator[None]:
    """The lanes on for the test (skipped where the CPU or the build has none)."""
    before = _lib.set_ifma()
    if not _lib.set_ifma(True):
        pytest.skip("no AVX-512 IFMA on this CPU or build")
    yield
    _lib.set_ifma(before)


def _pack(vals: list[int]) -> bytes:
    return b"".join(v.to_bytes(32, "little") for v in vals)


def _both(data: bytes, power: int, threads: int) -> tuple[bytes, bytes]:
    """(lanes, one at a time) for the prover's roots of a 2^power domain."""
    w, g = ffjs_root(BN254, power), coset_shift(BN254, power)
    got = _lib.fr_coset_evals(BN254, data, w, g, threads)
    _lib.set_ifma(False)
    try:
        want = _lib.fr_coset_evals(BN254, data, w, g, threads)
    finally:
        _lib.set_ifma(True)
    return got, want


def _values(rng: random.Random, n: int) -> list[int]:
    ends = [0, 1, 2, R - 1, R - 2, (R - 1) // 2, 1 << 253]
    return [rng.choice(ends) if rng.random() < 0.2 else rng.randrange(R) for _ in range(n)]


@pytest.mark.parametrize("log_n", [4, 5, 6, 10, 13, 14, 15, 16])
def test_lanes_match_one_at_a_time(lanes: None, log_n: int) -> None:
    """2^4..2^6: in-vector stages and one or two vector stages; 2^13..2^16 on 2 and 3 threads:
    one to four blocks of 2^13..2^14 with global stages on each side."""
    rng = random.Random(log_n)
    data = _pack(_values(rng, 1 << log_n))
    for threads in (1, 2, 3) if log_n >= 13 else (1, 2):
        got, want = _both(data, log_n, threads)
        assert got == want, (log_n, threads)


def test_lanes_many_threads_small_blocks(lanes: None) -> None:
    """Threads enough to cut 2^7 values into blocks smaller than a lane vector: the
    one-at-a-time path takes over, with the same result."""
    data = _pack(_values(random.Random(7), 128))
    for threads in (4, 8, 16, 64):
        got, want = _both(data, 7, threads)
        assert got == want


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_lanes_random(data: st.DataObject) -> None:
    """Any values and any coset shift, 2^4..2^8: the lanes give the reference's evaluations."""
    before = _lib.set_ifma()
    if not _lib.set_ifma(True):
        pytest.skip("no AVX-512 IFMA on this CPU or build")
    try:
        _check_random(data)
    finally:
        _lib.set_ifma(before)


def _check_random(data: st.DataObject) -> None:
    log_n = data.draw(st.integers(4, 8), "log_n")
    n = 1 << log_n
    vals = data.draw(st.lists(st.integers(0, R - 1), min_size=n, max_size=n), "vals")
    shift = data.draw(st.integers(1, R - 1), "shift")
    w = ffjs_root(BN254, log_n)
    got = _lib.fr_coset_evals(BN254, _pack(vals), w, shift, 1)
    # reference: interpolate, scale coefficient i by shift^i, evaluate (quadratic, small n)
    ninv, wi = pow(n, -1, R), pow(w, -1, R)
    coefs = [sum(v * pow(wi, i * k, R) for i, v in enumerate(vals)) * ninv % R for k in range(n)]
    coefs = [c * pow(shift, k, R) % R for k, c in enumerate(coefs)]
    want = [sum(c * pow(w, i * k, R) for k, c in enumerate(coefs)) % R for i in range(n)]
    assert got == _pack(want)


@pytest.mark.parametrize("where", [[0], [7], [9, 2049], [4095], [2048, 100]])
def test_lanes_reject_values(lanes: None, where: list[int]) -> None:
    """A value >= r: the same error and first index as the one-at-a-time path, on 1 and 2
    threads (the lanes check eight values at a time)."""
    vals = _values(random.Random(11), 4096)
    for k, i in enumerate(where):
        vals[i] = R + k if k % 2 == 0 else 2**256 - 1
    data = _pack(vals)
    w, g = ffjs_root(BN254, 12), coset_shift(BN254, 12)
    for threads in (1, 2):
        errors = []
        for on in (True, False):
            _lib.set_ifma(on)
            with pytest.raises(ValueError, match=f"value {min(where)}:") as e:
                _lib.fr_coset_evals(BN254, data, w, g, threads)
            errors.append(str(e.value))
        _lib.set_ifma(True)
        assert errors[0] == errors[1]


def test_bls12_381_stays_one_at_a_time(lanes: None) -> None:
    """BLS12-381's Fr is above the lanes' bound (2^254): its transform is the same with the
    switch on or off."""
    r = BLS12_381.r
    rng = random.Random(3)
    data = b"".join(rng.randrange(r).to_bytes(32, "little") for _ in range(1 << 10))
    w, g = ffjs_root(BLS12_381, 10), coset_shift(BLS12_381, 10)
    on = _lib.fr_coset_evals(BLS12_381, data, w, g, 2)
    _lib.set_ifma(False)
    off = _lib.fr_coset_evals(BLS12_381, data, w, g, 2)
    assert on == off
